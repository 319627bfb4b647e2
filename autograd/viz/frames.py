"""Backward, one picture per step, all on ONE layout.

>>> frames = BackwardFrames(L)          # records backward's steps
>>> svgs = list(frames.svgs())          # dot lays the graph out once; one SVG text per step
>>> backprop_frames(L, "frames")        # frame_000.svg, frame_001.svg, ...

``dot`` lays the graph out once, with each node's grad row as wide as its widest text over all
the steps; every frame is that same SVG restyled: each node's state (not reached yet, partly
summed, complete, being processed) is a CSS class and its grad row's text is replaced. So nodes
never move between frames, and drawing a frame costs no ``dot`` run. The state and the text of
each node come from ``backprop_steps``, the recording of the real backward walk.

Frame ``k`` (``frame_000`` is the root's step) marks in violet the node being processed, its op
and the edges along which it sends gradient; nodes already processed show their final grad,
nodes that have received part of theirs show it in italics with "(so far)", and nodes not reached
yet are faded with "grad ?".
"""

from __future__ import annotations

import html
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..typing import Node
from .draw import CURRENT, INSTALL_DOT, DrawOptions, build_graph
from .explain import StepText, explain_steps, grad_text
from .nodes import graph_nodes, parameter_ids
from .render import pipe
from .steps import BackpropStep, backprop_steps

if TYPE_CHECKING:
    from graphviz import Digraph

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

FRAME_CSS = """
{scope}g.bp-unreached {{ opacity: 0.4; }}
{scope}text.bp-grad {{ font-weight: bold; }}
{scope}g.bp-unreached text.bp-grad, {scope}g.bp-none text.bp-grad {{ fill: #6b7280; font-weight: normal; }}
{scope}g.bp-partial text.bp-grad {{ fill: #4b5563; font-style: italic; font-weight: normal; }}
{scope}g.bp-current polygon, {scope}g.bp-current path, {scope}g.bp-current ellipse {{
  stroke: {current}; stroke-width: 3px; }}
{scope}g.bp-active path {{ stroke: {current}; stroke-width: 2.5px; }}
{scope}g.bp-active polygon {{ stroke: {current}; fill: {current}; }}
{scope}g.bp-active text {{ fill: {current}; font-weight: bold; }}
"""

STATE_CLASS = {"unreached": "bp-unreached", "partial": "bp-partial", "done": "bp-done", "none": "bp-none"}

PROGRESS_FROM = 50
"""Writing at least this many frames reports progress on a terminal (stderr)."""


def frame_css(scope: str = "") -> str:
    """The frames' styles; ``scope`` (a CSS selector and a space) limits them to one player on a page."""
    return FRAME_CSS.format(scope=scope, current=CURRENT)


@dataclass(frozen=True)
class Frame:
    """One step's restyling of the layout.

    - ``changes``: ``(node index, state, grad text)`` for each node that differs from the frame
      before (from every node unreached with ``grad ?`` for the first frame);
    - ``current``: the index of the node being processed;
    - ``edges``: the keys (``"n3->n5op"``) of the edges it sends gradient along, and ``"n5op->n5"``;
    - ``text``: the step's caption and explanation.
    """

    changes: tuple
    current: int
    edges: tuple
    text: StepText


class BackwardFrames:
    """The frames of one backward pass from ``root`` over one layout (see the module's docstring).

    ``gradient`` is the starting gradient (as for ``backprop_steps``); ``parameters`` tells the inputs apart
    from the parameters (as for ``draw_graph``); ``max_frames`` keeps the first steps only
    (``None``: all of them, one per node); the rest are ``draw_graph``'s options.
    """

    def __init__(
        self,
        root: Node,
        *,
        gradient: Any = None,
        parameters: Iterable[Node] | Any = None,
        max_frames: int | None = None,
        rankdir: str = "LR",
        edge_derivatives: bool = True,
        precision: int = 4,
        max_nodes: int | None = 400,
        legend: bool = True,
    ) -> None:
        if max_frames is not None and (type(max_frames) is not int or max_frames < 1):
            raise ValueError(f"backprop_frames: max_frames must be a positive int or None, got {max_frames!r}")
        self.root = root
        self.order = graph_nodes(root, max_nodes, where="backprop_frames")
        self.options = DrawOptions(
            rankdir=rankdir,
            edge_derivatives=edge_derivatives,
            parameters=parameters,
            max_nodes=max_nodes,
            precision=precision,
            legend=legend,
        )
        steps = backprop_steps(root, gradient)
        self.total_steps = len(steps)
        self.steps: list[BackpropStep] = steps[:max_frames] if max_frames is not None else steps
        texts = explain_steps(steps, precision, parameter_ids(parameters, "backprop_frames"))
        self.frames = self._frames(texts)
        self._layout_svg: str | None = None
        self._sizes: dict[str, tuple[float, float]] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    # ------------------------------------------------------------------ what changes per frame

    def _frames(self, texts) -> list[Frame]:
        index = {id(node): i for i, node in enumerate(self.order)}
        p = self.options.precision
        shown = {i: ("unreached", "grad ?") for i in range(len(self.order))}
        frames = []
        for step, text in zip(self.steps, texts):
            # a step changes the state and grad of its node and of that node's inputs, nothing else
            changes = []
            for node in {id(n): n for n in (step.node, *step.node.parents)}.values():
                i = index[id(node)]
                now = (step.state(node), grad_text(node, step, p))
                if now != shown[i]:
                    changes.append((i, *now))
                    shown[i] = now
            changes.sort()
            k = index[id(step.node)]
            edges = [f"n{k}op->n{k}"] if step.node.op is not None else []
            edges += [f"n{index[id(s.parent)]}->n{k}op" for s in step.sent]
            frames.append(Frame(tuple(changes), k, tuple(edges), text))
        return frames

    def grad_rows(self) -> dict:
        """``{id(node): text}``: each node's widest grad text over all frames, for the layout."""
        p = self.options.precision
        rows = {}
        for node in self.order:
            texts = [grad_text(node, step, p) for step in self.steps] + ["grad ?"]
            rows[id(node)] = max(texts, key=len)
        return rows

    # ------------------------------------------------------------------ the one layout

    def layout_graph(self) -> Digraph:
        """The DOT of the layout: the whole graph with each grad row at its widest."""
        return build_graph(self.root, self.options, grad_rows=self.grad_rows())

    def layout_svg(self) -> str | None:
        """The layout drawn by dot (one run), marked for restyling; ``None`` where dot is missing."""
        if self._layout_svg is None:
            data = pipe(self.layout_graph(), "svg")
            if data is None:
                return None
            self._layout_svg = mark_layout(data.decode("utf-8"), len(self.order))
        return self._layout_svg

    # ------------------------------------------------------------------ pictures

    def svgs(self, *, caption: bool = True, style: bool = True, progress: Progress | None = None) -> Iterator[str]:
        """Each frame as a standalone SVG document (text), restyled from the one layout.

        The layout is serialised once, with a slot for each part that a frame changes (the class
        of every node, op and edge group, the text of every grad row, the caption); each frame
        fills in the slots. ``style=False`` leaves out the frames' CSS (for a page that has it).
        """
        layout = self.layout_svg()
        if layout is None:
            raise RuntimeError(f"backprop_frames: Graphviz's dot program is not on PATH; {INSTALL_DOT}")
        tree = ET.fromstring(layout)
        nodes, grads, edges = _elements(tree)
        if style:
            css = ET.Element(f"{{{SVG_NS}}}style")
            css.text = frame_css()
            tree.insert(0, css)
        slots: dict[tuple, int] = {}

        def slot(key, element, attribute=None):
            token = f"@@bp{len(slots)}@@"
            slots[key] = len(slots)
            if attribute is None:
                element.text = token
            else:
                element.set(attribute, token)

        n = len(self.order)
        for i in range(n):
            for kind, name in (("n", f"n{i}"), ("o", f"n{i}op")):
                if name in nodes:
                    slot((kind, i), nodes[name][0], "class")
            if f"n{i}" in grads:
                slot(("g", i), grads[f"n{i}"])
        for key, groups in edges.items():
            for j, group in enumerate(groups):
                slot(("e", key, j), group, "class")
        if caption:
            slot(("c",), _caption_band(tree, max((f.text.caption for f in self.frames), key=len)))
        parts = re.split(r"@@bp(\d+)@@", ET.tostring(tree, encoding="unicode"))
        texts, filled = parts[0::2], [int(i) for i in parts[1::2]]  # the text between the slots, the slots

        start = {"n": "node bp-unreached", "o": "node bp-unreached", "g": "grad ?", "e": "edge", "c": ""}
        base = [start[key[0]] for key in slots]  # every frame's changes are relative to this
        for frame in self.frames:
            for i, state, text in frame.changes:
                base[slots[("n", i)]] = f"node {STATE_CLASS[state]}"
                if ("g", i) in slots:
                    base[slots[("g", i)]] = html.escape(text, quote=False)
            if ("o", frame.current) in slots:  # an op fades until backward has processed its node
                base[slots[("o", frame.current)]] = "node bp-done"
            values = list(base)
            for key in (("n", frame.current), ("o", frame.current)):
                if key in slots:
                    values[slots[key]] += " bp-current"
            for edge in frame.edges:
                for j in range(len(edges.get(edge, ()))):
                    values[slots[("e", edge, j)]] = "edge bp-active"
            if caption:
                values[slots[("c",)]] = html.escape(frame.text.caption, quote=False)
            out = [texts[0]]
            for index, text in zip(filled, texts[1:]):
                out += (values[index], text)
            if progress is not None:
                progress.advance()
            yield "".join(out)

    def dot_frame(self, k: int) -> Digraph:
        """Frame ``k`` as a DOT graph of its own (for formats other than SVG).

        Every node gets the size it has in the layout (``width``/``height`` are minimums in
        dot), and the edges keep the layout's labels, so dot lays each frame out as the layout.
        """
        return build_graph(
            self.root, self.options, step=self.steps[k], caption=self.frames[k].text.caption, sizes=self.node_sizes()
        )

    def node_sizes(self) -> dict:
        """``{DOT node name: (width, height)}`` in inches, from the layout (one dot run, cached)."""
        if self._sizes is None:
            data = pipe(self.layout_graph(), "json")
            if data is None:
                self._sizes = {}
            else:
                objects = json.loads(data.decode("utf-8")).get("objects", [])
                self._sizes = {o["name"]: (o["width"], o["height"]) for o in objects if "width" in o}
        return self._sizes


def mark_layout(svg: str, n: int) -> str:
    """dot's SVG with hooks for restyling: ``data-n``/``data-op``/``data-e`` on the node, op and
    edge groups (by their DOT names), class ``bp-grad`` on each value node's grad row (its
    label's last line), and no ``id`` attributes (a page may hold several pictures)."""
    tree = ET.fromstring(svg)
    for g in tree.iter(f"{{{SVG_NS}}}g"):
        g.attrib.pop("id", None)
        kind = g.get("class")
        title = g.find(f"{{{SVG_NS}}}title")
        if title is None or kind not in ("node", "edge"):
            continue
        name = title.text or ""
        if kind == "edge":
            g.set("data-e", name)
        elif name.endswith("op"):
            g.set("data-op", name[:-2])
        elif name.startswith("n") and name[1:].isdigit():
            g.set("data-n", name)
            texts = [t for t in g.iter(f"{{{SVG_NS}}}text")]
            if texts:
                texts[-1].set("class", "bp-grad")
    return ET.tostring(tree, encoding="unicode")


def _elements(tree):
    nodes, grads, edges = {}, {}, {}
    for g in tree.iter(f"{{{SVG_NS}}}g"):
        if g.get("data-n"):
            nodes.setdefault(g.get("data-n"), []).append(g)
            for t in g.iter(f"{{{SVG_NS}}}text"):
                if t.get("class") == "bp-grad":
                    grads[g.get("data-n")] = t
        elif g.get("data-op"):
            nodes.setdefault(g.get("data-op") + "op", []).append(g)
        elif g.get("data-e"):
            edges.setdefault(g.get("data-e"), []).append(g)
    return nodes, grads, edges


CAPTION_HEIGHT = 28.0  # points


def _caption_band(tree, longest: str):
    """Room for a caption above the picture (wide enough for ``longest``); returns its text element."""
    _, _, width, height = (float(v) for v in tree.get("viewBox").split())
    width = max(width, 16 + 7.0 * len(longest))  # about 7 pt per character at 13 pt Helvetica
    tree.set("viewBox", f"0 {-CAPTION_HEIGHT} {width:.2f} {height + CAPTION_HEIGHT:.2f}")
    tree.set("width", f"{width:.0f}pt")
    tree.set("height", f"{height + CAPTION_HEIGHT:.0f}pt")
    band = ET.Element(f"{{{SVG_NS}}}rect", x="0", y=f"{-CAPTION_HEIGHT}", width=f"{width:.2f}")
    band.set("height", f"{CAPTION_HEIGHT}")
    band.set("fill", "white")
    text = ET.Element(f"{{{SVG_NS}}}text", x="8", y="-9")
    text.set("font-family", "Helvetica,Arial,sans-serif")
    text.set("font-size", "13")
    text.set("fill", CURRENT)
    tree.insert(1, band)
    tree.insert(2, text)
    return text


class Progress:
    """``frame k of n`` on stderr, rewritten in place.

    ``enabled``: ``None`` shows it on a terminal when there are at least ``PROGRESS_FROM`` frames;
    ``True`` always; ``False`` never.
    """

    def __init__(self, total: int, enabled=None, stream=None, note: str = ""):
        self.stream = stream or sys.stderr
        self.total = total
        self.done = 0
        if enabled is None:
            enabled = total >= PROGRESS_FROM and bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = bool(enabled)
        if self.shown:
            print(
                f"backprop_frames: drawing {total} frames, one per node (max_frames=N draws only the first N "
                f"steps; max_nodes= refuses bigger graphs){note}",
                file=self.stream,
            )

    def advance(self):
        self.done += 1
        if self.shown:
            end = "\n" if self.done == self.total else ""
            print(f"\r  frame {self.done} of {self.total}", end=end, file=self.stream, flush=True)
