"""Test helpers: assert that hand-derived gradients match the engine's, failing with the full report.

>>> def test_my_derivation():
...     assert_manual_matches(loss, {"h": dh, "w1": dw1}, names=locals())
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .manual import ManualCheck, check_manual
from .typing import Node


def assert_manual_matches(
    root: Node,
    manual: Mapping[str, Any],
    *,
    names: Mapping[str, object] | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-10,
) -> ManualCheck:
    """``check_manual(root, manual, ...)``; raise ``AssertionError`` with its table and verdict unless it passes.

    Returns the report when it passes (to assert more on it).
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller's line
    report = check_manual(root, manual, names=names, rtol=rtol, atol=atol)
    if not report.passed:
        raise AssertionError("hand-derived gradients differ from the engine's\n" + str(report))
    return report
