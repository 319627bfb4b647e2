"""softmax, log_softmax, logsumexp, min, var, std and argmax / argmin: against numpy over random shapes
and axes (hypothesis), their edge cases (large, infinite and empty inputs, zero variance) and the
numpy / torch spellings of their arguments."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
from autograd import Tensor, gradcheck

FAST = settings(max_examples=40, deadline=None)
SLOW = settings(max_examples=20, deadline=None)
inf = np.inf


def leaf(x):
    return Tensor(x, requires_grad=True)


def seed(out):
    """A fixed, non-trivial upstream gradient for ``out``."""
    return np.linspace(-1.0, 1.5, max(out.size, 1))[: out.size].reshape(out.shape)


def grads(make, x, g=None):
    """``make(leaf(x))`` and the gradient it sends back to x for upstream ``g`` (``seed`` by default)."""
    t = leaf(x)
    out = make(t)
    out.backward(gradient=seed(out) if g is None else g)
    return out, t.grad


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@st.composite
def reduction_case(draw, min_side=0, unique=False, min_dims=0):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=min_side, max_side=4))
    ndim = len(shape)
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1) if ndim else st.none(),
            hnp.valid_tuple_axes(ndim, min_size=1) if ndim else st.none(),
        )
    )
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3, allow_nan=False), unique=unique))
    return x, axis, draw(st.booleans())


def reduced_count(shape, axis):
    axes = range(len(shape)) if axis is None else np.atleast_1d(axis) % max(len(shape), 1)
    return int(np.prod([shape[d] for d in axes], dtype=int)) if shape else 1


# ----------------------------------------------------------------------------- softmax family


def reference_logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    return (
        np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))
        if not keepdims
        else (m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)))
    )


@given(case=reduction_case(min_side=1))
@FAST
def test_logsumexp_matches_numpy_and_its_gradient_is_the_softmax(case):
    x, axis, keepdims = case
    out, g = grads(lambda t: t.logsumexp(axis=axis, keepdims=keepdims), x)
    expected = np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.data, reference_logsumexp(x, axis, keepdims), rtol=1e-12, atol=1e-12)
    up = seed(out) if keepdims else np.expand_dims(seed(out), axis if axis is not None else tuple(range(x.ndim)))
    np.testing.assert_allclose(g, up * np.exp(x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))), atol=1e-12)


@given(case=reduction_case(min_side=1))
@FAST
def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log(case):
    x, axis, _ = case
    axis = -1 if axis is None and x.ndim else axis
    s = leaf(x).softmax(axis=axis)
    ls = leaf(x).log_softmax(axis=axis)
    assert s.shape == ls.shape == x.shape
    np.testing.assert_allclose(np.sum(s.data, axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ls.data, np.log(s.data), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ls.data, x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True)), atol=1e-12)
    # softmax is unchanged by adding a constant along its axis, so a constant upstream gradient gives 0
    _, g = grads(lambda t: t.softmax(axis=axis), x, np.ones(x.shape))
    np.testing.assert_allclose(g, 0.0, atol=1e-12)


@given(case=reduction_case(min_side=1))
@SLOW
def test_softmax_family_gradients_match_finite_differences(case):
    x, axis, keepdims = case
    assert gradcheck(lambda t: t.logsumexp(axis=axis, keepdims=keepdims), leaf(x))
    axis = -1 if axis is None and x.ndim else axis
    assert gradcheck(lambda t: t.softmax(axis=axis), leaf(x))
    assert gradcheck(lambda t: t.log_softmax(axis=axis), leaf(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_softmax_family_is_stable_at_a_thousand(dtype, no_warnings):
    x = np.array([[1e3, 1e3 - 1.0, 1e3 - 50.0], [-1e3, -1e3 + 1.0, -1e3 - 50.0]], dtype=dtype)
    lse, g = grads(lambda t: t.logsumexp(axis=1), x, np.ones(2, dtype))
    row = np.log1p(np.exp(-1.0) + np.exp(-50.0))
    np.testing.assert_allclose(lse.data, [1e3 + row, -1e3 + 1.0 + np.log1p(np.exp(-1.0) + np.exp(-51.0))], rtol=1e-6)
    assert lse.dtype == dtype and g.dtype == dtype
    s, _ = grads(lambda t: t.softmax(axis=1), x)
    ls, _ = grads(lambda t: t.log_softmax(axis=1), x)
    assert np.isfinite(s.data).all() and np.isfinite(ls.data).all() and np.isfinite(g).all()
    # d logsumexp / dx = softmax, up to the rounding of lse ~ 1e3 (ulp 6e-5 in float32) inside e^(x - lse)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(g, s.data, rtol=rtol)
    np.testing.assert_allclose(s.data.sum(axis=1), 1.0, rtol=rtol)


def test_rows_of_minus_infinity_give_what_torch_gives():
    x = np.array([[-inf, -inf], [-inf, 0.0], [1.0, 2.0]])
    lse, g = grads(lambda t: autograd.logsumexp(t, axis=1), x, np.ones(3))
    np.testing.assert_array_equal(lse.data[:2], [-inf, 0.0])
    assert np.isnan(g[0]).all()  # torch: exp(-inf - (-inf))
    np.testing.assert_array_equal(g[1], [0.0, 1.0])
    s, g = grads(lambda t: autograd.softmax(t, axis=1), x, np.ones((3, 2)))
    assert np.isnan(s.data[0]).all() and np.isnan(g[0]).all()
    np.testing.assert_array_equal(s.data[1], [0.0, 1.0])
    np.testing.assert_array_equal(g[1:], 0.0)
    ls, g = grads(lambda t: autograd.log_softmax(t, axis=1), x, np.ones((3, 2)))
    assert np.isnan(ls.data[0]).all() and np.isnan(g[0]).all()
    np.testing.assert_array_equal(ls.data[1], [-inf, 0.0])
    np.testing.assert_array_equal(g[1], [1.0, -1.0])


def test_plus_infinity_and_nan():
    lse, g = grads(lambda t: t.logsumexp(axis=1), np.array([[inf, 1.0], [inf, inf], [np.nan, 1.0]]), np.ones(3))
    np.testing.assert_array_equal(lse.data[:2], [inf, inf])
    assert np.isnan(lse.data[2])
    assert np.isnan(g[0, 0]) and g[0, 1] == 0.0  # as torch


def test_softmax_along_an_axis_of_length_one():
    s, g = grads(lambda t: t.softmax(axis=1), np.array([[3.0], [-2.0]]))
    np.testing.assert_array_equal(s.data, [[1.0], [1.0]])
    np.testing.assert_array_equal(g, [[0.0], [0.0]])
    ls, g = grads(lambda t: t.log_softmax(axis=1), np.array([[3.0], [-2.0]]))
    np.testing.assert_array_equal(ls.data, [[0.0], [0.0]])
    np.testing.assert_array_equal(g, [[0.0], [0.0]])
    one, g = grads(lambda t: t.softmax(), np.array(7.0))  # a 0-d tensor's only axis
    assert one.data == 1.0 and g == 0.0
    lse, g = grads(lambda t: t.logsumexp(dim=0), np.array(7.0), np.array(1.0))
    assert lse.data == 7.0 and g == 1.0


def test_empty_axes_give_torchs_results(no_warnings):
    lse, g = grads(lambda t: t.logsumexp(axis=1), np.ones((2, 0)))
    np.testing.assert_array_equal(lse.data, [-inf, -inf])  # the log of an empty sum
    assert g.shape == (2, 0)
    s, g = grads(lambda t: t.softmax(axis=1), np.ones((2, 0)))
    assert s.shape == (2, 0) and g.shape == (2, 0)
    s, g = grads(lambda t: t.log_softmax(axis=0), np.ones((2, 0)))
    assert s.shape == (2, 0) and g.shape == (2, 0)
    assert Tensor(np.ones((0, 3))).logsumexp(axis=1).shape == (0,)


def test_softmax_axis_default_and_several_axes():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(Tensor(x).softmax().data, Tensor(x).softmax(axis=1).data)
    whole = Tensor(x).softmax(axis=None).data
    np.testing.assert_allclose(whole, np.exp(x) / np.exp(x).sum())
    np.testing.assert_allclose(Tensor(x).softmax(axis=(0, 1)).data, whole)


# ----------------------------------------------------------------------------- min, var, std


@given(case=reduction_case(min_side=1))
@FAST
def test_min_matches_numpy_and_each_group_passes_on_its_gradient(case):
    x, axis, keepdims = case
    out, g = grads(lambda t: t.min(axis=axis, keepdims=keepdims), x)
    expected = np.min(x, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_array_equal(out.data, expected)
    mask = x == np.min(x, axis=axis, keepdims=True)
    assert np.all(g[~mask] == 0.0)
    np.testing.assert_allclose(np.sum(g, axis=axis, keepdims=keepdims), seed(out), atol=1e-12)


def test_min_splits_ties_equally_and_refuses_empty_groups():
    _, g = grads(lambda t: t.min(axis=1), np.array([[1.0, 1.0, 3.0], [2.0, 2.0, 2.0]]), np.ones(2))
    np.testing.assert_allclose(g, [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    with pytest.raises(ValueError, match=r"min: cannot reduce over zero elements \(shape \(2, 0\), axis 1\)"):
        Tensor(np.ones((2, 0))).min(axis=1)
    assert Tensor(np.ones((0, 2))).min(axis=1).shape == (0,)


@pytest.mark.parametrize("name", ["var", "std"])
@given(case=reduction_case(min_side=2, min_dims=1), ddof=st.sampled_from([0, 1, 1.5]))
@FAST
def test_var_and_std_match_numpy(name, case, ddof):
    x, axis, keepdims = case
    out, g = grads(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims, ddof=ddof), x)
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdims, ddof=ddof)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    n = reduced_count(x.shape, axis)
    up = seed(out) if keepdims else np.reshape(seed(out), np.var(x, axis=axis, keepdims=True).shape)
    centred = x - np.mean(x, axis=axis, keepdims=True)
    if name == "var":
        np.testing.assert_allclose(g, up * 2 * centred / (n - ddof), rtol=1e-10, atol=1e-12)
    else:
        std = np.std(x, axis=axis, keepdims=True, ddof=ddof)
        safe = np.where(std == 0, 1.0, std)
        np.testing.assert_allclose(g, np.where(std == 0, 0.0, up * centred / ((n - ddof) * safe)), atol=1e-10)


@pytest.mark.parametrize("name", ["var", "std"])
@given(case=reduction_case(min_side=2, unique=True, min_dims=1))
@SLOW
def test_var_and_std_gradients_match_finite_differences(name, case):
    x, axis, keepdims = case
    assume(np.min(np.std(x, axis=axis)) > 1e-2)  # std is not smooth where a group's elements (nearly) agree
    result = gradcheck(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims, ddof=1), leaf(x))
    assert result, str(result)


def test_std_of_equal_elements_has_gradient_zero_without_nan(no_warnings):
    x = leaf(np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]))
    s = x.std(axis=1)
    assert s.data[0] == 0.0
    (gx,) = autograd.grad(s.sum(), [x], create_graph=True)
    np.testing.assert_array_equal(gx.data[0], 0.0)
    (hx,) = autograd.grad((gx * gx).sum(), [x])  # a second derivative through the zero too
    assert np.isfinite(hx).all()
    _, g = grads(lambda t: t.std(), np.full((2, 2), 3.0), np.array(np.inf))
    np.testing.assert_array_equal(g, 0.0)  # even an infinite upstream gradient stops there, as torch


def test_var_without_degrees_of_freedom_is_an_error():
    t = Tensor(np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"var: 1 element\(s\) per result \(shape \(2, 1\), axis 1\).*ddof=1"):
        t.var(axis=1, ddof=1)
    with pytest.raises(ValueError, match=r"std: 0 element\(s\) per result"):
        Tensor(np.ones((2, 0))).std(axis=1)
    assert t.var(axis=1).shape == (2,)


def test_var_takes_torchs_correction_and_unbiased():
    x = np.arange(6.0).reshape(2, 3) ** 2
    t = Tensor(x)
    for torch_spelling in ({"correction": 1}, {"unbiased": True}, {"ddof": 1}):
        np.testing.assert_allclose(t.var(dim=1, **torch_spelling).data, np.var(x, axis=1, ddof=1))
    np.testing.assert_allclose(t.std(unbiased=False).data, np.std(x))
    with pytest.raises(TypeError, match="var: got ddof=1 and correction=0"):
        t.var(ddof=1, correction=0)
    with pytest.raises(TypeError, match="std: got correction=1 and unbiased=True"):
        t.std(correction=1, unbiased=True)
    with pytest.raises(TypeError, match="unbiased must be True or False"):
        t.std(unbiased=1)
    with pytest.raises(TypeError, match="ddof must be a finite number"):
        t.var(ddof="1")
    with pytest.raises(TypeError):
        t.var(1, True)  # torch's old positional unbiased: keyword-only here, never read as keepdims


# ----------------------------------------------------------------------------- argmax, argmin


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(case=reduction_case(min_side=1))
@FAST
def test_argmax_and_argmin_match_numpy_without_gradient(name, case):
    x, axis, keepdims = case
    if isinstance(axis, tuple):
        axis = axis[0]
    t = leaf(x)
    out = getattr(t, name)(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(out.data, getattr(np, name)(x, axis=axis, keepdims=keepdims))
    assert isinstance(out, Tensor) and out.dtype == np.int64 and not out.requires_grad and out.op is None


def test_argmax_picks_the_first_of_ties_and_refuses_empty_groups():
    t = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0]])
    assert t.argmax(dim=1).tolist() == [1, 0]
    assert t.argmin(dim=1, keepdim=True).tolist() == [[0], [2]]
    assert t.argmax().item() == 1
    assert (t.argmax(axis=1) == Tensor([1, 0])).data.all()
    with pytest.raises(TypeError, match=r"argmax: axis must be an int or None, got \(0, 1\)"):
        t.argmax(axis=(0, 1))
    with pytest.raises(ValueError, match=r"argmin: cannot search over zero elements \(shape \(2, 0\), axis 1\)"):
        Tensor(np.ones((2, 0))).argmin(axis=1)
    picked = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows = picked[np.arange(2), picked.argmax(axis=1)]  # an integer tensor indexes
    np.testing.assert_array_equal(rows.data, [2.0, 5.0])


# ----------------------------------------------------------------------------- numpy's and torch's spellings

REDUCTIONS = ["sum", "mean", "max", "min", "var", "std", "logsumexp", "argmax", "argmin"]


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_take_dim_and_keepdim_and_refuse_both_spellings(name):
    x = np.arange(24.0).reshape(2, 3, 4) % 7
    t = Tensor(x)
    numpy_spelling = getattr(t, name)(axis=1, keepdims=True)
    torch_spelling = getattr(t, name)(dim=1, keepdim=True)
    assert numpy_spelling.shape == torch_spelling.shape == (2, 1, 4)
    np.testing.assert_array_equal(numpy_spelling.data, torch_spelling.data)
    positional = getattr(t, name)(-1)
    np.testing.assert_array_equal(positional.data, getattr(t, name)(dim=-1).data)
    with pytest.raises(TypeError, match=rf"{name}: got both axis=0 and dim=1, two spellings of one argument"):
        getattr(t, name)(axis=0, dim=1)
    with pytest.raises(TypeError, match=rf"{name}: got both keepdims=True and keepdim=True"):
        getattr(t, name)(keepdims=True, keepdim=True)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_takes_dim_and_refuses_both_spellings(name):
    t = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(getattr(t, name)(dim=0).data, getattr(t, name)(axis=0).data)
    np.testing.assert_array_equal(getattr(t, name)(0).data, getattr(t, name)(axis=0).data)
    with pytest.raises(TypeError, match=rf"{name}: got both axis=0 and dim=1"):
        getattr(t, name)(axis=0, dim=1)
    with pytest.raises(ValueError, match=rf"{name}: axis 2 is out of range"):
        getattr(t, name)(dim=2)


def test_a_0d_tensor_reduces_over_axis_0_as_over_everything():
    for name in ("sum", "mean", "max", "min", "logsumexp"):
        t = leaf(np.array(2.0))
        out = getattr(t, name)(axis=0)
        out.backward()
        assert out.shape == () and t.grad == 1.0, name
