"""Tensor primitives against numpy, over random shapes and broadcasting (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd import Tensor, gradcheck
from autograd import tensor_ops as ops
from autograd.tensor_ops import TENSOR_OPS, unbroadcast

FAST = settings(max_examples=40, deadline=None)
SLOW = settings(max_examples=25, deadline=None)  # for the finite-difference checks


def floats_in(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def array(shape, lo=-2.0, hi=2.0, **kwargs):
    return hnp.arrays(np.float64, shape, elements=floats_in(lo, hi), **kwargs)


def leaf(x):
    return Tensor(x, requires_grad=True)


def seed(out):
    """A fixed, non-trivial upstream gradient for ``out``."""
    return np.linspace(-1.0, 1.5, max(out.size, 1))[: out.size].reshape(out.shape)


# ----------------------------------------------------------------------------- elementwise

BINARY = {
    "add": (lambda a, b: a + b, np.add, (-2.0, 2.0)),
    "sub": (lambda a, b: a - b, np.subtract, (-2.0, 2.0)),
    "mul": (lambda a, b: a * b, np.multiply, (-2.0, 2.0)),
    "div": (lambda a, b: a / b, np.divide, (0.5, 2.0)),
    "pow": (lambda a, b: a**b, np.power, (0.5, 2.0)),
}

UNARY = {
    "neg": (lambda a: -a, np.negative, (-2.0, 2.0)),
    "exp": (lambda a: a.exp(), np.exp, (-2.0, 2.0)),
    "log": (lambda a: a.log(), np.log, (0.2, 3.0)),
    "tanh": (lambda a: a.tanh(), np.tanh, (-3.0, 3.0)),
    "sigmoid": (lambda a: a.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), (-5.0, 5.0)),
    "relu": (lambda a: a.relu(), lambda x: np.maximum(x, 0), (-2.0, 2.0)),
    "sqrt": (lambda a: a.sqrt(), np.sqrt, (0.2, 3.0)),
    "abs": (lambda a: abs(a), np.abs, (-2.0, 2.0)),
    "pow_const": (lambda a: a**2.5, lambda x: x**2.5, (0.2, 2.0)),
}


@pytest.mark.parametrize("name", list(BINARY))
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3), data=st.data())
@FAST
def test_binary_forward_and_grad_shapes_match_numpy(name, shapes, data):
    method, reference, (lo, hi) = BINARY[name]
    sa, sb = shapes.input_shapes
    a = data.draw(array(sa, lo, hi), label="a")
    b = data.draw(array(sb, lo, hi), label="b")
    ta, tb = leaf(a), leaf(b)
    out = method(ta, tb)
    assert out.op is TENSOR_OPS[name]
    np.testing.assert_allclose(out.data, reference(a, b), rtol=1e-15)
    assert out.shape == shapes.result_shape
    out.backward(gradient=seed(out))
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    # the gradient reaching a stretched input is the sum over the stretched axes
    if name in ("add", "sub"):
        np.testing.assert_allclose(ta.grad, unbroadcast(seed(out), sa), rtol=1e-12)
        sign = 1.0 if name == "add" else -1.0
        np.testing.assert_allclose(tb.grad, sign * unbroadcast(seed(out), sb), rtol=1e-12)


@pytest.mark.parametrize("name", list(BINARY))
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3), data=st.data())
@SLOW
def test_binary_gradients_match_finite_differences(name, shapes, data):
    method, _, (lo, hi) = BINARY[name]
    sa, sb = shapes.input_shapes
    a = leaf(data.draw(array(sa, lo, hi), label="a"))
    b = leaf(data.draw(array(sb, lo, hi), label="b"))
    result = gradcheck(method, a, b)
    assert result, str(result)


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
@FAST
def test_unary_forward_and_gradients(name, data):
    method, reference, (lo, hi) = UNARY[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), label="shape")
    x = data.draw(array(shape, lo, hi), label="x")
    if name in ("relu", "abs"):
        x = np.where(np.abs(x) < 0.1, 0.5, x)  # keep away from the kink for the finite differences
    t = leaf(x)
    out = method(t)
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-14)
    assert out.shape == x.shape
    assert gradcheck(method, t)
    out.backward(gradient=np.ones(out.shape))
    assert t.grad.shape == x.shape


def test_scalar_operands_broadcast_both_ways():
    a = leaf(np.array([[1.0, 2.0], [3.0, 4.0]]))
    out = (2.0 - a) * 3 + 1 / a - a / 2 + 2**a
    expected = (2.0 - a.data) * 3 + 1 / a.data - a.data / 2 + 2**a.data
    np.testing.assert_allclose(out.data, expected)
    out.sum().backward()
    np.testing.assert_allclose(a.grad, -3 - 1 / a.data**2 - 0.5 + 2**a.data * np.log(2))


# ----------------------------------------------------------------------------- reductions


@st.composite
def reduction_case(draw, unique=False):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))
    ndim = len(shape)
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1) if ndim else st.none(),
            hnp.valid_tuple_axes(ndim, min_size=0),
        )
    )
    keepdims = draw(st.booleans())
    x = draw(array(shape, unique=unique))
    return x, axis, keepdims


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@given(case=reduction_case())
@FAST
def test_reductions_match_numpy(name, case):
    x, axis, keepdims = case
    reference = {"sum": np.sum, "mean": np.mean, "max": np.max}[name]
    t = leaf(x)
    out = getattr(t, name)(axis=axis, keepdims=keepdims)
    expected = reference(x, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    g = seed(out)
    out.backward(gradient=g)
    assert t.grad.shape == x.shape
    # the gradient is g copied back along the reduced axes (scaled for the mean, masked for max)
    g_full = np.broadcast_to(g if keepdims else np.reshape(g, np.sum(x, axis=axis, keepdims=True).shape), x.shape)
    if name == "sum":
        np.testing.assert_allclose(t.grad, g_full)
    elif name == "mean":
        n = x.size // max(np.size(expected), 1) if x.size else 1
        np.testing.assert_allclose(t.grad, g_full / n)
    else:
        peak = np.max(x, axis=axis, keepdims=True)
        mask = x == peak
        np.testing.assert_allclose(t.grad, g_full * mask / mask.sum(axis=axis, keepdims=True))
        # each reduced group passes on exactly its own upstream gradient
        np.testing.assert_allclose(np.sum(t.grad, axis=axis, keepdims=keepdims), g, atol=1e-12)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@given(case=reduction_case(unique=True))
@SLOW
def test_reduction_gradients_match_finite_differences(name, case):
    x, axis, keepdims = case
    t = leaf(x)
    if name == "max" and x.size > 1:
        gaps = np.diff(np.sort(x.ravel()))
        if gaps.min() < 1e-4:  # near-ties make finite differences of max meaningless
            return
    result = gradcheck(lambda a: getattr(a, name)(axis=axis, keepdims=keepdims), t)
    assert result, str(result)


def test_max_splits_the_gradient_equally_among_ties():
    t = leaf(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
    t.max(axis=1).sum().backward()
    np.testing.assert_allclose(t.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    t.grad = None
    t.max().backward()
    np.testing.assert_allclose(t.grad, [[0, 0.5, 0.5], [0, 0, 0]])


# ----------------------------------------------------------------------------- shape ops


@st.composite
def reshape_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))
    size = int(np.prod(shape, dtype=int))
    # a new shape with the same number of elements: a random factorization of ``size``
    factors = []
    rest = size
    for d in (2, 3, 2, 5):
        if rest % d == 0 and draw(st.booleans()):
            factors.append(d)
            rest //= d
    factors.append(rest)
    target = tuple(draw(st.permutations(factors)))
    if draw(st.booleans()) and target:
        target = (-1, *target[1:])
    return draw(array(shape)), target


@given(case=reshape_case())
@FAST
def test_reshape_matches_numpy(case):
    x, target = case
    t = leaf(x)
    out = t.reshape(target)
    np.testing.assert_array_equal(out.data, np.reshape(x, target))
    g = seed(out)
    out.backward(gradient=g)
    np.testing.assert_array_equal(t.grad, np.reshape(g, x.shape))


@st.composite
def transpose_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))
    axes = draw(st.one_of(st.none(), st.permutations(range(len(shape))).map(tuple)))
    return draw(array(shape)), axes


@given(case=transpose_case())
@FAST
def test_transpose_matches_numpy(case):
    x, axes = case
    t = leaf(x)
    out = t.transpose(axes)
    np.testing.assert_array_equal(out.data, np.transpose(x, axes))
    g = seed(out)
    out.backward(gradient=g)
    assert t.grad.shape == x.shape
    back = np.zeros_like(x)
    np.transpose(back, axes)[...] = g  # scatter through a transposed view
    np.testing.assert_array_equal(t.grad, back)
    assert gradcheck(lambda a: a.transpose(axes), leaf(x))


# ----------------------------------------------------------------------------- getitem


@st.composite
def basic_index_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True))
    return draw(array(shape)), index


@given(case=basic_index_case())
@FAST
def test_getitem_with_basic_indices(case):
    x, index = case
    t = leaf(x)
    out = t[index]
    np.testing.assert_array_equal(out.data, x[index])
    g = seed(out)
    out.backward(gradient=g)
    expected = np.zeros_like(x)
    expected[index] += g
    np.testing.assert_array_equal(t.grad, expected)


@st.composite
def advanced_index_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    index = draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=6)))
    return draw(array(shape)), index


@given(case=advanced_index_case())
@FAST
def test_getitem_with_integer_arrays_accumulates_repeated_indices(case):
    x, index = case
    t = leaf(x)
    out = t[index]
    np.testing.assert_array_equal(out.data, x[index])
    g = seed(out)
    out.backward(gradient=g)
    expected = np.zeros_like(x)
    np.add.at(expected, index, g)
    np.testing.assert_allclose(t.grad, expected, rtol=1e-12, atol=1e-12)
    assert t.grad.sum() == pytest.approx(g.sum())  # every upstream element lands somewhere
    assert gradcheck(lambda a: a[index], leaf(x))


def test_getitem_with_a_boolean_mask():
    t = leaf(np.arange(4.0))
    out = t[np.array([True, False, True, True])]
    np.testing.assert_array_equal(out.data, [0.0, 2.0, 3.0])
    out.backward(gradient=np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(t.grad, [1.0, 0.0, 2.0, 3.0])


def test_getitem_repeated_rows_and_mixed_indices():
    t = leaf(np.arange(12.0).reshape(3, 4))
    out = t[[0, 2, 0, 0]]
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [[3.0] * 4, [0.0] * 4, [1.0] * 4])
    t.grad = None
    out = t[1:, [3, 3, 0]]
    np.testing.assert_array_equal(out.data, t.data[1:, [3, 3, 0]])
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [[0, 0, 0, 0], [1, 0, 0, 2], [1, 0, 0, 2]])
    t.grad = None
    t[Tensor([1, 1])].sum().backward()
    np.testing.assert_array_equal(t.grad[1], [2.0] * 4)


# ----------------------------------------------------------------------------- matmul


@given(shapes=hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3), data=st.data())
@FAST
def test_matmul_matches_numpy_for_1d_2d_and_batched(shapes, data):
    sa, sb = shapes.input_shapes
    a = data.draw(array(sa), label="a")
    b = data.draw(array(sb), label="b")
    ta, tb = leaf(a), leaf(b)
    out = ta @ tb
    expected = np.matmul(a, b)
    assert out.shape == np.shape(expected) == shapes.result_shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    g = seed(out)
    out.backward(gradient=g)
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape


@given(shapes=hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3), data=st.data())
@SLOW
def test_matmul_gradients_match_finite_differences(shapes, data):
    sa, sb = shapes.input_shapes
    a = leaf(data.draw(array(sa), label="a"))
    b = leaf(data.draw(array(sb), label="b"))
    result = gradcheck(lambda x, y: x @ y, a, b)
    assert result, str(result)


@pytest.mark.parametrize(
    ("sa", "sb"),
    [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 2, 3), (3,)), ((3,), (4, 3, 2)), ((2, 1, 2, 3), (3, 3, 2))],
)
def test_matmul_edge_shapes(sa, sb):
    rng = np.random.default_rng(1)
    a, b = leaf(rng.standard_normal(sa)), leaf(rng.standard_normal(sb))
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b.data)
    assert gradcheck(lambda x, y: x @ y, a, b)


# ----------------------------------------------------------------------------- helpers


def test_unbroadcast():
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (2, 3, 4)) is g
    np.testing.assert_array_equal(unbroadcast(g, (4,)), np.full(4, 6.0))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(unbroadcast(g, ()), 24.0)
    np.testing.assert_array_equal(unbroadcast(g, (1, 1, 1)), np.full((1, 1, 1), 24.0))
    np.testing.assert_array_equal(unbroadcast(np.float64(2.0) * np.ones(()), (2, 2)), np.full((2, 2), 2.0))


def test_tensor_op_table_and_registration():
    for name, op in TENSOR_OPS.items():
        assert isinstance(op, ops.TensorOp) and op.name == name
        assert repr(op) == f"<tensor op {name}>" and str(op) == name
        assert op.arity is None or op.arity == len(op.vjps) >= 1
    assert TENSOR_OPS["matmul"].arity == 2 and TENSOR_OPS["sum"].arity == 1
    with pytest.raises(ValueError, match="tensor op 'add' is already declared"):
        ops.TensorOp("add", np.add, (lambda g, out, a, b: g,) * 2)
    assert TENSOR_OPS["add"] is ops.ADD


def test_node_labels_show_params():
    t = leaf(np.ones((2, 3)))
    s = t.sum(axis=1, keepdims=False)
    assert s.op.label(s) == "sum(axis=1, keepdims=False)"
    u = t + t
    assert u.op.label(u) == "add"
    r = t[np.arange(30) % 2]
    assert "..." in r.op.label(r)


@FAST
@given(
    st.integers(1, 80),
    st.integers(1, 3),
    st.integers(1, 90),
    st.sampled_from([np.float64, np.float32]),
    st.booleans(),
    st.booleans(),
)
def test_matmul_2d_equals_numpys_matmul_bit_for_bit(n, k, m, dtype, transposed, into):
    rng = np.random.default_rng(n * 1000 + k * 100 + m)
    a = rng.standard_normal((n, k)).astype(dtype)
    b = rng.standard_normal((m, k)).astype(dtype).T if transposed else rng.standard_normal((k, m)).astype(dtype)
    out = np.full((n, m), np.nan, dtype=dtype) if into else None
    result = ops.matmul_2d(a, b, out=out)
    expected = np.matmul(a, b)
    assert result.dtype == expected.dtype and result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)
    if into:
        assert result is out


def test_matmul_2d_takes_the_outer_product_path_only_for_large_outer_products(monkeypatch):
    calls = []
    monkeypatch.setattr(np, "einsum", lambda *args, **kw: calls.append(args[0]) or np.zeros((256, 128)))
    ops.matmul_2d(np.ones((256, 1)), np.ones((1, 128)))
    ops.matmul_2d(np.ones((4, 1)), np.ones((1, 4)))
    ops.matmul_2d(np.ones((256, 2)), np.ones((2, 128)))
    ops.matmul_2d(np.ones((256, 1), dtype=np.float32), np.ones((1, 128)))
    assert calls == ["ik,kj->ij"]
