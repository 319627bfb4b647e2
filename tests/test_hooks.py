"""Hooks on gradients, as PyTorch's register_hook."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, Value


def test_a_hook_sees_the_complete_gradient_and_can_replace_it(torch):
    x0 = np.array([1.0, -2.0, 3.0])
    x = Tensor(x0, requires_grad=True)
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))
    h.register_hook(lambda g: g * 10)
    (h * 2 + h).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0, 3.0])
    t = torch.tensor(x0, requires_grad=True)
    th = t * t
    th.register_hook(lambda g: g * 10)
    (th * 2 + th).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_a_leaf_hook_sees_this_pass_and_what_it_returns_accumulates():
    x = Tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(g.copy()) or g * 0.5)
    (x * 4).sum().backward()
    (x * 4).sum().backward()
    np.testing.assert_array_equal(calls[0], [4.0, 4.0])
    np.testing.assert_array_equal(calls[1], [4.0, 4.0])  # not the accumulated 4 + 2
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])
    handle.remove()
    handle.remove()
    (x * 4).sum().backward()
    np.testing.assert_array_equal(x.grad, [8.0, 8.0])


def test_value_hooks_and_errors():
    x = Value(3.0)
    y = x * x
    with y.register_hook(lambda g: g * 2):
        (y + 1).backward()
    assert x.grad == 12.0
    x.grad = 0.0
    (y + 1).backward()
    assert x.grad == 6.0
    with pytest.raises(TypeError, match="hook must be callable"):
        x.register_hook(3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).register_hook(lambda g: g)
    t = Tensor([1.0, 2.0], requires_grad=True)
    u = t * 2
    u.register_hook(lambda g: np.ones(3))
    with pytest.raises(ValueError, match=r"hook: returned a gradient of shape \(3,\) for a tensor of shape \(2,\)"):
        u.sum().backward()
    u.retain_grad()
