"""Function transforms against torch.func / torch.autograd.functional, and forward against reverse."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, Value, func
from autograd.func import grad, hessian, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp

RNG = np.random.default_rng(11)
A = RNG.standard_normal((3, 4))
Q = RNG.standard_normal((4, 4))
Q = Q @ Q.T


def composites(lib):
    """Scalar functions of a vector, written once for both engines (numpy-style names)."""
    mm = (lambda x, m: x @ lib.tensor(m)) if lib is not None else (lambda x, m: x @ m)
    amax = (lambda x: x.amax()) if lib is not None else (lambda x: x.max())
    return {
        "tanh": lambda x: mm(x, A.T).tanh().sum(),
        "sigmoid": lambda x: (mm(x, A.T).sigmoid() ** 2).sum(),
        "exp-log": lambda x: ((x * 0.5).exp() + 1.0).log().sum() * x.sum(),
        "sqrt": lambda x: ((x * x).sum() + 1.0).sqrt(),
        "division": lambda x: (x / (x * x + 2.0)).sum() + 1.0 / ((x**2).sum() + 1.0),
        "quadratic-form": lambda x: (x * mm(x, Q)).sum() * 0.5,
        "relu": lambda x: (mm(x, A.T).relu() ** 2).sum(),
        "max": lambda x: amax(x * x) + amax(mm(x, A.T)),
    }


@pytest.mark.parametrize("name", list(composites(None)))
def test_hessians_of_composites_equal_torch(torch, name):
    x0 = RNG.standard_normal(4)
    ours = hessian(composites(None)[name])(x0)
    ref = torch.autograd.functional.hessian(composites(torch)[name], torch.tensor(x0))
    assert ours.shape == (4, 4)
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(composites(None)))
def test_jvp_equals_torch_func_jvp(torch, name):
    x0, t0 = RNG.standard_normal(4), RNG.standard_normal(4)
    out, t = jvp(composites(None)[name], (x0,), (t0,))
    ref_out, ref_t = torch.func.jvp(composites(torch)[name], (torch.tensor(x0),), (torch.tensor(t0),))
    assert out == pytest.approx(ref_out.item(), rel=1e-12)
    assert t == pytest.approx(ref_t.item(), rel=1e-10, abs=1e-12)


def test_forward_and_reverse_jacobians_agree_and_equal_torch(torch):
    def f(x):
        return ((x @ A.T).tanh() * x[:3]).exp() / (1.0 + x[[0, 0, 1]] ** 2)

    x0 = RNG.standard_normal(4)
    jr, jf = jacrev(f)(x0), jacfwd(f)(x0)
    ref = torch.autograd.functional.jacobian(
        lambda x: ((x @ torch.tensor(A).T).tanh() * x[:3]).exp() / (1.0 + x[[0, 0, 1]] ** 2), torch.tensor(x0)
    )
    assert jr.shape == jf.shape == (3, 4)
    np.testing.assert_allclose(jr, ref.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-14)
    assert jacobian(f, mode="forward")(x0).shape == (3, 4)
    with pytest.raises(ValueError, match="mode must be"):
        jacobian(f, mode="sideways")


def test_grad_value_and_grad_vjp_on_arrays_numbers_tensors_and_values():
    assert grad(lambda x: x * x * x)(2.0) == 12.0
    assert grad(grad(lambda x: x * x * x))(2.0) == 12.0
    g = grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_array_equal(g[0], [3.0, 4.0])
    np.testing.assert_array_equal(g[1], [1.0, 2.0])
    value, gt = value_and_grad(lambda x: (x**2).sum())(Tensor([1.0, 3.0]))
    assert isinstance(value, Tensor) and value.item() == 10.0 and isinstance(gt, Tensor)
    v = grad(lambda x: x.tanh() * x)(Value(0.5))
    assert isinstance(v, Value)
    out, pullback = vjp(lambda x: x * np.array([1.0, 2.0, 3.0]), np.ones(3))
    (back,) = pullback(np.array([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(back, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="single number"):
        grad(lambda x: x * 2)(np.ones(3))


def test_jvp_of_values_is_dual_numbers():
    out, t = jvp(lambda v: (v * v).tanh() * v.exp(), (Value(0.3),), (1.0,))
    h = 1e-6
    f = lambda a: np.tanh(a * a) * np.exp(a)
    assert t == pytest.approx((f(0.3 + h) - f(0.3 - h)) / (2 * h), rel=1e-8)
    assert isinstance(out, Value)


def test_forward_over_reverse_hessian_vector_product():
    x0, v = RNG.standard_normal(4), RNG.standard_normal(4)
    f = composites(None)["sigmoid"]
    _, hv = jvp(grad(f), (x0,), (v,))
    np.testing.assert_allclose(hv, hessian(f)(x0) @ v, rtol=1e-10, atol=1e-12)


def test_func_module_names():
    assert {"grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev", "jacfwd", "hessian"} <= set(dir(func))
