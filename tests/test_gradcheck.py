"""``autograd.gradcheck``: results, detection of a wrong gradient, restoring inputs, misuse."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import GradcheckResult, Tensor, Value, gradcheck
from autograd import scalar_ops as sops
from autograd import tensor_ops as tops
from autograd import value as value_module
from autograd.tensor import apply

WRONG_TENSOR_OP = "test_gradcheck_wrong_square"
WRONG_SCALAR_OP = "test_gradcheck_wrong_cube"


@pytest.fixture
def wrong_tensor_op():
    """``x ** 2`` with the vjp ``g * x`` (the factor 2 forgotten). Removed from the table afterwards."""
    op = tops.TensorOp(WRONG_TENSOR_OP, lambda a: a * a, (lambda g, out, a: g * a,), "x^2 with a wrong vjp")
    try:
        yield op
    finally:
        tops.TENSOR_OPS.pop(WRONG_TENSOR_OP, None)


@pytest.fixture
def wrong_scalar_op():
    """``x ** 3`` with the derivative ``3 x`` (should be ``3 x^2``). Removed from the table afterwards."""
    op = sops.UnaryOp(WRONG_SCALAR_OP, "cube", lambda x: x**3, lambda out, x: (3.0 * x,))
    try:
        yield op
    finally:
        sops.SCALAR_OPS.pop(WRONG_SCALAR_OP, None)


def test_result_for_tensors():
    a = Tensor(np.array([[1.0, 2.0], [3.0, -1.0]]), requires_grad=True, label="a")
    b = Tensor(np.array([0.5, -0.25]), requires_grad=True)
    result = gradcheck(lambda x, y: (x * y).tanh(), a, b)
    assert isinstance(result, GradcheckResult)
    assert result.passed and bool(result)
    assert len(result.inputs) == 2
    first, second = result.inputs
    assert first.index == 0 and first.label == "a" and first.shape == (2, 2)
    assert second.index == 1 and second.shape == (2,)
    assert first.analytic.shape == first.numeric.shape == (2, 2)
    for check in result.inputs:
        assert check.passed
        assert 0.0 <= check.max_abs_error < 1e-7
        assert 0.0 <= check.max_rel_error < 1e-6
        assert len(check.worst) == len(check.shape)
        assert all(0 <= i < n for i, n in zip(check.worst, check.shape))
    text = str(result)
    lines = text.splitlines()
    assert lines[0].startswith("gradcheck (eps=1e-06, atol=1e-05, rtol=0.0001): passed")
    assert len(lines) == 3
    assert lines[1].startswith("a ") and "(2, 2)" in lines[1] and lines[1].endswith("ok")
    assert lines[2].startswith("input 1") and "max abs" in lines[2] and "max rel" in lines[2]


def test_result_for_values_and_scalar_outputs_show_the_true_derivative():
    x, y = Value(1.5, label="x"), Value(-0.5)
    result = gradcheck(lambda a, b: a * a * b + b.exp(), x, y)
    assert result
    assert result.inputs[0].analytic == pytest.approx(2 * 1.5 * -0.5)
    assert result.inputs[1].analytic == pytest.approx(1.5**2 + np.exp(-0.5))
    assert result.inputs[0].shape == () and result.inputs[0].worst == ()
    assert str(result).splitlines()[1].startswith("x ")

    t = Tensor(3.0, requires_grad=True)
    result = gradcheck(lambda a: a * a, t)
    assert float(result.inputs[0].analytic) == pytest.approx(6.0)  # L = f for a single-element output


def test_detects_a_wrong_tensor_vjp(wrong_tensor_op):
    x = Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True, label="x")
    out = apply(wrong_tensor_op, (x,))
    np.testing.assert_array_equal(out.data, [1.0, 4.0, 0.25])
    result = gradcheck(lambda a: apply(wrong_tensor_op, (a,)).sum(), x)
    assert not result and not result.passed
    (check,) = result.inputs
    assert not check.passed
    np.testing.assert_allclose(check.numeric, 2 * check.analytic, rtol=1e-6)
    assert check.max_abs_error == pytest.approx(2.0, rel=1e-6)  # engine -2, numeric -4 at x = -2
    assert check.max_rel_error == pytest.approx(0.5, rel=1e-6)
    # a non-scalar output is checked in a random direction: the wrong vjp is caught there too
    assert not gradcheck(lambda a: apply(wrong_tensor_op, (a,)), x)
    assert check.worst == (1,)  # the largest |x| gives the largest error
    assert "FAILED" in str(result) and str(result).rstrip().endswith("FAIL")


def test_the_wrong_op_is_removed_after_the_test():
    assert WRONG_TENSOR_OP not in tops.TENSOR_OPS
    assert WRONG_SCALAR_OP not in sops.SCALAR_OPS


def test_detects_a_wrong_scalar_derivative(wrong_scalar_op):
    x = Value(2.0)
    result = gradcheck(lambda a: value_module._unary(wrong_scalar_op, a.data**3, a) * 1.0, x)
    assert not result
    assert result.inputs[0].analytic == pytest.approx(6.0)
    assert result.inputs[0].numeric == pytest.approx(12.0)


def test_detects_a_wrong_gradient_among_several_inputs(wrong_tensor_op):
    a = Tensor(np.array([0.3, 0.7]), requires_grad=True)
    b = Tensor(np.array([1.5, -0.5]), requires_grad=True)
    result = gradcheck(lambda x, y: x * apply(wrong_tensor_op, (y,)), a, b)
    assert not result
    assert [c.passed for c in result.inputs] == [True, False]


def test_restores_data_and_grads_exactly():
    data = np.array([[0.1, -0.2, 0.3], [1.0 / 3.0, 2.0, -7.0]])
    a = Tensor(data.copy(), requires_grad=True)
    b = Tensor(np.array([0.25, 0.5, 0.75]), requires_grad=True)
    a_data, b_data = a.data, b.data
    previous = np.array([[9.0, 9.0, 9.0], [9.0, 9.0, 9.0]])
    a.grad = previous
    assert gradcheck(lambda x, y: (x * y).sum() * 3.0, a, b)
    assert a.data is a_data and b.data is b_data
    np.testing.assert_array_equal(a.data, data)  # bit for bit
    assert a.grad is previous and b.grad is None
    np.testing.assert_array_equal(previous, 9.0)

    x, y = Value(0.1), Value(1.0 / 3.0)
    x.grad = 5.0
    assert gradcheck(lambda p, q: (p * q).tanh(), x, y)
    assert x.data == 0.1 and y.data == 1.0 / 3.0
    assert x.grad == 5.0 and y.grad == 0.0


def test_restores_inputs_when_fn_raises_during_the_finite_differences():
    calls = []

    def fn(a):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("only once")
        return a * 2.0

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="only once"):
        gradcheck(fn, x)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    assert x.grad is None


def test_non_contiguous_inputs_are_nudged_in_place():
    # a leaf whose data is a transposed (Fortran-order) array: its flat reshape is a copy
    a = Tensor(np.arange(6.0).reshape(3, 2).T, requires_grad=True)
    assert not a.data.flags["C_CONTIGUOUS"]
    result = gradcheck(lambda x: (x * x).sum(), a)
    assert result, str(result)
    np.testing.assert_allclose(result.inputs[0].numeric, 2 * a.data, atol=1e-6)
    np.testing.assert_array_equal(a.data, np.arange(6.0).reshape(3, 2).T)


def test_rejects_mixed_inputs():
    with pytest.raises(TypeError, match=r"gradcheck: inputs must be all Values or all Tensors, got Value, Tensor"):
        gradcheck(lambda x, y: x, Value(1.0), Tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="gradcheck: inputs must be all Values or all Tensors"):
        gradcheck(lambda x: x, np.ones(2))


def test_rejects_inputs_without_requires_grad():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([[3.0, 4.0]])
    with pytest.raises(ValueError, match=r"gradcheck: input 1 \(shape \(1, 2\)\) must have requires_grad=True"):
        gradcheck(lambda x, y: x * y, a, b)


def test_rejects_no_inputs_and_wrong_outputs():
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda: Value(1.0))
    with pytest.raises(TypeError, match="fn must return a Value"):
        gradcheck(lambda x: 3.0, Value(1.0))
    with pytest.raises(TypeError, match="fn must return a Tensor"):
        gradcheck(lambda x: x.data, Tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match="does not depend on any input"):
        gradcheck(lambda x: Tensor([1.0]), Tensor([1.0], requires_grad=True))


def test_input_unused_by_fn_has_zero_gradient():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0], requires_grad=True)
    result = gradcheck(lambda x, y: x * 2.0, a, b)
    assert result
    np.testing.assert_array_equal(result.inputs[1].analytic, [0.0])
    np.testing.assert_array_equal(result.inputs[1].numeric, [0.0])


def test_tolerances_are_applied():
    x = Value(2.0)
    fn = lambda a: a**3
    assert gradcheck(fn, x, eps=1e-3, atol=1e-3, rtol=0)  # error ~ eps^2 = 1e-6
    assert not gradcheck(fn, x, eps=1e-1, atol=1e-6, rtol=0)  # error ~ 1e-2
    result = gradcheck(fn, x, eps=1e-4)
    assert (result.eps, result.atol, result.rtol) == (1e-4, 1e-5, 1e-4)


def test_leaves_behind_a_computed_input_keep_their_gradients():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    w.grad = np.array([5.0, 6.0])
    hidden = w * 3.0  # a computed input: backward also reaches w behind it
    assert gradcheck(lambda h: (h * h).sum(), hidden)
    np.testing.assert_array_equal(w.grad, [5.0, 6.0])

    a = Value(0.5)
    a.grad = 7.0
    b = a.tanh()
    assert gradcheck(lambda b: b * b, b)
    assert a.grad == 7.0


def test_an_input_without_elements_prints_and_renders():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    result = gradcheck(lambda x: (x * 2).sum(), x)
    assert result and "(no elements)" in str(result) and "no elements" in result._repr_html_()
