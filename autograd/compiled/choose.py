"""Which kind of plan replays a recording: ``"numpy"`` (kernel calls on preallocated arrays),
``"scalar"`` (a Value graph, vectorised level by level: ``scalar.py``) or another one suited to the
recording's size and kind, registered in ``PLANS``.

A plan class takes ``(events, inputs, numbers, start_grads)`` and offers ``run(numbers)``,
``ready()``, ``first_update``, ``leaf_states``, ``parameters``, ``grad_buffers`` and ``items`` (see
``replay.Plan``); ``suits(events)`` says whether it can replay a recording and is the better choice.
"""

from __future__ import annotations

from .dynamic import CompileError
from .replay import Plan
from .scalar import ScalarPlan

PLANS = {"numpy": Plan, "scalar": ScalarPlan}
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
