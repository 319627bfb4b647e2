"""``Value``: one scalar (a Python float) in a computation graph.

A drop-in for micrograd's ``Value``: the same operators, methods and numbers, and ``.data`` and
``.grad`` that training loops read and write. Each node keeps the primitive that made it and its
parents in argument order (``.op``, ``.parents``), and no closure: the chain rule lives in
``scalar_ops``, the walk in ``graph``.
"""

from __future__ import annotations

import numbers

from . import graph
from . import scalar_ops as ops
from .graph import backpropagate

_new = object.__new__


class Value:
    """A scalar node: ``data`` (float), ``grad`` (``d root / d self`` after ``backward``)."""

    # _a and _b hold the parents (or, for a ConstantOp, the parent and the constant; for an
    # NaryOp, the tuple of parents): two slots instead of a tuple keep a node near 100 bytes.
    __slots__ = ("data", "grad", "label", "_op", "_a", "_b")

    GRAD_ZERO = 0.0

    def __init__(self, data, label=""):
        self.data = _as_float(data, "Value")
        self.grad = 0.0
        self.label = label
        self._op = None
        self._a = None
        self._b = None

    # ------------------------------------------------------------------ graph structure

    @property
    def op(self):
        """The primitive that made this node (a ``ScalarOp``), or ``None`` for a leaf."""
        return self._op

    @property
    def parents(self) -> tuple:
        """The inputs of the op that made this node, in argument order."""
        op = self._op
        return () if op is None else op.parents(self)

    @property
    def _prev(self) -> tuple:
        # micrograd's name for the parents, read by its graph-drawing helpers
        return self.parents

    def accumulate_grad(self, g: float) -> None:
        self.grad += g

    def backward(self) -> None:
        """Fill ``.grad`` of every node behind this one with ``d self / d node``.

        Leaf gradients add up over calls until reset (``p.grad = 0``); intermediate nodes get
        this pass's gradient.
        """
        backpropagate(self, 1.0)

    # ------------------------------------------------------------------ operators

    def __add__(self, other):
        if type(other) is Value:
            return _binary(ops.ADD, self.data + other.data, self, other)
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _with_constant(ops.ADD_CONST, self.data + c, self, c)

    def __mul__(self, other):
        if type(other) is Value:
            return _binary(ops.MUL, self.data * other.data, self, other)
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _with_constant(ops.MUL_CONST, self.data * c, self, c)

    def __pow__(self, other):
        if type(other) is Value:
            return _binary(ops.POW, ops.power(self.data, other.data), self, other)
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _with_constant(ops.POW_CONST, ops.power(self.data, c), self, c)

    def __rpow__(self, other):
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _with_constant(ops.RPOW_CONST, ops.power(c, self.data), self, c)

    def __neg__(self):
        return self * -1.0

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __sub__(self, other):
        if type(other) is not Value and _constant(other) is None:
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other):
        if _constant(other) is None:
            return NotImplemented
        return (-self) + other

    def __truediv__(self, other):
        if type(other) is not Value:
            c = _constant(other)
            if c is None:
                return NotImplemented
            if c == 0:
                raise ZeroDivisionError(f"/: division of {self.data!r} by zero")
            other = c
        return self * other**-1

    def __rtruediv__(self, other):
        if _constant(other) is None:
            return NotImplemented
        return other * self**-1

    # ------------------------------------------------------------------ functions

    def exp(self):
        """``e^x``; d/dx = e^x."""
        return _unary(ops.EXP, ops.exp(self.data), self)

    def log(self):
        """``ln x`` for x > 0; d/dx = 1/x."""
        return _unary(ops.LOG, ops.log(self.data), self)

    def tanh(self):
        """``tanh x``; d/dx = 1 - tanh(x)^2."""
        return _unary(ops.TANH, ops.math.tanh(self.data), self)

    def sigmoid(self):
        """``1 / (1 + e^-x)``, without overflow; d/dx = s (1 - s)."""
        return _unary(ops.SIGMOID, ops.sigmoid(self.data), self)

    def relu(self):
        """``max(0, x)``; d/dx = 1 for x > 0, else 0."""
        x = self.data
        return _unary(ops.RELU, x if x > 0 else 0.0, self)

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"


# ---------------------------------------------------------------------- node construction
# Nodes are built without __init__: the op's forward already produced a float.


def _binary(op, data, a, b):
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    if graph.GRAD_ENABLED:
        v._op = op
        v._a = a
        v._b = b
    else:
        v._op = v._a = v._b = None
    return v


def _unary(op, data, x):
    return _binary(op, data, x, None)


def _with_constant(op, data, x, c):
    v = _binary(op, data, x, c)
    if v._op is None:
        v._b = None
    return v


def nary(op, data, parents: tuple):
    """A node made by an n-ary primitive from ``parents`` (a tuple of Values)."""
    v = _binary(op, data, parents, None)
    return v


def _constant(x):
    """``x`` as a float if it is a real number, else ``None`` (the operator then defers)."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def _as_float(x, where):
    if isinstance(x, Value):
        return x.data
    c = _constant(x)
    if c is None:
        raise TypeError(f"{where}: data must be a real number, got {type(x).__name__} {x!r}")
    return c
