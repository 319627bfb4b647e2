"""collector_paused: the cycle collector off inside, restored after, graphs still freed."""

from __future__ import annotations

import gc
import weakref

from autograd import Value, collector_paused


def test_the_collector_is_paused_inside_and_restored_after():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        x = Value(2.0)
        (x * x + x).backward()
    assert gc.isenabled() and x.grad == 5.0
    gc.disable()
    try:
        with collector_paused(collect_after=True):
            pass
        assert not gc.isenabled()  # put back as it was, not switched on
    finally:
        gc.enable()


def test_graphs_are_freed_by_reference_counting_while_paused():
    class Marker:
        pass

    with collector_paused():
        x = Value(1.0)
        y = x * 3 + 1
        marker = Marker()
        y.label = marker
        ref = weakref.ref(marker)
        del marker, y
        assert ref() is None  # no cycle held the graph: it went as soon as it was dropped
