"""A small automatic-differentiation engine: scalar ``Value`` and numpy-backed ``Tensor``."""

from .differentiate import grad
from .gradcheck import GradcheckResult, gradcheck
from .graph import backpropagate, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, topological_order
from .tensor import Tensor
from .tensor_functions import (
    array_split,
    clip,
    concatenate,
    log_softmax,
    logsumexp,
    maximum,
    minimum,
    softmax,
    split,
    stack,
    where,
)
from .value import Value

__all__ = [
    "GradcheckResult",
    "Tensor",
    "Value",
    "array_split",
    "backpropagate",
    "clip",
    "concatenate",
    "enable_grad",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "log_softmax",
    "logsumexp",
    "maximum",
    "minimum",
    "no_grad",
    "set_grad_enabled",
    "softmax",
    "split",
    "stack",
    "topological_order",
    "where",
]
