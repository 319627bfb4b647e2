"""Convolution and pooling primitives on NCHW arrays, declared through ``autograd.extend``.

The windows of an image are a strided view (no copy): window ``(oh, ow)`` of a padded image ``xp``
is ``xp[:, :, oh*sh : oh*sh + kh, ow*sw : ow*sw + kw]``. On it:

- ``UNFOLD`` (im2col): every window copied out, shape ``(N, C, OH, OW, kh, kw)``, laid out in memory
  as one row of ``kh kw C`` numbers per output pixel, so a convolution is one matrix product;
- ``FOLD`` (col2im), its transpose: each window added back into its place in the image (overlapping
  windows add up), the padding cut away;
- ``CONV2D``: ``out[n, o] = b[o] + sum_{c,i,j} w[o, c, i, j] xp[n, c, oh*sh + i, ow*sw + j]``,
  computed as ``unfold(x) @ W^T``: one GEMM of ``(N OH OW, kh kw C)`` by ``(kh kw C, O)``;
- ``MAX_POOL2D`` and ``AVG_POOL2D``: the max (the image padded with -inf) and the mean (padded with
  zeros, which count, as torch's default ``count_include_pad=True``) of each window.

Output sizes follow torch: ``OH = (H + 2 ph - kh) // sh + 1``. The VJPs are written with these
primitives, numpy functions and engine ops, so they run on Tensors as well (derivatives of any
order): the gradient of ``unfold`` is ``fold`` and back; ``conv2d`` sends ``fold(g W)`` to ``x`` and
``g^T unfold(x)`` to ``w``; the max sends each window's gradient to its first maximal element (as
torch, whose ties go to the first maximum) through the engine's ``scatter``. Which element is the
maximum is piecewise constant in ``x``, so the max's own second derivative is 0.

Memory layout: the results (and the gradients sent back) are C-contiguous NCHW arrays, as numpy's
and torch's, so a compiled replay, whose buffers take the layout of the recorded arrays, sums them
in the same order as the eager run. Inside, the padded image and the unfolded windows are laid out
channels-last, ``(N, H, W, C)``: a window's numbers for all channels are then adjacent, and copying
the windows out is several times faster than from NCHW memory; ``UNFOLD``'s result keeps that
layout (a ``(N, OH, OW, kh, kw, C)`` array seen as ``(N, C, OH, OW, kh, kw)``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from autograd import Tensor
from autograd import tensor_ops as tops
from autograd.extend import LINEAR, tensor_op
from autograd.tensor_ops import TensorOp

__all__ = [
    "AVG_POOL2D",
    "CONV2D",
    "FOLD",
    "MAX_POOL2D",
    "UNFOLD",
    "channels_last",
    "first_max_index",
    "output_size",
    "windows",
]


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """How many windows of ``kernel`` fit along an axis of ``size`` padded by ``padding`` on each side."""
    return (size + 2 * padding - kernel) // stride + 1


def padded(x, padding, value):
    """``x`` (N, C, H, W) with ``padding = (ph, pw)`` rows and columns of ``value`` on each side (``x``
    itself when there is none)."""
    ph, pw = padding
    if not ph and not pw:
        return x
    n, c, h, w = x.shape
    buf = channels_last((n, c, h + 2 * ph, w + 2 * pw), x.dtype, value)
    buf[:, :, ph : ph + h, pw : pw + w] = x
    return buf


def windows(xp, kernel_size, stride):
    """The windows of the (already padded) image ``xp`` as a read-only view ``(N, C, OH, OW, kh, kw)``."""
    (kh, kw), (sh, sw) = kernel_size, stride
    n, c, h, w = xp.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s_n, s_c, s_h, s_w = xp.strides
    return as_strided(xp, (n, c, oh, ow, kh, kw), (s_n, s_c, s_h * sh, s_w * sw, s_h, s_w), writeable=False)


def _tiles(x, kernel_size):
    """For non-overlapping windows without padding (stride = kernel): the windows as a reshaped view
    ``(N, C, OH, kh, OW, kw)`` of ``x`` (rows and columns that no window reaches left out)."""
    kh, kw = kernel_size
    n, c, h, w = x.shape
    oh, ow = h // kh, w // kw
    return x[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)


def _tiled(kernel_size, stride, padding) -> bool:
    return tuple(stride) == tuple(kernel_size) and not any(padding)


def _data(x):
    """The numbers of ``x``, an array or (in a recorded backward pass) a Tensor."""
    return x.data if isinstance(x, Tensor) else x


# ----------------------------------------------------------------------------- im2col and col2im


def channels_last(shape, dtype, fill=None):
    """A new array of NCHW ``shape`` whose memory is laid out ``(N, H, W, C)`` (zeros, or ``fill``)."""
    n, c, h, w = shape
    make = np.empty if fill is None else (np.zeros if fill == 0 else lambda s, dtype: np.full(s, fill, dtype=dtype))
    return make((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)


def _unfold(x, kernel_size, stride, padding):
    n, c = x.shape[:2]
    view = windows(padded(x, padding, 0.0), kernel_size, stride)
    cols = np.empty((n, view.shape[2], view.shape[3], *kernel_size, c), dtype=x.dtype)
    np.copyto(cols, view.transpose(0, 2, 3, 4, 5, 1))
    return cols.transpose(0, 5, 1, 2, 3, 4)


def _fold(cols, input_size, stride, padding):
    n, c, oh, ow, kh, kw = cols.shape
    (h, w), (sh, sw), (ph, pw) = input_size, stride, padding
    if _tiled((kh, kw), stride, padding) and (oh * kh, ow * kw) == (h, w):
        image = np.empty((n, c, oh, kh, ow, kw), dtype=cols.dtype)
        np.copyto(image, cols.transpose(0, 1, 2, 4, 3, 5))
        return image.reshape(n, c, h, w)
    # the sums run in a channels-last buffer, like the windows' memory (several times faster), then one
    # copy gives the C-contiguous image and cuts the padding
    buf = channels_last((n, c, h + 2 * ph, w + 2 * pw), cols.dtype, 0)
    for i in range(kh):  # a loop over the kernel's kh kw offsets; each adds one strided slab of pixels
        for j in range(kw):
            buf[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw] += cols[:, :, :, :, i, j]
    return np.ascontiguousarray(buf[:, :, ph : ph + h, pw : pw + w])


FOLD: TensorOp  # declared below: unfold's gradient is fold, fold's is unfold
UNFOLD = tensor_op(
    "unfold",
    _unfold,
    [lambda g, out, x, kernel_size, stride, padding: FOLD(g, input_size=x.shape[2:], stride=stride, padding=padding)],
    "the windows of x (N, C, H, W), zero-padded: (N, C, OH, OW, kh, kw) (im2col); the gradient is fold(g)",
    jvp=LINEAR,
)
FOLD = tensor_op(
    "fold",
    _fold,
    [
        lambda g, out, cols, input_size, stride, padding: UNFOLD(
            g, kernel_size=cols.shape[4:], stride=stride, padding=padding
        )
    ],
    "windows (N, C, OH, OW, kh, kw) added into an image (N, C, H, W), overlaps adding up, padding cut "
    "(col2im, the transpose of unfold); the gradient is unfold(g)",
    jvp=LINEAR,
)


# ----------------------------------------------------------------------------- convolution


def _pixel_rows(cols):
    """Unfolded windows ``(N, C, OH, OW, kh, kw)`` as the matrix ``(N OH OW, kh kw C)``."""
    n, c, oh, ow, kh, kw = cols.shape
    return np.reshape(np.transpose(cols, (0, 2, 3, 4, 5, 1)), (n * oh * ow, kh * kw * c))


def _kernel_rows(w):
    """The weight ``(O, C, kh, kw)`` as the matrix ``(O, kh kw C)``, matching ``_pixel_rows``."""
    o, c, kh, kw = w.shape
    return np.reshape(np.transpose(w, (0, 2, 3, 1)), (o, kh * kw * c))


def _channel_rows(g):
    """``g`` (N, O, OH, OW) as the matrix ``(N OH OW, O)``."""
    return np.reshape(np.transpose(g, (0, 2, 3, 1)), (-1, g.shape[1]))


def _conv2d_forward(x, w, b, stride, padding):
    o, c, kh, kw = w.shape
    cols = _unfold(x, (kh, kw), stride, padding)
    n, _, oh, ow = cols.shape[:4]
    out = np.matmul(_pixel_rows(cols), _kernel_rows(w).T)
    if b.dtype == out.dtype:
        out += b
    else:
        out = out + b
    return np.ascontiguousarray(out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2))


def _conv2d_x_vjp(g, out, x, w, b, stride, padding):
    """``fold(g W)``: each output pixel's gradient spread over its window through the kernel."""
    n, o, oh, ow = g.shape
    _, c, kh, kw = w.shape
    cols = np.matmul(_channel_rows(g), _kernel_rows(w))
    cols = np.transpose(np.reshape(cols, (n, oh, ow, kh, kw, c)), (0, 5, 1, 2, 3, 4))
    return FOLD(cols, input_size=x.shape[2:], stride=stride, padding=padding)


def _conv2d_w_vjp(g, out, x, w, b, stride, padding):
    """``g^T unfold(x)``: each kernel weight meets every window's pixel it multiplied."""
    o, c, kh, kw = w.shape
    cols = UNFOLD(x, kernel_size=(kh, kw), stride=stride, padding=padding)
    rows = np.matmul(np.transpose(_channel_rows(g)), _pixel_rows(cols))
    return np.transpose(np.reshape(rows, (o, kh, kw, c)), (0, 3, 1, 2))


def _conv2d_b_vjp(g, out, x, w, b, stride, padding):
    # over each map's contiguous pixels first, then the batch: several times faster than one sum over
    # axes (0, 2, 3)
    return np.sum(np.sum(np.reshape(g, g.shape[:2] + (-1,)), axis=2), axis=0)


def _conv2d_jvp(tangents, out, x, w, b, stride, padding):
    """``conv(tx, w) + conv(x, tw) + tb`` (bilinear in x and w)."""
    tx, tw, tb = tangents
    zero = np.zeros(w.shape[0], dtype=out.dtype)
    total = np.zeros(out.shape, dtype=out.dtype)
    if tx is not None:
        total = total + _conv2d_forward(tx, w, zero, stride, padding)
    if tw is not None:
        total = total + _conv2d_forward(x, tw, zero, stride, padding)
    if tb is not None:
        total = total + tb[:, None, None]
    return total


CONV2D = tensor_op(
    "conv2d",
    _conv2d_forward,
    [_conv2d_x_vjp, _conv2d_w_vjp, _conv2d_b_vjp],
    "out[n,o] = b[o] + sum_{c,i,j} w[o,c,i,j] xp[n,c,oh sh+i,ow sw+j] (NCHW, w (O, C, kh, kw)), as "
    "unfold(x) @ w^T; d/dx = fold(g w), d/dw = g^T unfold(x), d/db = g summed over (N, OH, OW)",
    jvp=_conv2d_jvp,
)


# ----------------------------------------------------------------------------- pooling


def _pool_windows(x, kernel_size, stride, padding, fill):
    """The windows ``(N, C, OH, OW, kh, kw)`` of ``x`` padded with ``fill``, as a view where possible."""
    if _tiled(kernel_size, stride, padding):
        return _tiles(x, kernel_size).transpose(0, 1, 2, 4, 3, 5)
    return windows(padded(x, padding, fill), kernel_size, stride)


def _combine(view, ufunc):
    """``ufunc`` folded over each window's elements, ``(N, C, OH, OW)`` laid out channels-last: one pass
    per kernel offset over strided slices (faster than numpy's reduction over two inner window axes)."""
    out = np.empty(view.shape[:4], dtype=view.dtype)
    kh, kw = view.shape[4:]
    if kh * kw == 1:
        np.copyto(out, view[..., 0, 0])
        return out
    ufunc(view[..., 0, 0], view[..., 0, 1] if kw > 1 else view[..., 1, 0], out=out)
    for k in range(2, kh * kw):
        ufunc(out, view[..., k // kw, k % kw], out=out)
    return out


def _max_pool_forward(x, kernel_size, stride, padding):
    return _combine(_pool_windows(x, kernel_size, stride, padding, -np.inf), np.maximum)


def first_max_index(x, top, kernel_size, stride, padding):
    """For each window, the index of its first maximal element (row by row; NaN counts as the maximum;
    padding never does) in ``x`` flattened: an int array ``(N, C, OH, OW)``. ``top``: the windows'
    maxima (the forward's result)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    n, c, h, w = x.shape
    view = _pool_windows(x, kernel_size, stride, padding, -np.inf)
    oh, ow = top.shape[2:]
    nan = bool(np.isnan(top).any())
    small = kh * kw <= 255  # positions fit a byte: byte arithmetic is the fastest
    rows = np.arange(oh)[:, None] * sh - ph  # each window's first row and column in x
    cols = np.arange(ow)[None, :] * sw - pw
    # pos = the first k with a hit, from "missed" flags m_k: pos = m_0 (1 + m_1 (1 + ... m_{K-2}))
    pos = None
    for k in range(kh * kw - 2, -1, -1):
        i, j = divmod(k, kw)
        miss = np.not_equal(view[..., i, j], top)
        if nan:
            miss &= ~np.isnan(view[..., i, j])
        if ph or pw:
            miss |= (rows + i < 0) | (rows + i >= h) | (cols + j < 0) | (cols + j >= w)
        miss = miss.view(np.uint8) if small else miss.astype(np.intp)
        pos = miss.copy() if pos is None else np.multiply(miss, pos + 1, dtype=miss.dtype)
    pos = np.zeros(top.shape, dtype=np.uint8) if pos is None else pos
    row = rows + pos // kw
    col = cols + pos % kw
    return (np.arange(n * c).reshape(n, c, 1, 1) * h + row) * w + col


def _max_pool_vjp(g, out, x, kernel_size, stride, padding):
    index = first_max_index(_data(x), _data(out), kernel_size, stride, padding)
    size = math.prod(x.shape)
    grad = tops.SCATTER(np.reshape(g, (-1,)), shape=(size,), index=(index.reshape(-1),), basic=False)
    return np.reshape(grad, x.shape)


def _max_pool_jvp(tangents, out, x, kernel_size, stride, padding):
    index = first_max_index(x, out, kernel_size, stride, padding)
    return np.reshape(tangents[0], (-1,))[index]


MAX_POOL2D = tensor_op(
    "max_pool2d",
    _max_pool_forward,
    [_max_pool_vjp],
    "the max of each kh x kw window (padding is -inf); the gradient goes to each window's first maximal "
    "element (as torch), overlapping windows adding up",
    jvp=_max_pool_jvp,
)


def _avg_pool_forward(x, kernel_size, stride, padding):
    total = _combine(_pool_windows(x, kernel_size, stride, padding, 0.0), np.add)
    total /= kernel_size[0] * kernel_size[1]
    return total


def _avg_pool_vjp(g, out, x, kernel_size, stride, padding):
    kh, kw = kernel_size
    share = np.expand_dims(g / (kh * kw), (4, 5))
    return FOLD(np.broadcast_to(share, g.shape + (kh, kw)), input_size=x.shape[2:], stride=stride, padding=padding)


AVG_POOL2D = tensor_op(
    "avg_pool2d",
    _avg_pool_forward,
    [_avg_pool_vjp],
    "the mean of each kh x kw window (zero padding counted, as torch's default); the gradient is g / (kh kw) "
    "spread over each window, overlapping windows adding up",
    jvp=LINEAR,
)
