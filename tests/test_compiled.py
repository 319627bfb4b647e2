"""autograd.compile: a recorded step replayed, equal to running it eagerly."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
from autograd import CompileError, Tensor, no_grad
from nn.losses import binary_cross_entropy
from nn.two_layer import TwoLayerNet

RNG = np.random.default_rng(12)
X = RNG.random((8, 3))
Y = RNG.random((8, 1))


def manual_sgd_step(net):
    params = net.parameters()

    def step(x, y, lr):
        for p in params:
            p.grad = None
        loss = binary_cross_entropy(net(x), y, reduction="mean")
        loss.backward()
        with no_grad():
            for p in params:
                p -= lr * p.grad
        return loss.item()

    return step


def test_the_articles_network_with_a_hand_written_update_equals_eager_over_hundreds_of_steps():
    eager_net, compiled_net = TwoLayerNet(3, 5, 1, seed=1), TwoLayerNet(3, 5, 1, seed=1)
    eager, compiled = manual_sgd_step(eager_net), autograd.compile(manual_sgd_step(compiled_net))
    for k in range(300):
        lr = 0.5 / (1 + 0.01 * k)  # a new learning rate every call: an input, not a constant
        x = X if k % 3 else X[::-1].copy()
        assert compiled(x, Y, lr) == eager(Tensor(x), Y, lr)
    for (name, p), (_, q) in zip(eager_net.named_parameters(), compiled_net.named_parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)
        np.testing.assert_array_equal(q.grad, p.grad, err_msg=name)
    assert compiled.traces <= 3  # the first call, the second (grads now exist), the check on new inputs


def test_a_new_shape_records_again_and_returned_tensors_are_refreshed():
    net = TwoLayerNet(3, 4, 1, seed=2)

    @autograd.compile
    def forward(x):
        return net(x).sum()

    forward(X)
    a = forward(X * 2)  # new inputs: checked against an eager run (which records again)
    value = float(a.data)
    b = forward(X * 3)
    assert b is a and float(b.data) != value
    np.testing.assert_allclose(float(b.data), float(net(Tensor(X * 3)).sum().data), rtol=1e-15)
    c = forward(X[:5])
    assert forward.traces == 3 and c.shape == ()
    np.testing.assert_allclose(float(c.data), float(net(Tensor(X[:5])).sum().data))


def test_what_is_not_recorded_is_caught_on_new_inputs():
    w = Tensor(np.ones(3), requires_grad=True)

    @autograd.compile
    def step(x):
        w.grad = None
        scale = float(x.data.sum())  # a number computed from the data outside Tensor ops: baked in
        loss = (w * x).sum() * scale
        loss.backward()
        return loss.item()

    step(np.ones(3))
    step(np.ones(3))
    with pytest.raises(CompileError, match="not recorded"):
        step(np.full(3, 2.0))


def test_compile_refuses_what_it_cannot_replay():
    with pytest.raises(TypeError, match="expected a function"):
        autograd.compile(3)
    x = Tensor([1.0, 2.0], requires_grad=True)

    @autograd.compile
    def second_order(v):
        x.grad = None
        (x * x * v).sum().backward(create_graph=True)
        return 0.0

    with pytest.raises(CompileError, match="create_graph"):
        second_order(np.ones(2))


def test_an_mlp_with_adam_and_zero_grad_equals_eager_over_hundreds_of_steps():
    from nn import Adam, Linear, Sequential, Tanh, mse_loss

    def build():
        rng = np.random.default_rng(5)
        net = Sequential(Linear(3, 16, rng=rng), Tanh(), Linear(16, 8, rng=rng), Tanh(), Linear(8, 1, rng=rng))
        return net, Adam(net.parameters(), lr=0.01)

    def step_of(net, opt):
        def step(x, y):
            opt.zero_grad()
            loss = mse_loss(net(x), y)
            loss.backward()
            opt.step()
            return loss

        return step

    (net_a, opt_a), (net_b, opt_b) = build(), build()
    # the numpy plan runs the engine's kernels: bit for bit (the float plan is tested in test_compiled_floats.py)
    eager, compiled = step_of(net_a, opt_a), autograd.compile(step_of(net_b, opt_b), mode="numpy")
    rng = np.random.default_rng(6)
    for k in range(300):
        x = rng.standard_normal((8, 3)) if k % 2 else X
        y = np.sin(x.sum(axis=1, keepdims=True)) if k % 2 else Y
        a, b = eager(Tensor(x), Tensor(y)), compiled(x, y)
        assert float(b.data) == float(a.data), k
    for (name, p), (_, q) in zip(net_a.named_parameters(), net_b.named_parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)
    assert compiled.traces <= 2


def test_an_optimizers_learning_rate_set_from_a_number_argument_follows_it():
    from nn import SGD

    def run(compiled):
        net = TwoLayerNet(3, 4, 1, seed=3)
        opt = SGD(net.parameters(), lr=0.1)

        def step(x, y, lr):
            opt.lr = lr
            opt.zero_grad()
            loss = binary_cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        fn = autograd.compile(step, mode="numpy") if compiled else (lambda x, y, lr: step(Tensor(x), y, lr))
        return [fn(X, Y, 1.0 - 0.9 * k / 100) for k in range(100)], fn

    (ours, fn), (theirs, _) = run(True), run(False)
    assert ours == theirs and fn.traces == 1
