"""A small automatic-differentiation engine: scalar ``Value`` and numpy-backed ``Tensor``."""

from .gradcheck import GradcheckResult, gradcheck
from .graph import backpropagate, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, topological_order
from .tensor import Tensor
from .tensor_functions import concatenate, stack, where
from .value import Value

__all__ = [
    "GradcheckResult",
    "Tensor",
    "Value",
    "backpropagate",
    "concatenate",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "stack",
    "topological_order",
    "where",
]
