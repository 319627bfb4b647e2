"""A small automatic-differentiation engine: scalar ``Value`` and numpy-backed ``Tensor``."""

from .checkgraph import check_graph
from .codegen import backward_code
from .explain import explain_gradient
from .gradcheck import GradcheckResult, gradcheck
from .graph import backpropagate, is_grad_enabled, no_grad, topological_order
from .manual import check_manual
from .tensor import Tensor
from .value import Value

__all__ = [
    "GradcheckResult",
    "Tensor",
    "Value",
    "backpropagate",
    "backward_code",
    "check_graph",
    "check_manual",
    "explain_gradient",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
]
