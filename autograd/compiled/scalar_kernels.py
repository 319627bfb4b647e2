"""The scalar primitives on numpy arrays, one element per node: what the compiled replay of a Value
graph (``scalar.py``) computes a level of nodes with.

A kernel gives ``forward(*inputs)`` and ``derivatives(out, *inputs)``: for each Value input, the
local derivative and a mask of structural zeros (where the eager walk sends nothing, so an infinite
gradient from above stops there) or None. ``inputs`` are the Value inputs, then the node's
constant for a ``ConstantOp``. Kernels are found by ``op.name`` and the shape of the op (unary,
with a constant, binary, n-ary), and used only after ``agrees(op)`` has compared one with the op's
own ``forward`` and ``derivatives`` at sample points; an op without an agreeing kernel is computed
node by node with its own rules (``per_node_forward``, ``per_node_derivatives``): slower, never
wrong.

``exact`` kernels do the IEEE operations the Python rules do and give the same bits. The others
call numpy's ``exp``, ``log``, ``tanh``, ``power``, which can differ from Python's ``math`` in the
last bit; where one gives inf or NaN the replay asks the op's own rule for that node instead, so
that eager's errors (``log`` of a negative number, ``exp`` overflow) are raised as eagerly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import scalar_ops as sops

UNARY, CONSTANT, BINARY, NARY = "unary", "constant", "binary", "nary"


def shape_of(op) -> str | None:
    """How a node of ``op`` keeps its inputs, or None for a node made the micrograd way."""
    if isinstance(op, sops.ConstantOp):
        return CONSTANT
    if isinstance(op, sops.UnaryOp):
        return UNARY
    if isinstance(op, sops.BinaryOp):
        return BINARY
    if isinstance(op, sops.NaryOp):
        return NARY
    return None


@dataclass(frozen=True)
class Kernel:
    name: str
    shape: str
    forward: Callable
    derivatives: Callable
    exact: bool


def _plain(d):
    return (d, None)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_or(base, zero, negative):
    """``log(base)`` where base > 0, else ``zero`` or ``negative`` (the exponent rule's cases)."""
    positive = base > 0
    logs = np.log(np.where(positive, base, 1.0))
    return np.where(positive, logs, np.where(base == 0, zero, negative))


def _power_rule(x, c):
    """``c x^(c-1)``, a structural zero where ``c = 0`` (``scalar_ops.power_rule``)."""
    zero = np.broadcast_to(c == 0, np.shape(x))
    return (c * np.power(x, c - 1.0), zero)


BCE_EPS = 1e-15
"""The clip of nn's binary cross-entropy on Values, ``q = clip(p, eps, 1 - eps)``. Kept here because
the op may live outside the engine (``autograd`` does not import ``nn``); ``agrees`` compares this
kernel with the op's own rule at p = 0 and p = 1, so a different clip means the op's own rule is used."""


def _clipped(p):
    return np.minimum(np.maximum(p, BCE_EPS), 1.0 - BCE_EPS)


def _bce(p, y):
    q = _clipped(p)
    return -(y * np.log(q) + (1.0 - y) * np.log(1.0 - q))


def _bce_derivative(p, y):
    q = _clipped(p)
    return -(y / q - (1.0 - y) / (1.0 - q))


KERNELS = {
    (k.name, k.shape): k
    for k in (
        Kernel("add", BINARY, lambda a, b: a + b, lambda out, a, b: (_plain(1.0), _plain(1.0)), True),
        Kernel("mul", BINARY, lambda a, b: a * b, lambda out, a, b: (_plain(b), _plain(a)), True),
        Kernel("add_const", CONSTANT, lambda x, c: x + c, lambda out, x, c: (_plain(1.0),), True),
        Kernel("mul_const", CONSTANT, lambda x, c: x * c, lambda out, x, c: (_plain(c),), True),
        Kernel(
            "relu",
            UNARY,
            lambda x: np.where(x <= 0, 0.0, x),
            lambda out, x: ((1.0, x <= 0),),
            True,
        ),
        Kernel("exp", UNARY, np.exp, lambda out, x: (_plain(out),), False),
        Kernel("log", UNARY, np.log, lambda out, x: (_plain(1.0 / x),), False),
        Kernel("tanh", UNARY, np.tanh, lambda out, x: (_plain(1.0 - out * out),), False),
        Kernel("sigmoid", UNARY, _sigmoid, lambda out, x: (_plain(out * (1.0 - out)),), False),
        Kernel("pow_const", CONSTANT, np.power, lambda out, x, c: (_power_rule(x, c),), False),
        Kernel(
            "rpow_const",
            CONSTANT,
            lambda x, c: np.power(c, x),
            lambda out, x, c: (_plain(out * _log_or(c, 0.0, math.nan)),),
            False,
        ),
        Kernel(
            "pow",
            BINARY,
            np.power,
            lambda out, a, b: (_power_rule(a, b), _plain(out * _log_or(a, 0.0, math.nan))),
            False,
        ),
        Kernel(
            "binary_cross_entropy",
            CONSTANT,
            _bce,
            lambda out, p, y: (_plain(_bce_derivative(p, y)),),
            False,
        ),
    )
}
"""Kernels by ``(op.name, shape)``. ``add``, ``add_const``, ``mul``, ``mul_const`` and ``weighted_sum``
are also what the replay folds into sums of products (see ``FOLDABLE``)."""

FOLDABLE = {("add", BINARY), ("add_const", CONSTANT), ("mul", BINARY), ("mul_const", CONSTANT), ("weighted_sum", NARY)}
"""Ops the replay computes as sums of products: ``a + b``, ``x + c``, ``a * b``, ``x * c`` and
``b + sum_i w_i x_i`` (parents ``w_1..w_n, x_1..x_n, b``), once ``agrees`` has checked them."""


def weighted_sum_forward(*inputs):
    n = len(inputs) >> 1
    acc = inputs[-1]
    for w, x in zip(inputs[:n], inputs[n:-1]):
        acc = acc + w * x
    return acc


def weighted_sum_derivatives(out, *inputs):
    n = len(inputs) >> 1
    return tuple(_plain(d) for d in (*inputs[n:-1], *inputs[:n], 1.0))


WEIGHTED_SUM = Kernel("weighted_sum", NARY, weighted_sum_forward, weighted_sum_derivatives, True)


def kernel_for(op: sops.ScalarOp) -> Kernel | None:
    """The vectorised kernel of ``op``, if there is one and it agrees with the op's own rules."""
    shape = shape_of(op)
    if shape is None:
        return None
    kernel = WEIGHTED_SUM if (op.name, shape) == ("weighted_sum", NARY) else KERNELS.get((op.name, shape))
    if kernel is None or not agrees(op, kernel):
        return None
    return kernel


# ---------------------------------------------------------------------- checking a kernel against its op

_AGREES: dict = {}  # id(op) -> (op, verdict); the op is kept so that its id stays its own

_PROBE_CONSTANTS = (2.0, -1.0, 0.5, 3.0, 0.0, 1.5, -2.0, 0.25)


def agrees(op, kernel) -> bool:
    """Whether ``kernel`` computes what ``op``'s own ``forward`` and ``derivatives`` compute at sample
    points of the op's domain (bit for bit for an exact kernel, to 1e-12 relative otherwise)."""
    known = _AGREES.get(id(op))
    if known is not None and known[0] is op:
        return known[1]
    try:
        verdict = _probe(op, kernel)
    except Exception:  # a rule that fails on arrays or at a sample point: compute node by node
        verdict = False
    _AGREES[id(op)] = (op, verdict)
    return verdict


def _probe_points(op, kernel, rng) -> list:
    low, high = getattr(op, "domain", (-2.0, 2.0))
    xs = rng.uniform(low, high, 8).tolist() + [low, high, 0.5 * (low + high)]  # Python floats, as eager's
    if kernel.name == "relu":
        xs += [0.0, -0.0, -1.0, 2.0]
    if kernel.name == "binary_cross_entropy":
        xs += [0.0, 1e-20, 1.0, 1.0 - 1e-17]
    if kernel.shape == UNARY:
        return [(x,) for x in xs]
    if kernel.shape == CONSTANT:
        if kernel.name == "binary_cross_entropy":
            return [(x, y) for x in xs for y in (0.0, 0.3, 1.0)]
        if kernel.name == "rpow_const":
            return [(x, c) for x in xs for c in (2.0, 0.5, math.e, 0.0) if not (c == 0.0 and x < 0)]
        return [(x, c) for x in xs for c in _PROBE_CONSTANTS]
    if kernel.shape == BINARY:
        return [(a, b) for a in xs[:6] for b in xs[:6]]
    n = 3  # weighted_sum: w_1..w_3, x_1..x_3, b
    return [tuple(rng.uniform(low, high, 2 * n + 1).tolist()) for _ in range(8)]


def _probe(op, kernel) -> bool:
    rng = np.random.default_rng(0)
    points = []
    for args in _probe_points(op, kernel, rng):
        try:
            out = op.forward(*args)
            ds = op.derivatives(out, *args)
        except (ArithmeticError, ValueError):
            continue  # outside the op's domain: the replay asks the op itself there
        points.append((args, out, ds))
    if not points:
        return False
    columns = [np.array(c, dtype=float) for c in zip(*[args for args, _, _ in points])]
    expected = np.array([out for _, out, _ in points], dtype=float)
    out = np.asarray(kernel.forward(*columns), dtype=float)
    if not _same(out, expected, kernel.exact):
        return False
    derivatives = kernel.derivatives(expected, *columns)
    for k, (d, zero) in enumerate(derivatives):
        d = np.broadcast_to(np.asarray(d, dtype=float), expected.shape)
        zero = np.zeros(expected.shape, bool) if zero is None else np.broadcast_to(zero, expected.shape)
        for i, (_, _, ds) in enumerate(points):
            if len(ds) != len(derivatives):
                return False
            theirs = ds[k]
            if (theirs is sops.ZERO) != bool(zero[i]):
                return False
            if not zero[i] and not _same(d[i : i + 1], np.array([float(theirs)]), kernel.exact):
                return False
    return True


def _same(ours, theirs, exact) -> bool:
    if ours.shape != theirs.shape:
        return False
    if exact:
        return bool(np.array_equal(ours, theirs, equal_nan=True))
    return bool(np.allclose(ours, theirs, rtol=1e-12, atol=1e-300, equal_nan=True))


# ---------------------------------------------------------------------- node by node, with the op's own rules


def per_node_forward(op, columns: list) -> np.ndarray:
    """``op.forward`` on each node's inputs (``columns``: one array per input)."""
    rows = zip(*[c.tolist() for c in columns])
    return np.array([op.forward(*args) for args in rows], dtype=float)


def per_node_derivatives(op, out: np.ndarray, columns: list, values: int) -> list:
    """``op.derivatives`` on each node: for each of the ``values`` Value inputs, ``(d, zero mask)``."""
    n = len(out)
    d = np.zeros((values, n))
    zero = np.zeros((values, n), bool)
    for i, (o, args) in enumerate(zip(out.tolist(), zip(*[c.tolist() for c in columns]))):
        for k, dk in enumerate(op.derivatives(o, *args)):
            if dk is sops.ZERO:
                zero[k, i] = True
            else:
                d[k, i] = dk
    return [(d[k], zero[k]) for k in range(values)]
