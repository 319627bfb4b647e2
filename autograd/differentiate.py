"""``grad(outputs, inputs)``: gradients returned, not accumulated (PyTorch's ``torch.autograd.grad``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .graph import topological_order
from .tensor import Tensor, run_backward
from .typing import Node
from .value import Value


def grad(
    outputs: Node | Sequence[Node],
    inputs: Node | Sequence[Node],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """``d sum_k <grad_outputs[k], outputs[k]> / d input`` for each input, as a tuple.

    ``outputs`` and ``inputs`` are a node or a sequence of nodes (all Tensors or all Values);
    ``grad_outputs`` may be left out for single-element outputs. Nothing is accumulated into any
    ``.grad``: every node's gradient is left as it was. With ``create_graph=True`` the results are
    nodes of a recorded backward pass, so they can be differentiated again (Hessian-vector
    products, gradient penalties). An input the outputs do not depend on is an error, or ``None``
    with ``allow_unused=True``. ``retain_graph`` is accepted and ignored (graphs are always kept).
    """
    outs = _as_list(outputs, "outputs")
    ins = _as_list(inputs, "inputs")
    kinds = {type(n) if type(n) in (Tensor, Value) else _kind(n) for n in outs + ins}
    if len(kinds) != 1:
        raise TypeError("grad: outputs and inputs must be all Tensors or all Values")
    if grad_outputs is None:
        grad_outputs = [None] * len(outs)
    else:
        grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
        if len(grad_outputs) != len(outs):
            raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outs)} outputs")
    tensors = kinds == {Tensor}
    for k, x in enumerate(ins):
        if tensors and not x.requires_grad:
            raise RuntimeError(f"grad: input {k} (shape {x.shape}) does not require grad")
    if tensors:
        seeds = [o.seed_gradient(g, "grad", create_graph) for o, g in zip(outs, grad_outputs)]
    else:
        seeds = [1.0 if g is None else g for g in grad_outputs]

    order = topological_order(outs)
    in_graph = {id(n) for n in order}
    saved = [(n, n.grad) for n in order]
    for n in order:
        n.grad = n.GRAD_ZERO
    try:
        if tensors:
            run_backward(outs, seeds, create_graph)
        else:
            _value_backward(outs, seeds, create_graph)
        results: list[Any] = []
        for k, x in enumerate(ins):
            if id(x) not in in_graph:
                if not allow_unused:
                    raise RuntimeError(
                        f"grad: input {k} is not part of the outputs' graph (pass allow_unused=True to get None)"
                    )
                results.append(None)
                continue
            g = x.grad
            if tensors and g is None:
                g = Tensor(x.data * 0) if create_graph else (x.data * 0)
            results.append(g)
    finally:
        for n, g in saved:
            n.grad = g
    return tuple(results)


def _value_backward(outs: list, seeds: list, create_graph: bool) -> None:
    from .graph import backpropagate, enable_grad

    if create_graph:
        with enable_grad():
            backpropagate(outs, seeds, create_graph=True)
    else:
        backpropagate(outs, seeds)


def _as_list(x: Node | Sequence[Node], name: str) -> list[Any]:
    if isinstance(x, (Tensor, Value)):
        return [x]
    try:
        items = list(x)
    except TypeError:
        raise TypeError(f"grad: {name} must be a Tensor, a Value or a sequence of them") from None
    if not items:
        raise ValueError(f"grad: {name} is empty")
    return items


def _kind(n: object) -> type:
    raise TypeError(f"grad: expected Tensors or Values, got {type(n).__name__}")
