"""Forward mode: tangents carried through one forward pass, beside the values.

While a ``ForwardPass`` is active (``with forward_mode() as fp``), every op that makes a node also
computes the node's tangent from its inputs' tangents: a Tensor op by its declared JVP rule
(``TensorOp.tangent``), a Value op by its declared local derivatives, ``t_out = sum_i d_i t_i``
(dual numbers). No graph is needed: inputs need not require grad.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import graph
from .scalar_ops import ZERO
from .typing import Node
from .value import Value


class ForwardPass:
    """The tangents of one forward pass, by node."""

    def __init__(self) -> None:
        self._tangents: dict[
            int, tuple[Any, Any]
        ] = {}  # id(node) -> (node, tangent): the node is kept so that its id stays unique

    def set_tangent(self, node: Node, tangent: Any) -> None:
        """Give input ``node`` the tangent ``tangent`` (a number for a Value, an array of its shape for a Tensor)."""
        if isinstance(node, Value):
            self._tangents[id(node)] = (node, float(tangent))
            return
        t = np.asarray(tangent.data if hasattr(tangent, "data") and not isinstance(tangent, np.ndarray) else tangent)
        t = (
            np.array(np.broadcast_to(t, node.shape), dtype=node.dtype)
            if t.shape != node.shape
            else t.astype(node.dtype)
        )
        if t.shape != node.shape:
            raise ValueError(f"jvp: tangent of shape {t.shape} for an input of shape {node.shape}")
        self._tangents[id(node)] = (node, t)

    def tangent(self, node: Node) -> Any:
        """``node``'s tangent, or None if it does not depend on a seeded input."""
        entry = self._tangents.get(id(node))
        return None if entry is None else entry[1]

    def __call__(self, node: Node, op: Any, inputs: tuple, op_args: dict[str, Any] | None) -> None:
        tangents = [self.tangent(x) for x in inputs]
        if all(t is None for t in tangents):
            return
        if isinstance(node, Value):
            args = [x.data if isinstance(x, Value) else x for x in inputs]
            parent_tangents = [t for x, t in zip(inputs, tangents) if isinstance(x, Value)]
            total = 0.0
            for t, d in zip(parent_tangents, op.derivatives(node.data, *args)):
                if t is not None and d is not ZERO:
                    total += d * t
            self._tangents[id(node)] = (node, total)
            return
        arrays = [x.data for x in inputs]
        self._tangents[id(node)] = (node, op.tangent(tangents, node.data, arrays, op_args or {}))


@contextlib.contextmanager
def forward_mode() -> Iterator[ForwardPass]:
    """Carry tangents through every op inside the block: ``fp.set_tangent(x, t)``, compute, ``fp.tangent(y)``."""
    fp = ForwardPass()
    graph.add_tracer(fp)
    try:
        yield fp
    finally:
        graph.remove_tracer(fp)
