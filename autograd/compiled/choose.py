"""Which kind of plan replays a recording: ``"numpy"`` (kernel calls on preallocated arrays),
``"floats"`` (straight-line Python on floats, for small steps: ``floats.py``), ``"scalar"`` (a Value
graph, vectorised level by level: ``scalar.py``), each registered in ``PLANS``.

A plan class takes ``(events, inputs, numbers, start_grads)`` and offers ``run(numbers)``,
``ready()``, ``first_update``, ``leaf_states``, ``parameters``, ``grad_buffers`` and ``items`` (see
``replay.Plan``); ``suits(events, forced=False)`` says whether it can replay a recording and is the
better choice (``forced``: asked for by mode, so only whether it can; it may raise ``CompileError``
saying why not).
"""

from __future__ import annotations

from .dynamic import CompileError
from .floats import FloatPlan
from .replay import Plan
from .scalar import ScalarPlan

PLANS = {"numpy": Plan, "scalar": ScalarPlan, "floats": FloatPlan}
"""Plan classes by mode name; ``"auto"`` asks every other one whether it ``suits`` the recording, in
order, and falls back to ``"numpy"``."""


def choose_plan(events, inputs, numbers, start_grads, mode="auto"):
    if mode == "auto":
        for name, cls in PLANS.items():
            if name != "numpy" and cls.suits(events):
                return cls(events, inputs, numbers, start_grads)
        return Plan(events, inputs, numbers, start_grads)
    cls = PLANS.get(mode)
    if cls is None:
        raise ValueError(f"compile: mode must be 'auto' or one of {sorted(PLANS)}, got {mode!r}")
    if cls is not Plan and not cls.suits(events, forced=True):
        raise CompileError(f"compile: the {mode!r} plan cannot replay this function")
    return cls(events, inputs, numbers, start_grads)
