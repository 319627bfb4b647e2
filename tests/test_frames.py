"""Tests for autograd.frames: backward step by step, recorded from the real walk, and its pictures."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from conftest import require_dot, require_module
from test_viz import ROOT, micrograd_graph, tensor_graph

from autograd import Value, frames, topological_order
from autograd import scalar_ops as sops
from autograd.frames import backprop_frames, backprop_steps
from autograd.value import nary
from autograd.viz import GraphvizNotFound
from nn.scalar import MLP


def mlp_graph():
    """``(MLP(3, [4, 1])(x) - 1) ** 2``: one ``weighted_sum`` node per neuron; no backward yet."""
    random.seed(4)  # 16 of the 21 parameters get a nonzero gradient
    model = MLP(3, [4, 1])
    x = [Value(0.5, label="x1"), Value(-1.0, label="x2"), Value(2.0, label="x3")]
    loss = (model(x) - 1.0) ** 2
    loss.label = "loss"
    return model, loss


def grads(order) -> list:
    return [node.grad for node in order]


# ---------------------------------------------------------------------------- the steps


def test_steps_end_at_the_real_gradients_and_touch_nothing():
    L = micrograd_graph()
    order = topological_order(L)
    before = [node.grad for node in order]
    steps = backprop_steps(L)
    assert len(steps) == len(order)
    assert [s.node for s in steps] == order[::-1]
    assert [s.index for s in steps] == list(range(1, len(order) + 1))
    assert all(steps[-1].grad(node) == node.grad for node in order)
    assert [node.grad for node in order] == before
    assert steps[0].grad(order[0]) is None  # a is not reached at the first step
    assert [(k, p.label, local, c) for k, p, local, c in steps[0].sent] == [(0, "d", -2.0, -2.0), (1, "f", 4.0, 4.0)]


def test_tensor_steps_end_at_the_real_gradients():
    y = tensor_graph()
    order = topological_order(y)
    before = [None if node.grad is None else node.grad.copy() for node in order]
    steps = backprop_steps(y)
    for node, old in zip(order, before):
        if node.requires_grad:
            np.testing.assert_array_equal(steps[-1].grad(node), node.grad)
            np.testing.assert_array_equal(node.grad, old)
        else:
            assert steps[-1].grad(node) is None and node.grad is None


def test_tensor_steps_need_a_seed_for_a_non_scalar_root():
    from autograd import Tensor

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    with pytest.raises(ValueError, match=r"shape \(2,\); pass gradient="):
        backprop_steps(y)
    steps = backprop_steps(y, gradient=[1.0, -1.0])
    np.testing.assert_array_equal(steps[-1].grad(x), [3.0, -3.0])


def test_steps_of_weighted_sums_are_the_real_walk(monkeypatch):
    model, loss = mlp_graph()
    order = topological_order(loss)
    sums = [node for node in order if node.op is sops.WEIGHTED_SUM]
    assert len(sums) == 5
    # WEIGHTED_SUM has its own backprop; the steps must come from it, once per node, not from a replay
    calls = []
    real = sops.WEIGHTED_SUM.backprop

    def spy(node):
        calls.append(node)
        real(node)

    monkeypatch.setitem(vars(sops.WEIGHTED_SUM), "backprop", spy)
    steps = backprop_steps(loss)
    assert calls == sums[::-1]
    assert all(node.grad == 0.0 for node in order)  # no backward yet, and none left behind
    loss.backward()
    assert [steps[-1].grad(node) for node in order] == grads(order)
    assert sum(p.grad != 0.0 for p in model.parameters()) == 16
    # each step shows the gradients as the walk left them: a node's grad is final from its own step on
    for k, step in enumerate(steps):
        for done in steps[: k + 1]:
            assert step.grad(done.node) == done.node.grad
        assert step.final == {id(s.node) for s in steps[: k + 1]}


def test_steps_follow_an_op_whose_backprop_is_not_its_declared_derivatives():
    class TwiceOp(sops.NaryOp):
        """Sends twice the declared derivatives: a specialised backprop that drifted from them."""

        def backprop(self, node):
            for p, d in zip(node._a, self.local_derivatives(node)):
                p.grad += 2.0 * d * node.grad

    op = object.__new__(TwiceOp)  # not registered, so the SCALAR_OPS table stays as declared
    op.name, op.symbol, op.doc, op.domain = "test_twice", "Σ", "a + 3 b", (-2.0, 2.0)
    op.forward = lambda a, b: a + 3.0 * b
    op.derivatives = lambda out, a, b: (1.0, 3.0)
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    y = nary(op, op.forward(a.data, b.data), (a, b)) * 5.0
    steps = backprop_steps(y)
    y.backward()
    assert (a.grad, b.grad) == (10.0, 30.0)  # what backward computes
    assert (steps[-1].grad(a), steps[-1].grad(b)) == (10.0, 30.0)  # and what the frames show


def test_grads_are_restored_when_the_walk_fails(monkeypatch):
    _, loss = mlp_graph()
    loss.backward()
    order = topological_order(loss)
    before = grads(order)

    def broken(node):
        raise RuntimeError("broken relu")

    monkeypatch.setitem(vars(sops.RELU), "backprop", broken)
    with pytest.raises(RuntimeError, match="broken relu"):
        backprop_steps(loss)
    assert grads(order) == before


# ---------------------------------------------------------------------------- the frames


def test_frames_restore_accumulated_grads_exactly(tmp_path):
    require_module("graphviz")
    require_dot()
    model, loss = mlp_graph()
    loss.backward()
    loss.backward()  # leaf grads now hold two passes; intermediates hold one
    order = topological_order(loss)
    before = grads(order)
    paths = backprop_frames(loss, tmp_path)
    assert len(paths) == len(order)
    assert grads(order) == before
    # the frames showed one pass from zero, not the accumulated grads
    last = backprop_steps(loss)[-1]
    assert all(last.grad(p) * 2.0 == p.grad for p in model.parameters())  # one consumer each: exact
    assert all(last.grad(node) == node.grad for node in order if node.op is not None)


def test_tensor_frames_restore_the_very_same_arrays(monkeypatch, tmp_path):
    require_module("graphviz")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    y = tensor_graph()
    y.backward()
    order = topological_order(y)
    before = grads(order)
    copies = [None if g is None else g.copy() for g in before]
    with pytest.warns(GraphvizNotFound):
        backprop_frames(y, tmp_path)
    for node, old, copy in zip(order, before, copies):
        assert node.grad is old
        if copy is not None:
            np.testing.assert_array_equal(node.grad, copy)


def test_frames_without_dot_write_dot_sources(monkeypatch, tmp_path):
    require_module("graphviz")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    L = micrograd_graph()
    with pytest.warns(GraphvizNotFound, match="apt-get install graphviz"):
        paths = backprop_frames(L, tmp_path)
    assert [p.name for p in paths] == [f"frame_{k:03d}.dot" for k in range(7)]
    first, last = paths[0].read_text(encoding="utf-8"), paths[-1].read_text(encoding="utf-8")
    assert "step 1 of 7" in first and "grad ?" in first and "(so far)" in first
    assert "grad ?" not in last and "(so far)" not in last
    assert "sends -2.0 × 1.0 = -2.0" in first  # the chain rule on the edge d -> *


def test_frames_render_and_leave_grads_alone(tmp_path):
    require_module("graphviz")
    require_dot()
    L = micrograd_graph()
    order = topological_order(L)
    before = [node.grad for node in order]
    paths = backprop_frames(L, tmp_path / "frames")
    assert len(paths) == len(order)
    assert [p.name for p in paths] == [f"frame_{k:03d}.svg" for k in range(len(order))]
    for p in paths:
        ET.parse(p)
    assert [node.grad for node in order] == before
    last = ET.parse(paths[-1]).getroot()
    text = " ".join(t.text or "" for t in last.iter() if t.tag.endswith("text"))
    assert "grad 6.0" in text and "grad -4.0" in text and "step 7 of 7" in text


def test_frames_as_one_html_page(tmp_path):
    require_module("graphviz")
    require_dot()
    y = tensor_graph()
    (page,) = backprop_frames(y, tmp_path, single_document=True)
    assert page.name == "backprop.html"
    html = page.read_text(encoding="utf-8")
    assert html.count('<img class="frame"') == len(topological_order(y))
    assert not list(tmp_path.glob("frame_*"))
    with pytest.raises(ValueError, match="single_document"):
        backprop_frames(y, tmp_path, single_document=True, format="pdf")


def test_frames_page_from_frames_already_drawn(tmp_path):
    require_module("graphviz")
    require_dot()
    y = tensor_graph()
    paths = backprop_frames(y, tmp_path)
    page = frames.write_frames_page(paths, tmp_path / "steps.html")
    html = page.read_text(encoding="utf-8")
    assert html.count('<img class="frame"') == len(paths) == len(topological_order(y))
    assert all(p.exists() for p in paths)  # the frames stay


# ---------------------------------------------------------------------------- where they live


def test_viz_still_exports_the_frames():
    from autograd import viz

    assert viz.backprop_frames is frames.backprop_frames
    assert viz.backprop_steps is frames.backprop_steps
    assert viz.BackpropStep is frames.BackpropStep
    assert {"backprop_frames", "backprop_steps", "BackpropStep"} <= set(viz.__all__) & set(dir(viz))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        viz.nope  # noqa: B018


@pytest.mark.parametrize(
    "code",
    [
        "import autograd.frames, autograd.viz",
        "import autograd.viz, autograd.frames",
        "from autograd.viz import backprop_frames, backprop_steps, BackpropStep, draw_graph",
    ],
)
def test_either_module_imports_first(code):
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
