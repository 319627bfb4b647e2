"""Floating-point warnings off inside the engine: numpy computes ``inf`` and ``nan`` silently.

PyTorch never warns about ``1 / 0`` or ``log(0)``; numpy does, and its ``RuntimeWarning`` from deep
inside a backward pass would break ``python -W error`` for legitimate code. ``silence()`` turns
numpy's floating-point error reporting off for the current context and returns a token;
``restore(token)`` puts it back. Both cost a fraction of ``np.errstate``, which matters at the sizes
where a training step is a few dozen microseconds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

silence: Callable[[], Any]
restore: Callable[[Any], object]

try:  # numpy >= 2: error state is a context variable; setting it directly is ~6x cheaper than errstate
    from numpy._core._ufunc_config import _extobj_contextvar as _state  # type: ignore[attr-defined]  # private: not in numpy's stubs

    with np.errstate(all="ignore"):
        _IGNORE = _state.get()

    silence = functools.partial(_state.set, _IGNORE)  # C calls: no Python frame on the hot path
    restore = _state.reset

except (ImportError, AttributeError):  # pragma: no cover - older numpy

    def _enter_errstate() -> np.errstate:
        token = np.errstate(all="ignore")
        token.__enter__()
        return token

    def _exit_errstate(token: np.errstate) -> None:
        token.__exit__(None, None, None)

    silence, restore = _enter_errstate, _exit_errstate
