"""Which Tensor ops and optimizers the float plan (``floats.py``) can write out as Python on floats.

An op's float rule is, where it can be, the engine's own declaration: its ``forward`` and ``vjps``
run on arrays of symbols (``symbolic.SymArray``) and give the same operations in the same order.
Two ops are restated here element by element, equal to the engine's (a test checks it):

- ``sigmoid``: ``1 / (e^-a + 1)`` (an ``e^-a`` too large for a float stops the float code, and the
  numpy plan gives the engine's exact 0);
- ``binary_cross_entropy_with_logits`` (it branches on its data): ``max(z, 0) - z y + ln(1 + e^-|z|)``
  for finite logits (an infinite one stops the float code: the numpy plan computes the engine's
  limit), and its ``d/dz = sigmoid(z) - y``.

Optimizer updates are the per-element formulas of ``nn.optim``'s in-place kernels
(``Optimizer.compiled_step``), in their order, for ``SGD`` (with and without momentum),
``RMSprop`` and ``Adam``: the same bits as their ``step``.
"""

from __future__ import annotations

import numpy as np

from ..tensor_ops import unbroadcast

DERIVED = frozenset(
    {
        "add", "sub", "mul", "div", "neg", "pow", "pow_const", "matmul", "linear",
        "exp", "log", "tanh", "relu", "sqrt", "abs",
        "sum", "mean", "max", "min", "var", "std", "softmax", "log_softmax", "logsumexp",
        "reshape", "transpose", "getitem", "squeeze", "expand_dims", "flatten", "split", "broadcast_to",
        "concatenate", "stack", "where", "maximum", "minimum", "clip",
        "binary_cross_entropy",
    }
)  # fmt: skip
"""Ops whose own forward and VJPs run on symbols (each is checked against the engine by a test)."""


def sigmoid(a):
    """The engine's ``sigmoid`` on symbols: ``1 / (e^-a + 1)``."""
    return np.reciprocal(np.exp(np.negative(a)) + 1.0)


def _reduced(terms, reduction):
    if reduction == "mean":
        return np.add.reduce(terms, axis=None) / terms.size
    if reduction == "sum":
        return np.add.reduce(terms, axis=None)
    return terms


def _bce_logits_forward(guard, z, y, reduction):
    guard(np.isinf(z))  # the engine replaces inf - inf by the limit there: left to the numpy plan
    terms = np.maximum(z, 0.0) - z * y
    terms = terms + np.log1p(np.exp(-np.abs(z)))
    return _reduced(terms, reduction)


def _bce_logits_z_vjp(g, out, z, y, reduction):
    local = sigmoid(z) - y
    if reduction == "mean":
        return local * (g / local.size)
    return local * g


class OpRule:
    """How the float plan computes one op: ``forward(guard, *arrays, **op_args)`` and
    ``vjps_for(op, n)``; ``guard(mask)`` stops the float code where ``mask`` holds."""

    def __init__(self, forward=None, vjps=None):
        self._forward = forward
        self._vjps = vjps

    def forward(self, op, guard, *arrays, **op_args):
        if self._forward is None:
            return op.forward(*arrays, **op_args)
        return self._forward(guard, *arrays, **op_args)

    def vjps_for(self, op, n):
        declared = op.vjps_for(n)
        if self._vjps is None:
            return declared
        return tuple(mine or theirs for mine, theirs in zip(self._vjps, declared))


OP_RULES = dict.fromkeys(DERIVED, OpRule())
OP_RULES["sigmoid"] = OpRule(forward=lambda guard, a: sigmoid(a))
OP_RULES["binary_cross_entropy_with_logits"] = OpRule(_bce_logits_forward, (_bce_logits_z_vjp, None))


def rule_for(op):
    """The float rule of ``op`` (looked up by name), or None."""
    return OP_RULES.get(getattr(op, "name", None))


def vjp_into_shape(vjp, g, out, arrays, op_args, shape):
    """One input's gradient as the engine's backward computes it: the VJP, summed back to ``shape``."""
    gi = vjp(g, out, *arrays, **op_args)
    gi = np.asarray(gi, dtype=object) if not isinstance(gi, np.ndarray) else gi
    if gi.shape != shape:
        gi = unbroadcast(gi, shape)
    return gi


# ---------------------------------------------------------------------------- optimizers


def sgd(update):
    """``b = momentum b + g``, ``p -= lr b`` (``p -= lr g`` without momentum), as ``SGD.kernel``."""
    lr = update.number("float({opt}.lr)")
    if update.hyper("momentum"):
        update.guard("not {opt}.momentum")
        momentum = update.number("{opt}.momentum")
        b = update.state("momentum_buffer")
        b = b * momentum + update.g
        update.set_state("momentum_buffer", b)
        return update.p - lr * b
    update.guard("{opt}.momentum")
    return update.p - lr * update.g


def rmsprop(update):
    """``v = alpha v + (1 - alpha) g g``; ``p -= lr g / (sqrt v + eps)``, as ``RMSprop.kernel``."""
    g = update.g
    lr = update.number("float({opt}.lr)")
    alpha = update.number("{opt}.alpha")
    rest = update.number("1.0 - {opt}.alpha")
    eps = update.number("{opt}.eps")
    v = update.state("square_avg") * alpha + rest * g * g
    update.set_state("square_avg", v)
    return update.p - lr * g / (np.sqrt(v) + eps)


def adam(update):
    """Adam as ``Adam.kernel``: ``m`` by PyTorch's lerp, ``v = b2 v + (1 - b2) g g``, then
    ``p -= lr / (1 - b1^t) m / (sqrt v / sqrt(1 - b2^t) + eps)`` at this parameter's step ``t``."""
    g = update.g
    w = update.number("1.0 - {opt}.betas[0]")
    near = update.hyper_value(lambda opt: abs(1.0 - opt.betas[0]) < 0.5)
    update.guard(f"(abs(1.0 - {{opt}}.betas[0]) < 0.5) is not {near}")
    m = update.state("exp_avg")
    # PyTorch's lerp from the nearer end, as Adam.update
    far = update.number("1.0 - (1.0 - {opt}.betas[0])")
    m = m + (g - m) * w if near else g - (g - m) * far
    update.set_state("exp_avg", m)
    b2 = update.number("{opt}.betas[1]")
    rest = update.number("1.0 - {opt}.betas[1]")
    v = update.state("exp_avg_sq") * b2 + rest * g * g
    update.set_state("exp_avg_sq", v)
    t = update.counter("step")
    step_size = update.number(f"float({{opt}}.lr) / (1.0 - {{opt}}.betas[0] ** {t})")
    correction = update.number(f"_sqrt(1.0 - {{opt}}.betas[1] ** {t})")
    eps = update.number("{opt}.eps")
    return update.p - step_size * m / (np.sqrt(v) / correction + eps)


OPTIMIZER_RULES = {("nn.optim", "SGD"): sgd, ("nn.optim", "RMSprop"): rmsprop, ("nn.optim", "Adam"): adam}
"""Update rules by the optimizer's class (module and name: a subclass may update differently)."""


def optimizer_rule(optimizer):
    cls = type(optimizer)
    return OPTIMIZER_RULES.get((cls.__module__, cls.__qualname__))
