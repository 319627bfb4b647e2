"""How nn's primitives read in ``autograd.backward_code``: each one's forward and the gradient it
sends each input, registered through ``autograd.codegen.register_code`` (imported by ``nn``).

Each backward expression mirrors the op's VJP in ``nn.primitives``.
"""

from __future__ import annotations

import numpy as np

from autograd.codegen import matmul_grad_a, matmul_grad_b, number, register_code, register_helper, vjp_shape

from . import conv as C
from . import primitives as P


def _linear_bias_back(ctx):
    """linear's VJP sums a per-unit bias's gradient over the batch itself; otherwise the sum is written
    where broadcasting needs it."""
    bias_shape, out_shape = ctx.input_shapes[2], np.shape(ctx.node.data)
    if len(out_shape) == 2 and vjp_shape(ctx.node, 2) == tuple(bias_shape):
        return f"{ctx.g}.sum(axis=0{', keepdims=True' if len(bias_shape) == 2 else ''})"
    return ctx.g


def _clipped(p):
    return f"np.clip({p}, {number(P.BCE_EPS)}, 1 - {number(P.BCE_EPS)})"


def _reduced(ctx, terms):
    reduction = ctx.op_args["reduction"]
    return f"({terms}).{reduction}()" if reduction in ("mean", "sum") else terms


def _scaled(ctx, local):
    """``local * g`` through the reduction: ``/ N`` for the mean."""
    reduction = ctx.op_args["reduction"]
    if reduction == "mean":
        return f"{local} * {ctx.g} / {ctx.node.parents[0].data.size}"
    return f"{local} * {ctx.g}"


def _bce_forward(ctx):
    p, y = ctx.args
    q = _clipped(p)
    return _reduced(ctx, f"-({y} * np.log({q}) + (1 - {y}) * np.log(1 - {q}))")


def _bce_p(ctx):
    p, y = ctx.args
    q = _clipped(p)
    return _scaled(ctx, f"-({y} / {q} - (1 - {y}) / (1 - {q}))")


def _bce_y(ctx):
    q = _clipped(ctx.args[0])
    return _scaled(ctx, f"(np.log(1 - {q}) - np.log({q}))")


def _bce_logits_forward(ctx):
    z, y = ctx.args
    return _reduced(ctx, f"np.maximum({z}, 0) - {z} * {y} + np.log1p(np.exp(-np.abs({z})))")


def _bce_logits_z(ctx):
    z, y = ctx.args
    return _scaled(ctx, f"(1 / (1 + np.exp(-{z})) - {y})")


def _bce_logits_y(ctx):
    return _scaled(ctx, f"-{ctx.args[0]}")


def _cross_entropy_forward(ctx):
    z, labels = ctx.args
    n = ctx.node.parents[1].shape[0]
    picked = f"-{ctx.helper('log_softmax')}({z})[np.arange({n}), {labels}.astype(int)]"
    return _reduced(ctx, picked)


def _cross_entropy_back(ctx):
    z, labels = ctx.args
    n, classes = ctx.node.parents[0].shape
    local = f"(np.exp({ctx.helper('log_softmax')}({z})) - {ctx.helper('one_hot')}({labels}.astype(int), {classes}))"
    reduction = ctx.op_args["reduction"]
    if reduction == "none":
        return f"{local} * {ctx.g}[:, None]"
    return f"{local} * {ctx.g}" + (f" / {n}" if reduction == "mean" else "")


def _labels_back(ctx):
    return f"np.zeros({ctx.args[1]}.shape)"


def _weighted_sum_forward(ctx):
    n = len(ctx.args) >> 1
    terms = [ctx.args[-1]] + [f"{w} * {x}" for w, x in zip(ctx.args[:n], ctx.args[n:-1])]
    return " + ".join(terms)


def _weighted_sum_back(ctx):
    n = len(ctx.args) >> 1
    slot = ctx.slot
    if slot == len(ctx.args) - 1:
        return ctx.g
    return f"{ctx.g} * {ctx.args[n + slot] if slot < n else ctx.args[slot - n]}"


def _scalar_clipped(ctx):
    return f"min(max({ctx.args[0]}, {number(P.BCE_EPS)}), 1 - {number(P.BCE_EPS)})"


def _scalar_bce_forward(ctx):
    q, y = _scalar_clipped(ctx), ctx.lit(ctx.op_args["c"])
    return f"-({y} * np.log({q}) + (1 - {y}) * np.log(1 - {q}))"


def _scalar_bce_back(ctx):
    q, y = _scalar_clipped(ctx), ctx.lit(ctx.op_args["c"])
    return f"-({y} / {q} - (1 - {y}) / (1 - {q})) * {ctx.g}"


register_helper(
    "log_softmax",
    '''
def log_softmax(z):
    """z - max - log(sum(exp(z - max))) along each row."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
''',
)
register_helper(
    "one_hot",
    '''
def one_hot(labels, classes):
    """Row n has a 1 in column labels[n]."""
    out = np.zeros((len(labels), classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out
''',
)

register_code(P.LINEAR, forward="{0} @ {1} + {2}", backward=(matmul_grad_a, matmul_grad_b, _linear_bias_back))
register_code(P.BINARY_CROSS_ENTROPY, forward=_bce_forward, backward=(_bce_p, _bce_y))
register_code(P.BINARY_CROSS_ENTROPY_WITH_LOGITS, forward=_bce_logits_forward, backward=(_bce_logits_z, _bce_logits_y))
register_code(P.CROSS_ENTROPY, forward=_cross_entropy_forward, backward=(_cross_entropy_back, _labels_back))
register_code(P.WEIGHTED_SUM, forward=_weighted_sum_forward, backward=(_weighted_sum_back,))
register_code(P.SCALAR_BINARY_CROSS_ENTROPY, forward=_scalar_bce_forward, backward=(_scalar_bce_back,))


# ----------------------------------------------------------------------------- convolution and pooling
# The generated code calls small numpy helpers (defined in it) rather than spelling out im2col inline.

register_helper(
    "windows",
    '''
def windows(x, kernel_size, stride, padding, fill=0.0):
    """The (kh, kw) windows of x (N, C, H, W) padded with fill, moved by stride: (N, C, OH, OW, kh, kw)."""
    (ph, pw), (sh, sw) = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(xp, kernel_size, axis=(2, 3))
    return view[:, :, ::sh, ::sw]
''',
)
register_helper(
    "fold",
    '''
def fold(cols, input_size, stride, padding):
    """Windows (N, C, OH, OW, kh, kw) added back into an image (N, C, H, W); the padding cut away."""
    n, c, oh, ow, kh, kw = cols.shape
    (h, w), (sh, sw), (ph, pw) = input_size, stride, padding
    image = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            image[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw] += cols[..., i, j]
    return image[:, :, ph : ph + h, pw : pw + w]
''',
)
register_helper(
    "first_max",
    '''
def first_max(x, kernel_size, stride, padding):
    """True at the first maximal element of each window (where max pooling takes its value)."""
    view = windows(x, kernel_size, stride, padding, -np.inf)
    flat = view.reshape(view.shape[:4] + (-1,))
    return (flat.argmax(axis=4)[..., None] == np.arange(flat.shape[4])).reshape(view.shape)
''',
)
register_helper(
    "erf",
    '''
def erf(x):
    """The error function of each element."""
    import math

    return np.vectorize(math.erf, otypes=[float])(x)
''',
)


def _geometry(ctx, *names):
    return ", ".join(ctx.lit(tuple(ctx.op_args[name])) for name in names)


def _windows(ctx, x, kernel, fill=None):
    call = f"{ctx.helper('windows')}({x}, {ctx.lit(tuple(kernel))}, {_geometry(ctx, 'stride', 'padding')}"
    return call + (")" if fill is None else f", {fill})")


def _fold(ctx, cols, input_size):
    return f"{ctx.helper('fold')}({cols}, {ctx.lit(tuple(input_size))}, {_geometry(ctx, 'stride', 'padding')})"


def _unfold_forward(ctx):
    return _windows(ctx, ctx.args[0], ctx.op_args["kernel_size"])


def _unfold_back(ctx):
    return _fold(ctx, ctx.g, ctx.input_shapes[0][2:])


def _fold_forward(ctx):
    return _fold(ctx, ctx.args[0], ctx.op_args["input_size"])


def _fold_back(ctx):
    return _windows(ctx, ctx.g, ctx.input_shapes[0][4:])


def _conv2d_forward(ctx):
    x, w, b = ctx.args
    cols = _windows(ctx, x, ctx.input_shapes[1][2:])
    return f"np.einsum('nchwij,ocij->nohw', {cols}, {w}) + {b}[:, None, None]"


def _conv2d_x_back(ctx):
    w = ctx.args[1]
    return _fold(ctx, f"np.einsum('nohw,ocij->nchwij', {ctx.g}, {w})", ctx.input_shapes[0][2:])


def _conv2d_w_back(ctx):
    cols = _windows(ctx, ctx.args[0], ctx.input_shapes[1][2:])
    return f"np.einsum('nohw,nchwij->ocij', {ctx.g}, {cols})"


def _max_pool_forward(ctx):
    return f"{_windows(ctx, ctx.args[0], ctx.op_args['kernel_size'], '-np.inf')}.max(axis=(4, 5))"


def _max_pool_back(ctx):
    mask = f"{ctx.helper('first_max')}({ctx.args[0]}, {_geometry(ctx, 'kernel_size', 'stride', 'padding')})"
    return _fold(ctx, f"np.where({mask}, {ctx.g}[..., None, None], 0.0)", ctx.input_shapes[0][2:])


def _avg_pool_forward(ctx):
    return f"{_windows(ctx, ctx.args[0], ctx.op_args['kernel_size'])}.mean(axis=(4, 5))"


def _avg_pool_back(ctx):
    kh, kw = ctx.op_args["kernel_size"]
    spread = f"np.broadcast_to({ctx.g}[..., None, None] / {kh * kw}, {ctx.g}.shape + ({kh}, {kw}))"
    return _fold(ctx, spread, ctx.input_shapes[0][2:])


def _gelu_forward(ctx):
    x = ctx.args[0]
    if ctx.op_args["approximate"] == "tanh":
        return f"0.5 * {x} * (1 + np.tanh(np.sqrt(2 / np.pi) * ({x} + 0.044715 * {x} ** 3)))"
    return f"{x} * 0.5 * (1 + {ctx.helper('erf')}({x} / np.sqrt(2)))"


def _gelu_back(ctx):
    x, g = ctx.args[0], ctx.g
    if ctx.op_args["approximate"] == "tanh":
        t = f"np.tanh(np.sqrt(2 / np.pi) * ({x} + 0.044715 * {x} ** 3))"
        slope = f"np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * {x} ** 2)"
        return f"{g} * (0.5 * (1 + {t}) + 0.5 * {x} * (1 - {t} ** 2) * {slope})"
    cdf = f"0.5 * (1 + {ctx.helper('erf')}({x} / np.sqrt(2)))"
    return f"{g} * ({cdf} + {x} * np.exp(-{x} ** 2 / 2) / np.sqrt(2 * np.pi))"


register_code(C.UNFOLD, forward=_unfold_forward, backward=(_unfold_back,))
register_code(C.FOLD, forward=_fold_forward, backward=(_fold_back,))
register_code(C.CONV2D, forward=_conv2d_forward, backward=(_conv2d_x_back, _conv2d_w_back, "{g}.sum(axis=(0, 2, 3))"))
register_code(C.MAX_POOL2D, forward=_max_pool_forward, backward=(_max_pool_back,))
register_code(C.AVG_POOL2D, forward=_avg_pool_forward, backward=(_avg_pool_back,))
register_code(
    P.ERF,
    forward=lambda ctx: f"{ctx.helper('erf')}({ctx.args[0]})",
    backward=("{g} * 2 / np.sqrt(np.pi) * np.exp(-{0} ** 2)",),
)
register_code(P.GELU, forward=_gelu_forward, backward=(_gelu_back,))
