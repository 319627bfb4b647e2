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
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .typing import GradMode, Node


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()
_lock = threading.Lock()
_overrides = 0  # grad-mode blocks open in any thread

FAST = True
"""True while no thread has changed its grad mode and no tracer is registered: every thread records,
and node construction may skip the thread-local lookup and the tracers. Read it as ``graph.FAST``;
never assign it from outside this module."""


def is_grad_enabled() -> bool:
    """True unless this thread is inside ``no_grad()`` (or ``set_grad_enabled(False)``)."""
    return FAST or _mode.enabled


@contextlib.contextmanager
def set_grad_enabled(enabled: bool) -> Iterator[None]:
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
            _refresh()


def no_grad() -> GradMode:
    """Record no graph in this thread inside this block: results are leaves with no parents.

    >>> with no_grad():
    ...     p -= lr * p.grad  # an in-place update of a parameter

    Also a decorator: ``@no_grad()``.
    """
    return set_grad_enabled(False)


def enable_grad() -> GradMode:
    """Record the graph inside this block, even within ``no_grad()``."""
    return set_grad_enabled(True)


def _refresh() -> None:
    global FAST
    FAST = _overrides == 0 and not TRACERS


TRACERS: list[Callable[..., object]] = []
"""Functions ``tracer(node, op, inputs, op_args)`` called as each node is made, whether or not it is
recorded (forward mode, anomaly mode, compilation): ``inputs`` are the op's inputs as given (Tensors;
or Values and a Value op's constant), ``op_args`` a Tensor op's arguments (None for a Value). Use
``add_tracer`` / ``remove_tracer``; while any is present ``FAST`` is False."""


def add_tracer(tracer: Callable[..., object]) -> None:
    """Call ``tracer(node, op, inputs, op_args)`` for every node made from now on, in every thread."""
    with _lock:
        TRACERS.append(tracer)
        _refresh()


def remove_tracer(tracer: Callable[..., object]) -> None:
    with _lock:
        TRACERS.remove(tracer)
        _refresh()


def trace(node: Node, op: Any, inputs: tuple, op_args: dict | None = None) -> None:
    """Tell the tracers about a new node (called by node construction when ``FAST`` is False)."""
    for tracer in list(TRACERS):
        tracer(node, op, inputs, op_args)


LISTENERS: list[Any] = []
"""Objects told about events other than node creation, as ``listener.event(kind, *details)``:
``"backward"`` (roots, seeds, order, create_graph) before a backward pass seeds its roots and
``"backward_done"`` (roots, order) after it;
``"inplace"`` (tensor, what, operand) before a tensor's data is changed in place; ``"constant"``
(tensor, source) when an operand that is not a Tensor becomes a constant one; ``"step"`` and
``"step_done"`` (optimizer), ``"zero_grad"`` (parameters) from ``nn``'s optimizers and modules.
Compilation records a training step through them."""


def add_listener(listener: Any) -> None:
    with _lock:
        LISTENERS.append(listener)


def remove_listener(listener: Any) -> None:
    with _lock:
        LISTENERS.remove(listener)


def notify(kind: str, *details: Any) -> None:
    """Tell the listeners about an event (callers check ``LISTENERS`` first: nothing is paid without one)."""
    for listener in list(LISTENERS):
        listener.event(kind, *details)


HOOKS = 0
"""How many gradient hooks are registered; while none, backward runs its plain loop."""

STEP_CHECK: Callable[[Any], None] | None = None
"""``check(node)`` run before each node's chain-rule step (anomaly mode), or None."""


class HookHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook (a second call does nothing)."""

    def __init__(self, node: Node, hook: Callable[[Any], Any]) -> None:
        global HOOKS
        self.node: Node | None
        self.node, self.hook = node, hook
        with _lock:
            HOOKS += 1

    def remove(self) -> None:
        global HOOKS
        if self.node is not None:
            self.node.remove_hook(self.hook)
            self.node = None
            with _lock:
                HOOKS -= 1

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def remove_from(extra: dict | None, hook: Callable[[Any], Any]) -> None:
    """Take ``hook`` out of a node's hook list (kept in its ``extra`` mapping)."""
    hooks = extra.get("hooks") if extra else None
    if hooks and hook in hooks:
        hooks.remove(hook)


def set_step_check(check: Callable[[Any], None] | None) -> None:
    global STEP_CHECK
    STEP_CHECK = check


_EMIT = object()  # on the search's stack: the node below it has had its parents listed


def topological_order(root: Node | list) -> list[Node]:
    """Every node reachable from ``root`` (a node, or a list of nodes), each listed after all of its parents.

    Nodes are hashed by identity (both node types keep ``object.__hash__``). Iterative
    depth-first search, so depth is limited by memory, not by Python's recursion
    limit. The order is deterministic: parents are explored in argument order.
    """
    order: list[Node] = []
    visited: set[Node] = set()
    stack: list[Any] = list(reversed(root)) if isinstance(root, list) else [root]
    pop, push, seen, emit = stack.pop, stack.append, visited.add, order.append
    while stack:
        node = pop()
        if node is _EMIT:
            emit(pop())
            continue
        if node in visited:
            continue
        seen(node)
        op = node.op
        if op is None:
            emit(node)  # a leaf: nothing to list before it
            continue
        push(node)
        push(_EMIT)
        for parent in reversed(op.parents(node)):
            if parent not in visited:
                push(parent)
    return order


def backpropagate(
    root: Node | list,
    seed: Any,
    on_step: Callable[[Any], object] | None = None,
    create_graph: bool = False,
) -> list[Node]:
    """Apply the chain rule from ``root`` back to every leaf; return the topological order.

    ``seed`` is ``d L / d root``, the gradient backward starts from; ``root`` and ``seed`` may be lists
    (several outputs, each with its gradient). Gradients of
    intermediate nodes are reset at the start of each pass, so a second ``backward`` over the same
    graph gives them that pass's gradient; leaf gradients accumulate across passes until the user
    zeroes them (as in PyTorch).

    ``create_graph``: the chain rule is applied with recorded operations (``op.backprop_graph``),
    so every gradient is itself a node that can be differentiated again.

    ``on_step(node)``, if given, is called once per node in the order the walk visits them
    (reversed topological order, the root first, leaves included): for a node made by an op,
    right after its chain-rule step has sent its gradient to its inputs; for a leaf, when
    the walk reaches it. Either way ``node.grad`` is complete at that point. The pictures of
    backward watch the real walk through it instead of replaying it.

    Hooks (``register_hook``) run on a node's gradient when it is complete, before it is sent on;
    on a leaf they see this pass's gradient, and what they return is what accumulates.
    """
    node: Any  # a Value or a Tensor, each stepped by its own kind of op
    roots = root if isinstance(root, list) else [root]
    seeds = seed if isinstance(root, list) else [seed]
    order = topological_order(roots)
    for node in order:
        if node.op is not None:
            node.grad = node.GRAD_ZERO
    stashed = _stash_hooked_leaves(order) if HOOKS else None
    if LISTENERS:
        notify("backward", roots, seeds, order, create_graph)
    for r, s in zip(roots, seeds):
        r.accumulate_grad(s)
    if on_step is None and not create_graph and not HOOKS and STEP_CHECK is None:
        for node in reversed(order):
            op = node.op
            if op is not None:
                op.backprop(node)
        if LISTENERS:
            notify("backward_done", roots, order)
        return order
    check = STEP_CHECK
    for node in reversed(order):
        op = node.op
        if stashed is not None:
            _run_hooks(node, stashed)
        if op is not None:
            if check is not None:
                check(node)
            if create_graph:
                op.backprop_graph(node)
            else:
                op.backprop(node)
        if on_step is not None:
            on_step(node)
    if LISTENERS:
        notify("backward_done", roots, order)
    return order


def _stash_hooked_leaves(order: list[Any]) -> dict[int, Any]:
    """Leaves with hooks start this pass from zero; their earlier gradient is kept aside."""
    stashed = {}
    for node in order:
        if node.op is None and node.hooks:
            stashed[id(node)] = node.grad
            node.grad = node.GRAD_ZERO
    return stashed


def _run_hooks(node: Any, stashed: dict[int, Any]) -> None:
    hooks = node.hooks
    if not hooks:
        return
    g = node.grad
    if g is not None:
        for hook in hooks:
            replaced = hook(g)
            if replaced is not None:
                g = node.coerce_grad(replaced)
    if node.op is None:
        node.grad = stashed.pop(id(node), node.GRAD_ZERO)
        if g is not None:
            node.accumulate_grad(g)
    else:
        node.grad = g
