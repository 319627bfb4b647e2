"""How nn's primitives read in ``autograd.backward_code``: each one's forward and the gradient it
sends each input, registered through ``autograd.codegen.register_code`` (imported by ``nn``).

Each backward expression mirrors the op's VJP in ``nn.primitives``.
"""

from __future__ import annotations

import numpy as np

from autograd.codegen import matmul_grad_a, matmul_grad_b, number, register_code, register_helper, vjp_shape

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
    z = ctx.args[0]
    labels = ctx.op_args["labels"]
    picked = f"-{ctx.helper('log_softmax')}({z})[np.arange({len(labels)}), {ctx.lit(labels)}]"
    return _reduced(ctx, picked)


def _cross_entropy_back(ctx):
    z = ctx.args[0]
    labels = ctx.op_args["labels"]
    classes = ctx.node.parents[0].shape[1]
    local = f"(np.exp({ctx.helper('log_softmax')}({z})) - {ctx.helper('one_hot')}({ctx.lit(labels)}, {classes}))"
    reduction = ctx.op_args["reduction"]
    if reduction == "none":
        return f"{local} * {ctx.g}[:, None]"
    return f"{local} * {ctx.g}" + (f" / {len(labels)}" if reduction == "mean" else "")


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
register_code(P.CROSS_ENTROPY, forward=_cross_entropy_forward, backward=(_cross_entropy_back,))
register_code(P.WEIGHTED_SUM, forward=_weighted_sum_forward, backward=(_weighted_sum_back,))
register_code(P.SCALAR_BINARY_CROSS_ENTROPY, forward=_scalar_bce_forward, backward=(_scalar_bce_back,))
