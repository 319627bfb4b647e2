"""Words for the pictures of backward: a node's grad row, and what each step did, in a line
(a frame's caption) and in full (the HTML beside the step-through player). No drawing here.

A step of backward, for a node ``n`` with complete gradient ``g = d L / d n``, sends each input
``x`` the amount ``g * d n / d x`` (the chain rule); the input's gradient is the sum of what all
of its consumers send it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..tensor import Tensor
from .nodes import node_kind
from .steps import BackpropStep
from .text import format_number, html_text, node_name, summary


def grad_text(node, step: BackpropStep | None = None, precision: int = 4) -> str:
    """The grad row of ``node``: ``grad 6.0``; in a frame also ``grad ?`` and ``grad 6.0 (so far)``."""
    is_tensor = isinstance(node, Tensor)
    if step is None:
        if is_tensor and not node.requires_grad:
            return "no grad"
        return "grad None" if node.grad is None else f"grad {summary(node.grad, is_tensor, precision)}"
    state = step.state(node)
    if state == "none":
        return "no grad"
    if state == "unreached":
        return "grad ?"
    text = f"grad {summary(step.grad(node), is_tensor, precision)}"
    return text if state == "done" else f"{text} (so far)"


@dataclass(frozen=True)
class StepText:
    """What one step did: ``caption`` (one plain line) and ``html`` (a paragraph and a table)."""

    caption: str
    html: str


def explain_steps(steps: list, precision: int = 4, parameters: frozenset | None = None) -> list[StepText]:
    """A ``StepText`` for each of ``steps`` (all the steps of one backward pass, root first)."""
    total = len(steps)
    index = {id(step.node): step.index for step in steps}
    arrivals: dict[int, int] = {}  # id -> how many consumers sent this node gradient
    for step in steps:
        for sent in step.sent:
            arrivals[id(sent.parent)] = arrivals.get(id(sent.parent), 0) + 1

    def name(node) -> str:
        return node_name(node, index[id(node)])

    out = []
    for step in steps:
        node = step.node
        is_tensor = isinstance(node, Tensor)
        g = step.grad(node)
        head = f"step {step.index} of {total}"
        kind = node_kind(node, parameters)
        who = name(node)
        if step.state(node) == "none":
            caption = f"{head}: {who} is a constant: it gets no gradient"
            body = f"<p><b>{html_text(who)}</b> is a constant input: it gets no gradient.</p>"
            out.append(StepText(caption, _page(step.index, total, body)))
            continue
        shown = summary(g, is_tensor, precision)
        if node.op is None:
            n = arrivals.get(id(node), 0)
            what = "a parameter" if kind == "parameter" else "an input"
            caption = f"{head}: {who} ({what}) has its complete grad {shown}"
            body = (
                f"<p><b>{html_text(who)}</b> is {what} (a leaf). Its gradient is complete: "
                f"<b>{html.escape(shown)}</b>, {_sum_of(n)}.</p>"
            )
            out.append(StepText(caption, _page(step.index, total, body)))
            continue
        op_name = _op_text(node)
        if step.index == 1:
            caption = f"{head}: backward starts at {who} with grad {shown}, sent through {op_name} to its inputs"
            first = (
                f"<p>Backward starts at the root <b>{html_text(who)}</b> with gradient "
                f"<b>{html.escape(shown)}</b> (d {html_text(who)} / d {html_text(who)}).</p>"
            )
        else:
            caption = f"{head}: {who} has its complete grad {shown} and sends it back through {op_name}"
            first = (
                f"<p><b>{html_text(who)}</b> has its complete gradient <b>{html.escape(shown)}</b>, "
                f"{_sum_of(arrivals.get(id(node), 0))}.</p>"
            )
        out.append(StepText(caption, _page(step.index, total, first + _sent_table(step, name, precision))))
    return out


def _page(index, total, body) -> str:
    return f'<p class="bp-title">Step {index} of {total}</p>{body}'


def _sum_of(n: int) -> str:
    if n == 1:
        return "what its one consumer sent it"
    return f"the sum of what its {n} consumers sent it"


def _op_text(node) -> str:
    op = node.op
    label = getattr(op, "label", None)
    return label(node) if callable(label) else str(getattr(op, "name", op))


def _sent_table(step: BackpropStep, name, precision) -> str:
    node = step.node
    is_tensor = isinstance(node, Tensor)
    op = html_text(_op_text(node))
    if not step.sent:
        return f"<p>Through <code>{op}</code> it sends nothing on: no input needs a gradient.</p>"
    g = summary(step.grad(node), is_tensor, precision)
    me = html_text(name(node))
    rows = []
    if is_tensor:
        intro = (
            f"<p>Through <code>{op}</code> it sends each input the vector-Jacobian product of its gradient, "
            "summed back to the input's shape:</p>"
        )
        head = "<tr><th>to</th><th>sent</th><th>its grad so far</th></tr>"
        for s in step.sent:
            rows.append(
                f"<tr><td>{html_text(name(s.parent))}</td><td>{html.escape(summary(s.amount, True, precision))}</td>"
                f"<td>{html.escape(summary(s.total, True, precision))}</td></tr>"
            )
    else:
        intro = (
            f"<p>Through <code>{op}</code> it sends each input its gradient times the local derivative "
            f"(d {me} / d input):</p>"
        )
        head = "<tr><th>to</th><th>grad × local</th><th>= sent</th><th>its grad so far</th></tr>"
        for s in step.sent:
            local = "?" if s.local is None else format_number(s.local, precision)
            twice = f" ({len(s.positions)} edges)" if len(s.positions) > 1 else ""
            rows.append(
                f"<tr><td>{html_text(name(s.parent))}{twice}</td><td>{g} × {local}</td>"
                f"<td>{format_number(s.amount, precision)}</td><td>{format_number(s.total, precision)}</td></tr>"
            )
    return f'{intro}<table class="bp-sent"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
