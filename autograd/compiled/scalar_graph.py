"""A recorded Value graph rearranged for vectorised replay: sums folded, nodes grouped by level.

Folding. ``a + b``, ``x + c`` and ``weighted_sum`` are sums of terms added left to right; a term is a
value or a product ``a * b`` (``x * c``). A sum whose first operand is itself a sum used nowhere else
takes over that sum's terms, so micrograd's ``sum((w_i * x_i ...), b)`` (a chain of 2n nodes) becomes
one node ``b + w_1 x_1 + ... + w_n x_n``, the same node ``nn.scalar``'s ``weighted_sum`` makes; a
product used once, by a sum, becomes one of its terms. Only left-nested chains are folded, so the
additions happen in eager's order and give eager's bits. A node returned by the call, a backward
root or a node made under ``no_grad`` is never folded away.

Grouping. Each remaining node gets a level (1 + the highest level among its inputs; leaves and
constants are level 0) and is grouped with the nodes of the same level computed the same way
(the same kernel, or sums with the same sequence of value and product terms): one group, one set
of numpy calls.

Backward order. Every gradient contribution is keyed by when eager's walk makes it (the position of
the node in reversed topological order, then the input's position), so that the replay adds each
node's contributions in eager's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..value import Value
from .scalar_kernels import BINARY, CONSTANT, FOLDABLE, NARY, Kernel, kernel_for, shape_of


@dataclass(eq=False, slots=True)
class Const:
    """A number a node uses (a Value op's constant, such as ``c`` in ``x * c``). ``source`` is the
    ``Num`` it is recomputed from at every replay, or None."""

    value: float
    source: object = None


@dataclass(eq=False, slots=True)
class Term:
    """One term of a sum: ``refs`` is ``(value,)`` or ``(a, b)`` for a product; ``keys`` says when
    eager sends each ref its gradient contribution (None for a constant)."""

    refs: tuple
    keys: tuple

    @property
    def kind(self) -> str:
        return "p" if len(self.refs) == 2 else "v"


@dataclass(eq=False, slots=True)
class Node:
    """A node the replay computes: ``value`` (the recorded Value), how (``sum`` of ``terms``, or
    ``kernel``/``op`` on ``args``), its level, and whether gradients flow through it."""

    value: Value
    op: object
    index: int  # order of creation
    terms: list | None = None
    kernel: Kernel | None = None
    args: tuple = ()  # inputs: Values (recorded nodes or leaves) and Consts
    keys: tuple = ()  # for each input, when eager sends it a contribution (None for a constant)
    level: int = 0
    live: bool = True  # made with grad on: backward flows through it
    absorbed: bool = False

    @property
    def group_key(self) -> tuple:
        if self.terms is not None:
            return ("sum", self.level, "".join(t.kind for t in self.terms))
        if self.kernel is not None:
            return ("kernel", self.level, self.kernel.name, self.kernel.shape)
        return ("per_node", self.level, id(self.op), len(self.args))

    def inputs(self):
        """Every input, terms flattened: ``(ref, key)`` pairs."""
        if self.terms is not None:
            for t in self.terms:
                yield from zip(t.refs, t.keys)
        else:
            yield from zip(self.args, self.keys)


@dataclass(eq=False)
class Group:
    """Nodes of one level computed the same way, in order of creation."""

    key: tuple
    nodes: list = field(default_factory=list)


def fold(recorded: list, constants, pinned: set, times: dict):
    """``recorded`` (``(value, op, inputs)`` in order of creation, only what the replay needs) as
    ``Node``s, sums folded, and the Values they read without having made them (in order of first use).
    ``constants(x)`` turns a non-Value input into a ``Const``; ``pinned``: ids never folded away;
    ``times``: id -> eager's backward time (position in reversed topological order)."""
    nodes: dict[int, Node] = {}
    uses: dict[int, int] = {}
    leaves: dict[int, Value] = {}
    for _, _, inputs in recorded:
        for x in inputs:
            if isinstance(x, Value):
                uses[id(x)] = uses.get(id(x), 0) + 1
    kernels: dict[int, tuple] = {}  # id(op) -> (op, kernel or None, whether it is a sum): each op checked once
    out = []

    def absorbable(x, kind) -> Node | None:
        n = nodes.get(id(x))
        if n is None or not n.live or n.absorbed or uses[id(x)] != 1 or id(x) in pinned:
            return None
        if kind == "sum" and n.terms is not None:
            return n
        if kind == "product" and n.kernel is not None and (n.kernel.name, n.kernel.shape) in _PRODUCTS:
            return n
        return None

    def term(x, k) -> Term:
        if not isinstance(x, Value):
            return Term((constants(x),), (None,))
        product = absorbable(x, "product")
        if product is not None:
            product.absorbed = True
            return Term(product.args, product.keys)
        return Term((x,), (k,))

    def expand(x, k) -> list:
        chain = absorbable(x, "sum") if isinstance(x, Value) else None
        if chain is None:
            return [term(x, k)]
        chain.absorbed = True
        terms, chain.terms = chain.terms, None  # taken over, not copied: a chain of n costs n, not n^2
        return terms  # type: ignore[return-value]  # a sum node's terms, set

    for index, (value, op, inputs) in enumerate(recorded):
        known = kernels.get(id(op))
        if known is None:
            kernel = kernel_for(op) if shape_of(op) is not None else None
            known = kernels[id(op)] = (op, kernel, kernel is not None and (kernel.name, kernel.shape) in _SUMS)
        _, kernel, is_sum = known
        for x in inputs:
            if isinstance(x, Value) and id(x) not in nodes:
                leaves.setdefault(id(x), x)
        node = Node(value, op, index, live=value.op is not None)
        t = times.get(id(value))
        if is_sum:
            node.terms = _sum_terms(op.name, inputs, t, term, expand)
        else:
            node.kernel = kernel
            node.args = tuple(x if isinstance(x, Value) else constants(x) for x in inputs)
            node.keys = tuple(None if t is None or not isinstance(x, Value) else (t, k) for k, x in enumerate(inputs))
        nodes[id(value)] = node
        out.append(node)
    kept = [n for n in out if not n.absorbed]
    levels: dict[int, int] = {}
    for n in kept:
        level = 0
        for r, _ in n.inputs():
            if isinstance(r, Value):
                level = max(level, levels.get(id(r), 0))
        n.level = levels[id(n.value)] = level + 1
    return kept, list(leaves.values())


_SUMS = {("add", BINARY), ("add_const", CONSTANT), ("weighted_sum", NARY)}
_PRODUCTS = FOLDABLE - _SUMS


def _sum_terms(name, inputs, t, term, expand) -> list:
    """The terms of a sum node made at eager backward time ``t`` (None: outside the backward pass)."""

    def key(position):
        return None if t is None else (t, position)

    if name == "weighted_sum":
        n = len(inputs) >> 1
        w, x, b = inputs[:n], inputs[n:-1], inputs[-1]
        terms = expand(b, key(2 * n))
        for i, (wi, xi) in enumerate(zip(w, x)):
            terms.append(Term((wi, xi), (key(2 * i), key(2 * i + 1))))
        return terms
    a, b = inputs
    terms = expand(a, key(0))
    terms.append(term(b, key(1)))
    return terms


def group(nodes: list) -> list:
    """``nodes`` in groups, ordered by level (a group's inputs are all computed by earlier groups)."""
    groups: dict[tuple, Group] = {}
    for n in nodes:
        g = groups.get(n.group_key)
        if g is None:
            g = groups[n.group_key] = Group(n.group_key)
        g.nodes.append(n)
    return sorted(groups.values(), key=lambda g: (g.key[1], g.nodes[0].index))
