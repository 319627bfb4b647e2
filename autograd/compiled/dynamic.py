"""Values a compiled step recomputes at every replay although they are not Tensors.

- ``Num``: a number argument of the compiled function (a learning rate), or arithmetic on one. It is
  a ``float`` to any code that reads it; it also carries the expression that recomputes it from the
  current arguments, so the optimizer's ``lr``, a constant Tensor made from it, or an update
  ``p -= lr * p.grad`` follow a new value without re-tracing. A function of it computed outside
  ``+ - * / **`` (``math.exp(lr)``, ``float(lr)``) is a constant of the plan.
- ``GradArray``: a parameter's gradient during the traced call. numpy arithmetic on it (an update
  written by hand under ``no_grad``) records how the result is computed from the gradient buffers,
  so the replay computes it again.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np


def _value(x, numbers):
    return x.evaluate(numbers) if isinstance(x, Num) else x


class Num(float):
    """A float that knows how to recompute itself from the number arguments (``numbers``)."""

    expression: Callable[[Any], float]

    def __new__(cls, value, expression):
        self = float.__new__(cls, value)
        self.expression = expression
        return self

    @classmethod
    def argument(cls, value, index):
        """The ``index``-th number argument."""
        return cls(value, lambda numbers: numbers[index])

    def evaluate(self, numbers) -> float:
        return self.expression(numbers)

    def _combine(self, other, op, swap=False):
        if not isinstance(other, (int, float)) or isinstance(other, bool):
            return NotImplemented
        a, b = (other, self) if swap else (self, other)
        value = op(float(a), float(b))
        return Num(value, lambda numbers: op(_value(a, numbers), _value(b, numbers)))

    def __add__(self, other):
        return self._combine(other, operator.add)

    def __radd__(self, other):
        return self._combine(other, operator.add, swap=True)

    def __sub__(self, other):
        return self._combine(other, operator.sub)

    def __rsub__(self, other):
        return self._combine(other, operator.sub, swap=True)

    def __mul__(self, other):
        return self._combine(other, operator.mul)

    def __rmul__(self, other):
        return self._combine(other, operator.mul, swap=True)

    def __truediv__(self, other):
        return self._combine(other, operator.truediv)

    def __rtruediv__(self, other):
        return self._combine(other, operator.truediv, swap=True)

    def __pow__(self, other):
        return self._combine(other, operator.pow)

    def __rpow__(self, other):
        return self._combine(other, operator.pow, swap=True)

    def __neg__(self):
        return Num(-float(self), lambda numbers: -self.evaluate(numbers))

    def __abs__(self):
        return Num(abs(float(self)), lambda numbers: abs(self.evaluate(numbers)))

    def __pos__(self):
        return self

    __hash__ = float.__hash__


class GradArray(np.ndarray):
    """An array whose value is recomputed at replay: ``expression(numbers)`` gives it afresh.

    A gradient buffer is the simplest one (its expression returns the buffer itself, which the
    replay has just filled); numpy ufuncs on it give new GradArrays whose expression applies the same
    ufunc to the operands' expressions.
    """

    expression: Callable[[Any], np.ndarray] | None = None

    @classmethod
    def of_buffer(cls, buffer: np.ndarray) -> GradArray:
        view = buffer.view(cls)
        view.expression = lambda numbers: buffer
        return view

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [x.view(np.ndarray) if isinstance(x, GradArray) else x for x in inputs]
        result = getattr(ufunc, method)(*plain, **kwargs)
        if kwargs.get("out") is not None:
            return result  # written into an array of the caller's: not an expression of the plan
        frozen = [x if isinstance(x, (GradArray, Num)) else _freeze(x) for x in inputs]
        call = getattr(ufunc, method)

        def expression(numbers):
            return call(*[recompute(x, numbers) for x in frozen], **kwargs)

        out = np.asarray(result).view(GradArray)
        out.expression = expression
        return out

    def __getitem__(self, index):
        result = self.view(np.ndarray)[index]
        parent = self.expression
        out = np.asarray(result).view(GradArray)
        out.expression = lambda numbers: parent(numbers)[index]
        return out

    def __array_finalize__(self, obj):
        self.expression = None  # a view made some other way (reshape, transpose): not followed


def _freeze(x):
    """A plain operand kept as it is now (an array is copied: the caller may change it later)."""
    return np.array(x) if isinstance(x, np.ndarray) else x


class CompileError(RuntimeError):
    """What a compiled function did cannot be replayed, or its replay disagreed with running it."""


def recompute(x, numbers):
    """The current value of an operand recorded at trace time."""
    if isinstance(x, GradArray):
        if x.expression is None:
            raise CompileError(
                "compile: a hand-written update used a gradient reshaped or transposed with numpy; only "
                "arithmetic, reductions and indexing on p.grad are recorded (use an nn optimizer instead)"
            )
        return x.expression(numbers)
    return _value(x, numbers)
