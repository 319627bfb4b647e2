import numpy as np
import pytest

from autograd import Tensor, gradcheck
from nn import Linear, ReLU, Sequential, Sigmoid, Tanh


def test_linear_computes_x_at_weight_plus_bias():
    layer = Linear(3, 2, rng=0)
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    x = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data + layer.bias.data, rtol=0, atol=1e-15)
    bound = 1 / np.sqrt(3)
    assert np.all(np.abs(layer.weight.data) <= bound)


def test_linear_matches_torch_with_transposed_weight(torch):
    layer = Linear(3, 2, rng=0)
    t = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        t.weight.copy_(torch.tensor(layer.weight.data.T))
        t.bias.copy_(torch.tensor(layer.bias.data))
    x = np.random.default_rng(2).standard_normal((4, 3))
    np.testing.assert_allclose(layer(x).data, t(torch.tensor(x)).detach().numpy(), rtol=1e-14, atol=1e-14)


def test_linear_without_bias_and_shape_errors():
    layer = Linear(3, 2, bias=False, rng=0)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(ValueError, match=r"Linear\(3, 2\).*\(4, 5\)"):
        layer(np.zeros((4, 5)))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_match_finite_differences(bias):
    layer = Linear(3, 2, bias=bias, rng=0)
    x = Tensor(np.random.default_rng(3).standard_normal((4, 3)), requires_grad=True)
    params = [x, *layer.parameters()]

    def f(x, *ps):
        return layer(x)

    assert gradcheck(f, *params)


def test_sequential_and_activations():
    rng = np.random.default_rng(0)
    net = Sequential(Linear(2, 3, rng=rng), Tanh(), Linear(3, 3, rng=rng), ReLU(), Linear(3, 1, rng=rng), Sigmoid())
    assert len(net) == 6 and isinstance(net[1], Tanh)
    x = rng.standard_normal((5, 2))
    h = np.tanh(x @ net[0].weight.data + net[0].bias.data)
    h = np.maximum(h @ net[2].weight.data + net[2].bias.data, 0)
    expected = 1 / (1 + np.exp(-(h @ net[4].weight.data + net[4].bias.data)))
    np.testing.assert_allclose(net(x).data, expected, rtol=1e-14)
    xt = Tensor(x, requires_grad=True)
    assert gradcheck(lambda xt: net(xt), xt)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="Sequential"):
        Sequential(Linear(2, 2), np.tanh)


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((0, 2), ValueError, r"Linear: in_features must be at least 1, got 0"),
        ((-1, 2), ValueError, r"Linear: in_features must be at least 1, got -1"),
        ((2, 0), ValueError, r"Linear: out_features must be at least 1, got 0"),
        ((2.5, 2), TypeError, r"Linear: in_features must be an int, got float 2.5"),
        ((2, "3"), TypeError, r"Linear: out_features must be an int, got str '3'"),
        ((True, 2), TypeError, r"Linear: in_features must be an int, got bool True"),
    ],
)
def test_linear_sizes_are_checked(args, error, message):
    with pytest.raises(error, match=message):
        Linear(*args)
    assert Linear(np.int64(3), 2).weight.shape == (3, 2)


def test_linear_with_a_0d_bias_broadcasts(torch):
    layer = Linear(3, 1, rng=0)
    layer.bias = Tensor(0.5, requires_grad=True)
    x = np.random.default_rng(1).standard_normal((4, 3))
    out = layer(x)
    np.testing.assert_allclose(out.data, x @ layer.weight.data + 0.5, rtol=1e-15)
    out.sum().backward()
    assert layer.bias.grad.shape == () and layer.bias.grad == pytest.approx(4.0)
    t_w = torch.tensor(layer.weight.data, requires_grad=True)
    t_b = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    (torch.tensor(x) @ t_w + t_b).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, t_w.grad.numpy(), rtol=1e-14)
    assert gradcheck(lambda b: Linear.forward(layer, x), layer.bias)


def test_loading_a_0d_bias_into_linear_names_the_shapes():
    layer = Linear(3, 1, rng=0)
    state = dict(layer.state_dict(), bias=np.array(0.5))
    with pytest.raises(ValueError, match=r"'bias' has shape \(\) in the state but \(1,\) in the module"):
        layer.load_state_dict(state)


def test_float32_survives_layers_losses_and_optimizers():
    from nn import SGD, Adam, RMSprop, binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss

    f32 = np.float32
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((6, 3)), dtype=f32)
    y = rng.uniform(0, 1, (6, 2))  # float64 numbers: they follow the input's precision
    labels = np.array([0, 1, 1, 0, 1, 0])
    losses = [
        lambda out: mse_loss(out, y),
        lambda out: binary_cross_entropy(out.sigmoid(), y, "sum"),
        lambda out: binary_cross_entropy_with_logits(out, y, "none").sum(),
        lambda out: cross_entropy(out, labels),
    ]
    for loss_fn in losses:
        for opt_cls in (SGD, RMSprop, Adam):
            net = Sequential(Linear(3, 4, rng=1, dtype=f32), Tanh(), Linear(4, 4, rng=2, dtype=f32), ReLU())
            net.head = Linear(4, 2, rng=3, dtype=f32)
            opt = opt_cls(net.parameters(), lr=0.01)
            for _ in range(2):
                opt.zero_grad()
                out = net.head(Sigmoid()(net(x)))
                loss = loss_fn(out)
                assert out.dtype == f32 and loss.dtype == f32, (loss_fn, opt_cls)
                loss.backward()
                opt.step()
            for name, p in net.named_parameters():
                assert p.dtype == f32 and p.grad.dtype == f32, (name, loss_fn, opt_cls)
    with pytest.raises(TypeError, match="Linear: dtype must be a float type"):
        Linear(2, 2, dtype=np.int32)
