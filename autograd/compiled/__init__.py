"""``autograd.compile(fn)``: record one training step, then replay it as a flat plan.

>>> step = autograd.compile(train_step)   # train_step(x, y) does forward, backward and the update
>>> for x, y in batches:
...     loss = step(x, y)                    # first call: eager, recorded; later calls: replayed

What is recorded: every Tensor primitive of the call, each backward pass, and the parameter update,
through ``nn``'s optimizers (their ``step`` and ``zero_grad``) or in-place Tensor updates under
``no_grad`` (``p -= lr * p.grad``). Arguments are inputs: arrays and constant Tensors reach ``fn``
as constant Tensors whose data each call refreshes; numbers (a learning rate) reach it as ``Num``,
a float that keeps track of how anything made from it by ``+ - * / **`` is computed; a Tensor that
requires grad (a parameter) is passed as it is. A new shape or dtype of an argument records again.

Like ``torch.jit.trace``, only what ran is recorded: Python control flow that depends on data,
values computed outside Tensor ops from an argument (``float(x.sum())``, index arrays built from
data) and random numbers drawn inside ``fn`` are constants of the plan. As a safety net the first
call whose inputs differ from the recorded ones is checked: the plan's loss and gradients are
compared with running ``fn`` itself, and a difference raises ``CompileError`` naming what differed.

Returned Tensors are the recorded ones with their data refreshed in place at every call: copy one
to keep its value. Floats from ``t.item()`` are read again from their tensor.

A step on scalar ``Value``s (micrograd's training loop) is replayed by the scalar plan, numpy one
level of the graph at a time: ``autograd.compiled.scalar`` says which forms of update it replays
and what it refuses.
"""

from __future__ import annotations

import numbers as _numbers
from collections.abc import Callable
from typing import Any, overload

import numpy as np

from .. import quiet
from ..tensor import Tensor, constant
from .choose import choose_plan
from .dynamic import CompileError, GradArray, Num
from .record import Recorder
from .replay import Plan

__all__ = ["CompileError", "Compiled", "Num", "compile"]


@overload
def compile(
    fn: None = None, *, validate: bool = True, mode: str = "auto"
) -> Callable[[Callable[..., Any]], Compiled]: ...
@overload
def compile(fn: Callable[..., Any], *, validate: bool = True, mode: str = "auto") -> Compiled: ...


def compile(
    fn: Callable[..., Any] | None = None, *, validate: bool = True, mode: str = "auto"
) -> Compiled | Callable[[Callable[..., Any]], Compiled]:
    """A function that runs ``fn`` eagerly once, recording it, and replays the recording afterwards.

    Usable as a decorator (``@compile``). ``validate=False`` skips the one-time comparison of the
    replay with an eager run on new inputs. ``mode`` picks the kind of plan (``"auto"`` chooses by
    the recording's size and kind; see ``autograd.compiled.choose.PLANS``).
    """
    if fn is None:
        return lambda f: Compiled(f, validate, mode)
    if not callable(fn):
        raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
    return Compiled(fn, validate, mode)


class Compiled:
    """A compiled step: ``compiled(*args)``; ``traces`` counts the recordings made so far."""

    def __init__(self, fn: Callable[..., Any], validate: bool, mode: str = "auto") -> None:
        self.fn = fn
        self.validate = validate
        self.mode = mode
        self.traces = 0
        self._plan: Any = None  # what choose_plan made at the last recording
        self._signature: tuple | None = None
        self._inputs: list[tuple[int, np.ndarray]] = []  # (argument position, buffer)
        self._recorded_inputs: list[Any] = []
        self._result: Any = None
        self._checked = not validate

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", "fn")
        kind = type(self._plan).__name__ if self._plan is not None else "no plan yet"
        return f"<compiled {name}: {self.traces} recording(s), {kind}>"

    def __call__(self, *args: Any) -> Any:
        signature = _signature(args)
        if self._plan is None or signature != self._signature or not self._plan.ready():
            return self._record(args, signature)
        numbers = [float(a) for a in args if _is_number(a)]
        for position, buffer in self._inputs:
            np.copyto(buffer, _data(args[position]), casting="same_kind")
        if not self._checked and self._inputs_changed():
            return self._check(args, signature, numbers)
        token = quiet.silence()
        try:
            self._plan.run(numbers)
        finally:
            quiet.restore(token)
        return self._replayed(self._result, numbers)

    # ------------------------------------------------------------------ recording

    def _record(self, args, signature):
        call_args, inputs, numbers = [], [], []
        for position, a in enumerate(args):
            if _is_number(a):
                num = Num.argument(float(a), len(numbers))
                numbers.append(float(a))
                call_args.append(num)
            elif isinstance(a, np.ndarray) or (isinstance(a, Tensor) and not a.requires_grad):
                buffer = np.array(_data(a), dtype=_float_type(_data(a)), copy=True)
                inputs.append((position, buffer))
                call_args.append(constant(buffer))
            else:
                call_args.append(a)
        start_grads = {}
        if self._plan is not None:
            start_grads = {id(n): n.grad for n, _ in self._plan.leaf_states}
            start_grads.update({id(n): n.grad for n, _ in self._plan.parameters})
        with Recorder() as recorder:
            result = self.fn(*call_args)
        recorder.events.append(("returned", result))
        self._plan = choose_plan(recorder.events, inputs, numbers, start_grads, self.mode)
        if any(id(t) in getattr(self._plan, "overwritten", ()) for t in _tensors(result)):
            # a returned tensor's buffer was lent to a later op: keep every buffer its own
            self._plan = Plan(recorder.events, inputs, numbers, start_grads, reuse=False)
        self._signature = signature
        self._inputs = inputs
        self._recorded_inputs = [_fingerprint(b) for _, b in inputs]
        self._result = result
        self.traces += 1
        return self._replayed(result, numbers)

    def _inputs_changed(self) -> bool:
        """Whether an input differs from the recorded call's (runs at every call until one does)."""
        return any(_fingerprint(b) != r for (_, b), r in zip(self._inputs, self._recorded_inputs))

    def _check(self, args, signature, numbers):
        """Replay the forward and backward passes on new inputs, then run ``fn`` itself and compare."""
        plan = self._plan
        leaves = [n for n, _ in plan.leaf_states] + [p for p, _ in plan.parameters]
        state = {id(n): (n, n.grad, np.array(n.grad) if isinstance(n.grad, np.ndarray) else None) for n in leaves}
        changed = [(t, np.array(t.data)) for t in getattr(plan, "changed_before_update", ())]  # running statistics
        token = quiet.silence()
        try:
            for step in plan.steps[: plan.first_update]:
                step(numbers)
        finally:
            quiet.restore(token)
        for t, before in changed:
            np.copyto(t.data, before)
        replayed = _flatten(self._replayed(self._result, numbers))
        grads = {key: np.array(n.grad) for key, (n, _, _) in state.items() if isinstance(n.grad, np.ndarray)}
        for n, grad, content in state.values():
            if content is not None:
                np.copyto(grad, content)
            n.grad = grad
        result = self._record(args, signature)
        for name, ours, theirs in _compare(replayed, _flatten(result), grads, state):
            raise CompileError(
                f"compile: replaying the recorded step gave {ours} for {name} where running the function gave "
                f"{theirs}. Something it computes from its arguments is not recorded: Python numbers or index "
                f"arrays computed from array data, control flow that depends on data, random numbers drawn "
                f"inside it. Keep such computations in Tensor ops, or call the function without compile."
            )
        self._checked = True
        return result

    # ------------------------------------------------------------------ results

    def _replayed(self, result, numbers):
        if isinstance(result, tuple):
            return tuple(self._replayed(r, numbers) for r in result)
        if isinstance(result, list):
            return [self._replayed(r, numbers) for r in result]
        if isinstance(result, dict):
            return {k: self._replayed(v, numbers) for k, v in result.items()}
        if isinstance(result, Num):
            return result.evaluate(numbers)
        if isinstance(result, float) and self._plan is not None and id(result) in self._plan.items:
            return self._plan.items[id(result)].data.item()
        return result


def _tensors(result) -> list:
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _tensors(r)]
    if isinstance(result, dict):
        return [t for r in result.values() for t in _tensors(r)]
    return [result] if isinstance(result, Tensor) else []


def _flatten(result) -> list:
    if isinstance(result, (tuple, list)):
        return [x for r in result for x in _flatten(r)]
    if isinstance(result, dict):
        return [x for r in result.values() for x in _flatten(r)]
    if isinstance(result, Tensor):
        return [np.array(result.data)]
    if isinstance(result, (float, int, np.ndarray)):
        return [np.array(result, dtype=float)]
    return []


def _compare(replayed, run, grads, state):
    for k, (a, b) in enumerate(zip(replayed, run)):
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
            yield f"returned value {k}", _short(a), _short(b)
    for key, (n, _, _) in state.items():
        if (
            key in grads
            and isinstance(n.grad, np.ndarray)
            and not np.allclose(grads[key], n.grad, rtol=1e-9, atol=1e-12, equal_nan=True)
        ):
            name = repr(n.label) if n.label else f"a parameter of shape {n.shape}"
            yield f"the gradient of {name}", _short(grads[key]), _short(n.grad)


FINGERPRINT = 4096
"""Elements read to tell whether an input changed: all of a small array, an even sample of a large one
(a new batch changes nearly every element; a full comparison would read a large input at every call)."""


def _fingerprint(buffer: np.ndarray) -> bytes:
    if buffer.size <= FINGERPRINT:
        return buffer.tobytes()
    return buffer.reshape(-1)[:: buffer.size // FINGERPRINT].tobytes()


def _short(a) -> str:
    text = np.array2string(np.asarray(a), precision=6, threshold=6)
    return text if len(text) < 80 else text[:77] + "..."


def _is_number(a) -> bool:
    return isinstance(a, _numbers.Real) and not isinstance(a, (bool, np.ndarray)) and not isinstance(a, GradArray)


def _data(a):
    return a.data if isinstance(a, Tensor) else a


def _float_type(a):
    a = np.asarray(a)
    return a.dtype if a.dtype.kind in "fb" else np.float64


def _signature(args: tuple) -> tuple:
    sig: list[tuple] = []
    for a in args:
        if _is_number(a):
            sig.append(("number",))
        elif isinstance(a, np.ndarray):
            sig.append(("array", a.shape, a.dtype))
        elif isinstance(a, Tensor):
            sig.append(("tensor", a.shape, a.dtype, a.requires_grad, id(a) if a.requires_grad else None))
        else:
            sig.append(("object", id(a)))
    return tuple(sig)
