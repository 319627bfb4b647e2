"""Functions by PyTorch's names and signatures (``import nn.functional as F``), on Tensors in NCHW.

- ``linear(input, weight, bias=None)``: ``input @ weight.T + bias`` with ``weight`` of shape
  ``(out_features, in_features)``, torch's layout. (``nn.Linear`` stores the transpose, the article's
  ``(in, out)``, and calls the ``linear`` primitive itself.)
- ``conv2d``, ``max_pool2d``, ``avg_pool2d``: primitives of ``nn.conv`` (im2col and one GEMM).
- ``layer_norm``, ``batch_norm``: composed of engine ops (mean, var, sqrt, ...), so every derivative
  of them is exact to any order. ``batch_norm`` in training updates the running statistics in place
  as torch does: ``running = (1 - momentum) running + momentum stat``, with the unbiased variance.
- ``embedding``: rows of the weight picked by index; a repeated index gets the sum of its gradients.
- ``dropout(input, p, training, generator=None)``: zeros each element with probability ``p`` and scales
  the rest by ``1 / (1 - p)``; the mask comes from a numpy ``Generator`` (``generator=``, or an int
  seed, or ``autograd.manual_seed``'s generator when neither is given).
- ``softmax``, ``log_softmax``, ``relu``, ``sigmoid``, ``tanh``: the engine's ops; ``gelu``: torch's
  exact ``x Phi(x)`` by default, ``approximate='tanh'`` too.
- ``cross_entropy(input, target)``: logits ``(N, C)`` or ``(N, C, d1, ...)`` and integer class
  targets ``(N,)`` or ``(N, d1, ...)``; ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``
  and ``mse_loss`` as in ``nn.losses``.

Options of torch's that change nothing at their default (``dilation=1``, ``groups=1``,
``ceil_mode=False``) are accepted there and refused, with a message, at any other value.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

import autograd
from autograd import Tensor, no_grad
from autograd.tensor import apply, constant
from autograd.typing import RngLike, TensorLike

from . import conv
from . import primitives as P
from .arguments import as_tensor, pair
from .losses import REDUCTIONS, binary_cross_entropy, binary_cross_entropy_with_logits, mse_loss
from .losses import cross_entropy as cross_entropy_rows

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "embedding",
    "gelu",
    "layer_norm",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


# ----------------------------------------------------------------------------- argument checks


def _only_default(where, **options):
    """Refuse torch options this library does not implement, unless they have their default value."""
    defaults = {"dilation": 1, "groups": 1, "ceil_mode": False, "return_indices": False, "inplace": False}
    defaults.update({"count_include_pad": True, "divisor_override": None})
    for name, value in options.items():
        default = defaults[name]
        if value != default and not (name == "dilation" and value in ((1, 1), [1, 1])):
            raise NotImplementedError(f"{where}: {name}={value!r} is not supported (only {name}={default!r})")


def _image(x, where) -> Tensor:
    x = as_tensor(x, where)
    if x.ndim != 4:
        raise ValueError(f"{where}: input must have shape (N, C, H, W), got {x.shape}")
    if x.dtype.kind != "f":
        x = constant(x.data.astype(np.float64))
    return x


def _window_geometry(where, shape, kernel, stride, padding):
    """Check that the padded image holds at least one window; the output size ``(OH, OW)``."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = shape, kernel, stride, padding
    oh, ow = conv.output_size(h, kh, sh, ph), conv.output_size(w, kw, sw, pw)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{where}: input of size ({h}, {w}) with padding {padding} is smaller than the kernel {kernel}"
        )
    return oh, ow


# ----------------------------------------------------------------------------- layers' maps


def linear(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """``input @ weight.T + bias``; ``weight`` ``(out_features, in_features)`` as torch's."""
    x = as_tensor(input, "linear: input")
    w = as_tensor(weight, "linear: weight")
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} and weight of shape {w.shape} do not fit (the weight is "
            f"(out_features, in_features) as torch's, so the input must end in {w.shape[-1] if w.ndim else '?'})"
        )
    if bias is None:
        return x @ w.T
    return apply(P.LINEAR, (x, w.T, as_tensor(bias, "linear: bias")))


def conv2d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation (torch's ``conv2d``): ``input`` (N, C, H, W), ``weight`` (O, C, kh, kw), ``bias``
    (O,) or None; ``stride`` and ``padding`` an int or a pair, or padding ``'valid'`` (0) or ``'same'``
    (stride 1, an odd kernel)."""
    where = "conv2d"
    _only_default(where, dilation=dilation, groups=groups)
    x = _image(input, where)
    w = as_tensor(weight, "conv2d: weight")
    if w.ndim != 4:
        raise ValueError(f"conv2d: weight must have shape (out_channels, in_channels, kh, kw), got {w.shape}")
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the weight expects {w.shape[1]} "
            f"(shape {w.shape})"
        )
    stride = pair(stride, "stride", where, 1)
    if isinstance(padding, str):
        padding = _named_padding(padding, w.shape[2:], stride)
    padding = pair(padding, "padding", where, 0)
    _window_geometry(where, x.shape[2:], w.shape[2:], stride, padding)
    if bias is None:
        b = constant(np.zeros(w.shape[0], dtype=np.result_type(x.dtype, w.dtype)))
    else:
        b = as_tensor(bias, "conv2d: bias")
        if b.shape != (w.shape[0],):
            raise ValueError(f"conv2d: bias must have shape ({w.shape[0]},) for weight {w.shape}, got {b.shape}")
    return apply(conv.CONV2D, (x, w, b), stride=stride, padding=padding)


def _named_padding(padding, kernel, stride):
    if padding == "valid":
        return 0
    if padding == "same":
        if stride != (1, 1) or kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
            raise ValueError(
                f"conv2d: padding='same' needs stride 1 and an odd kernel here, got stride {stride}, kernel {kernel}"
            )
        return (kernel[0] // 2, kernel[1] // 2)
    raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")


def _pool_arguments(where, input, kernel_size, stride, padding):
    x = _image(input, where)
    kernel = pair(kernel_size, "kernel_size", where, 1)
    stride = kernel if stride is None or stride == [] else pair(stride, "stride", where, 1)
    padding = pair(padding, "padding", where, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{where}: padding {padding} must be at most half the kernel {kernel} (as torch)")
    _window_geometry(where, x.shape[2:], kernel, stride, padding)
    return x, {"kernel_size": kernel, "stride": stride, "padding": padding}


def max_pool2d(
    input: TensorLike,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """The max of each window (``stride`` defaults to ``kernel_size``; padding counts as -inf)."""
    _only_default("max_pool2d", dilation=dilation, ceil_mode=ceil_mode, return_indices=return_indices)
    x, args = _pool_arguments("max_pool2d", input, kernel_size, stride, padding)
    return apply(conv.MAX_POOL2D, (x,), **args)


def avg_pool2d(
    input: TensorLike,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The mean of each window (``stride`` defaults to ``kernel_size``; zero padding counted)."""
    _only_default(
        "avg_pool2d", ceil_mode=ceil_mode, count_include_pad=count_include_pad, divisor_override=divisor_override
    )
    x, args = _pool_arguments("avg_pool2d", input, kernel_size, stride, padding)
    return apply(conv.AVG_POOL2D, (x,), **args)


# ----------------------------------------------------------------------------- normalisation


def _normalized(x, axes, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (the biased variance, as torch), with the mean and
    variance (shaped to broadcast)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return centered / (var + eps).sqrt(), mean, var


def layer_norm(
    input: TensorLike,
    normalized_shape: int | Sequence[int],
    weight: TensorLike | None = None,
    bias: TensorLike | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias``, mean and (biased) variance over the last
    ``len(normalized_shape)`` axes, which must be ``normalized_shape``."""
    x = as_tensor(input, "layer_norm")
    integral = (int, numbers.Integral)  # int spelled out: mypy does not count int as an Integral
    shape = (normalized_shape,) if isinstance(normalized_shape, integral) else tuple(normalized_shape)
    if not shape or len(shape) > x.ndim or x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in normalized_shape {shape}")
    out = _normalized(x, tuple(range(x.ndim - len(shape), x.ndim)), eps)[0]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and as_tensor(t, f"layer_norm: {name}").shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {np.shape(t)}")
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(
    input: TensorLike,
    running_mean: Tensor | np.ndarray | None,
    running_var: Tensor | np.ndarray | None,
    weight: TensorLike | None = None,
    bias: TensorLike | None = None,
    training: bool = False,
    momentum: float | Tensor = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over axis 1 of ``input`` (N, C, ...): statistics over every other axis.

    Training: the batch's mean and biased variance normalise ``x``; ``running_mean`` and ``running_var``
    (Tensors or arrays of shape (C,), or None) are updated in place, ``running = (1 - momentum) running
    + momentum stat`` with the unbiased variance, through Tensor ops (``momentum`` a number or a
    Tensor), so ``autograd.compile`` replays the update. Evaluation: the running statistics normalise ``x``.
    """
    x = as_tensor(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must have shape (N, C, ...), got {x.shape}")
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    running = {"running_mean": running_mean, "running_var": running_var}
    for name, buf in running.items():
        if buf is not None and np.shape(buf) != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input {x.shape}, got {np.shape(buf)}")
    running_mean, running_var = (_running(b, n) for n, b in running.items())
    if training:
        count = x.size // c
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input {x.shape}")
        out, mean, var = _normalized(x, axes, eps)
        with no_grad():
            if running_mean is not None:
                _update(running_mean, mean.detach().reshape(c), momentum)
            if running_var is not None:
                _update(running_var, var.detach().reshape(c) * (count / (count - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation (training=False) needs running_mean and running_var")
        out = (x - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    if weight is not None:
        out = out * as_tensor(weight, "batch_norm: weight").reshape(shape)
    if bias is not None:
        out = out + as_tensor(bias, "batch_norm: bias").reshape(shape)
    return out


def _running(buf: Tensor | np.ndarray | None, name: str) -> Tensor | None:
    """A running statistic as a Tensor sharing its memory (updated in place), or None."""
    if buf is None or isinstance(buf, Tensor):
        return buf
    if isinstance(buf, np.ndarray) and buf.dtype.kind == "f":
        return constant(buf)
    raise TypeError(f"batch_norm: {name} must be a float array, a Tensor or None, got {type(buf).__name__}")


def _update(running, stat, momentum):
    """``running = (1 - momentum) running + momentum stat``, in place (torch's rule)."""
    running *= 1.0 - momentum
    running += momentum * stat


# ----------------------------------------------------------------------------- embedding and dropout


def embedding(input: TensorLike, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """``weight[input]``: a row of ``weight`` (num_embeddings, dim) per index; repeated indices add up their
    gradients. ``padding_idx``: that row is read but gets no gradient (as torch)."""
    w = as_tensor(weight, "embedding: weight")
    if w.ndim != 2:
        raise ValueError(f"embedding: weight must have shape (num_embeddings, embedding_dim), got {w.shape}")
    ids = np.asarray(input.data if isinstance(input, Tensor) else input)
    if ids.dtype.kind == "f" and np.all(ids == np.round(ids)):
        ids = ids.astype(np.intp)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {ids.dtype}")
    n = w.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        bad = ids[(ids < 0) | (ids >= n)].flat[0]
        raise IndexError(f"embedding: index {bad} is out of range for {n} embeddings (0..{n - 1})")
    rows = w[ids]
    if padding_idx is None:
        return rows
    pad = padding_idx + n if padding_idx < 0 else padding_idx
    if not 0 <= pad < n:
        raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {n} embeddings")
    held = constant(np.broadcast_to(w.data[pad], rows.shape))
    return autograd.where((ids == pad)[..., None], held, rows)


def dropout(
    input: TensorLike, p: float = 0.5, training: bool = True, inplace: bool = False, generator: RngLike = None
) -> Tensor:
    """Each element zeroed with probability ``p``, the others scaled by ``1 / (1 - p)``; ``input`` itself
    when not ``training`` or ``p = 0``. ``generator``: a numpy Generator or an int seed."""
    _only_default("dropout", inplace=inplace)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must lie in [0, 1], got {p!r}")
    x = as_tensor(input, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        u = autograd.rand(*x.shape, seed=int(generator)).data
    else:
        u = autograd.rand(*x.shape, generator=generator).data
    scale = np.where(u >= p, 1.0 / (1.0 - p), 0.0).astype(x.dtype if x.dtype.kind == "f" else np.float64)
    return x * scale


# ----------------------------------------------------------------------------- activations and losses


def _dim(dim, where):
    if dim is None:
        raise TypeError(f"{where}: give dim (torch's implicit choice of axis is deprecated)")
    return dim


def softmax(input: TensorLike, dim: int | None = None) -> Tensor:
    """``e^x / sum e^x`` along ``dim``."""
    return autograd.softmax(as_tensor(input, "softmax"), dim=_dim(dim, "softmax"))


def log_softmax(input: TensorLike, dim: int | None = None) -> Tensor:
    """``x - ln sum e^x`` along ``dim``."""
    return autograd.log_softmax(as_tensor(input, "log_softmax"), dim=_dim(dim, "log_softmax"))


def relu(input: TensorLike) -> Tensor:
    """``max(0, x)``."""
    return as_tensor(input, "relu").relu()


def sigmoid(input: TensorLike) -> Tensor:
    """``1 / (1 + e^-x)``."""
    return as_tensor(input, "sigmoid").sigmoid()


def tanh(input: TensorLike) -> Tensor:
    """``tanh x``."""
    return as_tensor(input, "tanh").tanh()


def gelu(input: TensorLike, approximate: str = "none") -> Tensor:
    """``x Phi(x) = x/2 (1 + erf(x / sqrt 2))``, or with ``approximate='tanh'`` torch's
    ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = as_tensor(input, "gelu")
    if x.dtype.kind != "f":
        x = constant(x.data.astype(np.float64))
    return apply(P.GELU, (x,), approximate=approximate)


def cross_entropy(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """``-log_softmax(z)[target]`` with classes on axis 1: logits ``(N, C)`` and targets ``(N,)``, or
    ``(N, C, d1, ...)`` and ``(N, d1, ...)``; reduced by ``reduction``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    z = as_tensor(input, "cross_entropy: input")
    if z.ndim <= 2:
        return cross_entropy_rows(z, target, reduction)
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    n, c, rest = z.shape[0], z.shape[1], z.shape[2:]
    if labels.shape != (n, *rest):
        raise ValueError(f"cross_entropy: target must have shape {(n, *rest)} for input {z.shape}, got {labels.shape}")
    order = (0, *range(2, z.ndim), 1)  # classes last, then one row per position
    rows = z.transpose(order).reshape(-1, c)
    loss = cross_entropy_rows(rows, labels.reshape(-1), reduction)
    return loss.reshape((n, *rest)) if reduction == "none" else loss
