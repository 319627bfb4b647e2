"""A backward-pass player for a notebook or a web page: one picture, restyled step by step.

>>> step_through(loss)                    # in Jupyter / VS Code: the player, inline
>>> step_through(loss).save("steps.html") # the same, as a page that needs nothing else

The player holds the graph's one layout (``BackwardFrames``: dot runs once) as inline SVG and,
per step, which nodes change state and text; a few lines of JavaScript apply them. Previous /
next buttons, the arrow keys (Home and End for the ends) and a slider move between steps; the
explanation of each step is HTML text beside the picture, and the picture pans and zooms
(``autograd.viz.zoom``). No widget library and no network: it works in Jupyter, in VS Code and
in a saved ``.html`` file.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..typing import Node
from .draw import CURRENT
from .frames import BackwardFrames, frame_css
from .render import not_drawn_html
from .zoom import ZOOM_CSS, ZOOM_SCRIPT, zoom_box

_instances = itertools.count(1)

PLAYER_CSS = """
{scope} {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2937; }}
{scope}.bp-player {{ display: flex; flex-direction: column; gap: 0.4rem; }}
{scope}.bp-player:focus {{ outline: none; }}
{scope} .bp-controls {{ display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; }}
{scope} .bp-controls button {{ font: inherit; padding: 0.2rem 0.8rem; cursor: pointer; }}
{scope} .bp-controls input[type=range] {{ flex: 1 1 12rem; min-width: 8rem; }}
{scope} .bp-count {{ min-width: 8em; font-variant-numeric: tabular-nums; }}
{scope} .bp-keys {{ color: #6b7280; font-size: 13px; }}
{scope} .bp-body {{ display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }}
{scope} .bp-body > .bp-zoom {{ flex: 3 1 30rem; margin: 0; }}
{scope} .bp-explain {{ flex: 1 1 20rem; max-width: 40rem; min-width: 0; overflow-wrap: anywhere; }}
{scope} .bp-explain p {{ margin: 0 0 0.5rem; }}
{scope} .bp-explain .bp-title {{ font-weight: 600; font-size: 17px; color: #5b21b6; }}
{scope} .bp-explain code {{ background: #f3f4f6; padding: 0 0.2em; border-radius: 3px; }}
{scope} .bp-sent {{ border-collapse: collapse; font-variant-numeric: tabular-nums; margin-bottom: 0.5rem; }}
{scope} .bp-sent th, {scope} .bp-sent td {{ border-bottom: 1px solid #e5e7eb; padding: 0.15rem 0.5rem 0.15rem 0;
  text-align: left; vertical-align: top; }}
{scope} .bp-sent th {{ font-weight: 600; color: #4b5563; font-size: 13px; }}
{scope} .bp-key {{ color: #6b7280; font-size: 13px; border-top: 1px solid #e5e7eb; padding-top: 0.4rem; }}
{scope}.bp-full .bp-body {{ flex: 1 1 auto; flex-wrap: nowrap; min-height: 0; }}
{scope}.bp-full .bp-body > .bp-zoom {{ align-self: stretch; }}
{scope}.bp-full .bp-explain {{ overflow-y: auto; max-height: 100%; }}
{scope}.bp-full {{ padding: 0.5rem; box-sizing: border-box; }}
"""

PLAYER_SCRIPT = r"""
(function () {
  const root = document.getElementById(%(uid)s);
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  const data = JSON.parse(root.querySelector(".bp-data").textContent);
  const svg = root.querySelector("svg.bp-pic"), box = root.querySelector(".bp-zoom");
  const slider = root.querySelector("input[type=range]"), count = root.querySelector(".bp-count");
  const explain = root.querySelector(".bp-explain-step");
  const nodes = {}, grads = {}, ops = {}, edges = {};
  svg.querySelectorAll("[data-n]").forEach(g => {
    nodes[g.dataset.n] = g;
    const t = g.querySelector("text.bp-grad");
    if (t) grads[g.dataset.n] = t;
  });
  svg.querySelectorAll("[data-op]").forEach(g => { ops[g.dataset.op] = g; });
  svg.querySelectorAll("[data-e]").forEach(g => { (edges[g.dataset.e] = edges[g.dataset.e] || []).push(g); });
  let shown = 0;
  function show(k) {
    shown = Math.max(0, Math.min(data.frames.length - 1, k));
    const state = [], done = new Set();
    for (let i = 0; i < data.nodes; i++) state.push(["unreached", "grad ?"]);
    for (let j = 0; j <= shown; j++) {
      const f = data.frames[j];
      f.c.forEach(([i, st, text]) => { state[i] = [st, text]; });
      done.add(f.cur);
    }
    state.forEach(([st, text], i) => {
      const g = nodes["n" + i];
      if (!g) return;
      g.setAttribute("class", "node bp-" + st + (i === data.frames[shown].cur ? " bp-current" : ""));
      if (grads["n" + i]) grads["n" + i].textContent = text;
      const op = ops["n" + i];
      if (op) op.setAttribute("class", "node " + (done.has(i) ? "bp-done" : "bp-unreached")
                                   + (i === data.frames[shown].cur ? " bp-current" : ""));
    });
    Object.values(edges).forEach(list => list.forEach(g => g.setAttribute("class", "edge")));
    data.frames[shown].e.forEach(key => (edges[key] || []).forEach(g => g.setAttribute("class", "edge bp-active")));
    explain.innerHTML = data.frames[shown].html;
    slider.value = shown + 1;
    count.textContent = "step " + (shown + 1) + " of " + data.frames.length;
    if (box.bpReveal) box.bpReveal(nodes["n" + data.frames[shown].cur]);
  }
  root.querySelectorAll("[data-step]").forEach(b => b.addEventListener("click", () => {
    show(shown + Number(b.dataset.step)); root.focus({preventScroll: true});
  }));
  slider.addEventListener("input", () => show(Number(slider.value) - 1));
  box.addEventListener("bp-full", () => box.bpReveal(nodes["n" + data.frames[shown].cur]));
  root.addEventListener("keydown", e => {
    const to = {ArrowLeft: shown - 1, ArrowRight: shown + 1, Home: 0, End: data.frames.length - 1}[e.key];
    if (to === undefined || e.target === slider) return;
    e.preventDefault(); e.stopPropagation(); show(to);
  });
  show(0);
})();
"""


class StepThrough:
    """The step-through player of one backward pass; shows itself in Jupyter (``_repr_html_``).

    ``html()`` is the player as an HTML fragment, ``page()`` as a whole document, and
    ``save(path)`` writes that document.
    """

    def __init__(self, frames: BackwardFrames):
        self.frames = frames

    def __len__(self) -> int:
        return len(self.frames)

    def _repr_html_(self) -> str:
        return self.html()

    def html(self) -> str:
        """The player: one ``<div>`` with its styles, the picture, the steps' data and its script."""
        frames = self.frames
        if frames.layout_svg() is None:
            return not_drawn_html(frames.layout_graph().source)
        # the first step already drawn, so that a page whose scripts do not run still shows it
        svg = next(frames.svgs(caption=False, style=False))
        uid = self._element_id(svg)
        scope = f"#{uid}"
        picture = zoom_box(inline_svg(svg), max_height=0.6)  # room for the explanation when it wraps below
        n = len(frames)
        capped = ""
        if n < frames.total_steps:
            capped = f" (the first {n} of {frames.total_steps} steps: max_frames={n})"
        return (
            f'<div class="bp-player bp-fullable" id="{uid}" tabindex="0">'
            f"<style>{ZOOM_CSS}{frame_css(scope + ' ')}{PLAYER_CSS.format(scope=scope)}</style>"
            '<div class="bp-controls">'
            '<button type="button" data-step="-1" title="previous step (left arrow)">&#9664; previous</button>'
            f'<input type="range" min="1" max="{n}" value="1" aria-label="step">'
            '<button type="button" data-step="1" title="next step (right arrow)">next &#9654;</button>'
            f'<span class="bp-count">step 1 of {n}</span>'
            f'<span class="bp-keys">arrow keys: previous / next{html.escape(capped)}</span>'
            "</div>"
            '<div class="bp-body">'
            f"{picture}"
            '<div class="bp-explain" aria-live="polite">'
            f'<div class="bp-explain-step">{frames.frames[0].text.html}</div>'
            f'<p class="bp-key"><b style="color:{CURRENT}">Violet</b>: the node backward is processing and the '
            "edges it sends gradient along. <i>Italic (so far)</i>: part of a gradient has arrived. "
            "Faded, <code>grad ?</code>: nothing has reached it yet.</p></div>"
            "</div>"
            f'<script type="application/json" class="bp-data">{self._data()}</script>'
            f"<script>{ZOOM_SCRIPT}{PLAYER_SCRIPT % {'uid': json.dumps(uid)}}</script>"
            "</div>"
        )

    def page(self, title: str = "Backprop, step by step") -> str:
        """The player as a whole HTML document, focused so that the arrow keys work at once."""
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>"
            "<style>body { margin: 1rem; } h1 { font: 600 1.3rem system-ui, sans-serif; }</style></head><body>"
            f"<h1>{html.escape(title)}</h1>\n{self.html()}\n"
            '<script>const p = document.querySelector(".bp-player"); if (p) p.focus({preventScroll: true});</script>'
            "</body></html>\n"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``page()`` to ``path`` (UTF-8); return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.page(), encoding="utf-8")
        return path

    def _data(self) -> str:
        frames = [
            {"c": [list(c) for c in f.changes], "cur": f.current, "e": list(f.edges), "html": f.text.html}
            for f in self.frames.frames
        ]
        text = json.dumps({"nodes": len(self.frames.order), "frames": frames}, ensure_ascii=False)
        return text.replace("</", "<\\/")  # a "</script>" in a label must not end the script element

    def _element_id(self, svg: str) -> str:
        # unique on a page that shows several players (a notebook), stable in content
        digest = hashlib.sha1(svg.encode("utf-8")).hexdigest()[:8]
        return f"bp-player-{digest}-{next(_instances)}"


def inline_svg(svg: str) -> str:
    """dot's SVG for inlining in HTML: no XML namespace declarations, class ``bp-pic``."""
    svg = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", svg, count=2)
    return svg.replace("<svg ", '<svg class="bp-pic" ', 1)


def step_through(
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
) -> StepThrough:
    """A player of ``backward`` from ``root``, one step per node (see the module's docstring).

    ``gradient``: the starting gradient (as for ``Tensor.backward``); ``parameters``: tells inputs and parameters
    apart (as for ``draw_graph``); ``max_frames``: only the first steps; the rest as ``draw_graph``.
    Every ``.grad`` in the graph is left as it was.
    """
    return StepThrough(
        BackwardFrames(
            root,
            gradient=gradient,
            parameters=parameters,
            max_frames=max_frames,
            rankdir=rankdir,
            edge_derivatives=edge_derivatives,
            precision=precision,
            max_nodes=max_nodes,
            legend=legend,
        )
    )
