"""Arguments of Tensor operations: axes, shapes and indices, normalised, with errors that name them."""

from __future__ import annotations

import math
import numbers
import operator
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from .typing import Axis

if TYPE_CHECKING:
    from .tensor import Tensor


@overload
def normalize_axis(axis: None, ndim: int, name: str) -> None: ...
@overload
def normalize_axis(axis: int, ndim: int, name: str) -> int: ...
@overload
def normalize_axis(axis: Any, ndim: int, name: str) -> Axis: ...


def normalize_axis(axis: Any, ndim: int, name: str) -> Axis:
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
        n = int(ax)
        if not -max(ndim, 1) <= n < max(ndim, 1):
            raise ValueError(f"{name}: axis {ax} is out of range for a tensor with {ndim} dimensions")
        normalized.append(n % max(ndim, 1))
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: axis {axis!r} repeats an axis")
    return normalized[0] if isinstance(axis, numbers.Integral) else tuple(normalized)


def reduced_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """The axes a reduction over normalised ``axis`` removes."""
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else axis


def normalize_shape(shape: tuple, name: str) -> tuple[int, ...]:
    """``shape`` given as ints or one sequence of ints, as a tuple of ints."""
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = shape[0]
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"{name}: a shape must be ints, got {shape!r}") from None


def normalize_index(index: Any, tensor_type: type[Tensor]) -> tuple[tuple, bool]:
    """An index as numpy reads it, and whether it is basic (ints, slices, None, Ellipsis only).

    Every component that is a sequence (list, tuple, range), an array or a Tensor is advanced
    indexing: an array of integers (a float array must hold whole numbers) or of booleans (a mask).
    Anything else that is not an int, a slice, None or Ellipsis is an ``IndexError`` naming it.
    """
    parts = index if isinstance(index, tuple) else (index,)
    converted: list[Any] = []
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


def _index_array(part: Any) -> np.ndarray:
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


# ---------------------------------------------------------------------- numpy's and torch's spellings


def either_spelling(where: str, name: str, value: Any, other_name: str, other_value: Any, default: Any = None) -> Any:
    """An argument numpy and torch name differently (axis / dim, keepdims / keepdim): ``other_value``
    if it is given (not None), else ``value``; both given is an error naming them."""
    if other_value is None:
        return value
    if value is not default and value != default:
        raise TypeError(
            f"{where}: got both {name}={value!r} and {other_name}={other_value!r}, two spellings of one argument "
            f"(numpy's and torch's); pass one"
        )
    return other_value


def reduction_args(
    where: str,
    ndim: int,
    axis: Any,
    keepdims: bool,
    dim: Any = None,
    keepdim: bool | None = None,
    axis_default: Axis = None,
) -> tuple[Axis, bool]:
    """``(axis, keepdims)`` of a reduction given in numpy's or torch's spelling, the axis normalised.

    A 0-d tensor's only axis (0 or -1, as numpy and torch accept) is all of it, so it becomes None."""
    if dim is not None or keepdim is not None:
        axis = either_spelling(where, "axis", axis, "dim", dim, axis_default)
        keepdims = either_spelling(where, "keepdims", keepdims, "keepdim", keepdim, False)
    axis = normalize_axis(axis, ndim, where)
    return (None if ndim == 0 else axis), bool(keepdims)


def degrees_of_freedom(where: str, ddof: float, correction: float | None = None, unbiased: bool | None = None) -> float:
    """``ddof`` of a variance from numpy's ``ddof`` or torch's ``correction`` / ``unbiased`` (at most one)."""
    given = [f"ddof={ddof!r}"] if ddof is not None and ddof != 0 else []
    given += [f"{k}={v!r}" for k, v in (("correction", correction), ("unbiased", unbiased)) if v is not None]
    if len(given) > 1:
        raise TypeError(
            f"{where}: got {' and '.join(given)}, spellings of one argument (numpy's ddof, torch's correction "
            f"and unbiased); pass one"
        )
    if unbiased is not None:
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f"{where}: unbiased must be True or False, got {unbiased!r}")
        return 1 if unbiased else 0
    value = ddof if correction is None else correction
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{where}: ddof must be a finite number, got {value!r}")
    return value


def squeeze_axes(axis: Any, shape: tuple[int, ...], where: str) -> tuple[int, ...]:
    """The axes ``squeeze`` removes: every length-1 axis for None, else ``axis`` (each of length 1)."""
    if axis is None or not shape:
        if axis is not None:
            normalize_axis(axis, 0, where)  # a 0-d tensor's axis 0 / -1: nothing to remove
        return tuple(d for d, n in enumerate(shape) if n == 1)
    axes = reduced_axes(normalize_axis(axis, len(shape), where), len(shape))
    for d in axes:
        if shape[d] != 1:
            raise ValueError(
                f"{where}: axis {d} of shape {shape} has length {shape[d]}, not 1; only length-1 axes can be "
                f"removed (as numpy; torch would leave it)"
            )
    return tuple(sorted(axes))


def new_axes(axis: Any, ndim: int, where: str) -> tuple[int, ...]:
    """The positions of ``expand_dims``'s new axes in the result (which has ``ndim`` + their number)."""
    if axis is None:
        raise TypeError(f"{where}: give the position of the new axis (axis=, or dim= as torch's unsqueeze)")
    count = 1 if isinstance(axis, numbers.Integral) else len(tuple(axis))
    return tuple(sorted(reduced_axes(normalize_axis(axis, ndim + count, where), ndim + count)))


def flatten_dims(start_dim: int, end_dim: int, ndim: int, where: str) -> tuple[int, int]:
    """``(start_dim, end_dim)`` of ``flatten``, normalised (both 0 for a 0-d tensor)."""
    start = normalize_axis(start_dim, ndim, where)
    end = normalize_axis(end_dim, ndim, where)
    if not isinstance(start, int) or not isinstance(end, int):
        raise TypeError(f"{where}: start_dim and end_dim must be ints, got {start_dim!r} and {end_dim!r}")
    if start > end:
        raise ValueError(
            f"{where}: start_dim {start_dim} comes after end_dim {end_dim} for a tensor with {ndim} dimensions"
        )
    return start, end


def _piece_bounds(lengths: list[int]) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    start = 0
    for n in lengths:
        bounds.append((start, start + n))
        start += n
    return bounds


def split_sections(length: int, indices_or_sections: Any, where: str, equal: bool = True) -> list[tuple[int, int]]:
    """numpy's ``split`` (``equal``) or ``array_split`` of an axis of ``length``: ``(start, stop)`` per piece.

    A number N cuts N pieces (equal ones for ``split``; for ``array_split`` the first ``length % N`` one
    longer); a sequence of indices cuts before each, as slices would (negative ones count from the
    end; an index before the previous gives an empty piece)."""
    if isinstance(indices_or_sections, numbers.Integral) and not isinstance(indices_or_sections, bool):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{where}: the number of sections must be positive, got {sections}")
        if equal and length % sections:
            raise ValueError(
                f"{where}: an axis of length {length} does not split into {sections} equal sections; give the "
                f"split indices, use array_split, or Tensor.split(size) for torch's pieces of a given size"
            )
        base, extra = divmod(length, sections)
        return _piece_bounds([base + 1] * extra + [base] * (sections - extra))
    try:
        cuts = [operator.index(i) for i in indices_or_sections]
    except TypeError:
        raise TypeError(
            f"{where}: indices_or_sections must be a number of sections or a sequence of integer indices, got "
            f"{indices_or_sections!r}"
        ) from None
    bounds = []
    for start, stop in zip([0, *cuts], [*cuts, length]):
        start, stop, _ = slice(start, stop).indices(length)
        bounds.append((start, max(start, stop)))
    return bounds


def split_sizes(length: int, split_size_or_sections: Any, where: str) -> list[tuple[int, int]]:
    """torch's ``split`` of an axis of ``length``: ``(start, stop)`` per piece. An int is each piece's
    length (the last may be shorter); a sequence gives every piece's length (they must add up)."""
    if isinstance(split_size_or_sections, numbers.Integral) and not isinstance(split_size_or_sections, bool):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and length):
            raise ValueError(f"{where}: the piece size must be positive, got {size} for an axis of length {length}")
        if length == 0:
            return [(0, 0)]
        return [(start, min(start + size, length)) for start in range(0, length, size)]
    try:
        sizes = [operator.index(n) for n in split_size_or_sections]
    except TypeError:
        raise TypeError(
            f"{where}: split_size_or_sections must be a piece length or a sequence of lengths, got "
            f"{split_size_or_sections!r}"
        ) from None
    if any(n < 0 for n in sizes) or sum(sizes) != length:
        raise ValueError(
            f"{where}: piece lengths {sizes} must be non-negative and add up to the axis length {length} "
            f"(they add up to {sum(sizes)})"
        )
    return _piece_bounds(sizes)
