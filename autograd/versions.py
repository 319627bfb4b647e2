"""Version counters: a tensor changed in place after an op saved it for backward is an error.

Every in-place change of a tensor's data (``t -= x`` under ``no_grad``, ``t[i] = v``, an optimizer
step) advances the process-wide ``EPOCH`` and stamps it on the tensor's version cell, a small list
``[epoch, what]`` shared by every tensor that views the same memory (``reshape``, ``transpose``,
basic indexing, ``detach``). A node remembers the epoch at which it was made; when backward reaches
it, a parent (or the node itself, whose output some derivatives reuse) stamped later has changed
since the op read it, and backward raises instead of returning a stale gradient. Checking costs one
comparison per node while nothing was changed in place.
"""

from __future__ import annotations

EPOCH = 0
"""Advanced by every in-place change; read it as ``versions.EPOCH``."""


def new_cell() -> list:
    """A version cell for a tensor that has none yet: never changed."""
    return [0, ""]


def stamp(cell: list, what: str) -> None:
    """Record an in-place change (``what``, e.g. ``"-="``) in ``cell``."""
    global EPOCH
    EPOCH += 1
    cell[0] = EPOCH
    cell[1] = what


def changed_since(cell, epoch: int) -> bool:
    """True when ``cell`` was stamped after ``epoch``."""
    return cell is not None and cell[0] > epoch


def check_unchanged(node) -> None:
    """Raise if ``node``'s data or a parent's changed in place after ``node`` was made."""
    epoch = node._epoch
    op = node.op
    for t in (node, *node.parents):
        cell = t._version
        if cell is not None and cell[0] > epoch:
            what = "its output" if t is node else _describe(t)
            raise RuntimeError(
                f"backward: {what} was changed in place ({cell[1]}) after {op.name} used it in the forward pass, "
                f"so the gradient would be computed from the new data. Call backward before changing it (for "
                f"training: zero_grad, forward, backward, then the optimizer's step), or run the forward pass again"
            )


def _describe(t) -> str:
    name = f" {t.label!r}" if t.label else ""
    if t.op is None:
        kind = "a parameter" if t.requires_grad else "an input"
        return f"{kind}{name} of shape {t.shape}"
    return f"the output{name} of {t.op.name} (shape {t.shape})"
