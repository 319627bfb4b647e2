"""Which nodes a picture shows and what kind each one is (no drawing here).

Three kinds of node, told apart in every picture:

- *intermediate*: made by an op;
- *parameter*: a leaf that training adjusts;
- *input*: any other leaf (data, a target, a constant).

A ``Tensor`` leaf says which it is itself: ``requires_grad=True`` makes it a parameter. A
``Value`` has no such flag (``backward`` fills in every leaf's grad, as in micrograd), so the
rule for Values is: pass ``parameters=`` (a list of nodes, or a module with ``.parameters()``)
and every Value leaf not in it is an input; without ``parameters=`` every Value leaf counts as a
parameter. ``parameters=`` applies to Tensor leaves too when given.
"""

from __future__ import annotations

from ..graph import topological_order
from ..tensor import Tensor
from ..value import Value


def graph_nodes(root, max_nodes=400, *, where="draw_graph") -> list:
    """``topological_order(root)``, or ``ValueError`` when it holds more than ``max_nodes`` nodes."""
    if not isinstance(root, (Value, Tensor)):
        raise TypeError(f"{where}: expected a Value or a Tensor, got {type(root).__name__}")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"{where}: max_nodes must be a positive int or None, got {max_nodes!r}")
    order = topological_order(root)
    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(
            f"{where}: the graph has {len(order)} nodes, more than max_nodes={max_nodes}; a picture this "
            f"big is unreadable and slow for dot. Draw a smaller piece (one neuron, one layer, a short "
            f"sequence), or pass max_nodes={len(order)} (or max_nodes=None) to draw it anyway."
        )
    return order


def parameter_ids(parameters, where="draw_graph") -> frozenset | None:
    """The ids of ``parameters`` (nodes, or a module's ``.parameters()``); ``None`` when not given."""
    if parameters is None:
        return None
    if callable(getattr(parameters, "parameters", None)):
        parameters = parameters.parameters()
    try:
        items = list(parameters)
    except TypeError:
        raise TypeError(
            f"{where}: parameters= takes a list of Values or Tensors, or a module with .parameters(); "
            f"got {type(parameters).__name__}"
        ) from None
    bad = [type(p).__name__ for p in items if not isinstance(p, (Value, Tensor))]
    if bad:
        raise TypeError(f"{where}: parameters= must hold Values or Tensors, found {', '.join(sorted(set(bad)))}")
    return frozenset(id(p) for p in items)


def node_kind(node, parameters: frozenset | None = None) -> str:
    """``"intermediate"``, ``"parameter"`` or ``"input"`` (see the module's docstring for the rule)."""
    if node.op is not None:
        return "intermediate"
    if parameters is not None:
        return "parameter" if id(node) in parameters else "input"
    if isinstance(node, Tensor) and not node.requires_grad:
        return "input"
    return "parameter"


def gets_grad(node) -> bool:
    """False for a Tensor that does not require grad (backward never gives it one)."""
    return not isinstance(node, Tensor) or node.requires_grad
