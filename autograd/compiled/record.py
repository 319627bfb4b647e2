"""Recording one eager call of a training step: every primitive, backward pass and update, in order."""

from __future__ import annotations

import numpy as np

from .. import graph
from ..tensor import Tensor
from ..value import watch_writes
from .dynamic import GradArray


class Recorder:
    """Listens to the engine during one call (node creation, backward, in-place changes, optimizer
    steps) and keeps the events in order. ``events`` is a list of tuples ``(kind, *details)``:

    - ``("apply", node, op, inputs, op_args)``: a Tensor op made ``node``;
    - ``("value", node, op, inputs)``: a Value op made ``node``;
    - ``("backward", roots, seeds, order, leaves_without_grad)``, ``("backward_done", roots, order)``;
    - ``("inplace", tensor, what, operand)``: ``tensor``'s data changed in place (not inside a step);
    - ``("step", optimizer)``: an optimizer's update (what it does in between is its own business);
    - ``("zero_grad", parameters)``;
    - ``("constant", tensor, source)``: a number became a constant Tensor; ``("item", tensor, value)``;
    - ``("value_leaf", value)``, ``("value_constant", c, source)``, ``("value_data", value)``,
      ``("value_grad", value, grad)``: a Value leaf made, a number kept as a Value op's constant, and
      writes to existing Values (``autograd.value.watch_writes``);
    - ``("returned", result)``: what the call returned (added by ``compile`` after the call).
    """

    def __init__(self):
        self.events = []
        self._in_step = 0
        self._wrapped = []  # (leaf, buffer): gradients handed out as GradArrays during the call

    def __enter__(self):
        graph.add_tracer(self)
        graph.add_listener(self)
        watch_writes(True)
        return self

    def __exit__(self, *exc):
        watch_writes(False)
        graph.remove_listener(self)
        graph.remove_tracer(self)
        self._unwrap()

    def __call__(self, node, op, inputs, op_args):
        if self._in_step:
            return
        if isinstance(node, Tensor):
            self.events.append(("apply", node, op, tuple(inputs), dict(op_args or {})))
        else:
            self.events.append(("value", node, op, tuple(inputs)))

    def event(self, kind, *details):
        if kind == "step":
            self._in_step += 1
            if self._in_step == 1:
                self._unwrap()
                self.events.append(("step", details[0]))
            return
        if kind == "step_done":
            self._in_step -= 1
            return
        if self._in_step:
            return
        if kind == "backward":
            roots, seeds, order, create_graph = details
            if create_graph:
                self.events.append(("unsupported", "backward(create_graph=True)"))
            leaves = [n for n in order if n.op is None and getattr(n, "requires_grad", True)]
            without = {id(n) for n in leaves if _no_grad_yet(n)}
            seeds = [np.array(s) if isinstance(s, np.ndarray) else s for s in seeds]
            self.events.append(("backward", list(roots), seeds, list(order), without))
            return
        if kind == "backward_done":
            self.events.append(("backward_done", *details))
            self._wrap(details[1])
            return
        self.events.append((kind, *details))

    def _wrap(self, order):
        """Hand out each leaf's gradient as a GradArray: a hand-written update on it is recorded."""
        for n in order:
            grad = n.grad
            if (
                n.op is None
                and isinstance(n, Tensor)
                and isinstance(grad, np.ndarray)
                and not isinstance(grad, GradArray)
            ):
                n.grad = GradArray.of_buffer(grad)
                self._wrapped.append((n, grad))

    def _unwrap(self):
        for n, buffer in self._wrapped:
            if isinstance(n.grad, GradArray):
                n.grad = buffer
        self._wrapped = []


def _no_grad_yet(node) -> bool:
    g = node.grad
    return g is None or (not isinstance(g, np.ndarray) and g == node.GRAD_ZERO and type(g) is float)
