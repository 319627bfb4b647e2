import numpy as np
import pytest

from nn import NumpyTwoLayerNet
from nn.article_data import TARGETS, Y_ARTICLE, Y_SECOND, X, loss_floor


class SeedNetwork:
    """The article's code as printed (the doubled colon fixed), for a faithfulness check."""

    def __init__(self, w1, b1, w2, b2):
        self.w1, self.b1, self.w2, self.b2 = (a.copy() for a in (w1, b1, w2, b2))

    def sigmoid(self, x, differentiate=False):
        return x * (1 - x) if differentiate else 1 / (1 + np.exp(-x))

    def forward(self, x):
        self.hidden_output = self.sigmoid(np.dot(x, self.w1) + self.b1)
        self.output = self.sigmoid(np.dot(self.hidden_output, self.w2) + self.b2)
        return self.output

    def cross_entropy_loss(self, output, y, differentiate=False):
        output = np.clip(output, 1e-15, 1 - 1e-15)
        if differentiate:
            return -(y / output - (1 - y) / (1 - output))
        return -np.mean(y * np.log(output) + (1 - y) * np.log(1 - output))

    def backward(self, x, y, output, learning_rate):
        d_output = self.cross_entropy_loss(output, y, True) * self.sigmoid(output, True)
        d_w2 = np.dot(self.hidden_output.T, d_output)
        d_hidden = np.dot(d_output, self.w2.T) * self.sigmoid(self.hidden_output, True)
        d_w1 = np.dot(x.T, d_hidden)
        self.w2 -= learning_rate * d_w2
        self.b2 -= learning_rate * np.sum(d_output, axis=0, keepdims=True)
        self.w1 -= learning_rate * d_w1
        self.b1 -= learning_rate * np.sum(d_hidden, axis=0, keepdims=True)


def test_article_data_and_floors():
    assert X.shape == (4, 2) and Y_ARTICLE.shape == Y_SECOND.shape == (4, 1)
    assert TARGETS == {"article": Y_ARTICLE, "second": Y_SECOND}
    assert loss_floor(Y_ARTICLE) == pytest.approx(0.10568, abs=5e-6)
    assert loss_floor(Y_SECOND) == pytest.approx(0.51934, abs=5e-6)


def test_shapes_and_initialisation():
    net = NumpyTwoLayerNet(2, 4, 1, seed=0)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(net.w1, rng.standard_normal((2, 4)))
    np.testing.assert_array_equal(net.w2, rng.standard_normal((4, 1)))
    assert net.b1.shape == (1, 4) and not net.b1.any() and net.b2.shape == (1, 1)
    assert set(net.state_dict()) == {"w1", "b1", "w2", "b2"}


@pytest.mark.parametrize("seed", range(3))
def test_training_is_the_seeds_bit_for_bit(seed):
    net = NumpyTwoLayerNet(2, 4, 1, seed=seed)
    seed_net = SeedNetwork(net.w1, net.b1, net.w2, net.b2)
    losses = net.train(X, Y_ARTICLE, epochs=300, log_every=None)
    seed_losses = []
    for _ in range(300):
        out = seed_net.forward(X)
        seed_net.backward(X, Y_ARTICLE, out, 0.1)
        seed_losses.append(seed_net.cross_entropy_loss(out, Y_ARTICLE))
    assert losses == seed_losses
    for k in ("w1", "b1", "w2", "b2"):
        np.testing.assert_array_equal(getattr(net, k), getattr(seed_net, k))


def test_mean_reduction_divides_by_n():
    s = NumpyTwoLayerNet(2, 4, 1, seed=1)
    m = NumpyTwoLayerNet(2, 4, 1, seed=1, reduction="mean")
    gs, gm = s.gradients(X, Y_ARTICLE), m.gradients(X, Y_ARTICLE)
    for k in gs:
        np.testing.assert_allclose(gm[k] * 4, gs[k], rtol=1e-15)


def test_sigmoid_is_the_seeds_and_does_not_overflow():
    net = NumpyTwoLayerNet(2, 1, 1, seed=0)
    net.w1[:] = [[-800.0], [1.0]]
    with np.errstate(over="raise"):
        out = net.forward(X)
    assert np.all(np.isfinite(out))
    x = np.linspace(-700, 700, 1001)
    from autograd.tensor_ops import sigmoid

    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15, atol=0)


def test_on_epoch_and_logging(capsys):
    seen = []
    NumpyTwoLayerNet(2, 4, 1, seed=0).train(
        X, Y_ARTICLE, epochs=5, log_every=2, on_epoch=lambda e, loss: seen.append(e)
    )
    assert seen == [0, 1, 2, 3, 4]
    assert capsys.readouterr().out.count("epoch:") == 3  # 0, 2, 4


def test_the_derivation_every_step_in_backward_order():
    from nn.reference import ARTICLE_NAMES, ARTICLE_STEPS

    net = NumpyTwoLayerNet(2, 4, 1, seed=0)
    steps = net.derivation(X, Y_ARTICLE)
    assert list(steps) == [name for name, _ in ARTICLE_STEPS] == ["p", "z2", "b2", "w2", "h", "z1", "b1", "w1"]
    assert set(ARTICLE_NAMES.values()) <= set(steps)
    grads = net.gradients(X, Y_ARTICLE)
    for k, g in grads.items():
        np.testing.assert_array_equal(steps[k], g)
    h = net.hidden_output
    np.testing.assert_array_equal(steps["z1"], steps["h"] * (h * (1 - h)))


def test_replacing_a_step_carries_into_the_later_ones():
    net = NumpyTwoLayerNet(2, 4, 1, seed=0)
    right = net.derivation(X, Y_ARTICLE)
    wrong = net.derivation(X, Y_ARTICLE, replace={"z2": lambda d, v: 2 * d["p"] * (v["p"] * (1 - v["p"]))})
    np.testing.assert_array_equal(wrong["p"], right["p"])
    for k in ("z2", "b2", "w2", "h", "z1", "b1", "w1"):
        np.testing.assert_allclose(wrong[k], 2 * right[k], rtol=1e-15)
    with pytest.raises(ValueError, match="derivation: no step named d_output; the steps: p, z2, b2"):
        net.derivation(X, Y_ARTICLE, replace={"d_output": lambda d, v: 0})


def test_forward_values_name_n_for_the_mean():
    v = NumpyTwoLayerNet(2, 4, 1, seed=0, reduction="mean").forward_values(X, Y_ARTICLE)
    assert v["N"] == 4 and v["z1"].shape == (4, 4) and np.all(v["q"] == np.clip(v["p"], 1e-15, 1 - 1e-15))
    assert NumpyTwoLayerNet(2, 4, 1, seed=0).forward_values(X, Y_ARTICLE)["N"] == 1
