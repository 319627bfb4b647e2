"""squeeze, expand_dims / unsqueeze, flatten, split, clip, casts and the torch spellings of transpose:
against numpy over random shapes (hypothesis), their gradients, and their errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
from autograd import Tensor, gradcheck

FAST = settings(max_examples=40, deadline=None)


def leaf(x):
    return Tensor(x, requires_grad=True)


def seed(out):
    return np.linspace(-1.0, 1.5, max(out.size, 1))[: out.size].reshape(out.shape)


def array(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(-2, 2, allow_nan=False))


def backward_reshapes_back(x, out, t):
    """The gradient of a reshaping op is the upstream gradient in x's shape."""
    g = seed(out)
    out.backward(gradient=g)
    np.testing.assert_array_equal(t.grad, np.reshape(g, x.shape))


# ----------------------------------------------------------------------------- squeeze, expand_dims, flatten


@st.composite
def squeeze_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=5, min_side=1, max_side=3))
    ones = [d for d, n in enumerate(shape) if n == 1]
    axis = draw(st.one_of(st.none(), st.lists(st.sampled_from(ones), unique=True).map(tuple) if ones else st.none()))
    if axis is not None and len(axis) == 1 and draw(st.booleans()):
        axis = axis[0] - len(shape) * draw(st.integers(0, 1))  # an int, maybe negative
    return draw(array(shape)), axis


@given(case=squeeze_case())
@FAST
def test_squeeze_matches_numpy(case):
    x, axis = case
    t = leaf(x)
    out = t.squeeze(axis)
    assert out.op.name == "squeeze"
    np.testing.assert_array_equal(out.data, np.squeeze(x, axis))
    backward_reshapes_back(x, out, t)


@st.composite
def expand_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
    count = draw(st.integers(1, 2))
    n_out = len(shape) + count
    positions = draw(st.lists(st.integers(0, n_out - 1), min_size=count, max_size=count, unique=True))
    axes = [p - n_out * draw(st.integers(0, 1)) for p in positions]  # some counted from the end
    return draw(array(shape)), axes[0] if len(axes) == 1 else tuple(axes)


@given(case=expand_case())
@FAST
def test_expand_dims_and_unsqueeze_match_numpy(case):
    x, axis = case
    t = leaf(x)
    out = t.expand_dims(axis)
    assert out.op.name == "expand_dims"
    np.testing.assert_array_equal(out.data, np.expand_dims(x, axis))
    backward_reshapes_back(x, out, t)
    if isinstance(axis, int):
        np.testing.assert_array_equal(leaf(x).unsqueeze(axis).data, np.expand_dims(x, axis))


@st.composite
def flatten_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3))
    n = max(len(shape), 1)
    start = draw(st.integers(-n, n - 1))
    end = draw(st.integers(start % n, n - 1))
    return draw(array(shape)), start, end - n * draw(st.integers(0, 1))


@given(case=flatten_case())
@FAST
def test_flatten_matches_torchs_rule(case):
    x, start, end = case
    t = leaf(x)
    out = t.flatten(start, end)
    if x.ndim == 0:
        expected_shape = (1,)
    else:
        s, e = start % x.ndim, end % x.ndim
        expected_shape = x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :]
    assert out.shape == expected_shape and out.op.name == "flatten"
    np.testing.assert_array_equal(out.data.ravel(), x.ravel())
    backward_reshapes_back(x, out, t)


def test_flatten_defaults_and_views():
    t = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.flatten().shape == (24,) and t.flatten(1).shape == (2, 12) and t.flatten(0, -2).shape == (6, 4)
    assert np.shares_memory(t.flatten().data, t.data)  # a view where numpy's flatten() would copy
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 1"):
        t.flatten(2, 1)
    with pytest.raises(ValueError, match="flatten: axis 3 is out of range"):
        t.flatten(3)


def test_squeeze_and_expand_dims_errors_and_spellings():
    t = Tensor(np.ones((1, 3, 1)))
    with pytest.raises(ValueError, match=r"squeeze: axis 1 of shape \(1, 3, 1\) has length 3, not 1"):
        t.squeeze(1)
    assert t.squeeze(dim=-1).shape == (1, 3) and t.squeeze().shape == (3,) and t.squeeze((0, 2)).shape == (3,)
    with pytest.raises(TypeError, match="squeeze: got both axis=0 and dim=2"):
        t.squeeze(0, dim=2)
    assert Tensor(5.0).squeeze().shape == () and Tensor(5.0).squeeze(0).shape == ()
    assert t.unsqueeze(dim=0).shape == (1, 1, 3, 1) and t.expand_dims(axis=(0, -1)).shape == (1, 1, 3, 1, 1)
    with pytest.raises(TypeError, match="expand_dims: give the position of the new axis"):
        t.expand_dims()
    with pytest.raises(ValueError, match="unsqueeze: axis 4 is out of range for a tensor with 4 dimensions"):
        t.unsqueeze(4)
    with pytest.raises(TypeError, match="unsqueeze: got both dim=0 and axis=1"):
        t.unsqueeze(0, axis=1)


# ----------------------------------------------------------------------------- split


@st.composite
def split_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    length = shape[axis]
    cuts = st.lists(st.integers(-length - 2, length + 2), max_size=4)
    sections = st.integers(1, 4)
    return draw(array(shape)), axis, draw(st.one_of(cuts, sections))


@given(case=split_case())
@FAST
def test_split_and_array_split_match_numpy(case):
    x, axis, how = case
    for ours, theirs in ((autograd.array_split, np.array_split), (autograd.split, np.split)):
        try:
            expected = theirs(x, how, axis=axis)
        except ValueError:
            with pytest.raises(ValueError, match="does not split into"):
                ours(leaf(x), how, axis=axis)
            continue
        t = leaf(x)
        pieces = ours(t, how, axis=axis)
        assert isinstance(pieces, list) and len(pieces) == len(expected)
        for p, e in zip(pieces, expected):
            assert p.op.name == "split"
            np.testing.assert_array_equal(p.data, e)
        # each piece sends its gradient back to the positions it holds (numpy's pieces may overlap)
        sum(((p * (k + 1.0)).sum() for k, p in enumerate(pieces)), Tensor(0.0)).backward()
        expected_grad = np.zeros(x.shape)
        for k, positions in enumerate(theirs(np.arange(x.shape[axis]), how)):
            index = [slice(None)] * x.ndim
            index[axis] = positions
            expected_grad[tuple(index)] += k + 1.0
        np.testing.assert_array_equal(t.grad, expected_grad)


@given(
    length=st.integers(0, 9),
    size=st.one_of(st.integers(1, 4), st.lists(st.integers(0, 4), max_size=4)),
)
@FAST
def test_tensor_split_follows_torch(length, size):
    x = np.arange(float(length * 2)).reshape(length, 2)
    t = leaf(x)
    if isinstance(size, list) and sum(size) != length:
        with pytest.raises(ValueError, match=rf"split: piece lengths {re.escape(str(size))} must be non-negative"):
            t.split(size)
        return
    pieces = t.split(size)
    assert isinstance(pieces, tuple)
    lengths = [p.shape[0] for p in pieces]
    if isinstance(size, int):
        assert lengths == ([size] * (length // size) + ([length % size] if length % size else [])) or (
            length == 0 and lengths == [0]
        )
    else:
        assert lengths == size
    np.testing.assert_array_equal(np.concatenate([p.data for p in pieces] or [np.zeros((0, 2))]), x)


def test_split_gradients_and_errors():
    t = leaf(np.arange(10.0).reshape(2, 5))
    a, b = t.split([2, 3], dim=1)
    assert gradcheck(lambda x: x.split([2, 3], dim=1)[1] * 2.0, leaf(t.data))
    (a.sum() + 3 * b.sum()).backward()
    np.testing.assert_array_equal(t.grad, [[1, 1, 3, 3, 3]] * 2)
    assert [p.shape for p in t.split(2, axis=1)] == [(2, 2), (2, 2), (2, 1)]
    with pytest.raises(TypeError, match="split: got both dim=1 and axis=0"):
        t.split(2, dim=1, axis=0)
    with pytest.raises(ValueError, match="split: the piece size must be positive, got 0"):
        t.split(0)
    with pytest.raises(ValueError, match="split: a 0-d tensor has no axis to split"):
        Tensor(1.0).split(1)
    with pytest.raises(ValueError, match="split: an axis of length 5 does not split into 2 equal sections"):
        autograd.split(t, 2, axis=1)
    with pytest.raises(ValueError, match="array_split: the number of sections must be positive, got 0"):
        autograd.array_split(t, 0)
    with pytest.raises(TypeError, match="split: indices_or_sections must be a number of sections or a sequence"):
        autograd.split(t, 2.5)


# ----------------------------------------------------------------------------- clip


@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=st.floats(-3, 3)),
    low=st.one_of(st.none(), st.floats(-2, 2)),
    high=st.one_of(st.none(), st.floats(-2, 2)),
)
@FAST
def test_clip_matches_numpy_and_passes_the_gradient_inside_the_bounds(x, low, high):
    if low is None and high is None:
        with pytest.raises(ValueError, match="clip: give min, max or both"):
            leaf(x).clip(low, high)
        return
    t = leaf(x)
    out = autograd.clip(t, low, high)
    np.testing.assert_array_equal(out.data, np.clip(x, low, high))
    g = seed(out)
    out.backward(gradient=g)
    inside = np.ones(x.shape, dtype=bool)
    if low is not None:
        inside &= x >= low
    if high is not None:
        inside &= x <= high
    np.testing.assert_array_equal(t.grad, np.where(inside, g, 0.0))


def test_clip_at_the_bounds_and_outside_the_domain_follows_torch():
    t = leaf(np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]))
    out = t.clamp(0.0, 1.0)
    np.testing.assert_array_equal(out.data[:5], [0.0, 0.0, 0.5, 1.0, 1.0])
    assert np.isnan(out.data[5])
    out.backward(gradient=np.ones(6))
    np.testing.assert_array_equal(t.grad, [0.0, 1.0, 1.0, 1.0, 0.0, 0.0])  # ties at a bound pass; NaN does not
    swapped = leaf(np.array([-1.0, 0.5, 2.0]))
    out = swapped.clip(1.0, 0.0)  # min above max: everything is max, and nothing passes
    np.testing.assert_array_equal(out.data, [0.0, 0.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(swapped.grad, 0.0)
    stopped = leaf(np.array([-5.0, 0.5]))
    stopped.clip(0.0, 1.0).backward(gradient=np.array([np.inf, 1.0]))
    np.testing.assert_array_equal(stopped.grad, [0.0, 1.0])  # an infinite gradient outside stops


def test_clip_bounds_are_constants():
    x = leaf(np.ones((2, 3), dtype=np.float32))
    out = x.clip(Tensor([0.0, 0.5, 2.0]), np.array([[0.8], [3.0]]))
    assert out.dtype == np.float32 and out.shape == (2, 3)
    with pytest.raises(TypeError, match="clip: the min bound is a tensor that requires grad"):
        x.clip(leaf(np.zeros(3)), 1.0)
    with pytest.raises(ValueError, match=r"clip: bounds of shapes \(4,\) and \(\) cannot be broadcast"):
        x.clip(np.zeros(4), 1.0)


# ----------------------------------------------------------------------------- casts


@pytest.mark.parametrize("to", [np.float32, np.float16])
def test_a_cast_keeps_the_graph_and_casts_the_gradient_back(to):
    x = leaf(np.array([0.1, -2.5, 3.0]))
    y = x.astype(to)
    assert y.dtype == to and y.op.name == "cast" and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, (2 * y.data).astype(np.float64))  # exactly the float32 gradient


def test_float_double_and_integer_casts():
    x = leaf(np.array([1.5, -2.0]))
    f = x.float()
    assert f.dtype == np.float32 and f.float() is f and x.double() is x
    assert f.double().dtype == np.float64
    assert x.astype(np.float64).op.name == "cast" and x.astype(np.float64, copy=False) is x
    n = x.astype(np.int64)
    assert n.dtype == np.int64 and not n.requires_grad and n.tolist() == [1, -2]  # no gradient, as torch
    assert (x > 0).astype(float).tolist() == [1.0, 0.0]
    assert n.float().dtype == np.float32 and not n.float().requires_grad
    with pytest.raises(TypeError, match="astype: a tensor holds real numbers; cannot convert to complex128"):
        x.astype(np.complex128)
    (gx,) = autograd.grad((x.float() ** 3).sum(), [x], create_graph=True)
    (hx,) = autograd.grad(gx.sum(), [x])  # through the cast twice
    np.testing.assert_allclose(hx, 6 * x.data, rtol=1e-6)


# ----------------------------------------------------------------------------- transpose and swapaxes, torch's way


def test_torchs_transpose_and_permute():
    t = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.transpose(dim0=0, dim1=2).shape == (4, 3, 2)
    assert t.swapaxes(dim0=1, dim1=2).shape == (2, 4, 3)
    assert t.permute(2, 0, 1).shape == (4, 2, 3) and t.permute((1, 0, 2)).shape == (3, 2, 4)
    with pytest.raises(ValueError, match=r"use swapaxes\(0, 2\)"):
        t.transpose(0, 2)
    with pytest.raises(TypeError, match="transpose: give dim0 and dim1"):
        t.transpose(0, dim1=1)
    with pytest.raises(TypeError, match="swapaxes: got both axis1=0 and dim0=1"):
        t.swapaxes(0, 2, dim0=1)


def test_torch_spellings_of_the_free_functions():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.zeros((2, 3)))
    assert autograd.concatenate([a, b], dim=1).shape == (2, 6)
    assert autograd.stack([a, b], dim=2).shape == (2, 3, 2)
    with pytest.raises(TypeError, match="concatenate: got both axis=1 and dim=0"):
        autograd.concatenate([a, b], axis=1, dim=0)
    assert a.maximum(b).tolist() == a.tolist() and a.minimum(2.0).tolist() == a.tolist()
