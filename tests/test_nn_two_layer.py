import numpy as np
import pytest

from autograd import Tensor
from nn import NumpyTwoLayerNet, ScalarTwoLayerNet, TwoLayerNet, binary_cross_entropy
from nn.article_data import Y_ARTICLE, Y_SECOND, X

SEEDS = [0, 1, 7, 42]


def automatic(net, x, y, reduction):
    net.zero_grad()
    binary_cross_entropy(net(x), y, reduction).backward()
    return net.grad_dict()


def batch(seed):
    rng = np.random.default_rng(100 + seed)
    return rng.standard_normal((6, 3)), rng.uniform(0, 1, (6, 2))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("build", [TwoLayerNet, ScalarTwoLayerNet])
def test_summed_loss_gradients_equal_the_manual_ones(seed, build):
    for x, y, sizes in [(X, Y_ARTICLE, (2, 4, 1)), (X, Y_SECOND, (2, 4, 1)), (*batch(seed), (3, 5, 2))]:
        ref = NumpyTwoLayerNet(*sizes, seed=seed)
        net = build(*sizes, seed=seed + 1000)
        net.load_state_dict(ref.state_dict())
        manual = ref.gradients(x, y)
        auto_sum = automatic(net, x, y, "sum")
        auto_mean = automatic(net, x, y, "mean")
        for k in manual:
            np.testing.assert_allclose(auto_sum[k], manual[k], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(auto_mean[k] * y.size, manual[k], rtol=1e-10, atol=1e-12)


def test_same_seed_gives_the_reference_weights():
    ref = NumpyTwoLayerNet(2, 4, 1, seed=3)
    for build in (TwoLayerNet, ScalarTwoLayerNet):
        state = build(2, 4, 1, seed=3).state_dict()
        for k, v in ref.state_dict().items():
            np.testing.assert_array_equal(state[k], v)


@pytest.mark.parametrize("seed", SEEDS)
def test_value_and_tensor_engines_agree(seed):
    x, y = batch(seed)
    tensor_net, scalar_net = TwoLayerNet(3, 5, 2, seed=seed), ScalarTwoLayerNet(3, 5, 2, seed=seed)
    rows = scalar_net(x)
    np.testing.assert_allclose([[v.data for v in r] for r in rows], tensor_net(x).data, rtol=0, atol=1e-15)
    for reduction in ("sum", "mean"):
        gt, gs = automatic(tensor_net, x, y, reduction), automatic(scalar_net, x, y, reduction)
        for k in gt:
            np.testing.assert_allclose(gs[k], gt[k], rtol=1e-12, atol=1e-14)


def test_forward_matches_the_reference_and_checks_shapes():
    ref = NumpyTwoLayerNet(2, 4, 1, seed=0)
    net = TwoLayerNet(2, 4, 1, seed=0)
    np.testing.assert_array_equal(net(X).data, ref.forward(X))
    np.testing.assert_array_equal(net.hidden(X).data, ref.hidden_output)
    with pytest.raises(ValueError, match=r"TwoLayerNet: input must have shape \(N, 2\), got \(4, 3\)"):
        net(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"ScalarTwoLayerNet: input must have shape \(N, 2\)"):
        ScalarTwoLayerNet(2, 4, 1)(np.zeros(2))
    assert [n for n, _ in net.named_parameters()] == ["w1", "b1", "w2", "b2"]


def test_a_training_step_keeps_no_graph_alive():
    """Once the caller drops the loss, the whole graph is freed: memory is back to the parameters, the
    inputs and the gradients (the net keeps nothing of its last forward)."""
    import tracemalloc

    from nn import SGD

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((512, 64)), rng.uniform(0, 1, (512, 1))
    net = TwoLayerNet(64, 256, 1, seed=0)
    opt = SGD(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = binary_cross_entropy(net(x), y, reduction="sum")
        loss.backward()
        opt.step()
        return loss.item()

    step()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        step()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    hidden_bytes = 512 * 256 * 8  # one activation-sized array: 1 MB
    grad_bytes = sum(p.grad.nbytes for p in net.parameters())  # made during the step, kept after it
    assert peak - before > 3 * hidden_bytes  # the step did build its graph...
    assert after - before < grad_bytes + 20_000  # ...and none of it outlives the step
    assert not [k for k, v in vars(net).items() if isinstance(v, Tensor) and v.op is not None]


@pytest.mark.parametrize("build", [TwoLayerNet, ScalarTwoLayerNet])
def test_sizes_are_checked(build):
    with pytest.raises(ValueError, match=rf"{build.__name__}: hidden_size must be at least 1, got 0"):
        build(2, 0, 1)
    with pytest.raises(TypeError, match=rf"{build.__name__}: input_size must be an int, got float 2.0"):
        build(2.0, 4, 1)


def test_float32_network():
    net = TwoLayerNet(2, 4, 1, seed=0, dtype=np.float32)
    loss = binary_cross_entropy(net(X.astype(np.float32)), Y_ARTICLE, "sum")
    loss.backward()
    assert loss.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in net.parameters())
    np.testing.assert_allclose(net.state_dict()["w1"], TwoLayerNet(2, 4, 1, seed=0).state_dict()["w1"], rtol=1e-7)
