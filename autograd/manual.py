"""``check_manual``: hand-derived gradients against the engine's, step by step, with the first wrong one.

A hand derivation is a chain: each step's gradient is computed from the steps before it, so one
mistake makes every later step wrong too. ``check_manual`` compares each step with the engine's
gradient in the order backward reaches the nodes, names the first that differs and how
(``autograd.diagnosis``), says which op that step goes through and the line it should have been
(``autograd.codegen``), and marks the later differing steps as possibly inherited.

>>> report = check_manual(loss, {"z2": dz2, "w2": dw2, "h": dh, "z1": dz1, "w1": dw1}, names=locals())
>>> report.first_wrong, report.passed
>>> print(report)            # the table and the verdict; report in Jupyter renders as HTML
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .codegen import build_program
from .diagnosis import ROUNDING_ULPS, Context, Diagnosis, agreement, averaged_counts, diagnose, precision
from .graphinfo import NodeNames, all_gradients, check_root, consumers, is_node, sent_gradients
from .tensor import Tensor
from .typing import Node

STATUSES = ("right", "first_wrong", "inherited")


@dataclass
class ManualRow:
    """One checked node: the manual and automatic gradients and how they compare."""

    name: str
    shape: tuple  # the node's (the automatic gradient's) shape
    manual: np.ndarray
    automatic: np.ndarray
    exact: bool  # bitwise equal (same shape, same numbers)
    close: bool  # |manual - automatic| <= atol + rtol |automatic| everywhere, shapes equal
    max_abs: float  # nan when the shapes differ
    max_rel: float
    worst: tuple  # index of the element furthest outside the tolerance
    position: int  # where backward reaches the node (0 = the root)
    nodes: list = field(repr=False, default_factory=list)  # the node (or the Values of a nest)
    diagnosis: Diagnosis | None = None
    status: str = "right"
    follows: bool | None = None  # wrong, but the chain rule applied to the manual rows it uses gives it

    @property
    def node(self):
        return self.nodes[0] if len(self.nodes) == 1 else None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "manual_shape": list(self.manual.shape),
            "exact": self.exact,
            "close": self.close,
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "worst": list(self.worst),
            "status": self.status,
            "follows": self.follows,
            "diagnosis": None
            if self.diagnosis is None
            else {"kind": self.diagnosis.kind, "text": self.diagnosis.text, "details": _plain(self.diagnosis.details)},
            "manual": self.manual.tolist(),
            "automatic": self.automatic.tolist(),
        }


@dataclass
class ManualCheck:
    """The report of ``check_manual``: ``rows`` in backward order, ``first_wrong``, ``passed``."""

    rows: list[ManualRow]
    rtol: float
    atol: float
    root_name: str = "root"
    explanation: str = ""  # which op the first wrong step goes through, and what came in
    right_line: str | None = None  # the backward line the first wrong step should have been
    _status: dict = field(default_factory=dict, repr=False)  # id(node) -> status

    @property
    def passed(self) -> bool:
        return all(r.close for r in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def first_wrong(self) -> str | None:
        """The name of the first row in backward order that differs, or None."""
        row = self.first_wrong_row
        return None if row is None else row.name

    @property
    def first_wrong_row(self) -> ManualRow | None:
        return next((r for r in self.rows if not r.close), None)

    def row(self, name: str) -> ManualRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"check_manual report: no row named {name!r}; rows: {', '.join(r.name for r in self.rows)}")

    def status(self, node: object) -> str | None:
        """``None`` (not checked), ``"right"``, ``"first_wrong"`` or ``"inherited"`` (differs, after the first)."""
        return self._status.get(id(node))

    @property
    def verdict(self) -> str:
        first = self.first_wrong_row
        if first is None:
            exact = sum(r.exact for r in self.rows)
            return (
                f"all {len(self.rows)} manual gradients agree with the engine's "
                f"({exact} bit for bit, rtol={self.rtol:g}, atol={self.atol:g})"
            )
        text = f"first wrong step: {first.name} ({first.diagnosis})."
        wrong = [r for r in self.rows if not r.close]
        if all(r.diagnosis is not None and r.diagnosis.kind == "rounding" for r in wrong):
            worst = max(r.max_abs for r in wrong)
            atol = 10.0 ** math.ceil(math.log10(worst))
            return (
                text + f" Every differing step ({len(wrong)}) differs by rounding only; atol={atol:g} accepts them all."
            )
        if self.explanation:
            text += " " + self.explanation
        later = [r for r in self.rows if r.status == "inherited"]
        if later:
            own = [r.name for r in later if r.follows is False]
            text += (
                f" {len(later)} later step{'s' if len(later) > 1 else ''} differ{'' if len(later) > 1 else 's'} "
                f"too, possibly inherited from it"
            )
            text += f"; wrong in their own step as well: {', '.join(own)}." if own else "."
        return text

    def __str__(self) -> str:
        head = (
            f"check_manual: {len(self.rows)} manual gradient{'s' if len(self.rows) != 1 else ''} of "
            f"{self.root_name} against the engine's, in backward order (rtol={self.rtol:g}, atol={self.atol:g}): "
            f"{'PASSED' if self.passed else 'FAILED'}"
        )
        table = [["#", "name", "shape", "exact", "close", "max abs", "max rel", "status", "diagnosis"]]
        for i, r in enumerate(self.rows, 1):
            table.append(
                [
                    str(i),
                    r.name,
                    _shape(r.shape, r.manual.shape),
                    "yes" if r.exact else "no",
                    "yes" if r.close else "no",
                    _num(r.max_abs),
                    _num(r.max_rel),
                    {"right": "right", "first_wrong": "FIRST WRONG", "inherited": "inherited"}[r.status],
                    _short(r),
                ]
            )
        widths = [max(len(row[k]) for row in table) for k in range(len(table[0]))]
        lines = [head]
        for row in table:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        lines.append("verdict: " + self.verdict)
        if self.right_line:
            lines.append("the right line: " + self.right_line)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colors = {"right": "#dcfce7", "first_wrong": "#fca5a5", "inherited": "#fde68a"}
        cells = ["#", "name", "shape", "exact", "close", "max abs", "max rel", "status", "diagnosis"]
        out = [
            '<table style="border-collapse:collapse;font-family:monospace;font-size:0.85em">',
            "<tr>" + "".join(f'<th style="text-align:left;padding:2px 8px">{c}</th>' for c in cells) + "</tr>",
        ]
        for i, r in enumerate(self.rows, 1):
            values = [
                str(i),
                r.name,
                _shape(r.shape, r.manual.shape),
                "yes" if r.exact else "no",
                "yes" if r.close else "no",
                _num(r.max_abs),
                _num(r.max_rel),
                r.status.replace("_", " "),
                "" if r.diagnosis is None else r.diagnosis.text,
            ]
            style = f"background:{colors[r.status]}"
            out.append(
                f'<tr style="{style}">'
                + "".join(f'<td style="padding:2px 8px;vertical-align:top">{html.escape(v)}</td>' for v in values)
                + "</tr>"
            )
        out.append("</table>")
        out.append(f"<p><b>{'PASSED' if self.passed else 'FAILED'}</b>: {html.escape(self.verdict)}</p>")
        if self.right_line:
            out.append(f"<p>The right line: <code>{html.escape(self.right_line)}</code></p>")
        return "\n".join(out)

    def to_dict(self) -> dict:
        """Plain data (lists, numbers, strings) for JSON."""
        return {
            "root": self.root_name,
            "passed": self.passed,
            "first_wrong": self.first_wrong,
            "rtol": self.rtol,
            "atol": self.atol,
            "verdict": self.verdict,
            "right_line": self.right_line,
            "rows": [r.to_dict() for r in self.rows],
        }


def check_manual(
    root: Node,
    manual: Mapping[str, Any],
    *,
    names: Mapping[str, object] | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-10,
) -> ManualCheck:
    """Compare hand-derived gradients ``manual`` (name -> ``d root / d node``) with the engine's.

    ``root`` is a scalar ``Value`` or single-element ``Tensor`` after its forward pass. Nodes are
    named by their labels and by ``names`` (name -> node, e.g. ``locals()``; other entries are
    ignored; a nest of Values, such as a micrograd weight matrix, is checked as one array). A
    manual gradient is a number or an array (a number also stands for any single-element node).
    Runs its own backward pass and leaves every node's ``.grad`` as it was.

    A row is ``close`` when the shapes match and ``|manual - automatic| <= atol + rtol |automatic|``
    everywhere. Rows come in backward order; the first that is not close is ``first_wrong``, and
    the differing rows after it are ``inherited`` (possibly caused by it).
    """
    check_root(root, "check_manual")
    if not hasattr(manual, "items"):
        raise TypeError(f"check_manual: manual must be a mapping name -> gradient, got {type(manual).__name__}")
    order, grads = all_gradients(root)
    walk = list(reversed(order))
    position = {id(n): k for k, n in enumerate(walk)}
    node_names = NodeNames(order, names)
    used_by = consumers(order)
    averaged = averaged_counts(walk, node_names.name)

    entries = []
    seen: dict[int, str] = {}
    for name, value in manual.items():
        target = node_names.lookup(name, "check_manual")
        nodes = list(target.flat) if isinstance(target, np.ndarray) else [target]
        for n in nodes:
            if isinstance(n, Tensor) and not n.requires_grad:
                raise ValueError(
                    f"check_manual: {name!r} is a tensor that does not require grad, so backward gives it no "
                    f"gradient; create it with requires_grad=True to check its gradient"
                )
            if id(n) in seen:
                raise ValueError(f"check_manual: {seen[id(n)]!r} and {name!r} name the same node; give one gradient")
            seen[id(n)] = name
        if isinstance(target, np.ndarray):
            automatic = np.array([grads[id(v)] for v in target.flat], dtype=np.float64).reshape(target.shape)
            data = np.array([v.data for v in target.flat], dtype=np.float64).reshape(target.shape)
        else:
            automatic = np.asarray(grads[id(target)])
            data = np.asarray(target.data)
        entries.append((min(position[id(n)] for n in nodes), name, nodes, _as_array(name, value), automatic, data))
    entries.sort(key=lambda e: e[0])

    scale = max((float(np.max(np.abs(e[4]), initial=0.0)) for e in entries), default=0.0)
    rows = []
    for pos, name, nodes, m, a, data in entries:
        if m.ndim == 0 and a.size == 1 and a.ndim > 0:
            m = np.full(a.shape, m, dtype=m.dtype)  # a number stands for any single-element node
        same = m.shape == a.shape
        if same:
            max_abs, max_rel, worst, close = agreement(m, a, atol, rtol)
        else:
            max_abs, max_rel, worst, close = float("nan"), float("nan"), (), False
        row = ManualRow(
            name=name,
            shape=tuple(a.shape),
            manual=m,
            automatic=a,
            exact=same and bool(np.array_equal(m, a)),
            close=close,
            max_abs=max_abs,
            max_rel=max_rel,
            worst=worst,
            position=pos,
            nodes=nodes,
        )
        if not close:
            node = nodes[0] if len(nodes) == 1 else None
            ctx = Context(
                name=name,
                atol=atol,
                rtol=rtol,
                node=node,
                data=data,
                used_by=used_by[id(node)] if node is not None else [],
                grads=grads,
                name_of=node_names.name,
                averaged=averaged,
                scale=scale,
                graph=walk,
            )
            row.diagnosis = diagnose(m, a, ctx)
        rows.append(row)

    report = ManualCheck(rows=rows, rtol=rtol, atol=atol, root_name=node_names.name(root))
    first = report.first_wrong_row
    wrong_seen = False
    by_node = {id(r.nodes[0]): r for r in rows if len(r.nodes) == 1}
    for r in rows:
        if r.close:
            r.status = "right"
        elif not wrong_seen:
            r.status = "first_wrong"
            wrong_seen = True
        else:
            r.status = "inherited"
        if not r.close and r.node is not None:
            # the step's own rounding (in the manual's precision) is not a mistake of the step
            eps = float(np.finfo(precision(r.manual.dtype, r.automatic.dtype)).eps)
            r.follows = step_follows(r, by_node, used_by, max(atol, ROUNDING_ULPS * eps * scale), max(rtol, 64 * eps))
        for n in r.nodes:
            report._status[id(n)] = r.status
    if first is not None:
        report.explanation, report.right_line = explain_step(root, first, names, node_names, used_by, by_node)
        if first.diagnosis is not None and first.diagnosis.kind == "rounding":
            report.right_line = None  # the line is right; only its precision differs
    return report


def step_follows(row, by_node, used_by, atol, rtol) -> bool | None:
    """Whether the chain rule applied to the manual gradients of the node's consumers gives the manual
    value (the step itself is right; its inputs were wrong). None when a consumer was not checked."""
    node = row.node
    total = None
    for child, slot in used_by[id(node)]:
        source = by_node.get(id(child))
        if source is None or source.manual.shape != source.automatic.shape:
            return None
        g = source.manual.astype(np.float64) if isinstance(child, Tensor) else float(source.manual)
        sent = sent_gradients(child, g)[slot]
        if sent is None:
            continue
        total = sent if total is None else total + sent
    if total is None or np.shape(total) != row.manual.shape:
        return None
    return bool(agreement(row.manual, np.asarray(total), atol, rtol)[3])


def explain_step(root, row, names, node_names, used_by, by_node) -> tuple:
    """The sentence on where the first wrong step's gradient comes from, and the line it should be."""
    node = row.node
    if node is None:
        users = sorted({child.op.name for n in row.nodes for child, _ in used_by[id(n)]})
        return (f"{row.name}'s elements get their gradients through {', '.join(users)}." if users else ""), None
    try:
        program = build_program(root, names)
    except LookupError:
        program = None
    parts = []
    right: list[str] = []
    unchecked: list[str] = []
    root_seen = None
    for child, _slot in used_by[id(node)]:
        line = program.forward_line(child) if program is not None else None
        child_name = node_names.name(child)
        shown = line if line else f"{child_name} = {child.op.name}(...)"
        doc = f" ({child.op.doc})" if child.op.doc else ""
        parts.append(f"{shown} through {child.op.name}{doc}")
        if child is root:
            root_seen = child_name
        else:
            (right if id(child) in by_node else unchecked).append(child_name)
    if not parts:
        return "", None
    text = f"{row.name}'s gradient comes from " + " and from ".join(parts)
    notes = []
    if root_seen:
        notes.append(f"{root_seen} is the root (its gradient is 1)")
    if right:
        notes.append(f"the gradient of {_and(right)} {'was' if len(right) == 1 else 'were'} right")
    if unchecked:
        notes.append(
            f"the gradient of {_and(unchecked)} {'was' if len(unchecked) == 1 else 'were'} not checked, so the "
            f"mistake may lie in a step before this one"
        )
    text += "; " + "; ".join(notes) + "."
    line = program.line_for(node) if program is not None else None
    return text, line


def _and(names: list) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _as_array(name, value) -> np.ndarray:
    if is_node(value):
        value = value.data
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return np.asarray(value, dtype=np.float64)
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"check_manual: the manual gradient of {name!r} is not a number or an array: {e}") from None
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"check_manual: the manual gradient of {name!r} must be numeric, got dtype {arr.dtype}")
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _num(x: float) -> str:
    if x != x:
        return "-"
    return "0" if x == 0 else f"{x:.2e}"


def _shape(shape, manual_shape) -> str:
    return str(tuple(shape)) if tuple(shape) == tuple(manual_shape) else f"{tuple(manual_shape)}≠{tuple(shape)}"


def _short(row) -> str:
    """The table's diagnosis column: the diagnosis's name; for a later row, whether its own step is right."""
    if row.diagnosis is None:
        return ""
    text = row.diagnosis.text.split(":")[0]
    if row.status == "inherited":
        if row.follows is True:
            return "follows from the steps above"
        if row.follows is False:
            return f"{text}; its own step is wrong too"
    return text


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj
