"""The picture of a computation graph as DOT: op, data and grad of every node, and the chain rule.

How a picture reads (left to right by default, inputs on the left, the root on the right):

- A *value node* (a box) per ``Value`` or ``Tensor``: its label, ``#k`` (backward visits it k-th;
  ``#1`` is the root), its data and its grad. A tensor shows its shape and, when it has at most
  6 elements, its numbers; otherwise min / mean / max.
- Fill colour and outline tell the kinds of node apart (the rule is in ``autograd.viz.nodes``):
  *parameter* (amber, rounded), *input* (grey, dashed), *intermediate* (blue). The root has a
  double outline. Numbers mixed into an expression (the ``2`` in ``x * 2``) are not nodes: they
  are shown inside the op (``* 2``).
- An *op node* (a small ellipse) sits between a value and its inputs, as in micrograd's picture:
  one edge per argument, in argument order, so ``x * x`` has two edges from ``x``.
- On a scalar graph each edge into an op carries that op's local derivative with respect to that
  argument, ``∂/∂a = 2.0``: the number the chain rule multiplies by on the way back. The argument is
  named by the input's label, or by its position (``x``; ``a``, ``b``; ``x1`` .. ``xn``) when the
  input has no label. On a tensor graph the edge carries the input's shape.
- Checked gradients: ``expected={label: gradient}`` draws a node whose grad disagrees red (a tick
  where it agrees); ``check=report`` takes any object with ``status(node)`` returning ``None``,
  ``"right"``, ``"first_wrong"`` or ``"inherited"``: the first wrong node (in backward order) is
  drawn red with a thick outline, the ones that are wrong because of it orange and dashed.

Determinism: node ids (``n0``, ``n1``, ... and ``n0op`` for a node's op) follow
``topological_order``, numbers are printed with ``precision`` significant digits, and no ``id()``
reaches the output, so one graph gives the same DOT source in every run and process.

The ``graphviz`` Python package (``pip install 'backprop-lab[viz]'``) is imported only when a
picture is drawn, so ``import autograd.viz`` works without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..tensor import Tensor
from ..typing import Node
from .explain import grad_text
from .nodes import graph_nodes, node_kind, parameter_ids
from .steps import BackpropStep
from .text import format_number, format_shape, html_text, summary, visible

if TYPE_CHECKING:
    from graphviz import Digraph

INSTALL_PYTHON = "pip install 'backprop-lab[viz]'  (or: pip install graphviz)"
INSTALL_DOT = (
    "install Graphviz: apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS), "
    "or see https://graphviz.org/download/"
)

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
    "fontsize": "12",
    "width": "0.3",
    "height": "0.3",
    "margin": "0.04,0.02",
}
CURRENT = "#7c3aed"  # the node backward is processing (frames) and highlight=
WRONG_FILL, WRONG_LINE = "#fca5a5", "#b91c1c"  # gradient disagrees (expected=), the first wrong one (check=)
INHERITED_FILL, INHERITED_LINE = "#fed7aa", "#c2410c"  # wrong because an earlier node is (check=)
RIGHT = "#15803d"  # gradient agrees with expected= or check=
MUTED = "#6b7280"
FAINT = "#9ca3af"

CHECK_STATUSES = (None, "right", "first_wrong", "inherited")


def require_graphviz() -> Any:
    """The ``graphviz`` Python package, or ``ImportError`` saying how to install it."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            f"autograd.viz draws with the graphviz Python package, which is not installed: {INSTALL_PYTHON}. "
            f"Rendering pictures also needs Graphviz's dot program: {INSTALL_DOT}."
        ) from None
    return graphviz


@dataclass(frozen=True)
class DrawOptions:
    """The options of ``draw_graph`` (see its docstring), checked once."""

    rankdir: str = "LR"
    edge_derivatives: bool = True
    backprop_order: bool = True
    expected: dict[str, Any] | None = None
    check: Any = None
    parameters: Any = None
    highlight: Any = None
    max_nodes: int | None = 400
    precision: int = 4
    legend: bool = True
    paths: Any = None

    def __post_init__(self) -> None:
        if self.rankdir not in ("LR", "RL", "TB", "BT"):
            raise ValueError(f"draw_graph: rankdir must be 'LR', 'RL', 'TB' or 'BT', got {self.rankdir!r}")
        if isinstance(self.precision, bool) or not isinstance(self.precision, int) or not 1 <= self.precision <= 17:
            raise ValueError(f"draw_graph: precision must be an int from 1 to 17, got {self.precision!r}")
        if self.expected is not None and self.check is not None:
            raise ValueError("draw_graph: pass expected= or check=, not both")
        if self.check is not None and not callable(getattr(self.check, "status", None)):
            raise TypeError(
                f"draw_graph: check= takes a report with a status(node) method, got {type(self.check).__name__}"
            )
        if self.paths is not None and not isinstance(getattr(self.paths, "paths", None), list):
            raise TypeError(
                f"draw_graph: paths= takes an explain_gradient result (with .paths), got {type(self.paths).__name__}"
            )


def dot_source(root: Node, **draw_kwargs: Any) -> str:
    """The DOT text of ``draw_graph(root, **draw_kwargs)``."""
    return build_graph(root, DrawOptions(**draw_kwargs)).source


def build_graph(
    root: Node,
    options: DrawOptions,
    *,
    step: BackpropStep | None = None,
    caption: str | None = None,
    grad_rows: dict | None = None,
    sizes: dict | None = None,
    graph_type: type | None = None,
) -> Digraph:
    """The graph behind ``root`` as a ``graphviz.Digraph`` (or ``graph_type``, a subclass of it).

    - ``step`` (a ``BackpropStep``) and ``caption``: draw that moment of backward: the node being
      processed and the edges it sends gradient along in violet (``sends grad × local = amount``),
      grads not reached yet as ``grad ?``, partial ones grey with ``(so far)``.
    - ``grad_rows``: ``{id(node): text}``, each node's grad row as one plain run of text (the
      layout of the step-through player, which then restyles that text per frame).
    - ``sizes``: ``{DOT node name: (width, height)}`` in inches, the least size of each node; with
      them the edges keep their labels (a frame then has the layout these sizes came from).
    """
    graphviz = require_graphviz()
    order = graph_nodes(root, options.max_nodes)
    is_tensor = isinstance(root, Tensor)
    names = {id(node): f"n{i}" for i, node in enumerate(order)}
    n = len(order)
    params = parameter_ids(options.parameters)
    highlighted = _highlighted(options.highlight, order)
    path_nodes, path_edges = _path_marks(options.paths)
    expected = _check_expected(options.expected, order)
    statuses = _statuses(options.check, order)
    p = options.precision

    g = (graph_type or graphviz.Digraph)(
        "autograd",
        graph_attr={"rankdir": options.rankdir, "fontname": "Helvetica", "nodesep": "0.25", "ranksep": "0.35"},
        node_attr={"fontname": "Helvetica", "fontsize": "12", "shape": "box", "margin": "0.08,0.04"},
        edge_attr={"fontname": "Helvetica", "fontsize": "11", "color": "#4b5563", "arrowsize": "0.7"},
    )
    if caption is not None:
        g.attr(label=dot_text(caption), labelloc="t", fontsize="14")

    marks = set()  # the marks drawn, for the legend
    sent = {}  # argument position -> what the current step sent along that edge
    if step is not None:
        sent = {k: s for s in step.sent for k in s.positions}

    for i, node in enumerate(order):
        name = names[id(node)]
        kind = node_kind(node, params)
        attrs = dict(STYLES[kind])
        current = step is not None and step.node is node
        if grad_rows is not None:
            rows, mark = [html_text(grad_rows[id(node)])], None
        else:
            rows, mark = _grad_rows(node, is_tensor, step, expected, statuses, p)
        marks.add(mark)
        if mark == "wrong" or mark == "first_wrong":
            attrs.update(fillcolor=WRONG_FILL, color=WRONG_LINE, penwidth="3")
        elif mark == "inherited":
            attrs.update(fillcolor=INHERITED_FILL, color=INHERITED_LINE, penwidth="2", style=_dashed(attrs["style"]))
        elif mark == "right":
            attrs.update(color=RIGHT, penwidth="1.5")
        if node is root:
            attrs["peripheries"] = "2"
        if current or id(node) in highlighted or id(node) in path_nodes:
            attrs.update(color=CURRENT, penwidth="3")
        number = n - i if options.backprop_order else None
        attrs["label"] = _value_label(node, is_tensor, number, rows, p)
        attrs["tooltip"] = dot_text(_tooltip(node, kind, is_tensor))
        _fix_size(attrs, sizes, name)
        g.node(name, **attrs)

        op = node.op
        if op is None:
            continue
        op_attrs = dict(OP_STYLE)
        if current:
            op_attrs.update(color=CURRENT, penwidth="2")
        _fix_size(op_attrs, sizes, f"{name}op")
        g.node(f"{name}op", label=dot_text(_op_label(node)), tooltip=dot_text(_op_doc(op)), **op_attrs)
        on_path = any((id(node), k) in path_edges for k in range(len(node.parents)))
        g.edge(f"{name}op", name, **({"color": CURRENT, "penwidth": "2.5"} if on_path else {}))
        parents = node.parents
        labels = _edge_labels(node, parents, is_tensor, p) if options.edge_derivatives else [None] * len(parents)
        for k, (parent, label) in enumerate(zip(parents, labels)):
            edge: dict[str, str] = {}
            if current and k in sent and step is not None:
                edge.update(color=CURRENT, penwidth="2", fontcolor=CURRENT)
                if not sizes:
                    label = _sent_label(label, sent[k], step.grad(node), is_tensor, p)
            if (id(node), k) in path_edges:
                edge.update(color=CURRENT, penwidth="2.5", fontcolor=CURRENT)
            if label:
                edge["label"] = dot_text(label)
            g.edge(names[id(parent)], f"{name}op", **edge)

    if options.legend:
        g.node("legend", label=_legend(order, is_tensor, params, options, marks), shape="plaintext", fontsize="10")
    return g


def _fix_size(attrs, sizes, name):
    if sizes and name in sizes:
        width, height = sizes[name]
        attrs.update(width=str(width), height=str(height))


def dot_text(text) -> str:
    """``text`` as a plain DOT string: control characters visible, backslashes literal, lines kept."""
    graphviz = require_graphviz()
    return graphviz.nohtml("\\n".join(graphviz.escape(visible(line)) for line in str(text).split("\n")))


def _dashed(style: str) -> str:
    return style if "dashed" in style else f"{style},dashed"


def _path_marks(explanation) -> tuple:
    """The nodes and the ``(child, argument position)`` edges on the paths of an ``explain_gradient``."""
    if explanation is None:
        return set(), set()
    nodes: set[int] = set()
    edges: set[tuple[int, int]] = set()
    for path in explanation.paths:
        nodes.update(id(n) for n in path.nodes)
        edges.update((id(child), slot) for child, slot in path.edges)
    return nodes, edges


def _highlighted(highlight, order) -> set:
    if highlight is None:
        return set()
    single = isinstance(highlight, str) or not isinstance(highlight, (list, tuple, set))
    ids = set()
    for item in [highlight] if single else highlight:
        if isinstance(item, str):
            matches = [id(node) for node in order if node.label == item]
            if not matches:
                raise ValueError(f"draw_graph: highlight={item!r} matches no node label; labels: {_labels(order)}")
            ids.update(matches)
        else:
            ids.add(id(item))
    return ids


def _labels(order) -> str:
    labels = list(dict.fromkeys(visible(node.label) for node in order if node.label))  # in graph order
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


def _statuses(report, order) -> dict:
    """``{id(node): status}`` from ``report.status(node)`` for the nodes it checked."""
    if report is None:
        return {}
    out = {}
    for node in order:
        status = report.status(node)
        if status not in CHECK_STATUSES:
            raise ValueError(
                f"draw_graph: check=: status() returned {status!r} for node {visible(node.label) or '(no label)'}; "
                "expected None, 'right', 'first_wrong' or 'inherited'"
            )
        if status is not None:
            out[id(node)] = status
    return out


def gradients_agree(grad, expected) -> bool:
    """The test ``expected=`` applies: ``np.allclose(grad, expected, rtol=1e-6, atol=1e-9)``, same shape."""
    if grad is None:
        return False
    with np.errstate(all="ignore"):
        grad = np.asarray(grad, dtype=float)
        want = np.asarray(expected, dtype=float)
        try:
            close = bool(np.allclose(grad, want, rtol=1e-6, atol=1e-9))
            return close and np.broadcast_shapes(grad.shape, want.shape) == grad.shape
        except ValueError:
            return False


def _grad_rows(node, is_tensor, step, expected, statuses, p) -> tuple[list, str | None]:
    """The grad row(s) of a node as label markup, and its mark: None, "right", "wrong", "first_wrong", "inherited"."""
    text = html_text(grad_text(node, step, p))
    if step is not None:
        state = step.state(node)
        if state in ("unreached", "none"):
            return [f'<FONT COLOR="{FAINT}">{text}</FONT>'], None
        if state == "partial":
            return [f'<FONT COLOR="{MUTED}"><I>{text}</I></FONT>'], None
    elif is_tensor and not node.requires_grad:
        return [f'<FONT COLOR="{MUTED}">{text}</FONT>'], None
    grad = node.grad if step is None else step.grad(node)
    if node.label in expected:
        want = expected[node.label]
        if gradients_agree(grad, want):
            return [f'<B>{text}</B> <FONT COLOR="{RIGHT}">✓</FONT>'], "right"
        shown = summary(np.asarray(want, dtype=float) if is_tensor else float(want), is_tensor, p)
        return [
            f'<FONT COLOR="{WRONG_LINE}"><B>{text}</B></FONT>',
            f'<FONT COLOR="{WRONG_LINE}"><B>≠ expected {html_text(shown)}</B></FONT>',
        ], "wrong"
    status = statuses.get(id(node))
    if status == "right":
        return [f'<B>{text}</B> <FONT COLOR="{RIGHT}">✓</FONT>'], status
    if status == "first_wrong":
        return [f"<B>{text}</B>", f'<FONT COLOR="{WRONG_LINE}"><B>✗ first wrong gradient</B></FONT>'], status
    if status == "inherited":
        return [f"<B>{text}</B>", f'<FONT COLOR="{INHERITED_LINE}">✗ wrong, inherited</FONT>'], status
    return [f"<B>{text}</B>"], None


def _value_label(node, is_tensor, number, grad_rows, p) -> str:
    header = f"<B>{html_text(node.label)}</B>" if node.label else ""
    if number is not None:
        header += f'{"  " if header else ""}<FONT POINT-SIZE="10" COLOR="{MUTED}">#{number}</FONT>'
    rows = [header] if header else []
    if is_tensor:
        rows.append(f'<FONT COLOR="{MUTED}">shape {format_shape(node.data.shape)}</FONT>')
    rows.append(f"data {html_text(summary(node.data, is_tensor, p))}")
    rows.extend(grad_rows)
    cells = "".join(f'<TR><TD ALIGN="LEFT">{row}</TD></TR>' for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'


def _tooltip(node, kind, is_tensor) -> str:
    what = {
        "parameter": "parameter: a leaf that training adjusts",
        "input": "input: a leaf that is data or a constant",
        "intermediate": f"made by {getattr(node.op, 'name', '')}",
    }[kind]
    shape = f" {format_shape(node.data.shape)}" if is_tensor else ""
    return f"{visible(node.label) or '(no label)'}{shape}: {what}"


def _op_label(node) -> str:
    label = getattr(node.op, "label", None)
    return label(node) if callable(label) else str(getattr(node.op, "name", node.op))


def _op_doc(op) -> str:
    return getattr(op, "doc", "") or getattr(op, "name", "") or str(op)


def _edge_labels(node, parents, is_tensor, p) -> list:
    if is_tensor:
        return [format_shape(parent.data.shape) for parent in parents]
    local = getattr(node.op, "local_derivatives", None)
    if not callable(local):
        return [None] * len(parents)
    return [
        f"∂/∂{_arg_name(parent, k, len(parents))} = {format_number(d, p)}"
        for k, (parent, d) in enumerate(zip(parents, local(node)))
    ]


def _arg_name(parent, k, n) -> str:
    if parent.label:
        return visible(parent.label)
    if n == 1:
        return "x"
    if n == 2:
        return "ab"[k]
    return f"x{k + 1}"


def _sent_label(label, sent, grad, is_tensor, p) -> str:
    if is_tensor or sent.local is None:
        return f"{label or ''}\nsends {summary(sent.amount, is_tensor, p)}".strip()
    g, local, amount = format_number(grad, p), format_number(sent.local, p), format_number(sent.amount, p)
    return f"{label or local}\nsends {g} × {local} = {amount}"


LEGEND_TEXT = {
    "parameter": "parameter (a leaf training adjusts)",
    "input": "input (data or a constant)",
    "intermediate": "intermediate (made by an op)",
}


def _legend(order, is_tensor, params, options, marks) -> str:
    kinds = {node_kind(node, params) for node in order}
    rows = [
        f'<TR><TD BGCOLOR="{STYLES[kind]["fillcolor"]}" ALIGN="LEFT">{LEGEND_TEXT[kind]}</TD></TR>'
        for kind in ("parameter", "input", "intermediate")
        if kind in kinds
    ]
    if "first_wrong" in marks or "wrong" in marks:
        what = "first wrong gradient" if "first_wrong" in marks else "gradient ≠ expected"
        rows.append(f'<TR><TD BGCOLOR="{WRONG_FILL}" ALIGN="LEFT">{what}</TD></TR>')
    if "inherited" in marks:
        rows.append(f'<TR><TD BGCOLOR="{INHERITED_FILL}" ALIGN="LEFT">wrong, inherited from it</TD></TR>')
    notes = []
    if options.backprop_order:
        notes.append("#k: k-th node backward visits")
    if options.edge_derivatives:
        notes.append("edge: ∂ op / ∂ input" if not is_tensor else "edge: shape of the input")
    for note in notes:
        rows.append(f'<TR><TD BORDER="0" ALIGN="LEFT"><FONT COLOR="{MUTED}">{html_text(note)}</FONT></TD></TR>')
    return f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2" CELLPADDING="3" COLOR="{MUTED}">{"".join(rows)}</TABLE>>'
