"""conv2d, max_pool2d and avg_pool2d (nn.functional and the layers) against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st

import nn.functional as F
from autograd import Tensor, gradcheck
from nn import AvgPool2d, Conv2d, Flatten, MaxPool2d, ReLU, Sequential
from nn.conv import CONV2D

RNG = np.random.default_rng(7)


def torch_mod():
    torch = require_module("torch")
    torch.set_num_threads(1)
    return torch


def run_both(torch, ours, theirs, arrays, seed=0):
    """Forward values and the gradients of every input for the same upstream gradient, in float64."""
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-11, atol=1e-11)


pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@st.composite
def conv_cases(draw):
    kh, kw = draw(pairs)
    stride = draw(pairs)
    padding = draw(st.tuples(st.integers(0, 2), st.integers(0, 2)))
    h = draw(st.integers(max(1, kh - 2 * padding[0]), 7))
    w = draw(st.integers(max(1, kw - 2 * padding[1]), 7))
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    return (n, c, h, w), (o, c, kh, kw), stride, padding, draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_conv2d_matches_torch_for_any_geometry(case):
    torch = torch_mod()
    xs, ws, stride, padding, bias = case
    arrays = [RNG.standard_normal(xs), RNG.standard_normal(ws)] + ([RNG.standard_normal(ws[0])] if bias else [])
    run_both(
        torch,
        lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, stride, padding),
        lambda x, w, *b: torch.nn.functional.conv2d(x, w, b[0] if b else None, stride, padding),
        arrays,
    )


@st.composite
def pool_cases(draw):
    kh, kw = draw(pairs)
    stride = draw(st.one_of(st.none(), pairs))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    h, w = draw(st.integers(kh, 8)), draw(st.integers(kw, 8))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), (kh, kw), stride, padding


@settings(max_examples=40, deadline=None)
@given(pool_cases(), st.sampled_from(["max_pool2d", "avg_pool2d"]))
def test_pooling_matches_torch_for_any_geometry(case, name):
    torch = torch_mod()
    shape, kernel, stride, padding = case
    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    run_both(
        torch,
        lambda x: ours(x, kernel, stride, padding),
        lambda x: theirs(x, kernel, stride, padding),
        [RNG.standard_normal(shape)],
    )


def test_max_pool_sends_ties_to_the_first_maximum_and_keeps_nan_like_torch():
    torch = torch_mod()
    x = np.array([[[[0.0, 0.0, 1.0, 2.0], [0.0, 0.0, 2.0, 2.0], [np.nan, 3.0, 5.0, 5.0], [3.0, 1.0, 5.0, 5.0]]]])
    t = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.max_pool2d(t, 2)
    ref.backward(torch.ones_like(ref))
    ours = Tensor(x, requires_grad=True)
    out = F.max_pool2d(ours, 2)
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    np.testing.assert_array_equal(ours.grad, t.grad.numpy())
    assert ours.grad[0, 0, 0, 0] == 1.0 and ours.grad[0, 0, 0, 1] == 0.0  # a window of equal values: the first


def test_overlapping_windows_add_their_gradients():
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    F.max_pool2d(x, 3, stride=1).sum().backward()
    # the windows' maxima are x[2, 2], x[2, 3], x[3, 2], x[3, 3]: each the max of one window
    expected = np.zeros((4, 4))
    expected[2:, 2:] = 1.0
    np.testing.assert_array_equal(x.grad[0, 0], expected)
    y = Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    F.avg_pool2d(y, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(y.grad[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])


def small_net_loss(x, w1, b1, w2):
    h = F.conv2d(x, w1, b1, stride=1, padding=1).tanh()
    h = F.max_pool2d(h, 2)
    h = F.avg_pool2d(F.conv2d(h, w2, None, stride=(1, 2), padding=(1, 0)), (2, 1), stride=1, padding=(1, 0))
    return (h * h).sum()


def test_second_derivatives_of_a_conv_net_match_finite_differences():
    arrays = [RNG.standard_normal(s) for s in ((2, 2, 6, 5), (3, 2, 3, 3), (3,), (2, 3, 2, 2))]
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(small_net_loss, *tensors, order=2, atol=1e-5, rtol=1e-4)


def test_a_gradient_penalty_through_conv_and_pooling_equals_torchs():
    torch = torch_mod()
    arrays = [RNG.standard_normal(s) for s in ((2, 2, 6, 5), (3, 2, 3, 3), (3,), (2, 3, 2, 2))]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    (gx,) = _grad(small_net_loss(*ours), ours[0])
    (gx * gx).sum().backward()
    tf = torch.nn.functional

    def theirs_loss(x, w1, b1, w2):
        h = tf.max_pool2d(tf.conv2d(x, w1, b1, 1, 1).tanh(), 2)
        h = tf.avg_pool2d(tf.conv2d(h, w2, None, (1, 2), (1, 0)), (2, 1), 1, (1, 0))
        return (h * h).sum()

    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    (tx,) = torch.autograd.grad(theirs_loss(*theirs), theirs[0], create_graph=True)
    (tx * tx).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-10)


def _grad(out, x):
    from autograd import grad

    return grad(out, x, create_graph=True)


def test_the_result_is_the_same_whatever_the_inputs_memory_layout():
    x = RNG.standard_normal((2, 3, 5, 4))
    w, b = RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal(4)
    last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    args = {"stride": (1, 1), "padding": (1, 1)}
    np.testing.assert_array_equal(CONV2D.forward(x, w, b, **args), CONV2D.forward(last, w, b, **args))
    for out in (F.conv2d(Tensor(x), w, b, padding=1), F.max_pool2d(Tensor(last), 2), F.avg_pool2d(Tensor(last), 2)):
        assert out.data.flags.c_contiguous  # as numpy's defaults: a compiled replay's buffers sum in the same order


def test_float32_stays_float32():
    x = Tensor(RNG.standard_normal((2, 1, 6, 6)).astype(np.float32), requires_grad=True)
    layer = Conv2d(1, 2, 3, padding=1, rng=0, dtype=np.float32)
    out = F.max_pool2d(layer(x).relu(), 2)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == layer.weight.grad.dtype == np.float32


def test_conv2d_refuses_what_does_not_fit_with_messages_that_name_it():
    x = np.zeros((2, 3, 5, 5))
    with pytest.raises(
        ValueError, match=r"conv2d: input has 3 channels \(shape \(2, 3, 5, 5\)\) but the weight expects 2"
    ):
        F.conv2d(x, np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: input must have shape \(N, C, H, W\), got \(3, 5, 5\)"):
        F.conv2d(np.zeros((3, 5, 5)), np.zeros((4, 3, 3, 3)))
    with pytest.raises(
        ValueError, match=r"input of size \(5, 5\) with padding \(0, 0\) is smaller than the kernel \(7, 7\)"
    ):
        F.conv2d(x, np.zeros((4, 3, 7, 7)))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\)"):
        F.conv2d(x, np.zeros((4, 3, 3, 3)), np.zeros(3))
    with pytest.raises(NotImplementedError, match="conv2d: groups=3 is not supported"):
        F.conv2d(x, np.zeros((3, 1, 3, 3)), groups=3)
    with pytest.raises(ValueError, match="conv2d: stride must be at least 1"):
        F.conv2d(x, np.zeros((4, 3, 3, 3)), stride=0)
    with pytest.raises(TypeError, match="conv2d: padding must be an int or a pair of ints"):
        F.conv2d(x, np.zeros((4, 3, 3, 3)), padding=(1, 1, 1))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        F.conv2d(x, np.zeros((4, 3, 3, 3)), stride=2, padding="same")
    assert F.conv2d(x, np.zeros((4, 3, 3, 3)), padding="same").shape == (2, 4, 5, 5)
    assert F.conv2d(x, np.zeros((4, 3, 3, 3)), padding="valid").shape == (2, 4, 3, 3)


def test_pooling_refuses_what_does_not_fit():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) must be at most half the kernel \(3, 3\)"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: input of size \(4, 4\) .* smaller than the kernel \(5, 5\)"):
        F.avg_pool2d(x, 5)
    with pytest.raises(NotImplementedError, match="max_pool2d: ceil_mode=True is not supported"):
        F.max_pool2d(x, 2, ceil_mode=True)
    with pytest.raises(NotImplementedError, match="avg_pool2d: count_include_pad=False is not supported"):
        F.avg_pool2d(x, 2, count_include_pad=False)


def copy_conv(torch, ours):
    theirs = torch.nn.Conv2d(
        ours.in_channels, ours.out_channels, ours.kernel_size, ours.stride, ours.padding, bias=ours.bias is not None
    ).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        if ours.bias is not None:
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    return theirs


def test_a_small_cnn_of_layers_matches_torch_forward_and_gradients():
    torch = torch_mod()
    ours = Sequential(
        Conv2d(1, 4, 3, padding=1, rng=1), ReLU(), MaxPool2d(2), Conv2d(4, 6, (3, 2), stride=(1, 2), rng=2), ReLU(),
        AvgPool2d(2, stride=1), Flatten(),
    )  # fmt: skip
    tn = torch.nn
    theirs = tn.Sequential(
        copy_conv(torch, ours[0]), tn.ReLU(), tn.MaxPool2d(2), copy_conv(torch, ours[3]), tn.ReLU(),
        tn.AvgPool2d(2, stride=1), tn.Flatten(),
    )  # fmt: skip
    x = RNG.standard_normal((3, 1, 8, 8))
    out, ref = ours(x), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    assert [n for n, _ in ours.named_parameters()] == ["0.weight", "0.bias", "3.weight", "3.bias"]


def test_conv2d_layer_initialisation_is_torchs_kaiming_uniform():
    layer = Conv2d(3, 8, (3, 2), rng=0)
    bound = 1 / np.sqrt(3 * 3 * 2)  # 1/sqrt(fan_in): Kaiming-uniform with a = sqrt(5)
    assert layer.weight.shape == (8, 3, 3, 2) and layer.bias.shape == (8,)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # spread over the whole range
    assert Conv2d(3, 8, 3, bias=False, rng=0).bias is None
    torch = torch_mod()
    theirs = torch.nn.Conv2d(3, 8, (3, 2))
    assert float(theirs.weight.detach().abs().max()) <= bound and float(theirs.bias.detach().abs().max()) <= bound
    assert repr(layer) == "Conv2d(3, 8, kernel_size=(3, 2), stride=(1, 1), padding=(0, 0), bias=True)"
    with pytest.raises(TypeError, match="Conv2d: in_channels must be an int"):
        Conv2d(1.5, 2, 3)


def test_a_compiled_cnn_step_equals_the_eager_one_bit_for_bit():
    import autograd
    from nn import Adam, Linear

    def build():
        net = Sequential(
            Conv2d(1, 4, 3, padding=1, rng=0), ReLU(), MaxPool2d(2), Conv2d(4, 4, 3, padding=1, rng=1), ReLU(),
            AvgPool2d(2), Flatten(), Linear(16, 3, rng=2),
        )  # fmt: skip
        return net, Adam(net.parameters(), lr=0.01)

    def step_of(net, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss

        return step

    x, y = RNG.standard_normal((8, 1, 8, 8)), RNG.integers(0, 3, 8)
    (net_a, opt_a), (net_b, opt_b) = build(), build()
    eager, compiled = step_of(net_a, opt_a), autograd.compile(step_of(net_b, opt_b))
    for k in range(10):
        batch = x if k % 2 else x[::-1].copy()
        assert float(compiled(batch, y).data) == float(eager(Tensor(batch), y).data), k
    for (name, p), (_, q) in zip(net_a.named_parameters(), net_b.named_parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)
