"""numpy functions given Tensors keep the graph or refuse; none returns a plain array silently."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor


def leaf(*shape, seed=0):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_dot_concatenate_stack_and_sum_keep_the_graph():
    x, w = leaf(3, 2), leaf(2, 4, seed=1)
    y = np.dot(x, w)
    assert isinstance(y, Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(w.grad, np.tile(x.data.sum(axis=0)[:, None], (1, 4)))
    v = leaf(3)
    c = np.concatenate([v, v])
    assert isinstance(c, Tensor) and c.shape == (6,)
    (c * np.arange(6.0)).sum().backward()
    np.testing.assert_allclose(v.grad, np.arange(3.0) + np.arange(3.0, 6.0))
    s = np.stack([v, v * 2], axis=1)
    assert isinstance(s, Tensor) and s.shape == (3, 2)
    total = np.sum(x)
    assert isinstance(total, Tensor) and total.shape == ()
    assert np.sum(x, axis=0, keepdims=True).shape == (1, 2)
    assert isinstance(np.mean(x), Tensor) and isinstance(np.max(x, axis=1), Tensor)


def test_ufuncs_run_the_tensor_op():
    x = leaf(4)
    for f in (np.exp, np.tanh, np.negative, np.absolute, np.square):
        y = f(x)
        assert isinstance(y, Tensor) and y.requires_grad, f.__name__
        np.testing.assert_allclose(y.data, f(x.data))
    a = np.arange(4.0)
    for y in (a + x, a * x, a - x, a / (x * x + 1), x**a, np.power(x, 2)):
        assert isinstance(y, Tensor) and y.requires_grad
    z = np.add.reduce(x)
    assert isinstance(z, Tensor) and z.shape == ()
    m = x > 0
    assert isinstance(m, Tensor) and m.dtype == np.bool_ and not m.requires_grad
    assert isinstance(np.isfinite(x), Tensor)


def test_where_and_shape_functions():
    x = leaf(2, 3)
    y = np.where(x.data > 0, x, 0.0)
    assert isinstance(y, Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, (x.data > 0).astype(float))
    assert np.reshape(x, (3, 2)).shape == (3, 2)
    assert np.transpose(x).shape == (3, 2)
    assert np.expand_dims(x, 0).shape == (1, 2, 3)
    assert np.squeeze(np.expand_dims(x, 0)).shape == (2, 3)
    assert np.broadcast_to(x, (4, 2, 3)).shape == (4, 2, 3)
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert np.allclose(x, x.data) and np.argmax(x) == np.argmax(x.data)


@pytest.mark.parametrize(
    "call, hint",
    [
        (lambda x: np.sin(x), "numpy.sin is not defined for Tensors"),
        (lambda x: np.cumsum(x), "numpy.cumsum is not defined for Tensors"),
        (lambda x: np.sum(x, out=np.zeros(())), r"numpy.sum: options \['out'\] are not supported"),
        (lambda x: np.exp(x, where=x.data > 0), "with options"),
        (lambda x: np.add(np.zeros(3), x, out=np.zeros(3)), "cannot write into a Tensor"),
        (lambda x: np.sum(x, dtype=np.float32), "options"),
        (lambda x: np.where(x), "np.nonzero"),
        (lambda x: np.dot(np.ones((2, 3, 3)), np.ones((2, 3, 3)) * x), "not a batched product"),
    ],
)
def test_unsupported_numpy_functions_say_what_to_use(call, hint):
    x = leaf(3)
    with pytest.raises(TypeError, match=hint):
        call(x)
