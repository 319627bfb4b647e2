"""A small automatic-differentiation engine: scalar ``Value`` and numpy-backed ``Tensor``."""

from .differentiate import grad
from .gradcheck import GradcheckResult, gradcheck
from .graph import backpropagate, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, topological_order
from .tensor import Tensor
from .tensor_functions import concatenate, maximum, minimum, stack, where
from .value import Value

__all__ = [
    "GradcheckResult",
    "Tensor",
    "Value",
    "backpropagate",
    "concatenate",
    "enable_grad",
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
