"""The scalar op table: kinds, helpers, labels, and how each kind of node backpropagates."""

from __future__ import annotations

import math

import pytest

from autograd import Value
from autograd import scalar_ops as ops
from autograd.scalar_ops import SCALAR_OPS


def test_table_kinds_and_arity():
    kinds = {
        "add": ops.BinaryOp,
        "mul": ops.BinaryOp,
        "pow": ops.BinaryOp,
        "add_const": ops.ConstantOp,
        "mul_const": ops.ConstantOp,
        "pow_const": ops.ConstantOp,
        "rpow_const": ops.ConstantOp,
        "exp": ops.UnaryOp,
        "log": ops.UnaryOp,
        "tanh": ops.UnaryOp,
        "sigmoid": ops.UnaryOp,
        "relu": ops.UnaryOp,
    }
    for name, kind in kinds.items():
        op = SCALAR_OPS[name]
        assert isinstance(op, kind)
        assert op.arity == {ops.BinaryOp: 2, ops.ConstantOp: 1, ops.UnaryOp: 1}[kind]
        assert repr(op) == f"<scalar op {name}>"
        assert str(op) == op.symbol
        assert callable(op.forward) and callable(op.derivatives)
    for op in SCALAR_OPS.values():
        assert isinstance(op, ops.ScalarOp)


def test_declaring_a_name_twice_is_an_error():
    with pytest.raises(ValueError, match="'add' is already declared"):
        ops.BinaryOp("add", "+", lambda a, b: a + b, lambda out, a, b: (1.0, 1.0))
    assert isinstance(SCALAR_OPS["add"], ops.BinaryOp) and SCALAR_OPS["add"] is ops.ADD


def test_power_helper():
    assert ops.power(2.0, 3.0) == 8.0
    assert ops.power(-2.0, 2.0) == 4.0
    with pytest.raises(ZeroDivisionError, match=r"\*\*"):
        ops.power(0.0, -1.0)
    with pytest.raises(ValueError, match=r"\*\*: negative base"):
        ops.power(-1.0, 0.5)
    with pytest.raises(OverflowError, match=r"too large"):
        ops.power(10.0, 400.0)


def test_power_rule_edges():
    assert ops.power_rule(2.0, 3.0) == 12.0
    assert ops.power_rule(5.0, 0.0) == 0.0
    assert ops.power_rule(0.0, 0.0) == 0.0
    assert ops.power_rule(0.0, 2.0) == 0.0
    assert ops.power_rule(0.0, -1.0) == -math.inf
    assert ops.power_rule(0.0, 0.5) == math.inf


def test_exponent_rule_edges():
    assert ops.exponent_rule(8.0, 2.0) == pytest.approx(8.0 * math.log(2.0))
    assert ops.exponent_rule(0.0, 0.0) == 0.0
    assert math.isnan(ops.exponent_rule(4.0, -2.0))


def test_sigmoid_helper_is_stable_and_symmetric():
    for x in (-1e308, -1e3, -745.0, -20.0, 0.0, 20.0, 1e3, 1e308):
        s = ops.sigmoid(x)
        assert 0.0 <= s <= 1.0
        assert ops.sigmoid(-x) == pytest.approx(1.0 - s, abs=1e-15)
    assert ops.sigmoid(0.0) == 0.5


def test_log_and_exp_helpers_name_the_op():
    assert ops.log(math.e) == 1.0
    with pytest.raises(ValueError, match="log: input must be positive, got 0.0"):
        ops.log(0.0)
    with pytest.raises(OverflowError, match="exp"):
        ops.exp(710.0)
    assert ops.exp(-1e4) == 0.0


def test_local_derivatives_of_each_kind():
    x, y = Value(2.0), Value(3.0)
    assert (x * y).op.local_derivatives(x * y) == (3.0, 2.0)
    node = x**3.0
    assert node.op.local_derivatives(node) == (12.0,)
    node = x.tanh()
    assert node.op.local_derivatives(node) == pytest.approx((1 - math.tanh(2.0) ** 2,))
    assert SCALAR_OPS["pow_const"].input_data(node := x**3.0) == (2.0, 3.0)
    assert SCALAR_OPS["mul"].input_data(x * y) == (2.0, 3.0)
    assert node.parents == (x,)


def test_labels():
    x = Value(2.0)
    assert (x + 2.5).op.label(x + 2.5) == "+ 2.5"
    assert (x * 3).op.label(x * 3) == "* 3"
    assert (x**2).op.label(x**2) == "** 2"
    assert (2**x).op.label(2**x) == "2 **"
    assert x.exp().op.label(x.exp()) == "exp"


def test_each_kind_backpropagates_scaled_by_the_incoming_gradient():
    x, y = Value(2.0), Value(3.0)
    node = x * y
    node.grad = 10.0
    node.op.backprop(node)
    assert (x.grad, y.grad) == (30.0, 20.0)

    x.grad = 0.0
    node = x * 4.0
    node.grad = 0.5
    node.op.backprop(node)
    assert x.grad == 2.0

    x.grad = 0.0
    node = x.log()
    node.grad = 3.0
    node.op.backprop(node)
    assert x.grad == 1.5


def test_nary_op_backprop_and_parents():
    op = ops.NaryOp.__new__(ops.NaryOp)  # not registered: the kind is tested without touching the table
    op.name, op.symbol = "test_sum3", "Σ"
    op.forward = lambda *xs: sum(xs)
    op.derivatives = lambda out, *xs: tuple(2.0 * x for x in xs)
    from autograd.value import nary

    vs = (Value(1.0), Value(2.0), Value(3.0))
    node = nary(op, 6.0, vs)
    assert node.parents == vs
    assert op.input_data(node) == (1.0, 2.0, 3.0)
    node.grad = 1.5
    op.backprop(node)
    assert [v.grad for v in vs] == [3.0, 6.0, 9.0]
    assert "test_sum3" not in SCALAR_OPS
