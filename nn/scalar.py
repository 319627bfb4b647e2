"""micrograd's ``Neuron``, ``Layer`` and ``MLP`` on ``Value``, with each weighted sum one node.

Constructors and initialisation are micrograd's (``random.uniform(-1, 1)`` per weight, bias 0, in
the same order), so after the same ``random.seed`` the weights are identical. The difference is the
graph: micrograd builds ``b + w_1 x_1 + ... + w_n x_n`` from 2n binary nodes; here it is one
``weighted_sum`` node with 2n + 1 parents (``nn.primitives.WEIGHTED_SUM``), which makes the graph
about ten times smaller and the training loop correspondingly faster.

Names, for the pictures: an ``MLP``'s parameters are labelled ``w[layer][neuron][i]`` (the weight
from input ``i``) and ``b[layer][neuron]``, a ``Layer``'s ``w[neuron][i]`` and ``b[neuron]``, a
lone ``Neuron``'s ``w[i]`` and ``b``; numbers given as the input become Values labelled ``x[i]``.
Draw with ``draw_graph(loss, parameters=model)`` to have the inputs drawn apart from the parameters.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from autograd import Value
from autograd.typing import Node, Scalar
from autograd.value import nary

from .module import Module
from .primitives import WEIGHTED_SUM


def as_values(xs: Iterable[Scalar], name: str = "") -> list[Value]:
    """``xs`` with every number wrapped as a (constant) Value, labelled ``name[i]`` when ``name`` is given."""
    if name:
        return [x if type(x) is Value else Value(x, label=f"{name}[{i}]") for i, x in enumerate(xs)]
    return [x if type(x) is Value else Value(x) for x in xs]


def name_parameters(neuron: Neuron, where: str = "") -> None:
    """Label ``neuron``'s parameters ``w{where}[i]`` and ``b{where}`` (``where`` as ``"[0][2]"``)."""
    for i, w in enumerate(neuron.w):
        w.label = f"w{where}[{i}]"
    neuron.b.label = f"b{where}"


def weighted_sum(w: Iterable[Scalar], x: Iterable[Scalar], b: Scalar) -> Value:
    """``b + sum_i w_i x_i`` as one node with parents ``(w_1..w_n, x_1..x_n, b)``.

    d/dw_i = x_i, d/dx_i = w_i, d/db = 1. Numbers among ``w``, ``x`` and ``b`` are wrapped as Values.
    """
    ws = tuple(as_values(w))
    xs = tuple(as_values(x))
    if len(ws) != len(xs):
        raise ValueError(f"weighted_sum: {len(ws)} weights but {len(xs)} inputs")
    return weighted_sum_of_values(ws, xs, b if type(b) is Value else Value(b))


def weighted_sum_of_values(w: tuple[Value, ...], x: tuple[Value, ...], b: Value) -> Value:
    """``weighted_sum`` for a tuple of Values ``w``, one of the same length ``x`` and a Value ``b``,
    unchecked: the fast path of a neuron."""
    acc = b.data
    for wi, xi in zip(w, x):
        acc += wi.data * xi.data
    return nary(WEIGHTED_SUM, acc, (*w, *x, b))


class Neuron(Module):
    """``relu(b + sum_i w_i x_i)``, or the plain sum when ``nonlin=False``."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin
        name_parameters(self)

    def forward(self, x: Sequence[Scalar]) -> Value:
        xs = tuple(as_values(x, "x"))
        if len(xs) != len(self.w):
            raise ValueError(f"Neuron({len(self.w)}): got {len(xs)} inputs")
        return self._act(xs)

    def _act(self, x: tuple[Value, ...]) -> Value:
        act = weighted_sum_of_values(tuple(self.w), x, self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Node]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same inputs; a single output is returned unwrapped (as micrograd)."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]
        for j, neuron in enumerate(self.neurons):
            name_parameters(neuron, f"[{j}]")

    def forward(self, x: Sequence[Scalar]) -> Value | list[Value]:
        xs = tuple(as_values(x, "x"))
        nin = len(self.neurons[0].w)
        if len(xs) != nin:
            raise ValueError(f"Layer({nin}, {len(self.neurons)}): got {len(xs)} inputs")
        out = [n._act(xs) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Node]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``[nin] + nouts``; ReLU everywhere except the last layer (linear)."""

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]
        for k, layer in enumerate(self.layers):
            for j, neuron in enumerate(layer.neurons):
                name_parameters(neuron, f"[{k}][{j}]")

    def forward(self, x: Sequence[Scalar]) -> Value | list[Value]:
        out: Any = x
        for layer in self.layers:
            out = layer(out)
        return out

    def parameters(self) -> list[Node]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
