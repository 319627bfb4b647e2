"""Free functions of Tensors that are not methods: ``concatenate``, ``stack``, ``where``,
``maximum``, ``minimum``."""

from __future__ import annotations

import numpy as np

from . import tensor_ops as ops
from .tensor import Tensor, apply, as_array, constant
from .tensor_args import normalize_axis


def as_tensor(x, where: str) -> Tensor:
    """``x`` if it is a Tensor, else a constant Tensor holding it."""
    if isinstance(x, Tensor):
        return x
    return constant(as_array(x, where))


def _float_tensors(tensors, name):
    try:
        seq = list(tensors)
    except TypeError:
        raise TypeError(f"{name}: expected a sequence of tensors, got {type(tensors).__name__}") from None
    if not seq:
        raise ValueError(f"{name}: need at least one tensor")
    seq = [as_tensor(t, name) for t in seq]
    return [t if t.dtype.kind == "f" else constant(t.data.astype(np.float64)) for t in seq]


def concatenate(tensors, axis=0) -> Tensor:
    """The tensors joined along an existing ``axis`` (numpy's ``concatenate``; torch's ``cat``).

    d/d input_k = the slice of g that input k filled.
    """
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


def stack(tensors, axis=0) -> Tensor:
    """The tensors (all of one shape) joined along a new ``axis``; d/d input_k = g's slice k along it."""
    seq = _float_tensors(tensors, "stack")
    shape = seq[0].shape
    for k, t in enumerate(seq):
        if t.shape != shape:
            raise ValueError(f"stack: every tensor must have shape {shape}, tensor {k} has {t.shape}")
    axis = normalize_axis(axis, len(shape) + 1, "stack")
    return apply(ops.STACK, tuple(seq), axis=axis)


def where(condition, x, y) -> Tensor:
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


def maximum(a, b) -> Tensor:
    """Elementwise ``max(a, b)`` (broadcast); the gradient goes to the larger, split equally on ties."""
    a, b = _operands(a, b)
    return _broadcasting(ops.MAXIMUM, a, b)


def minimum(a, b) -> Tensor:
    """Elementwise ``min(a, b)`` (broadcast); the gradient goes to the smaller, split equally on ties."""
    a, b = _operands(a, b)
    return _broadcasting(ops.MINIMUM, a, b)


def _broadcasting(op, a, b):
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op.name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    return apply(op, (a, b))


def _operands(x, y):
    """Two operands as float Tensors; a plain number takes the other operand's float type (as PyTorch)."""
    pair = []
    for a, other in ((x, y), (y, x)):
        if not isinstance(a, Tensor) and np.ndim(a) == 0 and isinstance(other, Tensor) and other.dtype.kind == "f":
            pair.append(constant(np.asarray(a, dtype=other.dtype)))
            continue
        t = as_tensor(a, "where")
        pair.append(t if t.dtype.kind == "f" else constant(t.data.astype(np.float64)))
    return pair
