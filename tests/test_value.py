"""``Value``: the scalar node: operators, functions, numerics and errors."""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, gradcheck

FAST = settings(max_examples=40, deadline=None)


def grad_of(fn, *xs):
    vs = [Value(x) for x in xs]
    out = fn(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


# ----------------------------------------------------------------------------- construction


def test_construction_makes_floats():
    for raw in (3, 3.0, np.float32(3.0), np.int64(3), True):
        v = Value(raw)
        assert type(v.data) is float
        assert v.grad == 0.0 and v.op is None and v.parents == ()
    assert Value(2.5, label="w").label == "w"
    assert Value(Value(1.5)).data == 1.5


@pytest.mark.parametrize("bad", ["x", None, [1.0], 1 + 2j, np.array([1.0, 2.0])])
def test_construction_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="Value: data must be a real number"):
        Value(bad)


def test_repr_shows_data_grad_and_label():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(2.0, label="w")) == "Value(data=2.0, grad=0.0, label='w')"


# ----------------------------------------------------------------------------- operators


def test_operators_forward_and_backward():
    data, (ga, gb) = grad_of(lambda a, b: a * b + a / b - b**2 + a**b, 1.5, 2.0)
    assert data == pytest.approx(1.5 * 2 + 1.5 / 2 - 4 + 1.5**2)
    assert ga == pytest.approx(2 + 1 / 2 + 2 * 1.5)
    assert gb == pytest.approx(1.5 - 1.5 / 4 - 4 + 1.5**2 * math.log(1.5))


@pytest.mark.parametrize(
    ("fn", "expected", "dx"),
    [
        (lambda x: 2 + x, 5.0, 1.0),
        (lambda x: 2 - x, -1.0, -1.0),
        (lambda x: x - 2, 1.0, 1.0),
        (lambda x: 2 * x, 6.0, 2.0),
        (lambda x: 6 / x, 2.0, -6 / 9),
        (lambda x: x / 2, 1.5, 0.5),
        (lambda x: 2**x, 8.0, 8.0 * math.log(2)),
        (lambda x: x**2, 9.0, 6.0),
        (lambda x: -x, -3.0, -1.0),
        (lambda x: x.exp(), math.exp(3), math.exp(3)),
        (lambda x: x.log(), math.log(3), 1 / 3),
        (lambda x: x.tanh(), math.tanh(3), 1 - math.tanh(3) ** 2),
        (lambda x: x.sigmoid(), 1 / (1 + math.exp(-3)), math.exp(-3) / (1 + math.exp(-3)) ** 2),
        (lambda x: x.relu(), 3.0, 1.0),
        (lambda x: (-x).relu(), 0.0, 0.0),
    ],
)
def test_each_operator_at_three(fn, expected, dx):
    data, (g,) = grad_of(fn, 3.0)
    assert data == pytest.approx(expected, rel=1e-14)
    assert g == pytest.approx(dx, rel=1e-12)


def test_relu_at_the_kink_has_zero_gradient():
    data, (g,) = grad_of(lambda x: x.relu(), 0.0)
    assert data == 0.0 and g == 0.0


def test_numpy_scalars_on_the_left_give_values():
    x = Value(3.0)
    y = np.float64(2.0) * x
    assert isinstance(y, Value) and y.data == 6.0


@given(
    st.floats(-3, 3, allow_nan=False),
    st.floats(0.2, 3, allow_nan=False),
    st.floats(-3, 3, allow_nan=False),
)
@FAST
def test_composite_expression_matches_finite_differences(a, b, c):
    fn = lambda x, y, z: ((x * y + z).tanh() * y.log() + (z - x).sigmoid() * 2.0 + (x * z).exp() / y) ** 2
    result = gradcheck(fn, Value(a), Value(b), Value(c), atol=1e-5, rtol=1e-5)
    assert result, str(result)


@given(st.floats(-50, 50), st.floats(-50, 50))
@FAST
def test_forward_matches_math(a, b):
    x, y = Value(a), Value(b)
    assert (x + y).data == a + b
    assert (x * y).data == a * b
    assert (x - y).data == pytest.approx(a - b, abs=1e-12)
    assert (x.tanh()).data == math.tanh(a)
    assert (x.relu()).data == max(a, 0.0)


# ----------------------------------------------------------------------------- numerics


def test_sigmoid_is_stable_from_minus_to_plus_a_thousand():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for t in np.linspace(-1e3, 1e3, 401):
            x = Value(float(t))
            s = x.sigmoid()
            s.backward()
            assert 0.0 <= s.data <= 1.0
            assert 0.0 <= x.grad <= 0.25
            assert math.isfinite(x.grad)
    assert Value(-1e3).sigmoid().data == 0.0
    assert Value(1e3).sigmoid().data == 1.0
    assert Value(0.0).sigmoid().data == 0.5


def test_tanh_saturates_without_error():
    for t in (-1e3, -30.0, 30.0, 1e3):
        x = Value(t)
        y = x.tanh()
        y.backward()
        assert abs(y.data) == 1.0
        assert x.grad == 0.0


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv, pow])
def test_non_numeric_operand_is_a_type_error(op):
    x = Value(1.0)
    with pytest.raises(TypeError):
        op(x, "a")
    with pytest.raises(TypeError):
        op("a", x)
    with pytest.raises(TypeError):
        op(x, None)
    with pytest.raises(TypeError, match="unsupported operand"):
        x + "a"


def test_log_of_non_positive_value():
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"log: input must be positive"):
            Value(bad).log()


def test_zero_to_a_negative_power():
    with pytest.raises(ZeroDivisionError, match=r"\*\*: 0.0 cannot be raised to the negative power"):
        Value(0.0) ** -1
    with pytest.raises(ZeroDivisionError, match=r"\*\*"):
        Value(0.0) ** Value(-2.0)
    with pytest.raises(ZeroDivisionError, match=r"^/: division of 1.0 by a Value that is zero"):
        1.0 / Value(0.0)
    with pytest.raises(ZeroDivisionError, match=r"^/: division of 1.0 by a Value that is zero"):
        Value(1.0) / Value(0.0)


def test_negative_base_to_a_fractional_power():
    with pytest.raises(ValueError, match=r"\*\*: negative base -2.0 with non-integer exponent 0.5"):
        Value(-2.0) ** 0.5
    with pytest.raises(ValueError, match=r"negative base"):
        Value(-2.0) ** Value(1.5)
    with pytest.raises(ValueError, match=r"negative base"):
        (-8.0) ** Value(1 / 3)
    assert (Value(-2.0) ** 3).data == -8.0  # integer exponents are fine


def test_division_by_a_zero_constant():
    with pytest.raises(ZeroDivisionError, match="/: division of 1.0 by zero"):
        Value(1.0) / 0


def test_exp_overflow_names_the_op():
    with pytest.raises(OverflowError, match="exp"):
        Value(1000.0).exp()
    with pytest.raises(OverflowError, match=r"\*\*"):
        Value(10.0) ** 1000.0


def test_nothing_is_recorded_when_an_op_fails():
    x = Value(-1.0)
    with pytest.raises(ValueError):
        x.log()
    assert x.grad == 0.0 and x.parents == ()


# ----------------------------------------------------------------------------- zero derivatives, NaN, overflow


def test_relu_of_nan_is_nan_and_a_dead_relu_stops_an_infinite_gradient():
    assert math.isnan(Value(float("nan")).relu().data)
    x = Value(-1.0)
    y = x.relu() ** 0.5  # d/dy at 0 is infinite
    y.backward()
    assert x.grad == 0.0


def test_zero_exponent_stops_an_infinite_gradient():
    x = Value(0.0)
    z = Value(0.0)
    y = (x**0) * (z**0.5)  # d/dz sqrt at 0 is infinite, and x**0 ignores x
    y.backward()
    assert x.grad == 0.0
    a, b = Value(2.0), Value(0.0)
    ((a**b) * Value(0.0) ** 0.5).backward()
    assert a.grad == 0.0


def test_a_huge_derivative_is_infinite_not_an_overflow_error():
    x = Value(1e-200)
    y = x**-1.5
    y.backward()
    assert x.grad == -math.inf
    n = Value(-1e-100)
    (n**-3.0).backward()  # -3 x^-4: negative infinity
    assert n.grad == -math.inf
    k = Value(-1e-150)
    (k**-2.0).backward()  # -2 x^-3 with x < 0: positive infinity
    assert k.grad == math.inf
