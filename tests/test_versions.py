"""In-place changes: PyTorch's rules, and a clear error instead of a stale gradient."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, no_grad


def test_the_pytorch_update_idiom_changes_the_parameter_in_place():
    p = Tensor([1.0, 2.0], requires_grad=True, label="p")
    data = p.data
    (p * p).sum().backward()
    with no_grad():
        p -= 0.1 * p.grad
    assert p.data is data
    np.testing.assert_allclose(p.data, [0.8, 1.6])
    with no_grad():
        p *= 2
        p /= 4
        p += np.array([1.0, 1.0])
    np.testing.assert_allclose(p.data, [1.4, 1.8])
    assert p.requires_grad and p.is_leaf


def test_in_place_change_of_a_parameter_while_recording_is_an_error():
    p = Tensor([1.0, 2.0], requires_grad=True, label="w1")
    with pytest.raises(RuntimeError, match=r"-=: in-place change of a leaf tensor that requires grad \('w1'\)"):
        p -= 0.1
    np.testing.assert_array_equal(p.data, [1.0, 2.0])


def test_in_place_on_a_recorded_tensor_makes_a_new_node():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    alias = h
    h += x
    assert h is not alias and h.parents[0] is alias
    h.sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])
    np.testing.assert_array_equal(alias.data, [3.0, 6.0])


def test_in_place_on_a_constant_stays_in_place_and_respects_the_dtype():
    c = Tensor(np.array([1.0, 2.0], dtype=np.float32))
    c += 1
    assert c.dtype == np.float32
    np.testing.assert_array_equal(c.data, [2.0, 3.0])
    with pytest.raises(
        ValueError, match=r"\+=: a value of shape \(3,\) cannot be written into a tensor of shape \(2,\)"
    ):
        c += np.ones(3)


def test_optimizer_step_before_backward_is_detected():
    w = Tensor(np.ones((2, 2)), requires_grad=True, label="w")
    x = Tensor(np.ones((3, 2)), requires_grad=True)
    loss = (x @ w).sigmoid().sum()
    with no_grad():
        w -= 0.5
    with pytest.raises(
        RuntimeError, match=r"a parameter 'w' of shape \(2, 2\) was changed in place \(-=\) after matmul"
    ):
        loss.backward()


def test_changing_an_input_that_an_op_saved_is_detected_but_unrelated_changes_are_not():
    x = Tensor(np.array([1.0, 2.0]))
    w = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = (w * x).sum()
    other = Tensor(np.zeros(2))
    other += 1  # not in this graph
    y.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])
    x += 1
    with pytest.raises(RuntimeError, match=r"an input of shape \(2,\) was changed in place \(\+=\) after mul"):
        y.backward()


def test_a_view_shares_the_version_of_its_base():
    w = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    row = w[0]
    z = (row * row).sum()
    with no_grad():
        w[0, 0] = 10.0
    with pytest.raises(RuntimeError, match=r"changed in place \(setitem\)"):
        z.backward()
    d = w.detach()
    y = (w * w).sum()
    d += 1  # the detached tensor shares memory and version with w
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_an_output_changed_under_no_grad_is_detected():
    x = Tensor([0.5, -0.5], requires_grad=True)
    s = x.sigmoid()  # its derivative reuses its output
    loss = s.sum()
    with no_grad():
        s *= 2
    with pytest.raises(RuntimeError, match=r"the output of sigmoid \(shape \(2,\)\) was changed in place \(\*=\)"):
        loss.backward()


def test_numpy_of_an_intermediate_is_read_only():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    with pytest.raises(ValueError, match="read-only"):
        h.numpy()[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(x)[0] = 5.0


def test_setitem_rules():
    c = Tensor(np.zeros(3))
    c[1] = 2.0
    c[[0, 2]] = Tensor([5.0, 6.0])
    np.testing.assert_array_equal(c.data, [5.0, 2.0, 6.0])
    p = Tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: assignment into a tensor that requires grad"):
        p[0] = 1.0
    with no_grad():
        p[0] = 1.0
    assert p.data[0] == 1.0
    with pytest.raises(RuntimeError, match="setitem: assignment into a constant"):
        c[0] = p.sum()
