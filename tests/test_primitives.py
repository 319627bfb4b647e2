"""Every primitive in the op tables, checked against central finite differences in float64.

Two checks per op: its *declared* rule (``derivatives`` for a scalar op, each of ``vjps`` for a
tensor op) is compared directly with finite differences of its ``forward``, so a wrong table entry
fails under the op's own name; then the op is run through the engine (node construction, graph
walk, ``backprop``) and checked with ``autograd.gradcheck``.

The parametrization is built from the engine's tables and the ops declared through
``autograd.extend`` (``nn``'s fused primitives, after importing ``nn``), so a new primitive is tested
as soon as it is declared; the coverage tests below fail until a new tensor op has a sampler here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn  # noqa: F401  (declares nn's primitives through autograd.extend)
from autograd import Tensor, Value, gradcheck
from autograd import scalar_ops as sops
from autograd import tensor_ops as tops
from autograd import value as value_module
from autograd.extend import registered
from autograd.tensor import apply
from autograd.tensor_ops import unbroadcast


def every_op(kind, table):
    """The engine's table and the ops declared through ``autograd.extend`` (``nn``'s), by name. The ops
    that tests declare for their own checks are named ``test_*`` and left out."""
    declared = {name: op for name, op in registered(kind).items() if not name.startswith("test_")}
    return {**table, **declared}


TENSOR_OPS = every_op("tensor", tops.TENSOR_OPS)
SCALAR_OPS = every_op("scalar", sops.SCALAR_OPS)

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-7

# Inputs are kept at least this far from a kink (relu, abs at 0), where finite differences lie.
KINK_GAP = 0.2


# ----------------------------------------------------------------------------- sampling helpers


def uniform(rng, shape, domain, avoid_zero=False):
    lo, hi = domain
    x = rng.uniform(lo, hi, size=shape)
    if avoid_zero:
        mag = rng.uniform(KINK_GAP, max(abs(lo), abs(hi)), size=shape)
        x = np.where(rng.random(shape) < 0.5, -mag, mag)
    return np.asarray(x, dtype=np.float64)


def distinct(rng, shape, domain):
    """Values with no ties (gaps far above the finite-difference step), for max."""
    n = int(np.prod(shape, dtype=int))
    lo, hi = domain
    values = np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2])
    return rng.permutation(values).reshape(shape)


def elementwise_unary(avoid_zero=False, shapes=((), (3,), (2, 3))):
    def sample(op, rng):
        return [([uniform(rng, s, op.domain, avoid_zero)], {}) for s in shapes]

    return sample


def elementwise_binary(shapes=(((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((2, 3), ()))):
    """Same-shape and broadcasting operand pairs (each side broadcast at least once)."""

    def sample(op, rng):
        return [([uniform(rng, sa, op.domain), uniform(rng, sb, op.domain)], {}) for sa, sb in shapes]

    return sample


def sample_pow_const(op, rng):
    cases = []
    for exponent in (2.0, 3.0, -1.5, 0.5, 0.0, 1.0):
        cases.append(([uniform(rng, (2, 3), op.domain)], {"exponent": exponent}))
    return cases


def sample_matmul(op, rng):
    pairs = [
        ((3,), (3,)),
        ((2, 3), (3, 4)),
        ((3,), (3, 4)),
        ((2, 3), (3,)),
        ((2, 2, 3), (3, 4)),
        ((3,), (2, 3, 4)),
        ((2, 2, 3), (3,)),
        ((2, 1, 2, 3), (3, 3, 4)),  # batch dimensions broadcast: (2, 1) with (3,)
    ]
    return [([uniform(rng, sa, op.domain), uniform(rng, sb, op.domain)], {}) for sa, sb in pairs]


REDUCTION_AXES = [
    ((2, 3, 4), None, False),
    ((2, 3, 4), None, True),
    ((2, 3, 4), 1, False),
    ((2, 3, 4), 2, True),
    ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), (0, 1), True),
    ((5,), 0, False),
    ((), None, False),
]


def sample_reduction(op, rng, *, no_ties=False):
    cases = []
    for shape, axis, keepdims in REDUCTION_AXES:
        x = distinct(rng, shape, op.domain) if no_ties else uniform(rng, shape, op.domain)
        cases.append(([x], {"axis": axis, "keepdims": keepdims}))
    return cases


def sample_reshape(op, rng):
    x = uniform(rng, (2, 3, 4), op.domain)
    return [([x], {"shape": s}) for s in ((24,), (4, 6), (2, 12, 1), (4, 3, 2))] + [
        ([uniform(rng, (), op.domain)], {"shape": (1, 1)})
    ]


def sample_transpose(op, rng):
    x = uniform(rng, (2, 3, 4), op.domain)
    return [([x], {"axes": a}) for a in (None, (1, 0, 2), (2, 0, 1), (0, 1, 2))]


def sample_getitem(op, rng):
    x = uniform(rng, (4, 5), op.domain)
    basic = [1, -1, slice(1, 3), (slice(None), 2), (Ellipsis, slice(None, None, 2)), (None, 2, slice(1, 4))]
    advanced = [
        np.array([0, 2, 2, 3, 0]),  # repeated rows: their gradients add up
        (np.array([1, 1, 3]), np.array([0, 0, 4])),  # a repeated element
        (slice(None), np.array([4, 4, 0])),
        np.array([[0, 1], [1, 0]]),
        (slice(None), np.array([0, 0])),  # a tuple inside the index
        (np.array([-2, 2]),),
        (np.array([True, False, True, True]),),  # a boolean mask
        np.arange(20).reshape(4, 5) % 3 == 0,
        (None, Ellipsis, np.array([1, 1])),
    ]
    return [([x], {"index": i, "basic": True}) for i in basic] + [([x], {"index": i, "basic": False}) for i in advanced]


def sample_linear(op, rng):
    cases = []
    for xs, ws in (((4, 3), (3, 2)), ((3,), (3, 2)), ((2, 4, 3), (3, 5))):
        arrays = [uniform(rng, xs, op.domain), uniform(rng, ws, op.domain), uniform(rng, ws[-1:], op.domain)]
        cases.append((arrays, {}))
    return cases


def sample_binary_cross_entropy(op, rng):
    cases = []
    for reduction in ("mean", "sum", "none"):
        p = uniform(rng, (5,), op.domain)
        y = rng.uniform(0.0, 1.0, size=(5,))  # soft targets: the target's vjp is checked too
        cases.append(([p, y], {"reduction": reduction}))
    return cases


def sample_bce_with_logits(op, rng):
    cases = []
    for reduction in ("mean", "sum", "none"):
        z = uniform(rng, (2, 3), (-4.0, 4.0))
        y = rng.uniform(0.0, 1.0, size=(2, 3))
        cases.append(([z, y], {"reduction": reduction}))
    return cases


def sample_cross_entropy(op, rng):
    cases = []
    for reduction in ("mean", "sum", "none"):
        z = uniform(rng, (4, 3), (-3.0, 3.0))
        labels = np.array([0.0, 2.0, 2.0, 1.0])  # an input: class indices held as floats, no gradient
        cases.append(([z, labels], {"reduction": reduction}))
    return cases


def sample_broadcast_to(op, rng):
    return [([uniform(rng, a, op.domain)], {"shape": b}) for a, b in [((3,), (2, 3)), ((2, 1), (2, 4)), ((), (2,))]]


def sample_joined(op, rng):
    arrays = [uniform(rng, (2, 3), op.domain), uniform(rng, (2, 3), op.domain), uniform(rng, (2, 3), op.domain)]
    return [(arrays, {"axis": axis}) for axis in (0, 1)]


def sample_where(op, rng):
    condition = np.array([[True, False, True], [False, False, True]])
    return [([uniform(rng, (2, 3), op.domain), uniform(rng, (3,), op.domain)], {"condition": condition})]


def sample_scatter(op, rng):
    return [
        ([uniform(rng, (5,), op.domain)], {"shape": (4,), "index": (np.array([0, 2, 2, 3, 0]),), "basic": False}),
        ([uniform(rng, (2, 3), op.domain)], {"shape": (4, 3), "index": (slice(1, 3),), "basic": True}),
        (
            [uniform(rng, (4, 2), op.domain)],
            {"shape": (4, 3), "index": (slice(None), np.array([2, 2])), "basic": False},
        ),
    ]


def sample_extremum(op, rng):
    a = uniform(rng, (2, 3), op.domain)
    b = uniform(rng, (3,), op.domain)
    return [([a, b], {}), ([a, a + 0.5], {})]


SOFTMAX_AXES = [((2, 3, 4), -1), ((2, 3, 4), 0), ((2, 3, 4), (0, 2)), ((2, 3, 4), None), ((5,), 0), ((3, 1), 1)]


def sample_softmax(op, rng):
    return [([uniform(rng, shape, (-3.0, 3.0))], {"axis": axis}) for shape, axis in SOFTMAX_AXES]


def sample_spread(op, rng):
    """var and std: every reduction pattern, with ddof 0 and 1 (never all of a group equal)."""
    cases = []
    for (shape, axis, keepdims), ddof in zip(REDUCTION_AXES[:-1], (0, 1, 0, 1, 1, 0, 1)):
        cases.append(([uniform(rng, shape, op.domain)], {"axis": axis, "keepdims": keepdims, "ddof": ddof}))
    return cases


def sample_clip(op, rng):
    """Inputs at least 0.1 away from every bound, where the derivative jumps."""
    x = rng.permutation(np.array([-3.5, -2.5, -1.6, -0.4, 0.3, 0.85, 1.5, 2.2, 3.5, -0.8, 0.6, 0.2])).reshape(3, 4)
    return [
        ([x], {"low": -1.0, "high": 1.0}),
        ([x], {"low": None, "high": 1.0}),
        ([x], {"low": -1.0, "high": None}),
        ([x], {"low": np.array([-1.0, 0.5, -3.0, 0.1]), "high": np.array([[1.0], [3.0], [0.7]])}),
    ]


def sample_squeeze(op, rng):
    x = uniform(rng, (1, 3, 1, 2), op.domain)
    return [([x], {"axis": axis}) for axis in ((0,), (2,), (0, 2), ())] + [
        ([uniform(rng, (1,), op.domain)], {"axis": (0,)})
    ]


def sample_expand_dims(op, rng):
    x = uniform(rng, (2, 3), op.domain)
    return [([x], {"axis": axis}) for axis in ((0,), (2,), (1, 3))] + [([uniform(rng, (), op.domain)], {"axis": (0,)})]


def sample_flatten(op, rng):
    x = uniform(rng, (2, 3, 2, 2), op.domain)
    cases = [([x], {"start_dim": s, "end_dim": e}) for s, e in ((0, 3), (1, 2), (1, 3), (2, 2))]
    return cases + [([uniform(rng, (), op.domain)], {"start_dim": 0, "end_dim": 0})]


def sample_split(op, rng):
    x = uniform(rng, (4, 5), op.domain)
    return [([x], {"axis": axis, "start": a, "stop": b}) for axis, a, b in ((0, 0, 2), (0, 3, 4), (1, 1, 5), (1, 2, 2))]


def sample_cast(op, rng):
    # float64 to float64 only: central differences through a float32 rounding mean nothing (the
    # float32 cast is checked exactly in test_reductions.py)
    return [([uniform(rng, s, op.domain)], {"dtype": np.dtype(np.float64)}) for s in ((), (2, 3))]


# nn.conv's primitives: strides, padding and non-square kernels, on small images (central
# differences take one forward per input element)
WINDOWS = [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 0)), ((2, 3), (1, 1), (0, 1))]


def sample_unfold(op, rng):
    return [
        ([uniform(rng, (2, 2, 5, 4), op.domain)], {"kernel_size": k, "stride": s, "padding": p}) for k, s, p in WINDOWS
    ]


def sample_fold(op, rng):
    cases = []
    for (kh, kw), (sh, sw), (ph, pw) in WINDOWS:
        oh, ow = (5 + 2 * ph - kh) // sh + 1, (4 + 2 * pw - kw) // sw + 1
        cols = uniform(rng, (2, 2, oh, ow, kh, kw), op.domain)
        cases.append(([cols], {"input_size": (5, 4), "stride": (sh, sw), "padding": (ph, pw)}))
    return cases


def sample_conv2d(op, rng):
    cases = []
    for (kh, kw), stride, padding in WINDOWS:
        x = uniform(rng, (2, 2, 5, 4), op.domain)
        w = uniform(rng, (3, 2, kh, kw), op.domain)
        cases.append(([x, w, uniform(rng, (3,), op.domain)], {"stride": stride, "padding": padding}))
    return cases


def sample_pool(op, rng):
    """Windows of distinct values (max pooling's choice is then clear of the finite-difference step)."""
    cases = [
        ([distinct(rng, (2, 2, 5, 4), op.domain)], {"kernel_size": k, "stride": s, "padding": p}) for k, s, p in WINDOWS
    ]
    return cases + [
        ([distinct(rng, (1, 2, 4, 4), op.domain)], {"kernel_size": (2, 2), "stride": (2, 2), "padding": (0, 0)})
    ]


TENSOR_SAMPLERS = {
    "softmax": sample_softmax,
    "log_softmax": sample_softmax,
    "logsumexp": lambda op, rng: [
        ([uniform(rng, shape, (-3.0, 3.0))], {"axis": axis, "keepdims": keepdims})
        for shape, axis, keepdims in REDUCTION_AXES
    ],
    "min": lambda op, rng: sample_reduction(op, rng, no_ties=True),
    "var": sample_spread,
    "std": sample_spread,
    "clip": sample_clip,
    "squeeze": sample_squeeze,
    "expand_dims": sample_expand_dims,
    "flatten": sample_flatten,
    "split": sample_split,
    "cast": sample_cast,
    "maximum": sample_extremum,
    "minimum": sample_extremum,
    "scatter": sample_scatter,
    "broadcast_to": sample_broadcast_to,
    "concatenate": sample_joined,
    "stack": sample_joined,
    "where": sample_where,
    "add": elementwise_binary(),
    "sub": elementwise_binary(),
    "mul": elementwise_binary(),
    "div": elementwise_binary(),
    "pow": elementwise_binary(),
    "pow_const": sample_pow_const,
    "neg": elementwise_unary(),
    "matmul": sample_matmul,
    "exp": elementwise_unary(),
    "log": elementwise_unary(),
    "tanh": elementwise_unary(),
    "sigmoid": elementwise_unary(),
    "relu": elementwise_unary(avoid_zero=True),
    "sqrt": elementwise_unary(),
    "abs": elementwise_unary(avoid_zero=True),
    "sum": sample_reduction,
    "mean": sample_reduction,
    "max": lambda op, rng: sample_reduction(op, rng, no_ties=True),
    "reshape": sample_reshape,
    "transpose": sample_transpose,
    "getitem": sample_getitem,
    "linear": sample_linear,
    "binary_cross_entropy": sample_binary_cross_entropy,
    "binary_cross_entropy_with_logits": sample_bce_with_logits,
    "cross_entropy": sample_cross_entropy,
    "unfold": sample_unfold,
    "fold": sample_fold,
    "conv2d": sample_conv2d,
    "max_pool2d": sample_pool,
    "avg_pool2d": sample_pool,
    "erf": elementwise_unary(),
    "gelu": lambda op, rng: [([uniform(rng, (2, 3), op.domain)], {"approximate": a}) for a in ("none", "tanh")],
}
"""op name -> sampler(op, rng) returning a list of cases ``([input arrays], params)``."""

# Scalar primitives are sampled from ``op.domain`` by kind; a ConstantOp also needs a constant.
SCALAR_CONSTANTS = {
    "add_const": (2.5, -0.75),
    "mul_const": (-1.5, 3.0),
    "pow_const": (2.0, 3.0, -1.0, 0.5, -2.5),
    "rpow_const": (2.0, 0.5, math.e),  # c ** x needs c > 0
    "binary_cross_entropy": (0.0, 1.0, 0.3),  # the target y
}
SCALAR_KINKS = {"relu"}  # sampled away from 0
NARY_ARITY = {"weighted_sum": 5}  # (w1, w2, x1, x2, b); other n-ary ops get 3 inputs


# ----------------------------------------------------------------------------- coverage


def test_tensor_samplers_cover_exactly_the_tensor_op_table():
    assert set(TENSOR_SAMPLERS) == set(TENSOR_OPS), (
        f"missing samplers: {sorted(set(TENSOR_OPS) - set(TENSOR_SAMPLERS))}; "
        f"samplers for unknown ops: {sorted(set(TENSOR_SAMPLERS) - set(TENSOR_OPS))}"
    )


def test_every_scalar_constant_op_has_constants():
    constant_ops = {name for name, op in SCALAR_OPS.items() if isinstance(op, sops.ConstantOp)}
    assert constant_ops == set(SCALAR_CONSTANTS)


def test_tables_hold_the_core_primitives():
    assert {"add", "mul", "pow", "add_const", "mul_const", "pow_const", "rpow_const"} <= set(SCALAR_OPS)
    assert {"exp", "log", "tanh", "sigmoid", "relu"} <= set(SCALAR_OPS)
    assert {"add", "sub", "mul", "div", "matmul", "sum", "mean", "max", "getitem"} <= set(TENSOR_OPS)
    for name, op in {**SCALAR_OPS, **TENSOR_OPS}.items():
        assert op.name == name
        lo, hi = op.domain
        assert lo < hi


# ----------------------------------------------------------------------------- scalar ops


def scalar_cases(op, rng):
    """Lists of (input floats, constant or None)."""
    lo, hi = op.domain
    cases = []
    for _ in range(4):
        if isinstance(op, sops.ConstantOp):
            for c in SCALAR_CONSTANTS[op.name]:
                cases.append(([rng.uniform(lo, hi)], c))
            continue
        n = op.arity if op.arity is not None else NARY_ARITY.get(op.name, 3)
        xs = [float(rng.uniform(lo, hi)) for _ in range(n)]
        if op.name in SCALAR_KINKS:
            xs = [math.copysign(max(abs(x), KINK_GAP), x) for x in xs]
        cases.append((xs, None))
    return cases


def scalar_forward(op, xs, c):
    return op.forward(*xs, c) if isinstance(op, sops.ConstantOp) else op.forward(*xs)


def scalar_node(op, values, c):
    """A Value made by ``op`` from ``values``, built the way the operators build nodes."""
    data = scalar_forward(op, [v.data for v in values], c)
    if isinstance(op, sops.ConstantOp):
        return value_module.with_constant(op, data, values[0], c)
    if isinstance(op, sops.UnaryOp):
        return value_module._unary(op, data, values[0])
    if isinstance(op, sops.BinaryOp):
        return value_module._binary(op, data, values[0], values[1])
    return value_module.nary(op, data, tuple(values))


@pytest.mark.parametrize("name", list(SCALAR_OPS), ids=str)
def test_scalar_op_derivatives_match_finite_differences(name):
    op = SCALAR_OPS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for xs, c in scalar_cases(op, rng):
        out = scalar_forward(op, xs, c)
        declared = op.derivatives(out, *xs, c) if c is not None else op.derivatives(out, *xs)
        assert len(declared) == len(xs), f"{name}: one derivative per input"
        for i in range(len(xs)):
            up, down = list(xs), list(xs)
            up[i] += EPS
            down[i] -= EPS
            numeric = (scalar_forward(op, up, c) - scalar_forward(op, down, c)) / (2 * EPS)
            assert declared[i] == pytest.approx(numeric, rel=RTOL, abs=ATOL), (
                f"{name}: d/dx{i} at {xs} (c={c}) declared {declared[i]!r}, finite differences {numeric!r}"
            )

        # Through the engine: node construction, the graph walk and the op's backprop.
        values = [Value(x) for x in xs]
        node = scalar_node(op, values, c)
        assert node.op is op
        assert node.parents == tuple(values)
        assert node.data == out
        assert op.local_derivatives(node) == pytest.approx(declared)
        # backprop (specialised for speed in some ops) applies exactly the declared derivatives
        node.grad = 0.37
        op.backprop(node)
        assert [v.grad for v in values] == pytest.approx([d * 0.37 for d in declared], rel=1e-14, abs=0.0)
        result = gradcheck(lambda *vs, c=c: scalar_node(op, list(vs), c), *values, atol=ATOL, rtol=RTOL)
        assert result, f"{name} at {xs} (c={c}):\n{result}"


# ----------------------------------------------------------------------------- tensor ops


def numeric_vjp(op, arrays, params, i, g):
    """d sum(g * forward) / d arrays[i] by central differences."""
    x = arrays[i]
    grad = np.zeros(x.shape)
    for k in np.ndindex(x.shape):
        original = x[k]
        x[k] = original + EPS
        up = np.sum(g * op.forward(*arrays, **params))
        x[k] = original - EPS
        down = np.sum(g * op.forward(*arrays, **params))
        x[k] = original
        grad[k] = (up - down) / (2 * EPS)
    return grad


@pytest.mark.parametrize("name", list(TENSOR_OPS), ids=str)
def test_tensor_op_vjps_match_finite_differences(name):
    op = TENSOR_OPS[name]
    sampler = TENSOR_SAMPLERS.get(name)
    assert sampler is not None, f"no sampler for tensor op {name!r}: add one to TENSOR_SAMPLERS"
    rng = np.random.default_rng(sum(map(ord, name)))
    cases = sampler(op, rng)
    assert cases
    for arrays, params in cases:
        out = np.asarray(op.forward(*arrays, **params))
        vjps = op.vjps_for(len(arrays))
        assert len(vjps) == len(arrays), f"{name}: one vjp per input"
        g = rng.standard_normal(out.shape)
        for i, vjp in enumerate(vjps):
            declared = unbroadcast(np.asarray(vjp(g, out, *arrays, **params)), arrays[i].shape)
            assert declared.shape == arrays[i].shape
            numeric = numeric_vjp(op, arrays, params, i, g)
            np.testing.assert_allclose(
                declared,
                numeric,
                rtol=RTOL,
                atol=ATOL,
                err_msg=f"{name}: vjp {i} for shapes {[a.shape for a in arrays]}, params {params}",
            )

        # Through the engine: apply, the graph walk and TensorOp.backprop.
        tensors = [Tensor(a, requires_grad=True) for a in arrays]
        node = apply(op, tuple(tensors), **params)
        assert node.op is op
        assert node.parents == tuple(tensors)
        np.testing.assert_array_equal(node.data, out)
        result = gradcheck(lambda *ts, p=params: apply(op, ts, **p), *tensors, atol=ATOL, rtol=RTOL)
        assert result, f"{name} with params {params}:\n{result}"


# A wrong table entry must be caught by the check above: run it on deliberately broken ops.


def test_the_declared_vjp_check_catches_a_wrong_entry():
    op = tops.TENSOR_OPS["tanh"]
    x = np.array([0.3, -0.7, 1.1])
    out = op.forward(x)
    g = np.ones(3)
    wrong = g * (1.0 - out)  # forgot to square
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(wrong, numeric_vjp(op, [x], {}, 0, g), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.vjps[0](g, out, x), numeric_vjp(op, [x], {}, 0, g), rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------- second order


@pytest.mark.parametrize("name", list(TENSOR_OPS), ids=str)
def test_tensor_op_second_derivatives_match_finite_differences_of_the_gradient(name):
    """The VJPs run on Tensors under create_graph=True: their own derivatives (a Hessian-vector
    product) against central differences of the engine's first-order gradient."""
    op = TENSOR_OPS[name]
    rng = np.random.default_rng(sum(map(ord, name)) + 1)
    for arrays, params in TENSOR_SAMPLERS[name](op, rng):
        tensors = [Tensor(a, requires_grad=True) for a in arrays]
        result = gradcheck(lambda *ts, p=params: apply(op, ts, **p), *tensors, atol=1e-6, rtol=1e-5, order=2)
        assert result, f"{name} with params {params}:\n{result}"


@pytest.mark.parametrize("name", list(SCALAR_OPS), ids=str)
def test_scalar_op_second_derivatives_match_finite_differences_of_the_gradient(name):
    op = SCALAR_OPS[name]
    rng = np.random.default_rng(sum(map(ord, name)) + 2)
    for xs, c in scalar_cases(op, rng):
        values = [Value(x) for x in xs]
        result = gradcheck(lambda *vs, c=c: scalar_node(op, list(vs), c), *values, atol=1e-6, rtol=1e-5, order=2)
        assert result, f"{name} at {xs} (c={c}):\n{result}"


# ----------------------------------------------------------------------------- forward mode


@pytest.mark.parametrize("name", list(TENSOR_OPS), ids=str)
def test_tensor_op_jvps_match_finite_differences(name):
    """Each op's JVP rule (declared, or assembled from its VJPs) against central differences of its
    forward along a random tangent."""
    op = TENSOR_OPS[name]
    rng = np.random.default_rng(sum(map(ord, name)) + 3)
    for arrays, params in TENSOR_SAMPLERS[name](op, rng):
        out = np.asarray(op.forward(*arrays, **params))
        tangents = [rng.standard_normal(a.shape) for a in arrays]
        declared = op.tangent(tangents, out, arrays, params)
        up = np.asarray(op.forward(*[a + EPS * t for a, t in zip(arrays, tangents)], **params))
        down = np.asarray(op.forward(*[a - EPS * t for a, t in zip(arrays, tangents)], **params))
        assert declared.shape == out.shape
        np.testing.assert_allclose(
            declared, (up - down) / (2 * EPS), rtol=RTOL, atol=ATOL, err_msg=f"{name}: jvp with params {params}"
        )


# ----------------------------------------------------------------------------- in-place kernels


KERNEL_OPS = [name for name, op in TENSOR_OPS.items() if op.kernels is not None]


@pytest.mark.parametrize("name", KERNEL_OPS, ids=str)
def test_in_place_kernels_equal_the_forward_and_vjps_they_replace(name):
    op = TENSOR_OPS[name]
    rng = np.random.default_rng(sum(map(ord, name)) + 3)
    for arrays, params in TENSOR_SAMPLERS[name](op, rng):
        expected = np.asarray(op.forward(*arrays, **params))
        if op.kernels.forward is not None:
            out = np.full(expected.shape, np.nan, dtype=expected.dtype)
            op.kernels.forward(out, *arrays, **params)
            np.testing.assert_array_equal(out, expected, err_msg=f"{name} forward kernel, params {params}")
        g = rng.standard_normal(expected.shape)
        for i, kernel in enumerate(op.kernels.vjps):
            if kernel is None:
                continue
            reference = unbroadcast(
                np.asarray(op.vjps_for(len(arrays))[i](g, expected, *arrays, **params)), arrays[i].shape
            )
            dst = np.full(arrays[i].shape, np.nan)
            kernel(dst, g, expected, *arrays, **params)
            np.testing.assert_array_equal(dst, reference, err_msg=f"{name} vjp {i} kernel, {params}")


def test_kernels_are_declared_where_the_replay_needs_them():
    for name in (
        "add",
        "sub",
        "mul",
        "div",
        "exp",
        "tanh",
        "sigmoid",
        "sum",
        "mean",
        "matmul",
        "linear",
        "binary_cross_entropy",
    ):
        assert TENSOR_OPS[name].kernels is not None, name
