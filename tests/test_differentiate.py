"""autograd.grad and backward(create_graph=True): PyTorch's semantics, second derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import Tensor, Value, grad


def test_grad_returns_gradients_without_accumulating(torch):
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([10.0, 10.0])
    y = (x * x).sum()
    (g,) = grad(y, x)
    np.testing.assert_array_equal(g, [2.0, 4.0])
    np.testing.assert_array_equal(x.grad, [10.0, 10.0])
    h = x * 3
    h.grad = "left alone"
    (gh,) = grad((h * h).sum(), h)
    assert h.grad == "left alone"
    np.testing.assert_array_equal(gh, 2 * h.data)


def test_grad_with_several_outputs_and_grad_outputs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2, x**2
    (gx,) = grad([a, b], [x], grad_outputs=[np.ones(2), np.array([1.0, -1.0])])
    np.testing.assert_array_equal(gx, [2 + 2 * 1.0, 2 - 2 * 2.0])


def test_unused_inputs():
    x = Tensor([1.0], requires_grad=True)
    z = Tensor([2.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="input 1 is not part of the outputs' graph"):
        grad(y, [x, z])
    assert grad(y, [x, z], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad(y, [Tensor([1.0])])


def test_second_derivatives_of_a_value():
    x = Value(0.7)
    y = x.tanh() * x.exp() + x**3 / (x + 2.0)
    (g,) = grad(y, x, create_graph=True)
    (h,) = grad(g, x)
    f = lambda t: math.tanh(t) * math.exp(t) + t**3 / (t + 2.0)
    e = 1e-4
    assert h == pytest.approx((f(0.7 + e) - 2 * f(0.7) + f(0.7 - e)) / e**2, rel=1e-5)
    x2 = Value(1.3)
    z = x2 * x2 * x2
    z.backward(create_graph=True)
    assert isinstance(x2.grad, Value) and x2.grad.data == pytest.approx(3 * 1.3**2)
    g2 = x2.grad
    x2.grad = 0.0
    g2.backward()
    assert x2.grad == pytest.approx(6 * 1.3)


def test_gradient_penalty_matches_torch(torch):
    rng = np.random.default_rng(3)
    w0, x0 = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    w, xin = Tensor(w0, requires_grad=True), Tensor(x0, requires_grad=True)
    out = ((xin @ w).tanh() * (xin @ w).sigmoid())[[0, 0, 2]].sum()
    (gx,) = grad(out, xin, create_graph=True)
    ((gx**2).sum() + out).backward()
    tw, tx = torch.tensor(w0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    o = ((tx @ tw).tanh() * (tx @ tw).sigmoid())[[0, 0, 2]].sum()
    (gt,) = torch.autograd.grad(o, tx, create_graph=True)
    ((gt**2).sum() + o).backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(xin.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_hessian_vector_product_matches_torch(torch):
    rng = np.random.default_rng(4)
    a, x0, v = rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal(3)
    x = Tensor(x0, requires_grad=True)
    f = ((x @ a).sigmoid() * x).sum() + (x**2).sum().sqrt() + x.max() + (x.exp() / (1 + x * x)).log().sum()
    (g,) = grad(f, x, create_graph=True)
    (hv,) = grad((g * v).sum(), x)
    t = torch.tensor(x0, requires_grad=True)
    ft = ((t @ torch.tensor(a)).sigmoid() * t).sum() + (t**2).sum().sqrt() + t.amax()
    ft = ft + (t.exp() / (1 + t * t)).log().sum()
    (gt,) = torch.autograd.grad(ft, t, create_graph=True)
    (hvt,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), t)
    np.testing.assert_allclose(hv, hvt.numpy(), rtol=1e-12, atol=1e-14)


def test_create_graph_through_an_op_declared_the_micrograd_way_is_refused():
    x = Value(0.5)
    out = Value(math.sin(x.data), (x,), "sin")

    def step():
        x.grad += math.cos(x.data) * out.grad

    out._backward = step
    with pytest.raises(RuntimeError, match="declared the micrograd way.*autograd.extend.scalar_op"):
        grad(out * 2, x, create_graph=True)
