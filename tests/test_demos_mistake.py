"""The find-the-mistake demo: every planted mistake is found, and the files it promises are written."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from conftest import require_dot, require_module

from autograd.graphinfo import all_gradients
from demos import find_the_mistake
from demos.find_the_mistake import ARTICLE_MISTAKES, BATCHNORM_MISTAKES, batchnorm_network


def test_the_demo_finds_every_planted_mistake(tmp_path, capsys):
    require_module("graphviz")
    assert find_the_mistake.main(["--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for m in ARTICLE_MISTAKES:
        assert f"[{m.key}] planted in step {m.step}: {m.wrote}" in printed
        assert f"first wrong step found: {m.step} (" in printed
    assert "FIRST WRONG" in printed and "the right line: dhpreact = dh * (1 - h ** 2)" in printed

    data = json.loads((tmp_path / "mistakes.json").read_text())
    assert [(a["mistake"], a["first_wrong"]) for a in data["article"]] == [(m.key, m.step) for m in ARTICLE_MISTAKES]
    kinds = [next(r for r in a["rows"] if r["status"] == "first_wrong")["diagnosis"]["kind"] for a in data["article"]]
    assert kinds == [m.kind for m in ARTICLE_MISTAKES]
    assert data["batchnorm"]["first_wrong"] == "hpreact"

    text = (tmp_path / "mistake_batchnorm.txt").read_text()
    assert "first wrong step: hpreact (derivative at the wrong point" in text
    for name in ("mistakes_article.txt", "mistake_batchnorm.txt", "batchnorm_backward.py", "mistakes.json"):
        assert name in printed


def test_the_written_backward_pass_runs(tmp_path):
    require_module("graphviz")
    find_the_mistake.run(out=tmp_path, stream=io.StringIO(), say_missing_dot=False)
    namespace = {}
    exec((tmp_path / "batchnorm_backward.py").read_text(), namespace)
    net = batchnorm_network()
    values = {name: t.data for name, t in net.nodes.items() if t.op is None}
    result = namespace["gradients"](values)
    _, grads = all_gradients(net.loss)
    for name, t in net.nodes.items():
        np.testing.assert_allclose(result[name], grads[id(t)], rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_picture_marks_the_first_wrong_node(tmp_path):
    require_dot()
    require_module("graphviz")
    output = find_the_mistake.run(out=tmp_path, mistake="sign", stream=io.StringIO())
    svg = (tmp_path / "graph_mistake.svg").read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "bnmean" in svg
    assert output.marked_by in ("check", "expected")
    assert "#fca5a5" in svg  # the red of a wrong node


@pytest.mark.parametrize("mistake", BATCHNORM_MISTAKES, ids=lambda m: m.key)
def test_each_batchnorm_mistake_can_be_chosen(mistake, tmp_path):
    require_module("graphviz")
    output = find_the_mistake.run(out=tmp_path, mistake=mistake.key, stream=io.StringIO())
    assert output.batchnorm.report.first_wrong == mistake.step
    assert f"The mistake planted: {mistake.wrote}" in output.texts["batchnorm"]


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        find_the_mistake.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--out" in out and "--mistake" in out and "wrong_point" in out
