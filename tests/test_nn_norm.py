"""layer_norm, batch_norm and their layers against PyTorch: outputs, gradients, running statistics over
several training steps, evaluation mode, and the buffers in state_dict."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import require_module

import nn.functional as F
from autograd import Tensor
from nn import SGD, BatchNorm1d, BatchNorm2d, Conv2d, LayerNorm, Linear, ReLU, Sequential

RNG = np.random.default_rng(3)


def torch_mod():
    torch = require_module("torch")
    torch.set_num_threads(1)
    return torch


def close(a, b, tol=1e-12):
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_layer_norm_matches_torch_with_and_without_affine():
    torch = torch_mod()
    x = RNG.standard_normal((4, 3, 5)) * 2 + 1
    for shape in ((5,), (3, 5)):
        w, b = RNG.standard_normal(shape), RNG.standard_normal(shape)
        for affine in (True, False):
            xs = [Tensor(x, requires_grad=True)] + (
                [Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)] if affine else []
            )
            ts = [torch.tensor(x, requires_grad=True)] + (
                [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)] if affine else []
            )
            out = F.layer_norm(xs[0], shape, *xs[1:])
            ref = torch.nn.functional.layer_norm(ts[0], shape, *ts[1:])
            close(out.data, ref)
            g = RNG.standard_normal(out.shape)
            out.backward(g)
            ref.backward(torch.tensor(g))
            for a, t in zip(xs, ts):
                close(a.grad, t.grad, 1e-10)
    with pytest.raises(
        ValueError, match=r"layer_norm: input of shape \(4, 3, 5\) does not end in normalized_shape \(3,\)"
    ):
        F.layer_norm(x, 3)


def test_batch_norm_function_updates_running_statistics_as_torch():
    torch = torch_mod()
    x = RNG.standard_normal((6, 3, 2, 2)) * 3 + 2
    ours_mean, ours_var = np.zeros(3), np.ones(3)
    their_mean, their_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for momentum in (0.1, 0.5):
        out = F.batch_norm(x, ours_mean, ours_var, training=True, momentum=momentum)
        ref = torch.nn.functional.batch_norm(torch.tensor(x), their_mean, their_var, training=True, momentum=momentum)
        close(out.data, ref)
        close(ours_mean, their_mean, 1e-14)
        close(ours_var, their_var, 1e-14)  # the unbiased variance, as torch
    out = F.batch_norm(x, ours_mean, ours_var, training=False)
    close(out.data, torch.nn.functional.batch_norm(torch.tensor(x), their_mean, their_var, training=False))
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel when training"):
        F.batch_norm(np.zeros((1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have shape \(3,\)"):
        F.batch_norm(x, np.zeros(2), np.ones(3), training=True)
    with pytest.raises(ValueError, match="evaluation .* needs running_mean and running_var"):
        F.batch_norm(x, None, None, training=False)


def copy_bn(torch, ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    return theirs


@pytest.mark.parametrize(
    "make, theirs, shape",
    [
        (lambda: BatchNorm1d(4), "BatchNorm1d", (8, 4)),
        (lambda: BatchNorm1d(4, momentum=None), "BatchNorm1d", (6, 4, 3)),
        (lambda: BatchNorm2d(4, momentum=0.3), "BatchNorm2d", (5, 4, 3, 2)),
    ],
)
def test_batch_norm_layers_match_torch_over_training_steps_and_in_evaluation(make, theirs, shape):
    torch = torch_mod()
    ours = make()
    ours.weight.data[...] = RNG.uniform(0.5, 1.5, 4)
    ours.bias.data[...] = RNG.standard_normal(4)
    ref = getattr(torch.nn, theirs)(4, momentum=ours.momentum).double()
    copy_bn(torch, ours, ref)
    opt_ours = SGD(ours.parameters(), lr=0.1)
    opt_theirs = torch.optim.SGD(ref.parameters(), lr=0.1)
    for step in range(4):
        x = RNG.standard_normal(shape) * (step + 1) + step
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        out, expected = ours(x), ref(torch.tensor(x))
        close(out.data, expected, 1e-11)
        weights = RNG.standard_normal(shape)
        (out * weights).sum().backward()
        (expected * torch.tensor(weights)).sum().backward()
        close(ours.weight.grad, ref.weight.grad, 1e-10)
        close(ours.bias.grad, ref.bias.grad, 1e-10)
        opt_ours.step()
        opt_theirs.step()
    close(ours.running_mean, ref.running_mean, 1e-12)
    close(ours.running_var, ref.running_var, 1e-12)
    assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == 4
    ours.eval()
    ref.eval()
    x = RNG.standard_normal(shape)
    xt = Tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    out, expected = ours(xt), ref(tt)
    close(out.data, expected, 1e-11)
    out.sum().backward()
    expected.sum().backward()
    close(xt.grad, tt.grad, 1e-11)
    assert int(ours.num_batches_tracked) == 4  # evaluation leaves the statistics alone


def test_batch_norm_without_running_statistics_always_uses_the_batch():
    torch = torch_mod()
    ours = BatchNorm2d(2, track_running_stats=False)
    ref = torch.nn.BatchNorm2d(2, track_running_stats=False).double()
    x = RNG.standard_normal((3, 2, 2, 2))
    ours.eval()
    ref.eval()
    close(ours(x).data, ref(torch.tensor(x)))
    assert list(ours.state_dict()) == ["weight", "bias"]


def test_buffers_are_in_state_dict_as_torch_and_round_trip():
    torch = torch_mod()
    net = Sequential(Conv2d(1, 2, 3, rng=0), BatchNorm2d(2), ReLU())
    net(RNG.standard_normal((4, 1, 5, 5)))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU())
    state = net.state_dict()
    assert list(state) == list(theirs.state_dict())
    assert state["1.num_batches_tracked"].dtype == np.int64 and int(state["1.num_batches_tracked"]) == 1
    assert [n for n, _ in net.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert "1.running_mean" not in dict(net.named_parameters())
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})  # the same names and shapes
    fresh = Sequential(Conv2d(1, 2, 3, rng=5), BatchNorm2d(2), ReLU())
    buffer = io.BytesIO()
    net.save(buffer)
    buffer.seek(0)
    fresh.load(buffer)
    for (name, a), (_, b) in zip(net.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    running = fresh[1].running_mean
    fresh.load_state_dict({**state, "1.running_mean": np.full(2, 7.0)})
    assert fresh[1].running_mean is running and np.all(running == 7.0)  # written in place
    with pytest.raises(ValueError, match=r"'1.running_var' has shape \(3,\) in the state but \(2,\) in the module"):
        fresh.load_state_dict({**state, "1.running_var": np.ones(3)})


def test_layer_norm_layer_and_batch_norm_shapes():
    torch = torch_mod()
    ours = LayerNorm((2, 3))
    ours.weight.data[...] = RNG.standard_normal((2, 3))
    ref = torch.nn.LayerNorm((2, 3)).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(ours.weight.data))
    x = RNG.standard_normal((4, 2, 3))
    close(ours(x).data, ref(torch.tensor(x)))
    assert LayerNorm(3, elementwise_affine=False).parameters() == []
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): input must have shape \(N, 3, H, W\), got \(2, 3\)"):
        BatchNorm2d(3)(np.zeros((2, 3)))
    with pytest.raises(
        ValueError, match=r"BatchNorm1d\(3\): input must have shape \(N, 3\) or \(N, 3, L\), got \(2, 4\)"
    ):
        BatchNorm1d(3)(np.zeros((2, 4)))


def test_a_network_with_batch_norm_trains_in_float32():
    net = Sequential(
        Linear(3, 8, rng=0, dtype=np.float32),
        BatchNorm1d(8, dtype=np.float32),
        ReLU(),
        Linear(8, 1, rng=1, dtype=np.float32),
    )
    x = RNG.standard_normal((16, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True).astype(np.float32)
    opt = SGD(net.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.data))
    assert net(x).dtype == np.float32 and net[1].running_mean.dtype == np.float32
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("momentum", [0.1, None])
def test_a_compiled_step_updates_the_running_statistics_as_the_eager_one(momentum):
    import autograd

    def build():
        net = Sequential(Conv2d(1, 3, 3, rng=0), BatchNorm2d(3, momentum=momentum), ReLU())
        return net, SGD(net.parameters(), lr=0.1)

    def step_of(net, opt):
        def step(x):
            opt.zero_grad()
            loss = (net(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        return step

    (net_a, opt_a), (net_b, opt_b) = build(), build()
    # the one-time check on new inputs replays part of the step and runs it eagerly: statistics updated once
    eager, compiled = step_of(net_a, opt_a), autograd.compile(step_of(net_b, opt_b))
    for k in range(6):
        x = RNG.standard_normal((4, 1, 5, 5)) + k
        assert float(compiled(x).data) == float(eager(Tensor(x)).data), k
    for (name, a), (_, b) in zip(net_a.state_dict().items(), net_b.state_dict().items()):
        np.testing.assert_array_equal(b, a, err_msg=name)
    assert int(net_b[1].num_batches_tracked) == 6
