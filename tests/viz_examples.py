"""Example graphs shared by the tests of the pictures (test_viz.py, test_frames.py)."""

from __future__ import annotations

import random

from autograd import Tensor, Value, topological_order
from nn.scalar import MLP


def micrograd_graph():
    """micrograd's ``L = (a*b + c) * f``, labelled, after backward."""
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    f = Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    L.backward()
    return L


def tensor_graph():
    """``sigmoid(x @ w + b).sum()`` with a constant input x, after backward."""
    x = Tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], label="x")
    w = Tensor([[0.1], [-0.2], [0.3]], requires_grad=True, label="w")
    b = Tensor([0.05], requires_grad=True, label="b")
    z = x @ w + b
    z.label = "z"
    y = z.sigmoid().sum()
    y.label = "y"
    y.backward()
    return y


def mlp_graph():
    """``(MLP(3, [4, 1])(x) - 1) ** 2``: one ``weighted_sum`` node per neuron; no backward yet."""
    random.seed(4)  # 16 of the 21 parameters get a nonzero gradient
    model = MLP(3, [4, 1])
    x = [Value(0.5, label="x1"), Value(-1.0, label="x2"), Value(2.0, label="x3")]
    loss = (model(x) - 1.0) ** 2
    loss.label = "loss"
    return model, loss


def by_label(root) -> dict:
    return {node.label: node for node in topological_order(root) if node.label}


class Report:
    """A stand-in for the manual-versus-automatic report: ``status(node)`` from a dict of labels."""

    def __init__(self, statuses):
        self.statuses = statuses

    def status(self, node):
        return self.statuses.get(node.label)
