"""A small automatic-differentiation engine: scalar ``Value`` and numpy-backed ``Tensor``."""

from .gradcheck import GradcheckResult, gradcheck
from .graph import backpropagate, is_grad_enabled, no_grad, topological_order
from .tensor import Tensor
from .value import Value

__all__ = [
    "GradcheckResult",
    "Tensor",
    "Value",
    "backpropagate",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
]
