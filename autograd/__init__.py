"""A small automatic-differentiation engine: scalar ``Value`` and numpy-backed ``Tensor``."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("backprop-lab")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from .checkgraph import check_graph
from .codegen import backward_code
from .collector import collector_paused
from .compiled import CompileError, compile
from .creation import arange, eye, full, manual_seed, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .differentiate import grad
from .explain import explain_gradient
from .gradcheck import GradcheckResult, gradcheck
from .graph import backpropagate, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, topological_order
from .manual import check_manual
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

# ``autograd.tensor`` is the function (torch's name), not the module autograd/tensor.py: the module is
# imported above through .creation, before the function's name is bound; import from it as
# ``from autograd.tensor import ...``.
__all__ = [
    "CompileError",
    "GradcheckResult",
    "Tensor",
    "Value",
    "arange",
    "array_split",
    "backpropagate",
    "backward_code",
    "check_graph",
    "check_manual",
    "clip",
    "collector_paused",
    "compile",
    "concatenate",
    "enable_grad",
    "explain_gradient",
    "eye",
    "full",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "log_softmax",
    "logsumexp",
    "manual_seed",
    "maximum",
    "minimum",
    "no_grad",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "set_grad_enabled",
    "softmax",
    "split",
    "stack",
    "tensor",
    "topological_order",
    "where",
    "zeros",
    "zeros_like",
]
