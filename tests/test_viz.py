"""Tests for autograd.viz's pictures of a graph: golden DOT files, real renders, what the picture
says, Jupyter's display, and how the package is put together (frames and the player: test_frames.py).

Golden files live in tests/golden/. After an intended change to the pictures, regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_viz.py

and look at the diff (and a render) before committing.
"""

from __future__ import annotations

import ast
import os
import random
import re
import shutil
import subprocess
import sys
import time
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import require_dot, require_module
from viz_examples import Report, by_label, micrograd_graph, tensor_graph

from autograd import Tensor, Value, topological_order
from autograd import scalar_ops as sops
from autograd.value import nary
from autograd.viz.text import format_number, format_shape

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autograd" / "viz"


@pytest.fixture
def viz():
    require_module("graphviz")
    from autograd import viz

    return viz


def check_golden(name: str, text: str):
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"{path} is missing; create it with UPDATE_GOLDEN=1 pytest {__file__}"
    assert text.encode("utf-8") == path.read_bytes(), f"{name} differs; if intended, rerun with UPDATE_GOLDEN=1"


def node_lines(source: str) -> dict:
    """``{node id: its DOT line}`` for value and op nodes."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\t(n\d+(?:op)?) \[.*$", source, re.M)}


def edges_into(source: str, target: str) -> list:
    """``[(source id, label or None)]`` of the edges into ``target``, in order."""
    out = []
    for m in re.finditer(rf"^\t(n\d+) -> {target}(?: \[(.*)\])?$", source, re.M):
        label = re.search(r'label="([^"]*)"', m.group(2) or "")
        out.append((m.group(1), label.group(1) if label else None))
    return out


def fill(line: str) -> str:
    return re.search(r'fillcolor="([^"]+)"', line).group(1)


# ---------------------------------------------------------------------------- golden files and determinism


def test_golden_value_graph(viz):
    check_golden("value_graph.dot", viz.dot_source(micrograd_graph()))


def test_golden_tensor_graph(viz):
    check_golden("tensor_graph.dot", viz.dot_source(tensor_graph()))


def test_same_graph_twice_gives_identical_source(viz):
    assert viz.dot_source(micrograd_graph()) == viz.dot_source(micrograd_graph())
    assert viz.dot_source(tensor_graph()) == viz.dot_source(tensor_graph())


def test_source_is_identical_in_another_process(viz):
    code = (
        "import sys; sys.path.insert(0, 'tests'); from viz_examples import micrograd_graph, tensor_graph; "
        "from autograd.viz import dot_source; "
        "sys.stdout.buffer.write((dot_source(micrograd_graph()) + dot_source(tensor_graph())).encode())"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, env=env, check=True)
    here = viz.dot_source(micrograd_graph()) + viz.dot_source(tensor_graph())
    assert done.stdout.decode() == here


# ---------------------------------------------------------------------------- what the picture says


def test_edge_labels_are_the_local_derivatives(viz):
    L = micrograd_graph()
    source = viz.dot_source(L)
    order = topological_order(L)
    names = {id(node): f"n{i}" for i, node in enumerate(order)}
    checked = 0
    for i, node in enumerate(order):
        if node.op is None:
            continue
        edges = edges_into(source, f"n{i}op")
        parents = node.parents
        assert [src for src, _ in edges] == [names[id(p)] for p in parents]
        for (_, label), parent, d in zip(edges, parents, node.op.local_derivatives(node)):
            assert label == f"∂/∂{parent.label} = {format_number(d, 4)}"
            checked += 1
    assert checked == 6
    assert 'label="∂/∂a = -3.0"' in source and 'label="∂/∂f = 4.0"' in source


def test_same_parent_twice_gets_two_edges(viz):
    x = Value(3.0, label="x")
    y = x * x
    y.backward()
    edges = edges_into(viz.dot_source(y), "n1op")
    assert edges == [("n0", "∂/∂x = 3.0"), ("n0", "∂/∂x = 3.0")]


def test_unlabelled_inputs_are_named_by_argument_position(viz):
    a, b = Value(2.0), Value(5.0)
    y = a * b
    assert [label for _, label in edges_into(viz.dot_source(y), "n2op")] == ["∂/∂a = 5.0", "∂/∂b = 2.0"]
    z = a.tanh()
    assert edges_into(viz.dot_source(z), "n1op")[0][1].startswith("∂/∂x = ")


def test_nary_op_gets_one_labelled_edge_per_input(viz):
    # An unregistered NaryOp, so the SCALAR_OPS table other tests enumerate stays as declared.
    op = object.__new__(sops.NaryOp)
    op.name, op.symbol, op.doc, op.domain = "test_weighted_sum", "Σ w·x", "sum_i w_i x_i", (-2.0, 2.0)
    weights = (1.0, -2.0, 0.5)
    op.forward = lambda *xs: sum(w * x for w, x in zip(weights, xs))
    op.derivatives = lambda out, *xs: weights
    x1, x2 = Value(1.0, label="p"), Value(2.0)
    parents = (x1, x2, x1)
    y = nary(op, op.forward(*(p.data for p in parents)), parents)
    y.backward()
    edges = edges_into(viz.dot_source(y), "n2op")
    assert edges == [("n0", "∂/∂p = 1.0"), ("n1", "∂/∂x2 = -2.0"), ("n0", "∂/∂p = 0.5")]


def test_tensor_edges_carry_input_shapes(viz):
    y = tensor_graph()
    source = viz.dot_source(y)
    order = topological_order(y)
    for i, node in enumerate(order):
        if node.op is not None:
            labels = [label for _, label in edges_into(source, f"n{i}op")]
            assert labels == [format_shape(p.shape) for p in node.parents]
    assert "(3, 1)" in source and "(1,)" in source


def test_backprop_numbering_is_reversed_topological_order(viz):
    for root in (micrograd_graph(), tensor_graph()):
        lines = node_lines(viz.dot_source(root))
        n = len(topological_order(root))
        for i in range(n):
            assert re.findall(r"#(\d+)<", lines[f"n{i}"]) == [str(n - i)]
    lines = node_lines(viz.dot_source(micrograd_graph(), backprop_order=False))
    assert not any("#" in re.sub(r'"#[0-9a-f]{6}"', "", line) for line in lines.values())


def test_kinds_of_node_are_told_apart(viz):
    lines = node_lines(viz.dot_source(tensor_graph()))
    # order: x (constant), w, b (parameters), then intermediates
    assert fill(lines["n0"]) == viz.STYLES["input"]["fillcolor"] and "dashed" in lines["n0"]
    assert fill(lines["n1"]) == fill(lines["n3"]) == viz.STYLES["parameter"]["fillcolor"]
    assert fill(lines["n2"]) == viz.STYLES["intermediate"]["fillcolor"]
    assert "no grad" in lines["n0"]
    assert "peripheries=2" in lines[f"n{len(topological_order(tensor_graph())) - 1}"]


def test_value_leaves_are_parameters_unless_parameters_says_otherwise(viz):
    L = micrograd_graph()
    nodes = by_label(L)
    lines = node_lines(viz.dot_source(L))
    assert {fill(lines[n]) for n in ("n0", "n1", "n3", "n5")} == {viz.STYLES["parameter"]["fillcolor"]}
    source = viz.dot_source(L, parameters=[nodes["a"], nodes["b"]])
    lines = node_lines(source)
    assert fill(lines["n0"]) == fill(lines["n1"]) == viz.STYLES["parameter"]["fillcolor"]  # a, b
    assert fill(lines["n3"]) == fill(lines["n5"]) == viz.STYLES["input"]["fillcolor"]  # c, f
    assert "input (data or a constant)" in source and "c: input" in lines["n3"]
    with pytest.raises(TypeError, match=r"parameters= takes a list .* got int"):
        viz.draw_graph(L, parameters=3)
    with pytest.raises(TypeError, match="must hold Values or Tensors, found str"):
        viz.draw_graph(L, parameters=["a"])


def test_an_mlp_is_labelled_by_layer_neuron_and_input(viz):
    from nn.scalar import MLP, Layer, Neuron

    random.seed(0)
    model = MLP(3, [4, 2])
    loss = sum(model([1.0, -2.0, 0.5]))
    loss.backward()
    names = [p.label for p in model.parameters()]
    assert names[:5] == ["w[0][0][0]", "w[0][0][1]", "w[0][0][2]", "b[0][0]", "w[0][1][0]"]
    assert names[-1] == "b[1][1]" and len(set(names)) == len(names) == 3 * 4 + 4 + 4 * 2 + 2
    lines = node_lines(viz.dot_source(loss, parameters=model))
    kinds = {re.search(r"<B>([^<]+)</B>", line).group(1): fill(line) for line in lines.values() if "<B>" in line}
    assert kinds["x[0]"] == kinds["x[2]"] == viz.STYLES["input"]["fillcolor"]
    assert kinds["w[1][1][3]"] == kinds["b[0][2]"] == viz.STYLES["parameter"]["fillcolor"]
    assert [p.label for p in Layer(2, 2).parameters()] == ["w[0][0]", "w[0][1]", "b[0]", "w[1][0]", "w[1][1]", "b[1]"]
    assert [p.label for p in Neuron(2).parameters()] == ["w[0]", "w[1]", "b"]


def test_tensor_summaries_small_and_large(viz):
    small = Tensor([1.0, -2.5], requires_grad=True, label="s")
    big = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True, label="big")
    y = (small.sum() + big.mean()) * 2.0
    y.backward()
    source = viz.dot_source(y)
    assert "data [1.0, -2.5]" in source and "grad [2.0, 2.0]" in source
    assert "shape (3, 4)" in source and "data min 0.0  mean 5.5  max 11.0" in source
    assert "grad min 0.1667  mean 0.1667  max 0.1667" in source


def test_infinities_and_nans_are_drawn_without_numpy_warnings(viz):
    x = Tensor([np.inf, -np.inf, np.nan, 1.0, 2.0, 3.0, 4.0], requires_grad=True, label="x")
    with np.errstate(all="ignore"):  # the engine's own forward is not what this test is about
        y = (x * 2.0).sum()
        y.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source = viz.dot_source(y, expected={"x": np.ones(7)})
        steps = viz.backprop_steps(y)
    assert "data min nan  mean nan  max nan" in source
    assert steps[-1].grad(x).tolist() == [2.0] * 7


def test_expected_marks_exactly_the_wrong_node(viz):
    L = micrograd_graph()
    source = viz.dot_source(L, expected={"a": 6.0, "b": -4.0, "c": 99.0})
    lines = node_lines(source)
    wrong = [name for name, line in lines.items() if viz.WRONG_FILL in line]
    right = [name for name, line in lines.items() if "✓" in line]
    assert wrong == ["n3"]  # c
    assert "≠ expected 99.0" in lines["n3"] and "grad -2.0" in lines["n3"]
    assert sorted(right) == ["n0", "n1"]
    assert viz.WRONG_FILL not in viz.dot_source(L, expected={"c": -2.0 + 1e-12})


def test_expected_on_tensors_and_unknown_labels(viz):
    y = tensor_graph()
    w = by_label(y)["w"]
    lines = node_lines(viz.dot_source(y, expected={"w": w.grad, "b": [0.0]}))
    assert "✓" in lines["n1"] and viz.WRONG_FILL in lines["n3"]
    with pytest.raises(ValueError, match="'nope'.*labels in the graph: a, b, e, c, d, f, L"):
        viz.draw_graph(micrograd_graph(), expected={"nope": 1.0})


def test_check_marks_the_first_wrong_node_and_those_that_inherit_it(viz):
    L = micrograd_graph()
    report = Report({"L": "right", "f": "right", "d": "first_wrong", "e": "inherited", "a": "inherited", "c": None})
    source = viz.dot_source(L, check=report)
    lines = node_lines(source)  # n0 a, n1 b, n2 e, n3 c, n4 d, n5 f, n6 L
    assert fill(lines["n4"]) == viz.WRONG_FILL and "penwidth=3" in lines["n4"] and "first wrong" in lines["n4"]
    for name in ("n0", "n2"):
        assert fill(lines[name]) == viz.INHERITED_FILL and "dashed" in lines[name] and "inherited" in lines[name]
    assert "✓" in lines["n5"] and "✓" in lines["n6"] and viz.RIGHT in lines["n6"]
    for name in ("n1", "n3"):  # not checked: drawn as without check=
        assert fill(lines[name]) == viz.STYLES["parameter"]["fillcolor"] and "✓" not in lines[name]
    assert sum(viz.WRONG_FILL in line for line in lines.values()) == 1
    assert "first wrong gradient" in source and "wrong, inherited from it" in source  # the legend


def test_check_rejects_what_is_not_a_report(viz):
    L = micrograd_graph()
    with pytest.raises(ValueError, match=r"status\(\) returned 'bad' for node d; expected None, 'right'"):
        viz.draw_graph(L, check=Report({"d": "bad"}))
    with pytest.raises(TypeError, match="check= takes a report with a status"):
        viz.draw_graph(L, check={"d": "right"})
    with pytest.raises(ValueError, match="expected= or check=, not both"):
        viz.draw_graph(L, check=Report({}), expected={"a": 1.0})


def test_highlight_by_label_or_node(viz):
    L = micrograd_graph()
    lines = node_lines(viz.dot_source(L, highlight="e"))
    assert [name for name, line in lines.items() if viz.CURRENT in line] == ["n2"]
    lines = node_lines(viz.dot_source(L, highlight=[L]))
    assert [name for name, line in lines.items() if viz.CURRENT in line] == ["n6"]


def test_max_nodes_raises_promptly_on_a_long_chain(viz):
    x = Value(0.5, label="x")
    y = x
    for _ in range(10_000):
        y = y + 1.0
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"10001 nodes, more than max_nodes=400.*max_nodes=10001"):
        viz.draw_graph(y)
    assert time.perf_counter() - start < 2.0
    assert len(viz.draw_graph(y, max_nodes=None).body) > 20_000


def test_options_are_checked(viz):
    assert "rankdir=TB" in viz.dot_source(micrograd_graph(), rankdir="TB")
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_graph(micrograd_graph(), rankdir="left")
    with pytest.raises(ValueError, match="precision must be an int from 1 to 17, got 0"):
        viz.draw_graph(micrograd_graph(), precision=0)
    with pytest.raises(ValueError, match="max_nodes must be a positive int or None, got -1"):
        viz.draw_graph(micrograd_graph(), max_nodes=-1)
    with pytest.raises(TypeError, match="expected a Value or a Tensor, got float"):
        viz.draw_graph(1.0)


def test_control_characters_in_labels_are_shown_not_passed_to_dot(viz, tmp_path):
    require_dot()
    a = Value(2.0, label="a\x01b")
    y = a * 3.0
    y.label = 'tab\there "quoted" \\ back \x7f <b>'
    y.backward()
    source = viz.dot_source(y)
    assert "\x01" not in source and "\x7f" not in source and "a␁b" in source
    svg = viz.render(y, tmp_path / "ctrl.svg")
    text = " ".join(ET.parse(svg).getroot().itertext())
    assert "a␁b" in text and "tab␉here" in text and '"quoted"' in text and "<b>" in text and "␡" in text


# ---------------------------------------------------------------------------- Jupyter


def test_draw_graph_returns_a_digraph_that_shows_as_svg(viz):
    require_dot()
    import graphviz

    g = viz.draw_graph(micrograd_graph())
    assert isinstance(g, graphviz.Digraph)
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]
    assert g._repr_html_() is None  # the SVG is what shows
    assert "data -8.0" in " ".join(ET.fromstring(g._repr_svg_().encode()).itertext())


def test_without_dot_a_notebook_shows_the_hint_and_the_source(viz, monkeypatch):
    g = viz.draw_graph(micrograd_graph())
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setenv("PATH", "")
    bundle = g._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    page = bundle["text/html"]
    assert "apt-get install graphviz" in page and "brew install graphviz" in page
    assert "digraph autograd" in page and "&lt;TABLE" in page and "<TABLE" not in page  # the source, escaped
    assert g._repr_html_() == page and g._repr_svg_() is None


def test_a_graph_dot_cannot_draw_shows_dots_error(viz, monkeypatch):
    require_dot()
    g = viz.draw_graph(micrograd_graph())
    g.node("bad", label="<<B>unclosed>")
    page = g._repr_mimebundle_()["text/html"]
    assert "could not draw" in page and "digraph autograd" in page


# ---------------------------------------------------------------------------- rendering


def svg_text(path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))


def test_render_svg_and_png(viz, tmp_path):
    require_dot()
    L = micrograd_graph()
    svg = viz.render(L, tmp_path / "graph.svg")
    assert svg == tmp_path / "graph.svg"
    text = svg_text(svg)
    for word in ("a", "b", "c", "d", "e", "f", "L", "data -8.0", "grad -4.0", "∂/∂a = -3.0", "*", "+"):
        assert word in text.split() or word in text
    png = viz.render(L, tmp_path / "graph.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plain = viz.render(viz.draw_graph(tensor_graph()), tmp_path / "tensor", format="svg")
    assert plain.name == "tensor.svg" and "sigmoid" in svg_text(plain)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.png", "graph.svg", "tensor.svg"]  # nothing else


def test_render_checks_format_against_suffix(viz, tmp_path):
    with pytest.raises(ValueError, match=r"ends in \.png but format='svg'"):
        viz.render(micrograd_graph(), tmp_path / "x.png", format="svg")
    with pytest.raises(TypeError, match="apply to a Value or Tensor"):
        viz.render(viz.draw_graph(micrograd_graph()), tmp_path / "x.svg", rankdir="TB")


def test_render_reports_what_dot_says_when_it_fails(viz, tmp_path):
    require_dot()
    g = viz.draw_graph(micrograd_graph())
    g.node("bad", label="<<B>unclosed>")
    with pytest.raises(RuntimeError, match=r"(?i)render: .*bad\.svg: dot failed .*(syntax|not well-formed|error)"):
        viz.render(g, tmp_path / "bad.svg")


def test_render_without_dot_writes_source_and_warns(viz, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    L = micrograd_graph()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = viz.render(L, tmp_path / "pic.png")
    assert out == tmp_path / "pic.dot"
    assert out.read_text(encoding="utf-8") == viz.dot_source(L)
    (w,) = caught
    assert issubclass(w.category, viz.GraphvizNotFound) and issubclass(w.category, UserWarning)
    message = str(w.message)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert f"dot -Tpng {out} -o {tmp_path / 'pic.png'}" in message
    assert not (tmp_path / "pic.png").exists()


# ---------------------------------------------------------------------------- the optional dependency


def test_import_works_without_the_graphviz_package():
    code = "import sys; sys.modules['graphviz'] = None; import autograd.viz; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_drawing_without_the_graphviz_package_says_how_to_install(monkeypatch):
    from autograd import viz

    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r"pip install 'backprop-lab\[viz\]'"):
        viz.draw_graph(Value(1.0))
    # recording the steps needs no graphviz
    assert viz.backprop_steps(Value(1.0) * 2.0)[-1].index == 2


# ---------------------------------------------------------------------------- the package


# Each module may import only the ones before it (a module's own name first).
LAYERS = ["nodes", "steps", "text", "explain", "draw", "render", "frames", "zoom", "player", "export", "__init__"]


def relative_imports(path: Path) -> list:
    """``(module, [names])`` for each ``from .module import names`` in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out.append((node.module, [alias.name for alias in node.names]))
    return out


def test_the_package_imports_run_one_way():
    assert sorted(p.stem for p in PACKAGE.glob("*.py")) == sorted(LAYERS)
    for layer, name in enumerate(LAYERS):
        for module, _ in relative_imports(PACKAGE / f"{name}.py"):
            assert module in LAYERS[:layer], f"{name}.py imports .{module}, which is not below it"


def test_no_private_name_crosses_a_module_boundary_and_no_module_getattr():
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(("autograd", "")):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private names {private} from {node.module}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in LAYERS:
                assert not node.attr.startswith("_"), f"{path.name} uses {node.value.id}.{node.attr}"
        top = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        assert "__getattr__" not in top, f"{path.name} defines a module-level __getattr__"


def test_the_public_names_are_exported():
    from autograd import viz

    for name in ("draw_graph", "render", "dot_source", "backprop_frames", "backprop_steps", "GraphvizNotFound"):
        assert name in viz.__all__ and callable(getattr(viz, name))
    assert {"step_through", "StepThrough", "BackpropStep", "BackwardFrames"} <= set(viz.__all__)


def test_recording_the_steps_needs_no_graphviz():
    code = (
        "import sys; sys.modules['graphviz'] = None\n"
        "from autograd import Value\nfrom autograd.viz.steps import backprop_steps\n"
        "a = Value(2.0); print(backprop_steps(a * a)[-1].grad(a))\n"
        "import autograd.viz.steps, autograd.viz.explain\n"
        "assert 'graphviz' not in [m.split('.')[0] for m in sys.modules if sys.modules[m] is not None]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4.0"


def test_the_graph_of_a_gradient_made_with_create_graph_is_drawn():
    from autograd import Value, grad
    from autograd.viz import draw_graph

    x = Value(0.5, label="x")
    y = (x * x).tanh()
    y.label = "y"
    (g,) = grad(y, x, create_graph=True)
    g.label = "dy/dx"
    source = draw_graph(g).source
    # the backward pass as a graph of its own: the gradient's node, built from the forward's y and x
    for text in ("dy/dx", "<B>y</B>", "<B>x</B>", "tanh", "data 0.94"):
        assert text in source, text
    require_dot()
    assert "<svg" in draw_graph(g).pipe(format="svg").decode()


def test_the_paths_of_explain_gradient_are_drawn():
    from autograd import Value, explain_gradient
    from autograd.viz import draw_graph

    x, z = Value(2.0, label="x"), Value(5.0, label="z")
    a = x * x
    a.label = "a"
    y = a * x + z
    y.label = "y"
    source = draw_graph(y, paths=explain_gradient(y, x)).source
    marked = [line for line in source.splitlines() if "#7c3aed" in line]
    assert any("<B>x</B>" in line for line in marked) and any("<B>a</B>" in line for line in marked)
    assert not any("<B>z</B>" in line for line in marked)  # z is on no path from x
    with pytest.raises(TypeError, match="paths= takes an explain_gradient result"):
        draw_graph(y, paths=[1, 2])
