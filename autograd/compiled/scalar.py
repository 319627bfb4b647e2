"""The compiled replay of a training step on scalar ``Value`` graphs: numpy, one level at a time.

>>> step = autograd.compile(train_step)   # mode "auto" picks this plan when the step makes Values
>>> for k in range(100):
...     loss = step(1.0 - 0.9 * k / 100)      # first call eager and recorded, then replayed

What is replayed: the call's forward pass (every Value op; sums folded and nodes grouped by level
as ``scalar_graph`` explains), one backward pass, and what ``nn``'s optimizers do after it
(``opt.step()``, ``opt.zero_grad()``, ``model.zero_grad()``, ``p.grad = 0``). Each group of nodes
is a few numpy calls on gathered inputs; the backward pass adds each node's gradient contributions
in eager's order, so sums, products and relu give eager's numbers to the bit (numpy's exp, log,
tanh and powers may differ from Python's ``math`` in the last bit). Plain SGD is one vectorised
update of the parameter vector; any other optimizer runs its own ``step`` on the Values.

Supported forms of a training step:

- the update inside, through an optimizer made outside: ``opt.zero_grad(); loss = ...;
  loss.backward(); opt.step()``, the learning rate fixed or a number argument set inside
  (``opt.lr = lr``; an optimizer made inside would take it as a constant, as ``float(lr)`` is);
- forward and backward inside, the update outside: ``loss = step(); for p in params:
  p.data -= lr * p.grad``. Every replay reads the parameters' ``data`` (and ``grad``, unless the
  call resets it) when it starts.

Not supported, and refused with ``CompileError`` rather than replayed wrongly: a hand-written
update inside the compiled function (``p.data -= lr * p.grad``: recording reports every write to
an existing Value's ``data``), a ``grad`` set to anything but zero, more than one backward pass,
Value ops after the optimizer's step, ops declared the micrograd way (a ``_backward`` closure) and
Values computed outside the call used inside it.

Results: the parameters' (and every other leaf's) ``data`` and ``grad`` and the returned Values'
``data`` and ``grad`` are written after every replay; a returned ``loss.data`` or ``p.grad`` is read
from the replay. A returned number that is neither (an accuracy computed from ``.data``) cannot be
recomputed and is refused. Values made inside the call other than the returned ones keep
their recorded contents.

Inputs. As with any trace, what the call reads as plain numbers is a constant of the plan: Values
made inside it from data (``Value(x)`` for each row of a data set) or from numbers drawn at random
there. Number arguments are inputs (``Num``), also where a Value op uses them (``x * lam``,
``Value(target)``). To feed new data at every call, make the input Values once, outside, and set
their ``data`` before each call: every replay reads the ``data`` of the Values it did not make.
An array argument cannot reach a Value graph except as numbers read from it, so it is refused.

Cost (``benchmarks/bench_compiled_scalar.py``). The first call runs eagerly while recording and then
builds the plan, a fraction of a second for micrograd's demo step; each replay of it takes about a
third of a millisecond. A replay leaves no new object for the cycle collector to track, so
``collector_paused()`` around it buys nothing; building pauses the collector itself.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import graph, quiet
from ..value import Value
from .dynamic import CompileError
from .scalar_build import Builder
from .scalar_events import read_recording

_data = operator.attrgetter("data")
_grad = operator.attrgetter("grad")


class ScalarPlan:
    """A recorded Value step replayed with numpy (see the module's docstring).

    ``V`` holds every value of the replay: leaves (the tracked ones first), constants, then each
    group's outputs in one contiguous range. ``E`` holds gradients: one per entry of ``V``, then the
    contributions waiting to be added, the backward seeds, and a zero for padding. ``Builder`` sets
    them and the steps: ``forward``, ``backward``, ``actions`` (after the backward pass); ``read``
    (leaves whose ``data`` every replay reads first), ``tracked`` (leaves whose ``data`` and
    ``grad`` it writes at the end), ``accumulating`` (those whose gradient starts from ``grad``
    rather than zero), ``refresh`` (slots recomputed from number arguments) and ``returned``.
    """

    V: np.ndarray
    E: np.ndarray
    read: list[Value]
    refresh: list[tuple[int, Any]]
    tracked: list[Value]
    accumulating: list[Value]
    accumulating_slots: np.ndarray
    forward: list[Callable[[], None]]
    backward: list[Callable[[], None]]
    actions: list[Callable[[Any], None]]
    returned: list[tuple[Value, int, bool]]

    @classmethod
    def suits(cls, events: list[tuple], forced: bool = False) -> bool:
        """Whether the recording made Values or ran a backward pass or an update on them."""
        for event in events:
            kind = event[0]
            if kind == "value" or (kind == "backward" and any(isinstance(r, Value) for r in event[1])):
                return True
            if kind == "step" and any(isinstance(p, Value) for p in event[1].parameters):
                return True
        return False

    def __init__(self, events, inputs, numbers, start_grads=None):
        # what compile's check on new inputs and its re-recording read (see replay.Plan): Values
        # keep their gradients as floats, so there are no buffers to save
        self.leaf_states = []
        self.parameters = []
        self.grad_buffers = {}
        self.items = {}
        if inputs:
            raise CompileError(
                "compile: a step on Values takes no array arguments (their numbers would be constants of the "
                "replay); make the input Values once outside the compiled function and set their .data before "
                "each call"
            )
        paused = gc.isenabled()
        gc.disable()  # the build makes an object or two per node and no cycles: a quarter of its time
        try:
            Builder(self, read_recording(events)).build()
        finally:
            if paused:
                gc.enable()
        self.first_update = 1

    @property
    def steps(self) -> list:
        """The replay in two parts (forward and backward passes; the update and the writing back), as
        ``compile``'s check runs them. Made on request: stored bound methods would be a cycle."""
        return [self._forward_backward, self._finish]

    # ------------------------------------------------------------------ running

    def ready(self) -> bool:
        """False when a replay would skip something eager does (``compile`` then runs and records the
        call again): grad mode off, anomaly mode's checks on, a hook added to a parameter."""
        if not graph.is_grad_enabled() or graph.STEP_CHECK is not None:
            return False
        return not graph.HOOKS or not any(v.hooks for v in self.tracked)

    def run(self, numbers) -> None:
        self._forward_backward(numbers)
        self._finish(numbers)

    def _forward_backward(self, numbers) -> None:
        V, E = self.V, self.E
        token = quiet.silence()
        try:
            if self.read:
                V[: len(self.read)] = list(map(_data, self.read))
            for slot, num in self.refresh:
                V[slot] = num.evaluate(numbers)
            for step in self.forward:
                step()
            E[: len(self.tracked)] = 0.0
            if self.accumulating:
                E[self.accumulating_slots] = list(map(_grad, self.accumulating))
            for step in self.backward:
                step()
        finally:
            quiet.restore(token)

    def _finish(self, numbers) -> None:
        token = quiet.silence()
        try:
            for action in self.actions:
                action(numbers)
        finally:
            quiet.restore(token)
        self.write_back()
        V, E = self.V, self.E
        for v, slot, with_grad in self.returned:
            v.data = V[slot].item()
            if with_grad:
                v.grad = E[slot].item()

    def write_back(self) -> None:
        """Every tracked leaf's ``data`` and ``grad`` from the replay's vectors."""
        n = len(self.tracked)
        for v, d, g in zip(self.tracked, self.V[:n].tolist(), self.E[:n].tolist()):
            v.data = d
            v.grad = g
