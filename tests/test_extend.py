"""Declaring primitives through autograd.extend, and check_op."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd
from autograd import Tensor, Value, grad, gradcheck
from autograd.extend import ELEMENTWISE, LINEAR, Kernels, check_op, registered, scalar_op, tensor_op
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


def test_a_scalar_op_with_a_constant_keeps_it_on_the_node():
    scaled = scalar_op(
        "test_scaled_square",
        lambda x, c: c * x * x,
        lambda out, x, c: (2.0 * c * x,),
        "c x^2; d/dx = 2 c x",
        symbol="c·x²",
        constant=True,
    )
    x = Value(1.5)
    y = scaled(x, 4.0)
    assert y.parents == (x,) and y.data == 9.0 and y.op.label(y) == "4·x²"
    y.backward()
    assert x.grad == 12.0
    assert check_op(scaled, 1.5, c=4.0)
    wrong = scalar_op("test_wrong_scaled", lambda x, c: c * x * x, lambda out, x, c: (c * x,), constant=True)
    assert not check_op(wrong, 1.5, c=4.0)
    with pytest.raises(TypeError, match="takes its constant as c="):
        check_op(scaled, 1.5)
    with pytest.raises(TypeError, match="the constant: expected a real number"):
        scaled(x, "4")
    (g,) = grad(scaled(x, 4.0), x, create_graph=True)
    (h,) = grad(g, x)
    assert h == 8.0


def test_node_labels_and_registries_by_kind():
    total = scalar_op(
        "test_total", lambda *xs: sum(xs), lambda out, *xs: (1.0,) * len(xs), label=lambda n: f"Σ{len(n.parents)}"
    )
    node = total(Value(1.0), 2.0, 3.0)
    assert node.op.label(node) == "Σ3"
    same_name = tensor_op("test_total", lambda *xs: sum(xs), [lambda g, out, a: g])
    assert registered("scalar")["test_total"] is total and registered("tensor")["test_total"] is same_name
    assert registered()["test_total"] is same_name  # both kinds: the tensor op
    with pytest.raises(ValueError, match="kind must be 'tensor', 'scalar' or None"):
        registered("both")


def test_a_tensor_op_with_in_place_kernels_is_replayed_through_them():
    calls = []

    def forward_into(out, x):
        calls.append("forward")
        np.multiply(x, 3.0, out=out)

    def vjp_into(dst, g, out, x):
        calls.append("vjp")
        np.multiply(g, 3.0, out=dst)

    triple = tensor_op(
        "test_triple",
        lambda x: x * 3.0,
        [lambda g, out, x: g * 3.0],
        jvp=LINEAR,
        kernels=Kernels(forward_into, [vjp_into]),
    )
    w = Tensor([1.0, 2.0], requires_grad=True)

    @autograd.compile
    def step(x):
        w.grad = None
        loss = (triple(w) * x).sum()
        loss.backward()
        return loss.item()

    assert [step(np.array([1.0, -1.0])) for _ in range(3)] == [-3.0, -3.0, -3.0]
    assert "forward" in calls and "vjp" in calls
    np.testing.assert_array_equal(w.grad, [3.0, -3.0])
    with pytest.raises(TypeError, match="kernels must be an autograd.extend.Kernels"):
        tensor_op("test_bad_kernels", np.exp, [lambda g, out, x: g * out], kernels=(None, ()))
    with pytest.raises(ValueError, match="1 VJP kernels for 2 VJPs"):
        tensor_op("test_bad_kernels", np.add, [lambda g, out, a, b: g] * 2, kernels=Kernels(None, [None]))
