"""``check_graph``: every op of a recorded graph checked on its own, at the values it saw.

``gradcheck`` says *which input* of a whole function has a wrong gradient. ``check_graph`` says
*which op*: for each node, in the order backward reaches it, the op's declared local derivative
(scalar) or vector-Jacobian product (tensor, in a fixed random direction ``r``: the derivative of
``sum(r * op(...))``) is compared with central differences of that op alone, at the node's
recorded inputs. The first failing node names the primitive whose backward is wrong, built in or
declared by the user.

Where an op has a kink at the recorded point (``relu`` or ``abs`` at 0, tied maxima) central
differences average the two sides; an element passes when the declared derivative lies between
the one-sided differences, and the row says so.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .diagnosis import agreement
from .gradcheck import central_differences
from .graph import topological_order
from .graphinfo import NodeNames, check_root, op_args, vjps_of
from .tensor_ops import unbroadcast
from .typing import Node
from .value import Value


@dataclass
class OpCheck:
    """One input of one node: the op's derivative against central differences of the op alone."""

    node_name: str
    op: str
    input_index: int
    input_name: str
    declared: np.ndarray
    numeric: np.ndarray
    max_abs: float
    max_rel: float
    worst: tuple
    passed: bool
    note: str = ""
    node: object = field(default=None, repr=False)
    worst_declared: float = float("nan")  # the two derivatives at ``worst``
    worst_numeric: float = float("nan")

    def line(self) -> str:
        verdict = "ok" if self.passed else "FAIL"
        text = (
            f"{self.node_name:<12} {self.op:<14} input {self.input_index} ({self.input_name}): "
            f"max abs {self.max_abs:.2e}  max rel {self.max_rel:.2e}  {verdict}"
        )
        return text + (f"  ({self.note})" if self.note else "")


@dataclass
class GraphCheck:
    """Per (node, input) results in backward order; ``first_failure`` is the first that fails."""

    checks: list[OpCheck]
    eps: float
    atol: float
    rtol: float
    nodes: int = 0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def first_failure(self) -> OpCheck | None:
        return next((c for c in self.checks if not c.passed), None)

    @property
    def failed_ops(self) -> list[str]:
        """Names of the ops with at least one failing node, in the order they first fail."""
        out = []
        for c in self.checks:
            if not c.passed and c.op not in out:
                out.append(c.op)
        return out

    @property
    def verdict(self) -> str:
        ops = sorted({c.op for c in self.checks})
        c = self.first_failure
        if c is None:
            kinks = sum(bool(c.note) for c in self.checks)
            extra = f"; {kinks} at a kink, the declared derivative between the one-sided ones" if kinks else ""
            return (
                f"every op's derivative agrees with central differences of the op alone at the recorded values "
                f"({len(self.checks)} inputs of {self.nodes} nodes; ops: {', '.join(ops)}{extra})"
            )
        at = "" if not c.worst else f" at element {c.worst}"
        declared, numeric = c.worst_declared, c.worst_numeric
        return (
            f"the first op that fails (in backward order): {c.op} at node {c.node_name}, input {c.input_index} "
            f"({c.input_name}){at}: its declared derivative gives {declared:.6g} where central differences of "
            f"{c.op} alone give {numeric:.6g}. Failing ops: {', '.join(self.failed_ops)}."
        )

    def __str__(self) -> str:
        head = (
            f"check_graph (eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g}): "
            f"{'passed' if self.passed else 'FAILED'}"
        )
        shown = [c for c in self.checks if not c.passed or c.note]
        lines = [head] + [c.line() for c in shown[:20]]
        if len(shown) > 20:
            lines.append(f"... {len(shown) - 20} more")
        lines.append("verdict: " + self.verdict)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(c.node_name)}</td><td>{html.escape(c.op)}</td><td>{c.input_index}</td>"
            f"<td>{c.max_abs:.2e}</td><td>{'ok' if c.passed else '<b>FAIL</b>'}</td>"
            f"<td>{html.escape(c.note)}</td></tr>"
            for c in self.checks
            if not c.passed or c.note
        )
        return (
            "<table><tr><th>node</th><th>op</th><th>input</th><th>max abs</th><th></th><th></th></tr>"
            f"{rows}</table><p>{html.escape(self.verdict)}</p>"
        )

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "verdict": self.verdict,
            "failed_ops": self.failed_ops,
            "checks": [
                {
                    "node": c.node_name,
                    "op": c.op,
                    "input": c.input_index,
                    "max_abs": c.max_abs,
                    "max_rel": c.max_rel,
                    "passed": c.passed,
                    "note": c.note,
                }
                for c in self.checks
            ],
        }


def check_graph(
    root: Node,
    *,
    names: Mapping[str, object] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    max_elements: int = 64,
    seed: int = 0,
) -> GraphCheck:
    """Check each op of ``root``'s graph on its own against central differences (see the module docstring).

    Computes in float64 whatever the graph's dtype. For an input with more than ``max_elements``
    elements a random subset of that many is checked (the direction ``r`` and the subset come
    from ``seed``). An element passes when ``|declared - numeric| <= atol + rtol |numeric|``.
    """
    check_root(root, "check_graph")
    order = topological_order(root)
    node_names = NodeNames(order, names)
    rng = np.random.default_rng(seed)
    checks: list[OpCheck] = []
    nodes = 0
    for node in reversed(order):
        if node.op is None:
            continue
        nodes += 1
        if isinstance(node, Value):
            checks += _check_scalar(node, node_names, eps, atol, rtol)
        else:
            checks += _check_tensor(node, node_names, eps, atol, rtol, max_elements, rng)
    return GraphCheck(checks=checks, eps=eps, atol=atol, rtol=rtol, nodes=nodes)


def _check_scalar(node, node_names, eps, atol, rtol) -> list:
    op = node.op
    inputs = list(op.input_data(node))
    declared = op.local_derivatives(node)
    out = []
    for i, parent in enumerate(node.parents):

        def f(x, i=i):
            args = list(inputs)
            args[i] = x
            return float(op.forward(*args))

        x = inputs[i]
        try:
            numeric = (f(x + eps) - f(x - eps)) / (2 * eps)
            sides = ((f(x) - f(x - eps)) / eps, (f(x + eps) - f(x)) / eps)
        except (ValueError, OverflowError, ZeroDivisionError) as e:
            out.append(_unchecked(node, node_names, i, parent, f"the op cannot be evaluated next to its input: {e}"))
            continue
        d = np.float64(declared[i])
        out.append(_compare(node, node_names, i, parent, d, np.float64(numeric), sides, atol, rtol))
    return out


def _in_float64(value):
    """An op argument naming a float type (a cast's target) as float64, so everything runs in float64."""
    try:
        return np.float64 if np.dtype(value).kind == "f" else value
    except TypeError:
        return value


def _check_tensor(node, node_names, eps, atol, rtol, max_elements, rng) -> list:
    op = node.op
    args = {k: _in_float64(v) if isinstance(v, (type, np.dtype)) else v for k, v in op_args(node).items()}
    arrays = [np.array(p.data, dtype=np.float64) if p.data.dtype.kind == "f" else p.data for p in node.parents]
    recorded = np.asarray(node.data, dtype=np.float64)
    r = rng.standard_normal(recorded.shape)
    out = []
    for i, parent in enumerate(node.parents):
        if not parent.requires_grad:
            continue
        with np.errstate(all="ignore"):
            declared = np.asarray(vjps_of(node)[i](r, recorded, *arrays, **args), dtype=np.float64)
        if declared.shape != parent.shape:
            declared = unbroadcast(declared, parent.shape)
        size = arrays[i].size
        picked = np.arange(size) if size <= max_elements else np.sort(rng.choice(size, max_elements, replace=False))
        sub = arrays[i].reshape(-1)[picked].copy()
        at = _restricted_loss(op, arrays, args, r, i, picked)
        numeric_sub = central_differences(functools.partial(at, sub), sub, eps)
        declared_sub = declared.reshape(-1)[picked]
        base = at(sub)
        left = np.empty_like(sub)
        right = np.empty_like(sub)
        for k in range(sub.size):
            original = sub[k]
            sub[k] = original - eps
            down = at(sub)
            sub[k] = original + eps
            up = at(sub)
            sub[k] = original
            left[k] = (base - down) / eps
            right[k] = (up - base) / eps
        check = _compare(node, node_names, i, parent, declared_sub, numeric_sub, (left, right), atol, rtol)
        if check.worst:
            check.worst = tuple(int(k) for k in np.unravel_index(picked[check.worst[0]], parent.shape))
        if size > max_elements:
            check.note = (check.note + "; " if check.note else "") + f"{max_elements} of {size} elements checked"
        out.append(check)
    return out


def _restricted_loss(
    op: Any, arrays: list, args: dict, r: np.ndarray, i: int, picked: np.ndarray
) -> Callable[[np.ndarray], float]:
    """``values -> sum(r * op(...))`` with the ``picked`` elements of input ``i`` set to ``values``."""

    def at(values: np.ndarray) -> float:
        trial = list(arrays)
        flat = arrays[i].reshape(-1).copy()
        flat[picked] = values
        trial[i] = flat.reshape(arrays[i].shape)
        with np.errstate(all="ignore"):
            return float(np.sum(r * op.forward(*trial, **args)))

    return at


def _compare(node, node_names, i, parent, declared, numeric, sides, atol, rtol) -> OpCheck:
    max_abs, max_rel, worst, passed = agreement(declared, numeric, atol, rtol)
    note = ""
    if not passed:
        left, right = (np.asarray(s, dtype=np.float64) for s in sides)
        low, high = np.minimum(left, right), np.maximum(left, right)
        slack = atol + rtol * np.maximum(np.abs(left), np.abs(right))
        kink = np.abs(left - right) > slack
        within = (declared >= low - slack) & (declared <= high + slack)
        ok = elementwise_ok(declared, numeric, atol, rtol) | (kink & within)
        if np.all(ok):
            passed = True
            note = f"a kink at {int(np.sum(kink & ~elementwise_ok(declared, numeric, atol, rtol)))} element(s)"
    return OpCheck(
        node_name=node_names.name(node),
        op=node.op.name,
        input_index=i,
        input_name=node_names.name(parent),
        declared=np.asarray(declared),
        numeric=np.asarray(numeric),
        max_abs=max_abs,
        max_rel=max_rel,
        worst=worst,
        passed=passed,
        note=note,
        node=node,
        worst_declared=_at(declared, worst),
        worst_numeric=_at(numeric, worst),
    )


def _at(a, index) -> float:
    a = np.asarray(a, dtype=np.float64)
    return float(a[index]) if a.ndim else float(a)


def elementwise_ok(a, b, atol, rtol) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.abs(np.asarray(a) - np.asarray(b)) <= atol + rtol * np.abs(np.asarray(b))


def _unchecked(node, node_names, i, parent, why) -> OpCheck:
    nan = np.float64(np.nan)
    return OpCheck(
        node_name=node_names.name(node),
        op=node.op.name,
        input_index=i,
        input_name=node_names.name(parent),
        declared=nan,
        numeric=nan,
        max_abs=float("nan"),
        max_rel=float("nan"),
        worst=(),
        passed=True,
        note=f"not checked: {why}",
        node=node,
    )
