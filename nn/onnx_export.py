"""How ``nn``'s primitives are written as ONNX operators by ``autograd.onnx.export``, registered by op name.

The layer ops follow PyTorch's functional signatures and NCHW layout; tensors that take a gradient
are the op's inputs and everything else (strides, running statistics, labels) its arguments:

- ``linear(x, w, b)``: ``x @ w + b`` with ``w`` of shape (in, out), the article's convention.
- ``conv2d(x, weight[, bias]; stride=1, padding=0, dilation=1, groups=1)``, ``weight`` (out, in/groups, kH, kW);
  ``padding`` an int, a pair, ``"valid"`` or ``"same"``.
- ``max_pool2d(x; kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)``;
  ``avg_pool2d(x; kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)``.
- ``batch_norm(x[, weight, bias]; running_mean, running_var, eps=1e-5, training=False)``: inference
  only, ``(x - mean) / sqrt(var + eps) * weight + bias`` over the channel axis 1.
- ``layer_norm(x[, weight, bias]; normalized_shape, eps=1e-5)``: over the last ``len(normalized_shape)`` axes.
- ``dropout(x; p, training=False)``: the identity at inference; ``gelu(x; approximate="none" | "tanh")``.
- The losses: ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``, ``cross_entropy``.
"""

from __future__ import annotations

import math

import numpy as np

from autograd.onnx import Mapping, register

from .primitives import bce_eps


def _linear(g, s):
    x, w, b = s.inputs
    return g.op("Add", [g.op("MatMul", [x, w]), b])


def _reduce_all(g, terms, ndim, reduction):
    """The engine's ``mean`` / ``sum`` over every element of ``terms`` (``ndim`` axes), or the terms
    themselves for ``none``."""
    if reduction == "none" or ndim == 0:
        return terms
    axes = tuple(range(ndim))
    return g.reduce("Mean" if reduction == "mean" else "Sum", terms, axes, False)


def _bce(g, s):
    """``-(y ln q + (1 - y) ln(1 - q))``, ``q = clip(p, eps, 1 - eps)``."""
    p, y = s.inputs
    dtype = s.out.dtype
    eps = bce_eps(np.dtype(dtype))
    q = g.op("Clip", [p, g.scalar(eps, dtype), g.scalar(1.0 - eps, dtype)])
    one = g.scalar(1.0, dtype)
    terms = g.op(
        "Add",
        [
            g.op("Mul", [y, g.op("Log", [q])]),
            g.op("Mul", [g.op("Sub", [one, y]), g.op("Log", [g.op("Sub", [one, q])])]),
        ],
    )
    return g.op("Neg", [_reduce_all(g, terms, _broadcast_ndim(s), s.args["reduction"])])


def _bce_with_logits(g, s):
    """``max(z, 0) - z y + ln(1 + e^-|z|)``; at ``z = ±inf`` the limit ``inf w`` (``w = 1 - y`` above 0,
    ``y`` below), or 0 where ``w = 0``, as the engine. ONNX has no log1p: ``ln(1 + e^-|z|)`` differs from
    it by less than 1e-16 where ``e^-|z|`` is below the rounding of 1."""
    z, y = s.inputs
    dtype = s.out.dtype
    zero, one = g.scalar(0.0, dtype), g.scalar(1.0, dtype)
    softplus = g.op("Log", [g.op("Add", [one, g.op("Exp", [g.op("Neg", [g.op("Abs", [z])])])])])
    finite = g.op("Sub", [g.op("Max", [z, zero]), g.op("Mul", [z, y])])
    w = g.op("Where", [g.op("Greater", [z, zero]), g.op("Sub", [one, y]), y])
    limit = g.op("Where", [g.op("Equal", [w, zero]), zero, g.op("Mul", [w, g.scalar(np.inf, dtype)])])
    terms = g.op("Add", [g.op("Where", [g.op("IsInf", [z]), limit, finite]), softplus])
    return _reduce_all(g, terms, _broadcast_ndim(s), s.args["reduction"])


def _broadcast_ndim(s) -> int:
    return len(np.broadcast_shapes(*(a.shape for a in s.arrays)))


def _cross_entropy(g, s):
    """``-log_softmax(z)[n, label_n]`` per row; the labels are the op's second input."""
    z, labels = s.inputs
    index = g.unsqueeze(g.cast(labels, np.int64), [1])
    picked = g.op("GatherElements", [g.op("LogSoftmax", [z], axis=1), index], axis=1)
    terms = g.op("Neg", [g.squeeze(picked, [1])])
    return _reduce_all(g, terms, 1, s.args["reduction"])


# ----------------------------------------------------------------------------- layers


def _pair(value, name, s) -> list:
    if isinstance(value, (int, np.integer)):
        return [int(value)] * 2
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return [int(v) for v in value]
    raise s.fail(f"{name} must be an int or a pair of ints, got {value!r}")


def _pads(s, padding, kernel, dilation) -> list:
    """ONNX's pads (begin H, begin W, end H, end W) for PyTorch's ``padding``."""
    if padding == "valid":
        return [0, 0, 0, 0]
    if padding == "same":  # PyTorch puts the odd pixel at the end
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        begin = [t // 2 for t in total]
        return begin + [t - b for t, b in zip(total, begin)]
    ph, pw = _pair(padding, "padding", s)
    return [ph, pw, ph, pw]


def _conv2d(g, s):
    a = s.args
    kernel = list(s.arrays[1].shape[2:])
    dilation = _pair(a.get("dilation", 1), "dilation", s)
    return g.op(
        "Conv",
        s.inputs,
        kernel_shape=kernel,
        strides=_pair(a.get("stride", 1), "stride", s),
        pads=_pads(s, a.get("padding", 0), kernel, dilation),
        dilations=dilation,
        group=int(a.get("groups", 1)),
    )


def _pool_geometry(s):
    a = s.args
    kernel = _pair(a["kernel_size"], "kernel_size", s)
    stride = a.get("stride")
    strides = kernel if stride is None or stride == () else _pair(stride, "stride", s)
    return kernel, strides, _pads(s, a.get("padding", 0), kernel, [1, 1]), int(bool(a.get("ceil_mode", False)))


def _max_pool2d(g, s):
    kernel, strides, pads, ceil_mode = _pool_geometry(s)
    dilations = _pair(s.args.get("dilation", 1), "dilation", s)
    return g.op(
        "MaxPool", s.inputs, kernel_shape=kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil_mode
    )


def _avg_pool2d(g, s):
    if s.args.get("divisor_override") is not None:
        raise s.fail("divisor_override has no ONNX AveragePool equivalent")
    kernel, strides, pads, ceil_mode = _pool_geometry(s)
    count_include_pad = int(bool(s.args.get("count_include_pad", True)))
    return g.op(
        "AveragePool",
        s.inputs,
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )


def _affine_inputs(g, s, shape):
    """The op's weight and bias, or ones and zeros of ``shape`` where it has none."""
    dtype = s.out.dtype
    weight = s.inputs[1] if len(s.inputs) > 1 else g.const(np.ones(shape, dtype=dtype), "weight")
    bias = s.inputs[2] if len(s.inputs) > 2 else g.const(np.zeros(shape, dtype=dtype), "bias")
    return weight, bias


def _batch_norm(g, s):
    a = s.args
    if a.get("training", False):
        raise s.fail("batch statistics (training=True) are not an inference graph; put the model in eval mode first")
    dtype = s.out.dtype
    channels = s.arrays[0].shape[1]
    weight, bias = _affine_inputs(g, s, (channels,))
    mean = g.const(np.asarray(a["running_mean"], dtype=dtype).reshape(channels), "running_mean")
    var = g.const(np.asarray(a["running_var"], dtype=dtype).reshape(channels), "running_var")
    x = s.inputs[0]
    return g.op("BatchNormalization", [x, weight, bias, mean, var], epsilon=float(a.get("eps", 1e-5)))


def _layer_norm(g, s):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the normalised axes: ONNX's
    LayerNormalization from opset 17, written out before it."""
    a = s.args
    normalized = tuple(np.atleast_1d(a["normalized_shape"]).tolist())
    eps = float(a.get("eps", 1e-5))
    weight, bias = _affine_inputs(g, s, normalized)
    x = s.inputs[0]
    if g.opset >= 17:
        return g.op("LayerNormalization", [x, weight, bias], axis=-len(normalized), epsilon=eps)
    axes = tuple(range(s.arrays[0].ndim - len(normalized), s.arrays[0].ndim))
    centred = g.op("Sub", [x, g.reduce("Mean", x, axes, True)])
    var = g.reduce("Mean", g.op("Mul", [centred, centred]), axes, True)
    scale = g.op("Sqrt", [g.op("Add", [var, g.scalar(eps, s.out.dtype)])])
    return g.op("Add", [g.op("Mul", [g.op("Div", [centred, scale]), weight]), bias])


def _dropout(g, s):
    if s.args.get("training", False):
        raise s.fail("dropout in training mode draws a random mask; put the model in eval mode first")
    return g.op("Identity", s.inputs[:1])


def _gelu(g, s):
    """``x Phi(x) = x (1 + erf(x / sqrt 2)) / 2``, or with ``approximate="tanh"``
    ``x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2``: ONNX's Gelu from opset 20, written out before it."""
    approximate = s.args.get("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise s.fail(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    x = s.inputs[0]
    if g.opset >= 20:
        return g.op("Gelu", [x], approximate=approximate)
    dtype = s.out.dtype
    if approximate == "tanh":
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715, dtype)])])
        curve = g.op("Tanh", [g.op("Mul", [inner, g.scalar(math.sqrt(2.0 / math.pi), dtype)])])
    else:
        curve = g.op("Erf", [g.op("Mul", [x, g.scalar(1.0 / math.sqrt(2.0), dtype)])])
    half = g.op("Mul", [x, g.scalar(0.5, dtype)])
    return g.op("Mul", [half, g.op("Add", [curve, g.scalar(1.0, dtype)])])


def _erf(g, s):
    return g.op("Erf", s.inputs)


NN_OPS = {
    "linear": Mapping(_linear),
    "binary_cross_entropy": Mapping(_bce),
    "binary_cross_entropy_with_logits": Mapping(_bce_with_logits),
    "cross_entropy": Mapping(_cross_entropy),
    "conv2d": Mapping(_conv2d),
    "max_pool2d": Mapping(_max_pool2d),
    "avg_pool2d": Mapping(_avg_pool2d),
    "batch_norm": Mapping(_batch_norm),
    "layer_norm": Mapping(_layer_norm),
    "dropout": Mapping(_dropout),
    "gelu": Mapping(_gelu),
    "erf": Mapping(_erf),
}
"""``nn``'s fused ops by name."""

for _name, _mapping in NN_OPS.items():
    register(_name, _mapping)

WITHOUT_MAPPING = {
    "unfold": "made only by conv2d's backward pass (the transpose of fold); an inference graph has none",
    "fold": "made only by conv2d's backward pass (the transpose of unfold); an inference graph has none",
}
"""``nn``'s primitives deliberately without a mapping, and why."""
