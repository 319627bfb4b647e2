"""The float plan: a recorded step of small Tensors as one function of straight-line Python on floats.

At the article's size a numpy call costs about a microsecond whatever it computes, and a step makes
sixty of them; the arithmetic is a few hundred multiplications and additions. This plan reads the
inputs, parameters and optimizer state into local floats once (``struct.unpack``), computes the
forward pass, the backward pass and the update element by element, and writes parameters,
gradients, optimizer state and every node's data back once (``struct.pack_into``):

    a0, a1 = S2.unpack(x)              # reads
    v7 = a0 * a8 + a1 * a12 + a16      # forward: each element of x @ w1 + b1
    ...
    S8.pack_into(w1, 0, ...)           # writes

The code is built by running the engine's own forward and VJP declarations on arrays of symbols
(``symbolic.py``, ``float_rules.py``), so it applies the same chain rule in the same order: elementwise
arithmetic and sums give the engine's bits, ``math``'s exp/log/tanh and index-ordered matrix
products within an ulp of numpy's. ``plan.source`` is the generated code.

Where ``math`` refuses what numpy answers with inf or NaN (``log 0``, ``exp 1000``, ``1/0``), the
function stops before writing anything and that call runs on the numpy plan instead.

Chosen automatically (``mode="auto"``) when every op and the optimizer have float rules and the
step is small (``OPERATIONS_PER_OP``, ``AUTO_LIMIT``). ``mode="floats"`` forces it (an op without
a float rule is then an error naming it).
"""

from __future__ import annotations

import struct

from .. import quiet
from .dynamic import CompileError
from .float_build import FloatBuild, FloatFallback, define
from .replay import Plan
from .symbolic import NoFloatRule

__all__ = ["AUTO_LIMIT", "OPERATIONS_PER_OP", "FloatFallback", "FloatPlan", "estimated_operations"]

OPERATIONS_PER_OP = 500
AUTO_LIMIT = 20_000
"""``"auto"`` picks this plan while ``estimated_operations`` is at most ``OPERATIONS_PER_OP`` per
recorded op and at most ``AUTO_LIMIT``. Its time grows with the arithmetic (about 8 ns per estimated
operation), the numpy plan's with the number of ops (about 10 us each at these sizes): measured
(one BLAS thread), 0.23x of the numpy plan's time at 120 operations per op (the article's step,
605 operations), 0.60x at 580, 2.6x at 3,400; the limit keeps the build under 0.2 s."""

FORCED_LIMIT = 2_000_000
"""Estimated operations beyond which even ``mode="floats"`` refuses (the code would not fit in memory)."""

FALLBACK = (ArithmeticError, ValueError, struct.error, BufferError, FloatFallback)
"""What stops a float step (before it writes anything) so that the numpy plan runs it instead."""


class FloatPlan:
    """A recorded step as one generated Python function on floats (see the module's docstring)."""

    _last_build = None  # (events, build): what suits built, for the constructor that follows it

    def __init__(self, events, inputs, numbers, start_grads=None):
        build = None
        if FloatPlan._last_build is not None and FloatPlan._last_build[0] is events:
            build = FloatPlan._last_build[1]
        FloatPlan._last_build = None
        if build is None:
            try:
                build = FloatBuild(events)
            except NoFloatRule as e:
                raise CompileError(f"compile: the 'floats' plan cannot replay this function: {e}") from None
        self._events, self._inputs, self._numbers, self._start_grads = events, inputs, numbers, start_grads
        start_grads = start_grads or {}
        # a leaf whose grad the function itself set to None (it had one when the call began): no
        # expectation about it before a call
        self.leaf_states = [(n, e) for n, e in build.leaf_states if not (e and start_grads.get(id(n)) is not None)]
        self.parameters = build.parameters
        self.grad_buffers = build.grad_buffers
        self.items = build.items
        self.source, namespace = build.function(build.final)
        self._function = define(self.source, namespace)
        self._before = None
        self._build = build if build.snapshot is not None else None
        self._numpy = None
        self.fallbacks = 0  # calls the numpy plan ran because the float code stopped
        self.steps = [self._until_update]
        self.first_update = 1

    def __repr__(self):
        return f"<FloatPlan: {self.source.count(chr(10)) + 1} lines>"

    @classmethod
    def suits(cls, events, forced=False) -> bool:
        """True when every op and optimizer of the recording has a float rule and, unless ``forced``,
        the step is small (``estimated_operations(events) <= AUTO_LIMIT``). Forced, a recording
        without a float form raises ``CompileError`` naming what has none."""
        operations = estimated_operations(events)
        if not forced:
            ops = sum(1 for event in events if event[0] == "apply")
            if operations > min(AUTO_LIMIT, OPERATIONS_PER_OP * ops):
                return False
        elif operations > FORCED_LIMIT:
            raise CompileError(
                f"compile: the 'floats' plan cannot replay this function: about {operations:,} float operations "
                f"per call, more than {FORCED_LIMIT:,} (use mode='auto' or 'numpy')"
            )
        try:
            build = FloatBuild(events)
        except NoFloatRule as e:
            if forced:
                raise CompileError(f"compile: the 'floats' plan cannot replay this function: {e}") from None
            return False
        cls._last_build = (events, build)
        return True

    def ready(self) -> bool:
        """False when state the plan relies on changed outside it (then the caller re-traces)."""
        for tensor, data in self.parameters:
            if tensor.data is not data:
                return False
        return all((leaf.grad is None) == expect_none for leaf, expect_none in self.leaf_states)

    def run(self, numbers) -> None:
        try:
            self._function(numbers)
        except FALLBACK:
            self.fallbacks += 1
            token = quiet.silence()  # inf and NaN are the answers here, as in eager
            try:
                self.numpy_plan().run(numbers)
            finally:
                quiet.restore(token)

    def numpy_plan(self) -> Plan:
        """The numpy plan of the same recording, made when first needed."""
        if self._numpy is None:
            self._numpy = Plan(self._events, self._inputs, self._numbers, self._start_grads)
        return self._numpy

    def _until_update(self, numbers) -> None:
        """The step up to its first parameter update (forward and backward): what ``compile``'s
        check of new inputs runs."""
        if self._build is None:
            self.run(numbers)
            return
        if self._before is None:
            source, namespace = self._build.function(self._build.snapshot)
            self._before = define(source, namespace)
        try:
            self._before(numbers)
        except FALLBACK:
            plan = self.numpy_plan()
            token = quiet.silence()
            try:
                for step in plan.steps[: plan.first_update]:
                    step(numbers)
            finally:
                quiet.restore(token)


def estimated_operations(events) -> int:
    """About how many float operations the plan's function performs: forward, backward (twice the
    forward) and update of every parameter (ten per element)."""
    total = 0
    for event in events:
        if event[0] == "apply":
            _, node, op, ins, _ = event
            name = getattr(op, "name", "")
            if name in ("matmul", "linear") and len(ins) >= 2 and ins[0].data.ndim and ins[1].data.ndim:
                a, b = ins[0].data, ins[1].data
                total += 3 * 2 * a.size * (b.shape[-1] if b.ndim > 1 else 1)
            else:
                total += 3 * (node.data.size + sum(t.data.size for t in ins))
        elif event[0] == "step":
            total += 10 * sum(getattr(p.data, "size", 1) for p in event[1].parameters)
    return total
