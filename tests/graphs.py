"""Example graphs shared by the tests of check_manual, explain_gradient, backward_code and check_graph.

Each builder returns ``(root, names)``: a scalar root after its forward pass (no backward run) and a
mapping name -> node for ``names=``. ``GRAPHS`` lists them all; together they use every primitive of
the engine's tables (``test_codegen`` checks that).
"""

from __future__ import annotations

import random

import numpy as np

from autograd import Tensor, Value
from demos.find_the_mistake import BATCHNORM_STEPS, batchnorm_network, derive
from nn import MLP, NumpyTwoLayerNet, ScalarTwoLayerNet, TwoLayerNet
from nn.article_data import Y_ARTICLE, X
from nn.compare import article_graph
from nn.losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss


def leaf(data, label, grad=True):
    return Tensor(np.asarray(data, dtype=np.float64), requires_grad=grad, label=label)


def article(reduction="sum", build=TwoLayerNet, seed=0):
    """The article's network on its batch (``nn.compare.article_graph``) and its numpy reference."""
    reference = NumpyTwoLayerNet(2, 4, 1, seed=seed)
    network = build(2, 4, 1)
    network.load_state_dict(reference.state_dict())
    loss, names = article_graph(network, X, Y_ARTICLE, reduction)
    return loss, {**names, "reference": reference}


def article_mean():
    return article("mean")


def article_scalar():
    return article("sum", ScalarTwoLayerNet)


def batchnorm():
    """The batch-norm network of ``demos.find_the_mistake``, written out op by op."""
    net = batchnorm_network(0)
    return net.loss, dict(net.nodes)


def batchnorm_manual():
    """The batch-norm network and its correct hand derivation: ``(network, manual)``."""
    net = batchnorm_network(0)
    return net, derive(BATCHNORM_STEPS, net.values())


def scalar_shared():
    """Scalar graph where x feeds three paths (directly, through a, and through b = a * x)."""
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    a = x * y
    a.label = "a"
    b = a * x
    b.label = "b"
    c = (a + b + x * 0.5).tanh()
    c.label = "c"
    loss = c * c + (x**2).exp() * 0.01 + (2.0**y) + y.sigmoid().log() + (x - y).relu() + x**y
    loss.label = "loss"
    return loss, {"x": x, "y": y, "a": a, "b": b, "c": c, "loss": loss}


def scalar_diamond(depth=12):
    """x -> (a + b) repeated: 2**depth paths through shared nodes."""
    x = Value(0.3, "x")
    v = x
    for _ in range(depth):
        v = v.tanh() + v * 0.5
    v.label = "top"
    return v, {"x": x, "top": v}


def micrograd_mlp():
    """micrograd's MLP (n-ary weighted sums, relu) with a hinge loss, on three points."""
    random.seed(1)
    model = MLP(2, [4, 4, 1])
    xs = [[2.0, 3.0], [-1.0, -0.5], [0.5, 1.0]]
    ys = [1.0, -1.0, 1.0]
    scores = [model(x) for x in xs]
    loss = sum(((1 + -yi * s).relu() for yi, s in zip(ys, scores)), Value(0.0))
    loss.label = "loss"
    names = {f"w{k}": p for k, p in enumerate(model.parameters())}
    return loss, {**names, "loss": loss}


def scalar_bce():
    """The scalar build of the article's network with the mean BCE (scalar binary_cross_entropy)."""
    return article("mean", ScalarTwoLayerNet)


def broadcasting():
    """Tensor graph with broadcasting in add, sub, mul, div and pow, and a shared subexpression."""
    rng = np.random.default_rng(1)
    a = leaf(rng.standard_normal((3, 4)), "a")
    b = leaf(rng.standard_normal(4), "b")
    c = leaf(rng.uniform(0.5, 2.0, (3, 1)), "c")
    d = leaf(rng.uniform(0.5, 1.5, (1, 4)), "d")
    s = a * b + a  # a is used twice
    s.label = "s"
    t = (s - c) / c
    t.label = "t"
    u = (d**c) * t + (-t).abs() + (a * a).sqrt() + (c.log() * 2.0).exp()
    u.label = "u"
    loss = (u**2).mean() + (t.tanh() * 3.0).sum()
    loss.label = "loss"
    return loss, {"a": a, "b": b, "c": c, "d": d, "s": s, "t": t, "u": u, "loss": loss}


def matmuls():
    """matmul in its 1-D and 2-D forms, transpose, reshape, a constant input."""
    rng = np.random.default_rng(2)
    m = leaf(rng.standard_normal((3, 4)), "m")
    v = leaf(rng.standard_normal(4), "v")
    w = leaf(rng.standard_normal(3), "w")
    k = Tensor(rng.standard_normal((4, 2)), label="k")  # a constant input
    mv = m @ v
    mv.label = "mv"
    wm = w @ m
    wm.label = "wm"
    vv = v @ wm
    vv.label = "vv"
    mk = (m @ k).T.reshape(6)
    mk.label = "mk"
    perm = m.reshape(3, 2, 2).transpose(2, 0, 1)
    perm.label = "perm"
    loss = (mv * w).sum() + vv + (mk.sigmoid()).sum() + (perm.relu() * 1.5).sum()
    loss.label = "loss"
    return loss, {"m": m, "v": v, "w": w, "k": k, "mv": mv, "wm": wm, "vv": vv, "mk": mk, "perm": perm, "loss": loss}


def indexing():
    """getitem with a repeated index and with a slice; max with ties; relu at exactly 0."""
    x = leaf([[1.0, 3.0, 3.0], [0.0, -2.0, 5.0], [2.0, 2.0, 1.0]], "x")
    picked = x[np.array([0, 2, 0, 0])]  # row 0 three times
    picked.label = "picked"
    part = x[1:, :2]
    part.label = "part"
    m = x.max(axis=1)
    m.label = "m"
    r = x.relu()
    r.label = "r"
    loss = (picked * picked).sum() + part.sum() + (m * m).sum() + r.sum() + x.max()
    loss.label = "loss"
    return loss, {"x": x, "picked": picked, "part": part, "m": m, "r": r, "loss": loss}


def losses():
    """The engine's fused losses: BCE (mean, none), BCE with logits, cross-entropy, MSE."""
    rng = np.random.default_rng(3)
    z = leaf(rng.standard_normal((5, 3)), "z")
    y = Tensor(rng.uniform(0.1, 0.9, (5, 3)), label="y")
    labels = np.array([0, 2, 1, 1, 0])
    p = z.sigmoid()
    p.label = "p"
    ce = cross_entropy(z, labels)
    ce.label = "ce"
    ce_sum = cross_entropy(z * 2.0, labels, reduction="sum")
    ce_sum.label = "ce_sum"
    per = binary_cross_entropy(p, y, reduction="none")
    per.label = "per"
    loss = (
        binary_cross_entropy(p, y)
        + binary_cross_entropy_with_logits(z, y, reduction="sum")
        + ce
        + ce_sum
        + per.mean()
        + mse_loss(p, y)
    )
    loss.label = "loss"
    return loss, {"z": z, "y": y, "p": p, "ce": ce, "ce_sum": ce_sum, "per": per, "loss": loss}


def float32_graph():
    """A small float32 graph."""
    rng = np.random.default_rng(4)
    w = Tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True, label="w")
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32), label="x")
    h = (x @ w).tanh()
    h.label = "h"
    loss = (h * h).sum()
    loss.label = "loss"
    return loss, {"w": w, "x": x, "h": h, "loss": loss}


def joins():
    """concatenate, stack, where and broadcast_to."""
    from autograd import concatenate, stack, where

    rng = np.random.default_rng(5)
    a = leaf(rng.standard_normal((2, 3)), "a")
    b = leaf(rng.standard_normal((2, 2)), "b")
    c = leaf(rng.standard_normal((2, 3)), "c")
    row = leaf(rng.standard_normal((1, 3)), "row")
    cat = concatenate([a, b, a], axis=1)
    cat.label = "cat"
    st = stack([a, c], axis=0)
    st.label = "st"
    w = where(a.data > 0, a, c)
    w.label = "w"
    wide = row.broadcast_to((4, 3))
    wide.label = "wide"
    loss = (cat * cat).sum() + st.tanh().sum() + (w * 2.0).sum() + (wide * rng.standard_normal((4, 3))).sum()
    loss.label = "loss"
    return loss, {"a": a, "b": b, "c": c, "row": row, "cat": cat, "st": st, "w": w, "wide": wide, "loss": loss}


def extrema():
    """maximum and minimum with ties, and scatter (the transpose of getitem) used forward."""
    from autograd import maximum, minimum
    from autograd.tensor import apply
    from autograd.tensor_ops import SCATTER

    rng = np.random.default_rng(6)
    a = leaf(np.array([[1.0, -2.0, 3.0], [0.5, 0.5, -1.0]]), "a")
    b = leaf(np.array([[1.0, 2.0, -3.0], [0.5, -0.5, 2.0]]), "b")
    hi = maximum(a, b)
    hi.label = "hi"
    lo = minimum(a, b * 2.0)
    lo.label = "lo"
    spread = apply(SCATTER, (hi,), shape=(3, 2, 3), index=(np.array([0, 2, 2]),), basic=False)
    spread.label = "spread"
    loss = (spread * rng.standard_normal((3, 2, 3))).sum() + (lo * lo).sum()
    loss.label = "loss"
    return loss, {"a": a, "b": b, "hi": hi, "lo": lo, "spread": spread, "loss": loss}


def reductions():
    """softmax, log_softmax, logsumexp, min, var, std, clip, squeeze/unsqueeze/flatten, split, cast."""
    rng = np.random.default_rng(7)
    a = leaf(rng.standard_normal((3, 4)), "a")
    b = leaf(rng.standard_normal((2, 1, 3)), "b")
    sm = a.softmax(axis=1)
    sm.label = "sm"
    ls = a.log_softmax(axis=0)
    ls.label = "ls"
    lse = a.logsumexp(axis=1)
    lse.label = "lse"
    lo = a.min(axis=0, keepdims=True)
    lo.label = "lo"
    v = a.var(axis=1, ddof=1)
    v.label = "v"
    sd = a.std()
    sd.label = "sd"
    cl = a.clip(-0.5, 0.5)
    cl.label = "cl"
    flat = b.squeeze(axis=1).expand_dims(0).flatten()
    flat.label = "flat"
    left, right = a.split([1, 3], dim=1)
    left.label, right.label = "left", "right"
    half = a.float()
    half.label = "half"
    w = rng.standard_normal((3, 4))
    loss = (sm * w).sum() + (ls * w).sum() + lse.sum() + lo.sum() + v.sum() * sd + (cl * w).sum()
    loss = loss + (flat * flat).sum() + (left * left).sum() + right.sum() + half.double().sum()
    loss.label = "loss"
    names = {"a": a, "b": b, "sm": sm, "ls": ls, "lse": lse, "lo": lo, "v": v, "sd": sd, "cl": cl, "flat": flat}
    return loss, {**names, "left": left, "right": right, "half": half, "loss": loss}


GRAPHS = {
    "article": article,
    "article_mean": article_mean,
    "article_scalar": article_scalar,
    "scalar_bce": scalar_bce,
    "batchnorm": batchnorm,
    "scalar_shared": scalar_shared,
    "scalar_diamond": scalar_diamond,
    "micrograd_mlp": micrograd_mlp,
    "broadcasting": broadcasting,
    "matmuls": matmuls,
    "indexing": indexing,
    "losses": losses,
    "float32": float32_graph,
    "joins": joins,
    "extrema": extrema,
    "reductions": reductions,
}
