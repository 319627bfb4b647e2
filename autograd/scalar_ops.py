"""Scalar primitives: each declares its forward rule and its local derivatives side by side.

``derivatives(out, *inputs)`` returns ``d out / d input`` for each differentiable input, given the
forward's own result ``out`` and its inputs (plain floats). The graph walk multiplies these by the
incoming gradient (the chain rule); tools read them to check each primitive against finite
differences and to label the edges of a graph picture.

A derivative that is zero because the output does not depend on that input there (relu left of
its kink, ``x ** 0``) is returned as ``ZERO``: the walk then sends nothing, so an infinite or NaN
gradient arriving from above stops there (``0 * inf`` would be NaN), as PyTorch's ``where``-based
rules do. Any other zero is an ordinary product.

Four shapes of primitive, by what a node stores:

- ``UnaryOp``     ``f(x)``                     parent ``x``
- ``ConstantOp``  ``f(x, c)``, ``c`` a number  parent ``x``; ``c`` is kept on the node, not differentiated
- ``BinaryOp``    ``f(a, b)``                  parents ``a, b``
- ``NaryOp``      ``f(x_1, ..., x_n)``          parents ``x_1 .. x_n``
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .typing import Scalar
    from .value import Value

SCALAR_OPS: dict[str, ScalarOp] = {}
"""Every scalar primitive by name, in declaration order."""


class _StructuralZero(float):
    """A local derivative that is exactly zero because the output ignores that input there."""

    def __repr__(self):
        return "ZERO"


ZERO = _StructuralZero(0.0)


class ScalarOp:
    """A scalar primitive. Subclasses say where a node keeps its inputs.

    ``micrograd`` is the op's string in micrograd's graphs (``Value._op``); ``c`` in it stands for
    the node's constant.
    """

    arity: int | None = None

    def __init__(
        self,
        name: str,
        symbol: str,
        forward: Callable[..., float],
        derivatives: Callable[..., tuple],
        doc: str = "",
        domain: tuple[float, float] = (-2.0, 2.0),
        micrograd: str | None = None,
        register: bool = True,
    ) -> None:
        if register and name in SCALAR_OPS:
            raise ValueError(f"scalar op {name!r} is already declared")
        self.name = name
        self.symbol = symbol
        self.forward = forward
        self.derivatives = derivatives
        self.doc = doc
        self.domain = domain  # where the derivative is smooth: tools sample inputs from here
        self.micrograd = symbol if micrograd is None else micrograd
        if register:
            SCALAR_OPS[name] = self

    def __repr__(self):
        return f"<scalar op {self.name}>"

    def __str__(self):
        return self.symbol

    def parents(self, node: Value) -> tuple[Value, ...]:
        """The parents of ``node``, in argument order."""
        raise NotImplementedError

    def inputs(self, node: Value) -> tuple:
        """The arguments ``derivatives`` takes after ``out``, as nodes (and constants)."""
        raise NotImplementedError

    def input_data(self, node: Value) -> tuple[float, ...]:
        """The arguments ``derivatives`` takes after ``out``, as numbers."""
        raise NotImplementedError

    def backprop(self, node: Value) -> None:
        """Add ``node.grad * d node / d parent`` into each parent's ``grad``."""
        raise NotImplementedError

    def local_derivatives(self, node: Value) -> tuple:
        """``d node / d parent`` for each parent of ``node``, in order."""
        return self.derivatives(node.data, *self.input_data(node))

    def input_grads(self, node: Value) -> tuple:
        """What ``node`` sends each parent: ``node.grad * d node / d parent`` (``None`` for a structural zero).

        The same numbers ``backprop`` adds into the parents' ``grad``.
        """
        g = node.grad
        return tuple(None if d is ZERO else d * g for d in self.local_derivatives(node))

    def label(self, node: Value) -> str:
        """How the op reads in a picture of ``node``."""
        return self.symbol

    def micrograd_symbol(self, node: Value) -> str:
        """micrograd's string for this op at ``node`` (``Value._op``)."""
        return self.micrograd

    def backprop_graph(self, node: Value) -> None:
        """``backprop`` with recorded operations: ``derivatives`` runs on the node and its inputs as
        Values, so each gradient sent is itself a node (``create_graph=True``)."""
        g = node.grad
        for parent, d in zip(self.parents(node), self.derivatives(node, *self.inputs(node))):
            if d is not ZERO:
                parent.accumulate_grad(d * g)


class UnaryOp(ScalarOp):
    arity = 1

    def parents(self, node):
        return (node._a,)

    def inputs(self, node):
        """The arguments ``derivatives`` takes after ``out``, as nodes (and constants)."""
        return (node._a,)

    def input_data(self, node):
        return (node._a.data,)

    def backprop(self, node):
        x = node._a
        (d,) = self.derivatives(node.data, x.data)
        if d is not ZERO:
            x.grad += d * node.grad


class ConstantOp(ScalarOp):
    arity = 1

    def parents(self, node):
        return (node._a,)

    def inputs(self, node):
        return (node._a, node._b)

    def input_data(self, node):
        return (node._a.data, node._b)

    def backprop(self, node):
        x = node._a
        (d,) = self.derivatives(node.data, x.data, node._b)
        if d is not ZERO:
            x.grad += d * node.grad

    def label(self, node):
        return self.symbol.replace("c", f"{node._b:g}")

    def micrograd_symbol(self, node):
        c = node._b
        return self.micrograd.replace("c", str(int(c)) if c.is_integer() and abs(c) < 1e15 else repr(c))


class BinaryOp(ScalarOp):
    arity = 2

    def parents(self, node):
        return (node._a, node._b)

    def inputs(self, node):
        return (node._a, node._b)

    def input_data(self, node):
        return (node._a.data, node._b.data)

    def backprop(self, node):
        a = node._a
        b = node._b
        da, db = self.derivatives(node.data, a.data, b.data)
        g = node.grad
        if da is not ZERO:
            a.grad += da * g
        if db is not ZERO:
            b.grad += db * g


class AddOp(BinaryOp):
    """``a + b``: both local derivatives are 1, so ``backprop`` passes the gradient on unchanged
    (the most frequent op in a scalar network: spared the call to ``derivatives``)."""

    def backprop(self, node):
        g = node.grad
        node._a.grad += g
        node._b.grad += g


class MulOp(BinaryOp):
    """``a * b``: ``backprop`` applies ``d/da = b, d/db = a`` without the call to ``derivatives``."""

    def backprop(self, node):
        a = node._a
        b = node._b
        g = node.grad
        a.grad += b.data * g
        b.grad += a.data * g


class NaryOp(ScalarOp):
    arity = None

    def parents(self, node):
        return node._a

    def inputs(self, node):
        return node._a

    def input_data(self, node):
        return tuple(p.data for p in node._a)

    def backprop(self, node):
        parents = node._a
        g = node.grad
        ds = self.derivatives(node.data, *[p.data for p in parents])
        for p, d in zip(parents, ds):
            if d is not ZERO:
                p.grad += d * g


class MicrogradOp(ScalarOp):
    """A node built the micrograd way: ``Value(data, children, 'op')`` with a ``_backward`` closure.

    Parents are the children in the order given; ``backprop`` calls the closure (which reads the
    node's ``grad`` and adds into the children's); the local derivatives are what the closure sends
    for a node gradient of 1 (each parent's gradient is put back afterwards).
    """

    def __init__(self):
        super().__init__(
            "micrograd", "f", None, None, "an op declared the micrograd way, by its _backward closure", register=False
        )

    def parents(self, node):
        return node._a

    def input_data(self, node):
        return tuple(p.data for p in node._a)

    def backprop(self, node):
        step = (node._extra or {}).get("backward")
        if step is not None:
            step()

    def backprop_graph(self, node: Value) -> None:
        raise RuntimeError(
            f"backward(create_graph=True): the op {node._b!r} was declared the micrograd way, with a _backward "
            f"closure on floats, so its derivative cannot be differentiated again; declare it with "
            f"autograd.extend.scalar_op(name, forward, derivatives) instead"
        )

    def local_derivatives(self, node):
        parents = node._a
        saved = [p.grad for p in parents]
        saved_own = node.grad
        try:
            for p in parents:
                p.grad = 0.0
            node.grad = 1.0
            self.backprop(node)
            # a parent listed twice receives both contributions: report each once, on its first slot
            seen = set()
            out = []
            for p in parents:
                out.append(0.0 if id(p) in seen else float(p.grad))
                seen.add(id(p))
            return tuple(out)
        finally:
            node.grad = saved_own
            for p, g in zip(parents, saved):
                p.grad = g

    def label(self, node):
        return node._b or "f"

    def micrograd_symbol(self, node):
        return node._b


# ----------------------------------------------------------------------------- helpers


def power(a: float, b: float) -> float:
    """``a ** b`` as a real number, with errors that name the op."""
    try:
        r = a**b
    except ZeroDivisionError:
        raise ZeroDivisionError(f"**: 0.0 cannot be raised to the negative power {b!r}") from None
    except OverflowError:
        raise OverflowError(f"**: {a!r} ** {b!r} is too large for a float") from None
    if type(r) is complex:
        raise ValueError(f"**: negative base {a!r} with non-integer exponent {b!r} has no real value")
    return r


def power_rule(x: Scalar, c: Scalar) -> Scalar:
    """``d/dx x**c = c * x**(c - 1)``; infinite where ``x = 0`` and ``c < 1``; ``ZERO`` for ``c = 0``."""
    if c == 0 or getattr(c, "data", None) == 0:
        return ZERO
    try:
        r = x ** (c - 1)
    except ZeroDivisionError:
        return math.copysign(math.inf, number(c))
    except OverflowError:
        # |x| tiny and c - 1 negative: the power is infinite, with the sign of x^(c-1)
        xv, cv = number(x), number(c)
        odd = xv < 0 and float(cv - 1).is_integer() and (cv - 1) % 2 == 1
        return math.copysign(math.inf, -cv if odd else cv)
    if type(r) is complex:
        return math.nan
    return c * r


def exponent_rule(out: Scalar, base: Scalar) -> Scalar:
    """``d/db a**b = a**b * log(a)``; 0 where ``a = 0`` (the limit from b > 0), NaN where ``a < 0``."""
    b = number(base)
    if b > 0:
        return out * (math.log(b) if b is base else base.log())  # type: ignore[union-attr]  # a Value here
    return 0.0 if b == 0 else math.nan


def number(x: Scalar) -> float:
    """The number in ``x``: ``x`` itself, or a Value's ``data`` (derivative rules get Values when the
    backward pass is recorded)."""
    return x if isinstance(x, (float, int)) else x.data


def relu(x: float) -> float:
    """``max(0, x)``; NaN stays NaN (as PyTorch)."""
    return 0.0 if x <= 0 else x


def relu_derivative(out: Scalar, x: Scalar) -> tuple[float]:
    """1 where x > 0 (and for NaN, as PyTorch), ``ZERO`` elsewhere (0 at the kink)."""
    return (ZERO if x <= 0 else 1.0,)


def tanh(x: float) -> float:
    return math.tanh(x)


def exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: exp({x!r}) is too large for a float") from None


def log(x: float) -> float:
    if x > 0:
        return math.log(x)
    raise ValueError(f"log: input must be positive, got {x!r}")


def sigmoid(x: float) -> float:
    """``1 / (1 + e^-x)``, evaluated so that ``e^t`` only ever sees ``t <= 0`` (no overflow)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# ----------------------------------------------------------------------------- the table

MICROGRAD = MicrogradOp()
ADD = AddOp("add", "+", lambda a, b: a + b, lambda out, a, b: (1.0, 1.0), "a + b")
MUL = MulOp("mul", "*", lambda a, b: a * b, lambda out, a, b: (b, a), "a * b; d/da = b, d/db = a")
POW = BinaryOp(
    "pow",
    "**",
    power,
    lambda out, a, b: (power_rule(a, b), exponent_rule(out, a)),
    "a ** b; d/da = b a^(b-1) (0 where b = 0), d/db = a^b ln a (0 where a = 0)",
    domain=(0.2, 2.0),
)
ADD_CONST = ConstantOp("add_const", "+ c", lambda x, c: x + c, lambda out, x, c: (1.0,), "x + c", micrograd="+")
MUL_CONST = ConstantOp("mul_const", "* c", lambda x, c: x * c, lambda out, x, c: (c,), "x * c; d/dx = c", micrograd="*")
POW_CONST = ConstantOp(
    "pow_const",
    "** c",
    power,
    lambda out, x, c: (power_rule(x, c),),
    "x ** c; d/dx = c x^(c-1) (0 for c = 0)",
    domain=(0.2, 2.0),
    micrograd="**c",
)
RPOW_CONST = ConstantOp(
    "rpow_const",
    "c **",
    lambda x, c: power(c, x),
    lambda out, x, c: (exponent_rule(out, c),),
    "c ** x; d/dx = c^x ln c",
    micrograd="c**",
)
EXP = UnaryOp("exp", "exp", exp, lambda out, x: (out,), "e^x; d/dx = e^x")
LOG = UnaryOp("log", "log", log, lambda out, x: (1.0 / x,), "ln x; d/dx = 1/x", domain=(0.2, 3.0))
TANH = UnaryOp("tanh", "tanh", tanh, lambda out, x: (1.0 - out * out,), "d/dx tanh x = 1 - tanh(x)^2")
SIGMOID = UnaryOp("sigmoid", "sigmoid", sigmoid, lambda out, x: (out * (1.0 - out),), "d/dx s(x) = s(x) (1 - s(x))")
RELU = UnaryOp(
    "relu",
    "ReLU",
    relu,
    relu_derivative,
    "max(0, x); d/dx = 1 if x > 0 else 0 (0 at the kink, as PyTorch)",
)
