"""The one graph walk shared by ``Value`` and ``Tensor``.

A node is any object with

- ``_op``: the primitive that made it, or ``None`` for a leaf;
- ``grad`` and the class attribute ``GRAD_ZERO``, the gradient before anything flowed in;
- ``accumulate_grad(g)``: add ``g`` to ``grad``.

A primitive (``_op``) offers ``parents(node)``, the node's inputs in argument order, and
``backprop(node)``: the chain rule for one node, adding
``d(root)/d(node) * d(node)/d(input)`` into each input's ``grad``. The walk never needs to know
which primitive it is calling.
"""

from __future__ import annotations

import contextlib

GRAD_ENABLED = True
"""False inside ``no_grad()``. Process-wide (not per thread): node construction reads it on
every operation, and a module attribute is the cheapest thing to read."""


def is_grad_enabled() -> bool:
    """True unless inside a ``no_grad()`` block."""
    return GRAD_ENABLED


@contextlib.contextmanager
def no_grad():
    """Record no graph inside this block: results are leaves with no parents.

    >>> with no_grad():
    ...     y = x * 2  # y.parents == ()
    """
    global GRAD_ENABLED
    previous = GRAD_ENABLED
    GRAD_ENABLED = False
    try:
        yield
    finally:
        GRAD_ENABLED = previous


def topological_order(root) -> list:
    """Every node reachable from ``root``, each listed after all of its parents.

    Nodes are hashed by identity (both node types keep ``object.__hash__``). Iterative
    depth-first search, so depth is limited by memory, not by Python's recursion
    limit. The order is deterministic: parents are explored in argument order.
    """
    order = []
    visited = set()
    stack = [root]
    done = [False]  # parallel to stack: True once that node's parents have been pushed
    push, pop, mark, unmark, seen = stack.append, stack.pop, done.append, done.pop, visited.add
    while stack:
        node = pop()
        if unmark():
            order.append(node)
            continue
        if node in visited:
            continue
        seen(node)
        push(node)
        mark(True)
        op = node._op
        if op is not None:
            for parent in reversed(op.parents(node)):
                if parent not in visited:
                    push(parent)
                    mark(False)
    return order


def backpropagate(root, seed, on_step=None) -> list:
    """Apply the chain rule from ``root`` back to every leaf; return the topological order.

    Gradients of intermediate nodes are reset at the start of each pass, so a second
    ``backward`` over the same graph gives them that pass's gradient; leaf gradients
    accumulate across passes until the user zeroes them (as in PyTorch).

    ``on_step(node)``, if given, is called once per node in the order the walk visits them
    (reversed topological order, the root first, leaves included): for a node made by an op,
    right after ``op.backprop(node)`` has sent its gradient to its inputs; for a leaf, when
    the walk reaches it. Either way ``node.grad`` is complete at that point. The pictures of
    backward (``autograd.frames``) watch the real walk through it instead of replaying it.
    """
    order = topological_order(root)
    for node in order:
        if node._op is not None:
            node.grad = node.GRAD_ZERO
    root.accumulate_grad(seed)
    # Two loops, so the hot one pays nothing for the hook when there is none.
    if on_step is None:
        for node in reversed(order):
            op = node._op
            if op is not None:
                op.backprop(node)
    else:
        for node in reversed(order):
            op = node._op
            if op is not None:
                op.backprop(node)
            on_step(node)
    return order
