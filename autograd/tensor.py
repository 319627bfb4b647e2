"""``Tensor``: a numpy array in a computation graph.

Operators follow numpy (broadcasting, ``@`` for 1-D, 2-D and batched operands); gradients are
summed back over broadcast axes, so ``t.grad.shape == t.shape`` always. Only tensors that
``requires_grad`` (or are computed from one) record the graph.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from . import graph
from . import tensor_ops as ops
from .graph import backpropagate

_new = object.__new__


class Tensor:
    """A numpy-backed node: ``data`` (ndarray), ``grad`` (ndarray or ``None``)."""

    __slots__ = ("data", "grad", "requires_grad", "label", "_op", "_parents", "_params")

    GRAD_ZERO = None
    __array_ufunc__ = None  # ``ndarray + Tensor`` defers to ``Tensor.__radd__``

    def __init__(self, data, requires_grad=False, label=""):
        self.data = as_array(data, "Tensor")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.label = label
        self._op = None
        self._parents = ()
        self._params = None

    # ------------------------------------------------------------------ properties

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def op(self):
        """The primitive that made this tensor (a ``TensorOp``), or ``None`` for a leaf."""
        return self._op

    @property
    def parents(self) -> tuple:
        """The tensor inputs of the op that made this tensor, in argument order."""
        return self._parents

    @property
    def params(self) -> dict:
        """The op's non-tensor arguments (axis, shape, index, ...)."""
        return dict(self._params or {})

    @property
    def T(self):
        return self.transpose()

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.dtype != np.float64:
            extra = f", dtype={self.dtype}" + extra
        return f"Tensor({body}{extra})"

    def detach(self):
        """A leaf sharing this tensor's data, cut from the graph."""
        t = _wrap(self.data)
        t.label = self.label
        return t

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(
                f"item: only a single-element tensor converts to a number, this one has shape {self.shape}"
            )
        return self.data.item()

    def numpy(self):
        """The data as an ndarray (shared, not copied)."""
        return self.data

    def __float__(self):
        return float(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; use (t.data > 0).any() "
                f"or .all() on its data"
            )
        return bool(self.data)

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)`` is ``t.data`` (a copy when ``copy`` or a new ``dtype`` asks for one)."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    # ------------------------------------------------------------------ backward

    def accumulate_grad(self, g, shared=True) -> None:
        """Add ``g`` to ``grad``. ``shared``: ``g`` may be another array's memory (not ours to keep)."""
        dtype = self.data.dtype
        if g.dtype is not dtype and g.dtype != dtype:
            g = g.astype(dtype)
            shared = False
        if self.grad is None:
            # A leaf's gradient is its own array (the user may update it in place); an
            # intermediate's may share memory with its neighbours', which nothing writes to.
            self.grad = np.array(g) if shared and self._op is None else g
        else:
            self.grad = self.grad + g

    def backward(self, gradient=None) -> None:
        """Fill ``.grad`` of every tensor behind this one with ``d self / d tensor``.

        ``gradient`` is ``d L / d self`` for some later scalar ``L``; it may be left out only for a
        single-element tensor (it is then 1). Leaf gradients add up over calls until zeroed.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph; create the leaves "
                "with Tensor(..., requires_grad=True) (and not inside no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: gradient can be left out only for a single-element tensor, this one has "
                    f"shape {self.shape}; pass gradient= an array of shape {self.shape}"
                )
            seed = np.empty_like(self.data)
            seed.fill(1)
        else:
            seed = as_array(gradient.data if isinstance(gradient, Tensor) else gradient, "backward: gradient")
            if seed.shape != self.shape:
                raise ValueError(f"backward: gradient has shape {seed.shape} but the tensor has shape {self.shape}")
            seed = seed.astype(self.dtype, copy=True)
        backpropagate(self, seed)

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other):
        return _binary(ops.ADD, self, other)

    def __radd__(self, other):
        return _binary(ops.ADD, other, self)

    def __sub__(self, other):
        return _binary(ops.SUB, self, other)

    def __rsub__(self, other):
        return _binary(ops.SUB, other, self)

    def __mul__(self, other):
        return _binary(ops.MUL, self, other)

    def __rmul__(self, other):
        return _binary(ops.MUL, other, self)

    def __truediv__(self, other):
        return _binary(ops.DIV, self, other)

    def __rtruediv__(self, other):
        return _binary(ops.DIV, other, self)

    def __pow__(self, other):
        if isinstance(other, numbers.Real) and not isinstance(other, Tensor):
            return apply(ops.POW_CONST, (self,), exponent=float(other))
        return _binary(ops.POW, self, other)

    def __rpow__(self, other):
        return _binary(ops.POW, other, self)

    def __neg__(self):
        return apply(ops.NEG, (self,))

    def __matmul__(self, other):
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    # ------------------------------------------------------------------ elementwise functions

    def exp(self):
        """``e^x``; d/dx = e^x."""
        return apply(ops.EXP, (self,))

    def log(self):
        """``ln x``; d/dx = 1/x. Gives -inf at 0 and NaN below, as numpy (without its warnings)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return apply(ops.LOG, (self,))

    def tanh(self):
        """``tanh x``; d/dx = 1 - tanh(x)^2."""
        return apply(ops.TANH, (self,))

    def sigmoid(self):
        """``1 / (1 + e^-x)``, without overflow; d/dx = s (1 - s)."""
        return apply(ops.SIGMOID, (self,))

    def relu(self):
        """``max(0, x)``; d/dx = 1 where x > 0, else 0."""
        return apply(ops.RELU, (self,))

    def sqrt(self):
        """``sqrt x``; d/dx = 1 / (2 sqrt x)."""
        with np.errstate(invalid="ignore"):
            return apply(ops.SQRT, (self,))

    def abs(self):
        """``|x|``; d/dx = sign(x) (0 at 0)."""
        return apply(ops.ABS, (self,))

    __abs__ = abs

    # ------------------------------------------------------------------ reductions and shape

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (an int, a tuple of ints, or ``None`` for all)."""
        return apply(ops.SUM, (self,), axis=_axis(axis, self.ndim, "sum"), keepdims=bool(keepdims))

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis`` (an int, a tuple of ints, or ``None`` for all)."""
        axis = _axis(axis, self.ndim, "mean")
        averaged = range(self.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)
        if 0 in (self.shape[d] for d in averaged):
            raise ValueError(f"mean: cannot average over zero elements (shape {self.shape}, axis {axis})")
        return apply(ops.MEAN, (self,), axis=axis, keepdims=bool(keepdims))

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis``; ties share the gradient equally."""
        if self.data.size == 0:
            raise ValueError(f"max: cannot reduce an empty tensor of shape {self.shape}")
        return apply(ops.MAX, (self,), axis=_axis(axis, self.ndim, "max"), keepdims=bool(keepdims))

    def reshape(self, *shape):
        """The same numbers in shape ``shape`` (one dimension may be -1)."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = shape[0]
        try:
            shape = tuple(operator.index(n) for n in shape)
            np.reshape(self.data, shape)
        except (TypeError, ValueError):
            raise ValueError(
                f"reshape: cannot reshape shape {self.shape} ({self.size} elements) into {shape}"
            ) from None
        return apply(ops.RESHAPE, (self,), shape=shape)

    def transpose(self, *axes):
        """Permute the axes (reverse them when none are given), as ``numpy.transpose``."""
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], numbers.Integral)):
            axes = axes[0]
        if axes is not None and len(axes) == 0:
            axes = None
        if axes is not None:
            axes = tuple(operator.index(a) for a in axes)
            in_range = all(-self.ndim <= a < self.ndim for a in axes)
            if not in_range or sorted(a % self.ndim for a in axes) != list(range(self.ndim)):
                raise ValueError(
                    f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of shape {self.shape}"
                )
            axes = tuple(a % self.ndim for a in axes)
        return apply(ops.TRANSPOSE, (self,), axes=axes)

    def __getitem__(self, index):
        index, basic = _index(index)
        try:
            self.data[index]
        except (IndexError, TypeError, ValueError) as e:
            raise IndexError(f"getitem: index {index!r} does not fit shape {self.shape}: {e}") from None
        return apply(ops.GETITEM, (self,), index=index, basic=basic)


# ---------------------------------------------------------------------- construction


def as_array(data, where: str) -> np.ndarray:
    """Copy ``data`` into a fresh float array: float64, or the float type it already has."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"{where}: data is not a rectangular array of numbers (ragged nesting?): {e}") from None
    kind = arr.dtype.kind
    if kind == "f":
        return arr
    if kind in "iub":
        return arr.astype(np.float64)
    if kind == "c":
        raise TypeError(f"{where}: complex data is not supported, got dtype {arr.dtype}")
    raise TypeError(f"{where}: data must be numeric, got dtype {arr.dtype} from {type(data).__name__}")


def _wrap(data: np.ndarray) -> Tensor:
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = False
    t.label = ""
    t._op = None
    t._parents = ()
    t._params = None
    return t


def apply(op, inputs: tuple, **params) -> Tensor:
    """Run primitive ``op`` on Tensors ``inputs``; record the node if any input needs a gradient."""
    try:
        data = op.forward(*[t.data for t in inputs], **params)
    except ValueError as e:
        shapes = " and ".join(str(t.shape) for t in inputs)
        raise ValueError(f"{op.name}: cannot apply to shapes {shapes}: {e}") from None
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    out = _wrap(data)
    if graph.GRAD_ENABLED:
        for t in inputs:
            if t.requires_grad:
                out.requires_grad = True
                out._op = op
                out._parents = inputs
                out._params = params
                break
    return out


def _operand(x, like: Tensor, name: str) -> Tensor:
    """Turn a number or array operand into a constant Tensor (numbers take ``like``'s dtype)."""
    if type(x) is Tensor:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, np.ndarray):
        return _wrap(np.asarray(x, dtype=like.data.dtype))
    if isinstance(x, (np.ndarray, list, tuple, np.generic)):
        return _wrap(as_array(x, name))
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{name}: unsupported operand of type {type(x).__name__}; expected a Tensor, a number or an array")


def _binary(op, a, b) -> Tensor:
    if type(a) is not Tensor:
        a = _operand(a, b, op.name)
    elif type(b) is not Tensor:
        b = _operand(b, a, op.name)
    try:
        return apply(op, (a, b))
    except ValueError:
        if _broadcastable(a.data.shape, b.data.shape):
            raise
        raise ValueError(f"{op.name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def _broadcastable(*shapes) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def _matmul(a, b) -> Tensor:
    if type(a) is not Tensor:
        a = _operand(a, b, "matmul")
    elif type(b) is not Tensor:
        b = _operand(b, a, "matmul")
    sa, sb = a.data.shape, b.data.shape
    if not sa or not sb:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: shapes {sa} and {sb} do not align ({ka} != {kb})")
    if len(sa) > 2 or len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast together") from None
    return apply(ops.MATMUL, (a, b))


def _axis(axis, ndim: int, name: str):
    if axis is None:
        return None
    try:
        axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    except TypeError:
        raise TypeError(f"{name}: axis must be an int or a tuple of ints, got {axis!r}") from None
    normalized = []
    for ax in axes:
        if not isinstance(ax, numbers.Integral):
            raise TypeError(f"{name}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= ax < ndim:
            raise ValueError(f"{name}: axis {ax} is out of range for a tensor with {ndim} dimensions")
        normalized.append(int(ax) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: axis {axis!r} repeats an axis")
    return normalized[0] if isinstance(axis, numbers.Integral) else tuple(normalized)


def _index(index):
    """Normalise an index: Tensors become integer arrays; say whether it is basic indexing."""
    parts = index if isinstance(index, tuple) else (index,)
    converted = []
    basic = True
    for part in parts:
        if isinstance(part, Tensor):
            part = part.data
        if isinstance(part, (list, np.ndarray)):
            part = np.asarray(part)
            if part.dtype.kind == "f":
                if not np.all(part == np.round(part)):
                    raise IndexError("getitem: index arrays must hold integers")
                part = part.astype(np.intp)
            basic = False
        converted.append(part)
    return (tuple(converted) if isinstance(index, tuple) else converted[0]), basic
