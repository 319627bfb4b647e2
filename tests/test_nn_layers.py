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
