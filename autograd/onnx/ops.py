"""The engine's primitives as ONNX operators: one entry per op name in ``ENGINE_OPS``.

Each mapping writes the op's forward rule (its ``doc`` states the math) with ONNX operators,
following the engine's numerics where they differ from the obvious spelling: log-sum-exp shifted
by its finite maximum, softmax over several axes from ``x - max``, variance from ``x - mean``.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor_args import reduced_axes
from .builder import INT64_MAX, INT64_MIN
from .step import Mapping


def same(op_type):
    """The op is the ONNX operator ``op_type`` on the same inputs (numpy broadcasting = ONNX's)."""
    return Mapping(lambda g, s: g.op(op_type, s.inputs))


def _axes(s, axis) -> tuple:
    return tuple(reduced_axes(axis, s.arrays[0].ndim))


def reduction(kind):
    """``Reduce{kind}`` over ``axis`` (None: all), keeping the reduced axes as length 1 if ``keepdims``."""

    def write(g, s):
        axes = _axes(s, s.args["axis"])
        if not axes:  # a 0-d input, or no axis: numpy returns the input
            return g.op("Identity", s.inputs)
        return g.reduce(kind, s.inputs[0], axes, s.args["keepdims"])

    return Mapping(write)


def _pow_const(g, s):
    return g.op("Pow", [s.inputs[0], g.scalar(s.args["exponent"], s.out.dtype)])


def _element_count(g, s, x, axes):
    """The number of elements a reduction over ``axes`` combines, as a 0-d tensor of the output's type:
    a constant, or read from the shape when a reduced axis follows the batch."""
    shape = s.arrays[0].shape
    dynamic = set(s.dynamic_in[0]) if s.dynamic_in else set()
    if not dynamic.intersection(axes):
        return g.scalar(math.prod(shape[d] for d in axes), s.out.dtype)
    dims = g.op("Gather", [g.op("Shape", [x]), g.ints(axes, "axes")], axis=0)
    return g.cast(g.op("ReduceProd", [dims], keepdims=0), s.out.dtype)


def _variance(g, s):
    """``sum (x - mean)^2 / (N - ddof)`` over the axes, as numpy computes it."""
    x = s.inputs[0]
    axes = _axes(s, s.args["axis"])
    centred = g.op("Sub", [x, g.reduce("Mean", x, axes, True)])
    squares = g.op("Mul", [centred, centred])
    ddof = s.args["ddof"]
    if ddof == 0:
        return g.reduce("Mean", squares, axes, s.args["keepdims"])
    total = g.reduce("Sum", squares, axes, s.args["keepdims"])
    count = _element_count(g, s, x, axes)
    return g.op("Div", [total, g.op("Sub", [count, g.scalar(ddof, s.out.dtype)])])


def _var(g, s):
    return _variance(g, s)


def _std(g, s):
    return g.op("Sqrt", [_variance(g, s)])


def _finite_max(g, s, x, axes):
    """``max x`` over ``axes`` (kept), or 0 where that is not finite: the engine's shift for log-sum-exp,
    so that a group of -inf gives ln 0 = -inf rather than NaN."""
    m = g.reduce("Max", x, axes, True)
    not_finite = g.op("Or", [g.op("IsInf", [m]), g.op("IsNaN", [m])])
    return g.op("Where", [not_finite, g.scalar(0.0, s.out.dtype), m])


def _logsumexp(g, s):
    """``ln sum e^(x - m) + m``, ``m`` the finite maximum."""
    x = s.inputs[0]
    axes = _axes(s, s.args["axis"])
    if not axes:
        return g.op("Identity", [x])
    m = _finite_max(g, s, x, axes)
    total = g.reduce("Sum", g.op("Exp", [g.op("Sub", [x, m])]), axes, True)
    out = g.op("Add", [g.op("Log", [total]), m])
    return out if s.args["keepdims"] else g.squeeze(out, axes)


def _shifted(g, s):
    """``x - max x`` over the op's axes (kept), and those axes."""
    x = s.inputs[0]
    axes = _axes(s, s.args["axis"])
    return g.op("Sub", [x, g.reduce("Max", x, axes, True)]), axes


def _softmax(g, s):
    """``e^(x - max) / sum e^(x - max)``: ONNX's Softmax along one axis, written out for several."""
    axis = s.args["axis"]
    if isinstance(axis, int):
        return g.op("Softmax", s.inputs, axis=axis)
    shifted, axes = _shifted(g, s)
    e = g.op("Exp", [shifted])
    return g.op("Div", [e, g.reduce("Sum", e, axes, True)])


def _log_softmax(g, s):
    """``(x - max) - ln sum e^(x - max)``: ONNX's LogSoftmax along one axis, written out for several."""
    axis = s.args["axis"]
    if isinstance(axis, int):
        return g.op("LogSoftmax", s.inputs, axis=axis)
    shifted, axes = _shifted(g, s)
    total = g.reduce("Sum", g.op("Exp", [shifted]), axes, True)
    return g.op("Sub", [shifted, g.op("Log", [total])])


def _reshape(g, s):
    shape = s.shape_literal()
    if 0 in shape:  # a 0 would otherwise mean "the input's length here"
        if g.opset < 14:
            raise s.fail(f"reshape to {tuple(s.out.shape)} (an axis of length 0) needs opset 14 or later")
        return g.op("Reshape", [s.inputs[0], g.ints(shape, "shape")], allowzero=1)
    return g.reshape(s.inputs[0], shape)


def _flatten(g, s):
    """ONNX's Flatten for ``flatten(1)`` to a matrix (the usual step from a CNN to a classifier), else a reshape."""
    if s.args["start_dim"] == 1 and s.out.ndim == 2 and s.args["end_dim"] == s.arrays[0].ndim - 1:
        return g.op("Flatten", s.inputs, axis=1)
    return _reshape(g, s)


def _transpose(g, s):
    axes = s.args["axes"]
    perm = list(reversed(range(s.arrays[0].ndim))) if axes is None else list(axes)
    return g.op("Transpose", s.inputs, perm=perm)


def _broadcast_to(g, s):
    """ONNX's Expand broadcasts both ways, so a 1 at an axis that follows the batch keeps the input's
    length there."""
    shape = list(s.out.shape)
    offset = s.out.ndim - s.arrays[0].ndim
    for d in s.dynamic_out:
        if d - offset not in s.dynamic_in[0]:
            raise s.fail(
                f"broadcasting shape {s.arrays[0].shape} to the batch size along axis {d}: only a tensor that "
                "already has the batch axis can follow it; export without dynamic_batch"
            )
        shape[d] = 1
    return g.op("Expand", [s.inputs[0], g.ints(shape, "shape")])


def _concatenate(g, s):
    return g.op("Concat", s.inputs, axis=s.args["axis"])


def _stack(g, s):
    axis = s.args["axis"]
    return g.op("Concat", [g.unsqueeze(x, [axis]) for x in s.inputs], axis=axis)


def _where(g, s):
    condition = g.const(np.asarray(s.args["condition"], dtype=bool), "condition")
    return g.op("Where", [condition, *s.inputs])


def _clip(g, s):
    """``min(max(x, low), high)``; ONNX's Clip takes number bounds only, arrays go through Max and Min."""
    x = s.inputs[0]
    low, high = s.args["low"], s.args["high"]
    if all(b is None or np.ndim(b) == 0 for b in (low, high)):
        bounds = ["" if b is None else g.scalar(b, s.out.dtype) for b in (low, high)]
        return g.op("Clip", [x, *bounds])
    if low is not None:
        x = g.op("Max", [x, g.const(np.asarray(low, dtype=s.out.dtype), "low")])
    if high is not None:
        x = g.op("Min", [x, g.const(np.asarray(high, dtype=s.out.dtype), "high")])
    return x


def _squeeze(g, s):
    axes = s.args["axis"]
    return g.squeeze(s.inputs[0], axes) if axes else g.op("Identity", s.inputs)


def _expand_dims(g, s):
    return g.unsqueeze(s.inputs[0], s.args["axis"])


def _split(g, s):
    a = s.args
    return g.op("Slice", [s.inputs[0], g.ints([a["start"]]), g.ints([a["stop"]]), g.ints([a["axis"]])])


def _cast(g, s):
    return g.cast(s.inputs[0], s.args["dtype"])


# ----------------------------------------------------------------------------- indexing


def _full_index(index, ndim) -> list:
    """The index with its Ellipsis written out (or trailing ``:`` added) so that it covers every axis."""
    parts = list(index)
    used = sum(p.ndim if isinstance(p, np.ndarray) and p.dtype == bool else 1 for p in parts if p is not None)
    used -= sum(1 for p in parts if p is Ellipsis)
    fill = [slice(None)] * (ndim - used)
    if any(p is Ellipsis for p in parts):
        k = next(i for i, p in enumerate(parts) if p is Ellipsis)
        return parts[:k] + fill + [p for p in parts[k + 1 :] if p is not Ellipsis]
    return parts + fill


def _slice_bounds(p, n, dynamic):
    """``(start, end, step)`` for ONNX's Slice, or None for ``:`` (nothing to cut).

    On an axis of known length the bounds are numpy's own (``slice.indices``); an end before the
    first element of a backward slice becomes INT64_MIN, which ONNX reads as "before index 0"
    (-1 would mean the last element). On an axis that follows the batch the bounds stay as given,
    so they apply to any length (ONNX counts negative bounds from the end, as Python does)."""
    if isinstance(p, int):
        if dynamic:
            return p, (p + 1 if p != -1 else INT64_MAX), 1
        p %= n
        return p, p + 1, 1
    if p.step in (None, 1) and p.start in (None, 0) and p.stop is None:
        return None
    if dynamic:
        step = 1 if p.step is None else p.step
        start = p.start if p.start is not None else (0 if step > 0 else INT64_MAX)
        stop = p.stop if p.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
        return start, stop, step
    start, stop, step = p.indices(n)
    if not range(start, stop, step):
        return 0, 0, 1
    if step < 0 and stop < 0:
        stop = INT64_MIN
    return start, stop, step


def _cut(g, s, x, parts):
    """One Slice for the ints and slices in ``parts`` (one per axis of ``x``; anything else is left)."""
    shape, dynamic = s.arrays[0].shape, s.dynamic_in[0] if s.dynamic_in else ()
    bounds = []
    for axis, p in enumerate(parts):
        if isinstance(p, (int, slice)):
            b = _slice_bounds(p, shape[axis], axis in dynamic)
            if b is not None:
                bounds.append((axis, *b))
    if not bounds:
        return x
    axes, starts, ends, steps = zip(*bounds)
    return g.op("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])


def _getitem(g, s):
    """Basic indexing as Slice, Squeeze (the int axes) and Unsqueeze (the ``None`` axes); one array of
    indices among slices as Slice then Gather; any other advanced index as a Gather of the flattened
    tensor with the element numbers numpy's indexing picks."""
    x = s.inputs[0]
    shape = s.arrays[0].shape
    index = tuple(s.args["index"])
    parts = _full_index(index, len(shape))
    if s.args["basic"]:
        at_input = [p for p in parts if p is not None]
        out = _cut(g, s, x, at_input)
        out = g.squeeze(out, [d for d, p in enumerate(at_input) if isinstance(p, int)])
        kept = [p for p in parts if not isinstance(p, int)]
        return g.unsqueeze(out, [d for d, p in enumerate(kept) if p is None])
    arrays = [k for k, p in enumerate(parts) if isinstance(p, np.ndarray)]
    if len(arrays) == 1 and all(isinstance(p, slice) for k, p in enumerate(parts) if k != arrays[0]):
        (k,) = arrays
        picked = parts[k]
        if picked.dtype == bool and picked.ndim == 1:
            picked = np.flatnonzero(picked)
        if picked.dtype != bool:
            cut = _cut(g, s, x, [slice(None) if i == k else p for i, p in enumerate(parts)])
            indices = g.const(np.asarray(picked, dtype=np.int64), "indices")  # negatives count from the end
            return g.op("Gather", [cut, indices], axis=k)
    if s.dynamic_in and s.dynamic_in[0]:
        raise s.fail(
            f"index {index!r} mixes arrays with ints, None or other arrays; it is written with the element "
            "numbers of a fixed shape, so export it without dynamic_batch"
        )
    numbers = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[index]
    return g.op("Gather", [g.reshape(x, [-1]), g.const(numbers, "indices")], axis=0)


ENGINE_OPS = {
    "add": same("Add"),
    "sub": same("Sub"),
    "mul": same("Mul"),
    "div": same("Div"),
    "pow": same("Pow"),
    "pow_const": Mapping(_pow_const),
    "neg": same("Neg"),
    "matmul": same("MatMul"),
    "exp": same("Exp"),
    "log": same("Log"),
    "tanh": same("Tanh"),
    "sigmoid": same("Sigmoid"),
    "relu": same("Relu"),
    "sqrt": same("Sqrt"),
    "abs": same("Abs"),
    "sum": reduction("Sum"),
    "mean": reduction("Mean"),
    "max": reduction("Max"),
    "min": reduction("Min"),
    "var": Mapping(_var),
    "std": Mapping(_std),
    "logsumexp": Mapping(_logsumexp),
    "softmax": Mapping(_softmax),
    "log_softmax": Mapping(_log_softmax),
    "reshape": Mapping(_reshape, batch_args=("shape",)),
    "flatten": Mapping(_flatten),
    "transpose": Mapping(_transpose),
    "getitem": Mapping(_getitem),
    "broadcast_to": Mapping(_broadcast_to, batch_args=("shape",)),
    "concatenate": Mapping(_concatenate),
    "stack": Mapping(_stack),
    "split": Mapping(_split),
    "where": Mapping(_where),
    "maximum": same("Max"),
    "minimum": same("Min"),
    "clip": Mapping(_clip),
    "squeeze": Mapping(_squeeze),
    "expand_dims": Mapping(_expand_dims),
    "cast": Mapping(_cast),
}
"""The engine's own primitives (``autograd.tensor_ops.TENSOR_OPS``) by name."""

UNMAPPED = {
    "scatter": "made only by backward passes (the transpose of getitem); an inference graph has none",
}
"""Engine primitives deliberately without a mapping, and why."""
