"""``explain_gradient``: the multivariate chain rule, path by path, with the numbers.

``d root / d x`` is the sum, over every path from ``x`` to ``root`` in the graph, of the product of
the local derivatives on the path's edges. A node used twice (``x * x``, or ``x`` feeding two ops)
opens two paths; a path is a sequence of edges, each edge one argument of one op.

For a Tensor graph an edge's local derivative is a Jacobian: the product along a path is the chain
of vector-Jacobian products restricted to that path (what backward would send back along it alone);
choose ``element`` to read one element of it as a number.

Path counts grow exponentially with depth in a graph that shares subexpressions; backward sums
them all without listing them by visiting each node once. ``max_paths`` caps the listing, and
``total`` is always the full gradient.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import topological_order
from .graphinfo import NodeNames, all_gradients, check_root, consumers, is_node, sent_gradients
from .tensor import Tensor
from .typing import Node
from .value import Value


@dataclass
class GradientPath:
    """One path from the node to the root: ``nodes`` (node first, root last), ``edges`` (the
    ``(child, slot)`` taken at each step), each edge's local derivative (a number, or ``None`` for
    a tensor edge that is a Jacobian) and the path's ``product``."""

    nodes: list
    edges: list
    derivatives: list
    product: object  # float, or an array shaped like the node when no element was chosen


@dataclass
class GradientExplanation:
    """``d root / d node`` as the sum over ``paths``; ``total`` is the gradient backward gives."""

    root: object
    node: object
    paths: list
    path_count: int  # every path, listed or not
    total: object  # d root / d node (element), the sum over all paths
    element: tuple | None = None
    max_paths: int = 0
    names: NodeNames | None = field(default=None, repr=False)

    @property
    def truncated(self) -> bool:
        return self.path_count > len(self.paths)

    @property
    def listed_total(self):
        """The sum over the listed paths (``total`` when none were left out)."""
        if not self.paths:
            return 0.0
        out = self.paths[0].product
        for p in self.paths[1:]:
            out = out + p.product
        return out

    def _name(self, node: Any) -> str:
        names = self.names
        return node.label if names is None else names.name(node)

    def _step(self, child, slot) -> str:
        """``z (mul)``, with the argument's position when the op takes the same node twice."""
        parent = child.parents[slot]
        twice = sum(p is parent for p in child.parents) > 1
        where = f", argument {slot + 1}" if twice else ""
        return f"{self._name(child)} ({child.op.name}{where})"

    def _target(self) -> str:
        name = self._name(self.node)
        if self.element is not None and isinstance(self.node, Tensor) and self.node.ndim:
            name += "[" + ", ".join(str(i) for i in self.element) + "]"
        return name

    def __str__(self) -> str:
        root, target = self._name(self.root), self._target()
        scalar_edges = all(d is not None for p in self.paths for d in p.derivatives)
        how = "the product of the local derivatives" if scalar_edges else "the chain of vector-Jacobian products"
        plural = "path" if self.path_count == 1 else "paths"
        lines = [
            f"d{root}/d{target} = the sum over {self.path_count:,} {plural} from {self._name(self.node)} to {root} "
            f"of {how} along each path:"
        ]
        for k, path in enumerate(self.paths, 1):
            steps = [self._step(child, slot) for child, slot in path.edges]
            route = " → ".join([self._name(path.nodes[0])] + _elided(steps))
            if all(d is not None for d in path.derivatives):
                factors = [
                    f"∂{self._name(child)}/∂{self._name(parent)}"
                    for (child, _), parent in zip(path.edges, path.nodes[:-1])
                ]
                values = " · ".join(_elided([_num(d) for d in path.derivatives]))
                lines.append(f"  path {k}: {route}:  {' · '.join(_elided(factors))} = {values} = {_num(path.product)}")
            else:
                lines.append(f"  path {k}: {route}:  {_num(path.product)}")
        total = _num(self.total)
        if self.truncated:
            lines.append(
                f"{self._name(self.node)} reaches {root} along {self.path_count:,} paths: only the first "
                f"{len(self.paths)} are listed (max_paths={self.max_paths}); they add up to "
                f"{_num(self.listed_total)}. Summed over all of them (backward does this without listing "
                f"them, visiting each node once): d{root}/d{target} = {total}"
            )
        else:
            terms = " + ".join(_num(p.product) for p in self.paths) if len(self.paths) <= 12 else "..."
            lines.append(f"d{root}/d{target} = {terms} = {total}  (backward gives {total})")
        return "\n".join(lines)


def explain_gradient(
    root: Node,
    node: Node | str,
    *,
    element: int | tuple[int, ...] | None = None,
    names: Mapping[str, object] | None = None,
    max_paths: int = 100,
) -> GradientExplanation:
    """``d root / d node`` as a sum over paths of products of local derivatives.

    ``node`` is a node of ``root``'s graph, or its name (label or ``names`` entry). For a Tensor
    ``node``, ``element`` (an index) picks one element: each path's product is then a number;
    without it products are arrays shaped like ``node``. At most ``max_paths`` paths are listed;
    ``path_count`` counts all of them and ``total`` is always the whole gradient. Leaves every
    ``.grad`` as it was.
    """
    check_root(root, "explain_gradient")
    if not isinstance(max_paths, numbers.Integral) or max_paths < 1:
        raise ValueError(f"explain_gradient: max_paths must be a positive integer, got {max_paths!r}")
    order = topological_order(root)
    node_names = NodeNames(order, names)
    if isinstance(node, str):
        node = node_names.lookup(node, "explain_gradient")
    if not is_node(node) or not any(n is node for n in order):
        raise ValueError("explain_gradient: node is not part of root's graph (is it an input of some op behind root?)")
    if isinstance(node, Tensor) and not node.requires_grad:
        raise ValueError("explain_gradient: node does not require grad, so no gradient flows to it")
    element = _element(node, element)

    counts = {id(node): 1}
    for n in order:
        if n is node or n.op is None:
            continue
        c = sum(counts.get(id(p), 0) for p in n.parents)
        if c:
            counts[id(n)] = c
    used_by = consumers(order)
    paths: list[GradientPath] = []
    stack: list[tuple[Any, list, list]] = [(node, [node], [])]
    while stack and len(paths) < max_paths:
        current, nodes, edges = stack.pop()
        if current is root:
            paths.append(_path(root, nodes, edges, element))
            continue
        for child, slot in reversed(used_by[id(current)]):
            if id(child) in counts:
                stack.append((child, nodes + [child], edges + [(child, slot)]))

    _, grads = all_gradients(root)
    gradient = grads[id(node)]
    total: float | np.ndarray
    if isinstance(node, Value):
        total = float(gradient)
    elif element is not None:
        total = float(np.asarray(gradient)[element])
    else:
        total = np.asarray(gradient)
    return GradientExplanation(
        root=root,
        node=node,
        paths=paths,
        path_count=counts.get(id(root), 0),
        total=total,
        element=element,
        max_paths=max_paths,
        names=node_names,
    )


def _element(node: Node, element: Any) -> tuple[int, ...] | None:
    if isinstance(node, Value):
        return None
    if element is None:
        return () if node.size == 1 else None
    index = (element,) if isinstance(element, numbers.Integral) else tuple(element)
    if len(index) != node.ndim or not all(
        isinstance(i, numbers.Integral) and -n <= int(i) < n for i, n in zip(index, node.shape)
    ):
        raise IndexError(f"explain_gradient: element {element!r} is not an element of a tensor of shape {node.shape}")
    return tuple(int(i) % n for i, n in zip(index, node.shape))


def _path(root: Node, nodes: list, edges: list, element: tuple[int, ...] | None) -> GradientPath:
    derivatives: list[float | None] = []
    for (child, slot), parent in zip(edges, nodes[:-1]):
        if isinstance(child, Value):
            derivatives.append(float(child.op.local_derivatives(child)[slot]))  # type: ignore[union-attr]  # not a leaf
        elif child.size == 1 and parent.size == 1:
            sent = sent_gradients(child, np.ones_like(child.data))[slot]
            derivatives.append(float(np.asarray(sent).reshape(())))
        else:
            derivatives.append(None)
    known = [d for d in derivatives if d is not None]
    if len(known) == len(derivatives) and isinstance(nodes[0], Value):
        product = 1.0
        for d in known:
            product *= d
        return GradientPath(nodes, edges, derivatives, product)
    g: Any = 1.0 if isinstance(root, Value) else np.ones_like(root.data)
    for child, slot in reversed(edges):
        g = sent_gradients(child, g)[slot]
    chained = np.asarray(g, dtype=np.float64)
    return GradientPath(nodes, edges, derivatives, chained if element is None else float(chained[element]))


def _elided(items: list, keep: int = 3) -> list:
    """A long path's steps with the middle left out."""
    if len(items) <= 2 * keep + 2:
        return items
    return items[:keep] + [f"... {len(items) - 2 * keep} more ..."] + items[-keep:]


def _num(x: Any) -> str:
    if isinstance(x, np.ndarray) and x.ndim:
        return np.array2string(x, precision=4, separator=", ", max_line_width=10**6).replace("\n", "")
    x = float(x)
    text = f"{x:.6g}"
    return f"({text})" if x < 0 else text
