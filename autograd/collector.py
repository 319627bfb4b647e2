"""Python's garbage collector around a training step: ``collector_paused()``.

A graph of Values has no reference cycles (a node keeps its parents and nothing keeps a node but its
children and the caller), so reference counting frees every graph as soon as it is dropped; the
cycle collector only finds nothing. It still runs every few hundred allocations, and a full
collection walks every object the process holds, torch's and numpy's included when they are
imported. ``collector_paused()`` turns it off inside the block and collects once on the way out,
so garbage with cycles made inside (by other code) is still freed.

>>> with collector_paused():
...     loss = train_step()
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused(collect_after: bool = False) -> Iterator[None]:
    """Disable the cycle collector inside the block (it is put back as it was). ``collect_after``:
    run one young-generation collection on leaving (cheap), for cycles made inside by other code."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        if collect_after:
            gc.collect(0)
