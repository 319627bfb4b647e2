"""Backward, one step at a time: the states of the real graph walk, and pictures of them.

>>> from autograd.frames import backprop_steps, backprop_frames   # also exported by autograd.viz
>>> steps = backprop_steps(L)            # one BackpropStep per node: the gradients after that step
>>> backprop_frames(L, "frames")         # frame_000.svg, frame_001.svg, ...: one picture per step

The steps are not a second implementation of the chain rule: ``backprop_steps`` runs
``autograd.graph.backpropagate`` itself, from zero gradients, and watches it through its
``on_step`` hook; then it puts every ``.grad`` back as it was. So a frame shows exactly what
``backward()`` computes, including ops with a specialised ``backprop`` (``WEIGHTED_SUM``).
The pictures are drawn by ``autograd.viz``.
"""

from __future__ import annotations

import base64
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .graph import backpropagate
from .tensor import Tensor
from .viz import INSTALL_DOT, GraphvizNotFound, _draw, _Frame, _graphviz, _Options, _run_dot, graph_nodes

__all__ = ["BackpropStep", "backprop_frames", "backprop_steps"]


@dataclass
class BackpropStep:
    """The state after backward has processed one node (recorded from the real walk).

    - ``index``: 1 for the root, as the ``#k`` of the picture;
    - ``node``: the node processed at this step; its gradient is complete from here on;
    - ``grads``: every gradient so far, keyed by ``id(node)`` (use ``grad(node)``): the node's
      ``.grad`` at this point of the walk, for each node the walk has reached (the root, and
      the inputs of nodes processed so far) that has a gradient (a constant ``Tensor`` has none);
    - ``final``: ids of the nodes whose gradient is complete (processed at this step or before);
    - ``sent``: ``(argument position, input, local derivative, contribution)`` for each input this
      step added a gradient to, for the labels of a picture: ``contribution = local * grad`` for
      a scalar; for a tensor ``local`` is ``None`` and ``contribution`` is the vector-Jacobian
      product, summed to the input's shape.
    """

    index: int
    node: object
    grads: dict
    final: frozenset
    sent: tuple = field(default=())

    def grad(self, node):
        """``node``'s gradient so far, or ``None`` if nothing has reached it yet."""
        return self.grads.get(id(node))


def backprop_steps(root, gradient=None, *, max_nodes=None) -> list[BackpropStep]:
    """Run ``backward`` from ``root`` from zero gradients and record one ``BackpropStep`` per node.

    The walk is ``autograd.graph.backpropagate``, the one ``backward()`` runs, so the last step's
    gradients are what one ``backward()`` call from zero gradients leaves in ``.grad``. While it
    runs, every node's ``.grad`` (leaves included) starts from ``GRAD_ZERO``; afterwards (also
    after an error) every ``.grad`` is put back as it was, so the graph is left as found.

    ``gradient`` is the seed ``d L / d root``: 1 by default (a Tensor root must then have one
    element, or hold a ``.grad`` from an earlier ``backward(gradient)``, which is reused).
    """
    order = graph_nodes(root, max_nodes)
    is_tensor = isinstance(root, Tensor)
    seed = _tensor_seed(root, gradient) if is_tensor else 1.0 if gradient is None else float(gradient)

    # A Value's grad is 0.0 both before anything reached it and after a zero reached it, so the
    # nodes reached so far are tracked explicitly: they are the keys of ``current``, the root and
    # the inputs of every node processed so far (a constant Tensor, which gets no gradient, left out).
    current = {}  # id -> that node's .grad as the walk left it at the latest step (arrays copied)
    final = set()
    steps = []

    def record(node):
        # backprop(node) adds into the grads of node's inputs and nothing else, so those (and,
        # at the first step, the root's seed) are the gradients this step can have changed.
        parents = node.parents
        for changed in (node, *parents):
            g = changed.grad
            if g is not None:
                current[id(changed)] = np.array(g) if is_tensor else g
        final.add(id(node))
        sent = _sent(node, parents, current.get(id(node)), is_tensor) if parents else ()
        steps.append(BackpropStep(len(steps) + 1, node, dict(current), frozenset(final), sent))

    saved = [node.grad for node in order]
    try:
        for node in order:
            node.grad = node.GRAD_ZERO
        backpropagate(root, seed, on_step=record)
    finally:
        for node, grad in zip(order, saved):
            node.grad = grad
    return steps


def _sent(node, parents, g, is_tensor) -> tuple:
    """What ``node`` sends along each edge, for the picture's labels (the gradients come from the walk)."""
    if g is None:
        return ()
    op = node.op
    if not is_tensor:
        return tuple(
            (k, parent, local, local * g) for k, (parent, local) in enumerate(zip(parents, op.local_derivatives(node)))
        )
    return tuple(
        (k, parent, None, gi.astype(parent.data.dtype, copy=False))
        for k, (parent, gi) in enumerate(zip(parents, op.input_grads(node)))
        if gi is not None
    )


def _tensor_seed(root, gradient):
    if gradient is not None:
        seed = np.array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=root.data.dtype)
        if seed.shape != root.data.shape:
            raise ValueError(f"backprop_steps: gradient has shape {seed.shape} but the root has shape {root.shape}")
        return seed
    if root.data.size == 1:
        return np.ones_like(root.data)
    if root.grad is not None:
        return np.array(root.grad)
    raise ValueError(
        f"backprop_steps: the root has shape {root.shape}; pass gradient= an array of that shape "
        f"(as for Tensor.backward), or call root.backward(gradient) first"
    )


def backprop_frames(root, out_dir, *, format="svg", single_document=False, gradient=None, **draw_kwargs) -> list[Path]:
    """Pictures of ``backward`` running: one frame per node, in the order backward visits them.

    Frame ``k`` (``frame_000`` is the root) highlights the node being processed and the edges along
    which it sends gradient (``sends`` = local derivative times its grad); nodes already processed
    show their final grad, nodes that have received part of theirs show it in grey with
    "(so far)", and nodes not reached yet show "grad ?". The gradients are recorded from the real
    backward walk by ``backprop_steps``, and every ``.grad`` is put back afterwards.
    There are ``len(topological_order(root))`` frames (leaves included: visiting a leaf is when
    its gradient is known to be complete).

    Writes ``out_dir/frame_000.<format>``, ... and returns their paths. With
    ``single_document=True`` it writes one self-contained ``out_dir/backprop.html`` instead (the
    SVG frames embedded, with buttons and the arrow keys to step through; dot cannot write
    multi-page files, and HTML needs nothing else installed) and returns ``[that path]``.
    Without Graphviz's ``dot``, each frame's DOT source is written (``frame_000.dot``, ...) with
    one ``GraphvizNotFound`` warning, and those paths are returned.
    """
    opts = _Options(**draw_kwargs)
    if single_document and format not in ("svg", "html"):
        raise ValueError(
            f"backprop_frames: single_document=True writes one HTML page of SVG frames; format={format!r} "
            f"is not supported with it (use format='svg', or single_document=False for one file per frame)"
        )
    _graphviz()
    graph_nodes(root, opts.max_nodes)
    steps = backprop_steps(root, gradient)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(len(steps) - 1)))
    fmt = "svg" if single_document else format
    paths = []
    missing = False
    for k, step in enumerate(steps):
        g = _draw(root, opts, _Frame(step, len(steps)))
        target = out / f"frame_{k:0{width}d}.{fmt}"
        if shutil.which("dot") is None:
            missing = True
            target = target.with_suffix(".dot")
            target.write_text(g.source, encoding="utf-8")
        else:
            _run_dot(g.source, target, fmt)
        paths.append(target)
    if missing:
        warnings.warn(
            GraphvizNotFound(
                f"Graphviz's dot program is not on PATH, so the {len(paths)} frames in {out} were written as DOT "
                f"source (frame_*.dot) instead of pictures; {INSTALL_DOT}; then: dot -T{fmt} -O {out}/frame_*.dot"
            ),
            stacklevel=2,
        )
        return paths
    if not single_document:
        return paths
    page = write_frames_page(paths, out / "backprop.html")
    for p in paths:
        p.unlink()
    return [page]


def write_frames_page(frame_paths, path) -> Path:
    """One self-contained HTML page that steps through SVG frames (as written by ``backprop_frames``)."""
    path = Path(path)
    path.write_text(_html_page([Path(p).read_bytes() for p in frame_paths]), encoding="utf-8")
    return path


def _html_page(svgs: list) -> str:
    data = [base64.b64encode(svg).decode("ascii") for svg in svgs]
    images = "\n".join(
        f'<img class="frame" alt="step {k + 1}" src="data:image/svg+xml;base64,{d}">' for k, d in enumerate(data)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Backprop, step by step</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em; }}
.frame {{ display: none; max-width: 100%; }}
.frame.shown {{ display: block; }}
button {{ font-size: 1em; }}
</style>
</head>
<body>
<p><button id="prev">&larr; previous</button> <span id="count"></span>
<button id="next">next &rarr;</button> (or the arrow keys)</p>
{images}
<script>
const frames = document.querySelectorAll(".frame");
let shown = 0;
function show(k) {{
  shown = Math.max(0, Math.min(frames.length - 1, k));
  frames.forEach((f, i) => f.classList.toggle("shown", i === shown));
  document.getElementById("count").textContent = `step ${{shown + 1}} of ${{frames.length}}`;
}}
document.getElementById("prev").onclick = () => show(shown - 1);
document.getElementById("next").onclick = () => show(shown + 1);
document.addEventListener("keydown", (e) => {{
  if (e.key === "ArrowLeft") show(shown - 1);
  if (e.key === "ArrowRight") show(shown + 1);
}});
show(0);
</script>
</body>
</html>
"""
