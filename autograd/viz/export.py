"""Pictures of backward written to files: one per step, or one page with the player."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..typing import Node
from .draw import require_graphviz
from .frames import BackwardFrames, Progress
from .player import StepThrough
from .render import save_picture, warn_missing_dot


def backprop_frames(
    root: Node,
    out_dir: str | os.PathLike[str],
    *,
    format: str = "svg",
    single_document: bool = False,
    gradient: Any = None,
    max_frames: int | None = None,
    progress: bool | None = None,
    **draw_kwargs: Any,
) -> list[Path]:
    """Pictures of ``backward`` running: one frame per node, in the order backward visits them.

    Writes ``out_dir/frame_000.<format>``, ... and returns their paths. Every frame has the same
    layout (``BackwardFrames``): SVG frames (the default) are that layout restyled per step, with a
    caption saying what the step did; other formats (``"png"``, ``"pdf"``) run ``dot`` once per
    frame with each node held at its layout size. ``single_document=True`` writes one
    self-contained ``out_dir/backprop.html`` instead, the player of ``step_through``, and returns
    ``[that path]``.

    - ``max_frames``: draw only the first ``max_frames`` steps (there is one per node, leaves
      included; ``max_nodes`` refuses bigger graphs outright).
    - ``progress``: ``frame k of n`` on stderr. ``None`` (the default): on a terminal, from 50 frames.
    - ``gradient``, ``parameters`` and drawing options (``rankdir``, ``precision``, ...): as for
      ``step_through``.

    Every ``.grad`` in the graph is left as it was. Without Graphviz's ``dot``, each frame's DOT
    source is written (``frame_000.dot``, ...) with one ``GraphvizNotFound`` warning, and those
    paths are returned.
    """
    if single_document and format not in ("svg", "html"):
        raise ValueError(
            f"backprop_frames: single_document=True writes one HTML page of SVG frames; format={format!r} "
            f"is not supported with it (use format='svg', or single_document=False for one file per frame)"
        )
    require_graphviz()
    frames = BackwardFrames(root, gradient=gradient, max_frames=max_frames, **draw_kwargs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = "svg" if single_document else format
    if fmt == "svg" and frames.layout_svg() is not None:
        if single_document:
            return [StepThrough(frames).save(out / "backprop.html")]
        paths = []
        for k, svg in enumerate(frames.svgs(progress=Progress(len(frames), progress))):
            paths.append(out / frame_name(k, len(frames), fmt))
            paths[-1].write_text(svg, encoding="utf-8")
        return paths

    progress_bar = Progress(len(frames), progress, note=f"; each {fmt} frame is a dot run, SVG frames are much faster")
    paths, missing = [], False
    for k in range(len(frames)):
        written, gone = save_picture(frames.dot_frame(k), out / frame_name(k, len(frames), fmt), fmt)
        missing |= gone
        paths.append(written)
        progress_bar.advance()
    if missing:
        warn_missing_dot(f"the {len(paths)} frames in {out}", f"{out}/frame_*.dot", f"dot -T{fmt} -O {out}/frame_*.dot")
    return paths


def frame_name(k: int, total: int, format: str) -> str:
    """``frame_007.svg``: numbered from 0, at least three digits, all of one width."""
    return f"frame_{k:0{max(3, len(str(total - 1)))}d}.{format}"
