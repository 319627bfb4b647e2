import warnings

import numpy as np
import pytest

from autograd import Tensor, Value, gradcheck
from nn import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss

REDUCTIONS = ("mean", "sum", "none")
rng = np.random.default_rng(0)
P = rng.uniform(0.05, 0.95, (5, 2))
Y = rng.uniform(0.0, 1.0, (5, 2))
Z = rng.normal(0, 3, (5, 2))
LOGITS = rng.normal(0, 2, (6, 4))
LABELS = np.array([0, 3, 1, 1, 2, 0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_match_torch(torch, reduction):
    F = torch.nn.functional
    t = torch.tensor
    cases = [
        (mse_loss(P, Y, reduction), F.mse_loss(t(P), t(Y), reduction=reduction)),
        (binary_cross_entropy(P, Y, reduction), F.binary_cross_entropy(t(P), t(Y), reduction=reduction)),
        (
            binary_cross_entropy_with_logits(Z, Y, reduction),
            F.binary_cross_entropy_with_logits(t(Z), t(Y), reduction=reduction),
        ),
        (cross_entropy(LOGITS, LABELS, reduction), F.cross_entropy(t(LOGITS), t(LABELS), reduction=reduction)),
    ]
    for ours, theirs in cases:
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_gradients_match_torch(torch, reduction):
    F = torch.nn.functional
    for ours_fn, torch_fn, a, b in [
        (binary_cross_entropy, F.binary_cross_entropy, P, Y),
        (binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, Z, Y),
        (mse_loss, F.mse_loss, P, Y),
    ]:
        x = Tensor(a, requires_grad=True)
        out = ours_fn(x, b, reduction)
        xt = torch.tensor(a, requires_grad=True)
        ot = torch_fn(xt, torch.tensor(b), reduction=reduction)
        seed = np.ones(out.shape)
        out.backward(gradient=seed)
        ot.backward(torch.tensor(seed))
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_gradients_match_finite_differences(reduction):
    y = Tensor(Y)
    checks = [
        gradcheck(lambda p: binary_cross_entropy(p, y, reduction), Tensor(P, requires_grad=True)),
        gradcheck(
            lambda p, t: binary_cross_entropy(p, t, reduction),
            Tensor(P, requires_grad=True),
            Tensor(Y, requires_grad=True),
        ),
        gradcheck(lambda z: binary_cross_entropy_with_logits(z, y, reduction), Tensor(Z, requires_grad=True)),
        gradcheck(lambda p: mse_loss(p, y, reduction), Tensor(P, requires_grad=True)),
        gradcheck(lambda z: cross_entropy(z, LABELS, reduction), Tensor(LOGITS, requires_grad=True)),
    ]
    for c in checks:
        assert c, str(c)


def test_bce_clips_like_the_seed_and_differs_from_torch_only_outside_the_clip(torch):
    p = np.array([0.0, 1.0, 1e-20])
    y = np.array([1.0, 0.0, 1.0])
    ours = binary_cross_entropy(p, y, "none").data
    q = np.clip(p, 1e-15, 1 - 1e-15)
    np.testing.assert_allclose(ours, -(y * np.log(q) + (1 - y) * np.log(1 - q)))
    assert np.all(ours < 40)  # -ln(1e-15) = 34.5, where torch clamps the log at -100
    theirs = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(y), reduction="none")
    np.testing.assert_allclose(theirs.numpy(), [100.0, 100.0, -np.log(1e-20)])  # unclipped below 1e-15


def test_bce_gradient_is_the_seeds_rule_at_clipped_p():
    p = Tensor(np.array([[1.0], [0.3]]), requires_grad=True)
    y = np.array([[0.0], [1.0]])
    binary_cross_entropy(p, y, "sum").backward()
    q = np.clip(p.data, 1e-15, 1 - 1e-15)
    np.testing.assert_array_equal(p.grad, -(y / q - (1 - y) / (1 - q)))
    assert np.all(np.isfinite(p.grad))


def test_bce_with_logits_is_stable_for_huge_logits():
    z = Tensor(np.array([-1e4, 1e4, 0.0, 800.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.5, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = binary_cross_entropy_with_logits(z, y, "none")
        loss.backward(gradient=np.ones(4))
    np.testing.assert_allclose(loss.data, [1e4, 1e4, np.log(2), 0.0])
    np.testing.assert_allclose(z.grad, [-1.0, 1.0, 0.0, 0.0])


def test_cross_entropy_is_stable_and_checks_labels():
    z = np.array([[1000.0, 0.0], [0.0, -1000.0]])
    np.testing.assert_allclose(cross_entropy(z, [1, 0], "none").data, [1000.0, 0.0])
    with pytest.raises(ValueError, match=r"cross_entropy: label 5 is out of range for 2 classes"):
        cross_entropy(z, [5, 0])
    with pytest.raises(ValueError, match=r"cross_entropy: labels must have shape \(2,\)"):
        cross_entropy(z, [0, 1, 1])
    with pytest.raises(TypeError, match="integer class indices"):
        cross_entropy(z, [0.5, 1.0])
    with pytest.raises(ValueError, match=r"cross_entropy: logits must have shape \(N, C\)"):
        cross_entropy(np.zeros(3), [0])


def test_shape_and_reduction_errors_name_the_loss():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input has shape \(4, 1\) but target has shape \(4,\)"):
        binary_cross_entropy(np.full((4, 1), 0.5), np.zeros(4))
    with pytest.raises(ValueError, match=r"mse_loss: reduction must be one of"):
        mse_loss(P, Y, "average")


def test_bce_on_values_matches_the_tensor_op():
    vals = [[Value(p) for p in row] for row in P]
    for reduction in ("mean", "sum"):
        loss = binary_cross_entropy(vals, Y, reduction)
        assert loss.data == pytest.approx(float(binary_cross_entropy(P, Y, reduction).data), rel=1e-14)
    loss = binary_cross_entropy(vals, Y, "mean")
    loss.backward()
    pt = Tensor(P, requires_grad=True)
    binary_cross_entropy(pt, Y, "mean").backward()
    np.testing.assert_allclose([[v.grad for v in row] for row in vals], pt.grad, rtol=1e-14)
    assert len(binary_cross_entropy(vals, Y, "none")) == 5


def test_bce_in_float32_is_finite_at_0_and_1(torch):
    from nn.primitives import bce_eps

    eps = bce_eps(np.dtype(np.float32))
    assert np.float32(1.0) - np.float32(eps) < 1.0 and np.float32(eps) > 0  # representable both ways
    assert bce_eps(np.dtype(np.float64)) == 1e-15  # the article's clip
    p = Tensor(np.array([1.0, 0.0, 1.0, 0.0, 0.5], dtype=np.float32), requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    for reduction in REDUCTIONS:
        p.grad = None
        loss = binary_cross_entropy(p, y, reduction)
        loss.backward(gradient=np.ones(loss.shape, dtype=np.float32))
        assert loss.dtype == np.float32 and p.grad.dtype == np.float32
        assert np.all(np.isfinite(loss.data)) and np.all(np.isfinite(p.grad)), reduction
    per_element = binary_cross_entropy(p, y, "none").data
    np.testing.assert_allclose(per_element[:2], -np.log(eps), rtol=1e-6)  # -ln(2^-24) = 16.6
    np.testing.assert_allclose(per_element[2:], [0.0, 0.0, np.log(2)], atol=1e-6)
    theirs = torch.nn.functional.binary_cross_entropy(
        torch.tensor(p.data[2:]), torch.tensor(y[2:], dtype=torch.float32), reduction="none"
    )
    np.testing.assert_allclose(per_element[2:], theirs.numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "p, y, message",
    [
        ([0.5, 1.5], [0.0, 1.0], r"binary_cross_entropy: input must lie in \[0, 1\], got 1.5 at index \(1,\)"),
        ([[0.5], [-0.1]], [[0.0], [1.0]], r"input must lie in \[0, 1\], got -0.1 at index \(1, 0\)"),
        ([0.5, np.nan], [0.0, 1.0], r"input must lie in \[0, 1\], got nan at index \(1,\)"),
        ([0.5, 0.5], [2.0, 1.0], r"binary_cross_entropy: target must lie in \[0, 1\], got 2.0 at index \(0,\)"),
        (0.5, -1.0, r"target must lie in \[0, 1\], got -1.0$"),
    ],
)
def test_bce_refuses_probabilities_outside_0_1(torch, p, y, message):
    with pytest.raises(ValueError, match=message):
        binary_cross_entropy(Tensor(p, requires_grad=True), y)
    values = Value(p) if np.ndim(p) == 0 else [Value(v) if np.ndim(v) == 0 else [Value(w) for w in v] for v in p]
    with pytest.raises(ValueError, match=message.split(" at index")[0]):
        binary_cross_entropy(values, y)
    with pytest.raises(RuntimeError, match="should be between 0 and 1"):  # torch refuses them too
        torch.nn.functional.binary_cross_entropy(
            torch.tensor(p, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
        )


def test_bce_with_logits_at_infinite_logits_is_the_limit_not_nan():
    inf = np.inf
    z = Tensor(np.array([inf, -inf, inf, -inf, inf, -inf]), requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.25, 0.25])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = binary_cross_entropy_with_logits(z, y, "none")
        loss.backward(gradient=np.ones(6))
    # inf where the prediction is certain and wrong (PyTorch: inf, NaN at -inf); 0 where certain and right
    np.testing.assert_array_equal(loss.data, [inf, inf, 0.0, 0.0, inf, inf])
    np.testing.assert_allclose(z.grad, [1.0, -1.0, 0.0, 0.0, 0.75, -0.25], atol=1e-300)
    assert binary_cross_entropy_with_logits(z, y, "sum").data == inf
    assert binary_cross_entropy_with_logits(Tensor(inf), 0.0).data == inf  # 0-d


@pytest.mark.parametrize("loss", [binary_cross_entropy, mse_loss, binary_cross_entropy_with_logits])
def test_a_list_mixing_values_and_numbers_names_the_loss(loss):
    name = loss.__name__
    for mixed in ([Value(0.5), 0.25], [[0.25], [Value(0.5)]]):
        with pytest.raises(TypeError, match=rf"{name}: the input mixes Values with float"):
            loss(mixed, np.zeros(np.shape(np.array(mixed, dtype=object))))
    if loss is not binary_cross_entropy:
        with pytest.raises(TypeError, match=rf"{name}: takes Tensors or arrays, not Values"):
            loss([Value(0.5)], [0.0])
