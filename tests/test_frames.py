"""Tests for backward step by step: the recording of the real walk (autograd.viz.steps), the
frames on one layout (autograd.viz.frames), the player (autograd.viz.player) and the files."""

from __future__ import annotations

import io
import json
import re
import shutil
import warnings
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
from conftest import require_dot, require_module
from viz_examples import micrograd_graph, mlp_graph, tensor_graph

from autograd import Tensor, Value, topological_order
from autograd import scalar_ops as sops
from autograd.value import nary
from autograd.viz import GraphvizNotFound, backprop_frames, backprop_steps
from autograd.viz.frames import BackwardFrames, Progress
from nn.primitives import WEIGHTED_SUM

SVG = "{http://www.w3.org/2000/svg}"


def grads(order) -> list:
    return [node.grad for node in order]


def no_dot(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setenv("PATH", "")


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
    sent = [(s.parent.label, s.positions, s.local, s.amount, s.total) for s in steps[0].sent]
    assert sent == [("d", (0,), -2.0, -2.0, -2.0), ("f", (1,), 4.0, 4.0, 4.0)]
    assert [steps[0].state(n) for n in order] == ["unreached"] * 4 + ["partial", "partial", "done"]


def test_what_each_step_sends_is_what_backward_added():
    model, loss = mlp_graph()
    order = topological_order(loss)
    steps = backprop_steps(loss)
    checked = 0
    for before, step in zip([None, *steps], steps):
        sent = {id(s.parent): s for s in step.sent}
        for parent in {id(p): p for p in step.node.parents}.values():
            was = 0.0 if before is None or before.grad(parent) is None else before.grad(parent)
            if id(parent) not in sent:  # nothing sent (a structural zero, such as a dead ReLU's)
                assert step.grad(parent) in (None, was)
                continue
            s = sent[id(parent)]
            assert s.total == step.grad(parent)
            assert s.amount == pytest.approx(step.grad(parent) - was, rel=1e-12, abs=1e-15)
            assert s.amount == pytest.approx(s.local * step.grad(step.node), rel=1e-12, abs=1e-15)
            checked += 1
    assert checked >= sum(node.op is not None for node in order)


def test_a_parent_used_twice_receives_both_edges_at_once():
    x = Value(3.0, label="x")
    y = x * x
    (step, _) = backprop_steps(y)
    (sent,) = step.sent
    assert sent.parent is x and sent.positions == (0, 1) and sent.local == 6.0 and sent.amount == 6.0


def test_steps_take_what_the_op_says_it_sends_when_it_says(monkeypatch):
    # an op that offers input_grads(node) (the function backward applies) is asked, not recomputed
    L = micrograd_graph()
    asked = []

    def input_grads(node):
        asked.append(node.label)
        return (node.parents[1].data * node.grad, node.parents[0].data * node.grad)

    monkeypatch.setitem(vars(sops.MUL), "input_grads", input_grads)
    steps = backprop_steps(L)
    assert asked == ["L", "e"]
    assert [(s.parent.label, s.amount) for s in steps[0].sent] == [("d", -2.0), ("f", 4.0)]


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
            assert steps[-1].grad(node) is None and node.grad is None and steps[-1].state(node) == "none"
    matmul = next(s for s in steps if s.node.op is not None and s.node.op.name == "matmul")
    (sent,) = matmul.sent  # x needs no gradient: only w is sent anything
    assert sent.parent.label == "w" and sent.local is None
    np.testing.assert_allclose(sent.amount, sent.parent.grad)


def test_tensor_steps_need_a_seed_for_a_non_scalar_root():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    with pytest.raises(ValueError, match=r"shape \(2,\); pass gradient="):
        backprop_steps(y)
    steps = backprop_steps(y, gradient=[1.0, -1.0])
    np.testing.assert_array_equal(steps[-1].grad(x), [3.0, -3.0])


def test_steps_of_weighted_sums_are_the_real_walk(monkeypatch):
    model, loss = mlp_graph()
    order = topological_order(loss)
    sums = [node for node in order if node.op is WEIGHTED_SUM]
    assert len(sums) == 5
    # WEIGHTED_SUM has its own backprop; the steps must come from it, once per node, not from a replay
    calls = []
    real = WEIGHTED_SUM.backprop

    def spy(node):
        calls.append(node)
        real(node)

    monkeypatch.setitem(vars(WEIGHTED_SUM), "backprop", spy)
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
            for p, d in zip(node.parents, self.local_derivatives(node)):
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
    if getattr(op, "input_grads", None) is None:  # without input_grads the step's change is what was sent
        assert [s.amount for s in steps[1].sent] == [10.0, 30.0]


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


def test_each_step_is_explained():
    frames = BackwardFrames(micrograd_graph())
    first, leaf = frames.frames[0].text, frames.frames[-1].text
    assert first.caption.startswith("step 1 of 7: backward starts at L with grad 1.0")
    assert "<td>d</td><td>1.0 × -2.0</td><td>-2.0</td>" in first.html
    assert "<td>f</td><td>1.0 × 4.0</td><td>4.0</td>" in first.html
    assert leaf.caption == "step 7 of 7: a (a parameter) has its complete grad 6.0"
    assert "what its one consumer sent it" in leaf.html
    inputs = BackwardFrames(micrograd_graph(), parameters=[]).frames[-1].text
    assert "(an input)" in inputs.caption


# ---------------------------------------------------------------------------- one layout, restyled


def positions(svg_text: str) -> dict:
    """``{DOT node name: the points/coordinates of its shapes}`` from an SVG."""
    root = ET.fromstring(svg_text)
    out = {}
    for g in root.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        if g.get("class", "").startswith("node") and title is not None:
            shapes = [
                tuple(sorted((k, v) for k, v in el.attrib.items() if k in ("points", "d", "cx", "cy", "rx", "ry")))
                for el in g.iter()
                if el.tag in (f"{SVG}polygon", f"{SVG}path", f"{SVG}ellipse")
            ]
            out[title.text] = shapes
    return out


def grad_texts(svg_text: str) -> dict:
    root = ET.fromstring(svg_text)
    return {
        g.get("data-n"): next(t.text for t in g.iter(f"{SVG}text") if t.get("class") == "bp-grad")
        for g in root.iter(f"{SVG}g")
        if g.get("data-n")
    }


def test_every_frame_has_the_one_layout_and_shows_backwards_state():
    require_module("graphviz")
    require_dot()
    model, loss = mlp_graph()
    loss.backward()
    order = topological_order(loss)
    frames = BackwardFrames(loss, parameters=model)
    svgs = list(frames.svgs())
    assert len(svgs) == len(order) == len(frames)
    layout = positions(svgs[0])
    assert len(layout) == len(order) + sum(node.op is not None for node in order) + 1  # values, ops, legend
    assert all(positions(svg) == layout for svg in svgs[1:])
    # the last frame's grad rows are backward's gradients; the first frame has reached only the root's inputs
    last = grad_texts(svgs[-1])
    from autograd.viz.explain import grad_text

    assert [last[f"n{i}"] for i in range(len(order))] == [grad_text(node) for node in order]
    first = grad_texts(svgs[0])
    reached = {id(loss), *(id(p) for p in loss.parents)}
    for i, node in enumerate(order):
        assert (first[f"n{i}"] == "grad ?") == (id(node) not in reached)
    classes = {g.get("data-n"): g.get("class") for g in ET.fromstring(svgs[0]).iter(f"{SVG}g") if g.get("data-n")}
    assert classes[f"n{len(order) - 1}"] == "node bp-done bp-current"
    assert sum("bp-unreached" in c for c in classes.values()) == len(order) - 1 - len(reached - {id(loss)})


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


def test_svg_frames_are_files_with_a_caption(tmp_path):
    require_module("graphviz")
    require_dot()
    L = micrograd_graph()
    order = topological_order(L)
    before = [node.grad for node in order]
    paths = backprop_frames(L, tmp_path / "frames")
    assert [p.name for p in paths] == [f"frame_{k:03d}.svg" for k in range(len(order))]
    assert [node.grad for node in order] == before
    texts = [" ".join(ET.parse(p).getroot().itertext()) for p in paths]
    assert "step 1 of 7: backward starts at L" in texts[0] and "grad ?" in texts[0] and "(so far)" in texts[0]
    assert "step 7 of 7" in texts[-1] and "grad 6.0" in texts[-1] and "grad ?" not in texts[-1]
    assert "(so far)" not in texts[-1]


def test_other_formats_pin_every_node_to_the_layout(tmp_path):
    require_module("graphviz")
    require_dot()
    from autograd.viz.render import pipe

    model, loss = mlp_graph()
    frames = BackwardFrames(loss, parameters=model)
    drawn = [pipe(frames.dot_frame(k), "svg").decode() for k in range(len(frames))]
    centres = [{name: shapes for name, shapes in positions(svg).items() if name != "legend"} for svg in drawn]
    assert all(c == centres[0] for c in centres[1:]), "a node moved between frames"
    paths = backprop_frames(loss, tmp_path, format="png", max_frames=3)
    assert [p.name for p in paths] == ["frame_000.png", "frame_001.png", "frame_002.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_frames_without_dot_write_dot_sources(monkeypatch, tmp_path):
    require_module("graphviz")
    no_dot(monkeypatch)
    L = micrograd_graph()
    with pytest.warns(GraphvizNotFound, match="apt-get install graphviz") as caught:
        paths = backprop_frames(L, tmp_path)
    assert len(caught) == 1
    assert [p.name for p in paths] == [f"frame_{k:03d}.dot" for k in range(7)]
    first, last = paths[0].read_text(encoding="utf-8"), paths[-1].read_text(encoding="utf-8")
    assert "step 1 of 7" in first and "grad ?" in first and "(so far)" in first
    assert "grad ?" not in last and "(so far)" not in last
    assert "sends 1.0 × -2.0 = -2.0" in first  # the chain rule on the edge d -> *


def test_tensor_frames_restore_the_very_same_arrays(monkeypatch, tmp_path):
    require_module("graphviz")
    no_dot(monkeypatch)
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


def test_max_frames_and_progress(tmp_path, capsys):
    require_module("graphviz")
    require_dot()
    _, loss = mlp_graph()
    paths = backprop_frames(loss, tmp_path, max_frames=4, progress=True)
    assert len(paths) == 4
    err = capsys.readouterr().err
    assert "drawing 4 frames" in err and "max_frames=N" in err and "\r  frame 4 of 4\n" in err
    backprop_frames(loss, tmp_path / "quiet")  # not a terminal: nothing on stderr
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="max_frames must be a positive int or None, got 0"):
        backprop_frames(loss, tmp_path, max_frames=0)


def test_progress_shows_itself_on_a_terminal_only_for_many_frames():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown = Terminal()
    bar = Progress(400, stream=shown)
    for _ in range(400):
        bar.advance()
    assert "drawing 400 frames" in shown.getvalue() and shown.getvalue().endswith("frame 400 of 400\n")
    few, piped = Terminal(), io.StringIO()
    Progress(10, stream=few).advance()
    Progress(400, stream=piped).advance()
    assert few.getvalue() == piped.getvalue() == ""


# ---------------------------------------------------------------------------- the player


class Page(HTMLParser):
    """Every URL a page refers to, its scripts and its inline SVGs."""

    def __init__(self):
        super().__init__()
        self.urls, self.svgs, self.scripts = [], 0, []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("href", "src", "xlink:href", "action") and v]
        self.svgs += tag == "svg"
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_the_player_is_self_contained_with_one_layout(tmp_path):
    require_module("graphviz")
    require_dot()
    from autograd.viz import step_through

    model, loss = mlp_graph()
    loss.backward()
    player = step_through(loss, parameters=model)
    path = player.save(tmp_path / "steps.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", page), "the page refers to the network"
    parsed = Page()
    parsed.feed(page)
    assert parsed.urls == [] and parsed.svgs == 1  # one picture: every frame restyles it
    data = json.loads(next(s for s in parsed.scripts if s.lstrip().startswith('{"nodes"')).replace("<\\/", "</"))
    order = topological_order(loss)
    assert data["nodes"] == len(order) and len(data["frames"]) == len(order)
    assert all(set(f) == {"c", "cur", "e", "html"} for f in data["frames"])  # states and text, no positions
    # replaying the changes gives backward's own gradients at the end
    state = {}
    for frame in data["frames"]:
        state.update({i: (st, text) for i, st, text in frame["c"]})
    from autograd.viz.explain import grad_text

    assert [state[i] for i in range(len(order))] == [("done", grad_text(node)) for node in order]
    assert f"Step 1 of {len(order)}" in data["frames"][0]["html"] and "<table" in data["frames"][0]["html"]
    assert player._repr_html_().count("<svg") == 1
    # without its script (an untrusted notebook) the page already shows the first step
    static = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert 'class="node bp-done bp-current"' in static and 'class="edge bp-active"' in static
    assert f'<p class="bp-title">Step 1 of {len(order)}</p>' in static and "grad ?" in static


def test_two_players_on_one_page_do_not_share_ids():
    require_module("graphviz")
    require_dot()
    from autograd.viz import step_through

    L = micrograd_graph()
    ids = [re.search(r'class="bp-player bp-fullable" id="([^"]+)"', step_through(L).html()).group(1) for _ in range(2)]
    assert ids[0] != ids[1]


def test_a_label_cannot_end_the_players_script():
    require_module("graphviz")
    require_dot()
    from autograd.viz import step_through

    x = Value(1.0, label="</script><b>")
    y = x * 2.0
    html = step_through(y).html()
    assert html.count("</script>") == 2  # the data's and the code's own


def test_the_player_without_dot_shows_the_hint(monkeypatch):
    require_module("graphviz")
    from autograd.viz import step_through

    no_dot(monkeypatch)
    html = step_through(micrograd_graph())._repr_html_()
    assert "apt-get install graphviz" in html and "digraph autograd" in html


def test_frames_as_one_page_is_the_player(tmp_path):
    require_module("graphviz")
    require_dot()
    y = tensor_graph()
    (page,) = backprop_frames(y, tmp_path, single_document=True)
    assert page.name == "backprop.html"
    html = page.read_text(encoding="utf-8")
    assert 'class="bp-player' in html and html.count("<svg") == 1
    assert not list(tmp_path.glob("frame_*"))
    with pytest.raises(ValueError, match="single_document"):
        backprop_frames(y, tmp_path, single_document=True, format="pdf")


def test_no_numpy_warning_escapes_the_frames():
    require_module("graphviz")
    x = Tensor([np.inf, 1.0], requires_grad=True, label="x")
    with np.errstate(all="ignore"):  # two consumers send x an infinite gradient; its data sums to nan
        y = (x * x + x * x - np.inf).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frames = BackwardFrames(y)
        steps = backprop_steps(y)
    assert frames.frames[-1].text.caption == "step 7 of 7: x (a parameter) has its complete grad [inf, 4.0]"
    np.testing.assert_array_equal(steps[-1].grad(x), [np.inf, 4.0])
