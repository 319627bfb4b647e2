"""nn.functional: each function against PyTorch (or numpy), first and second derivatives against finite
differences, and the errors it gives."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

import autograd
import nn.functional as F
from autograd import Tensor, gradcheck
from nn import Dropout, Embedding, Linear, ReLU, Sequential
from nn.primitives import ERF, GELU

RNG = np.random.default_rng(11)


def torch_mod():
    torch = require_module("torch")
    torch.set_num_threads(1)
    return torch


def compare(torch, ours, theirs, arrays, rtol=1e-12):
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=rtol)
    g = RNG.standard_normal(out.shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=rtol * 10, atol=rtol * 10)


def test_activations_and_softmax_match_torch():
    torch = torch_mod()
    tf = torch.nn.functional
    x = RNG.standard_normal((3, 4, 2)) * 3
    for ours, theirs in (
        (F.relu, tf.relu),
        (F.sigmoid, torch.sigmoid),
        (F.tanh, torch.tanh),
        (F.gelu, tf.gelu),
        (lambda t: F.gelu(t, approximate="tanh"), lambda t: tf.gelu(t, approximate="tanh")),
        (lambda t: F.softmax(t, dim=1), lambda t: tf.softmax(t, dim=1)),
        (lambda t: F.log_softmax(t, dim=-1), lambda t: tf.log_softmax(t, dim=-1)),
    ):
        compare(torch, ours, theirs, [x])
    np.testing.assert_allclose(F.gelu(np.array([-1.0, 0.0, 2.0])).data, [-0.15865525393145707, 0.0, 1.9544997361036416])


def test_linear_takes_torchs_weight_layout():
    torch = torch_mod()
    x, w, b = RNG.standard_normal((5, 3)), RNG.standard_normal((2, 3)), RNG.standard_normal(2)
    compare(torch, F.linear, torch.nn.functional.linear, [x, w, b])
    compare(torch, F.linear, torch.nn.functional.linear, [x, w])
    layer = Linear(3, 2, rng=0)  # (in, out): the transpose of torch's
    np.testing.assert_allclose(layer(x).data, F.linear(x, layer.weight.data.T, layer.bias.data).data, rtol=1e-15)
    with pytest.raises(ValueError, match=r"linear: input of shape \(5, 3\) and weight of shape \(3, 2\) do not fit"):
        F.linear(x, np.zeros((3, 2)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_classes_on_axis_1_matches_torch(reduction):
    torch = torch_mod()
    labels = RNG.integers(0, 4, (3, 2, 5))
    compare(
        torch,
        lambda z: F.cross_entropy(z, labels, reduction=reduction),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(labels), reduction=reduction),
        [RNG.standard_normal((3, 4, 2, 5)) * 2],
    )
    rows = RNG.integers(0, 4, 6)
    compare(
        torch,
        lambda z: F.cross_entropy(z, rows, reduction=reduction),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(rows), reduction=reduction),
        [RNG.standard_normal((6, 4))],
    )
    with pytest.raises(ValueError, match=r"cross_entropy: target must have shape \(3, 2, 5\) for input \(3, 4, 2, 5\)"):
        F.cross_entropy(np.zeros((3, 4, 2, 5)), np.zeros((3, 5), dtype=int))


def test_embedding_adds_up_the_gradients_of_repeated_ids():
    torch = torch_mod()
    ids = np.array([[0, 2, 2], [4, 0, 2]])
    compare(torch, lambda w: F.embedding(ids, w), lambda w: torch.nn.functional.embedding(torch.tensor(ids), w), [
        RNG.standard_normal((5, 3))
    ])  # fmt: skip
    w = Tensor(np.ones((5, 3)), requires_grad=True)
    F.embedding(ids, w).sum().backward()
    np.testing.assert_array_equal(w.grad[:, 0], [2.0, 0.0, 3.0, 0.0, 1.0])
    compare(
        torch,
        lambda w: F.embedding(ids, w, padding_idx=2),
        lambda w: torch.nn.functional.embedding(torch.tensor(ids), w, padding_idx=2),
        [RNG.standard_normal((5, 3))],
    )
    with pytest.raises(IndexError, match=r"embedding: index 5 is out of range for 5 embeddings \(0..4\)"):
        F.embedding([1, 5], np.zeros((5, 3)))
    with pytest.raises(TypeError, match="embedding: indices must be integers, got dtype float64"):
        F.embedding([0.5], np.zeros((5, 3)))


def test_embedding_layer_matches_torchs_with_the_same_weights():
    torch = torch_mod()
    ours = Embedding(6, 3, padding_idx=1, rng=0)
    assert np.all(ours.weight.data[1] == 0.0)
    theirs = torch.nn.Embedding(6, 3, padding_idx=1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
    ids = np.array([1, 3, 3, 5, 1])
    out, ref = ours(ids), theirs(torch.tensor(ids))
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-14)


def test_dropout_is_seedable_scales_the_kept_elements_and_passes_through_in_evaluation():
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    a = F.dropout(x, 0.3, generator=np.random.default_rng(5))
    b = F.dropout(x, 0.3, generator=5)
    np.testing.assert_array_equal(a.data, b.data)  # an int seed is a fresh Generator from it
    kept = a.data != 0
    np.testing.assert_allclose(a.data[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.02
    a.sum().backward()
    np.testing.assert_array_equal(x.grad, np.where(kept, 1 / 0.7, 0.0))
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0.0)
    autograd.manual_seed(3)
    first = F.dropout(x, 0.5).data
    autograd.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first)  # the module generator, reset
    with pytest.raises(ValueError, match=r"dropout: probability p must lie in \[0, 1\], got 1.5"):
        F.dropout(x, 1.5)


def test_dropout_layer_follows_train_and_eval_and_draws_new_masks():
    layer = Dropout(0.5, generator=0)
    x = np.ones((4, 100))
    one, two = layer(x).data, layer(x).data
    assert not np.array_equal(one, two)  # the generator advances between calls
    assert layer.eval() is layer and not layer.training
    np.testing.assert_array_equal(layer(x).data, x)
    assert layer.train().training
    with pytest.raises(ValueError, match=r"Dropout: probability p must lie in \[0, 1\]"):
        Dropout(-0.1)


def test_train_and_eval_reach_every_module_inside():
    net = Sequential(Linear(2, 3, rng=0), ReLU(), Sequential(Dropout(0.1), Linear(3, 1, rng=1)))
    assert net.training and all(m.training for m in net.modules())
    net.eval()
    assert [m.training for m in net.modules()] == [False] * 6
    net.train()
    assert all(m.training for m in net.modules())
    assert "training" not in dict(net.named_parameters()) and len(net.state_dict()) == 4
    with pytest.raises(TypeError, match="train: mode must be True or False"):
        net.train("no")


def test_erf_and_gelu_primitives_match_numbers_from_math():
    import math

    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(ERF.forward(x), [math.erf(v) for v in x], rtol=1e-15, atol=1e-16)
    exact = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x]
    np.testing.assert_allclose(GELU.forward(x, approximate="none"), exact, rtol=1e-14, atol=1e-16)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(x, approximate="fast")


@pytest.mark.parametrize(
    "name, fn, shapes",
    [
        ("gelu", lambda x: F.gelu(x), [(2, 3)]),
        ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [(2, 3)]),
        ("linear", lambda x, w, b: F.linear(x, w, b), [(3, 2), (4, 2), (4,)]),
        ("layer_norm", lambda x, w, b: F.layer_norm(x, (3,), w, b), [(2, 3), (3,), (3,)]),
        ("layer_norm_2d", lambda x: F.layer_norm(x, (2, 3)), [(2, 2, 3)]),
        ("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3), (3,), (3,)]),
        ("batch_norm_4d", lambda x: F.batch_norm(x, None, None, training=True), [(2, 2, 2, 3)]),
        ("cross_entropy", lambda z: F.cross_entropy(z, np.array([[0, 2], [1, 1]])), [(2, 3, 2)]),
        ("embedding", lambda w: F.embedding(np.array([0, 2, 2]), w), [(3, 2)]),
        ("softmax", lambda x: F.softmax(x, dim=0), [(3, 2)]),
    ],
)
def test_first_and_second_derivatives_match_finite_differences(name, fn, shapes):
    tensors = [Tensor(RNG.standard_normal(s), requires_grad=True) for s in shapes]

    def scalar(*ts):
        out = fn(*ts)
        return (out * np.linspace(0.5, 1.5, out.size).reshape(out.shape)).sum() if out.ndim else out

    assert gradcheck(scalar, *tensors), name
    assert gradcheck(scalar, *tensors, order=2, atol=1e-5, rtol=1e-4), name


def test_softmax_needs_its_dim():
    with pytest.raises(TypeError, match=r"softmax: give dim"):
        F.softmax(np.zeros(3))
    with pytest.raises(TypeError, match=r"log_softmax: give dim"):
        F.log_softmax(np.zeros(3))


def test_functional_names_are_torchs():
    torch = torch_mod()
    for name in F.__all__:
        assert hasattr(torch.nn.functional, name), name
