"""Anomaly mode: the first op whose result or gradient is NaN or infinite raises, naming where.

Inside ``detect_anomaly()`` every node remembers the line of user code that made it (the first
frame outside this package and ``nn``), its forward result is checked, and backward checks what
each node sends its inputs. Outside the block nothing of this is paid.
"""

from __future__ import annotations

import contextlib
import linecache
import math
import os
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import numpy as np

from . import graph

_PACKAGE_DIRS = tuple(
    os.path.dirname(os.path.abspath(p)) + os.sep
    for p in (__file__, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "nn", "x"))
)


class AnomalyError(RuntimeError):
    """A NaN or an infinity appeared in anomaly mode (``detect_anomaly``)."""


def _site() -> str:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIRS) and "contextlib" not in filename:
            line = linecache.getline(filename, frame.f_lineno).strip()
            return f"{frame.f_code.co_filename}:{frame.f_lineno}" + (f": {line}" if line else "")
        frame = frame.f_back
    return "(unknown)"


def _bad(x: Any) -> str | None:
    """'NaN' or 'inf' if ``x`` holds one, else None."""
    if hasattr(x, "data") and not isinstance(x, np.ndarray):
        x = x.data
    if isinstance(x, float):
        return None if math.isfinite(x) else ("NaN" if math.isnan(x) else "inf")
    arr = np.asarray(x)
    if arr.dtype.kind not in "fc" or np.all(np.isfinite(arr)):
        return None
    return "NaN" if np.any(np.isnan(arr)) else "inf"


def _describe(node: Any, op: Any) -> str:
    label = f" {node.label!r}" if node.label else ""
    site = node.notes.get("created_at", "(made before anomaly mode was on)")
    return f"{op.name}{label} (made at {site})"


def _on_node(node: Any, op: Any, inputs: tuple, op_args: dict[str, Any] | None) -> None:
    node.notes["created_at"] = _site()
    what = _bad(node.data)
    if what is not None and not any(_bad(x) for x in inputs):
        raise AnomalyError(f"detect_anomaly: the forward result of {_describe(node, op)} holds {what}")


def _check_step(node: Any) -> None:
    op = node.op
    for k, (parent, sent) in enumerate(zip(op.parents(node), op.input_grads(node))):
        if sent is None:
            continue
        what = _bad(sent)
        if what is not None and _bad(node.grad) is None:
            name = f" ({parent.label!r})" if parent.label else ""
            raise AnomalyError(
                f"detect_anomaly: backward through {_describe(node, op)} sent {what} to its input {k}{name}"
            )


_depth = 0


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise ``AnomalyError`` at the first op whose forward result or backward gradient holds NaN or
    inf (when its own inputs did not), naming the op, the node's label and the line that made it."""
    global _depth
    if _depth == 0:
        graph.add_tracer(_on_node)
        graph.set_step_check(_check_step)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            graph.remove_tracer(_on_node)
            graph.set_step_check(None)
