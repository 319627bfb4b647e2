"""nn's fused primitives, declared through ``autograd.extend`` like any user's op.

A training step at the article's size is dominated by per-node overhead, not arithmetic, so a
layer's affine map and each loss are one node each:

- ``LINEAR``: ``x @ w + b`` (``w`` of shape (in, out), the article's layout);
- ``BINARY_CROSS_ENTROPY``, ``BINARY_CROSS_ENTROPY_WITH_LOGITS``, ``CROSS_ENTROPY``: the losses,
  reduced by ``reduction`` ("mean", "sum" or "none");
- ``WEIGHTED_SUM`` (on Values): ``b + sum_i w_i x_i`` as one node with 2n + 1 parents, a neuron;
- ``SCALAR_BINARY_CROSS_ENTROPY`` (on Values): the article's clipped BCE of one probability, the
  target kept on the node as a constant;
- ``ERF`` and ``GELU`` (torch's exact form, or its tanh approximation): the numpy engine has no erf.

Convolution and pooling are in ``nn.conv``.

Every VJP is written with numpy's functions and engine ops called as functions, so it also runs on
Tensors (second derivatives). ``LINEAR`` and ``BINARY_CROSS_ENTROPY`` have in-place kernels, so a
compiled training step of the article's network replays without allocating arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from autograd import tensor_ops as tops
from autograd.extend import ELEMENTWISE, Kernels, scalar_op, tensor_op
from autograd.tensor_ops import sum_to

__all__ = [
    "BCE_EPS",
    "ERF",
    "GELU",
    "BINARY_CROSS_ENTROPY",
    "BINARY_CROSS_ENTROPY_WITH_LOGITS",
    "CROSS_ENTROPY",
    "LINEAR",
    "SCALAR_BINARY_CROSS_ENTROPY",
    "WEIGHTED_SUM",
    "bce_eps",
    "binary_cross_entropy_of_floats",
    "erf",
    "weighted_sum_of_floats",
]

BCE_EPS = 1e-15
"""The article's clip of the probability in binary cross-entropy, where the dtype can hold it."""

_BCE_EPS_BY_DTYPE = {np.dtype(t): max(BCE_EPS, float(np.finfo(t).epsneg)) for t in (np.float16, np.float32, np.float64)}


def bce_eps(dtype) -> float:
    """The clip ``eps`` of binary cross-entropy in ``dtype``: ``q = clip(p, eps, 1 - eps)``.

    The article's 1e-15 in float64; where ``1 - 1e-15`` rounds to 1 (float32, float16) the gap below
    1, ``epsneg`` (2^-24 ~ 6e-8 in float32), so that ``1 - q`` stays positive and the loss finite.
    """
    eps = _BCE_EPS_BY_DTYPE.get(dtype)
    return eps if eps is not None else max(BCE_EPS, float(np.finfo(dtype).epsneg))


# ----------------------------------------------------------------------------- scratch space for kernels

_SCRATCH: dict = {}


def scratch(shape, dtype, k: int) -> np.ndarray:
    """The ``k``-th reusable work array of ``shape`` and ``dtype`` (a kernel's temporaries: allocated once
    per shape, so a replayed step allocates nothing). Its contents are whatever the last user left."""
    key = (shape, dtype, k)
    buf = _SCRATCH.get(key)
    if buf is None:
        buf = _SCRATCH[key] = np.empty(shape, dtype=dtype)
    return buf


# ----------------------------------------------------------------------------- reductions of the losses


def _reduce(terms, reduction):
    # np.add.reduce rather than np.sum / np.mean: the same pairwise sum without their Python wrappers,
    # which cost more than the arithmetic at the article's size
    if reduction == "mean":
        return np.add.reduce(terms, axis=None) / terms.size
    if reduction == "sum":
        return np.add.reduce(terms, axis=None)
    return terms


def _reduced_grad(g, local, reduction):
    """The chain rule through ``_reduce``: ``g`` is a number for mean and sum, per element for none."""
    if reduction == "mean":
        return local * (g / local.size)
    return local * g


# ----------------------------------------------------------------------------- linear


def _linear_forward(x, w, b):
    out = np.matmul(x, w)
    if b.ndim and b.ndim <= out.ndim and b.size == out.shape[-1] == b.shape[-1] and b.dtype == out.dtype:
        out += b  # one bias per output unit: added in place, saving an array as large as the output
        return out
    return out + b


def _linear_x_vjp(g, out, x, w, b):
    return tops.MATMUL.vjps[0](g, out, x, w)


def _linear_w_vjp(g, out, x, w, b):
    return tops.MATMUL.vjps[1](g, out, x, w)


def _linear_b_vjp(g, out, x, w, b):
    """``g`` summed over the batch; done here for one bias per unit, ``(out,)`` or ``(1, out)``: the same
    sum as the engine's ``unbroadcast`` without its general bookkeeping (0.95 instead of 1.4 us per bias at
    the article's size)."""
    if g.ndim == 2 and b.size == g.shape[1]:
        if b.ndim == 1:
            return np.add.reduce(g, axis=0)
        if b.ndim == 2 and b.shape[0] == 1:
            return np.add.reduce(g, axis=0, keepdims=True)
    return g


def _linear_jvp(tangents, out, x, w, b):
    """``tx @ w + x @ tw + tb`` (the product rule)."""
    tx, tw, tb = tangents
    result = np.zeros(out.shape, dtype=out.dtype)
    if tx is not None:
        result = result + np.matmul(tx, w)
    if tw is not None:
        result = result + np.matmul(x, tw)
    if tb is not None:
        result = result + tb
    return result


def _plain_2d(x, w, dst_dtype) -> bool:
    return x.ndim == 2 and w.ndim == 2 and x.dtype == w.dtype == dst_dtype


def _linear_into(out, x, w, b):
    if _plain_2d(x, w, out.dtype) and b.dtype == out.dtype and out.shape == (x.shape[0], w.shape[1]):
        np.matmul(x, w, out=out)
        out += b
    else:
        np.copyto(out, _linear_forward(x, w, b))


def _linear_x_into(dst, g, out, x, w, b):
    if _plain_2d(g, w, dst.dtype) and dst.shape == x.shape:
        tops.matmul_2d(g, w.T, out=dst)
    else:
        sum_to(dst, _linear_x_vjp(g, out, x, w, b))


def _linear_w_into(dst, g, out, x, w, b):
    if _plain_2d(x, g, dst.dtype) and dst.shape == w.shape:
        np.matmul(x.T, g, out=dst)
    else:
        sum_to(dst, _linear_w_vjp(g, out, x, w, b))


def _linear_b_into(dst, g, out, x, w, b):
    sum_to(dst, g)


LINEAR = tensor_op(
    "linear",
    _linear_forward,
    [_linear_x_vjp, _linear_w_vjp, _linear_b_vjp],
    "x @ w + b (w of shape (in, out)); d/dx = g w^T, d/dw = x^T g, d/db = g summed over the batch",
    jvp=_linear_jvp,
    kernels=Kernels(_linear_into, (_linear_x_into, _linear_w_into, _linear_b_into), reads=("inputs",)),
)


# ----------------------------------------------------------------------------- binary cross-entropy


def _clip_probability(p):
    """``clip(p, eps, 1 - eps)`` with ``eps = bce_eps(p.dtype)`` (two ufuncs: cheaper than ``np.clip``
    on small arrays)."""
    eps = _BCE_EPS_BY_DTYPE.get(p.dtype) or bce_eps(p.dtype)
    return np.minimum(np.maximum(p, eps), 1.0 - eps)


def _bce_forward(p, y, reduction):
    q = _clip_probability(p)
    terms = y * np.log(q)
    terms += (1.0 - y) * np.log(1.0 - q)
    # negated after the sum, which is exactly the sum of the negated terms: one pass over the array fewer
    return -terms if reduction == "none" else -_reduce(terms, reduction)


def _bce_p_vjp(g, out, p, y, reduction):
    q = _clip_probability(p)
    # the article's -(y/q - (1-y)/(1-q)), written without the negation (the same numbers, bit for bit)
    return _reduced_grad(g, (1.0 - y) / (1.0 - q) - y / q, reduction)


def _bce_y_vjp(g, out, p, y, reduction):
    q = _clip_probability(p)
    return _reduced_grad(g, np.log(1.0 - q) - np.log(q), reduction)


def _bce_jvp(tangents, out, p, y, reduction):
    """``sum_i vjp_i(t_i)``, reduced like the loss: each local derivative is elementwise."""
    tp, ty = tangents
    total = 0.0
    if tp is not None:
        q = _clip_probability(p)
        total = total + ((1.0 - y) / (1.0 - q) - y / q) * tp
    if ty is not None:
        q = _clip_probability(p)
        total = total + (np.log(1.0 - q) - np.log(q)) * ty
    total = np.broadcast_to(total, np.broadcast_shapes(np.shape(p), np.shape(y)))
    return _reduce(np.asarray(total, dtype=out.dtype), reduction)


def _same_layout(dst, p, y) -> bool:
    return p.shape == y.shape == dst.shape and p.dtype == y.dtype == dst.dtype


def _bce_into(out, p, y, reduction):
    """The forward with its temporaries in scratch arrays: the same ufuncs in the same order."""
    if not _same_layout(p, p, y):
        np.copyto(out, _bce_forward(p, y, reduction))
        return
    eps = _BCE_EPS_BY_DTYPE.get(p.dtype) or bce_eps(p.dtype)
    q, t, u = (scratch(p.shape, p.dtype, k) for k in range(3))
    np.maximum(p, eps, out=q)
    np.minimum(q, 1.0 - eps, out=q)
    np.log(q, out=t)
    np.multiply(y, t, out=t)
    np.subtract(1.0, q, out=u)
    np.log(u, out=u)
    np.subtract(1.0, y, out=q)
    np.multiply(q, u, out=u)
    t += u
    if reduction == "none":
        np.negative(t, out=out)
    else:
        out[...] = -_reduce(t, reduction)


def _bce_p_into(dst, g, out, p, y, reduction):
    """``(1 - y)/(1 - q) - y/q`` times the reduced ``g``, elementwise into ``dst``."""
    if not _same_layout(dst, p, y):
        sum_to(dst, _bce_p_vjp(g, out, p, y, reduction))
        return
    eps = _BCE_EPS_BY_DTYPE.get(p.dtype) or bce_eps(p.dtype)
    s, t = scratch(p.shape, p.dtype, 0), scratch(p.shape, p.dtype, 1)
    np.maximum(p, eps, out=dst)
    np.minimum(dst, 1.0 - eps, out=dst)  # q
    np.subtract(1.0, dst, out=s)
    np.subtract(1.0, y, out=t)
    np.divide(t, s, out=t)
    np.divide(y, dst, out=dst)
    np.subtract(t, dst, out=dst)
    if reduction == "mean":
        np.multiply(dst, g / dst.size, out=dst)
    else:
        np.multiply(dst, g, out=dst)


BINARY_CROSS_ENTROPY = tensor_op(
    "binary_cross_entropy",
    _bce_forward,
    [_bce_p_vjp, _bce_y_vjp],
    "mean/sum/none of -(y ln q + (1-y) ln(1-q)), q = clip(p, eps, 1-eps), eps = 1e-15 in float64, 2^-24 in "
    "float32; d/dp = -(y/q - (1-y)/(1-q)) (/ N for the mean): the clip is not differentiated, as in the article",
    domain=(0.1, 0.9),
    jvp=_bce_jvp,
    kernels=Kernels(_bce_into, (_bce_p_into, None)),
)


def _bce_logits_forward(z, y, reduction):
    # max(z, 0) - z y + ln(1 + e^-|z|): e^t only sees t <= 0, so nothing overflows
    terms = np.asarray(np.maximum(z, 0.0) - z * y)
    if np.isinf(z).any():
        # max(z, 0) - z y is |z| w with w = 1 - y for z > 0 and y for z < 0; at infinite z that is
        # inf - inf = NaN, where the limit is inf w, or 0 where w = 0 (the term is absent)
        infinite = np.broadcast_to(np.isinf(z), terms.shape)
        w = np.broadcast_to(np.where(z > 0, 1.0 - y, y), terms.shape)[infinite]
        terms[infinite] = np.where(w == 0, 0.0, np.inf * w)
    terms += np.log1p(np.exp(-np.abs(z)))
    return _reduce(terms, reduction)


def _bce_logits_z_vjp(g, out, z, y, reduction):
    return _reduced_grad(g, tops.SIGMOID(z) - y, reduction)


def _bce_logits_y_vjp(g, out, z, y, reduction):
    return _reduced_grad(g, -z, reduction)


def _bce_logits_jvp(tangents, out, z, y, reduction):
    tz, ty = tangents
    total = 0.0
    if tz is not None:
        total = total + (tops.sigmoid(np.asarray(z, dtype=out.dtype)) - y) * tz
    if ty is not None:
        total = total - z * ty
    total = np.broadcast_to(total, np.broadcast_shapes(np.shape(z), np.shape(y)))
    return _reduce(np.asarray(total, dtype=out.dtype), reduction)


BINARY_CROSS_ENTROPY_WITH_LOGITS = tensor_op(
    "binary_cross_entropy_with_logits",
    _bce_logits_forward,
    [_bce_logits_z_vjp, _bce_logits_y_vjp],
    "mean/sum/none of max(z,0) - z y + ln(1 + e^-|z|) = BCE(sigmoid(z), y); d/dz = sigmoid(z) - y, d/dy = -z",
    jvp=_bce_logits_jvp,
)


# ----------------------------------------------------------------------------- cross-entropy


def _log_softmax_rows(z):
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def _class_indices(labels):
    """The labels (an input, so that a compiled step reads new ones) as integer indices."""
    return labels if labels.dtype.kind in "iu" else np.rint(labels).astype(np.intp)


def _cross_entropy_forward(z, labels, reduction):
    labels = _class_indices(labels)
    return _reduce(-_log_softmax_rows(z)[np.arange(len(labels)), labels], reduction)


def _one_hot(labels, shape, dtype):
    labels = _class_indices(labels.data if hasattr(labels, "op") else labels)  # a constant even under create_graph
    onehot = np.zeros(shape, dtype=dtype)
    onehot[np.arange(len(labels)), labels] = 1.0
    return onehot


def _cross_entropy_vjp(g, out, z, labels, reduction):
    d = np.exp(_log_softmax_rows(z)) - _one_hot(labels, z.shape, z.dtype)
    if reduction == "none":
        return d * g[:, None]
    return d * (g / len(labels) if reduction == "mean" else g)


def _labels_vjp(g, out, z, labels, reduction):
    """Class labels are piecewise constant: the loss does not change with them (they never require grad)."""
    return np.zeros(labels.shape, dtype=z.dtype)


def _cross_entropy_jvp(tangents, out, z, labels, reduction):
    """``sum_c (softmax(z) - onehot)_c t_c`` per row, reduced like the loss."""
    t = tangents[0]
    if t is None:
        return np.zeros(out.shape, dtype=out.dtype)
    d = np.exp(_log_softmax_rows(z)) - _one_hot(labels, z.shape, z.dtype)
    return _reduce(np.sum(d * t, axis=1), reduction).astype(out.dtype, copy=False)


CROSS_ENTROPY = tensor_op(
    "cross_entropy",
    _cross_entropy_forward,
    [_cross_entropy_vjp, _labels_vjp],
    "mean/sum/none over rows of -log_softmax(z)[label] (z (N, C), labels (N,) class indices, an input without "
    "gradient); d/dz = softmax(z) - onehot(label)",
    jvp=_cross_entropy_jvp,
)


# ----------------------------------------------------------------------------- on Values


def weighted_sum_of_floats(*inputs: float) -> float:
    """``b + w_1 x_1 + ... + w_n x_n`` for ``inputs = (w_1..w_n, x_1..x_n, b)``, added left to right
    (the order of micrograd's ``sum((wi * xi ...), b)``)."""
    if len(inputs) % 2 != 1:
        raise ValueError(f"weighted_sum: expected 2n + 1 inputs (w_1..w_n, x_1..x_n, b), got {len(inputs)}")
    n = len(inputs) >> 1
    acc = inputs[-1]
    for w, x in zip(inputs[:n], inputs[n:-1]):
        acc = acc + w * x
    return acc


def _weighted_sum_derivatives(out, *inputs):
    n = len(inputs) >> 1
    return (*inputs[n:-1], *inputs[:n], 1.0)


def _weighted_sum_backprop(g, parents):
    """``d/dw_i = x_i``, ``d/dx_i = w_i``, ``d/db = 1`` applied without building the list of derivatives:
    a neuron's node has 2n + 1 parents and is the hot spot of a scalar MLP."""
    n = len(parents) >> 1
    for w, x in zip(parents[:n], parents[n:-1]):
        w.grad += x.data * g
        x.grad += w.data * g
    parents[-1].grad += g


WEIGHTED_SUM = scalar_op(
    "weighted_sum",
    weighted_sum_of_floats,
    _weighted_sum_derivatives,
    "b + sum_i w_i x_i; parents (w_1..w_n, x_1..x_n, b); d/dw_i = x_i, d/dx_i = w_i, d/db = 1",
    backprop=_weighted_sum_backprop,
    symbol="Σ w·x + b",
    label=lambda node: f"Σ w·x + b ({len(node.parents) >> 1})",
)


def binary_cross_entropy_of_floats(p: float, y: float) -> float:
    """``-(y ln q + (1 - y) ln(1 - q))`` with ``q = p`` clipped to ``[1e-15, 1 - 1e-15]``."""
    q = min(max(p, BCE_EPS), 1.0 - BCE_EPS)
    return -(y * math.log(q) + (1.0 - y) * math.log(1.0 - q))


def _scalar_bce_derivative(out, p, y):
    q = min(max(p, BCE_EPS), 1.0 - BCE_EPS)
    return (-(y / q - (1.0 - y) / (1.0 - q)),)


SCALAR_BINARY_CROSS_ENTROPY = scalar_op(
    "binary_cross_entropy",
    binary_cross_entropy_of_floats,
    _scalar_bce_derivative,
    "-(y ln q + (1-y) ln(1-q)), q = clip(p, 1e-15, 1-1e-15), target y kept on the node; "
    "d/dp = -(y/q - (1-y)/(1-q)) (the article's rule: the clip is not differentiated)",
    domain=(0.1, 0.9),
    symbol="BCE(y=c)",
    constant=True,
)


# ----------------------------------------------------------------------------- erf and GELU

_ERF: list[Callable[[np.ndarray], np.ndarray]] = []


def _load_erf() -> Callable[[np.ndarray], np.ndarray]:
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:
        per_element = np.frompyfunc(math.erf, 1, 1)
        return lambda x: np.asarray(per_element(x), dtype=np.result_type(x, np.float16))
    return scipy_erf


def erf(x: np.ndarray) -> np.ndarray:
    """The error function ``2/sqrt(pi) int_0^x e^(-t^2) dt`` of each element (``scipy.special.erf``
    when scipy is installed, else ``math.erf`` element by element)."""
    if not _ERF:
        _ERF.append(_load_erf())
    return _ERF[0](x)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_HALF = math.sqrt(0.5)
_ONE_OVER_SQRT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_SCALE = math.sqrt(2.0 / math.pi)
_TANH_CUBIC = 0.044715

ERF = tensor_op(
    "erf",
    erf,
    [lambda g, out, x: g * (_TWO_OVER_SQRT_PI * np.exp(-(x * x)))],
    "erf(x) = 2/sqrt(pi) int_0^x e^(-t^2) dt; d/dx = 2/sqrt(pi) e^(-x^2)",
    jvp=ELEMENTWISE,
)


def _gelu_forward(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(_TANH_SCALE * (x + _TANH_CUBIC * (x * x * x))))
    return x * 0.5 * (1.0 + erf(x * _SQRT_HALF))


def _gelu_vjp(g, out, x, approximate):
    if approximate == "tanh":
        t = np.tanh(_TANH_SCALE * (x + _TANH_CUBIC * (x * x * x)))
        slope = _TANH_SCALE * (1.0 + 3.0 * _TANH_CUBIC * (x * x))
        return g * (0.5 * (1.0 + t) + 0.5 * x * ((1.0 - t * t) * slope))
    # Phi(x) + x phi(x), with Phi through the ERF primitive so that the VJP runs on Tensors too
    return g * (0.5 * (1.0 + ERF(x * _SQRT_HALF)) + x * (_ONE_OVER_SQRT_TWO_PI * np.exp(-0.5 * (x * x))))


GELU = tensor_op(
    "gelu",
    _gelu_forward,
    [_gelu_vjp],
    "x Phi(x) = x/2 (1 + erf(x/sqrt 2)), or with approximate='tanh' x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); "
    "d/dx = Phi(x) + x phi(x) (phi the standard normal density)",
    domain=(-3.0, 3.0),
    jvp=ELEMENTWISE,
)
