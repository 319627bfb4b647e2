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

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from . import versions

if TYPE_CHECKING:
    from .tensor import Tensor

TENSOR_OPS: dict[str, TensorOp] = {}
"""Every tensor primitive by name, in declaration order."""


ELEMENTWISE_JVP: Final = "elementwise"
"""``jvp=ELEMENTWISE_JVP``: the Jacobian is diagonal (an elementwise op), so the VJP, applied to the
tangent instead of the cotangent, is the JVP: ``sum_i vjp_i(t_i)``."""

LINEAR_JVP: Final = "linear"
"""``jvp=LINEAR_JVP``: the op is linear in its inputs together, so its JVP is its forward applied to
the tangents (zeros for inputs without one)."""


class Kernels:
    """In-place versions of an op's forward and VJPs, used by compiled replays (``autograd.compile``).

    ``forward(out, *arrays, **op_args)`` writes the result into ``out``; ``vjps[i](dst, g, out,
    *arrays, **op_args)`` (or None) writes the gradient for input ``i``, already summed to that
    input's shape, into ``dst``. Both must give exactly what ``forward`` and ``vjps[i]`` (then
    ``unbroadcast``) give; a test checks every declared kernel against them. An op without kernels
    is replayed with its ordinary forward and VJPs plus a copy.

    ``reads``: what the VJP kernels read besides ``g``: ``"out"``, ``"inputs"``, both (the default)
    or neither. A replay uses it to let an elementwise output overwrite its input's buffer when
    nothing reads that input again (``sigmoid`` after ``linear``: one activation-sized array fewer).
    """

    def __init__(
        self,
        forward: Callable[..., None] | None = None,
        vjps: Iterable[Callable[..., None] | None] = (),
        reads: Iterable[str] = ("out", "inputs"),
    ) -> None:
        self.forward = forward
        self.vjps = tuple(vjps)
        self.reads = frozenset(reads)


class TensorOp:
    """A tensor primitive: ``forward``, a tuple of ``vjps`` (one per input) and its ``jvp`` rule.

    ``jvp`` is ``ELEMENTWISE_JVP``, ``LINEAR_JVP``, a function ``jvp(tangents, out, *arrays, **op_args)``
    (``tangents[i]`` is None for an input without one), or None: the JVP is then assembled from
    the VJPs, one per output element (exact, and fine for the scalar outputs of losses).

    ``view``: the forward may return a view of its first input's memory (reshape, transpose, basic
    indexing), so the two share a version counter.
    """

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        vjps: Iterable[Callable[..., Any]],
        doc: str = "",
        domain: tuple[float, float] = (-2.0, 2.0),
        view: bool = False,
        jvp: Literal["elementwise", "linear"] | Callable[..., Any] | None = None,
        register: bool = True,
        kernels: Kernels | None = None,
    ) -> None:
        if register and name in TENSOR_OPS:
            raise ValueError(f"tensor op {name!r} is already declared")
        self.name = name
        self.forward = forward
        self.vjps = tuple(vjps)
        self.doc = doc
        self.domain = domain  # where the derivative is smooth: tools sample inputs from here
        self.view = view
        self.jvp = jvp
        self.kernels = kernels
        if register:
            TENSOR_OPS[name] = self

    def __repr__(self):
        return f"<tensor op {self.name}>"

    def __str__(self):
        return self.name

    @property
    def arity(self) -> int | None:
        """The number of tensor inputs (``None`` for any number)."""
        return len(self.vjps) if self.vjps else None

    def vjps_for(self, n: int) -> tuple:
        """The VJPs of a node with ``n`` tensor inputs."""
        return self.vjps

    def tangent(self, tangents: list | tuple, out: np.ndarray, arrays: list | tuple, op_args: dict) -> np.ndarray:
        """Forward mode: ``d out`` for input tangents ``tangents`` (None where an input has none)."""
        rule = self.jvp
        if rule == ELEMENTWISE_JVP:
            total: Any = None
            for vjp, t in zip(self.vjps_for(len(arrays)), tangents):
                if t is not None:
                    c = vjp(t, out, *arrays, **op_args)
                    total = c if total is None else total + c
            return np.array(np.broadcast_to(total, out.shape), dtype=out.dtype)
        if rule == LINEAR_JVP:
            filled = [np.zeros(a.shape, dtype=out.dtype) if t is None else t for a, t in zip(arrays, tangents)]
            return np.array(self.forward(*filled, **op_args), dtype=out.dtype)
        if rule is not None:
            return np.asarray(rule(tangents, out, *arrays, **op_args), dtype=out.dtype)
        return self.tangent_from_vjps(tangents, out, arrays, op_args)

    def tangent_from_vjps(
        self, tangents: list | tuple, out: np.ndarray, arrays: list | tuple, op_args: dict
    ) -> np.ndarray:
        """``J t`` without a JVP rule: element k of the result is ``sum_i <vjp_i(e_k), t_i>``."""
        result = np.zeros(out.shape, dtype=out.dtype)
        vjps = self.vjps_for(len(arrays))
        for k in np.ndindex(out.shape):
            e = np.zeros(out.shape, dtype=out.dtype)
            e[k] = 1.0
            for vjp, a, t in zip(vjps, arrays, tangents):
                if t is not None:
                    result[k] += np.sum(unbroadcast(np.asarray(vjp(e, out, *arrays, **op_args)), a.shape) * t)
        return result

    def __call__(self, *inputs: Any, **op_args: Any) -> Any:
        """The op on arrays (its forward: no graph) or, when an input is a Tensor, as a recorded node.

        This is how a VJP written once runs both ways: on arrays in an ordinary backward pass, on
        Tensors (recording the backward pass itself) under ``create_graph=True``.
        """
        for x in inputs:
            if type(x) is not np.ndarray:
                from .tensor import apply_to

                return apply_to(self, inputs, op_args)
        return self.forward(*inputs, **op_args)

    def parents(self, node: Tensor) -> tuple[Tensor, ...]:
        return node.parents

    def label(self, node: Tensor) -> str:
        op_args = node.op_args
        if not op_args:
            return self.name
        shown = ", ".join(f"{k}={_short(v)}" for k, v in op_args.items())
        return f"{self.name}({shown})"

    def input_grads(self, node: Tensor) -> tuple:
        """What ``node`` sends each parent given ``node.grad``: ``vjp`` summed back to the parent's shape,
        or ``None`` for a parent that needs no gradient. ``backprop`` adds exactly these."""
        g = node.grad
        parents = node.parents
        if g is None:
            return (None,) * len(parents)
        if node._epoch != versions.EPOCH:
            versions.check_unchanged(node)
        arrays = [p.data for p in parents]
        op_args: dict[str, Any] = node.op_args  # type: ignore[assignment]  # a dict on every node an op made
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

    def backprop_graph(self, node: Tensor) -> None:
        """``backprop`` with recorded operations: the VJPs run on the node and its parents as Tensors,
        so each gradient sent is itself a node (``create_graph=True``)."""
        g = node.grad
        if g is None:
            return
        if node._epoch != versions.EPOCH:
            versions.check_unchanged(node)
        parents = node.parents
        op_args: dict[str, Any] = node.op_args  # type: ignore[assignment]  # a dict on every node an op made
        for vjp, parent in zip(self.vjps_for(len(parents)), parents):
            if parent.requires_grad:
                gi = vjp(g, node, *parents, **op_args)
                if gi.shape != parent.data.shape:
                    gi = unbroadcast(gi, parent.data.shape)
                parent.accumulate_grad(gi)

    def backprop(self, node: Tensor) -> None:
        """Add ``input_grads(node)`` into the parents' ``grad`` (the same loop inlined: it runs for every
        node of every backward pass; a test checks the two agree)."""
        g = node.grad
        if g is None:
            return
        if node._epoch != versions.EPOCH:
            versions.check_unchanged(node)
        parents = node.parents
        arrays = [p.data for p in parents]
        op_args: dict[str, Any] = node.op_args  # type: ignore[assignment]  # a dict on every node an op made
        out = node.data
        for vjp, parent in zip(self.vjps or self.vjps_for(len(parents)), parents):
            if parent.requires_grad:
                gi = vjp(g, out, *arrays, **op_args)
                if gi.shape != parent.data.shape:
                    gi = unbroadcast(gi, parent.data.shape)
                # a vjp returns a new array, g itself or a view of g: only the latter two are shared
                parent.accumulate_grad(gi, gi is g or gi.base is not None)


def _short(v):
    text = repr(v)
    return text if len(text) <= 24 else text[:21] + "..."


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
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


def sigmoid(x):
    """``1 / (1 + e^-x)`` for a float array. Far below 0 (``-x`` beyond 709.78 in float64, 88.72 in
    float32) ``e^-x`` is infinite and the result exactly 0, as in PyTorch (the engine computes with
    numpy's warnings off)."""
    e = np.negative(x, out=np.empty_like(x))  # an array even when x is 0-d
    np.exp(e, out=e)
    e += 1.0
    return np.reciprocal(e, out=e)


def masked(g, keep):
    """``g`` where ``keep`` holds and exactly 0 elsewhere, also where ``g`` is infinite or NaN (a
    structural zero of the chain rule). Equal to ``np.where(keep, g, 0)``; on arrays computed as
    ``g * keep`` with the rare non-finite products put right, because numpy's ``where`` is 4-5x
    slower with a mask of mixed signs (240 against 50 us for 65,536 elements)."""
    if type(g) is np.ndarray and type(keep) is np.ndarray:
        product = g * keep
        if not np.isfinite(product).all():
            product[~np.broadcast_to(keep, product.shape)] = 0.0
        return product
    return np.where(keep, g, 0.0)


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
    """Ties share the gradient equally (as ``torch.amax``); exactly 0 for the other elements. Also
    min's: ``a == out`` marks the extreme elements either way."""
    peak = out if keepdims else _expand(out, a.shape, axis, False)
    nan_peak = np.isnan(peak)  # a NaN among the inputs: the gradient says so instead of hiding it as 0
    mask = (a == peak) | nan_peak
    count = mask.sum(axis=axis, keepdims=True)
    return np.where(mask, np.where(nan_peak, np.nan, _expand(g, a.shape, axis, keepdims) / count), 0.0)


def _max_jvp(tangents, out, a, axis, keepdims):
    """The tangents of the maximal (or, for min, minimal) elements, averaged over ties."""
    (t,) = tangents
    weights = _max_vjp(np.ones(out.shape, dtype=out.dtype), out, a, axis, keepdims)
    return np.sum(weights * t, axis=axis, keepdims=keepdims)


OUTER_EINSUM_MIN = 4096
"""Outer products with at least this many elements go through ``einsum`` (see ``matmul_2d``)."""


def matmul_2d(a, b, out=None):
    """``a @ b`` for 2-D arrays. When the shared dimension is 1 (an outer product, as ``g @ w.T`` for a
    layer with one output) and the result is large, through ``einsum``: the same single products, so
    the same bits, 2-3x faster than ``matmul`` there (14 against 37 us for 256 x 128)."""
    if a.shape[-1] != 1 or a.shape[0] * b.shape[-1] < OUTER_EINSUM_MIN:
        return np.matmul(a, b, out=out)
    if type(a) is np.ndarray and type(b) is np.ndarray and a.dtype == b.dtype and (out is None or out.dtype == a.dtype):
        return np.einsum("ik,kj->ij", a, b, out=out)
    return np.matmul(a, b, out=out)


def _matmul_jvp(tangents, out, a, b):
    """``ta @ b + a @ tb`` (the product rule)."""
    ta, tb = tangents
    result = np.zeros(out.shape, dtype=out.dtype)
    if ta is not None:
        result = result + np.matmul(ta, b)
    if tb is not None:
        result = result + np.matmul(a, tb)
    return result


def _matmul_a_vjp(g, out, a, b):
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return np.multiply.outer(g, b) if g.ndim else g * b
    if a.ndim == 1:
        return (g[..., None, :] @ b.swapaxes(-1, -2))[..., 0, :]
    if b.shape[-1] == 1 and g.ndim == 2 and b.ndim == 2 and g.shape[0] * b.shape[0] >= OUTER_EINSUM_MIN:
        return matmul_2d(g, b.T)  # a large outer product
    return g @ b.swapaxes(-1, -2)


def _matmul_b_vjp(g, out, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return a[:, None] * g[..., None, :]
    if b.ndim == 1:
        return (a.swapaxes(-1, -2) @ g[..., None])[..., 0]
    return a.swapaxes(-1, -2) @ g


def _scatter(g, shape, index, basic):
    grad = np.zeros(shape, dtype=g.dtype)
    if basic:
        grad[index] = g
    else:
        np.add.at(grad, index, g)  # a repeated index receives the sum of its gradients
    return grad


# ----------------------------------------------------------------------------- in-place kernels


def sum_to(dst, g):
    """``unbroadcast(g, dst.shape)`` written into ``dst`` without a temporary."""
    if g.shape == dst.shape:
        np.copyto(dst, g)
        return dst
    extra = g.ndim - dst.ndim
    target = dst.reshape((1,) * extra + dst.shape)
    axes = tuple(i for i in range(g.ndim) if target.shape[i] == 1 and g.shape[i] != 1)
    if axes:
        np.sum(g, axis=axes, keepdims=True, out=target)
    else:
        np.copyto(target, g)
    return dst


def _same_shape(dst, g, compute):
    """``compute(dst)`` where ``dst`` has the output's shape, else the general path with a temporary."""
    if dst.shape == g.shape:
        compute(dst)
    else:
        tmp = np.empty(g.shape, dtype=dst.dtype)
        compute(tmp)
        sum_to(dst, tmp)


def _elementwise(ufunc):
    return lambda out, *arrays: ufunc(*arrays, out=out)


def _copy_kernel(dst, g, out, a, b):
    sum_to(dst, g)


def _negated_kernel(dst, g, out, a, b):
    sum_to(dst, g)
    np.negative(dst, out=dst)


def _mul_kernel(which):
    def kernel(dst, g, out, a, b):
        other = b if which == 0 else a
        _same_shape(dst, g, lambda t: np.multiply(g, other, out=t))

    return kernel


def _div_a_kernel(dst, g, out, a, b):
    _same_shape(dst, g, lambda t: np.divide(g, b, out=t))


def _div_b_kernel(dst, g, out, a, b):
    def compute(t):
        np.multiply(g, out, out=t)
        np.divide(t, b, out=t)
        np.negative(t, out=t)

    _same_shape(dst, g, compute)


def _sigmoid_into(out, a):
    np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)


def _sigmoid_vjp_into(dst, g, out, a):
    np.subtract(1.0, out, out=dst)
    dst *= out
    dst *= g


def _tanh_vjp_into(dst, g, out, a):
    np.multiply(out, out, out=dst)
    np.subtract(1.0, dst, out=dst)
    dst *= g


def _reduction_into(reduce):
    return lambda out, a, axis, keepdims: reduce(a, axis=axis, keepdims=keepdims, out=out)


def _sum_vjp_into(dst, g, out, a, axis, keepdims):
    np.copyto(dst, _expand(g, a.shape, axis, keepdims))


def _mean_vjp_into(dst, g, out, a, axis, keepdims):
    np.copyto(dst, _expand(g, a.shape, axis, keepdims))
    if a.size:
        dst *= out.size / a.size


def _matmul_into(out, a, b):
    np.matmul(a, b, out=out)


def _matmul_a_into(dst, g, out, a, b):
    if a.ndim == 2 and b.ndim == 2:
        matmul_2d(g, b.T, out=dst)
    else:
        sum_to(dst, _matmul_a_vjp(g, out, a, b))


def _matmul_b_into(dst, g, out, a, b):
    if a.ndim == 2 and b.ndim == 2:
        np.matmul(a.T, g, out=dst)
    else:
        sum_to(dst, _matmul_b_vjp(g, out, a, b))


# ----------------------------------------------------------------------------- the table

ADD = TensorOp(
    "add",
    np.add,
    (lambda g, out, a, b: g, lambda g, out, a, b: g),
    "a + b",
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_elementwise(np.add), (_copy_kernel, _copy_kernel)),
)
SUB = TensorOp(
    "sub",
    np.subtract,
    (lambda g, out, a, b: g, lambda g, out, a, b: -g),
    "a - b",
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_elementwise(np.subtract), (_copy_kernel, _negated_kernel)),
)
MUL = TensorOp(
    "mul",
    np.multiply,
    (lambda g, out, a, b: g * b, lambda g, out, a, b: g * a),
    "a * b; d/da = b, d/db = a",
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_elementwise(np.multiply), (_mul_kernel(0), _mul_kernel(1))),
)
DIV = TensorOp(
    "div",
    np.divide,
    (lambda g, out, a, b: g / b, lambda g, out, a, b: -g * out / b),
    "a / b; d/da = 1/b, d/db = -a/b^2",
    domain=(0.5, 2.0),
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_elementwise(np.divide), (_div_a_kernel, _div_b_kernel)),
)
POW = TensorOp(
    "pow",
    np.power,
    (_pow_base_vjp, _pow_exponent_vjp),
    "a ** b; d/da = b a^(b-1) (0 where b = 0), d/db = a^b ln a (0 where a = 0 <= b)",
    domain=(0.5, 2.0),
    jvp=ELEMENTWISE_JVP,
)
POW_CONST = TensorOp(
    "pow_const",
    lambda a, exponent: np.power(a, exponent),
    (_pow_const_vjp,),
    "a ** c for a number c; d/da = c a^(c-1)",
    domain=(0.5, 2.0),
    jvp=ELEMENTWISE_JVP,
)
NEG = TensorOp(
    "neg",
    np.negative,
    (lambda g, out, a: -g,),
    "-a",
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_elementwise(np.negative), (lambda dst, g, out, a: np.negative(g, out=dst),)),
)
MATMUL = TensorOp(
    "matmul",
    np.matmul,
    (_matmul_a_vjp, _matmul_b_vjp),
    "a @ b, 1-D, 2-D and batched as numpy; d/da = g b^T, d/db = a^T g",
    jvp=_matmul_jvp,
    kernels=Kernels(_matmul_into, (_matmul_a_into, _matmul_b_into)),
)
EXP = TensorOp(
    "exp",
    np.exp,
    (lambda g, out, a: g * out,),
    "e^a; d/da = e^a",
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_elementwise(np.exp), (lambda dst, g, out, a: np.multiply(g, out, out=dst),), reads=("out",)),
)
LOG = TensorOp(
    "log",
    np.log,
    (lambda g, out, a: g / a,),
    "ln a; d/da = 1/a",
    domain=(0.2, 3.0),
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_elementwise(np.log), (lambda dst, g, out, a: np.divide(g, a, out=dst),)),
)
TANH = TensorOp(
    "tanh",
    np.tanh,
    (lambda g, out, a: g * (1.0 - out * out),),
    "d/da tanh a = 1 - tanh(a)^2",
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_elementwise(np.tanh), (_tanh_vjp_into,), reads=("out",)),
)


def _sigmoid_vjp(g, out, a):
    """``g s (1 - s)``, with one new array instead of three."""
    r = np.subtract(1.0, out)
    r *= out
    r *= g
    return r


SIGMOID = TensorOp(
    "sigmoid",
    sigmoid,
    (_sigmoid_vjp,),
    "s(a) = 1 / (1 + e^-a); d/da = s (1 - s)",
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(_sigmoid_into, (_sigmoid_vjp_into,), reads=("out",)),
)
RELU = TensorOp(
    "relu",
    lambda a: np.maximum(a, 0.0),  # NaN stays NaN, and -0.0 stays -0.0, as torch
    (lambda g, out, a: masked(g, ~(a <= 0)),),
    "max(0, a); d/da = 1 where a > 0 (and at NaN, as torch), else 0 (0 at the kink)",
    jvp=ELEMENTWISE_JVP,
    kernels=Kernels(lambda out, a: np.maximum(a, 0.0, out=out)),
)
SQRT = TensorOp(
    "sqrt",
    np.sqrt,
    (lambda g, out, a: g * 0.5 / out,),
    "sqrt a; d/da = 1 / (2 sqrt a)",
    domain=(0.2, 3.0),
    jvp=ELEMENTWISE_JVP,
)
ABS = TensorOp(
    "abs",
    np.abs,
    (lambda g, out, a: g * np.where(np.isnan(a), 0.0, np.sign(a)),),
    "|a|; d/da = sign(a) (0 at 0, and at NaN as torch.sign)",
    jvp=ELEMENTWISE_JVP,
)
SUM = TensorOp(
    "sum",
    lambda a, axis, keepdims: np.sum(a, axis=axis, keepdims=keepdims),
    (lambda g, out, a, axis, keepdims: _expand(g, a.shape, axis, keepdims),),
    "sum over axis; the gradient is g copied along the summed axes",
    jvp=LINEAR_JVP,
    kernels=Kernels(_reduction_into(np.sum), (_sum_vjp_into,)),
)
MEAN = TensorOp(
    "mean",
    lambda a, axis, keepdims: np.mean(a, axis=axis, keepdims=keepdims),
    (lambda g, out, a, axis, keepdims: _expand(g, a.shape, axis, keepdims) * (out.size / a.size if a.size else 0.0),),
    "mean over axis; the gradient is g / n copied along the averaged axes",
    jvp=LINEAR_JVP,
    kernels=Kernels(_reduction_into(np.mean), (_mean_vjp_into,)),
)
MAX = TensorOp(
    "max",
    lambda a, axis, keepdims: np.max(a, axis=axis, keepdims=keepdims),
    (_max_vjp,),
    "max over axis; the gradient goes to the maximal elements, split equally among ties",
    jvp=_max_jvp,
)
RESHAPE = TensorOp(
    "reshape",
    lambda a, shape: np.reshape(a, shape),
    (lambda g, out, a, shape: np.reshape(g, a.shape),),
    "the same numbers in a new shape",
    view=True,
    jvp=LINEAR_JVP,
)
TRANSPOSE = TensorOp(
    "transpose",
    lambda a, axes: np.transpose(a, axes),
    (lambda g, out, a, axes: np.transpose(g, None if axes is None else np.argsort(axes)),),
    "axes permuted; the gradient is permuted back",
    view=True,
    jvp=LINEAR_JVP,
)
SCATTER: TensorOp  # declared below, after the ops whose VJPs call it
GETITEM = TensorOp(
    "getitem",
    lambda a, index, basic: a[index],
    (lambda g, out, a, index, basic: SCATTER(g, shape=a.shape, index=index, basic=basic),),
    "a[index]; the gradient is scattered back, repeated indices adding up",
    view=True,
    jvp=LINEAR_JVP,
)
SCATTER = TensorOp(
    "scatter",
    _scatter,
    (lambda g, out, a, shape, index, basic: GETITEM(g, index=index, basic=basic),),
    "zeros of `shape` with a added at [index] (repeated indices add up): the transpose of getitem",
    jvp=LINEAR_JVP,
)
BROADCAST_TO = TensorOp(
    "broadcast_to",
    lambda a, shape: np.broadcast_to(a, shape),
    (lambda g, out, a, shape: unbroadcast(g, a.shape),),
    "a repeated along new or size-1 axes; the gradient is summed back over them",
    view=True,
    jvp=LINEAR_JVP,
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

    def __init__(
        self, name: str, forward: Callable[..., Any], vjp_for: Callable[[int], Callable[..., Any]], doc: str = ""
    ) -> None:
        super().__init__(name, forward, (), doc, jvp=LINEAR_JVP)
        self.vjp_for = vjp_for
        self.vjps_by_count: dict[int, tuple] = {}

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
        return g[(slice(None),) * axis + (k,)]

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
    jvp=ELEMENTWISE_JVP,
)


def _maximum_vjp(g, out, a, b):
    """``g`` where ``a > b``, half of it where they tie (as PyTorch), 0 where ``a < b``."""
    return np.where(a > b, g, np.where(a == b, g * 0.5, 0.0))


MAXIMUM = TensorOp(
    "maximum",
    np.maximum,
    (_maximum_vjp, lambda g, out, a, b: _maximum_vjp(g, out, b, a)),
    "elementwise max(a, b); d/da = 1 where a > b, 1/2 where a = b, else 0",
    jvp=ELEMENTWISE_JVP,
)
MINIMUM = TensorOp(
    "minimum",
    np.minimum,
    (lambda g, out, a, b: _maximum_vjp(g, out, b, a), _maximum_vjp),
    "elementwise min(a, b); d/da = 1 where a < b, 1/2 where a = b, else 0",
    jvp=ELEMENTWISE_JVP,
)


# ----------------------------------------------------------------------------- softmax, more reductions and shapes


def _reduced_count(shape, axis) -> int:
    """How many elements a reduction over (normalised) ``axis`` combines into each result."""
    axes = range(len(shape)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    return math.prod(shape[d] for d in axes)


def _softmax_forward(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True, initial=-np.inf))
    return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_vjp(g, out, a, axis):
    """``s (g - sum(g s))``, summed over ``axis``."""
    return out * (g - np.sum(g * out, axis=axis, keepdims=True))


def _log_softmax_forward(a, axis):
    shifted = a - np.max(a, axis=axis, keepdims=True, initial=-np.inf)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _logsumexp_forward(a, axis, keepdims):
    # The shift m is the max, or 0 where the max is infinite, so that a row of -inf gives ln 0 = -inf
    # and a +inf gives +inf (as torch) rather than inf - inf = NaN; initial=-inf lets an empty axis
    # reduce (to ln 0 = -inf, as torch).
    m = np.max(a, axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis)


def _logsumexp_weights(out, a, axis, keepdims):
    """``e^(a - lse(a))``, the softmax of ``a``: d lse / d a."""
    return np.exp(a - _expand(out, a.shape, axis, keepdims))


def _logsumexp_jvp(tangents, out, a, axis, keepdims):
    (t,) = tangents
    return np.sum(_logsumexp_weights(out, a, axis, keepdims) * t, axis=axis, keepdims=keepdims)


def _var_vjp(g, out, a, axis, keepdims, ddof):
    """``g 2 (a - mean) / (N - ddof)`` with g copied along the reduced axes."""
    scale = 2.0 / (_reduced_count(a.shape, axis) - ddof)
    return _expand(g, a.shape, axis, keepdims) * ((a - np.mean(a, axis=axis, keepdims=True)) * scale)


def _var_jvp(tangents, out, a, axis, keepdims, ddof):
    (t,) = tangents
    scale = 2.0 / (_reduced_count(a.shape, axis) - ddof)
    return np.sum((a - np.mean(a, axis=axis, keepdims=True)) * t, axis=axis, keepdims=keepdims) * scale


def _over_twice_std(x, out):
    """``x / (2 std)``, and exactly 0 where ``std = 0`` (as torch): every element of such a group
    equals the mean, so var's derivative there is 0 already. The inner ``where`` keeps the division
    away from 0, so no NaN reaches a second derivative either."""
    zero = out == 0
    return np.where(zero, 0.0, x / np.where(zero, 1.0, out + out))


def _inside(a, low, high):
    """Where ``low <= a <= high`` (a bound of None does not limit): the gradient passes there, at a
    bound too, as ``torch.clamp``."""
    if low is None:
        return a <= high
    if high is None:
        return a >= low
    return (a >= low) & (a <= high)


def _flatten_forward(a, start_dim, end_dim):
    shape = a.shape
    if not shape:
        return np.reshape(a, (1,))
    return np.reshape(a, shape[:start_dim] + (math.prod(shape[start_dim : end_dim + 1]),) + shape[end_dim + 1 :])


def _along(axis, start, stop):
    """The index of positions ``start:stop`` along ``axis``."""
    return (slice(None),) * axis + (slice(start, stop),)


SOFTMAX = TensorOp(
    "softmax",
    _softmax_forward,
    (_softmax_vjp,),
    "s = e^a / sum e^a over axis (computed from a - max); d/da = s (g - sum(g s)) (symmetric: also its JVP)",
    jvp=lambda tangents, out, a, axis: _softmax_vjp(tangents[0], out, a, axis),
)
LOG_SOFTMAX = TensorOp(
    "log_softmax",
    _log_softmax_forward,
    (lambda g, out, a, axis: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),),
    "a - ln sum e^a over axis (computed from a - max); d/da = g - softmax(a) sum(g)",
    jvp=lambda tangents, out, a, axis: tangents[0] - np.sum(np.exp(out) * tangents[0], axis=axis, keepdims=True),
)
LOGSUMEXP = TensorOp(
    "logsumexp",
    _logsumexp_forward,
    (
        lambda g, out, a, axis, keepdims: (
            _expand(g, a.shape, axis, keepdims) * _logsumexp_weights(out, a, axis, keepdims)
        ),
    ),
    "ln sum e^a over axis (computed from a - max); d/da = g softmax(a)",
    jvp=_logsumexp_jvp,
)
MIN = TensorOp(
    "min",
    lambda a, axis, keepdims: np.min(a, axis=axis, keepdims=keepdims),
    (_max_vjp,),
    "min over axis; the gradient goes to the minimal elements, split equally among ties",
    jvp=_max_jvp,
)
VAR = TensorOp(
    "var",
    lambda a, axis, keepdims, ddof: np.var(a, axis=axis, keepdims=keepdims, ddof=ddof),
    (_var_vjp,),
    "sum (a - mean)^2 / (N - ddof) over axis; d/da = 2 (a - mean) / (N - ddof)",
    jvp=_var_jvp,
)
STD = TensorOp(
    "std",
    lambda a, axis, keepdims, ddof: np.std(a, axis=axis, keepdims=keepdims, ddof=ddof),
    (lambda g, out, a, axis, keepdims, ddof: _var_vjp(_over_twice_std(g, out), out, a, axis, keepdims, ddof),),
    "sqrt(var); d/da = (a - mean) / ((N - ddof) std), 0 where std = 0 (as torch)",
    jvp=lambda tangents, out, a, axis, keepdims, ddof: _over_twice_std(
        _var_jvp(tangents, out, a, axis, keepdims, ddof), out
    ),
)
CLIP = TensorOp(
    "clip",
    lambda a, low, high: np.clip(a, low, high),
    (lambda g, out, a, low, high: np.where(_inside(a, low, high), g, 0.0),),
    "min(max(a, low), high), the bounds constants; d/da = 1 where low <= a <= high, else 0 (torch.clamp)",
    jvp=ELEMENTWISE_JVP,
)
SQUEEZE = TensorOp(
    "squeeze",
    lambda a, axis: np.squeeze(a, axis),
    (lambda g, out, a, axis: np.reshape(g, a.shape),),
    "a without its length-1 axes `axis`; the gradient is reshaped back",
    view=True,
    jvp=LINEAR_JVP,
)
EXPAND_DIMS = TensorOp(
    "expand_dims",
    lambda a, axis: np.expand_dims(a, axis),
    (lambda g, out, a, axis: np.reshape(g, a.shape),),
    "a with new length-1 axes at `axis` (torch's unsqueeze); the gradient is reshaped back",
    view=True,
    jvp=LINEAR_JVP,
)
FLATTEN = TensorOp(
    "flatten",
    _flatten_forward,
    (lambda g, out, a, start_dim, end_dim: np.reshape(g, a.shape),),
    "axes start_dim..end_dim merged into one (torch.flatten; a 0-d a becomes 1-D); the gradient is reshaped back",
    view=True,
    jvp=LINEAR_JVP,
)
SPLIT = TensorOp(
    "split",
    lambda a, axis, start, stop: a[_along(axis, start, stop)],
    (lambda g, out, a, axis, start, stop: SCATTER(g, shape=a.shape, index=_along(axis, start, stop), basic=True),),
    "one piece of a split, a[start:stop] along axis (a view); the gradient is g placed into zeros of a's shape",
    view=True,
    jvp=LINEAR_JVP,
)
CAST = TensorOp(
    "cast",
    lambda a, dtype: a.astype(dtype),
    (lambda g, out, a, dtype: g.astype(a.dtype),),
    "a in another float type (astype, float(), double()); the gradient is cast back to a's type",
    jvp=LINEAR_JVP,
)
