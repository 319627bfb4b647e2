"""Arguments of Tensor operations: axes, shapes and indices, normalised, with errors that name them."""

from __future__ import annotations

import numbers
import operator

import numpy as np


def normalize_axis(axis, ndim: int, name: str):
    """``axis`` (None, an int or a sequence of ints, negative counting from the end) as None, an int
    in ``[0, ndim)`` or a tuple of distinct ones."""
    if axis is None:
        return None
    if isinstance(axis, bool):
        raise TypeError(f"{name}: axis must be an int or a tuple of ints, got {axis!r}")
    try:
        axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    except TypeError:
        raise TypeError(f"{name}: axis must be an int or a tuple of ints, got {axis!r}") from None
    normalized = []
    for ax in axes:
        if not isinstance(ax, numbers.Integral) or isinstance(ax, bool):
            raise TypeError(f"{name}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= ax < max(ndim, 1):
            raise ValueError(f"{name}: axis {ax} is out of range for a tensor with {ndim} dimensions")
        normalized.append(int(ax) % max(ndim, 1))
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: axis {axis!r} repeats an axis")
    return normalized[0] if isinstance(axis, numbers.Integral) else tuple(normalized)


def reduced_axes(axis, ndim: int) -> tuple:
    """The axes a reduction over normalised ``axis`` removes."""
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else axis


def normalize_shape(shape, name: str) -> tuple:
    """``shape`` given as ints or one sequence of ints, as a tuple of ints."""
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = shape[0]
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"{name}: a shape must be ints, got {shape!r}") from None


def normalize_index(index, tensor_type) -> tuple:
    """An index as numpy reads it, and whether it is basic (ints, slices, None, Ellipsis only).

    Every component that is a sequence (list, tuple, range), an array or a Tensor is advanced
    indexing: an array of integers (a float array must hold whole numbers) or of booleans (a mask).
    Anything else that is not an int, a slice, None or Ellipsis is an ``IndexError`` naming it.
    """
    parts = index if isinstance(index, tuple) else (index,)
    converted = []
    basic = True
    for part in parts:
        if part is None or part is Ellipsis or isinstance(part, slice):
            converted.append(part)
            continue
        if isinstance(part, (bool, np.bool_)):
            converted.append(np.asarray(part))  # numpy reads a lone bool as a 0-d mask
            basic = False
            continue
        if isinstance(part, numbers.Integral):
            converted.append(operator.index(part))
            continue
        if isinstance(part, tensor_type):
            part = part.data
        if isinstance(part, (list, tuple, range, np.ndarray)):
            converted.append(_index_array(part))
            basic = False
            continue
        raise IndexError(
            f"getitem: index component {part!r} of type {type(part).__name__} is not an int, a slice, None, "
            f"Ellipsis, a sequence or an array of integers or booleans"
        )
    index = tuple(converted)
    return index, basic


def _index_array(part) -> np.ndarray:
    try:
        arr = np.asarray(part)
    except ValueError:
        raise IndexError(f"getitem: index {part!r} is not a rectangular sequence") from None
    if arr.dtype == object:
        try:
            arr = np.asarray([p.data if hasattr(p, "data") else p for p in np.ravel(arr)]).reshape(arr.shape)
        except (ValueError, TypeError):
            raise IndexError(f"getitem: index {part!r} must hold integers or booleans") from None
    kind = arr.dtype.kind
    if kind == "b":
        return arr
    if kind in "iu":
        return arr.astype(np.intp, copy=False)
    if kind == "f":
        if arr.size == 0:
            return arr.astype(np.intp)
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise IndexError(f"getitem: index arrays must hold integers or booleans, got non-integer values {part!r}")
        return arr.astype(np.intp)
    raise IndexError(f"getitem: index arrays must hold integers or booleans, got dtype {arr.dtype}")
