"""Names for the types that annotations in ``autograd`` and ``nn`` use.

Only type checkers and readers look at these: at run time each is a plain alias, and the modules
that use them write ``from __future__ import annotations``, so nothing here costs a call.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from .tensor import Tensor
    from .value import Value

__all__ = ["Array", "ArrayLike", "Axis", "GradMode", "Node", "RngLike", "Scalar", "TensorLike"]

Array: TypeAlias = NDArray[Any]
"""A numpy array of any dtype and shape (``Tensor.data``)."""

TensorLike: TypeAlias = "Tensor | np.ndarray | np.generic | float | list | tuple"
"""A Tensor, or what Tensor arithmetic and the layers take as a constant one: an array, a number, or
nested lists of numbers."""

RngLike: TypeAlias = "np.random.Generator | int | None"
"""Where random numbers come from: a numpy Generator, an int seed for a new one, or None (each function says
what None draws from)."""

Scalar: TypeAlias = "float | Value"
"""A number, or a Value: what Value arithmetic accepts, and what a scalar derivative rule gets when
the backward pass is recorded (``create_graph=True``)."""

Node: TypeAlias = "Value | Tensor"
"""A node of a computation graph."""

Axis: TypeAlias = int | tuple[int, ...] | None
"""An axis argument: one axis, several, or ``None`` for all."""

F = TypeVar("F", bound=Callable[..., Any])


class GradMode(Protocol):
    """What ``no_grad()``, ``enable_grad()`` and ``set_grad_enabled(mode)`` return: a context manager
    (``with no_grad():``) that also decorates a function (``@no_grad()``)."""

    def __enter__(self) -> None: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None, /
    ) -> bool | None: ...

    def __call__(self, func: F) -> F: ...
