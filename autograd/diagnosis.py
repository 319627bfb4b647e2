"""How a hand-derived gradient differs from the engine's: the patterns ``check_manual`` looks for.

Tried in this order; the first that fits is the diagnosis:

1. ``missing_sum`` / ``transposed`` / ``shape``: the shapes differ (the manual array has the broadcast
   shape and was not summed over some axis; it is the transpose; the numbers fit another shape);
2. ``not_finite``: the manual array holds NaN or infinity where the engine's is finite;
3. ``transposed``: a square manual array whose transpose is right;
4. ``sign``: manual = -automatic;
5. ``factor`` / ``sum_vs_mean``: manual = k x automatic for a constant k (``sum_vs_mean`` when k is
   N or 1/N for an N the graph averages over);
6. ``wrong_point``: the node feeds an elementwise op, and the manual value is that op's local
   derivative evaluated at the wrong place (its input where its output belongs, or at its output);
   ``missing_derivative``: the manual value is the gradient of that elementwise op's output, its
   local derivative not multiplied in;
   ``missing_path``: the node is used more than once and the manual value leaves out what some of
   its uses send (the multivariate chain rule sums over uses); ``node_factor``: manual and automatic
   differ by a factor that is the value of a node of the graph (a forgotten ``* gamma``);
7. ``some_elements``: right except in some elements, with what those share (the node is 0 there,
   a repeated index, ties for a maximum, one row or column);
8. ``rounding``: within float64 or float32 rounding of the engine's;
9. ``no_pattern``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .gradcheck import elementwise_agreement
from .graphinfo import is_elementwise_unary, op_args, sent_gradients, vjps_of
from .tensor import Tensor
from .tensor_ops import unbroadcast
from .value import Value

KINDS = (
    "missing_sum",
    "transposed",
    "shape",
    "not_finite",
    "sign",
    "factor",
    "sum_vs_mean",
    "wrong_point",
    "missing_derivative",
    "missing_path",
    "node_factor",
    "some_elements",
    "rounding",
    "no_pattern",
)

ROUNDING_ULPS = 64
"""A difference within this many units of rounding (of the arrays' largest magnitude) is rounding."""

FACTOR_TOLERANCE = 1e-6
"""``manual ≈ k x automatic`` when the least-squares residual is below this (relative) or 10 rtol."""


@dataclass
class Diagnosis:
    """What is wrong with one manual gradient: ``kind`` (one of ``KINDS``), a sentence, and data."""

    kind: str
    text: str
    details: dict = field(default_factory=dict)

    def __str__(self):
        return self.text


@dataclass
class Context:
    """What a diagnosis may look at besides the two arrays."""

    name: str
    atol: float
    rtol: float
    node: Any = None  # None for a row that is a nest of Values
    data: np.ndarray | None = None  # the node's value
    used_by: list = field(default_factory=list)  # [(child, slot)] of the node
    grads: dict = field(default_factory=dict)  # id(node) -> automatic gradient
    name_of: Callable[[Any], str] = str  # node -> its name
    averaged: list = field(default_factory=list)  # [(N, where)]: counts the graph averages over
    scale: float = 0.0  # the largest automatic gradient of the whole check (rounding's yardstick)
    graph: list = field(default_factory=list)  # every node of the graph (for node_factor)


def agreement(m, a, atol, rtol) -> tuple:
    """``gradcheck.elementwise_agreement`` without numpy's warnings (a zero tolerance divides by zero)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return elementwise_agreement(m, a, atol, rtol)


def agree(m, a, ctx) -> bool:
    return m.shape == a.shape and agreement(m, a, ctx.atol, ctx.rtol)[3]


def diagnose(manual: np.ndarray, automatic: np.ndarray, ctx: Context) -> Diagnosis:
    """The first pattern (in the module's order) that explains how ``manual`` differs from ``automatic``."""
    m = np.asarray(manual)
    a = np.asarray(automatic)
    if m.shape != a.shape:
        return shape_diagnosis(m, a, ctx)
    mf, af = m.astype(np.float64), a.astype(np.float64)
    bad = ~np.isfinite(mf) & np.isfinite(af)
    if bad.any():
        count = int(bad.sum())
        return Diagnosis(
            "not_finite",
            f"not finite: the manual gradient has NaN or infinity in {count} of {m.size} elements "
            f"({positions(bad)}) where the engine's is finite",
            {"count": count, "where": where_list(bad)},
        )
    if m.ndim >= 2 and m.shape[-1] == m.shape[-2] and agree(np.swapaxes(mf, -1, -2), af, ctx):
        return Diagnosis("transposed", "transposed: manual.T is right", {})
    if agree(-mf, af, ctx) and not agree(mf, af, ctx):
        return Diagnosis("sign", "sign: manual = -automatic (a minus sign lost or added)", {"factor": -1.0})
    k = constant_factor(mf, af, max(FACTOR_TOLERANCE, 10 * ctx.rtol))
    if k is not None and abs(k - 1) > max(1e-6, 100 * ctx.rtol):
        return factor_diagnosis(k, ctx)
    for finder in (wrong_point, missing_path, node_factor):
        found = finder(mf, af, ctx)
        if found is not None:
            return found
    some = some_elements(mf, af, ctx, precision(m.dtype, a.dtype))
    if some is not None:
        return some
    rounding = rounding_diagnosis(mf, af, ctx, m.dtype, a.dtype)
    if rounding is not None:
        return rounding
    return no_pattern(mf, af)


# ----------------------------------------------------------------------------- shapes


def shape_diagnosis(m, a, ctx) -> Diagnosis:
    ms, as_ = m.shape, a.shape
    if _broadcasts_to(as_, ms) and m.size > a.size:
        summed = unbroadcast(m.astype(np.float64), as_)
        axes, keep = summed_axes(ms, as_)
        where = describe_axes(axes, keep, as_)
        details = {"axes": axes, "keepdims": keep, "manual_shape": ms, "shape": as_}
        if agree(summed, a.astype(np.float64), ctx):
            return Diagnosis(
                "missing_sum",
                f"missing sum: the manual gradient has the broadcast shape {ms}, not {as_}: not summed over "
                f"{where}; summed, it is right",
                details,
            )
        then = diagnose(summed, a, ctx)
        details["then"] = then.kind
        return Diagnosis(
            "missing_sum",
            f"missing sum: the manual gradient has the broadcast shape {ms}, not {as_}: not summed over "
            f"{where}; summed, it is still wrong ({then.text})",
            details,
        )
    if m.ndim >= 2 and ms[:-2] == as_[:-2] and ms[-2:] == as_[-2:][::-1]:
        swapped = np.swapaxes(m, -1, -2)
        if agree(swapped.astype(np.float64), a.astype(np.float64), ctx):
            return Diagnosis(
                "transposed",
                f"transposed: the manual gradient has shape {ms}, the transpose of {as_}, and manual.T is right",
                {"manual_shape": ms, "shape": as_},
            )
        then = diagnose(swapped, a, ctx)
        return Diagnosis(
            "transposed",
            f"transposed: the manual gradient has shape {ms}, the transpose of {as_}; transposed, it is still "
            f"wrong ({then.text})",
            {"manual_shape": ms, "shape": as_, "then": then.kind},
        )
    if m.size == a.size and agree(m.reshape(as_).astype(np.float64), a.astype(np.float64), ctx):
        return Diagnosis(
            "shape",
            f"shape: the numbers are right but the shape is {ms}, not {as_} (a dropped or extra axis of length 1: "
            f"keepdims=True?)",
            {"manual_shape": ms, "shape": as_},
        )
    if _broadcasts_to(ms, as_) and a.size > m.size:
        axes, keep = summed_axes(as_, ms)
        if agree(m.astype(np.float64), unbroadcast(a.astype(np.float64), ms), ctx):
            return Diagnosis(
                "shape",
                f"shape: the manual gradient has shape {ms}, not {as_}: it is the right gradient summed over "
                f"{describe_axes(axes, keep, ms)}, an axis that should stay",
                {"manual_shape": ms, "shape": as_, "axes": axes},
            )
    return Diagnosis(
        "shape",
        f"shape: the manual gradient has shape {ms}, the node has shape {as_}",
        {"manual_shape": ms, "shape": as_},
    )


def _broadcasts_to(small, big) -> bool:
    try:
        return np.broadcast_shapes(small, big) == tuple(big)
    except ValueError:
        return False


def summed_axes(big, small) -> tuple:
    """The axes of ``big`` that summing back to ``small`` removes (leading) or keeps at length 1."""
    extra = len(big) - len(small)
    lead = tuple(range(extra))
    stretched = tuple(extra + i for i, n in enumerate(small) if n == 1 and big[extra + i] != 1)
    return lead + stretched, bool(stretched)


def describe_axes(axes, keepdims, shape) -> str:
    word = "axis" if len(axes) == 1 else "axes"
    listed = ", ".join(str(x) for x in axes)
    return f"{word} {listed}" + (f" (keepdims=True, to keep shape {shape})" if keepdims else "")


# ----------------------------------------------------------------------------- constant factors


def constant_factor(a, b, tol=FACTOR_TOLERANCE) -> float | None:
    """``r`` with ``a ≈ r b`` (least squares) if the residual ``|a - r b| / |a|`` is below ``tol``, else None."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None
    bb = float(np.dot(b, b))
    aa = float(np.dot(a, a))
    if bb == 0.0 or aa == 0.0:
        return None
    r = float(np.dot(a, b)) / bb
    residual = float(np.linalg.norm(a - r * b)) / math.sqrt(aa)
    return r if residual < tol else None


def nice_number(x: float) -> str:
    """``4``, ``1/4``, ``-2``, ``0.37``: a factor as a person would write it."""
    if x == round(x) or abs(x - round(x)) <= 1e-9 * abs(x):
        return str(int(round(x)))
    f = Fraction(x).limit_denominator(1000)
    if abs(float(f) - x) <= 1e-9 * abs(x):
        return f"{f.numerator}/{f.denominator}"
    return f"{x:.6g}"


def factor_diagnosis(k: float, ctx: Context) -> Diagnosis:
    details = {"factor": k}
    for n, where in ctx.averaged:
        if abs(k - n) <= 1e-6 * n:
            details.update(N=n, where=where)
            return Diagnosis(
                "sum_vs_mean",
                f"factor {nice_number(k)} = N: manual = {nice_number(k)} x automatic, where N = {n} is the number "
                f"of terms averaged by {where}: the gradient of the sum, not of the mean (the sum-versus-mean "
                f"mistake: divide by N)",
                details,
            )
        if abs(k * n - 1) <= 1e-6:
            details.update(N=n, where=where)
            return Diagnosis(
                "sum_vs_mean",
                f"factor 1/{n} = 1/N: manual = automatic / {n}, where N = {n} is the number of terms averaged by "
                f"{where}: divided by N once too often (a mean where the graph sums, or 1/N applied twice)",
                details,
            )
    shown = nice_number(k)
    if k < 0:
        text = f"factor {shown}: manual = {shown} x automatic (a wrong sign and a wrong scale)"
    else:
        text = f"factor {shown}: manual = {shown} x automatic"
    return Diagnosis("factor", text, details)


# ----------------------------------------------------------------------------- wrong point


def wrong_point(m, a, ctx: Context) -> Diagnosis | None:
    """Match the manual value against an elementwise consumer's derivative taken at the wrong place."""
    node = ctx.node
    if node is None:
        return None
    for child, slot in ctx.used_by:
        if not is_elementwise_unary(child):
            continue
        g = ctx.grads.get(id(child))
        if g is None:
            continue
        right = sent_gradients(child, g)[slot]
        if right is None:
            continue
        if len(ctx.used_by) == 1 and agree(m, np.asarray(g, dtype=np.float64), ctx):
            doc = f" ({child.op.doc})" if child.op.doc else ""
            out = ctx.name_of(child)
            return Diagnosis(
                "missing_derivative",
                f"missing derivative: the manual gradient of {ctx.name} is the gradient of {out} = "
                f"{child.op.name}({ctx.name}) itself; {child.op.name}'s local derivative{doc} was not multiplied in",
                {"op": child.op.name, "through": out},
            )
        for variant, wrong in misplaced_derivatives(child, g):
            candidate = a - np.asarray(right, dtype=np.float64) + np.asarray(wrong, dtype=np.float64)
            if np.allclose(candidate, a, rtol=1e-12, atol=0) or not agree(m, candidate, ctx):
                continue
            op = child.op
            name, out = ctx.name, ctx.name_of(child)
            doc = f" ({op.doc})" if op.doc else ""
            if variant == "input_as_output":
                text = (
                    f"derivative at the wrong point: {name} reaches the root through {out} = {op.name}({name}), "
                    f"whose derivative{doc} is written with its output {out}; the manual value evaluates it "
                    f"with the input {name} in the output's place"
                )
            else:
                text = (
                    f"derivative at the wrong point: {name} reaches the root through {out} = {op.name}({name}); "
                    f"the manual value takes {op.name}'s derivative{doc} at the output {out} instead of at "
                    f"the input {name}"
                )
            return Diagnosis("wrong_point", text, {"op": op.name, "through": out, "variant": variant})
    return None


def misplaced_derivatives(child, g):
    """``(variant, gradient sent to the input)`` for the op's derivative evaluated at wrong places:

    - ``input_as_output``: its input fed where its output belongs (``1 - z^2`` for ``tanh'`` at ``z``);
    - ``at_output``: the derivative taken at the output instead of the input (``f'(f(z))``).
    """
    op = child.op
    x = child.parents[0].data
    out = child.data
    with np.errstate(all="ignore"):
        try:
            at_output = op.forward(out)
        except (ValueError, OverflowError, ZeroDivisionError):
            at_output = None
        places = [("input_as_output", x, x)]
        if at_output is not None:
            places.append(("at_output", at_output, out))
        for variant, fake_out, fake_in in places:
            try:
                if isinstance(child, Value):
                    wrong = op.derivatives(fake_out, fake_in)[0] * g
                else:
                    wrong = vjps_of(child)[0](g, np.asarray(fake_out), np.asarray(fake_in))
            except (ValueError, OverflowError, ZeroDivisionError, TypeError):
                continue
            if np.all(np.isfinite(wrong)):
                yield variant, wrong


# ----------------------------------------------------------------------------- missing paths and factors

MAX_USES = 8
"""Subsets of at most this many uses of a node are tried by ``missing_path`` (2^8 sums)."""


def missing_path(m, a, ctx: Context) -> Diagnosis | None:
    """Match the manual value against the sum over only some of the node's uses."""
    node = ctx.node
    if node is None or not 2 <= len(ctx.used_by) <= MAX_USES:
        return None
    parts: dict[int, np.ndarray] = {}  # use k -> what it sends, for the uses that send something
    for k, (child, slot) in enumerate(ctx.used_by):
        g = ctx.grads.get(id(child))
        sent = None if g is None else sent_gradients(child, g)[slot]
        if sent is not None:
            parts[k] = np.asarray(sent, dtype=np.float64)
    usable = list(parts)
    for mask in range(1, 2 ** len(usable) - 1):
        kept = [usable[k] for k in range(len(usable)) if mask >> k & 1]
        total = sum(parts[k] for k in kept)
        if np.shape(total) != m.shape or not agree(m, total, ctx):
            continue
        left_out = [k for k in usable if k not in kept]
        if all(np.allclose(parts[k], 0, rtol=0, atol=ctx.atol) for k in left_out):
            continue

        def uses(ks):
            return _listing([f"{ctx.name_of(ctx.used_by[k][0])} ({ctx.used_by[k][0].op.name})" for k in ks])

        return Diagnosis(
            "missing_path",
            f"missing path: {ctx.name} is used {len(ctx.used_by)} times, and the manual gradient is what it receives "
            f"through {uses(kept)} alone; what {uses(left_out)} sends is left out (a node used more than once "
            f"gets the sum of the gradients from all its uses)",
            {
                "kept": [ctx.name_of(ctx.used_by[k][0]) for k in kept],
                "missing": [ctx.name_of(ctx.used_by[k][0]) for k in left_out],
            },
        )
    return None


def node_factor(m, a, ctx: Context) -> Diagnosis | None:
    """Match ``manual = automatic x v`` or ``automatic / v`` for ``v`` the value of a node of the graph."""
    if m.ndim == 0 or not np.any(a):
        return None
    for node in ctx.graph:
        v = np.asarray(node.data, dtype=np.float64)
        if v.size <= 1 or node is ctx.node or not _broadcasts_to(v.shape, m.shape):
            continue
        name = ctx.name_of(node)
        with np.errstate(all="ignore"):
            if agree(m, a / v, ctx) and np.all(np.isfinite(a / v)):
                return Diagnosis(
                    "node_factor",
                    f"missing factor {name}: manual x {name} = automatic (a multiplication by {name} left out)",
                    {"node": name, "missing": True},
                )
            if agree(m, a * v, ctx):
                return Diagnosis(
                    "node_factor",
                    f"extra factor {name}: manual = automatic x {name} (a multiplication by {name} too many)",
                    {"node": name, "missing": False},
                )
    return None


def _listing(items: list) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ----------------------------------------------------------------------------- some elements


def precision(*dtypes) -> np.dtype:
    """The coarsest floating type among ``dtypes`` (float64 when none is a float)."""
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind == "f"]
    return max(floats, key=lambda d: np.finfo(d).eps) if floats else np.dtype(np.float64)


def rounding_level(m, a, dtype, ctx, whole_check=True) -> float:
    """What rounding in ``dtype`` may account for: ``ROUNDING_ULPS`` units of the largest magnitude.

    With ``whole_check`` the magnitude is also that of every gradient in the check: a gradient that is
    0 in exact arithmetic (batch norm's ``b1``) comes out as rounding noise of its neighbours' size.
    """
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(m), initial=0.0)))
    if whole_check:
        scale = max(scale, ctx.scale)
    return ROUNDING_ULPS * float(np.finfo(dtype).eps) * scale


def some_elements(m, a, ctx: Context, dtype) -> Diagnosis | None:
    with np.errstate(invalid="ignore"):
        diff = np.abs(m - a)
        outside = ~(diff <= ctx.atol + ctx.rtol * np.abs(a)) & ~(diff <= rounding_level(m, a, dtype, ctx))
    count = int(outside.sum())
    if count == 0 or count == m.size:
        return None
    shared = what_they_share(outside, ctx)
    text = f"wrong in {count} of {m.size} elements only, at {positions(outside)}"
    if shared:
        text += f"; {shared}"
    return Diagnosis("some_elements", text, {"count": count, "where": where_list(outside), "shared": shared})


def what_they_share(wrong: np.ndarray, ctx: Context) -> str:
    data = ctx.data
    if data is not None and np.shape(data) == wrong.shape:
        zero = np.asarray(data) == 0
        if zero[wrong].all():
            exact = "exactly the elements" if np.array_equal(zero, wrong) else "all among the elements"
            return f"{exact} where {ctx.name} == 0 (where the derivative of what uses it is a convention)"
    for child, _slot in ctx.used_by:
        args = op_args(child)
        if child.op.name == "getitem" and "index" in args:
            hits = np.zeros(wrong.shape, dtype=np.int64)
            try:
                np.add.at(hits, args["index"], 1)
            except (IndexError, ValueError, TypeError):
                continue
            repeated = hits > 1
            if repeated.any() and repeated[wrong].all():
                return (
                    f"they are the elements that {ctx.name_of(child)} = {ctx.name}[...] picks more than once: "
                    f"a repeated index adds up its gradients (np.add.at, not assignment)"
                )
        if child.op.name == "max" and data is not None:
            ties = tie_mask(np.asarray(data), args.get("axis"))
            if ties.any() and ties[wrong].all():
                return (
                    f"they are ties for the maximum in {ctx.name_of(child)} = max({ctx.name}): the gradient is "
                    f"split equally among tied elements"
                )
    if wrong.ndim >= 2 and wrong.sum() > 1:
        idx = np.argwhere(wrong)
        for axis in range(wrong.ndim):
            values = set(idx[:, axis].tolist())
            if len(values) == 1:
                which = values.pop()
                label = {0: "row", 1: "column"}.get(axis, f"index along axis {axis}") if wrong.ndim == 2 else None
                return f"all in {label} {which}" if label else f"all at index {which} along axis {axis}"
    return ""


def tie_mask(a: np.ndarray, axis) -> np.ndarray:
    """Elements equal to the maximum of their slice along ``axis`` where that maximum is shared."""
    peak = np.max(a, axis=axis, keepdims=True)
    hit = a == peak
    count = hit.sum(axis=axis, keepdims=True)
    return hit & (count > 1)


def positions(mask: np.ndarray, limit: int = 6) -> str:
    where = where_list(mask)
    shown = ", ".join(str(w[0]) if len(w) == 1 else str(tuple(w)) for w in where[:limit])
    return shown + (f", ... ({len(where)} in all)" if len(where) > limit else "")


def where_list(mask: np.ndarray) -> list:
    return [[int(i) for i in w] for w in np.argwhere(mask)]


# ----------------------------------------------------------------------------- rounding


def rounding_diagnosis(m, a, ctx: Context, manual_dtype, auto_dtype) -> Diagnosis | None:
    max_abs = float(np.max(np.abs(m - a), initial=0.0))
    used = {np.dtype(manual_dtype), np.dtype(auto_dtype)}
    candidates: list[np.dtype] = [np.dtype(np.float64), np.dtype(np.float32)]
    if np.float16 in used:
        candidates.append(np.dtype(np.float16))
    for dtype in candidates:
        # a precision neither array has is judged on this row alone, not on the whole check's scale
        if max_abs > rounding_level(m, a, dtype, ctx, whole_check=dtype in used):
            continue
        why = "" if dtype in used else f" (as if part of the derivation were computed in {dtype.name})"
        suggest = 10.0 ** math.ceil(math.log10(max_abs)) if max_abs > 0 else ctx.atol
        return Diagnosis(
            "rounding",
            f"rounding only: differences up to {max_abs:.2g} are within {dtype.name} precision (eps "
            f"{np.finfo(dtype).eps:.2g}){why}; to accept them pass atol={suggest:g}",
            {"dtype": dtype.name, "max_abs": max_abs, "suggested_atol": suggest},
        )
    return None


def no_pattern(m, a) -> Diagnosis:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = m / a
    ratio = ratio[np.isfinite(ratio)]
    text = "no simple pattern"
    if ratio.size:
        text += f": manual / automatic ranges from {ratio.min():.3g} to {ratio.max():.3g}"
    return Diagnosis("no_pattern", text, {})


# ----------------------------------------------------------------------------- the graph's counts


def averaged_counts(walk, name_of) -> list:
    """``[(N, where)]``: how many terms each averaging in the graph divides by, nearest the root first.

    Found from the ops: ``mean``, an op with ``reduction="mean"``, and multiplication or division by
    a constant ``1/N`` or ``N`` (a loss written out as ``total / N``).
    """
    found: list[tuple[int, str]] = []
    for node in walk:
        op = node.op
        if op is None:
            continue
        args = op_args(node)
        here = f"{op.name} at {name_of(node)}"
        n = None
        if op.name == "mean" and isinstance(node, Tensor):
            n = node.parents[0].data.size // max(node.data.size, 1)
        elif args.get("reduction") == "mean":
            n = len(node.parents[1].data) if op.name == "cross_entropy" else np.size(node.parents[0].data)
            here = f"{op.name}(reduction='mean') at {name_of(node)}"
        elif isinstance(node, Value) and op.name == "mul_const":
            n = _inverse_count(args["c"])
            here = f"the multiplication by 1/{n} at {name_of(node)}" if n else here
        elif isinstance(node, Tensor) and op.name in ("mul", "div"):
            for k, p in enumerate(node.parents):
                if p.requires_grad or p.data.size != 1:
                    continue
                c = float(p.data.reshape(()))
                n = _count(c) if op.name == "div" and k == 1 else _inverse_count(c)
                if n:
                    here = f"the {'division by' if op.name == 'div' else 'multiplication by 1/'}{n} at {name_of(node)}"
                    break
        if n and n > 1 and all(n != f for f, _ in found):
            found.append((int(n), here))
    return found


def _count(c: float) -> int | None:
    if c > 1 and abs(c - round(c)) <= 1e-9 * c:
        return int(round(c))
    return None


def _inverse_count(c: float) -> int | None:
    return _count(1.0 / c) if c not in (0.0,) and math.isfinite(c) and c > 0 else None
