"""Tensor primitives: each declares its forward rule and one vector-Jacobian product per input.

``forward(*arrays, **op_args)`` computes the result; ``vjps[i](g, out, *arrays, **op_args)`` is the
gradient with respect to input ``i`` given ``g = d root / d out``: a new array, or ``g`` itself or a
view of it (never another array it was given, which the engine would then hand out as a ``.grad``).
Only the products for inputs that need a gradient are evaluated. Results of broadcasting ops are
summed back to each input's shape by ``unbroadcast``, so primitives may return the broadcast shape.

Where a local derivative is zero because the output ignores that input there (relu left of its
kink, ``x ** 0``, the non-maximal elements of a max), the product is written with ``np.where``, so
an infinite or NaN gradient from above stops there instead of becoming ``0 * inf = NaN``, as in
PyTorch.
"""

from __future__ import annotations

import numpy as np

from . import versions

TENSOR_OPS: dict = {}
"""Every tensor primitive by name, in declaration order."""


class TensorOp:
    """A tensor primitive: ``forward`` and a tuple of ``vjps``, one per input.

    ``view``: the forward may return a view of its first input's memory (reshape, transpose, basic
    indexing), so the two share a version counter.
    """

    def __init__(self, name, forward, vjps, doc="", domain=(-2.0, 2.0), view=False):
        if name in TENSOR_OPS:
            raise ValueError(f"tensor op {name!r} is already declared")
        self.name = name
        self.forward = forward
        self.vjps = tuple(vjps)
        self.doc = doc
        self.domain = domain  # where the derivative is smooth: tools sample inputs from here
        self.view = view
        TENSOR_OPS[name] = self

    def __repr__(self):
        return f"<tensor op {self.name}>"

    def __str__(self):
        return self.name

    @property
    def arity(self):
        """The number of tensor inputs (``None`` for any number)."""
        return len(self.vjps) if self.vjps else None

    def vjps_for(self, n: int) -> tuple:
        """The VJPs of a node with ``n`` tensor inputs."""
        return self.vjps

    def parents(self, node):
        return node.parents

    def label(self, node) -> str:
        op_args = node.op_args
        if not op_args:
            return self.name
        shown = ", ".join(f"{k}={_short(v)}" for k, v in op_args.items())
        return f"{self.name}({shown})"

    def input_grads(self, node) -> tuple:
        """What ``node`` sends each parent given ``node.grad``: ``vjp`` summed back to the parent's shape,
        or ``None`` for a parent that needs no gradient. ``backprop`` adds exactly these."""
        g = node.grad
        parents = node.parents
        if g is None:
            return (None,) * len(parents)
        if node._epoch != versions.EPOCH:
            versions.check_unchanged(node)
        arrays = [p.data for p in parents]
        op_args = node.op_args
        out = node.data
        sent = []
        for vjp, parent in zip(self.vjps_for(len(parents)), parents):
            if parent.requires_grad:
                gi = vjp(g, out, *arrays, **op_args)
                if gi.shape != parent.data.shape:
                    gi = unbroadcast(gi, parent.data.shape)
                sent.append(gi)
            else:
                sent.append(None)
        return tuple(sent)

    def backprop(self, node):
        """Add ``input_grads(node)`` into the parents' ``grad`` (the same loop inlined: it runs for every
        node of every backward pass; a test checks the two agree)."""
        g = node.grad
        if g is None:
            return
        if node._epoch != versions.EPOCH:
            versions.check_unchanged(node)
        parents = node.parents
        arrays = [p.data for p in parents]
        op_args = node.op_args
        out = node.data
        for vjp, parent in zip(self.vjps_for(len(parents)), parents):
            if parent.requires_grad:
                gi = vjp(g, out, *arrays, **op_args)
                if gi.shape != parent.data.shape:
                    gi = unbroadcast(gi, parent.data.shape)
                # a vjp returns a new array, g itself or a view of g: only the latter two are shared
                parent.accumulate_grad(gi, gi is g or gi.base is not None)


def _short(v):
    text = repr(v)
    return text if len(text) <= 24 else text[:21] + "..."


def unbroadcast(g, shape: tuple):
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    # np.add.reduce is np.sum without its Python wrapper (this runs for every broadcast bias)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = np.add.reduce(g, axis=tuple(range(extra)))
    stretched = tuple([i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1])
    if stretched:
        g = np.add.reduce(g, axis=stretched, keepdims=True)
    if g.shape != shape:
        g = np.broadcast_to(g, shape)
    return g


# ----------------------------------------------------------------------------- helpers


_EXP_LIMIT = {np.dtype(t): float(np.log(np.finfo(t).max)) - 0.01 for t in (np.float16, np.float32, np.float64)}


def sigmoid(x):
    """``1 / (1 + e^-x)`` for a float array. Where ``-x`` exceeds ``log`` of the dtype's largest number
    (709.78 for float64, 88.72 for float32) it is capped so that ``e^-x`` stays finite: below ``-cap``
    the result is the smallest value it can reach, about 5.6e-309 in float64, and nothing warns."""
    e = np.negative(x, out=np.empty_like(x))  # an array even when x is 0-d
    limit = _EXP_LIMIT.get(e.dtype) or float(np.log(np.finfo(e.dtype).max)) - 0.01
    if e.size and np.maximum.reduce(e, axis=None) > limit:  # a read-only pass: cheaper than capping every element
        np.minimum(e, limit, out=e)
    np.exp(e, out=e)
    e += 1.0
    return np.reciprocal(e, out=e)


def _pow_base_vjp(g, out, a, b):
    """``g b a^(b-1)``, exactly 0 where ``b = 0`` (the output ignores ``a`` there)."""
    return np.where(b == 0, 0.0, g * (b * a ** (b - 1)))


def _pow_exponent_vjp(g, out, a, b):
    """``g a^b ln a``; 0 where ``a = 0 <= b`` (the limit), ``-inf g`` where ``a = 0 > b`` (PyTorch's rule)."""
    return g * np.where((a == 0) & (b >= 0), 0.0, out * np.log(a))


def _pow_const_vjp(g, out, a, exponent):
    if exponent == 0:
        return np.zeros(np.broadcast_shapes(g.shape, a.shape), dtype=np.result_type(g, a))
    return g * (exponent * a ** (exponent - 1))


def _expand(g, shape, axis, keepdims):
    """Broadcast a reduction's gradient ``g`` back to the input ``shape``."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    elif axis is None and not keepdims:
        g = np.reshape(g, (1,) * len(shape))
    return np.broadcast_to(g, shape)


def _max_vjp(g, out, a, axis, keepdims):
    """Ties share the gradient equally (as ``torch.amax``); exactly 0 for the other elements."""
    peak = out if keepdims else _expand(out, a.shape, axis, False)
    mask = a == peak
    count = mask.sum(axis=axis, keepdims=True)
    return np.where(mask, _expand(g, a.shape, axis, keepdims) / count, 0.0)


def _matmul_a_vjp(g, out, a, b):
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return np.multiply.outer(g, b) if g.ndim else g * b
    if a.ndim == 1:
        return (g[..., None, :] @ b.swapaxes(-1, -2))[..., 0, :]
    return g @ b.swapaxes(-1, -2)


def _matmul_b_vjp(g, out, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return a[:, None] * g[..., None, :]
    if b.ndim == 1:
        return (a.swapaxes(-1, -2) @ g[..., None])[..., 0]
    return a.swapaxes(-1, -2) @ g


def _getitem_vjp(g, out, a, index, basic):
    grad = np.zeros(a.shape, dtype=g.dtype)
    if basic:
        grad[index] = g
    else:
        np.add.at(grad, index, g)  # a repeated index receives the sum of its gradients
    return grad


# ----------------------------------------------------------------------------- the table

ADD = TensorOp("add", np.add, (lambda g, out, a, b: g, lambda g, out, a, b: g), "a + b")
SUB = TensorOp("sub", np.subtract, (lambda g, out, a, b: g, lambda g, out, a, b: -g), "a - b")
MUL = TensorOp(
    "mul", np.multiply, (lambda g, out, a, b: g * b, lambda g, out, a, b: g * a), "a * b; d/da = b, d/db = a"
)
DIV = TensorOp(
    "div",
    np.divide,
    (lambda g, out, a, b: g / b, lambda g, out, a, b: -g * out / b),
    "a / b; d/da = 1/b, d/db = -a/b^2",
    domain=(0.5, 2.0),
)
POW = TensorOp(
    "pow",
    np.power,
    (_pow_base_vjp, _pow_exponent_vjp),
    "a ** b; d/da = b a^(b-1) (0 where b = 0), d/db = a^b ln a (0 where a = 0 <= b)",
    domain=(0.5, 2.0),
)
POW_CONST = TensorOp(
    "pow_const",
    lambda a, exponent: np.power(a, exponent),
    (_pow_const_vjp,),
    "a ** c for a number c; d/da = c a^(c-1)",
    domain=(0.5, 2.0),
)
NEG = TensorOp("neg", np.negative, (lambda g, out, a: -g,), "-a")
MATMUL = TensorOp(
    "matmul",
    np.matmul,
    (_matmul_a_vjp, _matmul_b_vjp),
    "a @ b, 1-D, 2-D and batched as numpy; d/da = g b^T, d/db = a^T g",
)
EXP = TensorOp("exp", np.exp, (lambda g, out, a: g * out,), "e^a; d/da = e^a")
LOG = TensorOp("log", np.log, (lambda g, out, a: g / a,), "ln a; d/da = 1/a", domain=(0.2, 3.0))
TANH = TensorOp("tanh", np.tanh, (lambda g, out, a: g * (1.0 - out * out),), "d/da tanh a = 1 - tanh(a)^2")


def _sigmoid_vjp(g, out, a):
    """``g s (1 - s)``, with one new array instead of three."""
    r = np.subtract(1.0, out)
    r *= out
    r *= g
    return r


SIGMOID = TensorOp("sigmoid", sigmoid, (_sigmoid_vjp,), "s(a) = 1 / (1 + e^-a); d/da = s (1 - s)")
RELU = TensorOp(
    "relu",
    lambda a: np.where(a > 0, a, np.where(np.isnan(a), a, 0.0)),
    (lambda g, out, a: np.where(a > 0, g, 0.0),),
    "max(0, a); d/da = 1 where a > 0, else 0 (0 at the kink)",
)
SQRT = TensorOp("sqrt", np.sqrt, (lambda g, out, a: g * 0.5 / out,), "sqrt a; d/da = 1 / (2 sqrt a)", domain=(0.2, 3.0))
ABS = TensorOp("abs", np.abs, (lambda g, out, a: g * np.sign(a),), "|a|; d/da = sign(a)")
SUM = TensorOp(
    "sum",
    lambda a, axis, keepdims: np.sum(a, axis=axis, keepdims=keepdims),
    (lambda g, out, a, axis, keepdims: _expand(g, a.shape, axis, keepdims),),
    "sum over axis; the gradient is g copied along the summed axes",
)
MEAN = TensorOp(
    "mean",
    lambda a, axis, keepdims: np.mean(a, axis=axis, keepdims=keepdims),
    (lambda g, out, a, axis, keepdims: _expand(g, a.shape, axis, keepdims) * (out.size / a.size if a.size else 0.0),),
    "mean over axis; the gradient is g / n copied along the averaged axes",
)
MAX = TensorOp(
    "max",
    lambda a, axis, keepdims: np.max(a, axis=axis, keepdims=keepdims),
    (_max_vjp,),
    "max over axis; the gradient goes to the maximal elements, split equally among ties",
)
RESHAPE = TensorOp(
    "reshape",
    lambda a, shape: np.reshape(a, shape),
    (lambda g, out, a, shape: np.reshape(g, a.shape),),
    "the same numbers in a new shape",
    view=True,
)
TRANSPOSE = TensorOp(
    "transpose",
    lambda a, axes: np.transpose(a, axes),
    (lambda g, out, a, axes: np.transpose(g, None if axes is None else np.argsort(axes)),),
    "axes permuted; the gradient is permuted back",
    view=True,
)
GETITEM = TensorOp(
    "getitem",
    lambda a, index, basic: a[index],
    (_getitem_vjp,),
    "a[index]; the gradient is scattered back, repeated indices adding up",
    view=True,
)
BROADCAST_TO = TensorOp(
    "broadcast_to",
    lambda a, shape: np.broadcast_to(a, shape),
    (lambda g, out, a, shape: unbroadcast(g, a.shape),),
    "a repeated along new or size-1 axes; the gradient is summed back over them",
    view=True,
)


def _concatenate(*arrays, axis):
    return np.concatenate(arrays, axis=axis)


def _concatenate_vjp(k):
    def vjp(g, out, *arrays, axis):
        start = sum(a.shape[axis] for a in arrays[:k])
        index = [slice(None)] * g.ndim
        index[axis] = slice(start, start + arrays[k].shape[axis])
        return g[tuple(index)]

    return vjp


class NaryTensorOp(TensorOp):
    """A primitive of any number of tensor inputs (concatenate, stack): the ``k``-th input's VJP
    is ``vjp_for(k)``."""

    def __init__(self, name, forward, vjp_for, doc=""):
        super().__init__(name, forward, (), doc)
        self.vjp_for = vjp_for
        self.vjps_by_count = {}

    def vjps_for(self, n: int) -> tuple:
        vjps = self.vjps_by_count.get(n)
        if vjps is None:
            vjps = self.vjps_by_count[n] = tuple(self.vjp_for(k) for k in range(n))
        return vjps


CONCATENATE = NaryTensorOp(
    "concatenate",
    _concatenate,
    _concatenate_vjp,
    "the inputs joined along an existing axis; each input's gradient is its slice of g",
)


def _stack_vjp(k):
    def vjp(g, out, *arrays, axis):
        return np.take(g, k, axis=axis)

    return vjp


STACK = NaryTensorOp(
    "stack",
    lambda *arrays, axis: np.stack(arrays, axis=axis),
    _stack_vjp,
    "the inputs joined along a new axis; each input's gradient is its slice of g",
)
WHERE = TensorOp(
    "where",
    lambda a, b, condition: np.where(condition, a, b),
    (
        lambda g, out, a, b, condition: np.where(condition, g, 0.0),
        lambda g, out, a, b, condition: np.where(condition, 0.0, g),
    ),
    "a where the condition holds, else b (condition a constant); d/da = 1 where it holds, d/db = 1 elsewhere",
)


# ----------------------------------------------------------------------------- neural-network primitives
# Used by ``nn``: the affine map of a layer, and losses fused into one node each (a training step
# at the seed's size is dominated by per-node overhead, not arithmetic).

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


def _reduce(terms, reduction):
    # np.add.reduce rather than np.sum / np.mean: the same pairwise sum without their Python wrappers,
    # which cost more than the arithmetic at the seed's size
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
    # the seed's -(y/q - (1-y)/(1-q)), written without the negation (the same numbers, bit for bit)
    return _reduced_grad(g, (1.0 - y) / (1.0 - q) - y / q, reduction)


def _bce_y_vjp(g, out, p, y, reduction):
    q = _clip_probability(p)
    return _reduced_grad(g, np.log(1.0 - q) - np.log(q), reduction)


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
    return _reduced_grad(g, sigmoid(z) - y, reduction)


def _log_softmax(z):
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def _cross_entropy_forward(z, labels, reduction):
    return _reduce(-_log_softmax(z)[np.arange(len(labels)), labels], reduction)


def _cross_entropy_vjp(g, out, z, labels, reduction):
    d = np.exp(_log_softmax(z))
    d[np.arange(len(labels)), labels] -= 1.0
    if reduction == "none":
        return d * g[:, None]
    return d * (g / len(labels) if reduction == "mean" else g)


def _linear_forward(x, w, b):
    out = np.matmul(x, w)
    if b.ndim and b.ndim <= out.ndim and b.size == out.shape[-1] == b.shape[-1] and b.dtype == out.dtype:
        out += b  # one bias per output unit: added in place, saving an array as large as the output
        return out
    return out + b


def _linear_b_vjp(g, out, x, w, b):
    """``g`` summed over the batch; done here for one bias per unit, ``(out,)`` or ``(1, out)``: the same
    sum as the engine's ``unbroadcast`` without its general bookkeeping (0.95 instead of 1.4 us per bias at
    the seed's size)."""
    if g.ndim == 2 and b.size == g.shape[1]:
        if b.ndim == 1:
            return np.add.reduce(g, axis=0)
        if b.ndim == 2 and b.shape[0] == 1:
            return np.add.reduce(g, axis=0, keepdims=True)
    return g


LINEAR = TensorOp(
    "linear",
    _linear_forward,
    (
        lambda g, out, x, w, b: _matmul_a_vjp(g, out, x, w),
        lambda g, out, x, w, b: _matmul_b_vjp(g, out, x, w),
        _linear_b_vjp,
    ),
    "x @ w + b (w of shape (in, out)); d/dx = g w^T, d/dw = x^T g, d/db = g summed over the batch",
)
BINARY_CROSS_ENTROPY = TensorOp(
    "binary_cross_entropy",
    _bce_forward,
    (_bce_p_vjp, _bce_y_vjp),
    "mean/sum/none of -(y ln q + (1-y) ln(1-q)), q = clip(p, eps, 1-eps), eps = 1e-15 in float64, 2^-24 in "
    "float32; d/dp = -(y/q - (1-y)/(1-q)) (/ N for the mean): the clip is not differentiated, as in the seed",
    domain=(0.1, 0.9),
)
BINARY_CROSS_ENTROPY_WITH_LOGITS = TensorOp(
    "binary_cross_entropy_with_logits",
    _bce_logits_forward,
    (_bce_logits_z_vjp, lambda g, out, z, y, reduction: _reduced_grad(g, -z, reduction)),
    "mean/sum/none of max(z,0) - z y + ln(1 + e^-|z|) = BCE(sigmoid(z), y); d/dz = sigmoid(z) - y, d/dy = -z",
)
CROSS_ENTROPY = TensorOp(
    "cross_entropy",
    _cross_entropy_forward,
    (_cross_entropy_vjp,),
    "mean/sum/none over rows of -log_softmax(z)[label] (labels a parameter); d/dz = softmax(z) - onehot(label)",
)
