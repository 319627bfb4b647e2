"""A small automatic-differentiation engine: scalar ``Value`` and numpy-backed ``Tensor``."""

from .checkgraph import check_graph
from .codegen import backward_code
from .differentiate import grad
from .explain import explain_gradient
from .gradcheck import GradcheckResult, gradcheck
from .graph import backpropagate, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, topological_order
from .manual import check_manual
from .tensor import Tensor
from .tensor_functions import concatenate, maximum, minimum, stack, where
from .value import Value

__all__ = [
    "GradcheckResult",
    "Tensor",
    "Value",
    "backpropagate",
    "backward_code",
    "check_graph",
    "check_manual",
    "concatenate",
    "enable_grad",
    "explain_gradient",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "maximum",
    "minimum",
    "no_grad",
    "set_grad_enabled",
    "stack",
    "topological_order",
    "where",
]
