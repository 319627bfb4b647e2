"""Free functions of Tensors: ``concatenate``, ``stack``, ``where``, ``maximum``, ``minimum``, and the
functional forms of methods, ``softmax``, ``log_softmax``, ``logsumexp``, ``clip``, ``split`` (numpy's)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import tensor_ops as ops
from .tensor import Tensor, apply, as_array, constant
from .tensor_args import either_spelling, normalize_axis, split_sections
from .tensor_ops import TensorOp
from .typing import Axis, TensorLike


def as_tensor(x: TensorLike, where: str) -> Tensor:
    """``x`` if it is a Tensor, else a constant Tensor holding it."""
    if isinstance(x, Tensor):
        return x
    return constant(as_array(x, where))


def _float_tensors(tensors: Iterable[TensorLike], name: str) -> list[Tensor]:
    try:
        seq = list(tensors)
    except TypeError:
        raise TypeError(f"{name}: expected a sequence of tensors, got {type(tensors).__name__}") from None
    if not seq:
        raise ValueError(f"{name}: need at least one tensor")
    converted = [as_tensor(t, name) for t in seq]
    return [t if t.dtype.kind == "f" else constant(t.data.astype(np.float64)) for t in converted]


def concatenate(tensors: Iterable[TensorLike], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """The tensors joined along an existing ``axis`` (numpy's ``concatenate``; torch's ``cat``, whose
    ``dim`` is accepted too).

    d/d input_k = the slice of g that input k filled.
    """
    axis = either_spelling("concatenate", "axis", axis, "dim", dim, 0)
    seq = _float_tensors(tensors, "concatenate")
    ndim = seq[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated (use stack)")
    axis = normalize_axis(axis, ndim, "concatenate")
    for k, t in enumerate(seq):
        if t.ndim != ndim or any(t.shape[d] != seq[0].shape[d] for d in range(ndim) if d != axis):
            shapes = ", ".join(str(s.shape) for s in seq)
            raise ValueError(f"concatenate: shapes {shapes} must match except along axis {axis} (tensor {k} differs)")
    return apply(ops.CONCATENATE, tuple(seq), axis=axis)


def stack(tensors: Iterable[TensorLike], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """The tensors (all of one shape) joined along a new ``axis`` (or torch's ``dim``); d/d input_k = g's
    slice k along it."""
    axis = either_spelling("stack", "axis", axis, "dim", dim, 0)
    seq = _float_tensors(tensors, "stack")
    shape = seq[0].shape
    for k, t in enumerate(seq):
        if t.shape != shape:
            raise ValueError(f"stack: every tensor must have shape {shape}, tensor {k} has {t.shape}")
    axis = normalize_axis(axis, len(shape) + 1, "stack")
    return apply(ops.STACK, tuple(seq), axis=axis)


def where(condition: Tensor | ArrayLike, x: TensorLike, y: TensorLike) -> Tensor:
    """``x`` where ``condition`` holds, else ``y`` (broadcast together); d/dx = 1 where it holds,
    d/dy = 1 elsewhere, exactly 0 on the other side (so an infinite gradient there stays out)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype.kind != "b":
        cond = cond != 0
    x, y = _operands(x, y)
    try:
        np.broadcast_shapes(cond.shape, x.shape, y.shape)
    except ValueError:
        raise ValueError(
            f"where: condition {cond.shape}, x {x.shape} and y {y.shape} cannot be broadcast together"
        ) from None
    return apply(ops.WHERE, (x, y), condition=cond)


def maximum(a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise ``max(a, b)`` (broadcast); the gradient goes to the larger, split equally on ties."""
    a, b = _operands(a, b)
    return _broadcasting(ops.MAXIMUM, a, b)


def minimum(a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise ``min(a, b)`` (broadcast); the gradient goes to the smaller, split equally on ties."""
    a, b = _operands(a, b)
    return _broadcasting(ops.MINIMUM, a, b)


def _broadcasting(op: TensorOp, a: Tensor, b: Tensor) -> Tensor:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op.name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    return apply(op, (a, b))


def _operands(x: TensorLike, y: TensorLike) -> list[Tensor]:
    """Two operands as float Tensors; a plain number takes the other operand's float type (as PyTorch)."""
    pair = []
    for a, other in ((x, y), (y, x)):
        if not isinstance(a, Tensor) and np.ndim(a) == 0 and isinstance(other, Tensor) and other.dtype.kind == "f":
            pair.append(constant(np.asarray(a, dtype=other.dtype)))
            continue
        t = as_tensor(a, "where")
        pair.append(t if t.dtype.kind == "f" else constant(t.data.astype(np.float64)))
    return pair


def softmax(x: TensorLike, axis: Axis = -1, *, dim: Axis = None) -> Tensor:
    """``e^x / sum e^x`` along ``axis`` (the last by default): ``Tensor.softmax``."""
    return as_tensor(x, "softmax").softmax(axis, dim=dim)


def log_softmax(x: TensorLike, axis: Axis = -1, *, dim: Axis = None) -> Tensor:
    """``x - logsumexp(x)`` along ``axis`` (the last by default): ``Tensor.log_softmax``."""
    return as_tensor(x, "log_softmax").log_softmax(axis, dim=dim)


def logsumexp(
    x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
) -> Tensor:
    """``ln sum e^x`` over ``axis`` (all elements by default): ``Tensor.logsumexp``."""
    return as_tensor(x, "logsumexp").logsumexp(axis, keepdims, dim=dim, keepdim=keepdim)


def clip(x: TensorLike, min: Tensor | ArrayLike | None = None, max: Tensor | ArrayLike | None = None) -> Tensor:
    """``x`` limited to ``[min, max]`` (numpy's ``clip``, torch's ``clamp``): ``Tensor.clip``."""
    return as_tensor(x, "clip").clip(min, max)


def split(x: TensorLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """numpy's ``split``: ``x`` cut along ``axis`` into a number of equal sections, or before each of a
    sequence of indices; a list of tensors, each a view in the graph. (``Tensor.split`` is torch's,
    which takes piece lengths.)"""
    return _split(x, indices_or_sections, axis, "split", equal=True)


def array_split(x: TensorLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """numpy's ``array_split``: ``split`` where a number of sections need not divide the axis (the
    first ``length % n`` pieces are one longer)."""
    return _split(x, indices_or_sections, axis, "array_split", equal=False)


def _split(x: TensorLike, indices_or_sections: Any, axis: int, name: str, equal: bool) -> list[Tensor]:
    t = as_tensor(x, name)
    if t.ndim == 0:
        raise ValueError(f"{name}: a 0-d tensor has no axis to split")
    axis = normalize_axis(axis, t.ndim, name)
    if not isinstance(axis, int):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    bounds = split_sections(t.shape[axis], indices_or_sections, name, equal)
    return [apply(ops.SPLIT, (t,), axis=axis, start=start, stop=stop) for start, stop in bounds]
