"""Declaring primitives through autograd.extend, and check_op."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import Tensor, Value, grad, gradcheck
from autograd.extend import ELEMENTWISE, LINEAR, check_op, registered, scalar_op, tensor_op
from autograd.func import jvp
from autograd.tensor_ops import TENSOR_OPS

SOFTPLUS = tensor_op(
    "test_softplus",
    lambda x: np.logaddexp(0.0, x),
    [lambda g, out, x: g * (1.0 - np.exp(-out))],
    "ln(1 + e^x); d/dx = sigmoid(x) = 1 - e^-out",
    jvp=ELEMENTWISE,
)
ROWSUM = tensor_op(
    "test_rowsum",
    lambda x, axis: np.sum(x, axis=axis),
    [lambda g, out, x, axis: np.broadcast_to(np.expand_dims(g, axis), x.shape)],
    jvp=LINEAR,
)


def test_a_tensor_op_records_nodes_and_differentiates_twice():
    x = Tensor([0.5, -1.0], requires_grad=True)
    y = SOFTPLUS(x)
    assert y.op is SOFTPLUS and y.parents == (x,)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 1 / (1 + np.exp(-x.data)))
    assert gradcheck(lambda t: SOFTPLUS(t).sum(), x, order=2)
    np.testing.assert_array_equal(SOFTPLUS(np.array([0.0])), [math.log(2.0)])  # on arrays: the forward
    _, t = jvp(lambda t: ROWSUM(t, axis=1), (np.ones((2, 3)),), (np.arange(6.0).reshape(2, 3),))
    np.testing.assert_array_equal(t, [3.0, 12.0])


def test_extension_ops_are_registered_apart_from_the_engines_tables():
    assert registered()["test_softplus"] is SOFTPLUS
    assert "test_softplus" not in TENSOR_OPS
    with pytest.raises(ValueError, match="'exp' is the name of one of the engine's primitives"):
        tensor_op("exp", np.exp, [lambda g, out, x: g * out])
    with pytest.raises(TypeError, match="derivative rule 0 must be callable"):
        tensor_op("test_broken", np.exp, [None])


def test_check_op_passes_a_right_op_and_names_a_wrong_one():
    assert check_op(SOFTPLUS, np.array([0.5, -1.0, 2.0]))
    assert check_op(ROWSUM, np.ones((2, 3)), axis=0)
    wrong = tensor_op(
        "test_wrong_softplus",
        lambda x: np.logaddexp(0.0, x),
        [lambda g, out, x: g * (1.0 - np.exp(-x))],  # e^-x instead of e^-out
        jvp=ELEMENTWISE,
    )
    result = check_op(wrong, np.array([0.5, -1.0]))
    assert not result
    text = str(result)
    assert "check_op 'test_wrong_softplus'" in text and "FAILED" in text
    assert "worst: test_wrong_softplus vjp 0 at" in text
    assert "<table>" in result._repr_html_()
    bad_jvp = tensor_op("test_bad_jvp", np.tanh, [lambda g, out, x: g * (1 - out**2)], jvp=lambda ts, out, x: ts[0])
    result = check_op(bad_jvp, np.array([0.3, 1.5]))
    assert not result and result.worst.rule == "jvp"


def test_a_scalar_op_with_a_fast_backprop():
    def backprop(g, parents):
        a, b = parents
        a.grad += b.data * g
        b.grad += a.data * g

    mul = scalar_op("test_mul", lambda a, b: a * b, lambda out, a, b: (b, a), "a b", backprop=backprop)
    x, y = Value(2.0), Value(-3.0)
    z = mul(x, y) + mul(x, 4.0)
    z.backward()
    assert (x.grad, y.grad) == (1.0, 2.0)
    assert check_op(mul, 2.0, -3.0)
    wrong = scalar_op("test_wrong_mul", lambda a, b: a * b, lambda out, a, b: (b, b))
    assert not check_op(wrong, 2.0, -3.0)
    (g,) = grad(mul(x, x), x, create_graph=True)
    (h,) = grad(g, x)
    assert h == 2.0
