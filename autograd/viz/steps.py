"""Backward, one step at a time, recorded from the real graph walk (no pictures here).

>>> steps = backprop_steps(L)    # one BackpropStep per node, the root first
>>> steps[0].sent                # what the root's op sent each of its inputs

The steps are not a second implementation of the chain rule: ``backprop_steps`` runs
``autograd.graph.backpropagate`` itself, from zero gradients, and watches it through its
``on_step`` hook; then it puts every ``.grad`` back as it was. What a step sends each input is
the op's own ``input_grads(node)`` where the op offers it (the function backward applies), and
otherwise the change backward made to that input's ``.grad`` during the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..graph import backpropagate
from ..tensor import Tensor
from ..typing import Node
from .nodes import gets_grad, graph_nodes


@dataclass(frozen=True)
class Sent:
    """What one step added into one input's ``.grad``.

    - ``parent``: the input;
    - ``positions``: where it appears among the node's parents (``x * x``: ``(0, 1)``);
    - ``local``: ``d node / d parent`` for a scalar op (summed over ``positions``), ``None`` for a
      tensor op or an op that does not declare its derivatives;
    - ``amount``: what was added: ``local * node.grad`` for a scalar, the vector-Jacobian product
      summed to the input's shape for a tensor;
    - ``total``: the input's gradient after this step (possibly still partial).
    """

    parent: Any
    positions: tuple
    local: float | None
    amount: object
    total: object


@dataclass
class BackpropStep:
    """The state after backward has processed one node (recorded from the real walk).

    - ``index``: 1 for the root, as the ``#k`` of the picture;
    - ``node``: the node processed at this step; its gradient is complete from here on;
    - ``grads``: every gradient so far, keyed by ``id(node)`` (use ``grad(node)``): the node's
      ``.grad`` at this point of the walk, for each node the walk has reached (the root, and
      the inputs of nodes processed so far) that has a gradient (a constant ``Tensor`` has none);
    - ``final``: ids of the nodes whose gradient is complete (processed at this step or before);
    - ``sent``: one ``Sent`` per distinct input that this step gave gradient to, in argument order.
    """

    index: int
    node: Any
    grads: dict
    final: frozenset
    sent: tuple = field(default=())

    def grad(self, node: object) -> Any:
        """``node``'s gradient so far, or ``None`` if nothing has reached it yet."""
        return self.grads.get(id(node))

    def state(self, node: Node) -> str:
        """``"done"`` (grad complete), ``"partial"`` (some of it arrived), ``"unreached"`` or
        ``"none"`` (a Tensor that gets no gradient)."""
        if not gets_grad(node):
            return "none"
        if id(node) in self.final:
            return "done"
        return "unreached" if id(node) not in self.grads else "partial"


def backprop_steps(root: Node, gradient: Any = None, *, max_nodes: int | None = None) -> list[BackpropStep]:
    """Run ``backward`` from ``root`` from zero gradients and record one ``BackpropStep`` per node.

    The walk is ``autograd.graph.backpropagate``, the one ``backward()`` runs, so the last step's
    gradients are what one ``backward()`` call from zero gradients leaves in ``.grad``. While it
    runs, every node's ``.grad`` (leaves included) starts from ``GRAD_ZERO``; afterwards (also
    after an error) every ``.grad`` is put back as it was, so the graph is left as found.

    ``gradient`` is the starting gradient ``d L / d root``: 1 by default (a Tensor root must then have one
    element, or hold a ``.grad`` from an earlier ``backward(gradient)``, which is reused).
    """
    order = graph_nodes(root, max_nodes, where="backprop_steps")
    is_tensor = isinstance(root, Tensor)
    seed = _tensor_seed(root, gradient) if is_tensor else 1.0 if gradient is None else float(gradient)

    # A Value's grad is 0.0 both before anything reached it and after a zero reached it, so the
    # nodes reached so far are tracked explicitly: they are the keys of ``current``, the root and
    # the inputs of every node processed so far (a constant Tensor, which gets no gradient, left out).
    current: dict[int, Any] = {}  # id -> that node's .grad as the walk left it at the latest step (arrays copied)
    final: set[int] = set()
    steps: list[BackpropStep] = []

    def record(node):
        # backward's step for ``node`` added into the grads of its inputs and nothing else, so
        # ``current`` still holds their values from before the step.
        sent = _sent(node, current) if node.op is not None else ()
        for changed in (node, *node.parents):
            g = changed.grad
            if g is not None and gets_grad(changed):
                current[id(changed)] = np.array(g) if is_tensor else g
        final.add(id(node))
        sent = tuple(Sent(s.parent, s.positions, s.local, s.amount, current.get(id(s.parent), s.amount)) for s in sent)
        steps.append(BackpropStep(len(steps) + 1, node, dict(current), frozenset(final), sent))

    saved = [node.grad for node in order]
    try:
        for node in order:
            node.grad = node.GRAD_ZERO
        with np.errstate(all="ignore"):  # the pictures show inf and nan as they are, without warnings
            backpropagate(root, seed, on_step=record)
    finally:
        for node, grad in zip(order, saved):
            node.grad = grad
    return steps


def _sent(node, before: dict) -> list:
    """What ``node``'s step gave each distinct input (``total`` filled in by the caller)."""
    parents = node.parents
    positions: dict[int, tuple[Any, list[int]]] = {}
    for k, parent in enumerate(parents):
        if gets_grad(parent):
            positions.setdefault(id(parent), (parent, []))[1].append(k)
    op = node.op
    input_grads = getattr(op, "input_grads", None)
    per_position = input_grads(node) if callable(input_grads) else None
    locals_ = _local_derivatives(node)
    out = []
    for parent, where in positions.values():
        if per_position is not None:
            parts = [per_position[k] for k in where if per_position[k] is not None]
            if not parts:
                continue
            amount = parts[0] if len(parts) == 1 else sum(parts[1:], parts[0])
        else:
            now, then = parent.grad, before.get(id(parent))
            if now is None:
                continue
            amount = now if then is None else now - then
        if isinstance(amount, np.ndarray):
            amount = np.array(amount)
        local = None if locals_ is None else sum(float(locals_[k]) for k in where)
        out.append(Sent(parent, tuple(where), local, amount, None))
    return out


def _local_derivatives(node):
    """The op's declared ``d node / d parent`` per parent for a scalar op, else ``None``."""
    if isinstance(node, Tensor):
        return None
    local = getattr(node.op, "local_derivatives", None)
    return local(node) if callable(local) else None


def _tensor_seed(root, gradient):
    if gradient is not None:
        seed = np.array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=root.data.dtype)
        if seed.shape != root.data.shape:
            raise ValueError(f"backprop_steps: gradient has shape {seed.shape} but the root has shape {root.shape}")
        return seed
    if root.data.size == 1:
        return np.ones_like(root.data)
    if root.grad is not None:
        return np.array(root.grad)
    raise ValueError(
        f"backprop_steps: the root has shape {root.shape}; pass gradient= an array of that shape "
        f"(as for Tensor.backward), or call root.backward(gradient) first"
    )
