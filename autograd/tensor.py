"""``Tensor``: a numpy array in a computation graph.

Operators follow numpy (broadcasting, ``@`` for 1-D, 2-D and batched operands, indexing);
gradients are summed back over broadcast axes, so ``t.grad.shape == t.shape`` always. Only tensors
that ``requires_grad`` (or are computed from one) record the graph. numpy functions given a Tensor
either run the Tensor op (``np.exp(t)``, ``np.concatenate([a, b])``: the graph is kept) or raise a
``TypeError`` naming the Tensor method to use; they never silently return a plain array.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import graph, quiet, versions
from . import tensor_ops as ops
from .graph import backpropagate
from .tensor_args import (
    degrees_of_freedom,
    either_spelling,
    flatten_dims,
    new_axes,
    normalize_axis,
    normalize_index,
    normalize_shape,
    reduced_axes,
    reduction_args,
    split_sizes,
    squeeze_axes,
)

if TYPE_CHECKING:
    from .tensor_ops import TensorOp
    from .typing import Array, Axis, TensorLike

_new = object.__new__


class Size(int):
    """``Tensor.size``: the number of elements (an int, as numpy's ``a.size``), which can also be called
    as torch's ``t.size(dim=None)``: the shape, or the length of axis ``dim``."""

    shape: tuple[int, ...]

    def __new__(cls, count: int, shape: tuple[int, ...] = ()) -> Size:
        size = super().__new__(cls, count)
        size.shape = tuple(shape)
        return size

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        if not self.shape:
            raise IndexError(f"size: a 0-d tensor has no axis {dim!r}")
        return self.shape[normalize_axis(dim, len(self.shape), "size")]

    def __reduce__(self) -> tuple:
        return (int, (int(self),))  # pickled as the plain number


class Tensor:
    """A numpy-backed node: ``data`` (ndarray), ``grad`` (ndarray or ``None``)."""

    # _version: the version cell shared with tensors viewing the same memory (see versions.py), or
    # None while nothing changed it in place; _epoch: versions.EPOCH when the node was made;
    # _extra: rarely used state (hooks), so that other tensors pay one slot for it.
    __slots__ = ("data", "grad", "requires_grad", "label", "op", "parents", "op_args", "_version", "_epoch", "_extra")

    data: Array
    grad: Any  # an ndarray of data's shape after backward, None before; a Tensor under create_graph=True
    requires_grad: bool
    label: str
    op: TensorOp | None
    parents: tuple[Tensor, ...]
    op_args: dict[str, Any] | None
    _version: list | None
    _epoch: int
    _extra: dict[str, Any] | None

    GRAD_ZERO = None
    __hash__ = object.__hash__  # identity: == compares elementwise

    def __init__(
        self, data: ArrayLike | Tensor, requires_grad: bool = False, label: str = "", dtype: DTypeLike | None = None
    ) -> None:
        self.data = as_array(data, "Tensor", dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, got dtype {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.label = label
        self.op = None
        self.parents = ()
        self.op_args = None
        self._version = None
        self._epoch = 0
        self._extra = None

    # ------------------------------------------------------------------ properties

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> Size:
        """The number of elements, as numpy's ``a.size``; calling it, ``t.size()``, gives torch's: the shape."""
        return Size(self.data.size, self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for a tensor not made by an op (a parameter, an input, a constant)."""
        return self.op is None

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        """The tensor's rows (``t[0]``, ``t[1]``, ...), each in the graph."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __contains__(self, x: object) -> bool:
        return bool(np.any(self.data == (x.data if isinstance(x, Tensor) else x)))

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.dtype != np.float64:
            extra = f", dtype={self.dtype}" + extra
        return f"Tensor({body}{extra})"

    def detach(self) -> Tensor:
        """A leaf sharing this tensor's data (and its version), cut from the graph."""
        t = _wrap(self.data)
        t.label = self.label
        t._version = self._shared_version()
        return t

    def item(self) -> builtins.float:
        if self.data.size != 1:
            raise ValueError(
                f"item: only a single-element tensor converts to a number, this one has shape {self.shape}"
            )
        value = self.data.item()
        if graph.LISTENERS:
            graph.notify("item", self, value)
        return value

    def numpy(self) -> Array:
        """The data as an ndarray, shared, not copied; read-only for a tensor that requires grad
        (writing into it would corrupt backward: use ``with no_grad(): t[...] = v``)."""
        if self.requires_grad:
            view = self.data.view()
            view.flags.writeable = False
            return view
        return self.data

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; use (t.data > 0).any() "
                f"or .all() on its data"
            )
        return bool(self.data)

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> Array:
        """``np.asarray(t)``: the data (read-only for a tensor that requires grad; a copy when asked)."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        data = self.numpy()
        return data if dtype is None else data.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from .numpy_api import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: tuple, args: tuple, kwargs: dict) -> Any:
        from .numpy_api import array_function

        return array_function(func, args, kwargs)

    # ------------------------------------------------------------------ backward

    def accumulate_grad(self, g: Any, shared: bool = True) -> None:
        """Add ``g`` to ``grad``. ``shared``: ``g`` may be another array's memory (not ours to keep).

        A Tensor ``g`` (a gradient recorded under ``create_graph=True``) is added as a node."""
        if type(g) is not np.ndarray:
            if isinstance(g, Tensor):
                self.grad = g if self.grad is None else self.grad + g
                return
            g = np.asarray(g)
            shared = False
        dtype = self.data.dtype
        if g.dtype is not dtype and g.dtype != dtype:
            g = g.astype(dtype)
            shared = False
        if self.grad is None:
            # A leaf's gradient is its own array (the user may update it in place); an
            # intermediate's may share memory with its neighbours', which nothing writes to.
            self.grad = np.array(g) if shared and self.op is None else g
        else:
            total = self.grad + g
            self.grad = total if type(total) is np.ndarray else np.asarray(total)

    def backward(
        self, gradient: Tensor | ArrayLike | None = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Fill ``.grad`` of every tensor behind this one with ``d self / d tensor``.

        ``gradient`` is ``d L / d self`` for some later scalar ``L``; it may be left out only for a
        single-element tensor (it is then 1). Leaf gradients add up over calls until zeroed. The
        graph is always kept (``retain_graph`` is accepted for PyTorch code and ignored).
        ``create_graph=True`` records the backward pass too: each ``.grad`` is then a Tensor in a
        graph of its own, which can be differentiated again (second derivatives, Hessian-vector
        products, gradient penalties).
        """
        seed = self.seed_gradient(gradient, "backward", create_graph)
        run_backward([self], [seed], create_graph)

    def seed_gradient(self, gradient: Tensor | ArrayLike | None, where: str, create_graph: bool = False) -> Any:
        """``d L / d self`` to start backward from: ``gradient``, or 1 for a single-element tensor."""
        if not self.requires_grad:
            raise RuntimeError(
                f"{where}: this tensor does not require grad and has no graph; create the leaves "
                "with Tensor(..., requires_grad=True) (and not inside no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"{where}: gradient can be left out only for a single-element tensor, this one has "
                    f"shape {self.shape}; pass gradient= an array of shape {self.shape}"
                )
            seed = np.empty_like(self.data)  # empty_like and fill: C calls, where ones_like is Python
            seed.fill(1)
        elif create_graph and isinstance(gradient, Tensor):
            if gradient.shape != self.shape:
                raise ValueError(f"{where}: gradient has shape {gradient.shape} but the tensor has shape {self.shape}")
            return gradient
        else:
            seed = as_array(gradient.data if isinstance(gradient, Tensor) else gradient, f"{where}: gradient")
            if seed.shape != self.shape:
                raise ValueError(f"{where}: gradient has shape {seed.shape} but the tensor has shape {self.shape}")
            seed = seed.astype(self.dtype, copy=True)
        return _wrap(seed) if create_graph else seed

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
        """Call ``hook(grad)`` when this tensor's gradient is complete in a backward pass; a value it
        returns replaces the gradient (as PyTorch). Returns a handle whose ``remove()`` unregisters it."""
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient reaches it")
        if self._extra is None:
            self._extra = {}
        self._extra.setdefault("hooks", []).append(hook)
        return graph.HookHandle(self, hook)

    def remove_hook(self, hook: Callable[[Any], Any]) -> None:
        """Unregister ``hook`` (what the handle's ``remove()`` does)."""
        graph.remove_from(self._extra, hook)

    def retain_grad(self) -> None:
        """Accepted for PyTorch code: every tensor in the graph keeps its gradient here anyway."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")

    def coerce_grad(self, g: Any) -> Any:
        """A hook's returned gradient in this tensor's form: an array of its shape (or a Tensor)."""
        data = g.data if isinstance(g, Tensor) else np.asarray(g, dtype=self.data.dtype)
        if data.shape != self.shape:
            raise ValueError(f"hook: returned a gradient of shape {data.shape} for a tensor of shape {self.shape}")
        return g if isinstance(g, Tensor) and isinstance(self.grad, Tensor) else np.array(data, dtype=self.dtype)

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other: TensorLike) -> Tensor:
        return binary(ops.ADD, self, other)

    def __radd__(self, other: TensorLike) -> Tensor:
        return binary(ops.ADD, other, self)

    def __sub__(self, other: TensorLike) -> Tensor:
        return binary(ops.SUB, self, other)

    def __rsub__(self, other: TensorLike) -> Tensor:
        return binary(ops.SUB, other, self)

    def __mul__(self, other: TensorLike) -> Tensor:
        return binary(ops.MUL, self, other)

    def __rmul__(self, other: TensorLike) -> Tensor:
        return binary(ops.MUL, other, self)

    def __truediv__(self, other: TensorLike) -> Tensor:
        return binary(ops.DIV, self, other)

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        return binary(ops.DIV, other, self)

    def __pow__(self, other: TensorLike) -> Tensor:
        if isinstance(other, numbers.Real) and not isinstance(other, (Tensor, np.ndarray)):
            return apply(ops.POW_CONST, (self._float(),), exponent=float(other))
        return binary(ops.POW, self, other)

    def __rpow__(self, other: TensorLike) -> Tensor:
        return binary(ops.POW, other, self)

    def __neg__(self) -> Tensor:
        return apply(ops.NEG, (self._float(),))

    def __pos__(self) -> Tensor:
        return self

    def __matmul__(self, other: TensorLike) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        return matmul(other, self)

    # In place, as PyTorch: inside no_grad(), or on a tensor outside the graph, the data changes in
    # place (and its version advances, so a backward that needed the old data raises). On a leaf
    # that requires grad while recording it is an error. On a tensor recorded in a graph it makes a
    # new node and the name is rebound: other references keep the old tensor (PyTorch would change
    # that tensor in place and record the op on it; the gradients are the same).
    def __iadd__(self, other: TensorLike) -> Tensor:
        return self._inplace(ops.ADD, np.add, "+=", other)

    def __isub__(self, other: TensorLike) -> Tensor:
        return self._inplace(ops.SUB, np.subtract, "-=", other)

    def __imul__(self, other: TensorLike) -> Tensor:
        return self._inplace(ops.MUL, np.multiply, "*=", other)

    def __itruediv__(self, other: TensorLike) -> Tensor:
        return self._inplace(ops.DIV, np.divide, "/=", other)

    def _inplace(self, op: TensorOp, ufunc: np.ufunc, symbol: str, other: TensorLike) -> Tensor:
        other_grad = isinstance(other, Tensor) and other.requires_grad
        if (self.requires_grad or other_grad) and graph.is_grad_enabled():
            if self.requires_grad and self.op is None:
                raise RuntimeError(
                    f"{symbol}: in-place change of a leaf tensor that requires grad{_called(self)} while the graph "
                    f"is being recorded; update parameters inside `with no_grad():` (p -= lr * p.grad), or write "
                    f"`t = t {symbol[0]} x` for a new tensor"
                )
            return binary(op, self, other)
        x = other.data if isinstance(other, Tensor) else other
        if graph.LISTENERS:
            graph.notify("inplace", self, symbol, other)
        data = self.data
        if not data.flags.writeable:
            raise ValueError(f"{symbol}: the data of this tensor{_called(self)} is read-only (a broadcast view?)")
        token = quiet.silence()
        try:
            ufunc(data, x, out=data, casting="same_kind")
        except ValueError as e:
            raise ValueError(
                f"{symbol}: a value of shape {np.shape(x)} cannot be written into a tensor of shape {self.shape} "
                f"in place: {e}"
            ) from None
        except TypeError as e:
            raise TypeError(
                f"{symbol}: cannot write into a tensor of dtype {self.dtype}, shape {self.shape}: {e}"
            ) from None
        finally:
            quiet.restore(token)
        cell = self._version
        if cell is None:
            cell = self._version = versions.new_cell()
        versions.stamp(cell, symbol)
        return self

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        """``t[index] = value`` in place: inside ``no_grad()`` or on a tensor outside the graph."""
        value_grad = isinstance(value, Tensor) and value.requires_grad
        if (self.requires_grad or value_grad) and graph.is_grad_enabled():
            raise RuntimeError(
                f"setitem: assignment into {'a tensor that requires grad' if self.requires_grad else 'a constant'}"
                f"{_called(self)} while the graph is being recorded would not be differentiated; build the result "
                f"with where() or concatenate(), or assign inside `with no_grad():`"
            )
        index, _ = normalize_index(index, Tensor)
        x = value.data if isinstance(value, Tensor) else value
        if graph.LISTENERS:
            graph.notify("inplace", self, ("setitem", index), value)

        def assign(data: Array) -> None:
            data[index] = x

        self._write("setitem", assign, np.shape(x))

    def _write(self, what: str, write: Callable[[Array], None], other_shape: tuple[int, ...]) -> None:
        data = self.data
        if not data.flags.writeable:
            raise ValueError(f"{what}: the data of this tensor{_called(self)} is read-only (a broadcast view?)")
        token = quiet.silence()
        try:
            write(data)
        except ValueError as e:
            raise ValueError(
                f"{what}: a value of shape {other_shape} cannot be written into a tensor of shape {self.shape} "
                f"in place: {e}"
            ) from None
        except (TypeError, IndexError) as e:
            raise type(e)(
                f"{what}: cannot write into a tensor of dtype {self.dtype} and shape {self.shape}: {e}"
            ) from None
        finally:
            quiet.restore(token)
        versions.stamp(self._shared_version(), what)

    def mark_changed(self, what: str = "in-place") -> None:
        """Record that ``data`` was changed in place by code that wrote it directly (an optimizer's
        ``np.subtract(p.data, u, out=p.data)``), so that a backward that needed the old values raises
        instead of computing a stale gradient. ``t -= u`` inside ``no_grad()`` does this itself."""
        versions.stamp(self._shared_version(), what)

    def _shared_version(self) -> list:
        cell = self._version
        if cell is None:
            cell = self._version = versions.new_cell()
        return cell

    # ------------------------------------------------------------------ comparisons (no gradient)

    def __and__(self, other: TensorLike) -> Tensor:
        return compare(np.logical_and, "&", self, other)

    def __or__(self, other: TensorLike) -> Tensor:
        return compare(np.logical_or, "|", self, other)

    def __xor__(self, other: TensorLike) -> Tensor:
        return compare(np.logical_xor, "^", self, other)

    def __invert__(self) -> Tensor:
        if self.data.dtype.kind != "b":
            raise TypeError(f"~: only a boolean tensor can be inverted, this one has dtype {self.dtype}")
        return _wrap(~self.data)

    def __eq__(self, other: TensorLike) -> Tensor:  # type: ignore[override]  # elementwise, as numpy
        return compare(np.equal, "==", self, other)

    def __ne__(self, other: TensorLike) -> Tensor:  # type: ignore[override]  # elementwise, as numpy
        return compare(np.not_equal, "!=", self, other)

    def __lt__(self, other: TensorLike) -> Tensor:
        return compare(np.less, "<", self, other)

    def __le__(self, other: TensorLike) -> Tensor:
        return compare(np.less_equal, "<=", self, other)

    def __gt__(self, other: TensorLike) -> Tensor:
        return compare(np.greater, ">", self, other)

    def __ge__(self, other: TensorLike) -> Tensor:
        return compare(np.greater_equal, ">=", self, other)

    # ------------------------------------------------------------------ elementwise functions

    def exp(self) -> Tensor:
        """``e^x``; d/dx = e^x."""
        return apply(ops.EXP, (self._float(),))

    def log(self) -> Tensor:
        """``ln x``; d/dx = 1/x. Gives -inf at 0 and NaN below, as numpy and PyTorch."""
        return apply(ops.LOG, (self._float(),))

    def tanh(self) -> Tensor:
        """``tanh x``; d/dx = 1 - tanh(x)^2."""
        return apply(ops.TANH, (self._float(),))

    def sigmoid(self) -> Tensor:
        """``1 / (1 + e^-x)``, without overflow; d/dx = s (1 - s)."""
        return apply(ops.SIGMOID, (self._float(),))

    def relu(self) -> Tensor:
        """``max(0, x)``; d/dx = 1 where x > 0, else 0."""
        return apply(ops.RELU, (self._float(),))

    def sqrt(self) -> Tensor:
        """``sqrt x``; d/dx = 1 / (2 sqrt x)."""
        return apply(ops.SQRT, (self._float(),))

    def abs(self) -> Tensor:
        """``|x|``; d/dx = sign(x) (0 at 0)."""
        return apply(ops.ABS, (self._float(),))

    __abs__ = abs

    # ------------------------------------------------------------------ reductions and shape
    # numpy's names (axis, keepdims) and torch's (dim, keepdim) are both accepted; passing both is an error.

    def sum(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """Sum over ``axis`` (an int, a tuple of ints, or ``None`` for all)."""
        axis, keepdims = reduction_args("sum", self.ndim, axis, keepdims, dim, keepdim)
        return apply(ops.SUM, (self._float(),), axis=axis, keepdims=keepdims)

    def mean(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """Mean over ``axis`` (an int, a tuple of ints, or ``None`` for all)."""
        axis, keepdims = reduction_args("mean", self.ndim, axis, keepdims, dim, keepdim)
        self._nonempty("mean", "average", axis)
        return apply(ops.MEAN, (self._float(),), axis=axis, keepdims=keepdims)

    def max(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """Maximum over ``axis``; ties share the gradient equally. The values only (``torch.amax``;
        torch's ``max(dim)`` also returns indices: use ``argmax`` for those)."""
        axis, keepdims = reduction_args("max", self.ndim, axis, keepdims, dim, keepdim)
        self._nonempty("max", "reduce", axis)
        return apply(ops.MAX, (self._float(),), axis=axis, keepdims=keepdims)

    def min(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """Minimum over ``axis``; ties share the gradient equally. The values only (``torch.amin``)."""
        axis, keepdims = reduction_args("min", self.ndim, axis, keepdims, dim, keepdim)
        self._nonempty("min", "reduce", axis)
        return apply(ops.MIN, (self._float(),), axis=axis, keepdims=keepdims)

    def var(
        self,
        axis: Axis = None,
        *,
        ddof: builtins.float = 0,
        keepdims: bool = False,
        dim: Axis = None,
        keepdim: bool | None = None,
        correction: builtins.float | None = None,
        unbiased: bool | None = None,
    ) -> Tensor:
        """Variance ``sum (x - mean)^2 / (N - ddof)`` over ``axis``; d/dx = 2 (x - mean) / (N - ddof).

        ``ddof=0`` (numpy's default) is the population variance. torch's default is ``correction=1``:
        pass ``ddof=1`` (or torch's ``correction=1`` / ``unbiased=True``) for the sample variance.
        ``N - ddof <= 0`` is an error (numpy and torch warn and give inf or NaN)."""
        return self._spread(ops.VAR, axis, ddof, keepdims, dim, keepdim, correction, unbiased)

    def std(
        self,
        axis: Axis = None,
        *,
        ddof: builtins.float = 0,
        keepdims: bool = False,
        dim: Axis = None,
        keepdim: bool | None = None,
        correction: builtins.float | None = None,
        unbiased: bool | None = None,
    ) -> Tensor:
        """Standard deviation ``sqrt(var)`` over ``axis`` (``ddof`` as in ``var``: numpy's default 0);
        d/dx = (x - mean) / ((N - ddof) std), and 0 where std = 0, as torch."""
        return self._spread(ops.STD, axis, ddof, keepdims, dim, keepdim, correction, unbiased)

    def _spread(
        self,
        op: TensorOp,
        axis: Axis,
        ddof: builtins.float,
        keepdims: bool,
        dim: Axis,
        keepdim: bool | None,
        correction: builtins.float | None,
        unbiased: bool | None,
    ) -> Tensor:
        axis, keepdims = reduction_args(op.name, self.ndim, axis, keepdims, dim, keepdim)
        ddof = degrees_of_freedom(op.name, ddof, correction, unbiased)
        n = math.prod(self.shape[d] for d in reduced_axes(axis, self.ndim))
        if n - ddof <= 0:
            raise ValueError(
                f"{op.name}: {n} element(s) per result (shape {self.shape}, axis {axis}) leave no degrees of "
                f"freedom with ddof={ddof}; N - ddof must be positive"
            )
        return apply(op, (self._float(),), axis=axis, keepdims=keepdims, ddof=ddof)

    def logsumexp(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """``ln sum e^x`` over ``axis``, from ``x - max`` so that nothing overflows; d/dx = softmax(x).

        Over no elements it is -inf; a group of only -inf gives -inf (with a NaN gradient), as torch."""
        axis, keepdims = reduction_args("logsumexp", self.ndim, axis, keepdims, dim, keepdim)
        return apply(ops.LOGSUMEXP, (self._float(),), axis=axis, keepdims=keepdims)

    def softmax(self, axis: Axis = -1, *, dim: Axis = None) -> Tensor:
        """``e^x / sum e^x`` along ``axis`` (the last by default; a tuple, or None for all elements),
        from ``x - max`` so that nothing overflows; d/dx = s (g - sum(g s)). A group of only -inf gives
        NaN, as torch."""
        axis, _ = reduction_args("softmax", self.ndim, axis, False, dim, axis_default=-1)
        return apply(ops.SOFTMAX, (self._float(),), axis=axis)

    def log_softmax(self, axis: Axis = -1, *, dim: Axis = None) -> Tensor:
        """``x - logsumexp(x)`` along ``axis`` (the last by default), without overflow; d/dx = g - s sum(g)."""
        axis, _ = reduction_args("log_softmax", self.ndim, axis, False, dim, axis_default=-1)
        return apply(ops.LOG_SOFTMAX, (self._float(),), axis=axis)

    def argmax(
        self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None, keepdim: bool | None = None
    ) -> Tensor:
        """Position of the largest element along ``axis`` (in the flattened tensor for None; the first
        of ties), as an int64 tensor outside the graph (no gradient)."""
        return self._position(np.argmax, "argmax", axis, keepdims, dim, keepdim)

    def argmin(
        self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None, keepdim: bool | None = None
    ) -> Tensor:
        """Position of the smallest element along ``axis``, as ``argmax``."""
        return self._position(np.argmin, "argmin", axis, keepdims, dim, keepdim)

    def _position(
        self,
        find: Callable[..., Any],
        name: str,
        axis: Axis,
        keepdims: bool,
        dim: int | None,
        keepdim: bool | None,
    ) -> Tensor:
        axis, keepdims = reduction_args(name, self.ndim, axis, keepdims, dim, keepdim)
        if isinstance(axis, tuple):
            raise TypeError(f"{name}: axis must be an int or None, got {axis}")
        self._nonempty(name, "search", axis)
        return _wrap(np.asarray(find(self.data, axis=axis, keepdims=keepdims), dtype=np.int64))

    def _nonempty(self, name: str, verb: str, axis: Axis) -> None:
        if 0 in (self.shape[d] for d in reduced_axes(axis, self.ndim)):
            raise ValueError(f"{name}: cannot {verb} over zero elements (shape {self.shape}, axis {axis})")

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same numbers in shape ``shape`` (one dimension may be -1)."""
        shape = normalize_shape(shape, "reshape")
        try:
            np.reshape(self.data, shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape shape {self.shape} ({self.size} elements) into {shape}"
            ) from None
        return apply(ops.RESHAPE, (self,), shape=shape)

    def transpose(self, *axes: int | Sequence[int] | None, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        """Permute the axes (reverse them when none are given), as ``numpy.transpose``.

        torch's ``transpose(dim0, dim1)`` exchanges two axes instead: spell it ``transpose(dim0=i,
        dim1=j)`` or ``swapaxes(i, j)``. The one call both readings accept with different results,
        ``transpose(0, 1)`` written out on a 2-D tensor (the identity for numpy, a swap for torch),
        is an error that says so."""
        if dim0 is not None or dim1 is not None:
            if axes or dim0 is None or dim1 is None:
                raise TypeError("transpose: give dim0 and dim1 (torch: exchange two axes) or axes (numpy), not both")
            return self.swapaxes(dim0, dim1)
        perm: Any = axes  # ints, or one sequence of ints (or None)
        two_axes = len(perm) == 2 and all(isinstance(a, numbers.Integral) and -2 <= int(a) < 2 for a in perm)
        if two_axes and self.ndim == 2 and tuple(int(a) % 2 for a in perm) == (0, 1):
            raise ValueError(
                "transpose(0, 1) on a 2-D tensor is ambiguous: numpy reads it as the identity permutation, "
                "PyTorch as a swap of the two axes; write t.T or t.swapaxes(0, 1) to swap"
            )
        if len(perm) == 1 and (perm[0] is None or not isinstance(perm[0], numbers.Integral)):
            perm = perm[0]
        if perm is not None and len(perm) == 0:
            perm = None
        if perm is not None:
            perm = normalize_shape(tuple(perm), "transpose")
            in_range = all(-self.ndim <= a < self.ndim for a in perm)
            if not in_range or sorted(a % self.ndim for a in perm) != list(range(self.ndim)):
                hint = f"; to exchange two axes as torch's transpose, use swapaxes{perm}" if len(perm) == 2 else ""
                raise ValueError(
                    f"transpose: axes {perm} are not a permutation of the {self.ndim} axes of shape {self.shape}" + hint
                )
            perm = tuple(a % self.ndim for a in perm)
        return apply(ops.TRANSPOSE, (self,), axes=perm)

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        """torch's name for ``transpose(*axes)``: the axes in the order ``dims``."""
        return self.transpose(*dims)

    def swapaxes(
        self, axis1: int | None = None, axis2: int | None = None, *, dim0: int | None = None, dim1: int | None = None
    ) -> Tensor:
        """Exchange two axes (torch's ``swapaxes(dim0, dim1)`` / ``transpose(dim0, dim1)``)."""
        axis1 = either_spelling("swapaxes", "axis1", axis1, "dim0", dim0)
        axis2 = either_spelling("swapaxes", "axis2", axis2, "dim1", dim1)
        if axis1 is None or axis2 is None:
            raise TypeError("swapaxes: give the two axes to exchange")
        a1 = normalize_axis(axis1, self.ndim, "swapaxes")
        a2 = normalize_axis(axis2, self.ndim, "swapaxes")
        axes = list(range(self.ndim))
        axes[a1], axes[a2] = axes[a2], axes[a1]
        return self.transpose(axes)

    def squeeze(self, axis: Axis = None, *, dim: Axis = None) -> Tensor:
        """Without length-1 axes: all of them, or those in ``axis`` (an int or a tuple). An axis of
        another length is an error, as numpy (torch leaves it)."""
        axis = either_spelling("squeeze", "axis", axis, "dim", dim)
        return apply(ops.SQUEEZE, (self,), axis=squeeze_axes(axis, self.shape, "squeeze"))

    def expand_dims(self, axis: Axis = None, *, dim: Axis = None) -> Tensor:
        """With a new length-1 axis at position ``axis`` of the result (an int or a tuple), as numpy."""
        axis = either_spelling("expand_dims", "axis", axis, "dim", dim)
        return apply(ops.EXPAND_DIMS, (self,), axis=new_axes(axis, self.ndim, "expand_dims"))

    def unsqueeze(self, dim: Axis = None, *, axis: Axis = None) -> Tensor:
        """torch's name for ``expand_dims``: a new length-1 axis at position ``dim`` of the result."""
        dim = either_spelling("unsqueeze", "dim", dim, "axis", axis)
        return apply(ops.EXPAND_DIMS, (self,), axis=new_axes(dim, self.ndim, "unsqueeze"))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes ``start_dim`` to ``end_dim`` (inclusive) merged into one, as ``torch.flatten``; by default
        all of them (numpy's ``flatten()``, though a view where possible rather than a copy). A 0-d
        tensor becomes 1-D."""
        start, end = flatten_dims(start_dim, end_dim, self.ndim, "flatten")
        return apply(ops.FLATTEN, (self,), start_dim=start, end_dim=end)

    def split(
        self, split_size_or_sections: int | Sequence[int], dim: int = 0, *, axis: int | None = None
    ) -> tuple[Tensor, ...]:
        """torch's ``split``: pieces of length ``split_size_or_sections`` along ``dim`` (the last may be
        shorter), or of the lengths in a sequence (adding up to the axis length); a tuple of tensors,
        views in the graph. numpy's ``split`` (a number of equal sections, or split indices) is
        ``autograd.split`` / ``np.split(t, ...)``."""
        if self.ndim == 0:
            raise ValueError("split: a 0-d tensor has no axis to split")
        dim = normalize_axis(either_spelling("split", "dim", dim, "axis", axis, 0), self.ndim, "split")
        if not isinstance(dim, int):
            raise TypeError(f"split: dim must be an int, got {dim!r}")
        bounds = split_sizes(self.shape[dim], split_size_or_sections, "split")
        return tuple(apply(ops.SPLIT, (self,), axis=dim, start=start, stop=stop) for start, stop in bounds)

    def clip(self, min: Tensor | ArrayLike | None = None, max: Tensor | ArrayLike | None = None) -> Tensor:
        """``min(max(x, min), max)`` elementwise, as ``numpy.clip`` / ``torch.clamp`` (one bound may be
        None); d/dx = 1 where ``min <= x <= max`` (at a bound too, as torch), else 0. The bounds are
        constants: numbers or arrays broadcast with x; for a bound that needs a gradient use
        ``maximum(minimum(x, high), low)``."""
        if min is None and max is None:
            raise ValueError("clip: give min, max or both")
        low, high = self._bound(min, "min"), self._bound(max, "max")
        try:
            np.broadcast_shapes(self.shape, np.shape(low), np.shape(high))
        except ValueError:
            raise ValueError(
                f"clip: bounds of shapes {np.shape(low)} and {np.shape(high)} cannot be broadcast with a tensor of "
                f"shape {self.shape}"
            ) from None
        return apply(ops.CLIP, (self._float(),), low=low, high=high)

    clamp = clip

    def _bound(self, bound: Tensor | ArrayLike | None, name: str) -> Any:  # a float, an array or None
        if bound is None:
            return None
        if isinstance(bound, Tensor):
            if bound.requires_grad:
                raise TypeError(
                    f"clip: the {name} bound is a tensor that requires grad, but the bounds are constants; for a "
                    f"gradient into the bounds use maximum(minimum(x, high), low)"
                )
            bound = bound.data
        if isinstance(bound, numbers.Real) and not isinstance(bound, np.ndarray):
            return float(bound)
        dtype = self.dtype if self.dtype.kind == "f" else np.float64
        return as_array(bound, f"clip: {name}", dtype=dtype)

    def maximum(self, other: TensorLike) -> Tensor:
        """Elementwise ``max(x, other)`` (broadcast); the gradient goes to the larger, split on ties."""
        from .tensor_functions import maximum

        return maximum(self, other)

    def minimum(self, other: TensorLike) -> Tensor:
        """Elementwise ``min(x, other)`` (broadcast); the gradient goes to the smaller, split on ties."""
        from .tensor_functions import minimum

        return minimum(self, other)

    def broadcast_to(self, shape: int | Sequence[int]) -> Tensor:
        """This tensor repeated along new or size-1 axes to ``shape``; d/dx sums those axes back."""
        shape = normalize_shape((shape,), "broadcast_to")
        try:
            np.broadcast_shapes(self.shape, shape)
            if np.broadcast_shapes(self.shape, shape) != shape:
                raise ValueError
        except ValueError:
            raise ValueError(f"broadcast_to: shape {self.shape} cannot be broadcast to {shape}") from None
        return apply(ops.BROADCAST_TO, (self,), shape=shape)

    def __getitem__(self, index: Any) -> Tensor:
        index, basic = normalize_index(index, Tensor)
        try:
            self.data[index]
        except (IndexError, TypeError, ValueError) as e:
            raise IndexError(f"getitem: index {_show_index(index)} does not fit shape {self.shape}: {e}") from None
        return apply(ops.GETITEM, (self,), index=index, basic=basic)

    # ------------------------------------------------------------------ types and conversions

    def astype(self, dtype: DTypeLike, copy: bool = True) -> Tensor:
        """This tensor as ``dtype``. To a float type it stays in the graph (the gradient is cast back to
        this tensor's type); to an integer or boolean type it is a constant (no gradient), as torch.
        ``copy=False`` returns the tensor itself when it has that type already."""
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"astype: {dtype!r} is not a dtype") from None
        if not copy and dtype == self.dtype:
            return self
        if dtype.kind == "f":
            return apply(ops.CAST, (self,), dtype=dtype)
        if dtype.kind in "biu":
            return _wrap(self.data.astype(dtype))
        raise TypeError(f"astype: a tensor holds real numbers; cannot convert to {dtype}")

    def float(self) -> Tensor:
        """As float32 (torch's default float type); the tensor itself if it is float32 already."""
        return self.astype(np.float32, copy=False)

    def double(self) -> Tensor:
        """As float64; the tensor itself if it is float64 already."""
        return self.astype(np.float64, copy=False)

    def tolist(self) -> Any:
        """The numbers as nested Python lists (a number for a 0-d tensor)."""
        return self.data.tolist()

    def dim(self) -> int:
        """The number of axes (torch's name for ``ndim``)."""
        return self.data.ndim

    def _float(self) -> Tensor:
        """This tensor, or for a boolean or integer one a float64 constant holding the same numbers."""
        return self if self.data.dtype.kind == "f" else _wrap(self.data.astype(np.float64))


# ---------------------------------------------------------------------- construction


def as_array(data: Any, where: str, dtype: DTypeLike | None = None) -> Array:
    """Copy ``data`` into a fresh array: float64, or the float type it already has; booleans stay
    boolean (masks, comparison results), other integers become float64. ``dtype`` picks a float type
    (or bool)."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"{where}: data is not a rectangular array of numbers (ragged nesting?): {e}") from None
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "fb":
            raise TypeError(f"{where}: dtype must be a float type (float16, float32, float64) or bool, got {dtype}")
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{where}: data must be numeric, got dtype {arr.dtype} from {type(data).__name__}")
        return arr.astype(dtype)
    kind = arr.dtype.kind
    if kind in "fb":
        return arr
    if kind in "iu":
        return arr.astype(np.float64)
    if kind == "c":
        raise TypeError(f"{where}: complex data is not supported, got dtype {arr.dtype}")
    raise TypeError(f"{where}: data must be numeric, got dtype {arr.dtype} from {type(data).__name__}")


def _wrap(data: Array) -> Tensor:
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = False
    t.label = ""
    t.op = None
    t.parents = ()
    t.op_args = None
    t._version = None
    t._epoch = 0
    t._extra = None
    return t


def constant(data: Array) -> Tensor:
    """A leaf Tensor around ``data`` as it is (no copy, no gradient)."""
    return _wrap(data)


def apply(op: TensorOp, inputs: tuple[Tensor, ...], **op_args: Any) -> Tensor:
    """Run primitive ``op`` on Tensors ``inputs``; record the node if any input needs a gradient."""
    token = quiet.silence()
    try:
        data = op.forward(*[t.data for t in inputs], **op_args)
    except ValueError as e:
        shapes = " and ".join(str(t.shape) for t in inputs)
        raise ValueError(f"{op.name}: cannot apply to shapes {shapes}: {e}") from None
    finally:
        quiet.restore(token)
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    out = _new(Tensor)  # _wrap, inlined: this runs for every op
    out.data = data
    out.grad = None
    out.label = ""
    out._version = None
    out._extra = None
    fast = graph.FAST
    if fast or graph.is_grad_enabled():
        for t in inputs:
            if t.requires_grad:
                out.requires_grad = True
                out.op = op
                out.parents = inputs
                out.op_args = op_args
                out._epoch = versions.EPOCH
                break
        else:
            out.requires_grad, out.op, out.parents, out.op_args, out._epoch = False, None, (), None, 0
    else:
        out.requires_grad, out.op, out.parents, out.op_args, out._epoch = False, None, (), None, 0
    if op.view and np.may_share_memory(data, inputs[0].data):
        out._version = inputs[0]._shared_version()
    if not fast and graph.TRACERS:
        graph.trace(out, op, inputs, op_args)
    return out


def apply_to(op: TensorOp, inputs: Sequence[Any], op_args: dict[str, Any]) -> Tensor | Array:
    """``apply`` with arrays and numbers among ``inputs`` taken as constants."""
    tensors = []
    like = next((x for x in inputs if isinstance(x, Tensor)), None)
    if like is None:
        return op.forward(*[np.asarray(x) for x in inputs], **op_args)
    for x in inputs:
        if isinstance(x, Tensor):
            tensors.append(x)
        elif isinstance(x, np.ndarray):
            tensors.append(_wrap(x))
        else:
            tensors.append(_operand(x, like, op.name))
    return apply(op, tuple(tensors), **op_args)


def run_backward(roots: list[Tensor], seeds: list[Any], create_graph: bool) -> list:
    """The graph walk from ``roots`` with numpy's floating-point warnings off; with ``create_graph``,
    recording (even inside ``no_grad``)."""
    token = quiet.silence()
    try:
        if create_graph:
            with graph.enable_grad():
                return backpropagate(roots, seeds, create_graph=True)
        return backpropagate(roots, seeds)
    finally:
        quiet.restore(token)


def _operand(x: TensorLike, like: Tensor, name: str) -> Tensor:
    """Turn a number or array operand into a constant Tensor (numbers take ``like``'s dtype)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, np.ndarray):
        dtype = like.data.dtype if like.data.dtype.kind == "f" else np.float64
        t = _wrap(np.asarray(x, dtype=dtype))
        if graph.LISTENERS:
            graph.notify("constant", t, x)
        return t
    if isinstance(x, (np.ndarray, list, tuple, np.generic)):
        return _wrap(as_array(x, name))
    raise TypeError(f"{name}: unsupported operand of type {type(x).__name__}; expected a Tensor, a number or an array")


def binary(op: TensorOp, a: Any, b: Any) -> Tensor:  # a Tensor and an TensorLike, either way round
    if type(a) is not Tensor:
        a = _operand(a, b, op.name)
    elif type(b) is not Tensor:
        b = _operand(b, a, op.name)
    if a.data.dtype.kind == "b":
        a = a._float()
    if b.data.dtype.kind == "b":
        b = b._float()
    if a.data.dtype != b.data.dtype:
        a, b = _promote_as_torch(a, b)
    try:
        return apply(op, (a, b))
    except ValueError:
        if _broadcastable(a.data.shape, b.data.shape):
            raise
        raise ValueError(f"{op.name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def _promote_as_torch(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """A 0-d constant does not widen a tensor with dimensions (torch's rule; numpy 2 would make
    ``float32 * array(2.0)`` float64): it takes the other operand's float type."""
    if a.data.ndim == 0 and b.data.ndim and not a.requires_grad and b.data.dtype.kind == "f":
        return _wrap(a.data.astype(b.data.dtype)), b
    if b.data.ndim == 0 and a.data.ndim and not b.requires_grad and a.data.dtype.kind == "f":
        return a, _wrap(b.data.astype(a.data.dtype))
    return a, b


def compare(ufunc: np.ufunc, symbol: str, a: Tensor, b: TensorLike) -> Tensor:
    x = b.data if isinstance(b, Tensor) else b
    try:
        return _wrap(np.asarray(ufunc(a.data, x)))
    except (ValueError, TypeError):
        raise ValueError(
            f"{symbol}: cannot compare a tensor of shape {a.shape} with {type(b).__name__} of shape {np.shape(x)}"
        ) from None


def _broadcastable(*shapes: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def matmul(a: Any, b: Any) -> Tensor:  # a Tensor and an TensorLike, either way round
    if type(a) is not Tensor:
        a = _operand(a, b, "matmul")
    elif type(b) is not Tensor:
        b = _operand(b, a, "matmul")
    a, b = a._float(), b._float()
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


def _called(t: Tensor) -> str:
    return f" ({t.label!r})" if t.label else ""


def _show_index(index: tuple) -> str:
    text = repr(index if len(index) != 1 else index[0])
    return text if len(text) <= 80 else text[:77] + "..."
