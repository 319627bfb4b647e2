import json

import numpy as np
import pytest

from nn import NumpyTwoLayerNet, ScalarTwoLayerNet, TwoLayerNet, broken_manual_gradients, compare_gradients
from nn.article_data import Y_ARTICLE, X
from nn.compare import constant_factor


def pair(build, seed=0):
    ref = NumpyTwoLayerNet(2, 4, 1, seed=seed)
    net = build(2, 4, 1)
    net.load_state_dict(ref.state_dict())
    return ref, net


@pytest.mark.parametrize("build", [TwoLayerNet, ScalarTwoLayerNet])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summed_loss_passes(build, seed):
    report = compare_gradients(*pair(build, seed), X, Y_ARTICLE, reduction="sum")
    assert report.passed, str(report)
    assert [r.name for r in report.rows] == ["w1", "b1", "w2", "b2"]
    assert report.notes() == []


@pytest.mark.parametrize("build", [TwoLayerNet, ScalarTwoLayerNet])
def test_mean_loss_names_the_factor_n(build):
    report = compare_gradients(*pair(build), X, Y_ARTICLE, reduction="mean")
    assert not report.passed
    assert report.common_factor() == pytest.approx(4.0, rel=1e-9)
    assert report.common_factor("automatic_vs_numeric") is None  # those two agree
    assert all(r.automatic_vs_numeric.agree for r in report.rows)
    text = str(report)
    assert "factor N = 4" in text and "sum-versus-mean" in text
    for r in report.rows:
        np.testing.assert_allclose(r.manual, 4 * r.automatic, rtol=1e-12)


def test_broken_manual_gradient_is_caught_without_a_factor():
    ref, net = pair(TwoLayerNet)
    report = compare_gradients(ref, net, X, Y_ARTICLE, manual=broken_manual_gradients(ref, X, Y_ARTICLE))
    verdict = {r.name: r.passed for r in report.rows}
    assert verdict == {"w1": False, "b1": False, "w2": True, "b2": True}
    assert report.rows[0].manual_vs_automatic.factor is None
    assert "FAILED" in str(report)


def test_report_as_data():
    report = compare_gradients(*pair(TwoLayerNet), X, Y_ARTICLE, reduction="mean")
    d = json.loads(json.dumps(report.to_dict()))
    assert d["passed"] is False and d["n_samples"] == 4
    assert d["rows"][0]["name"] == "w1" and np.shape(d["rows"][0]["manual"]) == (2, 4)
    assert d["rows"][0]["manual_vs_automatic"]["factor"] == pytest.approx(4.0)
    lines = str(report).splitlines()
    bars = {tuple(i for i, ch in enumerate(line) if ch == "|") for line in lines[1:7]}
    assert len(bars) == 1 and len(next(iter(bars))) == 3  # an aligned table


def test_mismatched_weights_are_refused():
    ref = NumpyTwoLayerNet(2, 4, 1, seed=0)
    with pytest.raises(ValueError, match="'w1' differs from the reference's; call network.load_state_dict"):
        compare_gradients(ref, TwoLayerNet(2, 4, 1, seed=1), X, Y_ARTICLE)


def test_constant_factor_is_robust():
    rng = np.random.default_rng(0)
    b = rng.standard_normal(20)
    assert constant_factor(-2.5 * b, b) == pytest.approx(-2.5)
    noisy = 2 * b
    noisy[3] += 1e-3
    assert constant_factor(noisy, b) is None
    assert constant_factor(np.zeros(3), np.ones(3)) is None


@pytest.mark.parametrize("build", [TwoLayerNet, ScalarTwoLayerNet])
def test_every_step_of_the_derivation_is_checked(build):
    ref, net = pair(build)
    report = compare_gradients(ref, net, X, Y_ARTICLE)
    assert report.check.passed
    assert [r.name for r in report.check.rows if r.name in ("p", "z2", "h", "z1")] == ["p", "z2", "h", "z1"]


@pytest.mark.parametrize("build", [TwoLayerNet, ScalarTwoLayerNet])
def test_a_wrong_step_is_named_with_how_it_is_wrong(build):
    ref, net = pair(build)
    manual = ref.derivation(X, Y_ARTICLE, replace={"z1": lambda d, v: d["h"]})  # sigmoid' left out
    report = compare_gradients(ref, net, X, Y_ARTICLE, manual=manual)
    assert not report.passed and report.check.first_wrong == "z1"
    assert {r.name: r.passed for r in report.rows} == {"w1": False, "b1": False, "w2": True, "b2": True}
    if build is TwoLayerNet:
        assert report.check.first_wrong_row.diagnosis.kind == "missing_derivative"
        assert "steps: first wrong step: z1 (missing derivative" in str(report)


def test_article_graph_names_the_derivations_nodes():
    from nn.compare import article_graph

    ref, net = pair(TwoLayerNet)
    loss, names = article_graph(net, X, Y_ARTICLE)
    assert {"x", "y", "w1", "b1", "w2", "b2", "z1", "h", "z2", "p", "loss"} <= set(names)
    assert names["p"].op.name == "sigmoid" and names["z2"].op.name == "linear" and names["h"].parents[0] is names["z1"]
    np.testing.assert_allclose(names["p"].data, ref.forward(X), rtol=1e-15)
    _, scalar_names = article_graph(pair(ScalarTwoLayerNet)[1], X, Y_ARTICLE)
    assert np.shape(scalar_names["h"]) == (4, 4) and np.shape(scalar_names["z1"]) == (4, 4)


def test_a_manual_without_a_parameter_is_refused():
    ref, net = pair(TwoLayerNet)
    manual = ref.gradients(X, Y_ARTICLE)
    del manual["b2"]
    with pytest.raises(ValueError, match="compare_gradients: manual has no gradient for 'b2'"):
        compare_gradients(ref, net, X, Y_ARTICLE, manual=manual)


def test_the_networks_gradients_are_left_alone():
    ref, net = pair(TwoLayerNet)
    net.w1.grad = np.full((2, 4), 5.0)
    compare_gradients(ref, net, X, Y_ARTICLE)
    assert np.all(net.w1.grad == 5.0) and net.b1.grad is None
