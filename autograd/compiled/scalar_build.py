"""Building the scalar plan from a read recording: which nodes and leaves the replay needs, where
each value and gradient lives in the plan's vectors, and the steps that fill them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import graph
from .. import scalar_ops as sops
from ..value import Value
from .dynamic import CompileError, Num
from .scalar_events import describe, unique, unique_pairs
from .scalar_graph import Const, fold, group
from .scalar_steps import KernelGroup, Slot, SumGroup, gathers, optimizer_step, reset_step

if TYPE_CHECKING:
    from .scalar import ScalarPlan
    from .scalar_events import Recording


class _Constants:
    """One ``Const`` per distinct number (or ``Num``) the graph uses."""

    def __init__(self, numbers):
        self.numbers = numbers
        self.all = []
        self._by_key = {}

    def __call__(self, x) -> Const:
        source = self.numbers.get(id(x))
        key = ("num", id(source)) if source is not None else ("value", float(x).hex())
        c = self._by_key.get(key)
        if c is None:
            c = self._by_key[key] = Const(float(x), source)
            self.all.append(c)
        return c


class Builder:
    """Turns a ``Recording`` into the plan's vectors and steps."""

    def __init__(self, plan: ScalarPlan, rec: Recording) -> None:
        self.plan = plan
        self.rec = rec
        self.kernels: list[SumGroup | KernelGroup] = []

    def build(self) -> None:
        plan, rec = self.plan, self.rec
        order = rec.backward[2] if rec.backward else []
        if graph.HOOKS and any(n.hooks for n in order):
            raise CompileError(
                "compile: a Value in the backward pass has a hook (register_hook), which the replay would not "
                "call; remove it, or call the function without compile"
            )
        self.in_order = {id(n) for n in order}
        self.times = {id(n): len(order) - 1 - i for i, n in enumerate(order)}
        made_ids = {id(r[0]) for r in rec.made}
        self.returned_values, returned_floats = self._returned(made_ids)
        self.float_owners = [v for v, _ in returned_floats.values()]
        self.grad_owners = [v for v, kind in returned_floats.values() if kind == "grad"]
        pinned = {id(v) for v in self.returned_values} | {id(v) for v in self.float_owners}
        if rec.backward:
            pinned |= {id(r) for r in rec.backward[0]}
        needed = self._needed(pinned, made_ids)
        self.constants = _Constants(rec.numbers)
        nodes, read = fold([r for r in rec.made if id(r[0]) in needed], self.constants, pinned, self.times)
        self.groups = group(nodes)
        leaves = self._leaves(read, made_ids)
        self._layout(leaves, nodes)
        self._wants(nodes)
        self._forward_steps()
        plan.returned = [
            (v, self.slot[id(v)], bool(self.wants.get(id(v))))
            for v in self.returned_values
            if id(v) in self.slot and id(v) not in self.tracked_ids
        ]
        self._backward_steps()
        self._actions()
        for f, (v, kind) in returned_floats.items():
            if kind == "grad":
                plan.E[self.slot[id(v)]] = v.grad  # what the recorded call returned, until the first replay
            plan.items[f] = Slot(plan.V if kind == "data" else plan.E, self.slot[id(v)])
        self.kernels = []  # the groups point back at the builder: without them it is freed at once

    # ------------------------------------------------------------------ what the call made and returned

    def _returned(self, made_ids):
        """The Values returned (anywhere in tuples, lists, dicts) and, for each returned float, the
        Value whose ``data`` or ``grad`` it is, by identity (``loss.data`` is that very float object):
        id(float) -> (Value, "data" or "grad")."""
        values, floats, nums = [], [], []
        _walk(self.rec.returned, values, floats, nums)
        for x in nums:
            if any(p.data is x for opt in self.rec.optimizers for p in opt.parameters):
                # p.data after an SGD step with a learning rate from a number argument: a Num whose
                # formula holds the old data and gradient, which a replay would repeat
                raise CompileError(
                    "compile: the function returned the .data of a parameter its optimizer updated with a "
                    "learning rate from a number argument; return the parameter (the Value) instead"
                )
        values = unique(values)
        if not floats:
            return values, {}
        # Several Values may hold the same float object (relu's 0.0 is one constant), so each float
        # is claimed by the Values that hold it, preferring a backward root or a returned Value.
        rec = self.rec
        preferred = (rec.backward[0] if rec.backward else []) + values
        optimized = [p for opt in rec.optimizers for p in opt.parameters]
        holders = {}
        for v in preferred + [m[0] for m in rec.made] + [x for m in rec.made for x in m[2]] + optimized:
            if isinstance(v, Value):
                holders.setdefault(id(v.data), []).append((v, "data"))
        changed = (rec.backward[2] if rec.backward else []) + rec.resets + optimized  # grads the call set
        for v in changed:
            holders.setdefault(id(v.grad), []).append((v, "grad"))
        preferred_ids = {id(v) for v in preferred}
        sources = {}
        for f in floats:
            found = unique_pairs(holders.get(id(f), []))
            favourite = [(v, kind) for v, kind in found if id(v) in preferred_ids]
            if len(found) == 1 or len(favourite) == 1:
                owner, kind = favourite[0] if len(favourite) == 1 else found[0]
                if kind == "grad" or owner.op is None or id(owner) in made_ids:
                    sources[id(f)] = (owner, kind)
                # else: the data of a Value computed before the call, which the call cannot change
            elif not found:
                raise CompileError(
                    f"compile: the function returned the number {f!r}, which is not the .data or .grad of a Value "
                    f"it used; a number computed from them with Python arithmetic (an accuracy, a running mean) is "
                    f"not recorded and the replay cannot recompute it. Return the Value, or compute the number "
                    f"outside the compiled function"
                )
            else:
                raise CompileError(
                    f"compile: the function returned the number {f!r}, the .{found[0][1]} of {len(found)} Values at "
                    f"once (they share one float object); return the Value itself so that the replay knows which"
                )
        return values, sources

    def _needed(self, pinned, made_ids) -> set:
        """Ids of the recorded nodes the backward roots and the returned values depend on."""
        needed = {i for i in pinned if i in made_ids}
        for value, _, inputs in reversed(self.rec.made):  # consumers come after their inputs
            if id(value) in needed:
                for x in inputs:
                    if isinstance(x, Value) and id(x) in made_ids:
                        needed.add(id(x))
        return needed

    def _leaves(self, read, made_ids) -> list:
        """The Values the replay reads without making them (``read``: those the nodes use), checked."""
        leaves = list(read)
        for v in leaves:
            if v.op is not None:
                raise _made_elsewhere(v)
        for v in self.returned_values + self.float_owners:
            if id(v) not in made_ids and v.op is None:
                leaves.append(v)
        for n in self.rec.backward[2] if self.rec.backward else []:
            if id(n) not in made_ids and n.op is not None:
                raise _made_elsewhere(n)
        return unique(leaves)

    # ------------------------------------------------------------------ vectors

    def _layout(self, leaves, nodes) -> None:
        """Slots: tracked leaves (the optimizers' parameters first), other leaves read from their
        Values, leaves made in the call, constants, then each group's outputs."""
        rec, plan = self.rec, self.plan
        optimized = [p for opt in rec.optimizers for p in opt.parameters]
        pre = [v for v in leaves if id(v) not in rec.fresh]
        tracked = unique(
            optimized + [v for v in pre if id(v) in self.in_order] + [v for v in rec.resets if id(v) not in rec.fresh]
        )
        self.tracked_ids = {id(v) for v in tracked}
        read = tracked + [v for v in pre if id(v) not in self.tracked_ids]
        fresh = [v for v in leaves if id(v) in rec.fresh and id(v) not in self.tracked_ids]
        slot: dict[int, int] = {}
        for v in read + fresh:
            slot[id(v)] = len(slot)
        for c in self.constants.all:
            slot[id(c)] = len(slot)
        for g in self.groups:
            for n in g.nodes:
                slot[id(n.value)] = len(slot)
        V = np.zeros(len(slot))
        for v in read + fresh:
            V[slot[id(v)]] = float(v.data)
        for n in nodes:
            V[slot[id(n.value)]] = n.value.data  # what the recorded call computed, until the first replay
        refresh = [(slot[id(v)], rec.numbers[id(v.data)]) for v in fresh if id(v.data) in rec.numbers]
        for c in self.constants.all:
            V[slot[id(c)]] = c.value
            if c.source is not None:
                refresh.append((slot[id(c)], c.source))
        self.slot = slot
        plan.V = V
        plan.read = read
        plan.refresh = refresh
        plan.tracked = tracked
        plan.accumulating = [v for v in tracked if id(v) not in rec.reset_before]
        plan.accumulating_slots = np.array([slot[id(v)] for v in plan.accumulating], dtype=np.intp)

    def _wants(self, nodes) -> None:
        """``wants[id]``: whether the replay needs that node's gradient (for a tracked leaf, a returned
        Value, or a node on the way to one)."""
        wants = {i: True for i in self.tracked_ids if i in self.in_order}
        wants.update({id(v): True for v in self.returned_values + self.grad_owners if id(v) in self.in_order})
        for n in nodes:
            if (
                n.live
                and id(n.value) in self.in_order
                and not wants.get(id(n.value))
                and any(wants.get(id(r)) for r, _ in n.inputs() if isinstance(r, Value))
            ):
                wants[id(n.value)] = True
        self.wants = wants

    def index(self, refs) -> np.ndarray:
        return np.array([self.slot[id(r)] for r in refs], dtype=np.intp)

    # ------------------------------------------------------------------ forward

    def _forward_steps(self) -> None:
        plan = self.plan
        plan.forward = []
        self.kernels = []
        for g in self.groups:
            k = SumGroup(self, g) if g.nodes[0].terms is not None else KernelGroup(self, g)
            plan.forward += k.forward
            self.kernels.append(k)

    # ------------------------------------------------------------------ backward

    def _backward_steps(self) -> None:
        """Contributions, each written where its target reads it; then, group by group from the
        last, each node's gradient as the sum of its contributions in eager's order."""
        plan = self.plan
        S = len(plan.V)
        wants = self.wants
        sides = [side for k in self.kernels for side in k.sides]
        fanin: dict[int, int] = {}
        for side in sides:
            for t in side.targets:
                if wants.get(id(t)):
                    fanin[id(t)] = fanin.get(id(t), 0) + 1
        roots, seeds = (self.rec.backward[0], self.rec.backward[1]) if self.rec.backward else ([], [])
        for r in roots:
            fanin[id(r)] = fanin.get(id(r), 0) + 1
        # A computed side writes straight into its targets' gradients when each has no other
        # contribution, is not a leaf with a gradient to keep, and they lie in one block in the
        # side's order; else into C, from where its targets gather it.
        size_c = 0
        for side in sides:
            if not side.computed or not any(wants.get(id(t)) for t in side.targets):
                continue
            first = self.slot.get(id(side.targets[0]))
            if first is not None and all(
                fanin.get(id(t)) == 1 and id(t) not in self.tracked_ids and self.slot.get(id(t)) == first + i
                for i, t in enumerate(side.targets)
            ):
                side.base, side.direct = first, True
            else:
                side.base = S + size_c
                size_c += len(side.targets)
        seed_base = S + size_c
        E = np.zeros(seed_base + len(seeds) + 1)  # the last entry stays 0
        E[seed_base : seed_base + len(seeds)] = seeds
        plan.E = E
        sources: dict[int, list[tuple[Any, int]]] = {}  # id(target) -> [(key, index into E)]
        direct = set()
        for side in sides:
            if side.computed and side.base is None:
                continue
            for i, (t, key) in enumerate(zip(side.targets, side.keys)):
                if not wants.get(id(t)):
                    continue
                if side.direct:
                    direct.add(id(t))
                else:
                    sources.setdefault(id(t), []).append((key, side.base + i if side.computed else side.sources[i]))
        for i, r in enumerate(roots):
            sources.setdefault(id(r), []).append(((-1, i), seed_base + i))
        plan.backward = []
        for k in reversed(self.kernels):
            nodes = [n.value for n in k.group.nodes if wants.get(id(n.value)) and id(n.value) not in direct]
            plan.backward += gathers(E, nodes, sources, self.slot, start=False)
            plan.backward += k.backward_steps(E)
        leaves = [v for v in plan.tracked if id(v) in self.in_order]
        plan.backward += gathers(E, leaves, sources, self.slot, start=True)
        made = [
            v
            for v in unique(self.returned_values + self.grad_owners)
            if v.op is None and wants.get(id(v)) and id(v) not in self.tracked_ids
        ]
        plan.backward += gathers(E, [v for v in made if id(v) not in direct], sources, self.slot, start=False)

    # ------------------------------------------------------------------ after the backward pass

    def _actions(self) -> None:
        plan = self.plan
        plan.actions = []
        for kind, what in self.rec.actions:
            if kind == "reset":
                slots = np.array([self.slot[id(v)] for v in what if id(v) in self.slot], dtype=np.intp)
                plan.actions.append(reset_step(plan.E, slots))
            else:
                slots = np.array([self.slot[id(p)] for p in what.parameters], dtype=np.intp)
                plan.actions.append(optimizer_step(plan, what, slots))


def _walk(x, values, floats, nums) -> None:
    """The Values, floats and ``Num``s in a returned structure (tuples, lists, dicts)."""
    if isinstance(x, Value):
        values.append(x)
    elif isinstance(x, (tuple, list)):
        for item in x:
            _walk(item, values, floats, nums)
    elif isinstance(x, dict):
        for item in x.values():
            _walk(item, values, floats, nums)
    elif isinstance(x, Num):
        nums.append(x)
    elif isinstance(x, float):
        floats.append(x)


def _made_elsewhere(v):
    if v.op is sops.MICROGRAD:
        return CompileError(
            f"compile: the op {v.op.label(v)!r} was declared the micrograd way (Value(data, children, op) with a "
            f"_backward closure), which a replay cannot run on arrays; declare it with "
            f"autograd.extend.scalar_op(name, forward, derivatives)"
        )
    return CompileError(
        f"compile: {describe(v)} was computed by {v.op.name} outside the compiled function and is used inside it; "
        f"its backward pass would reach Values the recording never saw. Compute it inside the function, or "
        f"use a leaf Value"
    )
