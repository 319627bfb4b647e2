"""Value against 0-d float64 PyTorch tensors over random programs, and at the edges torch defines.

Programs mix ``+ - * / **`` with numbers and Values on either side (``Value ** Value`` too), ``exp
log tanh sigmoid relu`` and reused nodes, and run backward twice; values and every node's gradient
must agree, and ``.data`` and a leaf's ``.grad`` stay Python floats. Run many more examples with
``BACKPROP_LAB_DIFF=thorough``.

Deliberate: where torch gives inf or NaN (log of 0 or less, 0 to a negative power, division by 0,
a negative number to a fractional power, exp past the largest float) a Value raises an error that
names the op (``test_deliberate_*``), so random programs stay away from those points.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from programs import check, diff_settings, function_program, value_programs

from autograd import Value

FAMILIES = {
    "core": frozenset({"elementwise"}),
    "edges": frozenset({"elementwise", "edges"}),
    "nn": frozenset({"elementwise", "nn"}),  # nn's fused scalar primitives: weighted_sum, binary_cross_entropy
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_random_value_programs_match_torch(family, torch):
    @diff_settings(400)
    @given(data=st.data())
    def run(data):
        check(data.draw(value_programs(torch, FAMILIES[family]), label="program"), torch)

    run()


# Each case is (inputs, function, its text); the function reads the same on Values and 0-d tensors.
EDGE_CASES = {
    "relu at 0": ([0.0], lambda x: x.relu(), "{0}.relu()"),
    "relu at NaN": ([math.nan], lambda x: x.relu(), "{0}.relu()"),
    "relu below 0": ([-2.0], lambda x: x.relu() * x, "{0}.relu() * {0}"),
    "x ** 0 at 0": ([0.0], lambda x: x**0, "{0} ** 0"),
    "x ** 0.5 at 0": ([0.0], lambda x: x**0.5, "{0} ** 0.5"),
    "x ** 2 at 0": ([0.0], lambda x: x**2, "{0} ** 2"),
    "x ** 3 below 0": ([-2.0], lambda x: x**3, "{0} ** 3"),
    "a ** b at b = 0": ([0.0, 0.0], lambda a, b: a**b, "{0} ** {1}"),
    "a ** b at a = 0, b > 0": ([0.0, 2.0], lambda a, b: a**b, "{0} ** {1}"),
    "a ** b at a = 0, b = 0.5": ([0.0, 0.5], lambda a, b: a**b, "{0} ** {1}"),
    "a ** b at a < 0, integer b": ([-2.0, 3.0], lambda a, b: a**b, "{0} ** {1}"),
    "x ** x": ([1.5], lambda x: x**x, "{0} ** {0}"),
    "0 ** x": ([2.0], lambda x: 0.0**x, "0.0 ** {0}"),
    "2 ** x": ([-1.5], lambda x: 2.0**x, "2.0 ** {0}"),
    "number - x, number / x": ([4.0], lambda x: (3.0 - x) / (2.0 / x), "(3.0 - {0}) / (2.0 / {0})"),
    "x / x": ([-0.5], lambda x: x / x, "{0} / {0}"),
    "division by a tiny value": ([1.0, 1e-150], lambda a, b: a / b, "{0} / {1}"),
    "sigmoid far below 0": ([-800.0], lambda x: x.sigmoid(), "{0}.sigmoid()"),
    "sigmoid far above 0": ([800.0], lambda x: x.sigmoid(), "{0}.sigmoid()"),
    "tanh saturated": ([30.0], lambda x: x.tanh(), "{0}.tanh()"),
    "exp near the largest float": ([709.0], lambda x: x.exp(), "{0}.exp()"),
    "log of a tiny value": ([1e-300], lambda x: x.log(), "{0}.log()"),
    "reused subexpression": ([0.7], lambda x: (lambda y: y * y + y.exp())(x.tanh()), "y = {0}.tanh(); y * y + y.exp()"),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_value_edge_case_matches_torch(case, torch):
    inputs, fn, text = EDGE_CASES[case]
    check(function_program(fn, *inputs, text=text, kind="value"), torch)


# Where the local derivative is 0, torch sends 0 back even when the incoming gradient is inf.
MASKED_GRADIENT_CASES = {
    "relu(x) ** 0.5 at x < 0": ([-1.0], lambda x: x.relu() ** 0.5, "{0}.relu() ** 0.5"),
    "relu(x) ** 0.5 at x = 0": ([0.0], lambda x: x.relu() ** 0.5, "{0}.relu() ** 0.5"),
    "(x ** 0 - 1) ** 0.5": ([2.0], lambda x: (x**0 - 1.0) ** 0.5, "({0} ** 0 - 1.0) ** 0.5"),
    "(a ** b - 1) ** 0.5 at b = 0": ([2.0, 0.0], lambda a, b: (a**b - 1.0) ** 0.5, "({0} ** {1} - 1.0) ** 0.5"),
}


@pytest.mark.parametrize("case", list(MASKED_GRADIENT_CASES))
def test_value_zero_local_derivative_stops_infinite_gradients(case, torch):
    inputs, fn, text = MASKED_GRADIENT_CASES[case]
    check(function_program(fn, *inputs, text=text, kind="value"), torch)


def test_value_types_stay_python_floats():
    """``.data`` and ``.grad`` are floats whatever number type went in (numpy scalars, ints, bools)."""
    x = Value(np.float32(1.5))
    y = x * np.float64(2.0) + np.int64(3) - True
    z = np.float64(2.0) * y**2
    z.backward()
    for v in (x, y, z):
        assert type(v.data) is float and type(v.grad) is float, (v.data, v.grad)


# ----------------------------------------------------------------------------- deliberate differences

DELIBERATE = {
    # name: (function raising on Values, the exception, what torch gives)
    "log of 0": (lambda: Value(0.0).log(), ValueError, -math.inf),
    "log below 0": (lambda: Value(-1.0).log(), ValueError, math.nan),
    "0 ** negative": (lambda: Value(0.0) ** -1, ZeroDivisionError, math.inf),
    "number 0 ** negative Value": (lambda: 0.0 ** Value(-1.0), ZeroDivisionError, math.inf),
    "division by the number 0": (lambda: Value(1.0) / 0, ZeroDivisionError, math.inf),
    "division by a Value of 0": (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, math.inf),
    "negative ** fraction": (lambda: Value(-8.0) ** (1 / 3), ValueError, math.nan),
    "exp past the largest float": (lambda: Value(1000.0).exp(), OverflowError, math.inf),
    "power past the largest float": (lambda: Value(10.0) ** Value(400.0), OverflowError, math.inf),
}


@pytest.mark.parametrize("case", list(DELIBERATE))
def test_deliberate_value_raises_where_torch_gives_inf_or_nan(case):
    fn, error, _torch_gives = DELIBERATE[case]
    with pytest.raises(error, match=r"\w"):
        fn()
