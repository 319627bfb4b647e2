"""The steps of the scalar plan: each group of nodes as a few numpy calls (forward, and the gradient
contributions it sends), the sums that collect each node's gradient in eager's order, and the
updates after the backward pass."""

from __future__ import annotations

import operator
import sys
from dataclasses import dataclass

import numpy as np

from .. import scalar_ops as sops
from ..value import Value
from .dynamic import Num
from .scalar_kernels import per_node_derivatives, per_node_forward

_data = operator.attrgetter("data")


class Slot:
    """A returned ``v.data``: ``compile`` reads ``.data.item()`` of it after every replay."""

    __slots__ = ("V", "index")

    def __init__(self, V, index):
        self.V, self.index = V, index

    @property
    def data(self):
        return self.V[self.index]


@dataclass(eq=False)
class _Side:
    """One block of a group's gradient contributions: to ``targets`` (row-major over ``shape``; None
    where the node sends nothing), sent at eager times ``keys``. Most sides are computed by the
    group's backward steps (``factor``: for a product term, the other factor); a sum's value terms
    pass the sum's own gradient on unchanged, so their targets read it where it is (``sources``,
    indices into E)."""

    targets: list
    keys: list
    shape: tuple
    sources: object = None
    factor: object = None
    base: int | None = None  # where in E a computed side writes (None: nobody needs it)
    direct: bool = False  # base is its targets' own gradients

    @property
    def computed(self) -> bool:
        return self.sources is None


def _view(V, idx, shape):
    """``V[idx]`` as a view when ``idx`` is one contiguous run in order, else None (gather it)."""
    flat = idx.ravel()
    if flat.size and flat[-1] - flat[0] == flat.size - 1 and np.array_equal(flat, np.arange(flat[0], flat[-1] + 1)):
        return V[flat[0] : flat[-1] + 1].reshape(shape)
    return None


class _Group:
    """A group's forward steps (``forward``), gradient sides (``sides``) and backward steps."""

    def __init__(self, builder, group):
        self.builder = builder
        self.group = group
        self.n = len(group.nodes)
        self.first = builder.slot[id(group.nodes[0].value)]
        self.V = builder.plan.V
        self.out = self.V[self.first : self.first + self.n]
        self.forward = []

    def gathered(self, refs, shape):
        """``V`` at ``refs``: a view if they are contiguous, else a buffer refreshed by a forward step."""
        idx = self.builder.index(refs).reshape(shape)
        view = _view(self.V, idx, shape)
        if view is not None:
            return view
        buffer = np.empty(shape)
        self.forward.append(_take(self.V, idx, buffer))
        return buffer

    def gradient(self, E):
        return E[self.first : self.first + self.n]

    def wanted(self) -> bool:
        return any(self.builder.wants.get(id(n.value)) for n in self.group.nodes)

    def sends(self, node) -> bool:
        """Whether ``node`` passes gradients on in this backward pass (a group may mix nodes the
        backward pass reaches and nodes it does not): the other nodes' targets are None."""
        return bool(self.builder.wants.get(id(node.value)))


class SumGroup(_Group):
    """Sums of terms, ``out[j] = t_0j + t_1j + ...`` left to right, each term a value or a product.

    The terms are the rows of one matrix (term x node); runs of terms of one kind are gathered (and
    multiplied) together, and ``np.add.reduce`` over the rows adds them in order."""

    def __init__(self, builder, group):
        super().__init__(builder, group)
        nodes, n = group.nodes, self.n
        pattern = group.key[2]
        self.runs = []
        start = 0
        for k in range(1, len(pattern) + 1):
            if k == len(pattern) or pattern[k] != pattern[start]:
                self.runs.append((pattern[start], start, k))
                start = k
        R = np.empty((len(pattern), n))
        self.factors = []
        for kind, r0, r1 in self.runs:
            shape = (r1 - r0, n)
            if kind == "v":
                idx = builder.index([node.terms[t].refs[0] for t in range(r0, r1) for node in nodes]).reshape(shape)
                view = _view(self.V, idx, shape)
                self.forward.append(_copy(R[r0:r1], view) if view is not None else _take(self.V, idx, R[r0:r1]))
                self.factors.append(None)
            else:
                a = self.gathered([node.terms[t].refs[0] for t in range(r0, r1) for node in nodes], shape)
                b = self.gathered([node.terms[t].refs[1] for t in range(r0, r1) for node in nodes], shape)
                self.forward.append(_multiply(a, b, R[r0:r1]))
                self.factors.append((a, b))
        self.forward.append(_reduce(R, self.out))
        self.sides = self._sides() if self.wanted() else []

    def _sides(self) -> list:
        nodes, n = self.group.nodes, self.n
        own = np.arange(self.first, self.first + n)
        sides = []
        for (kind, r0, r1), factors in zip(self.runs, self.factors):
            shape = (r1 - r0, n)
            for which in (0,) if kind == "v" else (0, 1):
                targets = [
                    node.terms[t].refs[which] if self.sends(node) else None for t in range(r0, r1) for node in nodes
                ]
                keys = [node.terms[t].keys[which] for t in range(r0, r1) for node in nodes]
                if kind == "v":
                    sides.append(_Side(targets, keys, shape, sources=np.tile(own, r1 - r0)))
                else:
                    sides.append(_Side(targets, keys, shape, factor=factors[1 - which]))  # d(a b)/da = b
        return sides

    def backward_steps(self, E) -> list:
        g = self.gradient(E)
        return [
            _times_gradient(side.factor, g, E[side.base : side.base + len(side.targets)].reshape(side.shape))
            for side in self.sides
            if side.computed and side.base is not None
        ]


class KernelGroup(_Group):
    """Nodes computed by one kernel, or node by node with the op's own rules, one element per node."""

    def __init__(self, builder, group):
        super().__init__(builder, group)
        nodes, n = group.nodes, self.n
        first = nodes[0]
        self.kernel, self.op = first.kernel, first.op
        self.columns = [self.gathered([node.args[k] for node in nodes], (n,)) for k in range(len(first.args))]
        self.positions = [k for k, x in enumerate(first.args) if isinstance(x, Value)]
        self.forward.append(self._compute())
        self.sides = []
        if self.wanted():
            for k in self.positions:
                targets = [node.args[k] if self.sends(node) else None for node in nodes]
                keys = [node.keys[k] for node in nodes]
                self.sides.append(_Side(targets, keys, (n,)))

    def _compute(self):
        kernel, op, columns, out = self.kernel, self.op, self.columns, self.out
        if kernel is None:

            def per_node():
                np.copyto(out, per_node_forward(op, columns))

            return per_node

        def vectorised():
            result = kernel.forward(*columns)
            if not kernel.exact:
                result = _own_rule_where_not_finite(result, op, columns)
            np.copyto(out, result)

        return vectorised

    def backward_steps(self, E) -> list:
        used = [(position, side) for position, side in enumerate(self.sides) if side.base is not None]
        if not used:
            return []
        state = {}
        # the steps hold arrays and the op, not the group: a plan keeps no recorded Value alive
        kernel, op, out, columns, values = self.kernel, self.op, self.out, self.columns, len(self.positions)

        def derivatives():
            state["d"] = _local_derivatives(kernel, op, out, columns, values)

        g = self.gradient(E)
        steps = [derivatives]
        for position, side in used:
            steps.append(_contribution(state, position, g, E[side.base : side.base + self.n]))
        return steps


def _local_derivatives(kernel, op, out, columns, values) -> list:
    """``(d, structural zeros)`` for each Value input of the nodes whose outputs are ``out``."""
    if kernel is None:
        return per_node_derivatives(op, out, columns, values)
    fixed = []
    for position, (d, zero) in enumerate(kernel.derivatives(out, *columns)):
        d = np.broadcast_to(np.asarray(d, dtype=float), out.shape)
        if not kernel.exact:
            d, zero = _own_derivative_where_not_finite(d, zero, op, position, out, columns)
        fixed.append((d, zero))
    return fixed


def _own_rule_where_not_finite(result, op, columns):
    """Where numpy gave inf or NaN, the op's own forward (which raises where eager raises)."""
    bad = ~np.isfinite(result)
    if not bad.any():
        return result
    result = np.array(result, dtype=float)
    for i in np.flatnonzero(bad).tolist():
        result[i] = op.forward(*[c[i].item() for c in columns])
    return result


def _own_derivative_where_not_finite(d, zero, op, position, out, columns):
    """Where a vectorised derivative is inf or NaN, the op's own rule (its special cases)."""
    bad = ~np.isfinite(d)
    if not bad.any():
        return d, zero
    d = np.array(d)
    zero = np.zeros(d.shape, bool) if zero is None else np.array(np.broadcast_to(zero, d.shape))
    for i in np.flatnonzero(bad).tolist():
        theirs = op.derivatives(out[i].item(), *[c[i].item() for c in columns])[position]
        if theirs is sops.ZERO:
            zero[i] = True
        else:
            d[i] = theirs
    return d, zero


def _contribution(state, position, g, dst):
    """``d * g`` into ``dst``, 0 where the derivative is a structural zero (eager sends nothing)."""

    def step():
        d, zero = state["d"][position]
        if zero is None:
            np.multiply(d, g, dst)
        else:
            np.copyto(dst, np.where(zero, 0.0, d * g))

    return step


def _times_gradient(other, g, dst):
    """The contribution to one factor of a product term: the other factor times the sum's gradient."""

    def step():
        np.multiply(other, g, dst)

    return step


def gathers(E, values, sources, slot, start) -> list:
    """Steps that set ``E[slot[v]]`` to the sum of ``v``'s contributions in eager's order (after the
    starting gradient already in ``E[slot[v]]``, when ``start``). Values with as many contributions
    share one gather and one ``np.add.reduce`` over its rows."""
    buckets: dict[int, list[tuple[Value, list[int]]]] = {}
    for v in values:
        rows = [s for _, s in sorted(sources.get(id(v), []), key=operator.itemgetter(0))]
        if start:
            rows = [slot[id(v)]] + rows
        if rows:
            buckets.setdefault(len(rows), []).append((slot[id(v)], rows))
    steps = []
    for _, members in sorted(buckets.items()):
        slots = np.array([s for s, _ in members], dtype=np.intp)
        M = np.array([rows for _, rows in members], dtype=np.intp).T.copy()  # row r: each one's r-th contribution
        contiguous = np.array_equal(slots, np.arange(slots[0], slots[0] + slots.size))
        out = E[slots[0] : slots[0] + slots.size] if contiguous else np.empty(slots.size)
        steps.append(_sum_rows(E, M, out, None if contiguous else slots))
    return steps


def _sum_rows(E, M, out, scatter):
    if M.shape[0] == 1:
        row = M[0]

        def one():
            np.take(E, row, None, out, "clip")
            if scatter is not None:
                E[scatter] = out

        return one
    buf = np.empty(M.shape)
    add = _sum_rows_in_order(buf, out)

    def many():
        np.take(E, M, None, buf, "clip")
        add()
        if scatter is not None:
            E[scatter] = out

    return many


# ---------------------------------------------------------------------- small steps


def _take(V, idx, out):
    def step():
        np.take(V, idx, None, out, "clip")

    return step


def _copy(out, view):
    def step():
        np.copyto(out, view)

    return step


def _multiply(a, b, out):
    def step():
        np.multiply(a, b, out)

    return step


def _reduce(R, out):
    if R.shape[0] == 2:
        first, second = R[0], R[1]

        def add():
            np.add(first, second, out)

        return add
    return _sum_rows_in_order(R, out)


def _sum_rows_in_order(R, out):
    """A step adding the rows of ``R`` into ``out`` strictly first to last, as eager's chain of ``+``.

    ``np.add.reduce`` over axis 0 does that while each row has two elements or more (the inner loop
    runs along a row; ``REDUCE_IN_ORDER`` checks it); over a single column numpy sums pairwise, so
    then the running sums are formed and the last one kept."""
    if R.shape[1] >= 2 and REDUCE_IN_ORDER:

        def reduce():
            np.add.reduce(R, 0, None, out)

        return reduce
    running = np.empty_like(R)
    last = running[-1]

    def accumulate():
        np.add.accumulate(R, 0, None, running)
        np.copyto(out, last)

    return accumulate


def _reduces_in_order() -> bool:
    """Whether ``np.add.reduce(R, 0)`` adds rows first to last, on sums where pairwise summation differs."""
    rng = np.random.default_rng(1)
    for shape in ((200, 2), (33, 3), (17, 64)):
        R = rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, size=shape)
        expected = R[0].copy()
        for row in R[1:]:
            expected += row
        if not np.array_equal(np.add.reduce(R, 0), expected):
            return False
    return True


REDUCE_IN_ORDER = _reduces_in_order()


def reset_step(E, slots):
    def action(numbers):
        E[slots] = 0.0

    return action


def optimizer_step(plan, optimizer, slots):
    """The optimizer's update: plain SGD vectorised over its parameters; any other through its own
    ``step`` on the Values (written out first, read back after)."""
    dynamic = {k: v for k, v in vars(optimizer).items() if isinstance(v, Num)}
    V, E = plan.V, plan.E
    optim = sys.modules.get("nn.optim")  # an optimizer of nn's has been made, so nn.optim is loaded
    SGD = getattr(optim, "SGD", None)

    def refresh(numbers):
        for name, num in dynamic.items():
            setattr(optimizer, name, Num(num.evaluate(numbers), num.expression))

    if type(optimizer) is SGD and not optimizer.momentum:
        contiguous = bool(slots.size) and np.array_equal(slots, np.arange(slots[0], slots[0] + slots.size))
        scratch = np.empty(slots.size)
        if contiguous:
            data, grads = V[slots[0] : slots[0] + slots.size], E[slots[0] : slots[0] + slots.size]

            def sgd(numbers):
                refresh(numbers)
                np.multiply(grads, float(optimizer.lr), scratch)
                np.subtract(data, scratch, data)

            return sgd

        def sgd_gathered(numbers):
            refresh(numbers)
            np.multiply(E[slots], float(optimizer.lr), scratch)
            V[slots] = V[slots] - scratch

        return sgd_gathered
    parameters = optimizer.parameters

    def own_step(numbers):
        refresh(numbers)
        plan.write_back()
        optimizer.step()
        V[slots] = list(map(_data, parameters))

    return own_step
