"""``Value``: one scalar (a Python float) in a computation graph.

A drop-in for micrograd's ``Value``: the same constructor (``Value(data, _children=(), _op='',
label='')``), operators, methods and numbers; ``.data`` and ``.grad`` that training loops read and
write; ``_prev`` (the set of parents), ``_op`` (the op's string: ``'+'``, ``'*'``, ``'**2'``,
``'ReLU'``, ``'tanh'``, ...) and a callable ``_backward`` that applies this node's chain-rule step.
An op added the micrograd way (``out = Value(f(x.data), (x,), 'f'); out._backward = step``) takes
part in ``backward`` like any other.

Each node keeps the primitive that made it and its parents in argument order (``.op``,
``.parents``), and no closure: the chain rule lives in ``scalar_ops``, the walk in ``graph``.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import graph
from . import scalar_ops as ops
from .graph import backpropagate

if TYPE_CHECKING:
    from .scalar_ops import ScalarOp
    from .typing import Scalar

_new = object.__new__


class Value:
    """A scalar node: ``data`` (float), ``grad`` (``d root / d self`` after ``backward``)."""

    # _a and _b hold the parents (or, for a ConstantOp, the parent and the constant; for an NaryOp,
    # the tuple of parents): two slots instead of a tuple keep a node near 100 bytes. _extra is None
    # or a dict of what few nodes need (a micrograd-style "backward" closure, "hooks"), so the others
    # pay one slot for it.
    __slots__ = ("data", "grad", "label", "op", "_a", "_b", "_extra")

    data: float
    grad: Any  # a float; a Value after backward(create_graph=True)
    label: str
    op: ScalarOp | None
    _a: Any
    _b: Any
    _extra: dict[str, Any] | None

    GRAD_ZERO = 0.0

    def __init__(
        self, data: float | Value, _children: Iterable[Value] | str = (), _op: str = "", label: str = ""
    ) -> None:
        if isinstance(_children, str) and not label:
            label, _children = _children, ()  # Value(2.0, "x"): a label, as in earlier releases
        self.data = _as_float(data, "Value")
        self.grad = 0.0
        self.label = label
        self.op = None
        self._a = None
        self._b = None
        self._extra = None
        if _children or _op:
            children = tuple(_children)
            for c in children:
                if not isinstance(c, Value):
                    raise TypeError(f"Value: _children must be Values, got {type(c).__name__}")
            self.op = ops.MICROGRAD
            self._a = children
            self._b = str(_op)
        if graph.LISTENERS:
            graph.notify("value_leaf", self)  # a recording replays this Value as a constant

    # ------------------------------------------------------------------ graph structure

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs of the op that made this node, in argument order."""
        op = self.op
        return () if op is None else op.parents(self)

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name for the parents: a set (so ``x * x`` has one)."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's string for the op that made this node (``''`` for a leaf)."""
        op = self.op
        return "" if op is None else op.micrograd_symbol(self)

    @property
    def _backward(self) -> Callable[[], None]:
        """This node's chain-rule step as a callable (micrograd's ``_backward``): it adds
        ``self.grad * d self / d parent`` into each parent's ``grad``."""
        op = self.op
        if op is None:
            return _nothing
        if op is ops.MICROGRAD:
            return (self._extra or {}).get("backward") or _nothing
        return functools.partial(op.backprop, self)

    @_backward.setter
    def _backward(self, step: Callable[[], None]) -> None:
        if not callable(step):
            raise TypeError(f"Value._backward must be callable, got {type(step).__name__}")
        if self.op is not ops.MICROGRAD:
            # a node made by a primitive becomes a micrograd-style node with the same parents and string
            parents, symbol = self.parents, self._op
            self.op, self._a, self._b = ops.MICROGRAD, parents, symbol
        if self._extra is None:
            self._extra = {}
        self._extra["backward"] = step

    def accumulate_grad(self, g: Scalar) -> None:
        grad = self.grad
        if type(grad) is float and grad == 0.0 and isinstance(g, Value):
            self.grad = g  # a recorded gradient (create_graph): no "0 +" node in front of it
        else:
            self.grad = grad + g

    def backward(self, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node behind this one with ``d self / d node``.

        Leaf gradients add up over calls until reset (``p.grad = 0``); intermediate nodes get
        this pass's gradient. ``create_graph=True`` records the backward pass: each ``.grad`` is then
        a Value in a graph of its own, so ``x.grad.backward()`` gives second derivatives.
        """
        if create_graph:
            with graph.enable_grad():
                backpropagate(self, 1.0, create_graph=True)
        else:
            backpropagate(self, 1.0)

    # ------------------------------------------------------------------ hooks

    @property
    def notes(self) -> dict[str, Any]:
        """Per-node annotations tools attach (where anomaly mode saw the node made, its hooks)."""
        if self._extra is None:
            self._extra = {}
        return self._extra

    @property
    def hooks(self) -> tuple[Callable[[Any], Any], ...]:
        """The functions registered with ``register_hook``, in order."""
        extra = self._extra
        return tuple(extra.get("hooks", ())) if extra else ()

    def register_hook(self, hook: Callable[[Any], Any]) -> graph.HookHandle:
        """Call ``hook(grad)`` when this node's gradient is complete in a backward pass; a number it
        returns replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
        if self._extra is None:
            self._extra = {}
        self._extra.setdefault("hooks", []).append(hook)
        return graph.HookHandle(self, hook)

    def remove_hook(self, hook: Callable[[Any], Any]) -> None:
        """Unregister ``hook`` (what the handle's ``remove()`` does)."""
        graph.remove_from(self._extra, hook)

    def retain_grad(self) -> None:
        """Accepted for PyTorch code: every node keeps its gradient here anyway."""

    def coerce_grad(self, g: Any) -> Scalar:
        """A hook's returned gradient as this node's gradient (a number, or a Value under create_graph)."""
        return g if isinstance(g, Value) else _as_float(g, "hook")

    # ------------------------------------------------------------------ operators

    def __add__(self, other: Scalar) -> Value:
        if type(other) is Value or isinstance(other, Value):
            return _binary(ops.ADD, self.data + other.data, self, other)
        c = _constant(other)
        if c is None:
            return NotImplemented
        return with_constant(ops.ADD_CONST, self.data + c, self, c)

    def __mul__(self, other: Scalar) -> Value:
        if type(other) is Value or isinstance(other, Value):
            return _binary(ops.MUL, self.data * other.data, self, other)
        c = _constant(other)
        if c is None:
            return NotImplemented
        return with_constant(ops.MUL_CONST, self.data * c, self, c)

    def __pow__(self, other: Scalar) -> Value:
        if isinstance(other, Value):
            return _binary(ops.POW, ops.power(self.data, other.data), self, other)
        c = _constant(other)
        if c is None:
            return NotImplemented
        return with_constant(ops.POW_CONST, ops.power(self.data, c), self, c)

    def __rpow__(self, other: Scalar) -> Value:
        c = _constant(other)
        if c is None:
            return NotImplemented
        return with_constant(ops.RPOW_CONST, ops.power(c, self.data), self, c)

    def __neg__(self) -> Value:
        return self * -1.0

    def __radd__(self, other: Scalar) -> Value:
        return self + other

    def __rmul__(self, other: Scalar) -> Value:
        return self * other

    def __sub__(self, other: Scalar) -> Value:
        if not isinstance(other, Value) and _constant(other) is None:
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other: Scalar) -> Value:
        if _constant(other) is None:
            return NotImplemented
        return (-self) + other

    def __truediv__(self, other: Scalar) -> Value:
        if isinstance(other, Value):
            if other.data == 0:
                raise ZeroDivisionError(f"/: division of {self.data!r} by a Value that is zero")
        else:
            c = _constant(other)
            if c is None:
                return NotImplemented
            if c == 0:
                raise ZeroDivisionError(f"/: division of {self.data!r} by zero")
            other = c
        return self * other**-1

    def __rtruediv__(self, other: Scalar) -> Value:
        c = _constant(other)
        if c is None:
            return NotImplemented
        if self.data == 0:
            raise ZeroDivisionError(f"/: division of {c!r} by a Value that is zero")
        return c * self**-1

    # Comparisons look at the data (a Value is not a number, but code such as max(values) or the
    # derivative of relu under higher order compares them); equality stays identity, as micrograd.
    def __lt__(self, other: Scalar) -> bool:
        return self.data < _as_float(other, "<")

    def __le__(self, other: Scalar) -> bool:
        return self.data <= _as_float(other, "<=")

    def __gt__(self, other: Scalar) -> bool:
        return self.data > _as_float(other, ">")

    def __ge__(self, other: Scalar) -> bool:
        return self.data >= _as_float(other, ">=")

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ functions

    def exp(self) -> Value:
        """``e^x``; d/dx = e^x."""
        return _unary(ops.EXP, ops.exp(self.data), self)

    def log(self) -> Value:
        """``ln x`` for x > 0; d/dx = 1/x."""
        return _unary(ops.LOG, ops.log(self.data), self)

    def tanh(self) -> Value:
        """``tanh x``; d/dx = 1 - tanh(x)^2."""
        return _unary(ops.TANH, ops.tanh(self.data), self)

    def sigmoid(self) -> Value:
        """``1 / (1 + e^-x)``, without overflow; d/dx = s (1 - s)."""
        return _unary(ops.SIGMOID, ops.sigmoid(self.data), self)

    def relu(self) -> Value:
        """``max(0, x)``; d/dx = 1 for x > 0, else 0 (NaN stays NaN, as PyTorch)."""
        return _unary(ops.RELU, ops.relu(self.data), self)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"


def _nothing() -> None:
    return None


# ---------------------------------------------------------------------- node construction
# Nodes are built without __init__: the op's forward already produced a float.


def _binary(op: ScalarOp, data: float, a: Any, b: Any) -> Value:
    if graph.FAST:
        v = _new(Value)
        v.data = data
        v.grad = 0.0
        v.label = ""
        v._extra = None
        v.op = op
        v._a = a
        v._b = b
        return v
    return _traced_or_detached(op, data, a, b)


def _traced_or_detached(op: ScalarOp, data: float, a: Any, b: Any) -> Value:
    """``_binary`` under ``no_grad`` or while something traces node creation. ``data`` and ``grad`` are
    set through the slots themselves, so that ``watch_writes`` sees only writes to existing Values."""
    v = _new(Value)
    _DATA_SLOT.__set__(v, data)
    _GRAD_SLOT.__set__(v, 0.0)
    v.label = ""
    v._extra = None
    if graph.is_grad_enabled():
        v.op = op
        v._a = a
        v._b = b
    else:
        v.op = v._a = v._b = None
    if graph.TRACERS:
        graph.trace(v, op, _inputs(a, b))
    return v


def _inputs(a: Any, b: Any) -> tuple:
    """An op's inputs from the two slots: a tuple (n-ary), one Value, or a Value and a second input."""
    if b is None:
        return a if type(a) is tuple else (a,)
    return (a, b)


def _unary(op: ScalarOp, data: float, x: Value) -> Value:
    return _binary(op, data, x, None)


def with_constant(op: ScalarOp, data: float, x: Value, c: float) -> Value:
    """A node made by a ``ConstantOp`` from the Value ``x`` and the number ``c`` (kept on the node, not
    differentiated), whose forward gave ``data``."""
    v = _binary(op, data, x, c)
    if v.op is None:
        v._b = None
    return v


def nary(op: ScalarOp, data: float, parents: tuple[Value, ...]) -> Value:
    """A node made by an n-ary primitive from ``parents`` (a tuple of Values)."""
    return _binary(op, data, parents, None)


def _constant(x: object) -> float | None:
    """``x`` as a float if it is a real number, else ``None`` (the operator then defers).

    A real number that is neither a float nor an int (a compiled function's number argument, a numpy
    scalar) is announced to graph listeners as ``("value_constant", c, x)``, ``c`` the float kept."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):
        c = float(x)
        if type(x) is not int and graph.LISTENERS:
            graph.notify("value_constant", c, x)
        return c
    return None


def _as_float(x: object, where: str) -> float:
    if isinstance(x, Value):
        return x.data
    c = _constant(x)
    if c is None:
        raise TypeError(f"{where}: data must be a real number, got {type(x).__name__} {x!r}")
    return c


# ---------------------------------------------------------------------- watching writes
# A recording of a training step (autograd.compile) must know about writes it cannot see as ops: a
# hand-written update ``p.data -= lr * p.grad``, micrograd's ``zero_grad`` (``p.grad = 0``). While
# ``watch_writes`` is on, ``data`` and ``grad`` are properties over the slots that report such writes;
# otherwise they are the plain slots, so Value pays nothing for this outside a recording.

_DATA_SLOT = Value.__dict__["data"]
_GRAD_SLOT = Value.__dict__["grad"]


class _Watch:
    """How many recordings watch writes, and how many backward passes are running meanwhile."""

    recordings = 0
    backward_passes = 0

    def event(self, kind: str, *details: Any) -> None:
        if kind == "backward":
            _Watch.backward_passes += 1
        elif kind == "backward_done":
            _Watch.backward_passes -= 1


_WATCH = _Watch()


def _has(node: Value, slot: Any) -> bool:
    try:
        slot.__get__(node)
    except AttributeError:
        return False
    return True


def _watched_set_data(node: Value, x: float) -> None:
    existed = _has(node, _DATA_SLOT)
    _DATA_SLOT.__set__(node, x)
    if existed:
        graph.notify("value_data", node)


def _watched_set_grad(node: Value, g: Any) -> None:
    existed = _has(node, _GRAD_SLOT)
    _GRAD_SLOT.__set__(node, g)
    if existed and not _Watch.backward_passes and node.op is None:
        graph.notify("value_grad", node, g)


def watch_writes(on: bool) -> None:
    """Start (``True``) or stop (``False``) reporting writes to graph listeners; calls nest.

    While on: rebinding an existing Value's ``data`` sends ``("value_data", node)``; rebinding a leaf's
    ``grad`` outside a backward pass sends ``("value_grad", node, new_grad)``. Values being made and
    the backward pass's own accumulation are not reported.
    """
    if on:
        _Watch.recordings += 1
        if _Watch.recordings == 1:
            _Watch.backward_passes = 0
            graph.add_listener(_WATCH)
            # a property in place of each slot (and the slot back below): the class changes at run time
            Value.data = property(_DATA_SLOT.__get__, _watched_set_data)  # type: ignore[misc, assignment]
            Value.grad = property(_GRAD_SLOT.__get__, _watched_set_grad)  # type: ignore[misc]
    elif _Watch.recordings:
        _Watch.recordings -= 1
        if _Watch.recordings == 0:
            Value.data = _DATA_SLOT  # type: ignore[misc]
            Value.grad = _GRAD_SLOT  # type: ignore[misc]
            graph.remove_listener(_WATCH)
