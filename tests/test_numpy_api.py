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


def test_numpy_reductions_clip_and_split_run_the_tensor_ops():
    x = leaf(3, 4)
    for call, op, expected in [
        (lambda: np.min(x, axis=1), "min", np.min(x.data, axis=1)),
        (lambda: np.amin(x), "min", np.min(x.data)),
        (lambda: np.minimum.reduce(x, axis=0), "min", np.min(x.data, axis=0)),
        (lambda: np.var(x, axis=0, ddof=1), "var", np.var(x.data, axis=0, ddof=1)),
        (lambda: np.std(x, keepdims=True), "std", np.std(x.data, keepdims=True)),
        (lambda: np.std(x, axis=1, correction=1), "std", np.std(x.data, axis=1, ddof=1)),
        (lambda: np.clip(x, -0.5, 0.5), "clip", np.clip(x.data, -0.5, 0.5)),
        (lambda: np.clip(x, max=0.2), "clip", np.clip(x.data, max=0.2)),
        (lambda: np.squeeze(np.expand_dims(x, 0), 0), "squeeze", x.data),
        (lambda: np.expand_dims(x, (0, 3)), "expand_dims", np.expand_dims(x.data, (0, 3))),
    ]:
        y = call()
        assert isinstance(y, Tensor) and y.requires_grad and y.op.name == op
        np.testing.assert_allclose(y.data, expected)
    pieces = np.split(x, [1, 3], axis=1)
    assert [p.shape for p in pieces] == [(3, 1), (3, 2), (3, 1)] and {p.op.name for p in pieces} == {"split"}
    assert [p.shape for p in np.array_split(x, 2)] == [(2, 4), (1, 4)]
    with pytest.raises(TypeError, match="clip: got both a_min=0 and min=1"):
        np.clip(x, 0, None, min=1)
    with pytest.raises(TypeError, match=r"numpy.var: options \['dtype'\] are not supported"):
        np.var(x, dtype=np.float32)
    assert isinstance(np.argmin(x), np.integer)  # numpy's own function reads the data
