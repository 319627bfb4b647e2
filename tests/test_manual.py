import json

import numpy as np
import pytest
from graphs import article, batchnorm_manual, indexing

from autograd import Tensor, Value, check_manual
from demos.find_the_mistake import (
    ARTICLE_MISTAKES,
    BATCHNORM_MISTAKES,
    BATCHNORM_STEPS,
    batchnorm_network,
    check_article_mistake,
    check_batchnorm_mistake,
    derive,
)
from nn.article_data import Y_ARTICLE, X
from nn.reference import ARTICLE_STEPS

# ---------------------------------------------------------------------- right derivations


def test_the_articles_derivation_passes_every_step():
    loss, names = article("sum")
    manual = names["reference"].derivation(X, Y_ARTICLE)
    report = check_manual(loss, manual, names=names)
    assert report.passed and report.first_wrong is None
    assert [r.name for r in report.rows] == ["p", "z2", "b2", "w2", "h", "z1", "b1", "w1"]  # backward order
    assert all(r.status == "right" and r.diagnosis is None for r in report.rows)
    assert "all 8 manual gradients agree" in str(report)


def test_the_batchnorm_derivation_passes_every_step():
    net, manual = batchnorm_manual()
    report = check_manual(net.loss, manual)
    assert report.passed, str(report)
    assert len(report.rows) == len(BATCHNORM_STEPS) == 33
    positions = [r.position for r in report.rows]
    assert positions == sorted(positions) and report.rows[0].name == "loss"


def test_every_grad_is_left_as_it_was():
    net, manual = batchnorm_manual()
    sentinel = {}
    for name, t in net.nodes.items():
        if t.requires_grad:
            t.grad = np.full(t.shape, 7.0)
            sentinel[name] = t.grad
    manual["W2"] = manual["W2"] * 3  # a failing check runs the same walk
    check_manual(net.loss, manual)
    for name, g in sentinel.items():
        assert net.nodes[name].grad is g and np.all(g == 7.0), name


# ---------------------------------------------------------------------- planted mistakes, both networks


@pytest.mark.parametrize("mistake", ARTICLE_MISTAKES, ids=lambda m: m.key)
def test_each_mistake_in_the_article_is_found_at_its_step(mistake):
    found = check_article_mistake(mistake)
    report = found.report
    assert report.first_wrong == mistake.step
    assert report.first_wrong_row.diagnosis.kind == mistake.kind
    before = [r for r in report.rows if r.position < report.first_wrong_row.position]
    assert all(r.status == "right" for r in before)
    assert all(r.status in ("right", "inherited") for r in report.rows if r.position > report.first_wrong_row.position)


@pytest.mark.parametrize("mistake", BATCHNORM_MISTAKES, ids=lambda m: m.key)
def test_each_mistake_in_the_batchnorm_network_is_found_at_its_step(mistake):
    report = check_batchnorm_mistake(mistake).report
    assert report.first_wrong == mistake.step
    assert report.first_wrong_row.diagnosis.kind == mistake.kind
    assert report.right_line is not None and report.right_line.startswith(f"d{mistake.step} = ")


def diagnosis(report):
    return report.first_wrong_row.diagnosis


def article_mistake(key):
    return next(m for m in ARTICLE_MISTAKES if m.key == key)


def batchnorm_mistake(key):
    return next(m for m in BATCHNORM_MISTAKES if m.key == key)


def test_missing_sum_names_the_axis():
    d = diagnosis(check_article_mistake(article_mistake("missing_sum")).report)
    assert d.details["axes"] == (0,) and d.details["keepdims"] is True
    assert "not summed over axis 0 (keepdims=True, to keep shape (1, 1)); summed, it is right" in d.text
    d = diagnosis(check_batchnorm_mistake(batchnorm_mistake("missing_sum")).report)
    assert d.details["axes"] == (0,) and d.details["keepdims"] is False
    assert "broadcast shape (8, 5), not (5,): not summed over axis 0; summed, it is right" in d.text


def test_transposed_sign_and_factor():
    d = diagnosis(check_article_mistake(article_mistake("transposed")).report)
    assert "shape (4, 2), the transpose of (2, 4), and manual.T is right" in d.text
    assert diagnosis(check_article_mistake(article_mistake("sign")).report).text.startswith("sign: manual = -automatic")
    d = diagnosis(check_batchnorm_mistake(batchnorm_mistake("factor")).report)
    assert d.details["factor"] == pytest.approx(2.0) and d.text.startswith("factor 2: manual = 2 x automatic")


def test_sum_versus_mean_on_the_article_names_n():
    loss, names = article("mean")
    report = check_manual(loss, names["reference"].derivation(X, Y_ARTICLE), names=names)
    d = diagnosis(report)
    assert report.first_wrong == "p" and d.kind == "sum_vs_mean"
    assert d.details["N"] == 4 and "binary_cross_entropy(reduction='mean') at loss" in d.text
    assert "sum-versus-mean" in d.text
    assert all(r.status == "inherited" and r.diagnosis.kind == "sum_vs_mean" for r in report.rows[1:])


def test_sum_versus_mean_in_the_batchnorm_network():
    d = diagnosis(check_batchnorm_mistake(batchnorm_mistake("sum_vs_mean")).report)
    assert d.details["N"] == 8 and "mean at picked_mean" in d.text


def test_derivative_at_the_wrong_point():
    d = diagnosis(check_batchnorm_mistake(batchnorm_mistake("wrong_point")).report)
    assert d.details == {"op": "tanh", "through": "h", "variant": "input_as_output"}
    assert "with the input hpreact in the output's place" in d.text
    d = diagnosis(check_article_mistake(article_mistake("wrong_point")).report)
    assert d.details["op"] == "sigmoid" and d.details["through"] == "h"


def test_derivative_taken_at_the_output():
    net = batchnorm_network()
    manual = derive(
        BATCHNORM_STEPS, net.values(), replace={"hpreact": lambda d, v: d["h"] * (1 - np.tanh(v["h"]) ** 2)}
    )
    d = diagnosis(check_manual(net.loss, manual))
    assert d.kind == "wrong_point" and d.details["variant"] == "at_output"
    assert "at the output h instead of at the input hpreact" in d.text


def test_some_elements_repeated_indices():
    report = check_batchnorm_mistake(batchnorm_mistake("some_elements")).report
    d = diagnosis(report)
    net = batchnorm_network()
    picked = np.bincount(net.tokens.ravel(), minlength=10)
    rows = {w[0] for w in d.details["where"]}
    assert rows == set(np.flatnonzero(picked > 1).tolist())
    assert d.details["count"] == 3 * len(rows)
    assert "picks more than once" in d.text


def test_some_elements_skipped_sample():
    d = diagnosis(check_article_mistake(article_mistake("some_elements")).report)
    assert d.details["count"] == 1 and d.details["where"] == [[0, 0]]
    assert d.text.startswith("wrong in 1 of 4 elements only, at (0, 0)")


def test_some_elements_where_the_input_is_zero_and_ties():
    loss, names = indexing()
    x = names["x"].data
    picked_rows = np.zeros_like(x)
    np.add.at(picked_rows, np.array([0, 2, 0, 0]), 2 * x[np.array([0, 2, 0, 0])])
    part = np.zeros_like(x)
    part[1:, :2] = 1.0
    m = x.max(axis=1)
    first_max = np.zeros_like(x)
    first_max[np.arange(3), x.argmax(axis=1)] = 2 * m  # all to the first maximum: wrong where there are ties
    overall = (x == x.max()) * 1.0
    right = picked_rows + part + (x > 0) + overall
    report = check_manual(loss, {"x": right + first_max}, names=names)
    d = diagnosis(report)
    assert d.kind == "some_elements" and "ties for the maximum in m = max(x)" in d.text
    assert sorted(map(tuple, d.details["where"])) == [(0, 1), (0, 2), (2, 0), (2, 1)]

    ties = x == m[:, None]
    share = ties / ties.sum(axis=1, keepdims=True) * (2 * m)[:, None]
    assert check_manual(loss, {"x": right + share}, names=names).passed
    relu_at_zero = right + share + (x == 0)  # took relu'(0) = 1
    d = diagnosis(check_manual(loss, {"x": relu_at_zero}, names=names))
    assert d.kind == "some_elements" and "exactly the elements where x == 0" in d.text


def test_some_elements_in_one_column():
    w = Tensor(np.arange(12.0).reshape(3, 4) / 10, requires_grad=True, label="w")
    loss = (w * w).sum()
    manual = 2 * w.data
    manual[:, 2] += 1
    d = diagnosis(check_manual(loss, {"w": manual}))
    assert d.kind == "some_elements" and d.text.endswith("all in column 2")


def test_missing_path_and_node_factor():
    d = diagnosis(check_batchnorm_mistake(batchnorm_mistake("missing_path")).report)
    assert d.details == {"kept": ["bnraw"], "missing": ["bndiff2"]}
    assert "gets the sum of the gradients from all its uses" in d.text
    d = diagnosis(check_batchnorm_mistake(batchnorm_mistake("cascade")).report)
    assert d.details == {"node": "gamma", "missing": True}


def test_a_cascade_from_an_early_step():
    """One mistake early in backward order; the later steps, computed from it, are all inherited."""
    report = check_batchnorm_mistake(batchnorm_mistake("cascade")).report
    first = report.first_wrong_row
    after = [r for r in report.rows if r.position > first.position]
    wrong_after = [r for r in after if not r.close]
    assert len(wrong_after) >= 10
    assert all(r.status == "inherited" for r in wrong_after)
    assert all(r.follows is True for r in wrong_after if r.follows is not None)
    assert "gamma" in [r.name for r in after if r.close]  # gamma's step does not use bnraw's gradient
    assert f"{len(wrong_after)} later steps differ too, possibly inherited from it." in report.verdict

    report = check_article_mistake(article_mistake("cascade")).report
    assert [(r.name, r.status) for r in report.rows] == [
        ("p", "right"),
        ("z2", "right"),
        ("b2", "right"),
        ("w2", "right"),
        ("h", "right"),
        ("z1", "first_wrong"),
        ("b1", "inherited"),
        ("w1", "inherited"),
    ]
    assert diagnosis(report).text.startswith("missing derivative: the manual gradient of z1 is the gradient of h")


def test_a_second_mistake_of_its_own_is_told_apart():
    net = batchnorm_network()
    manual = derive(
        BATCHNORM_STEPS,
        net.values(),
        replace={"probs": lambda d, v: 2 * d["logprobs"] / v["probs"], "W2": lambda d, v: 3 * v["h"].T @ d["hW2"]},
    )
    report = check_manual(net.loss, manual)
    assert report.first_wrong == "probs"
    assert report.row("W2").follows is False and report.row("h").follows is True
    assert "wrong in their own step as well: W2" in report.verdict


def test_rounding_only_in_float32_on_both_networks():
    net = batchnorm_network()
    manual = derive(BATCHNORM_STEPS, net.values(np.float32))
    report = check_manual(net.loss, manual, rtol=1e-9)
    d = diagnosis(report)
    assert report.first_wrong == "probs" and d.kind == "rounding" and d.details["dtype"] == "float32"
    assert "within float32 precision" in d.text and report.right_line is None
    assert "differs by rounding only" in report.verdict
    assert check_manual(net.loss, manual, rtol=1e-5, atol=1e-6).passed

    loss, names = article("sum")
    values = {
        k: np.asarray(v, np.float32) if isinstance(v, np.ndarray) else v
        for k, v in names["reference"].forward_values(X, Y_ARTICLE).items()
    }
    manual = derive(ARTICLE_STEPS, values)
    report = check_manual(loss, manual, names=names, rtol=1e-9)
    assert report.first_wrong == "p" and diagnosis(report).kind == "rounding"
    assert check_manual(loss, manual, names=names, rtol=1e-5, atol=1e-6).passed


def test_float64_rounding_beyond_a_strict_tolerance():
    w = Tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True, label="w")
    loss = (w * 3.0).sum()
    manual = np.full((2, 2), 3.0) * (1 + 4e-16)
    d = diagnosis(check_manual(loss, {"w": manual}, rtol=0, atol=0))
    assert d.kind == "rounding" and d.details["dtype"] == "float64"


# ---------------------------------------------------------------------- shapes, odd values, no pattern


def small():
    x = Tensor(np.arange(6.0).reshape(2, 3) / 4, requires_grad=True, label="x")
    b = Tensor(np.zeros((1, 3)), requires_grad=True, label="b")
    y = (x + b).tanh()
    y.label = "y"
    return (y * y).sum(), x, b, y


def test_shape_diagnoses():
    loss, x, b, y = small()
    right_b = (2 * y.data * (1 - y.data**2)).sum(axis=0, keepdims=True)
    d = diagnosis(check_manual(loss, {"b": right_b.ravel()}))
    assert d.kind == "shape" and "the numbers are right but the shape is (3,), not (1, 3)" in d.text
    d = diagnosis(check_manual(loss, {"x": right_b}))
    assert (
        d.kind == "shape"
        and "summed over axis 0 (keepdims=True, to keep shape (1, 3)), an axis that should stay" in d.text
    )
    d = diagnosis(check_manual(loss, {"x": np.ones(4)}))
    assert d.kind == "shape" and d.text == "shape: the manual gradient has shape (4,), the node has shape (2, 3)"
    d = diagnosis(check_manual(loss, {"b": 3 * np.broadcast_to(right_b, (2, 3)) / 2}))
    assert d.kind == "missing_sum" and d.details["then"] == "factor"
    assert "summed, it is still wrong (factor 3: manual = 3 x automatic)" in d.text


def test_not_finite_and_no_pattern():
    loss, x, b, y = small()
    right = 2 * y.data * (1 - y.data**2)
    broken = right.copy()
    broken[1, 2] = np.nan
    d = diagnosis(check_manual(loss, {"x": broken}))
    assert d.kind == "not_finite" and d.details["where"] == [[1, 2]]
    d = diagnosis(check_manual(loss, {"x": right + np.array([[0.3, -0.1, 0.2], [0.05, 0.4, -0.2]])}))
    assert d.kind == "no_pattern" and d.text.startswith("no simple pattern: manual / automatic ranges from")


def test_a_number_stands_for_a_single_element_node():
    w = Tensor([[2.0]], requires_grad=True, label="w")
    loss = (w * w).sum()
    loss.label = "loss"
    report = check_manual(loss, {"w": 4.0, "loss": 1})
    assert report.passed and report.row("w").shape == (1, 1)


def test_scalar_values_and_nests_of_values():
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    z = (x * y + x**2).tanh()
    z.label = "z"
    t = 1 - z.data**2
    assert check_manual(z, {"x": t * (y.data + 2 * x.data), "y": t * x.data}).passed
    d = diagnosis(check_manual(z, {"x": -t * (y.data + 2 * x.data)}))
    assert d.kind == "sign"
    ws = [[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.25)]]
    total = sum((w * w for row in ws for w in row), Value(0.0))
    grads = [[2 * w.data for w in row] for row in ws]
    report = check_manual(total, {"W": grads}, names={"W": ws})
    assert report.passed and report.row("W").shape == (2, 2)
    report = check_manual(total, {"W": np.array(grads).T}, names={"W": ws})
    assert diagnosis(report).kind == "transposed" and report.status(ws[0][1]) == "first_wrong"


# ---------------------------------------------------------------------- the report as data, text and HTML


def test_status_for_pictures():
    report = check_batchnorm_mistake(batchnorm_mistake("sign")).report
    row = {r.name: r for r in report.rows}
    assert report.status(row["bnmean"].node) == "first_wrong"
    assert report.status(row["hprebn"].node) == "inherited"
    assert report.status(row["logits"].node) == "right"
    assert report.status(Tensor([1.0])) is None


def test_verdict_names_the_op_its_math_and_the_right_line():
    found = check_article_mistake(article_mistake("factor"))
    report = found.report
    text = str(report)
    assert "first wrong step: z2 (factor 2: manual = 2 x automatic). z2's gradient comes from" in text
    assert "p = 1 / (1 + np.exp(-z2)) through sigmoid (s(a) = 1 / (1 + e^-a); d/da = s (1 - s))" in text
    assert "the gradient of p was right" in text
    assert "the right line: dz2 = dp * (p * (1 - p))" in text
    lines = text.splitlines()
    assert lines[1].split() == [
        "#",
        "name",
        "shape",
        "exact",
        "close",
        "max",
        "abs",
        "max",
        "rel",
        "status",
        "diagnosis",
    ]
    assert "FIRST WRONG" in lines[3] and "inherited" in lines[4]


def test_verdict_for_the_issue_example():
    """h's gradient comes from logits = h @ W2 + b2 through matmul-like linear; logits was right."""
    report = check_batchnorm_mistake(batchnorm_mistake("transposed")).report
    assert "W2's gradient comes from hW2 = h @ W2 through matmul (a @ b, 1-D, 2-D and batched as numpy; d/da" in (
        report.verdict
    )
    assert "the gradient of hW2 was right" in report.verdict
    assert report.right_line == "dW2 = h.T @ dhW2"


def test_unchecked_consumer_is_said():
    loss, names = article("sum")
    manual = names["reference"].derivation(X, Y_ARTICLE)
    report = check_manual(loss, {"w1": manual["w1"] * 2}, names=names)
    assert "the gradient of z1 was not checked, so the mistake may lie in a step before this one" in report.verdict


def test_to_dict_is_json_and_html_is_a_table():
    report = check_batchnorm_mistake(batchnorm_mistake("missing_sum")).report
    data = json.loads(json.dumps(report.to_dict()))
    assert data["first_wrong"] == "b2" and data["passed"] is False
    row = next(r for r in data["rows"] if r["name"] == "b2")
    assert row["manual_shape"] == [8, 5] and row["shape"] == [5] and row["diagnosis"]["kind"] == "missing_sum"
    html = report._repr_html_()
    assert html.startswith("<table") and html.count("<tr") == len(report.rows) + 1
    assert "first wrong" in html and "dlogits.sum(axis=0)" in html


def test_html_escapes():
    w = Tensor([1.0, 2.0], requires_grad=True, label="<w>")
    loss = (w * w).sum()
    html = check_manual(loss, {"<w>": [1.0, 9.0]})._repr_html_()
    assert "<w>" not in html and "&lt;w&gt;" in html


# ---------------------------------------------------------------------- errors


def test_errors_name_what_is_wrong():
    loss, x, b, y = small()
    with pytest.raises(ValueError, match=r"no node of the graph is named 'q'; the names that exist: b, x, y"):
        check_manual(loss, {"q": 1.0})
    with pytest.raises(TypeError, match="manual must be a mapping"):
        check_manual(loss, [1.0])
    with pytest.raises(ValueError, match="root must be a single number"):
        check_manual(y, {"x": 1.0})
    with pytest.raises(ValueError, match="'x' and 'xx' name the same node"):
        check_manual(loss, {"x": 1.0, "xx": 1.0}, names={"xx": x})
    with pytest.raises(TypeError, match="the manual gradient of 'x' must be numeric"):
        check_manual(loss, {"x": ["a", "b"]})
    c = Tensor([1.0, 2.0], label="c")
    w = Tensor([1.0, 1.0], requires_grad=True, label="w")
    with pytest.raises(ValueError, match="'c' is a tensor that does not require grad"):
        check_manual((c * w).sum(), {"c": [1.0, 1.0]})
    u, v = Tensor([1.0], requires_grad=True, label="dup"), Tensor([2.0], requires_grad=True, label="dup")
    with pytest.raises(ValueError, match=r"the label 'dup' is carried by 2 nodes of the graph; say which one"):
        check_manual((u * v).sum(), {"dup": 1.0})
    assert check_manual((u * v).sum(), {"dup": 2.0}, names={"dup": u}).passed


def test_names_from_locals_ignore_other_entries():
    a = Tensor([1.0, 2.0], requires_grad=True)
    other = Tensor([5.0], requires_grad=True)  # a node of another graph
    number = 3
    loss = (a * a).sum()
    assert check_manual(loss, {"a": [2.0, 4.0]}, names=locals()).passed
    assert other.grad is None and number == 3
