"""Names for the types that annotations in ``autograd`` and ``nn`` use.

Only type checkers and readers look at these: at run time each is a plain alias, and the modules
that use them write ``from __future__ import annotations``, so nothing here costs a call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from .tensor import Tensor
    from .value import Value

__all__ = ["Array", "ArrayLike", "Axis", "Node", "RngLike", "Scalar", "Shape", "TensorLike"]

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

Shape: TypeAlias = tuple[int, ...]
