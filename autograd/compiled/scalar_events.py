"""Reading the recording of a Value step (``record.Recorder``'s events) for the scalar plan:
what the call made, reset, stepped and returned, and what it did that a replay cannot repeat."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tensor import Tensor
from ..value import Value
from .dynamic import CompileError, Num


@dataclass
class Recording:
    """What one recorded call did, as the scalar plan needs it."""

    made: list = field(default_factory=list)  # (value, op, inputs) of every Value op, in order
    fresh: set = field(default_factory=set)  # ids of Values made inside the call
    numbers: dict = field(default_factory=dict)  # id(float kept by a Value) -> the Num it came from
    kept: list = field(default_factory=list)  # those floats, alive so that their ids stay theirs
    reset_before: set = field(default_factory=set)  # ids of leaves reset before the backward pass
    resets: list = field(default_factory=list)  # every Value whose grad the call resets
    actions: list = field(default_factory=list)  # after the backward: ("reset", values) / ("step", opt)
    optimizers: list = field(default_factory=list)
    backward: tuple | None = None  # (roots, seeds, order)
    returned: object = None


def read_recording(events) -> Recording:
    """The events in order, read; ``CompileError`` for anything a replay could not repeat."""
    rec = Recording()
    stepped = False
    for event in events:
        kind = event[0]
        if kind == "value":
            if stepped:
                raise CompileError(
                    "compile: a Value op ran after the optimizer's step; a compiled Value step replays one forward "
                    "pass, its backward pass and the update, in that order (compute what needs the new parameters "
                    "in the next call)"
                )
            rec.made.append(event[1:])
        elif kind == "value_leaf":
            rec.fresh.add(id(event[1]))
        elif kind == "value_constant":
            c, source = event[1:]
            if isinstance(source, Num):
                rec.numbers[id(c)] = source
                rec.kept.append(c)
        elif kind == "value_data":
            raise CompileError(
                f"compile: the function assigned .data of {describe(event[1])}: a compiled function cannot repeat "
                f"a hand-written update. Update through an optimizer (opt = nn.SGD(params, lr) ... loss.backward(); "
                f"opt.step()), or outside the compiled function (it does forward and backward; then "
                f"p.data -= lr * p.grad)"
            )
        elif kind in ("value_grad", "zero_grad"):
            values = [event[1]] if kind == "value_grad" else list(event[1])
            if kind == "value_grad" and not _is_zero(event[2]):
                raise CompileError(
                    f"compile: the function set .grad of {describe(event[1])} to {event[2]!r}; a compiled function "
                    f"may reset gradients to zero (zero_grad(), p.grad = 0) and write no other gradient"
                )
            for v in values:
                if isinstance(v, Tensor):
                    raise _mixed()
                if rec.backward is None:
                    rec.reset_before.add(id(v))
            rec.resets += values
            if rec.backward is not None:
                rec.actions.append(("reset", values))
        elif kind == "backward":
            if rec.backward is not None:
                raise CompileError("compile: a compiled Value step replays one backward pass; this function ran two")
            roots, seeds, order = event[1], event[2], event[3]
            if not all(isinstance(r, Value) for r in roots):
                raise _mixed()
            rec.backward = (list(roots), [float(s) for s in seeds], list(order))
        elif kind == "step":
            optimizer = event[1]
            if rec.backward is None:
                raise CompileError(
                    "compile: opt.step() ran before the backward pass; a compiled Value step replays the forward "
                    "pass, the backward pass, then the update"
                )
            if not all(isinstance(p, Value) for p in optimizer.parameters):
                raise _mixed()
            stepped = True
            rec.optimizers.append(optimizer)
            rec.actions.append(("step", optimizer))
        elif kind == "returned":
            rec.returned = event[1]
        elif kind == "unsupported":
            raise CompileError(f"compile: {event[1]} inside a compiled function is not supported")
        elif kind in ("apply", "inplace", "constant", "item"):
            raise _mixed()
    return rec


def _mixed():
    return CompileError(
        "compile: this function uses both Tensors and Values; a compiled step replays one kind (the scalar plan "
        "Values, the numpy plan Tensors)"
    )


def _is_zero(g) -> bool:
    return isinstance(g, (int, float)) and not isinstance(g, bool) and g == 0


def describe(v) -> str:
    return f"the Value {v.label!r}" if getattr(v, "label", "") else f"a Value ({v!r})"


def unique(values) -> list:
    seen, out = set(), []
    for v in values:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def unique_pairs(pairs) -> list:
    """``(value, tag)`` pairs without repeats (values compared by identity)."""
    seen, out = set(), []
    for v, tag in pairs:
        if (id(v), tag) not in seen:
            seen.add((id(v), tag))
            out.append((v, tag))
    return out
