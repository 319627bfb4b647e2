import numpy as np
import pytest

from nn import OPTIMIZERS, train_article_network
from nn.article_data import loss_floor


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seed_training_reaches_the_articles_loss(seed):
    result = train_article_network("sgd", epochs=5000, seed=seed)
    assert result.lr == 0.1 and len(result.losses) == 5000
    assert result.floor == pytest.approx(0.10568, abs=5e-6)
    assert result.floor < result.final_loss < 0.111
    np.testing.assert_allclose(result.predictions, result.targets, atol=0.1)


def test_second_target_set_is_learned():
    result = train_article_network("sgd", targets="second", seed=0)
    floor = loss_floor(result.targets)
    assert floor == pytest.approx(0.51934, abs=5e-6)
    assert result.final_loss <= floor * 1.001  # measured: within 0.0002 % of the floor
    np.testing.assert_allclose(result.predictions, result.targets, atol=0.02)


def test_sgd_matches_the_numpy_reference():
    from nn import NumpyTwoLayerNet
    from nn.article_data import Y_ARTICLE, X

    ref = NumpyTwoLayerNet(2, 4, 1, seed=5)
    ref_losses = ref.train(X, Y_ARTICLE, epochs=200, log_every=None)
    ours = train_article_network("sgd", epochs=200, seed=5)
    np.testing.assert_allclose(ours.losses, ref_losses, rtol=1e-12)


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adam"])
def test_other_optimizers_approach_the_floor(name):
    result = train_article_network(name, epochs=2000, seed=1)
    assert result.final_loss < result.floor * 1.02
    assert result.epochs_to_within(2) is not None and result.epochs_to_within(2) < 2000


def test_on_epoch_and_errors():
    seen = []
    train_article_network("adam", epochs=3, on_epoch=lambda e, loss: seen.append((e, loss)))
    assert [e for e, _ in seen] == [0, 1, 2]
    assert OPTIMIZERS == ("sgd", "momentum", "rmsprop", "adam")
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        train_article_network("lbfgs")
    with pytest.raises(ValueError, match="unknown targets"):
        train_article_network(targets="xor")
    assert train_article_network(epochs=1).epochs_to_within(2) is None


def test_training_that_blows_up_is_an_error_that_says_so():
    with pytest.raises(FloatingPointError, match=r"training diverged at epoch \d+: .*\(adam, lr 1e\+308\)"):
        train_article_network("adam", epochs=20, lr=1e308)
