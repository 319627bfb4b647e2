"""numpy functions called on Tensors (``__array_ufunc__``, ``__array_function__``).

A numpy function given a Tensor runs the matching Tensor op, so the graph is kept
(``np.exp(t)``, ``np.dot(x, w)``, ``np.concatenate([w, w])``, ``np.sum(t, axis=0)``); a function
that only reads values (``np.allclose``, ``np.argmax``, ``np.shape``) reads the data; any other is a
``TypeError`` naming what to use instead. None of them silently returns a plain array that has
lost the gradient.
"""

from __future__ import annotations

import numpy as np

from . import tensor_functions as tf
from . import tensor_ops as ops
from .tensor import Tensor, apply, binary, compare, constant, matmul
from .tensor_args import either_spelling

_NO_GRAPH = "or apply it to t.data for a plain array without gradient"


def _power(a, b):
    if isinstance(a, Tensor) and not isinstance(b, Tensor) and np.ndim(b) == 0:
        return a ** float(b)
    return binary(ops.POW, a, b)


def _unary(method):
    return lambda x: getattr(tf.as_tensor(x, method), method)()


def _on_data(ufunc):
    """A ufunc whose result carries no gradient (a test, a sign): computed on the data."""

    def run(*xs):
        return constant(np.asarray(ufunc(*[x.data if isinstance(x, Tensor) else x for x in xs])))

    return run


UFUNCS = {
    "add": lambda a, b: binary(ops.ADD, a, b),
    "subtract": lambda a, b: binary(ops.SUB, a, b),
    "multiply": lambda a, b: binary(ops.MUL, a, b),
    "divide": lambda a, b: binary(ops.DIV, a, b),
    "power": _power,
    "matmul": matmul,
    "maximum": tf.maximum,
    "minimum": tf.minimum,
    "negative": lambda x: -tf.as_tensor(x, "negative"),
    "positive": lambda x: tf.as_tensor(x, "positive"),
    "square": lambda x: tf.as_tensor(x, "square") ** 2.0,
    "reciprocal": lambda x: 1.0 / tf.as_tensor(x, "reciprocal"),
    "exp": _unary("exp"),
    "log": _unary("log"),
    "tanh": _unary("tanh"),
    "sqrt": _unary("sqrt"),
    "absolute": _unary("abs"),
    "equal": lambda a, b: compare(np.equal, "==", tf.as_tensor(a, "equal"), b),
    "not_equal": lambda a, b: compare(np.not_equal, "!=", tf.as_tensor(a, "not_equal"), b),
    "less": lambda a, b: compare(np.less, "<", tf.as_tensor(a, "less"), b),
    "less_equal": lambda a, b: compare(np.less_equal, "<=", tf.as_tensor(a, "less_equal"), b),
    "greater": lambda a, b: compare(np.greater, ">", tf.as_tensor(a, "greater"), b),
    "greater_equal": lambda a, b: compare(np.greater_equal, ">=", tf.as_tensor(a, "greater_equal"), b),
}
for _name in ("isnan", "isinf", "isfinite", "signbit", "sign", "logical_not", "logical_and", "logical_or"):
    UFUNCS[_name] = _on_data(getattr(np, _name))

_UFUNC_METHODS = {
    "exp", "log", "tanh", "sqrt", "abs", "relu", "sigmoid", "sum", "mean", "max", "min", "reshape", "transpose",
}  # fmt: skip


def array_ufunc(ufunc, method, inputs, kwargs):
    name = ufunc.__name__
    if kwargs.get("out") is not None:
        raise TypeError(
            f"numpy.{name}(..., out=...) cannot write into a Tensor or with a Tensor operand in place; use the "
            f"Tensor operators (t += x, inside no_grad() for a parameter) {_NO_GRAPH}"
        )
    extra = {k: v for k, v in kwargs.items() if k != "out"}
    if method == "__call__":
        handler = UFUNCS.get(name)
        if handler is None or extra:
            raise TypeError(_unsupported(f"numpy.{name}", extra))
        return handler(*inputs)
    if method == "reduce" and name in ("add", "maximum", "minimum") and len(inputs) == 1:
        x = tf.as_tensor(inputs[0], name)
        axis = extra.pop("axis", 0)
        keepdims = extra.pop("keepdims", False)
        if extra:
            raise TypeError(_unsupported(f"numpy.{name}.reduce", extra))
        reduce = {"add": "sum", "maximum": "max", "minimum": "min"}[name]
        if not hasattr(x, reduce):
            raise TypeError(_unsupported(f"numpy.{name}.reduce", extra))
        return getattr(x, reduce)(axis=axis, keepdims=keepdims)
    if method == "outer" and name == "multiply" and len(inputs) == 2 and not extra:
        a, b = (tf.as_tensor(x, "multiply.outer") for x in inputs)
        return a.reshape(a.shape + (1,) * b.ndim) * b
    raise TypeError(_unsupported(f"numpy.{name}.{method}", extra))


def _unsupported(what, extra) -> str:
    if extra:
        return (
            f"{what} with options {sorted(extra)} is not supported on Tensors (the result would have no "
            f"gradient); call it without them, use a Tensor method, {_NO_GRAPH}"
        )
    method = what.rsplit(".", 1)[-1]
    hint = f"use t.{method}()" if method in _UFUNC_METHODS else "use the Tensor operators and methods"
    return f"{what} is not defined for Tensors (the result would have no gradient); {hint}, {_NO_GRAPH}"


# ---------------------------------------------------------------------- numpy functions


def _no_options(name, options):
    bad = {k: v for k, v in options.items() if v is not None and v is not np._NoValue}
    if bad:
        raise TypeError(
            f"numpy.{name}: options {sorted(bad)} are not supported on Tensors; use t.{name}(...) {_NO_GRAPH}"
        )


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **rest):
    _no_options("sum", {"dtype": dtype, "out": out, **rest})
    return tf.as_tensor(a, "sum").sum(axis=axis, keepdims=bool(keepdims) if keepdims is not np._NoValue else False)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **rest):
    _no_options("mean", {"dtype": dtype, "out": out, **rest})
    return tf.as_tensor(a, "mean").mean(axis=axis, keepdims=bool(keepdims) if keepdims is not np._NoValue else False)


def _max(a, axis=None, out=None, keepdims=False, **rest):
    _no_options("max", {"out": out, **rest})
    return tf.as_tensor(a, "max").max(axis=axis, keepdims=bool(keepdims) if keepdims is not np._NoValue else False)


def _min(a, axis=None, out=None, keepdims=False, **rest):
    _no_options("min", {"out": out, **rest})
    return tf.as_tensor(a, "min").min(axis=axis, keepdims=bool(keepdims) if keepdims is not np._NoValue else False)


def _spread(name):
    """np.var / np.std: numpy's ddof, or numpy 2's correction (the same number)."""

    def run(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=np._NoValue, **rest):
        _no_options(name, {"dtype": dtype, "out": out, **rest})
        keepdims = bool(keepdims) if keepdims is not np._NoValue else False
        correction = None if correction is np._NoValue else correction
        return getattr(tf.as_tensor(a, name), name)(axis=axis, ddof=ddof, keepdims=keepdims, correction=correction)

    return run


def _clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, *, min=np._NoValue, max=np._NoValue, **rest):
    _no_options("clip", {"out": out, **rest})
    low = either_spelling("clip", "a_min", _given(a_min), "min", _given(min))
    high = either_spelling("clip", "a_max", _given(a_max), "max", _given(max))
    return tf.clip(a, low, high)


def _given(x):
    return None if x is np._NoValue else x


def _reshape(a, *args, **kwargs):
    shape = args[0] if args else kwargs.pop("shape", kwargs.pop("newshape", None))
    _no_options("reshape", {k: v for k, v in kwargs.items() if k != "order" or v != "C"})
    return tf.as_tensor(a, "reshape").reshape(shape)


def _transpose(a, axes=None):
    return tf.as_tensor(a, "transpose").transpose(axes)


def _dot(a, b, out=None):
    _no_options("dot", {"out": out})
    a, b = tf.as_tensor(a, "dot"), tf.as_tensor(b, "dot")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        raise TypeError(
            f"numpy.dot of shapes {a.shape} and {b.shape}: for more than 2 dimensions numpy's dot is not a "
            f"batched product; use a @ b (matmul) or reshape first"
        )
    return a @ b


def _squeeze(a, axis=None):
    return tf.as_tensor(a, "squeeze").squeeze(axis)


def _expand_dims(a, axis):
    return tf.as_tensor(a, "expand_dims").expand_dims(axis)


def _where(condition, *xy):
    if len(xy) != 2:
        raise TypeError("numpy.where with one argument gives indices, not values: use np.nonzero(t.data)")
    return tf.where(condition, *xy)


def _like(fill):
    def make(a, dtype=None, order="K", subok=True, shape=None, *rest):
        data = a.data if isinstance(a, Tensor) else np.asarray(a)
        return constant(np.full(data.shape if shape is None else shape, fill, dtype=dtype or data.dtype))

    return make


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    data = a.data if isinstance(a, Tensor) else np.asarray(a)
    return constant(np.full(data.shape if shape is None else shape, fill_value, dtype=dtype or data.dtype))


def _copy(a, order="K", subok=False):
    t = tf.as_tensor(a, "copy")
    return apply(ops.RESHAPE, (t,), shape=t.shape) if t.requires_grad else constant(t.data.copy())


FUNCTIONS = {
    np.sum: _sum,
    np.mean: _mean,
    np.max: _max,
    np.amax: _max,
    np.min: _min,
    np.amin: _min,
    np.var: _spread("var"),
    np.std: _spread("std"),
    np.clip: _clip,
    np.split: lambda ary, indices_or_sections, axis=0: tf.split(ary, indices_or_sections, axis),
    np.array_split: lambda ary, indices_or_sections, axis=0: tf.array_split(ary, indices_or_sections, axis),
    np.reshape: _reshape,
    np.ravel: lambda a, order="C": tf.as_tensor(a, "ravel").reshape(-1),
    np.transpose: _transpose,
    np.swapaxes: lambda a, axis1, axis2: tf.as_tensor(a, "swapaxes").swapaxes(axis1, axis2),
    np.broadcast_to: lambda array, shape, subok=False: tf.as_tensor(array, "broadcast_to").broadcast_to(shape),
    np.dot: _dot,
    np.concatenate: lambda arrays, axis=0, out=None, **kw: (
        _no_options("concatenate", {"out": out, **kw}) or tf.concatenate(arrays, axis=axis)
    ),
    np.stack: lambda arrays, axis=0, out=None, **kw: (
        _no_options("stack", {"out": out, **kw}) or tf.stack(arrays, axis=axis)
    ),
    np.where: _where,
    np.squeeze: _squeeze,
    np.expand_dims: _expand_dims,
    np.zeros_like: _like(0),
    np.ones_like: _like(1),
    np.empty_like: _like(0),
    np.full_like: _full_like,
    np.copy: _copy,
}
"""numpy functions that run a Tensor op (the graph is kept)."""

READ_ONLY = {
    np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal, np.array_equiv, np.any, np.all,
    np.argmax, np.argmin, np.argsort, np.count_nonzero, np.nonzero, np.flatnonzero, np.result_type,
    np.may_share_memory, np.shares_memory, np.iscomplexobj, np.isrealobj, np.searchsorted,
    np.array2string, np.array_repr, np.array_str,
}  # fmt: skip
"""numpy functions that only read values (sizes, tests, indices: nothing to differentiate): they run on
the data and return what numpy returns."""


def array_function(func, args, kwargs):
    handler = FUNCTIONS.get(func)
    if handler is not None:
        return handler(*args, **kwargs)
    if func in READ_ONLY:
        return func(*_data(args), **_data(kwargs))
    name = getattr(func, "__name__", repr(func))
    raise TypeError(
        f"numpy.{name} is not defined for Tensors (its result would have no gradient); use the Tensor "
        f"operators and methods, or autograd.concatenate / stack / where, {_NO_GRAPH}"
    )


def _data(x):
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_data(v) for v in x)
    if isinstance(x, dict):
        return {k: _data(v) for k, v in x.items()}
    return x
