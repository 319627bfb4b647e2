"""Random programs run on the engine and on PyTorch, for differential tests.

A program is data: a list of nodes, each a ``Leaf`` (an input array) or a ``Step`` (an op from a
table applied to earlier nodes, constants and parameters). ``tensor_programs`` and
``value_programs`` are hypothesis strategies that add one op at a time and evaluate it with PyTorch
in float64 as they go, so that an operand can be kept inside its op's domain (``log`` of a positive
number, a divisor away from 0) and magnitudes stay bounded. ``run_engine`` and ``run_torch``
execute a program (forward, then backward passes from the program's roots with its seeds: leaf
gradients add up over the passes); ``differences`` lists every way the two outcomes differ, by
kind: errors, values (forward and every node's gradient), types (dtypes, ``.data`` and ``.grad``
types, ``requires_grad``, gradients sharing memory, leaves changed) and numpy warnings leaking out
of the engine. ``check`` runs both sides and raises on the kinds asked for.

Adding an op is one entry in ``TENSOR_OPS`` or ``VALUE_OPS``: how to pick its operands and
parameters (``build``), how it reads on each side (``engine``, ``torch``) and as text (``text``).
``function_program`` wraps one function of some arrays as a program, for targeted cases.
"""

from __future__ import annotations

import math
import operator
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn
from autograd import Tensor, Value, no_grad
from autograd.tensor import apply
from nn.primitives import LINEAR
from nn.scalar import weighted_sum

# ----------------------------------------------------------------------------- settings

PROFILE = os.environ.get("BACKPROP_LAB_DIFF", "ci")
"""How hard the differential tests look:

- ``ci`` (the default): derandomized, so a failure reproduces by re-running the same command; a
  failing program is reported as generated, less the steps that do not lead to its output
  (hypothesis's shrinking would take minutes while known bugs are open);
- ``thorough``: 25 times the examples, still derandomized, and failing programs shrunk to a minimum;
- ``random``: like ``thorough`` but new examples on every run.
"""

_SCALE = {"ci": 1, "thorough": 25, "random": 25}


def diff_settings(max_examples: int):
    """Hypothesis settings for a differential test with ``max_examples`` under the ``ci`` profile."""
    if PROFILE not in _SCALE:
        raise ValueError(f"BACKPROP_LAB_DIFF must be one of {sorted(_SCALE)}, got {PROFILE!r}")
    phases = [Phase.explicit, Phase.generate]  # no explain phase: it traces every line, slowly
    return settings(
        derandomize=PROFILE != "random",
        database=None,
        max_examples=max_examples * _SCALE[PROFILE],
        deadline=None,
        phases=phases if PROFILE == "ci" else [*phases, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


# ----------------------------------------------------------------------------- programs as data


@dataclass(frozen=True)
class Const:
    """A Python number or a float64 array handed to an op as is (not a node, never differentiated)."""

    value: object

    def text(self, dtype=np.float64) -> str:
        if isinstance(self.value, np.ndarray):
            return array_text(self.value.astype(dtype))
        return repr(self.value)


@dataclass
class Leaf:
    data: np.ndarray  # float64 values; the runners cast them to the program's dtype
    requires_grad: bool = True


@dataclass
class Step:
    op: object  # a name in the program's op table, or a ProgramOp
    operands: tuple  # node indices (int) and Const
    params: dict = field(default_factory=dict)

    def spec(self, kind):
        if isinstance(self.op, str):
            return (TENSOR_OPS if kind == "tensor" else VALUE_OPS)[self.op]
        return self.op


@dataclass
class Program:
    """``nodes[-1]`` is the output. One backward pass per entry of ``seeds`` (``None``: ``backward()``)
    from the node ``roots`` gives (the output when ``roots`` is empty): a pass may start from an
    intermediate node, as ``y.backward()`` after ``z = f(y)`` may."""

    kind: str  # "tensor" or "value"
    nodes: list
    seeds: tuple = (None, None)
    roots: tuple = ()

    def root(self, k: int) -> int:
        return self.roots[k] if self.roots else len(self.nodes) - 1

    def ancestors(self, i: int) -> set:
        """Node ``i`` and every node it depends on."""
        found = {i}
        for j in range(i, -1, -1):
            if j in found and isinstance(self.nodes[j], Step):
                found.update(o for o in self.nodes[j].operands if not isinstance(o, Const))
        return found

    def text(self, dtype=np.float64) -> str:
        lines = []
        for i, node in enumerate(self.nodes):
            if isinstance(node, Leaf):
                if self.kind == "value":
                    lines.append(f"v{i} = Value({float(node.data)!r})")
                else:
                    grad = ", requires_grad=True" if node.requires_grad else ""
                    lines.append(f"v{i} = Tensor({array_text(node.data.astype(dtype))}{grad})")
            else:
                names = [o.text(dtype) if isinstance(o, Const) else f"v{o}" for o in node.operands]
                lines.append(f"v{i} = {node.spec(self.kind).text(*names, **node.params)}")
        for k, seed in enumerate(self.seeds):
            out = f"v{self.root(k)}"
            shown = "" if seed is None else (f"np.ones_like({out}.data)" if _is_ones(seed) else array_text(seed))
            lines.append(f"{out}.backward({shown})")
        return "\n".join(lines)

    def __repr__(self):
        return "Program:\n" + self.text()

    def pruned(self) -> Program:
        """The same program without the nodes the output does not depend on."""
        if self.roots:
            return self  # a pass from an intermediate node: keep the program as it is
        kept = sorted(self.ancestors(len(self.nodes) - 1))
        renumber = {old: new for new, old in enumerate(kept)}
        nodes = []
        for i in kept:
            node = self.nodes[i]
            if isinstance(node, Step):
                operands = tuple(o if isinstance(o, Const) else renumber[o] for o in node.operands)
                node = Step(node.op, operands, node.params)
            nodes.append(node)
        return Program(self.kind, nodes, self.seeds)


ONES = "ones"
"""A seed meaning an array of ones shaped like the output."""


def _is_ones(seed):
    return isinstance(seed, str) and seed == ONES


def _seed_array(seed, out_shape, dtype):
    return np.ones(out_shape, dtype=dtype) if _is_ones(seed) else seed.astype(dtype)


def array_text(a: np.ndarray) -> str:
    """Python source that rebuilds ``a`` (values, shape and dtype)."""
    a = np.asarray(a)
    dtype = "" if a.dtype == np.float64 else f", dtype=np.{a.dtype.name}"
    if a.size == 0:
        return f"np.zeros({a.shape}{dtype})"
    return f"np.array({a.tolist()!r}{dtype})"


# ----------------------------------------------------------------------------- the builder


class Reject(Exception):
    """The op cannot be added here (operand out of range, result too large, ...)."""


MAX_SIZE = 96  # elements per node: enough for every shape case, small enough to stay fast


class Builder:
    """Adds nodes to a program, keeping each one's float64 value (computed with PyTorch)."""

    def __init__(self, draw, torch, kind, features):
        self.draw = draw
        self.torch = torch
        self.kind = kind
        self.features = features
        self.ops = TENSOR_OPS if kind == "tensor" else VALUE_OPS
        self.nodes = []
        self.values = []  # float64 torch tensors, without gradients

    def has(self, feature) -> bool:
        return feature in self.features

    # ------------------------------------------------------------------ values and shapes

    def value(self, ref) -> np.ndarray:
        if isinstance(ref, Const):
            return np.asarray(ref.value, dtype=np.float64)
        return self.values[ref].numpy()

    def shape(self, ref) -> tuple:
        return self.value(ref).shape

    def elements(self):
        if self.has("edges"):
            return st.sampled_from([0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5])
        return st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False, width=32)

    def array(self, shape):
        return self.draw(hnp.arrays(np.float64, shape, elements=self.elements()))

    def new_shape(self, max_ndim=3):
        low = 0 if self.has("empty") else 1
        ndim = self.draw(st.integers(0, max_ndim))
        shape = tuple(self.draw(st.lists(st.integers(low, 4), min_size=ndim, max_size=ndim)))
        if math.prod(shape) > MAX_SIZE:
            raise Reject
        return shape

    def partner_shape(self, shape):
        """A shape that broadcasts with ``shape``: dims kept or 1, leading dims dropped or added."""
        out = []
        for n in shape:
            choice = self.draw(
                st.sampled_from(["keep", "one", "zero"] if n == 1 and self.has("empty") else ["keep", "one"])
            )
            out.append({"keep": n, "one": 1, "zero": 0}[choice])
        drop = self.draw(st.integers(0, len(out)))
        out = out[drop:]
        if not drop and self.draw(st.booleans()):
            out = [self.draw(st.integers(1, 3))] + out
        out = tuple(out[-4:])
        if math.prod(np.broadcast_shapes(out, shape)) > MAX_SIZE:
            raise Reject
        return out

    # ------------------------------------------------------------------ nodes

    def leaf(self, shape=()) -> int:
        data = self.array(shape) if self.kind == "tensor" else np.asarray(self.draw(self.elements()))
        requires_grad = self.kind == "value" or self.draw(st.sampled_from([True, True, True, False]))
        self.nodes.append(Leaf(data, requires_grad))
        self.values.append(self.torch.from_numpy(np.array(data, dtype=np.float64)))
        return len(self.nodes) - 1

    def existing(self, fits=lambda shape: True):
        """An earlier node whose shape ``fits``, the most recent ones first when shrinking; or None."""
        candidates = [i for i in range(len(self.nodes)) if fits(self.shape(i))]
        if not candidates:
            return None
        return candidates[-1 - self.draw(st.integers(0, len(candidates) - 1))]

    def operand(self, fits=lambda shape: True) -> int:
        """The latest node (most often: programs grow as chains), another earlier node, or a new leaf."""
        choice = self.draw(st.sampled_from(["latest", "earlier", "leaf", "latest", "latest"]))
        if choice == "latest" and fits(self.shape(len(self.nodes) - 1)):
            return len(self.nodes) - 1
        if choice != "leaf":
            found = self.existing(fits)
            if found is not None:
                return found
        shape = self.new_shape() if self.kind == "tensor" else ()
        if not fits(shape):
            raise Reject
        return self.leaf(shape)

    def constant(self, shape=None, positive=False) -> Const:
        """A Python number (``shape is None``) or a float64 array (positive: >= the margin)."""
        if positive:
            numbers = st.sampled_from([0.5, 2.0, 1.5, 3.0, 0.25] + ([0.0] if self.has("edges") else []))
        else:
            numbers = st.sampled_from([2.0, -1.0, 0.0, 0.5, 3, -2.5])
        if shape is None:
            return Const(self.draw(numbers))
        return Const(self.draw(hnp.arrays(np.float64, shape, elements=numbers)))

    def partner(self, a: int):
        """A second operand for a broadcasting binary op with ``a``: a node, a new leaf or a constant."""
        shape = self.shape(a)
        kind = self.draw(st.sampled_from(["node", "leaf", "number", "array"]))
        if kind == "node":
            found = self.existing(lambda s: _broadcast_size(s, shape) is not None)
            if found is not None:
                return found
            kind = "leaf"
        if kind == "number" or (kind == "array" and self.kind == "value"):
            return self.constant()
        other = self.partner_shape(shape) if self.kind == "tensor" else ()
        return self.leaf(other) if kind == "leaf" else self.constant(other)

    def emit(self, op: str, operands, **params) -> int:
        """Append ``op(*operands, **params)``; Reject if PyTorch cannot evaluate it or the result is too large."""
        spec = self.ops[op]
        if op in SIGNED_ZERO_OPS and any(np.signbit(self.value(o)[self.value(o) == 0]).any() for o in operands):
            raise Reject
        args = [self._torch_value(o) for o in operands]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = spec.torch(self.torch, *args, **params)
        except (RuntimeError, IndexError, ValueError, TypeError):
            raise Reject from None
        if out.numel() > MAX_SIZE:
            raise Reject
        if out.numel() and not self.has("edges") and not (out.isfinite().all() and out.abs().max() <= 1e6):
            raise Reject
        self.nodes.append(Step(op, tuple(operands), params))
        self.values.append(out.detach())
        return len(self.nodes) - 1

    def _torch_value(self, ref):
        if isinstance(ref, Const):
            v = ref.value
            return self.torch.from_numpy(v) if isinstance(v, np.ndarray) else v
        return self.values[ref]

    # ------------------------------------------------------------------ keeping operands in a domain

    def margin(self) -> float:
        return 0.0 if self.has("edges") else 0.25

    def positive(self, ref):
        """``ref`` if all its values are >= the margin (0 with the ``edges`` feature), else a wrapper."""
        m = self.margin()
        v = self.value(ref)
        if v.size == 0 or v.min() >= m:
            return ref
        if isinstance(ref, Const):
            return Const(np.abs(ref.value) + 0.5) if isinstance(ref.value, np.ndarray) else Const(abs(ref.value) + 0.5)
        wrap = self.draw(st.sampled_from(self.ops.wrappers_nonnegative if m == 0 else self.ops.wrappers_positive))
        return wrap(self, ref)

    def away_from_zero(self, ref):
        """``ref`` if all ``|values|`` are >= the margin, else a positive wrapper, maybe negated."""
        v = self.value(ref)
        if v.size == 0 or np.abs(v).min() >= self.margin():
            return ref
        p = self.positive(ref)
        return self.emit("neg", (p,)) if not isinstance(p, Const) and self.draw(st.booleans()) else p

    def bounded(self, ref, limit):
        """``ref`` if ``|values| <= limit``, else ``tanh(ref) * limit``."""
        v = self.value(ref)
        if v.size == 0 or np.abs(v).max() <= limit:
            return ref
        if isinstance(ref, Const):
            return Const(np.clip(ref.value, -limit, limit) if isinstance(ref.value, np.ndarray) else limit)
        return self.emit("mul", (self.emit("tanh", (ref,)), Const(float(limit))))


SIGNED_ZERO_OPS = ("relu", "pow", "pow_const")
"""Ops not given -0.0: torch's relu keeps it where numpy's maximum gives 0.0, and torch computes
x ** -0.5 as 1 / sqrt(x) (-inf at -0.0, numpy: inf). Only the sign of an infinity differs."""


def _broadcast_size(a, b):
    try:
        shape = np.broadcast_shapes(a, b)
    except ValueError:
        return None
    size = math.prod(shape)
    return size if size <= MAX_SIZE else None


# ----------------------------------------------------------------------------- op tables


@dataclass(frozen=True)
class ProgramOp:
    """One op of a program: ``build(builder)`` picks operands and parameters and calls ``emit``;
    ``engine(*operands, **params)``, ``torch(torch, *operands, **params)`` and
    ``text(*operand_texts, **params)`` say how it reads on each side."""

    name: str
    feature: str
    build: object
    engine: object
    torch: object
    text: object


class OpTable(dict):
    def __init__(self, ops, wrappers_positive, wrappers_nonnegative):
        super().__init__((op.name, op) for op in ops)
        self.wrappers_positive = wrappers_positive
        self.wrappers_nonnegative = wrappers_nonnegative

    def enabled(self, features):
        return [op for op in self.values() if op.feature in features]


def _same(fn):
    """An op that reads the same on both sides (operators and methods torch shares)."""
    return fn, lambda torch, *args, **params: fn(*args, **params)


def _binary_op(name, symbol, fn, prepare=None, feature="elementwise"):
    def build(b):
        a = b.operand()
        other = b.partner(a)
        left, right = (a, other) if b.draw(st.booleans()) else (other, a)
        if prepare is not None:
            left, right = prepare(b, left, right)
        return b.emit(name, (left, right))

    engine, torch = _same(fn)
    return ProgramOp(name, feature, build, engine, torch, lambda x, y: f"({x} {symbol} {y})")


def _prepare_div(b, left, right):
    return left, b.away_from_zero(right)


def _prepare_pow(b, left, right):
    """A positive bounded base (the edges feature also allows 0) and a bounded exponent."""
    if isinstance(left, Const):
        shape = left.value.shape if isinstance(left.value, np.ndarray) else None
        left = b.constant(shape, positive=True)
    else:
        left = b.positive(b.bounded(left, 3.0))
    return left, b.bounded(right, 3.0)


def _unary_op(name, method, domain=None, text=None):
    def build(b):
        a = b.operand()
        if domain is not None:
            a = domain(b, a)
        return b.emit(name, (a,))

    engine, torch = _same(method)
    return ProgramOp(name, "elementwise", build, engine, torch, text or (lambda x: f"{x}.{name}()"))


EXPONENTS = [2, 3, 0, 1, -1, 0.5, 2.5, -2, -0.5, 1.5, 0.0]


def _base_and_exponent(b):
    """An operand and a number to raise it to: a positive base for a fractional exponent, a base away
    from 0 for a negative one, bounded so that the power stays moderate."""
    c = b.draw(st.sampled_from(EXPONENTS))
    a = b.bounded(b.operand(), 3.0)
    if float(c) != int(c):
        a = b.positive(a)
    if c < 0:
        a = b.away_from_zero(a)
    return a, c


def _build_pow_const(b):
    a, c = _base_and_exponent(b)
    return b.emit("pow_const", (a,), exponent=c)


def _build_exp(b):
    return b.emit("exp", (b.bounded(b.operand(), 4.0),))


# ---- matmul


def _build_matmul(b):
    a = b.operand(fits=lambda s: len(s) >= 1)
    sa = b.shape(a)
    k = sa[-1]
    m = b.draw(st.integers(0 if b.has("empty") else 1, 3))
    form = b.draw(st.sampled_from(["vector", "matrix", "batched"]))
    if form == "vector":
        sb = (k,)
    elif form == "matrix" or len(sa) < 2:
        sb = (k, m) if form == "matrix" else (b.draw(st.integers(1, 2)), k, m)
    else:
        batch = b.partner_shape(sa[:-2]) if len(sa) > 2 else (b.draw(st.integers(1, 2)),)
        sb = (*batch, k, m)
    if math.prod(sb) > MAX_SIZE:
        raise Reject
    kind = b.draw(st.sampled_from(["leaf", "node", "array"]))
    if b.draw(st.booleans()):
        if kind == "array":
            other = b.constant(sb)
        else:
            found = b.existing(lambda s: s == sb) if kind == "node" else None
            other = b.leaf(sb) if found is None else found
        return b.emit("matmul", (a, other))
    # the other way round: a is the right operand, contracted over its first (1-D) or second-last axis
    kr = sa[0] if len(sa) == 1 else sa[-2]
    left_shape = (kr,) if b.draw(st.booleans()) else (b.draw(st.integers(1, 3)), kr)
    left = b.constant(left_shape) if kind == "array" else b.leaf(left_shape)
    return b.emit("matmul", (left, a))


# ---- reductions


def _draw_axis(b, ndim):
    form = b.draw(st.sampled_from(["none", "int", "tuple", "empty"] if ndim else ["none", "empty"]))
    if form == "none":
        return None
    if form == "empty":
        return ()
    if form == "int":
        return b.draw(st.integers(-ndim, ndim - 1))
    axes = b.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if b.draw(st.booleans()) else a for a in axes)


def _reduced_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


def _reduction_op(name, torch_fn):
    def build(b):
        a = b.operand()
        shape = b.shape(a)
        axis = _draw_axis(b, len(shape))
        reduced = [shape[d] for d in _reduced_axes(axis, len(shape))]
        if name == "mean" and 0 in reduced:
            raise Reject  # the engine refuses to average over zero elements (torch gives NaN): deliberate
        if name == "max" and math.prod(shape) == 0:
            raise Reject  # an error today where torch reduces a non-empty axis: a targeted test has it
        return b.emit(name, (a,), axis=axis, keepdims=b.draw(st.booleans()))

    def torch(torch, a, axis, keepdims):
        if axis == ():
            # numpy reduces over no axis (sum and mean add each element to 0, so -0.0 becomes 0.0);
            # torch's dim=() would reduce over all of them
            return a.clone() if name == "max" else a + 0.0
        dims = tuple(range(a.ndim)) if axis is None else axis
        return torch_fn(torch, a, dims, keepdims)

    return ProgramOp(
        name,
        "reduce",
        build,
        lambda a, axis, keepdims: getattr(a, name)(axis=axis, keepdims=keepdims),
        torch,
        lambda x, axis, keepdims: f"{x}.{name}(axis={axis!r}, keepdims={keepdims})",
    )


# ---- shape


def _build_reshape(b):
    a = b.operand()
    shape = b.shape(a)
    size = math.prod(shape)
    if size == 0:
        new = list(b.draw(st.permutations([0] + list(b.draw(st.lists(st.integers(1, 3), max_size=2))))))
    else:
        factors = _prime_factors(size) + [1] * b.draw(st.integers(0, 2))
        factors = b.draw(st.permutations(factors))
        cuts = sorted(b.draw(st.lists(st.integers(0, len(factors)), max_size=3)))
        bounds = [0, *cuts, len(factors)]
        new = [math.prod(factors[i:j]) for i, j in zip(bounds, bounds[1:]) if j > i]
        if b.draw(st.booleans()) and new:
            new[b.draw(st.integers(0, len(new) - 1))] = -1
    return b.emit("reshape", (a,), shape=tuple(new), spread=b.draw(st.booleans()))


def _prime_factors(n):
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _build_transpose(b):
    a = b.operand()
    ndim = len(b.shape(a))
    # x.transpose(i, j) of a matrix reads as axes in numpy and as two dims to swap in torch: a
    # targeted test has it, programs spell a matrix's permutation as a tuple
    form = b.draw(st.sampled_from(["T", "none", "axes", "spread"] if ndim != 2 else ["T", "none", "axes"]))
    axes = None
    if form in ("axes", "spread"):
        axes = tuple(b.draw(st.permutations(range(ndim))))
        axes = tuple(x - ndim if b.draw(st.booleans()) else x for x in axes)
    return b.emit("transpose", (a,), form=form, axes=axes)


def _transpose_engine(a, form, axes):
    if form == "T":
        return a.T
    if form == "none":
        return a.transpose()
    return a.transpose(*axes) if form == "spread" else a.transpose(axes)


def _transpose_torch(torch, a, form, axes):
    return a.permute(tuple(reversed(range(a.ndim))) if axes is None else axes)


def _transpose_text(x, form, axes):
    if form == "T":
        return f"{x}.T"
    if form == "none":
        return f"{x}.transpose()"
    return f"{x}.transpose({', '.join(map(str, axes))})" if form == "spread" else f"{x}.transpose({axes!r})"


# ---- indexing


@dataclass(frozen=True)
class IndexPart:
    """One component of an index: ``value`` is what numpy is given (the reference meaning);
    ``kind`` says how the engine is given it (``bool_tensor`` / ``int_tensor``: wrapped in a Tensor)."""

    kind: str
    value: object

    def engine(self):
        if self.kind == "bool_tensor":
            return Tensor(self.value)
        if self.kind == "int_tensor":
            return Tensor(self.value.astype(np.float64))
        return self.value

    def text(self) -> str:
        v = self.value
        if self.kind == "slice":
            parts = ["" if x is None else str(x) for x in (v.start, v.stop, v.step)]
            return ":".join(parts) if v.step is not None else ":".join(parts[:2])
        if v is Ellipsis:
            return "..."
        if self.kind in ("bool_tensor", "int_tensor"):
            return f"Tensor({array_text(v)})"
        if isinstance(v, np.ndarray):
            return array_text(v)
        if isinstance(v, np.generic):
            return f"np.{type(v).__name__}({v.item()!r})"
        return repr(v)


@dataclass(frozen=True)
class Index:
    parts: tuple
    tupled: bool  # x[a, b] or x[a,] (a tuple) rather than x[a]

    def engine(self):
        return tuple(p.engine() for p in self.parts) if self.tupled else self.parts[0].engine()

    def numpy(self):
        return tuple(p.value for p in self.parts) if self.tupled else self.parts[0].value

    def text(self) -> str:
        if not self.tupled:
            return self.parts[0].text()
        if not self.parts:
            return "()"
        return ", ".join(p.text() for p in self.parts) + ("," if len(self.parts) == 1 else "")

    def positions(self, shape) -> np.ndarray:
        """Which elements (flat positions) ``x[index]`` picks, by numpy's rules."""
        return np.arange(math.prod(shape)).reshape(shape)[self.numpy()]


BASIC_PARTS = ["int", "slice", "np_int"]
ADVANCED_PARTS = ["list", "int_array", "range", "int_tensor", "bool_array", "bool_list"]


def _draw_index(b, shape) -> Index:
    n = len(shape)
    kinds = list(BASIC_PARTS)
    if b.has("advanced_index"):
        kinds += ADVANCED_PARTS
    # the newest forms make up about half of the parts when asked for
    focus = [k for k, feature in (("tuple", "tuple_in_index"), ("bool_tensor", "bool_tensor_index")) if b.has(feature)]
    kinds += focus * (len(kinds) // max(1, len(focus)))
    ellipsis = b.draw(st.booleans())
    front = b.draw(st.integers(0, n))
    back = b.draw(st.integers(0, n - front)) if ellipsis else 0
    dims = list(range(front)) + list(range(n - back, n))
    length = b.draw(st.integers(0 if b.has("empty") else 1, 3))  # advanced indices share a length: they broadcast
    parts, d = [], 0
    slots = front + (1 if ellipsis else 0) + back
    slot = 0
    while slot < slots:
        if ellipsis and slot == front:
            parts.append(IndexPart("ellipsis", Ellipsis))
            slot += 1
            continue
        dim = dims[d]
        kind = b.draw(st.sampled_from(kinds))
        if kind in ("bool_array", "bool_tensor"):
            # a mask may cover several consecutive dims
            span = 1
            while slot + span < slots and not (ellipsis and slot + span == front) and b.draw(st.booleans()):
                span += 1
            mshape = tuple(shape[dims[d + i]] for i in range(span))
            mask = b.draw(hnp.arrays(np.bool_, mshape))
            parts.append(IndexPart(kind, mask))
            d += span
            slot += span
        else:
            parts.append(_draw_part(b, kind, shape[dim], length))
            d += 1
            slot += 1
        if b.has("advanced_index") and b.draw(st.integers(0, 5)) == 0:
            parts.append(IndexPart("none", None))
        elif b.has("advanced_index") and b.draw(st.integers(0, 11)) == 0:
            parts.append(IndexPart("bool_scalar", b.draw(st.sampled_from([True, False, np.True_]))))
        elif b.draw(st.integers(0, 7)) == 0:
            parts.append(IndexPart("none", None))
    if b.draw(st.integers(0, 6)) == 0:
        parts.insert(0, IndexPart("none", None))
    # x[t] with t a tuple is x[*t]: a tuple part alone is written x[t,]
    tupled = len(parts) != 1 or parts[0].kind == "tuple" or b.draw(st.booleans())
    index = Index(tuple(parts), tupled)
    try:
        picked = index.positions(shape)
    except (IndexError, ValueError, TypeError):
        raise Reject from None
    if picked.size > MAX_SIZE:
        raise Reject
    return index


def _draw_part(b, kind, n, length) -> IndexPart:
    if kind in ("int", "np_int"):
        if n == 0:
            raise Reject
        i = b.draw(st.integers(-n, n - 1))
        return IndexPart(kind, i if kind == "int" else np.int64(i))
    if kind == "slice":
        bound = st.none() | st.integers(-n - 2, n + 2)
        step = b.draw(st.none() | st.sampled_from([1, 2, -1, -2, 3]))
        return IndexPart("slice", slice(b.draw(bound), b.draw(bound), step))
    if kind == "range":
        if n == 0:
            raise Reject
        step = b.draw(st.sampled_from([1, -1, 2, -2]))
        start = b.draw(st.integers(-n, n - 1))
        r = range(start, start + length * step, step)
        if any(not -n <= i < n for i in r) or (len(r) and len({i % n for i in r}) != len(r)):
            raise Reject
        return IndexPart("range", r)
    if kind == "bool_list":
        return IndexPart("bool_list", b.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    # integer arrays in some container, with repeats and negative entries
    if n == 0 and length:
        raise Reject
    rows = b.draw(st.sampled_from([None, None, 1, 2]))
    shape = (length,) if rows is None else (rows, length)
    # from a pool of one or two positions (one of them maybe negative), so that repeats are common
    pool = b.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=2)) if n else [0]
    ints = b.draw(hnp.arrays(np.int64, shape, elements=st.sampled_from(pool)))
    if kind == "list":
        return IndexPart("list", ints.tolist())
    if kind == "tuple":  # of ints, of tuples or of lists
        inner = b.draw(st.sampled_from([tuple, list]))
        return IndexPart("tuple", tuple(ints.tolist()) if rows is None else tuple(inner(r) for r in ints.tolist()))
    return IndexPart(kind, ints)


def _build_getitem(b):
    a = b.operand(fits=lambda s: len(s) >= 1) if b.draw(st.integers(0, 4)) else b.operand()
    return b.emit("getitem", (a,), index=_draw_index(b, b.shape(a)))


def _getitem_torch(torch, a, index):
    picked = index.positions(tuple(a.shape))
    flat = torch.from_numpy(np.ascontiguousarray(picked.reshape(-1)))
    return a.reshape(-1)[flat].reshape(picked.shape)


# ---- nn's fused primitives


def _build_linear(b):
    x = b.operand(fits=lambda s: len(s) in (1, 2))
    n_in = b.shape(x)[-1]
    n_out = b.draw(st.integers(0 if b.has("empty") else 1, 3))
    w = b.existing(lambda s: s == (n_in, n_out)) if b.draw(st.booleans()) else None
    w = b.leaf((n_in, n_out)) if w is None else w
    bias = b.existing(lambda s: s == (n_out,)) if b.draw(st.booleans()) else None
    bias = b.leaf((n_out,)) if bias is None else bias
    return b.emit("linear", (x, w, bias))


def _draw_reduction(b, ref):
    reduction = b.draw(st.sampled_from(["mean", "sum", "none"]))
    if reduction == "mean" and b.value(ref).size == 0:
        raise Reject  # see test_fused_losses_average_zero_elements_like_mean
    return reduction


def _probabilities(b, ref):
    """``sigmoid(ref)``, kept inside (0.04, 0.96): the engine clips p to [1e-15, 1 - 1e-15] where torch
    clamps each log at -100 (documented in nn.losses), so the ends are left out."""
    return b.emit("sigmoid", (b.bounded(ref, 3.0),))


def _target(b, shape, probability=True):
    """A target of ``shape``: a constant array, or a node (differentiated, as torch allows)."""
    if b.draw(st.booleans()):
        values = [0.0, 1.0, 0.5, 0.25] if probability else [0.0, 1.0, -2.0, 0.5]
        return Const(b.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from(values))))
    node = b.leaf(shape)
    return b.emit("sigmoid", (node,)) if probability else node


def _build_loss(name):
    def build(b):
        a = b.operand()
        reduction = _draw_reduction(b, a)
        if name == "binary_cross_entropy":
            a = _probabilities(b, a)
        if b.draw(st.integers(0, 3)) == 0:  # a target computed from the input itself
            target = b.emit("sigmoid", (a,)) if name != "mse_loss" else a
        else:
            target = _target(b, b.shape(a), probability=name != "mse_loss")
        return b.emit(name, (a, target), reduction=reduction)

    def engine(p, y, reduction):
        return getattr(nn, name)(p, y, reduction=reduction)

    def torch(torch, p, y, reduction):
        return getattr(torch.nn.functional, name)(p, y, reduction=reduction)

    return ProgramOp(
        name, "nn", build, engine, torch, lambda p, y, reduction: f"nn.{name}({p}, {y}, reduction={reduction!r})"
    )


def _build_cross_entropy(b):
    z = b.operand(fits=lambda s: len(s) == 2 and s[1] > 0)
    n, c = b.shape(z)
    labels = b.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    reduction = _draw_reduction(b, z)
    return b.emit("cross_entropy", (z,), labels=labels, reduction=reduction)


def _cross_entropy_torch(torch, z, labels, reduction):
    return torch.nn.functional.cross_entropy(z, torch.from_numpy(labels), reduction=reduction)


# ---- the tensor table


def _abs_plus(b, ref):
    return b.emit("add", (b.emit("abs", (ref,)), Const(0.5)))


def _sigmoid_plus(b, ref):
    return b.emit("add", (b.emit("sigmoid", (ref,)), Const(0.25)))


def _exp_tanh(b, ref):
    return b.emit("exp", (b.emit("tanh", (ref,)),))


def _square_plus(b, ref):
    return b.emit("add", (b.emit("mul", (ref, ref)), Const(0.25)))


def _relu_of(b, ref):
    return b.emit("relu", (ref,))


def _abs_of(b, ref):
    return b.emit("abs", (ref,))


def _square_of(b, ref):
    return b.emit("mul", (ref, ref))


def _scaled_without_grad(a):
    with no_grad():
        return 2.0 * a


def _scaled_without_grad_torch(torch, a):
    with torch.no_grad():
        return 2.0 * a


def _sigmoid_domain(b, ref):
    """The engine caps ``-x`` at ln(largest float) so ``e^-x`` stays finite: below about -88 (float32)
    its sigmoid is a tiny positive number where torch's is 0, and a gradient of 0 * inf = NaN in torch
    is a finite or infinite number here. Deliberate (see the README), so such inputs are left out."""
    v = b.value(ref)
    if v.size and not (v >= -80).all():
        raise Reject
    return ref


def _bounded_then(domain, limit):
    return lambda b, ref: domain(b, b.bounded(ref, limit))


TENSOR_OPS = OpTable(
    [
        _binary_op("add", "+", operator.add),
        _binary_op("sub", "-", operator.sub),
        _binary_op("mul", "*", operator.mul),
        _binary_op("div", "/", operator.truediv, _prepare_div),
        _binary_op("pow", "**", operator.pow, _prepare_pow),
        ProgramOp(
            "pow_const",
            "elementwise",
            _build_pow_const,
            *_same(lambda a, exponent: a**exponent),
            lambda x, exponent: f"({x} ** {exponent!r})",
        ),
        _unary_op("neg", operator.neg, text=lambda x: f"(-{x})"),
        ProgramOp("exp", "elementwise", _build_exp, *_same(lambda a: a.exp()), lambda x: f"{x}.exp()"),
        _unary_op("log", lambda a: a.log(), _bounded_then(Builder.positive, 1e3)),
        _unary_op("sqrt", lambda a: a.sqrt(), Builder.positive),
        _unary_op("tanh", lambda a: a.tanh()),
        _unary_op("sigmoid", lambda a: a.sigmoid(), _sigmoid_domain),
        _unary_op("relu", lambda a: a.relu()),
        _unary_op("abs", abs, text=lambda x: f"abs({x})"),
        _unary_op("abs_method", lambda a: a.abs(), text=lambda x: f"{x}.abs()"),
        ProgramOp("matmul", "matmul", _build_matmul, *_same(operator.matmul), lambda x, y: f"({x} @ {y})"),
        _reduction_op("sum", lambda torch, a, dims, k: a.sum(dim=dims, keepdim=k)),
        _reduction_op("mean", lambda torch, a, dims, k: a.mean(dim=dims, keepdim=k)),
        _reduction_op("max", lambda torch, a, dims, k: torch.amax(a, dim=dims, keepdim=k)),
        ProgramOp(
            "reshape",
            "shape",
            _build_reshape,
            lambda a, shape, spread: a.reshape(*shape) if spread else a.reshape(shape),
            lambda torch, a, shape, spread: a.reshape(shape),
            lambda x, shape, spread: f"{x}.reshape({', '.join(map(str, shape)) if spread else repr(shape)})",
        ),
        ProgramOp("transpose", "shape", _build_transpose, _transpose_engine, _transpose_torch, _transpose_text),
        ProgramOp(
            "detach",
            "detach",
            lambda b: b.emit("detach", (b.operand(),)),
            *_same(lambda a: a.detach()),
            lambda x: f"{x}.detach()",
        ),
        ProgramOp(
            "no_grad",
            "detach",
            lambda b: b.emit("no_grad", (b.operand(),)),
            _scaled_without_grad,
            _scaled_without_grad_torch,
            lambda x: f"(2.0 * {x} computed in no_grad())",
        ),
        ProgramOp(
            "linear",
            "nn",
            _build_linear,
            lambda x, w, bias: apply(LINEAR, (x, w, bias)),
            lambda torch, x, w, bias: x @ w + bias,
            lambda x, w, bias: f"apply(LINEAR, ({x}, {w}, {bias}))",
        ),
        _build_loss("mse_loss"),
        _build_loss("binary_cross_entropy"),
        _build_loss("binary_cross_entropy_with_logits"),
        ProgramOp(
            "cross_entropy",
            "nn",
            _build_cross_entropy,
            lambda z, labels, reduction: nn.cross_entropy(z, labels, reduction=reduction),
            _cross_entropy_torch,
            lambda z, labels, reduction: f"nn.cross_entropy({z}, {labels.tolist()}, reduction={reduction!r})",
        ),
        ProgramOp(
            "getitem",
            "index",
            _build_getitem,
            lambda a, index: a[index.engine()],
            _getitem_torch,
            lambda x, index: f"{x}[{index.text()}]",
        ),
    ],
    wrappers_positive=[_abs_plus, _sigmoid_plus, _exp_tanh, _square_plus],
    wrappers_nonnegative=[_relu_of, _abs_of, _square_of],
)


# ----------------------------------------------------------------------------- the Value table


def _value_pow(b):
    form = b.draw(st.sampled_from(["value", "number_exponent", "number_base"]))
    if form == "number_exponent":
        base, c = _base_and_exponent(b)
        exponent = Const(c)
    elif form == "number_base":
        base = b.constant(positive=True)
        exponent = b.bounded(b.operand(), 3.0)
    else:
        base = b.positive(b.bounded(b.operand(), 3.0))
        exponent = b.bounded(b.operand(), 3.0)
    if b.value(base) == 0 and b.value(exponent) < 0:
        raise Reject  # Value raises ZeroDivisionError on 0 ** negative (torch: inf): deliberate
    return b.emit("pow", (base, exponent))


def _value_binary(name, symbol, fn, prepare=None):
    def build(b):
        a = b.operand()
        other = b.partner(a)
        left, right = (a, other) if b.draw(st.booleans()) else (other, a)
        if prepare is not None:
            left, right = prepare(b, left, right)
        return b.emit(name, (left, right))

    engine, torch = _same(fn)
    return ProgramOp(name, "elementwise", build, engine, torch, lambda x, y: f"({x} {symbol} {y})")


def _prepare_value_div(b, left, right):
    right = b.away_from_zero(right)
    if (b.value(right) == 0).any():
        raise Reject  # Value raises ZeroDivisionError on division by 0 (torch: inf): deliberate
    return left, right


def _value_positive(b, ref):
    ref = b.positive(ref)
    if (b.value(ref) <= 0).any():
        raise Reject  # Value raises ValueError on log of 0 (torch: -inf): deliberate
    return ref


def _build_value_bce(b):
    p = _probabilities(b, b.operand())
    return b.emit("binary_cross_entropy", (p, Const(b.draw(st.sampled_from([0.0, 1.0, 0.5, 0.25])))))


def _build_weighted_sum(b):
    n = b.draw(st.integers(1, 3))
    ws = [b.operand() if b.draw(st.integers(0, 3)) else b.constant() for _ in range(n)]
    xs = [b.operand() if b.draw(st.integers(0, 3)) else b.constant() for _ in range(n)]
    bias = b.operand() if b.draw(st.booleans()) else b.constant()
    if all(isinstance(o, Const) for o in (*ws, *xs, bias)):
        ws[0] = b.operand()
    return b.emit("weighted_sum", (*ws, *xs, bias))


def _weighted_sum_engine(*operands):
    n = len(operands) // 2
    return weighted_sum(operands[:n], operands[n:-1], operands[-1])


def _weighted_sum_torch(torch, *operands):
    n = len(operands) // 2
    total = operands[-1]
    for w, x in zip(operands[:n], operands[n:-1]):
        total = total + w * x
    return total if isinstance(total, torch.Tensor) else torch.tensor(float(total), dtype=torch.float64)


def _weighted_sum_text(*names):
    n = len(names) // 2
    return f"weighted_sum([{', '.join(names[:n])}], [{', '.join(names[n:-1])}], {names[-1]})"


def _value_sigmoid_plus(b, ref):
    return b.emit("add", (b.emit("sigmoid", (ref,)), Const(0.25)))


VALUE_OPS = OpTable(
    [
        _value_binary("add", "+", operator.add),
        _value_binary("sub", "-", operator.sub),
        _value_binary("mul", "*", operator.mul),
        _value_binary("div", "/", operator.truediv, _prepare_value_div),
        ProgramOp("pow", "elementwise", _value_pow, *_same(operator.pow), lambda x, y: f"({x} ** {y})"),
        _unary_op("neg", operator.neg, text=lambda x: f"(-{x})"),
        ProgramOp("exp", "elementwise", _build_exp, *_same(lambda a: a.exp()), lambda x: f"{x}.exp()"),
        _unary_op("log", lambda a: a.log(), _bounded_then(_value_positive, 1e3)),
        _unary_op("tanh", lambda a: a.tanh()),
        _unary_op("sigmoid", lambda a: a.sigmoid()),  # not capped: e^t only ever sees t <= 0
        _unary_op("relu", lambda a: a.relu()),
        ProgramOp(
            "binary_cross_entropy",
            "nn",
            _build_value_bce,
            lambda p, y: nn.binary_cross_entropy(p, y),
            lambda torch, p, y: torch.nn.functional.binary_cross_entropy(p, torch.tensor(y, dtype=torch.float64)),
            lambda p, y: f"nn.binary_cross_entropy({p}, {y})",
        ),
        ProgramOp(
            "weighted_sum", "nn", _build_weighted_sum, _weighted_sum_engine, _weighted_sum_torch, _weighted_sum_text
        ),
    ],
    wrappers_positive=[_value_sigmoid_plus, _exp_tanh, _square_plus],
    wrappers_nonnegative=[_relu_of, _square_of],
)


# ----------------------------------------------------------------------------- strategies

TENSOR_FEATURES = frozenset({"elementwise", "matmul", "reduce", "shape", "index", "detach"})


@st.composite
def tensor_programs(draw, torch, features=TENSOR_FEATURES, focus=(), max_steps=6):
    """A random Tensor program using the ops whose feature is in ``features`` (plus index-part
    features ``advanced_index``, ``tuple_in_index``, ``bool_tensor_index`` and data features
    ``empty`` (size-0 axes), ``edges`` (values at 0, ties, domain edges allowed)). The ops named
    in ``focus`` are drawn about half of the time."""
    return _program(draw, Builder(draw, torch, "tensor", features), focus, max_steps)


@st.composite
def value_programs(draw, torch, features=frozenset({"elementwise"}), max_steps=8):
    """A random Value program (``edges`` in ``features``: values at 0 and at domain edges)."""
    return _program(draw, Builder(draw, torch, "value", features), (), max_steps)


def _program(draw, b, focus, max_steps):
    b.leaf(b.new_shape() if b.kind == "tensor" else ())
    enabled = b.ops.enabled(b.features)
    enabled += [b.ops[name] for name in focus] * max(1, len(enabled) // max(1, len(focus)))
    for _ in range(draw(st.integers(1, max_steps) | st.just(max_steps))):
        op = draw(st.sampled_from(enabled))
        mark = len(b.nodes)
        try:
            op.build(b)
        except Reject:
            del b.nodes[mark:]
            del b.values[mark:]
    # the second pass starts at an intermediate node now and then
    steps = [i for i, node in enumerate(b.nodes[:-1]) if isinstance(node, Step)]
    output = len(b.nodes) - 1
    roots = (output, output)
    if steps and draw(st.integers(0, 4)) == 0:
        roots = (output, draw(st.sampled_from(steps)))
    seeds = []
    for root in roots:
        shape = tuple(b.values[root].shape)
        if b.kind == "value" or (math.prod(shape) == 1 and draw(st.booleans())):
            seeds.append(None)
        else:
            seeds.append(draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([1.0, -1.0, 0.5, 2.0, -3.0]))))
    return Program(b.kind, b.nodes, tuple(seeds), roots if roots[1] != output else ())


def function_program(fn, *arrays, text, torch_fn=None, kind="tensor", seeds=(ONES, ONES), requires_grad=True):
    """A one-step program for a targeted case: ``fn(*leaves)`` on leaves holding ``arrays``.

    ``fn`` must read the same on both sides (operators and methods the engine shares with torch),
    or ``torch_fn(torch, *leaves)`` says how it reads in torch. ``text`` formats the leaves' names,
    e.g. ``"{0}.relu().sqrt()"``."""
    torch_side = torch_fn or (lambda torch, *args: fn(*args))
    op = ProgramOp("case", "", None, fn, torch_side, lambda *names: text.format(*names))
    leaves = [Leaf(np.asarray(a, dtype=np.float64), requires_grad) for a in arrays]
    if kind == "value":
        seeds = (None, None)
    return Program(kind, [*leaves, Step(op, tuple(range(len(leaves))))], tuple(seeds))


# ----------------------------------------------------------------------------- running


@dataclass
class Grad:
    """A snapshot of one node's ``.grad``: its value and, for the engine, what kind of object it was."""

    array: np.ndarray | None
    type_name: str = ""
    writeable: bool = True


@dataclass
class Outcome:
    error: BaseException | None = None
    error_at: str = ""  # "forward" or "backward"
    data: np.ndarray | None = None
    data_type: str = ""
    dtype: object = None
    requires_grad: list = field(default_factory=list)  # per node (Tensor programs)
    passes: list = field(default_factory=list)  # per backward pass: a Grad per node
    warnings: list = field(default_factory=list)
    shared: list = field(default_factory=list)  # leaf gradients sharing memory with another array
    leaves_changed: list = field(default_factory=list)


def _operands(step, objs, const):
    return [const(o.value) if isinstance(o, Const) else objs[o] for o in step.operands]


def run_engine(program: Program, dtype=np.float64) -> Outcome:
    result = Outcome()

    def const(v):
        return v.astype(dtype) if isinstance(v, np.ndarray) else v

    objs = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result.error_at = "forward"
            for node in program.nodes:
                if isinstance(node, Leaf):
                    if program.kind == "value":
                        objs.append(Value(float(node.data)))
                    else:
                        objs.append(Tensor(node.data.astype(dtype), requires_grad=node.requires_grad))
                else:
                    objs.append(node.spec(program.kind).engine(*_operands(node, objs, const), **node.params))
            out = objs[-1]
            if program.kind == "tensor":
                result.requires_grad = [o.requires_grad for o in objs]
            result.data_type = f"{type(out).__name__} with .data {type(out.data).__name__}"
            result.data = np.array(out.data, dtype=np.float64 if program.kind == "value" else None)
            result.dtype = result.data.dtype if program.kind == "tensor" else None
            result.error_at = "backward"
            for k, seed in enumerate(program.seeds):
                root = objs[program.root(k)]
                if seed is None:
                    root.backward()
                else:
                    root.backward(_seed_array(seed, root.shape, dtype))
                if k == 0:
                    result.shared = _shared_memory(program, objs)
                result.passes.append([_engine_grad(o) for o in objs])
            result.error_at = ""
        except Exception as e:  # the comparison reports it, with the program
            result.error = e
        result.leaves_changed = [
            f"v{i}"
            for i, (node, o) in enumerate(zip(program.nodes, objs))
            if isinstance(node, Leaf)
            and program.kind == "tensor"
            and not np.array_equal(o.data, node.data.astype(dtype), equal_nan=True)
        ]
    result.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    return result


def _engine_grad(o) -> Grad:
    g = o.grad
    if g is None:
        return Grad(None, "NoneType")
    writeable = not isinstance(g, np.ndarray) or g.flags.writeable
    return Grad(np.array(g, dtype=np.float64 if isinstance(g, float) else None), type(g).__name__, writeable)


def _shared_memory(program, objs) -> list:
    """Leaf gradients that share memory with another leaf's gradient or data, or with the output."""
    leaves = [(i, o) for i, (n, o) in enumerate(zip(program.nodes, objs)) if isinstance(n, Leaf)]
    if program.kind != "tensor":
        return []
    found = []
    others = [(f"v{i}.data", o.data) for i, o in leaves] + [("the output's data", objs[-1].data)]
    others += [(f"v{i}.grad", o.grad) for i, o in leaves if isinstance(o.grad, np.ndarray)]
    for i, o in leaves:
        if not isinstance(o.grad, np.ndarray) or o.grad.size == 0:
            continue
        for name, arr in others:
            if name != f"v{i}.grad" and isinstance(arr, np.ndarray) and np.shares_memory(o.grad, arr):
                found.append(f"v{i}.grad shares memory with {name}")
    return found


def run_torch(program: Program, torch, dtype=np.float64) -> Outcome:
    tdtype = {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    result = Outcome()

    def const(v):
        return torch.from_numpy(v.astype(dtype)) if isinstance(v, np.ndarray) else v

    objs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result.error_at = "forward"
            for node in program.nodes:
                if isinstance(node, Leaf):
                    grad = node.requires_grad
                    objs.append(torch.tensor(node.data, dtype=tdtype, requires_grad=grad))
                else:
                    t = node.spec(program.kind).torch(torch, *_operands(node, objs, const), **node.params)
                    if t.requires_grad:
                        t.retain_grad()
                    objs.append(t)
            out = objs[-1]
            if program.kind == "tensor":
                result.requires_grad = [o.requires_grad for o in objs]
            result.data = out.detach().numpy().copy()
            result.dtype = result.data.dtype
            result.error_at = "backward"
            for k, seed in enumerate(program.seeds):
                root = objs[program.root(k)]
                if seed is None:
                    root.backward(retain_graph=True)
                else:
                    root.backward(torch.from_numpy(_seed_array(seed, tuple(root.shape), dtype)), retain_graph=True)
                result.passes.append([Grad(None if o.grad is None else o.grad.numpy().copy()) for o in objs])
            result.error_at = ""
        except Exception as e:
            result.error = e
    return result


# ----------------------------------------------------------------------------- comparing

TOLERANCE = {np.float64: (1e-7, 1e-9), np.float32: (2e-3, 2e-4)}  # rtol, atol (atol scaled by the largest |value|)


def close(ours, theirs, dtype) -> str:
    """ "" if ``ours`` matches ``theirs`` to the dtype's tolerance (NaN matching NaN), else why not."""
    rtol, atol = TOLERANCE[dtype]
    finite = np.abs(theirs[np.isfinite(theirs)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    try:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol * scale, equal_nan=True, err_msg="")
    except AssertionError as e:
        return f"engine {ours!r}, torch {theirs!r} ({str(e).strip().splitlines()[0]})"
    return ""


class Difference(str):
    """One way the engine differs from torch, as text; ``kind`` is a key of ``FAILURES``."""

    kind: str

    def __new__(cls, kind, text):
        self = super().__new__(cls, text)
        self.kind = kind
        return self


def differences(program: Program, ours: Outcome, theirs: Outcome, dtype=np.float64) -> list:
    """Every way the engine's outcome differs from PyTorch's, one line each."""
    if theirs.error is not None and theirs.error_at == "forward":
        return (
            []
            if ours.error is not None
            else [Difference("error", f"torch raised {theirs.error!r} but the engine did not")]
        )
    if ours.error is not None and not (theirs.error is not None and ours.error_at == "backward"):
        return [
            Difference(
                "error",
                f"the engine raised {type(ours.error).__name__}: {ours.error} in {ours.error_at}, torch gives "
                f"{theirs.data!r}",
            )
        ]
    found = []
    expected_type = "Tensor with .data ndarray" if program.kind == "tensor" else "Value with .data float"
    if ours.data_type != expected_type:
        found.append(Difference("type", f"the output is a {ours.data_type}"))
    if ours.data.shape != theirs.data.shape:
        return found + [Difference("value", f"output shape {ours.data.shape}, torch {theirs.data.shape}")]
    why = close(ours.data, theirs.data, dtype)
    if why:
        found.append(Difference("value", f"forward value differs: {why}"))
    if program.kind == "tensor" and ours.dtype != theirs.dtype:
        found.append(Difference("type", f"output dtype {ours.dtype}, torch {theirs.dtype}"))
    for i, (mine, ref) in enumerate(zip(ours.requires_grad, theirs.requires_grad)):
        if mine != ref:
            found.append(Difference("type", f"v{i}.requires_grad is {mine}, torch {ref}"))
    if theirs.error is not None:  # backward refused by both (nothing in the graph needs a gradient)
        if ours.error is None:
            found.append(Difference("error", f"torch raised {theirs.error!r} in backward but the engine did not"))
        return found
    previous = None
    for k, (mine, ref) in enumerate(zip(ours.passes, theirs.passes)):
        reached = program.ancestors(program.root(k))
        for i, (node, g, t) in enumerate(zip(program.nodes, mine, ref)):
            where = f"v{i}.grad after backward pass {k + 1}"
            expected = t.array
            if expected is None:
                # a node torch gives no gradient: a constant, or not on the way to the output
                if not (g.array is None or (program.kind == "value" and not np.any(g.array))):
                    found.append(Difference("value", f"{where} is {g.array!r}, torch has none"))
                continue
            if previous is not None and not isinstance(node, Leaf) and i in reached and previous[i].array is not None:
                # the engine gives an intermediate node this pass's gradient; torch adds the passes up
                if not np.isfinite(previous[i].array).all():
                    continue  # this pass's share of an infinite sum is unknown
                expected = expected - previous[i].array
            if g.array is None or g.array.shape != expected.shape:
                found.append(Difference("value", f"{where} is {g.array!r}, torch {expected!r}"))
                continue
            why = close(g.array, expected, dtype)
            if why:
                found.append(Difference("value", f"{where} differs: {why}"))
            if isinstance(node, Leaf):
                expected_type = "ndarray" if program.kind == "tensor" else "float"
                if g.type_name != expected_type:
                    found.append(Difference("type", f"{where} is a {g.type_name}, not a {expected_type}"))
            if program.kind == "tensor" and g.array.dtype != expected.dtype:
                found.append(Difference("type", f"{where} has dtype {g.array.dtype}, torch {expected.dtype}"))
            if isinstance(node, Leaf) and program.kind == "tensor" and not g.writeable:
                found.append(Difference("type", f"{where} is a read-only array"))
        previous = ref
    found += [Difference("type", text) for text in ours.shared]
    if ours.leaves_changed:
        found.append(Difference("type", f"the engine changed the data of {ours.leaves_changed}"))
    if ours.warnings:
        found.append(Difference("warning", f"the engine let numpy warnings out: {sorted(set(ours.warnings))}"))
    return found


class DifferentErrors(AssertionError):
    """One side raised and the other did not."""


class DifferentValues(AssertionError):
    """Forward values or gradients differ (or their shapes)."""


class DifferentTypes(AssertionError):
    """The numbers agree but dtypes, ``.data`` / ``.grad`` types or memory ownership do not."""


class LeakedWarnings(AssertionError):
    """The engine agrees with torch but let numpy warnings out."""


FAILURES = {"error": DifferentErrors, "value": DifferentValues, "type": DifferentTypes, "warning": LeakedWarnings}


def assert_same(program: Program, ours: Outcome, theirs: Outcome, dtype=np.float64, kinds=tuple(FAILURES)):
    """The engine's outcome agrees with PyTorch's: ``differences`` finds nothing of the ``kinds`` asked.

    The exception's class is the most serious kind of difference found (``FAILURES``, in order), so
    that hypothesis reports a wrong value separately from a leaked warning in the same test."""
    found = [f for f in differences(program, ours, theirs, dtype) if f.kind in kinds]
    if found:
        kind = next(k for k in FAILURES if any(f.kind == k for f in found))
        listing = "\n".join(f"[{f.kind}] {f}" for f in found)
        raise FAILURES[kind](f"{listing}\n--- program ({np.dtype(dtype).name}):\n{program.text(dtype)}")


def check(program: Program, torch, dtype=np.float64, kinds=tuple(FAILURES)):
    """Run ``program`` on both sides and compare (only the ``kinds`` of difference asked). A failing
    program is reported without the steps its output does not depend on, when it fails as well so."""
    try:
        assert_same(program, run_engine(program, dtype), run_torch(program, torch, dtype), dtype, kinds)
    except AssertionError as failure:
        smaller = program.pruned()
        if len(smaller.nodes) < len(program.nodes):
            try:
                assert_same(smaller, run_engine(smaller, dtype), run_torch(smaller, torch, dtype), dtype, kinds)
            except type(failure) as reduced:
                raise reduced from None
        raise
