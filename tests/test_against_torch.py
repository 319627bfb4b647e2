"""Every tensor op (the engine's and those nn declares through autograd.extend) and a few composites
against PyTorch, float64: forward values, gradients, and second derivatives through a recorded
backward pass."""

from __future__ import annotations

import numpy as np
import pytest

import nn.conv as C
import nn.primitives as P
from autograd import (
    Tensor,
    array_split,
    clip,
    concatenate,
    grad,
    log_softmax,
    logsumexp,
    maximum,
    minimum,
    softmax,
    split,
    stack,
    topological_order,
    where,
)
from autograd import tensor_ops as tops
from autograd.extend import registered
from autograd.tensor import apply

# the engine's tensor ops and nn's (ops tests declare for their own checks are named test_*)
TENSOR_OPS = {**tops.TENSOR_OPS, **{n: op for n, op in registered("tensor").items() if not n.startswith("test_")}}

RNG = np.random.default_rng(20240613)


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    x = RNG.uniform(0.2, 2.0, shape)
    return np.where(RNG.random(shape) < 0.5, -x, x)


def all_axes(t, axis):
    """torch's ``dim`` for our ``axis`` (``None`` means every axis)."""
    return tuple(range(t.ndim)) if axis is None else axis


def reduction_cases(name, ours, theirs):
    cases = []
    for shape, axis, keepdims in [
        ((3, 4, 2), None, False),
        ((3, 4, 2), None, True),
        ((3, 4, 2), 1, False),
        ((3, 4, 2), -1, True),
        ((3, 4, 2), (0, 2), False),
        ((3, 4, 2), (0, 1), True),
    ]:
        cases.append(
            (
                f"{name}-axis={axis}-keepdims={keepdims}",
                [normal(*shape)],
                lambda x, a=axis, k=keepdims: getattr(x, ours)(axis=a, keepdims=k),
                lambda x, a=axis, k=keepdims: getattr(x, theirs)(dim=all_axes(x, a), keepdim=k),
            )
        )
    return cases


def binary_cases(name, fn, sample):
    shapes = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (2, 2)), ((3, 1), (1, 3))]
    return [(f"{name}-{sa}-{sb}", [sample(*sa), sample(*sb)], fn, fn) for sa, sb in shapes]


def unary_case(name, sample, ours, theirs=None):
    return [(name, [sample(3, 4)], ours, theirs or ours)]


def build_cases(torch):
    F = torch.nn.functional
    cases = {
        "add": binary_cases("add", lambda a, b: a + b, normal),
        "sub": binary_cases("sub", lambda a, b: a - b, normal),
        "mul": binary_cases("mul", lambda a, b: a * b, normal),
        "div": binary_cases("div", lambda a, b: a / b, positive),
        "pow": binary_cases("pow", lambda a, b: a**b, positive),
        "pow_const": [
            (f"pow_const-{c}", [positive(3, 2)], lambda a, c=c: a**c, lambda a, c=c: a**c)
            for c in (2, 3.0, -1.5, 0.5, 0.0)
        ],
        "neg": unary_case("neg", normal, lambda a: -a),
        "matmul": [
            (f"matmul-{sa}-{sb}", [normal(*sa), normal(*sb)], lambda a, b: a @ b, lambda a, b: a @ b)
            for sa, sb in [
                ((3,), (3,)),
                ((2, 3), (3, 4)),
                ((3,), (3, 4)),
                ((2, 3), (3,)),
                ((5, 2, 3), (5, 3, 4)),
                ((5, 2, 3), (3, 4)),
                ((3,), (5, 3, 4)),
                ((5, 2, 3), (3,)),
                ((2, 1, 2, 3), (4, 3, 2)),
            ]
        ],
        "exp": unary_case("exp", normal, lambda a: a.exp()),
        "log": unary_case("log", positive, lambda a: a.log()),
        "tanh": unary_case("tanh", normal, lambda a: a.tanh()),
        "sigmoid": unary_case("sigmoid", normal, lambda a: a.sigmoid()),
        "relu": unary_case("relu", away_from_zero, lambda a: a.relu()),
        "sqrt": unary_case("sqrt", positive, lambda a: a.sqrt()),
        "abs": unary_case("abs", away_from_zero, lambda a: abs(a)),
        "sum": reduction_cases("sum", "sum", "sum"),
        "mean": reduction_cases("mean", "mean", "mean"),
        "max": reduction_cases("max", "max", "amax")
        + [
            # ties: both split the gradient equally among the maximal elements
            (
                "max-ties-axis=1",
                [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, -1.0, 0.0]])],
                lambda x: x.max(axis=1),
                lambda x: x.amax(dim=1),
            ),
            (
                "max-ties-all",
                [np.array([[1.0, 3.0, 3.0], [3.0, 2.0, 2.0]])],
                lambda x: x.max(),
                lambda x: x.amax(),
            ),
        ],
        "reshape": [
            ("reshape", [normal(2, 3, 4)], lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1)),
            ("reshape-scalar", [normal()], lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1)),
        ],
        "transpose": [
            ("transpose-perm", [normal(2, 3, 4)], lambda x: x.transpose(2, 0, 1), lambda x: x.permute(2, 0, 1)),
            ("transpose-T", [normal(2, 3)], lambda x: x.T, lambda x: x.t()),
        ],
        "getitem": [
            ("getitem-slice", [normal(4, 5)], lambda x: x[1:3, ::2], lambda x: x[1:3, ::2]),
            ("getitem-int", [normal(4, 5)], lambda x: x[-1], lambda x: x[-1]),
            (
                "getitem-repeated-rows",
                [normal(4, 5)],
                lambda x: x[np.array([0, 2, 2, 0, 0])],
                lambda x: x[torch.tensor([0, 2, 2, 0, 0])],
            ),
            (
                "getitem-repeated-elements",
                [normal(4, 5)],
                lambda x: x[np.array([1, 1, 3]), np.array([4, 4, 0])],
                lambda x: x[torch.tensor([1, 1, 3]), torch.tensor([4, 4, 0])],
            ),
            (
                "getitem-mixed",
                [normal(4, 5)],
                lambda x: x[1:, [3, 3, 0]],
                lambda x: x[1:, [3, 3, 0]],
            ),
            ("getitem-tuple-inside", [normal(4, 3)], lambda x: x[:, (0, 0)], lambda x: x[:, [0, 0]]),
            ("getitem-tuple-first", [normal(4, 3)], lambda x: x[(-2, 2),], lambda x: x[[-2, 2]]),
            ("getitem-range", [normal(4, 3)], lambda x: x[range(3), 1], lambda x: x[list(range(3)), 1]),
            (
                "getitem-mask-tensor",
                [normal(4, 3)],
                lambda x: x[Tensor(np.array([True, False, True, True]))],
                lambda x: x[torch.tensor([True, False, True, True])],
            ),
            (
                "getitem-mask-2d",
                [normal(4, 3)],
                lambda x: x[np.arange(12).reshape(4, 3) % 5 == 0],
                lambda x: x[torch.from_numpy(np.arange(12).reshape(4, 3) % 5 == 0)],
            ),
            (
                "getitem-newaxis-ellipsis-negative-step",
                [normal(3, 4, 2)],
                lambda x: x[None, ..., ::-1][:, 1, [2, -2, 2]],
                lambda x: x[None, ..., [1, 0]][:, 1, [2, -2, 2]],
            ),
        ],
        "maximum": [(c[0], c[1], maximum, torch.maximum) for c in binary_cases("maximum", None, normal)]
        + [("maximum-ties", [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])], maximum, torch.maximum)],
        "minimum": [(c[0], c[1], minimum, torch.minimum) for c in binary_cases("minimum", None, normal)]
        + [("minimum-ties", [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])], minimum, torch.minimum)],
        "scatter": [
            (
                "scatter-repeated",
                [normal(5)],
                lambda g: apply(
                    TENSOR_OPS["scatter"], (g,), shape=(4,), index=(np.array([0, 2, 2, 3, 0]),), basic=False
                ),
                lambda g: torch.zeros(4, dtype=torch.float64).index_put(
                    (torch.tensor([0, 2, 2, 3, 0]),), g, accumulate=True
                ),
            ),
            (
                "scatter-basic",
                [normal(2, 3)],
                lambda g: apply(TENSOR_OPS["scatter"], (g,), shape=(4, 3), index=(slice(1, 3),), basic=True),
                lambda g: torch.cat(
                    [torch.zeros(1, 3, dtype=torch.float64), g, torch.zeros(1, 3, dtype=torch.float64)]
                ),
            ),
        ],
        "broadcast_to": [
            (f"broadcast_to-{a}-{b}", [normal(*a)], lambda x, b=b: x.broadcast_to(b), lambda x, b=b: x.expand(*b))
            for a, b in [((3,), (2, 3)), ((2, 1), (2, 4)), ((), (3, 2)), ((1, 3, 1), (2, 3, 4))]
        ],
        "concatenate": [
            (
                f"concatenate-axis={axis}",
                [normal(2, 3), normal(*shape)],
                lambda a, b, axis=axis: concatenate([a, b, a], axis=axis),
                lambda a, b, axis=axis: torch.cat([a, b, a], dim=axis),
            )
            for axis, shape in [(0, (4, 3)), (1, (2, 1)), (-1, (2, 0))]
        ],
        "stack": [
            (
                f"stack-axis={axis}",
                [normal(2, 3), normal(2, 3)],
                lambda a, b, axis=axis: stack([a, b, a], axis=axis),
                lambda a, b, axis=axis: torch.stack([a, b, a], dim=axis),
            )
            for axis in (0, 1, 2, -1)
        ],
        "where": [
            (
                "where-broadcast",
                [normal(3, 4), normal(4)],
                lambda a, b: where(np.arange(12).reshape(3, 4) % 3 == 0, a, b),
                lambda a, b: torch.where(torch.from_numpy(np.arange(12).reshape(3, 4) % 3 == 0), a, b),
            ),
        ],
    }
    cases.update(engine_cases(torch))
    labels = np.array([0, 2, 2, 1])
    nn_cases = {
        "linear": [
            (
                f"linear-{xs}",
                [normal(*xs), normal(3, 2), normal(2)],
                lambda x, w, b: apply(P.LINEAR, (x, w, b)),
                lambda x, w, b: x @ w + b,
            )
            for xs in ((4, 3), (3,), (2, 4, 3))
        ],
        "binary_cross_entropy": [
            (
                f"bce-{r}",
                [RNG.uniform(0.1, 0.9, 5), RNG.uniform(0, 1, 5)],
                lambda p, y, r=r: apply(P.BINARY_CROSS_ENTROPY, (p, y), reduction=r),
                lambda p, y, r=r: F.binary_cross_entropy(p, y, reduction=r),
            )
            for r in ("mean", "sum", "none")
        ],
        "binary_cross_entropy_with_logits": [
            (
                f"bce-logits-{r}",
                [normal(2, 3) * 3, RNG.uniform(0, 1, (2, 3))],
                lambda z, y, r=r: apply(P.BINARY_CROSS_ENTROPY_WITH_LOGITS, (z, y), reduction=r),
                lambda z, y, r=r: F.binary_cross_entropy_with_logits(z, y, reduction=r),
            )
            for r in ("mean", "sum", "none")
        ],
        "cross_entropy": [
            (
                f"cross_entropy-{r}",
                [normal(4, 3) * 2, labels.astype(float)],
                lambda z, y, r=r: apply(P.CROSS_ENTROPY, (z, y), reduction=r),
                lambda z, y, r=r: F.cross_entropy(z, y.long(), reduction=r),
            )
            for r in ("mean", "sum", "none")
        ],
    }
    cases.update(nn_cases)
    cases.update(conv_cases(torch))
    return cases


WINDOWS = [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 0)), ((2, 3), (1, 1), (0, 1))]


def conv_cases(torch):
    """nn.conv's primitives against torch.nn.functional (unfold and fold in torch's (N, C kh kw, L) layout)."""
    F = torch.nn.functional

    def torch_unfold(x, k, s, p):
        n, c, h, w = x.shape
        oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
        return F.unfold(x, k, padding=p, stride=s).reshape(n, c, *k, oh, ow).permute(0, 1, 4, 5, 2, 3)

    def torch_fold(cols, size, k, s, p):
        n, c, oh, ow = cols.shape[:4]
        return F.fold(cols.permute(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], oh * ow), size, k, padding=p, stride=s)

    def our_fold(cols, size, s, p):
        return apply(C.FOLD, (cols,), input_size=size, stride=s, padding=p)

    cases = {name: [] for name in ("unfold", "fold", "conv2d", "max_pool2d", "avg_pool2d")}
    for k, s, p in WINDOWS:
        oh, ow = (6 + 2 * p[0] - k[0]) // s[0] + 1, (5 + 2 * p[1] - k[1]) // s[1] + 1
        tag = f"k={k}-s={s}-p={p}"
        cases["unfold"].append(
            (
                f"unfold-{tag}",
                [normal(2, 3, 6, 5)],
                lambda x, k=k, s=s, p=p: apply(C.UNFOLD, (x,), kernel_size=k, stride=s, padding=p),
                lambda x, k=k, s=s, p=p: torch_unfold(x, k, s, p),
            )
        )
        cases["fold"].append(
            (
                f"fold-{tag}",
                [normal(2, 3, oh, ow, *k)],
                lambda c, s=s, p=p: our_fold(c, (6, 5), s, p),
                lambda c, k=k, s=s, p=p: torch_fold(c, (6, 5), k, s, p),
            )
        )
        cases["conv2d"].append(
            (
                f"conv2d-{tag}",
                [normal(2, 3, 6, 5), normal(4, 3, *k), normal(4)],
                lambda x, w, b, s=s, p=p: apply(C.CONV2D, (x, w, b), stride=s, padding=p),
                lambda x, w, b, s=s, p=p: F.conv2d(x, w, b, s, p),
            )
        )
        for name in ("max_pool2d", "avg_pool2d"):
            op = C.MAX_POOL2D if name == "max_pool2d" else C.AVG_POOL2D
            cases[name].append(
                (
                    f"{name}-{tag}",
                    [normal(2, 3, 6, 5)],
                    lambda x, op=op, k=k, s=s, p=p: apply(op, (x,), kernel_size=k, stride=s, padding=p),
                    lambda x, name=name, k=k, s=s, p=p: getattr(F, name)(x, k, s, p),
                )
            )
    ties = np.repeat(np.repeat(np.array([[[[1.0, 2.0], [2.0, 0.0]]]]), 2, axis=2), 2, axis=3)  # windows of equal values
    cases["max_pool2d"].append(
        (
            "max_pool2d-ties-go-to-the-first",
            [ties],
            lambda x: apply(C.MAX_POOL2D, (x,), kernel_size=(2, 2), stride=(2, 2), padding=(0, 0)),
            lambda x: F.max_pool2d(x, 2),
        )
    )
    cases["erf"] = [("erf", [normal(3, 4) * 2], lambda x: apply(P.ERF, (x,)), torch.erf)]
    cases["gelu"] = [
        (
            f"gelu-{a}",
            [normal(3, 4) * 3],
            lambda x, a=a: apply(P.GELU, (x,), approximate=a),
            lambda x, a=a: F.gelu(x, approximate=a),
        )
        for a in ("none", "tanh")
    ]
    return cases


def softmax_cases(name, ours, theirs):
    """``theirs(x, dim)`` for one axis; several axes (or all) through torch.logsumexp, which takes them."""
    cases = [
        (f"{name}-axis={axis}", [normal(3, 4, 2) * 3], lambda x, a=axis: ours(x, a), lambda x, a=axis: theirs(x, a))
        for axis in (-1, 0, 1)
    ]
    lse = lambda x, dims: x - x.logsumexp(dim=dims, keepdim=True)  # noqa: E731
    for axis, dims in (((0, 2), (0, 2)), (None, (0, 1, 2))):
        reference = (lambda x, d=dims: lse(x, d).exp()) if name == "softmax" else (lambda x, d=dims: lse(x, d))
        cases.append((f"{name}-axis={axis}", [normal(3, 4, 2) * 3], lambda x, a=axis: ours(x, a), reference))
    large = np.array([[1e3, 1e3 - 1.0, 0.0], [-1e3, -1e3 + 2.0, -1e3]])
    cases.append((f"{name}-large", [large], lambda x: ours(x, 1), lambda x: theirs(x, 1)))
    return cases


def spread_cases(name):
    cases = []
    for shape, axis, keepdims, ddof in [
        ((3, 4, 2), None, False, 0),
        ((3, 4, 2), None, True, 1),
        ((3, 4, 2), 1, False, 1),
        ((3, 4, 2), -1, True, 0),
        ((3, 4, 2), (0, 2), False, 1),
        ((5,), 0, False, 2),
    ]:
        cases.append(
            (
                f"{name}-axis={axis}-keepdims={keepdims}-ddof={ddof}",
                [normal(*shape)],
                lambda x, a=axis, k=keepdims, d=ddof: getattr(x, name)(axis=a, keepdims=k, ddof=d),
                lambda x, a=axis, k=keepdims, d=ddof: getattr(x, name)(dim=all_axes(x, a), keepdim=k, correction=d),
            )
        )
    return cases


def engine_cases(torch):
    """softmax, more reductions, shapes and casts."""
    low, high = np.array([-0.5, 0.0, -2.0]), np.array([[0.5], [1.0]])
    return {
        "softmax": softmax_cases("softmax", softmax, lambda x, d: x.softmax(dim=d)),
        "log_softmax": softmax_cases("log_softmax", log_softmax, lambda x, d: x.log_softmax(dim=d)),
        "logsumexp": [
            (c[0].replace("sum", "logsumexp", 1), c[1], c[2], c[3])
            for c in reduction_cases("sum", "logsumexp", "logsumexp")
        ]
        + [
            (
                "logsumexp-large",
                [np.array([[1e3, 1e3 - 1.0], [-1e3, -1e3 + 1.0]])],
                lambda x: logsumexp(x, axis=1),
                lambda x: x.logsumexp(dim=1),
            )
        ],
        "min": reduction_cases("min", "min", "amin")
        + [
            (
                "min-ties-axis=1",
                [np.array([[1.0, -3.0, -3.0], [2.0, 2.0, 2.0], [0.0, 1.0, 0.0]])],
                lambda x: x.min(axis=1),
                lambda x: x.amin(dim=1),
            ),
            ("min-ties-all", [np.array([[1.0, -3.0, -3.0], [3.0, 2.0, 2.0]])], lambda x: x.min(), lambda x: x.amin()),
        ],
        "var": spread_cases("var"),
        "std": spread_cases("std")
        + [
            # a group of equal elements: std 0, and a gradient of 0 there
            (
                "std-constant-row",
                [np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])],
                lambda x: x.std(axis=1, ddof=1),
                lambda x: x.std(dim=1),
            ),
        ],
        "clip": [
            (
                "clip-ties-at-bounds",
                [np.array([-1.0, 0.0, 0.5, 1.0, 2.0])],
                lambda x: clip(x, 0.0, 1.0),
                lambda x: x.clamp(0.0, 1.0),
            ),
            ("clip-min-only", [normal(3, 4)], lambda x: x.clip(min=0.1), lambda x: x.clamp(min=0.1)),
            ("clip-max-only", [normal(3, 4)], lambda x: x.clip(max=0.1), lambda x: x.clamp(max=0.1)),
            ("clip-min-above-max", [normal(3, 4)], lambda x: x.clip(0.5, -0.5), lambda x: x.clamp(0.5, -0.5)),
            (
                "clip-array-bounds",
                [normal(2, 3)],
                lambda x: x.clip(low, high),
                lambda x: x.clamp(torch.from_numpy(low), torch.from_numpy(high)),
            ),
        ],
        "squeeze": [
            ("squeeze-all", [normal(1, 3, 1, 2)], lambda x: x.squeeze(), lambda x: x.squeeze()),
            ("squeeze-dim", [normal(1, 3, 1, 2)], lambda x: x.squeeze(dim=2), lambda x: x.squeeze(2)),
            ("squeeze-dims", [normal(1, 3, 1, 2)], lambda x: x.squeeze((0, -2)), lambda x: x.squeeze((0, -2))),
        ],
        "expand_dims": [
            ("unsqueeze-0", [normal(2, 3)], lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(0)),
            ("unsqueeze-last", [normal(2, 3)], lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1)),
            ("expand_dims-1", [normal(2, 3)], lambda x: x.expand_dims(1), lambda x: x.unsqueeze(1)),
        ],
        "flatten": [
            ("flatten-all", [normal(2, 3, 4)], lambda x: x.flatten(), lambda x: x.flatten()),
            ("flatten-1", [normal(2, 3, 4)], lambda x: x.flatten(1), lambda x: x.flatten(1)),
            ("flatten-0-1", [normal(2, 3, 4)], lambda x: x.flatten(0, 1), lambda x: x.flatten(0, 1)),
            ("flatten-0d", [normal()], lambda x: x.flatten(), lambda x: x.flatten()),
        ],
        "split": [
            (
                "split-torch-size",
                [normal(3, 5)],
                lambda x: concatenate([p * (k + 1) for k, p in enumerate(x.split(2, dim=1))], axis=1),
                lambda x: torch.cat([p * (k + 1) for k, p in enumerate(x.split(2, dim=1))], dim=1),
            ),
            (
                "split-torch-sizes",
                [normal(6, 2)],
                lambda x: sum((p * (k + 1)).sum() for k, p in enumerate(x.split([1, 0, 5]))),
                lambda x: sum((p * (k + 1)).sum() for k, p in enumerate(x.split([1, 0, 5]))),
            ),
            (
                "split-numpy-indices",
                [normal(2, 6)],
                lambda x: concatenate([p * (k + 1) for k, p in enumerate(split(x, [1, 4], axis=1))], axis=1),
                lambda x: torch.cat([p * (k + 1) for k, p in enumerate(x.tensor_split([1, 4], dim=1))], dim=1),
            ),
            (
                "array_split-sections",
                [normal(7, 2)],
                lambda x: concatenate([p * (k + 1) for k, p in enumerate(array_split(x, 3))]),
                lambda x: torch.cat([p * (k + 1) for k, p in enumerate(x.tensor_split(3))]),
            ),
        ],
        "cast": [
            (
                "cast-float-double",
                [normal(3, 4)],
                lambda x: x.float().double() * 1.5,
                lambda x: x.float().double() * 1.5,
            ),
            (
                "cast-astype",
                [normal(3, 4)],
                lambda x: (x.astype(np.float32) ** 2).astype(np.float64),
                lambda x: (x.to(torch.float32) ** 2).to(torch.float64),
            ),
        ],
    }


OP_NAMES = list(TENSOR_OPS)


def compare(torch, arrays, ours, theirs, op_name=None):
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = ours(*xs)
    ref = theirs(*ts)
    if op_name is not None:
        assert op_name in {n.op.name for n in topological_order(out) if n.op is not None}
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = RNG.standard_normal(out.shape)
    out.backward(gradient=g)
    ref.backward(gradient=torch.tensor(g, dtype=torch.float64))
    for x, t in zip(xs, ts):
        expected = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        assert x.grad is not None and x.grad.shape == x.shape
        np.testing.assert_allclose(x.grad, expected, rtol=1e-10, atol=1e-12)


def test_every_tensor_op_has_torch_cases(torch):
    assert set(build_cases(torch)) == set(TENSOR_OPS)


@pytest.mark.parametrize("name", OP_NAMES, ids=str)
def test_op_matches_torch(torch, name):
    cases = build_cases(torch)
    assert name in cases, f"no torch comparison for tensor op {name!r}"
    for case_name, arrays, ours, theirs in cases[name]:
        try:
            compare(torch, arrays, ours, theirs, op_name=name)
        except AssertionError as e:
            raise AssertionError(f"{case_name}: {e}") from None


COMPOSITES = {
    "mlp": (
        lambda x, w1, b1, w2: ((x @ w1 + b1).tanh() @ w2).sigmoid().mean(),
        lambda x, w1, b1, w2: ((x @ w1 + b1).tanh() @ w2).sigmoid().mean(),
        [(5, 3), (3, 4), (4,), (4, 2)],
    ),
    "softmax": (
        lambda z, y: (
            -(
                (z - z.max(axis=1, keepdims=True))
                - (z - z.max(axis=1, keepdims=True)).exp().sum(axis=1, keepdims=True).log()
            )[np.arange(4), np.array([0, 2, 1, 2])].mean()
            + (y * y).sum() * 0.0
        ),
        lambda z, y: (
            -(
                (z - z.amax(dim=1, keepdim=True))
                - (z - z.amax(dim=1, keepdim=True)).exp().sum(dim=1, keepdim=True).log()
            )[np.arange(4), np.array([0, 2, 1, 2])].mean()
            + (y * y).sum() * 0.0
        ),
        [(4, 3), (2,)],
    ),
    "normalize": (
        lambda x: (x - x.mean(axis=0)) / ((x - x.mean(axis=0)) ** 2).mean(axis=0).sqrt(),
        lambda x: (x - x.mean(dim=0)) / ((x - x.mean(dim=0)) ** 2).mean(dim=0).sqrt(),
        [(6, 3)],
    ),
    "batched-attention": (
        lambda q, k: ((q @ k.transpose(0, 2, 1)) * 0.5).exp().sum(axis=-1).log().sum(),
        lambda q, k: ((q @ k.transpose(1, 2)) * 0.5).exp().sum(dim=-1).log().sum(),
        [(2, 3, 4), (2, 5, 4)],
    ),
    "shared-and-broadcast": (
        lambda a, b: (a * b + a / (b * b + 1.0) - abs(a - b) ** 1.5).reshape(-1)[[0, 0, 3, 5]].sum(),
        lambda a, b: (a * b + a / (b * b + 1.0) - (a - b).abs() ** 1.5).reshape(-1)[[0, 0, 3, 5]].sum(),
        [(2, 3), (3,)],
    ),
}


@pytest.mark.parametrize("name", list(COMPOSITES))
def test_composite_expressions_match_torch(torch, name):
    ours, theirs, shapes = COMPOSITES[name]
    compare(torch, [normal(*s) for s in shapes], ours, theirs)


def compare_second_order(torch, arrays, ours, theirs):
    """``d <v, d <g, f(x)> / dx> / dx``: the gradient of a gradient, recorded (``create_graph``) in both."""
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    g = RNG.standard_normal(out.shape)
    firsts = grad(out, xs, grad_outputs=Tensor(g), create_graph=True, allow_unused=True)
    t_firsts = torch.autograd.grad(ref, ts, grad_outputs=torch.tensor(g), create_graph=True, allow_unused=True)
    vs = [RNG.standard_normal(x.shape) for x in xs]
    terms = [(f * v).sum() for f, v in zip(firsts, vs) if isinstance(f, Tensor) and f.requires_grad]
    t_terms = [(f * torch.tensor(v)).sum() for f, v in zip(t_firsts, vs) if f is not None and f.requires_grad]
    for x, f, tf in zip(xs, firsts, t_firsts):
        np.testing.assert_allclose(dense(f, x), dense(tf, x), rtol=1e-10, atol=1e-12)
    seconds = grad(sum(terms[1:], terms[0]), xs, allow_unused=True) if terms else [None] * len(xs)
    t_seconds = (
        torch.autograd.grad(sum(t_terms[1:], t_terms[0]), ts, allow_unused=True) if t_terms else [None] * len(ts)
    )
    for x, s, ts_ in zip(xs, seconds, t_seconds):
        np.testing.assert_allclose(dense(s, x), dense(ts_, x), rtol=1e-9, atol=1e-11)


def dense(g, x):
    """A gradient as an array of ``x``'s shape: None (unused) and torch's ZeroTensor are zeros."""
    if g is None:
        return np.zeros(x.shape)
    if isinstance(g, (Tensor, np.ndarray)):
        return np.asarray(g.data if isinstance(g, Tensor) else g)
    return g.detach().numpy(force=True)


@pytest.mark.parametrize("name", OP_NAMES, ids=str)
def test_op_second_derivatives_match_torch(torch, name):
    for case_name, arrays, ours, theirs in build_cases(torch)[name]:
        try:
            compare_second_order(torch, arrays, ours, theirs)
        except AssertionError as e:
            raise AssertionError(f"{case_name}: {e}") from None
