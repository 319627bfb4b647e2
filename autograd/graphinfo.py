"""What the checking tools read from a recorded graph, through the public node API only.

- ``op_args(node)``: the op's non-tensor arguments (axis, index, a scalar op's constant ``c``);
- ``sent_gradients(node, g)``: what ``node`` sends each parent when its gradient is ``g``;
- ``consumers(order)``: for each node, the ``(child, slot)`` pairs that use it;
- ``all_gradients(root)``: ``d root / d node`` for every node, leaving every ``.grad`` as it was;
- ``NodeNames``: names for nodes, from ``names=`` mappings, labels, and generated ones.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

import numpy as np

from .graph import backpropagate, topological_order
from .scalar_ops import ConstantOp, UnaryOp
from .tensor import Tensor
from .tensor_ops import unbroadcast
from .typing import Node
from .value import Value


def is_node(obj: object) -> TypeGuard[Node]:
    return isinstance(obj, (Value, Tensor))


def op_args(node) -> dict:
    """The non-tensor arguments of the op that made ``node``: ``{}`` for a leaf or an op without any.

    For a scalar op holding a number (``x * 2``, ``x ** 3``) that number is ``{"c": 2.0}``.
    """
    op = node.op
    if op is None:
        return {}
    if isinstance(node, Value):
        return {"c": op.input_data(node)[1]} if isinstance(op, ConstantOp) else {}
    args = node.op_args if hasattr(node, "op_args") else node.params  # .params: the older name
    return dict(args or {})


def vjps_of(node) -> tuple:
    """The VJP of each input of a tensor node (an op of any number of inputs has one per input)."""
    op = node.op
    if hasattr(op, "vjps_for"):
        return tuple(op.vjps_for(len(node.parents)))
    return tuple(op.vjps)


def is_elementwise_unary(node) -> bool:
    """True when ``node = f(x)`` elementwise: one input, no other arguments, the input's shape."""
    op = node.op
    if op is None or len(node.parents) != 1:
        return False
    if isinstance(node, Value):
        return isinstance(op, UnaryOp)
    return not op_args(node) and node.shape == node.parents[0].shape


def receives_gradient(node) -> bool:
    """Whether backward gives ``node`` a gradient (every Value; a Tensor that requires grad)."""
    return isinstance(node, Value) or node.requires_grad


def sent_gradients(node, g) -> tuple:
    """For each parent of ``node``, the gradient ``node`` sends it when ``d root / d node = g``
    (summed back to the parent's shape), or ``None`` where the parent takes no gradient.

    Uses the op's ``input_grads`` when it has one (what backward itself calls), else its
    declaration: local derivatives times ``g`` for a scalar op, the VJPs for a tensor op.
    """
    op = node.op
    parents = node.parents
    if hasattr(op, "input_grads"):
        saved = node.grad
        node.grad = g
        try:
            return tuple(op.input_grads(node))
        finally:
            node.grad = saved
    if isinstance(node, Value):
        local = op.local_derivatives(node)
        return tuple(d * g for d in local[: len(parents)])
    arrays = [p.data for p in parents]
    args = op_args(node)
    sent: list[Any] = []
    for vjp, parent in zip(vjps_of(node), parents):
        if not parent.requires_grad:
            sent.append(None)
            continue
        gi = np.asarray(vjp(g, node.data, *arrays, **args))
        sent.append(unbroadcast(gi, parent.shape) if gi.shape != parent.shape else gi)
    return tuple(sent)


def consumers(order: list[Node]) -> dict[int, list[tuple[Any, int]]]:
    """``id(node) -> [(child, slot), ...]``: every use of each node as an argument, in walk order."""
    used: dict[int, list[tuple[Any, int]]] = {id(n): [] for n in order}
    for child in reversed(order):
        if child.op is None:
            continue
        for slot, parent in enumerate(child.parents):
            used[id(parent)].append((child, slot))
    return used


def check_root(root: object, where: str) -> None:
    """``root`` must be a Value or a single-element Tensor that requires grad."""
    if isinstance(root, Value):
        return
    if not isinstance(root, Tensor):
        raise TypeError(f"{where}: root must be a Value or a Tensor, got {type(root).__name__}")
    if root.size != 1:
        raise ValueError(
            f"{where}: root must be a single number (a scalar loss), got a tensor of shape {root.shape}; "
            f"reduce it first (e.g. .sum())"
        )
    if not root.requires_grad:
        raise ValueError(f"{where}: root does not depend on any tensor that requires grad: there is nothing to check")


def all_gradients(root: Node) -> tuple[list[Node], dict[int, Any]]:
    """``(order, grads)``: the topological order and ``d root / d node`` for every node (by ``id``).

    Runs backward once from ``root`` (seed 1) and puts back every node's ``.grad`` afterwards, so a
    user's accumulated leaf gradients survive. A Tensor that takes no gradient maps to ``None``;
    one that takes a gradient but received none (no path) maps to zeros.
    """
    order = topological_order(root)
    saved = [n.grad for n in order]
    try:
        for n in order:
            n.grad = n.GRAD_ZERO
        seed = 1.0 if isinstance(root, Value) else np.ones_like(root.data)
        backpropagate(root, seed)
        grads: dict[int, Any] = {}
        for n in order:
            if isinstance(n, Value):
                grads[id(n)] = float(n.grad)
            elif not n.requires_grad:
                grads[id(n)] = None
            else:
                grads[id(n)] = np.zeros_like(n.data) if n.grad is None else np.array(n.grad, copy=True)
    finally:
        for n, g in zip(order, saved):
            n.grad = g
    return order, grads


# ----------------------------------------------------------------------------- names

_NOT_WORD = re.compile(r"\W+")


def identifier(name: str) -> str:
    """``name`` as a Python identifier: ``w1[0,1]`` -> ``w1_0_1``, ``loss (mean)`` -> ``loss_mean``."""
    text = _NOT_WORD.sub("_", name).strip("_") or "node"
    if text[0].isdigit():
        text = "n" + text
    if keyword.iskeyword(text):
        text += "_"
    return text


def value_grid(obj):
    """A rectangular nest of lists or tuples of Values as an object array, else ``None``."""
    shape = []
    probe = obj
    while isinstance(probe, (list, tuple)):
        if not probe:
            return None
        shape.append(len(probe))
        probe = probe[0]
    if not shape or not isinstance(probe, Value):
        return None
    flat = []

    def collect(item, depth):
        if depth == len(shape):
            if not isinstance(item, Value):
                raise ValueError
            flat.append(item)
            return
        if not isinstance(item, (list, tuple)) or len(item) != shape[depth]:
            raise ValueError
        for sub in item:
            collect(sub, depth + 1)

    try:
        collect(obj, 0)
    except ValueError:
        return None
    grid = np.empty(len(flat), dtype=object)
    grid[:] = flat
    return grid.reshape(shape)


class NodeNames:
    """Names of the nodes of one graph.

    A node is named by ``names`` (a mapping name -> node, such as ``locals()``; entries that are not
    nodes of this graph are ignored; the first name given for a node is its own) or else by its
    label when no other node of the graph carries that label. ``name(node)`` also names the rest:
    ``<op><k>`` for an op's result (``add3``), ``leaf<k>`` for a leaf, numbered in topological order.
    ``groups`` holds names given to nests of Values (a micrograd weight matrix), read as one array.
    """

    def __init__(self, order: list[Node], names: Mapping[str, object] | None = None, where: str = "names") -> None:
        self.order = order
        in_graph = {id(n) for n in order}
        self.given: dict[str, Node] = {}  # from names= and unique labels
        self.groups: dict[str, np.ndarray] = {}  # name -> object array of Values
        self.own: dict[int, str] = {}  # id(node) -> its name
        for name, obj in (names or {}).items():
            if not isinstance(name, str):
                continue
            if is_node(obj):
                if id(obj) in in_graph:
                    self.given[name] = obj
                    self.own.setdefault(id(obj), name)
                continue
            grid = value_grid(obj)
            if grid is not None and all(id(v) in in_graph for v in grid.flat):
                self.groups[name] = grid
        by_label: dict[str, list[Node]] = {}
        for n in order:
            if n.label:
                by_label.setdefault(n.label, []).append(n)
        self.shared_labels = {label: nodes for label, nodes in by_label.items() if len(nodes) > 1}
        for label, nodes in by_label.items():
            if len(nodes) == 1 and label not in self.given:
                self.given[label] = nodes[0]
                self.own.setdefault(id(nodes[0]), label)
        self._generated: dict[int, str] = {}
        counts: dict[str, int] = {}
        taken = set(self.given) | set(self.groups)
        for n in order:
            if id(n) in self.own:
                continue
            stem = "leaf" if n.op is None else identifier(n.op.name)
            k = counts.get(stem, 0)
            while True:
                k += 1
                candidate = f"{stem}{k}"
                if candidate not in taken:
                    break
            counts[stem] = k
            taken.add(candidate)
            self._generated[id(n)] = candidate

    def name(self, node: object) -> str:
        """The node's name: given, its label, or a generated one."""
        return self.own.get(id(node)) or self._generated[id(node)]

    def is_named(self, node: object) -> bool:
        """Whether the user named this node (by ``names=`` or a label of its own)."""
        return id(node) in self.own

    def lookup(self, name: str, where: str) -> Any:
        """The node (or object array of Values) called ``name``; a clear error when there is none."""
        if name in self.given:
            return self.given[name]
        if name in self.groups:
            return self.groups[name]
        if name in self.shared_labels:
            k = len(self.shared_labels[name])
            raise ValueError(
                f"{where}: the label {name!r} is carried by {k} nodes of the graph; "
                f"say which one with names={{{name!r}: node}}"
            )
        known = sorted(set(self.given) | set(self.groups))
        listed = ", ".join(known) if known else "(none: label the nodes or pass names=, e.g. names=locals())"
        raise ValueError(f"{where}: no node of the graph is named {name!r}; the names that exist: {listed}")
