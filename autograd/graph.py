"""The one graph walk shared by ``Value`` and ``Tensor``, and grad mode.

A node is any object with

- ``op``: the primitive that made it, or ``None`` for a leaf;
- ``grad`` and the class attribute ``GRAD_ZERO``, the gradient before anything flowed in;
- ``accumulate_grad(g)``: add ``g`` to ``grad``.

A primitive (``op``) offers ``parents(node)``, the node's inputs in argument order, and
``backprop(node)``: the chain rule for one node, adding
``d(root)/d(node) * d(node)/d(input)`` into each input's ``grad``. The walk never needs to know
which primitive it is calling.

Grad mode is per thread (as in PyTorch): ``no_grad()`` in one thread never stops another from
recording. Node construction reads one module attribute, ``FAST``, which is True while no thread is
inside ``no_grad()``/``enable_grad()``; only then does it consult the thread's own mode.
"""

from __future__ import annotations

import contextlib
import threading


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()
_lock = threading.Lock()
_overrides = 0  # grad-mode blocks open in any thread

FAST = True
"""True while no thread has changed its grad mode: every thread records, and hot paths may skip the
thread-local lookup. Read it as ``graph.FAST``; never assign it from outside this module."""


def is_grad_enabled() -> bool:
    """True unless this thread is inside ``no_grad()`` (or ``set_grad_enabled(False)``)."""
    return FAST or _mode.enabled


@contextlib.contextmanager
def set_grad_enabled(enabled: bool):
    """Record the graph in this thread (``True``) or not (``False``) inside the block.

    >>> with set_grad_enabled(False):
    ...     y = x * 2  # y.parents == ()
    """
    global FAST, _overrides
    enabled = bool(enabled)
    with _lock:
        _overrides += 1
        FAST = False
    previous = _mode.enabled
    _mode.enabled = enabled
    try:
        yield
    finally:
        _mode.enabled = previous
        with _lock:
            _overrides -= 1
            FAST = _overrides == 0


def no_grad():
    """Record no graph in this thread inside this block: results are leaves with no parents.

    >>> with no_grad():
    ...     p -= lr * p.grad  # an in-place update of a parameter

    Also a decorator: ``@no_grad()``.
    """
    return set_grad_enabled(False)


def enable_grad():
    """Record the graph inside this block, even within ``no_grad()``."""
    return set_grad_enabled(True)


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
        op = node.op
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
    backward watch the real walk through it instead of replaying it.
    """
    order = topological_order(root)
    for node in order:
        if node.op is not None:
            node.grad = node.GRAD_ZERO
    root.accumulate_grad(seed)
    # Two loops, so the hot one pays nothing for the hook when there is none.
    if on_step is None:
        for node in reversed(order):
            op = node.op
            if op is not None:
                op.backprop(node)
    else:
        for node in reversed(order):
            op = node.op
            if op is not None:
                op.backprop(node)
            on_step(node)
    return order
