"""Loss functions. ``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (per element).

- ``mse_loss``: ``(p - y)^2``.
- ``binary_cross_entropy``: ``-(y ln q + (1 - y) ln(1 - q))`` with ``q = clip(p, eps, 1 - eps)``,
  the article's clip: ``eps = 1e-15`` in float64, and in float32 (where ``1 - 1e-15`` rounds to 1)
  ``2^-24``, the gap below 1, so the loss stays finite at ``p = 1``. PyTorch clamps each log at -100
  instead; the two agree wherever ``eps <= p <= 1 - eps``. The gradient is the article's,
  ``-(y/q - (1 - y)/(1 - q))`` (divided by N for the mean): the clip is not differentiated, so a
  saturated output still gets a finite gradient of the formula, as in the article's hand-written
  backward. ``p`` and the targets must lie in [0, 1] (NaN is refused too, as in PyTorch).
- ``binary_cross_entropy_with_logits``: the same loss of ``sigmoid(z)`` computed from the logits
  ``z`` as ``max(z, 0) - z y + ln(1 + e^-|z|)``: exact and finite for any finite ``z`` (no clip
  needed); at ``z = ±inf`` its limit (``inf``, or 0 where the target makes the term vanish).
- ``cross_entropy``: ``-log_softmax(z)[label]`` for a row of logits and an integer class label.

A target given as numbers (an array, a list) takes the input's float type, so float32 stays float32.
``binary_cross_entropy`` also takes Values (one, or a nested list such as ``ScalarTwoLayerNet``'s
output rows) and then returns a Value, or the nested list of per-element Values for ``"none"``;
the other losses take Tensors or arrays only. A list mixing Values and numbers is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, overload

import numpy as np

from autograd import Tensor, Value
from autograd.tensor import apply, constant
from autograd.tensor_ops import SIGMOID
from autograd.typing import TensorLike

from . import primitives as P
from .arguments import as_tensor

REDUCTIONS = ("mean", "sum", "none")


def mse_loss(pred: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """``(pred - target)^2``, reduced; d/dpred = 2 (pred - target) (/ N for the mean)."""
    pred, target = _pair("mse_loss", pred, target, reduction)
    squared = (pred - target) ** 2
    return _reduce_tensor(squared, reduction)


@overload
def binary_cross_entropy(p: Value, target: float, reduction: str = "mean") -> Value: ...
@overload
def binary_cross_entropy(p: Tensor | np.ndarray, target: TensorLike, reduction: str = "mean") -> Tensor: ...
@overload
def binary_cross_entropy(p: list | tuple, target: TensorLike, reduction: str = "mean") -> Any: ...


def binary_cross_entropy(p: Any, target: Any, reduction: str = "mean") -> Any:
    """``-(y ln q + (1 - y) ln(1 - q))``, ``q = clip(p, eps, 1 - eps)``; one fused primitive.

    ``d/dp = -(y/q - (1 - y)/(1 - q))``, divided by N = ``p.size`` for the mean (the article's rule).
    ``p`` and ``target`` must lie in [0, 1]: outside it the formula's gradient points the wrong way.
    """
    name = "binary_cross_entropy"
    if isinstance(p, Value) or _holds_values(name, p):
        return _scalar_bce(p, target, reduction)
    p, target = _pair(name, p, target, reduction)
    if p.op is SIGMOID:  # a sigmoid's output lies in [0, 1] (or is NaN, which the loss carries on)
        _check_probabilities(name, p.data.reshape(-1)[:0], target.data)
    else:
        _check_probabilities(name, p.data, target.data)
    return apply(P.BINARY_CROSS_ENTROPY, (p, target), reduction=reduction)


def binary_cross_entropy_with_logits(logits: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """BCE of ``sigmoid(z)``: ``max(z, 0) - z y + ln(1 + e^-|z|)``; d/dz = sigmoid(z) - y."""
    logits, target = _pair("binary_cross_entropy_with_logits", logits, target, reduction)
    return apply(P.BINARY_CROSS_ENTROPY_WITH_LOGITS, (logits, target), reduction=reduction)


def cross_entropy(logits: TensorLike, labels: TensorLike, reduction: str = "mean") -> Tensor:
    """``-log_softmax(z)[n, label_n]`` per row of ``logits`` (N, C); labels are N class indices.

    ``log_softmax(z) = z - m - ln sum_c e^(z_c - m)`` with ``m = max_c z_c`` (no overflow);
    ``d/dz = softmax(z) - onehot(label)`` (/ N for the mean).
    """
    _check_reduction("cross_entropy", reduction)
    logits = as_tensor(logits, "cross_entropy: logits")
    given = labels
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {logits.shape}")
    n, c = logits.shape
    if labels.shape != (n,):
        raise ValueError(f"cross_entropy: labels must have shape ({n},) for logits {logits.shape}, got {labels.shape}")
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.intp)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integer class indices, got dtype {labels.dtype}")
    _check_not_empty("cross_entropy", logits.shape[:1], reduction)
    if n and (labels.min() < 0 or labels.max() >= c):
        bad = labels[(labels < 0) | (labels >= c)][0]
        raise ValueError(f"cross_entropy: label {bad} is out of range for {c} classes (0..{c - 1})")
    if isinstance(given, Tensor):
        if given.requires_grad:
            raise TypeError("cross_entropy: labels are class indices and cannot require grad")
        target = given  # the labels as they came (a compiled step's input buffer: new labels reach the op)
    else:
        target = constant(labels.astype(np.intp))
    return apply(P.CROSS_ENTROPY, (logits, target), reduction=reduction)


# ---------------------------------------------------------------------- helpers


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _pair(name: str, pred: TensorLike, target: TensorLike, reduction: str) -> tuple[Tensor, Tensor]:
    _check_reduction(name, reduction)
    if isinstance(pred, Value) or _holds_values(name, pred):
        raise TypeError(f"{name}: takes Tensors or arrays, not Values (binary_cross_entropy has a Value form)")
    pred = as_tensor(pred, f"{name}: input")
    target = as_tensor(target, f"{name}: target")
    if pred.dtype.kind != "f":
        pred = constant(pred.data.astype(np.float64))
    if target.dtype != pred.dtype and not target.requires_grad:
        # numbers given as the target follow the input's precision (float32 stays float32)
        target = constant(target.data.astype(pred.dtype))
    if pred.shape != target.shape:
        raise ValueError(
            f"{name}: input has shape {pred.shape} but target has shape {target.shape}; they must match "
            f"(reshape the target, e.g. y.reshape({', '.join(map(str, pred.shape)) or '()'}))"
        )
    _check_not_empty(name, pred.shape, reduction)
    return pred, target


def _check_not_empty(name: str, shape: tuple[int, ...], reduction: str) -> None:
    """The mean over zero elements is an error, as ``Tensor.mean`` (PyTorch gives NaN)."""
    if reduction == "mean" and 0 in shape:
        raise ValueError(
            f"{name}: cannot average over zero elements (input shape {shape}); use reduction='sum' or 'none'"
        )


def _reduce_tensor(t: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return t.mean()
    if reduction == "sum":
        return t.sum()
    return t


def _holds_values(name: str, nest: object) -> bool:
    """True for a list (of lists ...) of Values only; ``TypeError`` naming the loss for one that mixes
    Values with anything else (which would otherwise fail deep inside, or drop the graph)."""
    if not isinstance(nest, (list, tuple)):
        return False
    values = other = None
    stack: list[Any] = [nest]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, Value):
            values = item
        elif other is None:
            other = item
        if values is not None and other is not None:
            raise TypeError(
                f"{name}: the input mixes Values with {type(other).__name__} ({other!r}); make every element "
                f"a Value (Value(x)), or pass numbers only (an array)"
            )
    return values is not None


def _check_probabilities(name: str, p: np.ndarray, y: np.ndarray) -> None:
    """``ValueError`` naming the loss and the first element of the input ``p`` or the target ``y``
    outside [0, 1] (NaN included)."""
    if p.size + y.size <= 32:
        # a few numbers compare faster in Python than through numpy's four reductions (0.5 instead of
        # 3.1 us at the article's size, whose whole step takes about 90 us); NaN fails the comparison
        for v in p.ravel().tolist() + y.ravel().tolist():
            if not 0.0 <= v <= 1.0:
                break
        else:
            return
    elif all(np.minimum.reduce(a, axis=None) >= 0 and np.maximum.reduce(a, axis=None) <= 1 for a in (p, y) if a.size):
        return
    for what, data in (("input", p), ("target", y)):
        outside = ~((data >= 0) & (data <= 1))
        if outside.any():
            bad = np.argwhere(outside)[0]
            where = f" at index {tuple(int(i) for i in bad)}" if data.ndim else ""
            raise ValueError(f"{name}: {what} must lie in [0, 1], got {float(data[tuple(bad)])!r}{where}")


def _scalar_bce(p: Any, target: Any, reduction: str) -> Any:
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    y = np.asarray(target.data if isinstance(target, Tensor) else target, dtype=np.float64)
    shape = _nest_shape(p)
    if y.shape != shape:
        raise ValueError(f"{name}: input has shape {shape} but target has shape {y.shape}")
    _check_probabilities(name, np.array([v.data for v in _flatten(p)]).reshape(shape), y)
    terms = _map_nest(p, y)
    if reduction == "none":
        return terms
    flat = list(_flatten(terms))
    total = flat[0]
    for t in flat[1:]:
        total = total + t
    return total * (1.0 / len(flat)) if reduction == "mean" else total


def _bce_value(p: Value, y: float) -> Value:
    return P.SCALAR_BINARY_CROSS_ENTROPY(p, y)


def _nest_shape(nest: Any) -> tuple[int, ...]:
    shape = []
    while not isinstance(nest, Value):
        shape.append(len(nest))
        nest = nest[0]
    return tuple(shape)


def _map_nest(p: Any, y: Any) -> Any:
    if isinstance(p, Value):
        return _bce_value(p, float(y))
    return [_map_nest(pi, yi) for pi, yi in zip(p, y)]


def _flatten(nest: Any) -> Iterator[Value]:
    if isinstance(nest, Value):
        yield nest
    else:
        for item in nest:
            yield from _flatten(item)
