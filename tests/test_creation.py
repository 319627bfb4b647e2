"""Making tensors (``autograd.tensor``, ``zeros``, ``randn``, ...) and torch's conveniences on a tensor
(``size()``, ``dim()``, ``tolist()``)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import autograd
from autograd import Tensor


def test_tensor_copies_its_data_and_takes_dtype_and_requires_grad():
    source = np.array([1.0, 2.0])
    t = autograd.tensor(source, requires_grad=True)
    source[0] = 9.0
    assert isinstance(t, Tensor) and t.requires_grad and t.tolist() == [1.0, 2.0]
    assert autograd.tensor([1, 2]).dtype == np.float64  # integers become float64, as Tensor(...)
    assert autograd.tensor([1, 2], dtype="float32").dtype == np.float32
    assert autograd.tensor([True, False]).dtype == np.bool_
    with pytest.raises(TypeError, match="tensor: dtype must be a float type"):
        autograd.tensor([1, 2], dtype=np.int64)
    with pytest.raises(TypeError, match="tensor: only a floating-point tensor can require grad"):
        autograd.tensor([1, 0], dtype=bool, requires_grad=True)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: autograd.zeros(2, 3), np.zeros((2, 3))),
        (lambda: autograd.zeros((2, 3)), np.zeros((2, 3))),
        (lambda: autograd.ones([4]), np.ones(4)),
        (lambda: autograd.ones(), np.ones(())),
        (lambda: autograd.full((2, 2), 7.5), np.full((2, 2), 7.5)),
        (lambda: autograd.full(3, -1), np.full(3, -1.0)),
        (lambda: autograd.arange(4), np.arange(4.0)),
        (lambda: autograd.arange(1, 2, 0.25), np.arange(1, 2, 0.25)),
        (lambda: autograd.arange(5, step=2), np.arange(0.0, 5.0, 2.0)),
        (lambda: autograd.eye(3), np.eye(3)),
        (lambda: autograd.eye(2, 3, k=1), np.eye(2, 3, 1)),
        (lambda: autograd.zeros_like(Tensor(np.ones((2, 1)))), np.zeros((2, 1))),
        (lambda: autograd.ones_like(np.arange(3)), np.ones(3)),
    ],
)
def test_filled_tensors_match_numpy_in_float64(make, expected):
    t = make()
    assert isinstance(t, Tensor) and t.dtype == np.float64 and not t.requires_grad
    np.testing.assert_array_equal(t.data, expected)


def test_creation_dtypes_and_leaves_that_require_grad():
    w = autograd.zeros(3, 2, dtype=np.float32, requires_grad=True)
    assert w.dtype == np.float32 and w.requires_grad and w.is_leaf
    (w * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((3, 2), 2.0, np.float32))
    assert autograd.ones_like(Tensor(np.ones(2, np.float32))).dtype == np.float32
    assert autograd.zeros_like(Tensor([True])).dtype == np.bool_
    assert autograd.zeros_like(np.arange(2), dtype=np.float16).dtype == np.float16
    with pytest.raises(TypeError, match="zeros: dtype must be a float type .* got int32"):
        autograd.zeros(2, dtype=np.int32)
    with pytest.raises(TypeError, match="ones: 'nonsense' is not a dtype"):
        autograd.ones(2, dtype="nonsense")
    with pytest.raises(TypeError, match="zeros: a shape must be ints"):
        autograd.zeros(2.5)
    with pytest.raises(ValueError, match="arange: step must not be 0"):
        autograd.arange(0, 3, 0)


@pytest.mark.parametrize("make", [autograd.randn, autograd.rand])
def test_random_tensors_are_seedable(make):
    a = make(3, 4, seed=7)
    assert a.shape == (3, 4) and a.dtype == np.float64
    np.testing.assert_array_equal(a.data, make((3, 4), seed=7).data)
    assert not np.array_equal(a.data, make(3, 4, seed=8).data)
    # a generator is advanced, so two draws from it differ and replay from the same seed
    rng = np.random.default_rng(3)
    first, second = make(5, generator=rng), make(5, rng=rng)
    assert not np.array_equal(first.data, second.data)
    replay = np.random.default_rng(3)
    np.testing.assert_array_equal(make(5, generator=replay).data, first.data)
    # the module's generator, reset by manual_seed
    autograd.manual_seed(11)
    from_module = make(2)
    autograd.manual_seed(11)
    np.testing.assert_array_equal(make(2).data, from_module.data)
    # one stream for every dtype: float32 numbers are the float64 ones rounded
    np.testing.assert_array_equal(make(6, seed=1, dtype=np.float32).data, make(6, seed=1).data.astype(np.float32))
    assert make(2, requires_grad=True).requires_grad


def test_random_values_have_the_right_distribution():
    normal = autograd.randn(20000, seed=0).data
    assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1.0) < 0.03
    uniform = autograd.rand(20000, seed=0).data
    assert uniform.min() >= 0.0 and uniform.max() < 1.0 and abs(uniform.mean() - 0.5) < 0.01


def test_random_sources_are_checked():
    with pytest.raises(TypeError, match="randn: got seed and generator; pass at most one source"):
        autograd.randn(2, seed=1, generator=np.random.default_rng())
    with pytest.raises(TypeError, match="rand: generator must be a numpy Generator .* got RandomState"):
        autograd.rand(2, generator=np.random.RandomState(0))


# ----------------------------------------------------------------------------- conveniences on a tensor


def test_size_is_numpys_count_and_torchs_shape():
    t = Tensor(np.zeros((2, 3)))
    assert t.size == 6 and isinstance(t.size, int) and t.size + 1 == 7 and f"{t.size}" == "6"
    assert t.size() == (2, 3) and t.size(1) == 3 and t.size(-2) == 2 and t.size(dim=0) == 2
    assert pickle.loads(pickle.dumps(t.size)) == 6
    with pytest.raises(ValueError, match="size: axis 2 is out of range"):
        t.size(2)
    with pytest.raises(IndexError, match="size: a 0-d tensor has no axis 0"):
        Tensor(1.0).size(0)
    assert Tensor(1.0).size() == () and Tensor(1.0).size == 1


def test_dim_tolist_len_and_iteration():
    t = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    assert t.dim() == 2 and Tensor(1.0).dim() == 0
    assert t.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]] and Tensor(2.5).tolist() == 2.5
    assert len(t) == 3
    rows = list(t)
    assert [r.tolist() for r in rows] == t.tolist()
    sum(r[1] for r in rows).backward()
    np.testing.assert_array_equal(t.grad, [[0.0, 1.0]] * 3)
