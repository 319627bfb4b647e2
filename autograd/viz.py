"""Pictures of a computation graph with Graphviz: op, data and grad of every node, and the chain rule.

>>> from autograd.viz import draw_graph, render, backprop_frames
>>> L.backward()
>>> draw_graph(L)                        # a graphviz.Digraph; shows itself inline in Jupyter
>>> render(L, "graph.png")               # runs Graphviz's ``dot``
>>> backprop_frames(L, "frames")         # frame_000.svg, frame_001.svg, ...: backward, one step at a time

How a picture reads (left to right by default, inputs on the left, the root on the right):

- A *value node* (a box) per ``Value`` or ``Tensor``: its label, ``#k`` (backward visits it k-th;
  ``#1`` is the root), its data and its grad. A tensor shows its shape and, when it has at most
  6 elements, its numbers; otherwise min / mean / max.
- Fill colour and outline tell the kinds of node apart:
  *parameter* (amber, rounded): a leaf that receives a gradient. For ``Tensor`` that is a leaf with
  ``requires_grad=True``. A ``Value`` has no such flag and ``backward`` fills in every leaf's grad,
  so every ``Value`` leaf is a parameter; numbers mixed in (the ``2`` in ``x * 2``) are not nodes
  at all, they are shown inside the op (``* 2``).
  *input / constant* (grey, dashed): a leaf without a gradient (``Tensor`` with ``requires_grad=False``).
  *intermediate* (blue): made by an op. The root has a double outline.
- An *op node* (a small ellipse) sits between a value and its inputs, as in micrograd's picture:
  one edge per argument, in argument order, so ``x * x`` has two edges from ``x``.
- On a scalar graph each edge into an op carries that op's local derivative with respect to that
  argument, ``∂/∂a = 2.0``: the number the chain rule multiplies by on the way back. The argument is
  named by the input's label, or by its position (``x``; ``a``, ``b``; ``x1`` .. ``xn``) when the
  input has no label. On a tensor graph the edge carries the input's shape.

Determinism: node ids (``n0``, ``n1``, ... and ``n0op`` for a node's op) follow
``topological_order``, numbers are printed with ``precision`` significant digits, and no ``id()``
reaches the output, so one graph gives the same DOT source in every run and process.

The frames of ``backprop_frames`` (and ``backprop_steps``, the states of backward they show) live
in ``autograd.frames`` and are exported here too; this module draws each frame.

The ``graphviz`` Python package (``pip install 'backprop-lab[viz]'``) is imported only when a
picture is drawn, so ``import autograd.viz`` works without it; rendering also needs Graphviz's
``dot`` program (``apt-get install graphviz``, ``brew install graphviz``).
"""

from __future__ import annotations

import html
import math
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .graph import topological_order
from .tensor import Tensor
from .value import Value

if TYPE_CHECKING:
    from .frames import BackpropStep, backprop_frames, backprop_steps

__all__ = [
    "BackpropStep",
    "GraphvizNotFound",
    "backprop_frames",
    "backprop_steps",
    "dot_source",
    "draw_graph",
    "render",
]

INSTALL_PYTHON = "pip install 'backprop-lab[viz]'  (or: pip install graphviz)"
INSTALL_DOT = (
    "install Graphviz: apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS), "
    "or see https://graphviz.org/download/"
)
DOT_TIMEOUT = 120  # seconds; dot on a few hundred nodes takes well under one

SMALL_TENSOR = 6
"""Tensors with at most this many elements show their numbers; larger ones show min / mean / max."""

# Fill, outline and style of each kind of node.
STYLES = {
    "parameter": {"fillcolor": "#fde68a", "color": "#92400e", "style": "rounded,filled"},
    "input": {"fillcolor": "#e5e7eb", "color": "#6b7280", "style": "dashed,filled"},
    "intermediate": {"fillcolor": "#dbeafe", "color": "#1e40af", "style": "filled"},
}
OP_STYLE = {
    "shape": "ellipse",
    "style": "filled",
    "fillcolor": "#ffffff",
    "color": "#6b7280",
    "fontsize": "11",
    "width": "0.3",
    "height": "0.3",
    "margin": "0.04,0.02",
}
CURRENT = "#7c3aed"  # the node backward is processing (frames) and highlight=
WRONG_FILL, WRONG_LINE = "#fca5a5", "#b91c1c"  # gradient disagrees with expected=
RIGHT = "#15803d"  # gradient agrees with expected=
MUTED = "#6b7280"


_FROM_FRAMES = ("BackpropStep", "backprop_frames", "backprop_steps")


def __getattr__(name):
    # The frames of backward live in autograd.frames, which draws with this module; they are
    # exported from here too, imported on first use so that neither module imports the other
    # while it is being loaded.
    if name in _FROM_FRAMES:
        from . import frames

        return getattr(frames, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_FROM_FRAMES])


class GraphvizNotFound(UserWarning):
    """Graphviz's ``dot`` is not on PATH: the DOT source was written instead of the picture."""


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            f"autograd.viz draws with the graphviz Python package, which is not installed: {INSTALL_PYTHON}. "
            f"Rendering pictures also needs Graphviz's dot program: {INSTALL_DOT}."
        ) from None
    return graphviz


# ---------------------------------------------------------------------------- the picture


def draw_graph(
    root,
    *,
    rankdir="LR",
    edge_derivatives=True,
    backprop_order=True,
    expected=None,
    highlight=None,
    max_nodes=400,
    precision=4,
    legend=True,
):
    """The graph behind ``root`` (a ``Value`` or ``Tensor``) as a ``graphviz.Digraph``.

    - ``rankdir``: ``"LR"`` (inputs left, root right), ``"TB"``, ``"RL"`` or ``"BT"``.
    - ``edge_derivatives``: label edges with local derivatives (scalars) or input shapes (tensors).
    - ``backprop_order``: number each node ``#k`` in the order ``backward`` visits it (``#1`` = root).
    - ``expected``: ``{label: gradient}``, e.g. gradients derived by hand. A node whose grad disagrees
      (``np.allclose(grad, expected, rtol=1e-6, atol=1e-9)`` is false) is drawn red and shows both;
      one that agrees gets a green tick. A label that matches no node is an error.
    - ``highlight``: a node, a label, or a list of them, drawn with a thick violet outline.
    - ``max_nodes``: larger graphs raise ``ValueError`` (``None``: no limit).
    - ``precision``: significant digits of every printed number.
    - ``legend``: add a small key to the kinds of node.
    """
    return _draw(
        root, _Options(rankdir, edge_derivatives, backprop_order, expected, highlight, max_nodes, precision, legend)
    )


def dot_source(root, **draw_kwargs) -> str:
    """The DOT text of ``draw_graph(root, **draw_kwargs)``."""
    return draw_graph(root, **draw_kwargs).source


@dataclass
class _Options:
    rankdir: str = "LR"
    edge_derivatives: bool = True
    backprop_order: bool = True
    expected: dict | None = None
    highlight: object = None
    max_nodes: int | None = 400
    precision: int = 4
    legend: bool = True


@dataclass
class _Frame:
    """What one step of ``backprop_frames`` changes in the picture (see ``autograd.frames``)."""

    step: BackpropStep
    total: int


def graph_nodes(root, max_nodes=400) -> list:
    """``topological_order(root)``, or ``ValueError`` when it holds more than ``max_nodes`` nodes."""
    if not isinstance(root, (Value, Tensor)):
        raise TypeError(f"draw_graph: expected a Value or a Tensor, got {type(root).__name__}")
    order = topological_order(root)
    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {len(order)} nodes, more than max_nodes={max_nodes}; a picture this "
            f"big is unreadable and slow for dot. Draw a smaller piece (one neuron, one layer, a short "
            f"sequence), or pass max_nodes={len(order)} (or max_nodes=None) to draw it anyway."
        )
    return order


def _draw(root, opts: _Options, frame: _Frame | None = None):
    graphviz = _graphviz()
    if opts.rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'RL', 'TB' or 'BT', got {opts.rankdir!r}")
    order = graph_nodes(root, opts.max_nodes)
    is_tensor = isinstance(root, Tensor)
    names = {id(node): f"n{i}" for i, node in enumerate(order)}
    n = len(order)
    highlighted = _highlighted(opts.highlight, order)
    expected = _check_expected(opts.expected, order)
    p = opts.precision

    g = graphviz.Digraph(
        "autograd",
        graph_attr={"rankdir": opts.rankdir, "fontname": "Helvetica", "nodesep": "0.25", "ranksep": "0.35"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "shape": "box", "margin": "0.08,0.04"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#4b5563", "arrowsize": "0.7"},
    )
    if frame is not None:
        g.attr(label=_frame_title(frame, p), labelloc="t", fontsize="13")

    sent = {}  # argument position -> (local derivative, contribution) along the current step's edges
    if frame is not None:
        sent = {i: (local, contribution) for i, _, local, contribution in frame.step.sent}

    for i, node in enumerate(order):
        name = names[id(node)]
        kind = _kind(node, is_tensor)
        attrs = dict(STYLES[kind])
        grad_row, mark = _grad_row(node, is_tensor, expected, frame, p)
        if mark == "wrong":
            attrs.update(fillcolor=WRONG_FILL, color=WRONG_LINE, penwidth="2")
        elif mark == "right":
            attrs.update(color=RIGHT, penwidth="1.5")
        if node is root:
            attrs["peripheries"] = "2"
        current = frame is not None and frame.step.node is node
        if current or id(node) in highlighted:
            attrs.update(color=CURRENT, penwidth="3")
        step = n - i if opts.backprop_order else None
        attrs["label"] = _value_label(node, is_tensor, step, grad_row, p)
        attrs["tooltip"] = _tooltip(node, kind, is_tensor)
        g.node(name, **attrs)

        op = node.op
        if op is None:
            continue
        op_attrs = dict(OP_STYLE)
        if current:
            op_attrs.update(color=CURRENT, penwidth="2")
        g.node(f"{name}op", label=op.label(node), tooltip=graphviz.escape(op.doc or op.name), **op_attrs)
        g.edge(f"{name}op", name)
        parents = node.parents
        labels = _edge_labels(node, parents, is_tensor, p) if opts.edge_derivatives else [None] * len(parents)
        for k, (parent, label) in enumerate(zip(parents, labels)):
            edge = {}
            if current and k in sent:
                local, contribution = sent[k]
                edge.update(color=CURRENT, penwidth="2", fontcolor=CURRENT)
                label = _sent_label(label, local, frame.step.grad(node), contribution, is_tensor, p)
            if label:
                edge["label"] = label
            g.edge(names[id(parent)], f"{name}op", **edge)

    if opts.legend:
        g.node("legend", label=_legend(order, is_tensor, opts), shape="plaintext", fontsize="9")
    return g


def _kind(node, is_tensor) -> str:
    if node.op is not None:
        return "intermediate"
    if is_tensor and not node.requires_grad:
        return "input"
    return "parameter"


def _highlighted(highlight, order) -> set:
    if highlight is None:
        return set()
    items = [highlight] if isinstance(highlight, str) or not isinstance(highlight, (list, tuple, set)) else highlight
    ids = set()
    for item in items:
        if isinstance(item, str):
            matches = [id(node) for node in order if node.label == item]
            if not matches:
                raise ValueError(f"draw_graph: highlight={item!r} matches no node label; labels: {_labels(order)}")
            ids.update(matches)
        else:
            ids.add(id(item))
    return ids


def _labels(order) -> str:
    labels = list(dict.fromkeys(node.label for node in order if node.label))  # in graph order
    return ", ".join(labels) if labels else "(no node has a label)"


def _check_expected(expected, order) -> dict:
    if not expected:
        return {}
    present = {node.label for node in order if node.label}
    missing = [label for label in expected if label not in present]
    if missing:
        raise ValueError(
            f"draw_graph: expected= names labels that match no node: {', '.join(map(repr, missing))}; "
            f"labels in the graph: {_labels(order)}"
        )
    return dict(expected)


def gradients_agree(grad, expected) -> bool:
    """The test ``expected=`` applies: ``np.allclose(grad, expected, rtol=1e-6, atol=1e-9)``."""
    if grad is None:
        return False
    grad = np.asarray(grad, dtype=float)
    want = np.asarray(expected, dtype=float)
    try:
        return bool(np.allclose(grad, want, rtol=1e-6, atol=1e-9)) and np.broadcast_shapes(grad.shape, want.shape) == (
            grad.shape
        )
    except ValueError:
        return False


def _grad_row(node, is_tensor, expected, frame, p):
    """The text of the grad row (two rows when it disagrees with expected) and its mark: None, "right" or "wrong"."""
    if is_tensor and not node.requires_grad:
        return f'<FONT COLOR="{MUTED}">no grad</FONT>', None
    if frame is None:
        grad, final = node.grad, True
    else:
        grad, final = frame.step.grad(node), id(node) in frame.step.final
        if grad is None:
            return '<FONT COLOR="#9ca3af">grad ?</FONT>', None
        if not final:
            text = _summary(grad, is_tensor, p)
            return f'<FONT COLOR="{MUTED}"><I>grad {text} (so far)</I></FONT>', None
    text = "None" if grad is None else _summary(grad, is_tensor, p)
    if final and node.label in expected:
        want = expected[node.label]
        if gradients_agree(grad, want):
            return f'<B>grad {text}</B> <FONT COLOR="{RIGHT}">✓</FONT>', "right"
        shown = _summary(np.asarray(want, dtype=float) if is_tensor else float(want), is_tensor, p)
        wrong = f'<FONT COLOR="{WRONG_LINE}"><B>grad {text}</B></FONT>'
        return (
            wrong + f'</TD></TR><TR><TD ALIGN="LEFT"><FONT COLOR="{WRONG_LINE}"><B>≠ expected {shown}</B></FONT>',
            "wrong",
        )
    return f"<B>grad {text}</B>", None


def _value_label(node, is_tensor, step, grad_row, p) -> str:
    header = f"<B>{_html(node.label)}</B>" if node.label else ""
    if step is not None:
        header += f'{"  " if header else ""}<FONT POINT-SIZE="9" COLOR="{MUTED}">#{step}</FONT>'
    rows = []
    if header:
        rows.append(header)
    if is_tensor:
        rows.append(f'<FONT COLOR="{MUTED}">shape {_shape(node.data.shape)}</FONT>')
    rows.append(f"data {_summary(node.data, is_tensor, p)}")
    rows.append(grad_row)
    cells = "".join(f'<TR><TD ALIGN="LEFT">{row}</TD></TR>' for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'


def _tooltip(node, kind, is_tensor) -> str:
    what = {
        "parameter": "parameter: a leaf that receives a gradient",
        "input": "input / constant: a leaf without a gradient",
        "intermediate": f"made by {node.op.name if node.op is not None else ''}",
    }[kind]
    name = node.label or "(no label)"
    shape = f" {_shape(node.data.shape)}" if is_tensor else ""
    return f"{name}{shape}: {what}"


def _edge_labels(node, parents, is_tensor, p) -> list:
    if is_tensor:
        return [_shape(parent.data.shape) for parent in parents]
    locals_ = node.op.local_derivatives(node)
    return [
        f"∂/∂{_arg_name(parent, k, len(parents))} = {_num(d, p)}" for k, (parent, d) in enumerate(zip(parents, locals_))
    ]


def _arg_name(parent, k, n) -> str:
    if parent.label:
        return parent.label
    if n == 1:
        return "x"
    if n == 2:
        return "ab"[k]
    return f"x{k + 1}"


def _sent_label(label, local, grad, contribution, is_tensor, p) -> str:
    if is_tensor:
        return f"{label or ''}\nsends {_summary(contribution, True, p)}".strip()
    return f"{label or _num(local, p)}\nsends {_num(local, p)} × {_num(grad, p)} = {_num(contribution, p)}"


def _legend(order, is_tensor, opts) -> str:
    kinds = {_kind(node, is_tensor) for node in order}
    rows = []
    texts = {
        "parameter": "parameter (leaf, gets a gradient)",
        "input": "input / constant (no gradient)",
        "intermediate": "intermediate (made by an op)",
    }
    for kind in ("parameter", "input", "intermediate"):
        if kind in kinds:
            rows.append(f'<TR><TD BGCOLOR="{STYLES[kind]["fillcolor"]}" ALIGN="LEFT">{texts[kind]}</TD></TR>')
    notes = []
    if opts.backprop_order:
        notes.append("#k: k-th node backward visits")
    if opts.edge_derivatives:
        notes.append("edge: ∂ op / ∂ input" if not is_tensor else "edge: shape of the input")
    for note in notes:
        rows.append(f'<TR><TD BORDER="0" ALIGN="LEFT"><FONT COLOR="{MUTED}">{_html(note)}</FONT></TD></TR>')
    return f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2" CELLPADDING="3" COLOR="{MUTED}">{"".join(rows)}</TABLE>>'


# ---------------------------------------------------------------------------- numbers


def _num(x, p: int) -> str:
    """``x`` with ``p`` significant digits; the same text on every platform (Python's own formatting)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0.0"  # also -0.0
    text = f"{x:.{p}g}"
    if not any(c in text for c in ".en"):
        text += ".0"
    return text


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _summary(x, is_tensor, p) -> str:
    """A Value's number, or a Tensor's numbers when few, else its min / mean / max."""
    if not is_tensor:
        return _num(x, p)
    a = np.asarray(x)
    if a.size == 0:
        return "[]"
    if a.size <= SMALL_TENSOR:
        return _nested(a, p)
    return f"min {_num(a.min(), p)}  mean {_num(a.mean(), p)}  max {_num(a.max(), p)}"


def _nested(a, p) -> str:
    if a.ndim == 0:
        return _num(a, p)
    return "[" + ", ".join(_nested(row, p) for row in a) + "]"


def _html(text: str) -> str:
    return html.escape(str(text), quote=True).replace("\n", "<BR/>")


# ---------------------------------------------------------------------------- a frame of backward


def _frame_title(frame: _Frame, p) -> str:
    step = frame.step
    node = step.node
    name = node.label or f"node #{step.index}"
    is_tensor = isinstance(node, Tensor)
    head = f"step {step.index} of {frame.total}: backward visits {name}"
    g = step.grad(node)
    if is_tensor and not node.requires_grad:
        return f"{head}, a constant: no gradient"
    if node.op is None:
        return f"{head}, a leaf: its grad {_summary(g, is_tensor, p)} is complete"
    what = "the root, seeded with grad" if step.index == 1 else "its grad is complete:"
    how = "times the local derivative" if not is_tensor else "through its vector-Jacobian product"
    return f"{head}, {what} {_summary(g, is_tensor, p)}; it flows back through {node.op.name} to each input, {how}"


# ---------------------------------------------------------------------------- rendering


def render(graph_or_root, path, format=None, **draw_kwargs) -> Path:
    """Draw ``graph_or_root`` (a ``Value``, a ``Tensor`` or a ``graphviz.Digraph``) to ``path`` with ``dot``.

    ``format`` (``"svg"``, ``"png"``, ``"pdf"``, ...) defaults to the suffix of ``path``, else
    ``"svg"`` (and the suffix is added). Returns the path written. Where ``dot`` is not installed
    it writes the DOT source to ``path.with_suffix(".dot")``, warns ``GraphvizNotFound`` (with how
    to install Graphviz) and returns that path instead.
    """
    graphviz = _graphviz()
    if isinstance(graph_or_root, graphviz.graphs.BaseGraph):
        if draw_kwargs:
            raise TypeError(f"render: drawing options {sorted(draw_kwargs)} apply to a Value or Tensor, not a Digraph")
        graph = graph_or_root
    else:
        graph = draw_graph(graph_or_root, **draw_kwargs)
    path = Path(path)
    suffix = path.suffix[1:].lower()
    if format is None:
        format = suffix or "svg"
    if not suffix:
        path = path.with_name(f"{path.name}.{format}")
    elif suffix != format.lower():
        raise ValueError(f"render: path {str(path)!r} ends in .{suffix} but format={format!r}; make them agree")
    if shutil.which("dot") is None:
        dot_path = path.with_suffix(".dot")
        dot_path.parent.mkdir(parents=True, exist_ok=True)
        dot_path.write_text(graph.source, encoding="utf-8")
        warnings.warn(
            GraphvizNotFound(
                f"Graphviz's dot program is not on PATH, so {path} was not drawn; the DOT source is in {dot_path}. "
                f"To draw it, {INSTALL_DOT}; then: dot -T{format} {dot_path} -o {path}"
            ),
            stacklevel=2,
        )
        return dot_path
    _run_dot(graph.source, path, format)
    return path


def _run_dot(source: str, path: Path, format: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    dot = shutil.which("dot")
    try:
        done = subprocess.run(
            [dot, f"-T{format}", "-o", str(path)],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"render: dot took more than {DOT_TIMEOUT} s to draw {path}; draw a smaller graph") from None
    if done.returncode != 0:
        raise RuntimeError(
            f"render: dot failed to draw {path} ({format}): {done.stderr.decode(errors='replace').strip()}"
        )
