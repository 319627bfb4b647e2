"""How the pictures print numbers, shapes and labels (plain text; no drawing here).

Numbers use Python's own formatting with a fixed number of significant digits, so one graph
gives the same text on every platform. Labels are made safe for Graphviz and XML: a control
character (``"a\\x01b"``) is shown as its Unicode control picture (``a␁b``) instead of breaking
``dot``.
"""

from __future__ import annotations

import html
import math

import numpy as np

SMALL_TENSOR = 6
"""Tensors with at most this many elements show their numbers; larger ones show min / mean / max."""


def format_number(x, precision: int = 4) -> str:
    """``x`` with ``precision`` significant digits; ``nan``, ``inf``, ``-inf``; ``0.0`` for both zeros."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0.0"
    text = f"{x:.{precision}g}"
    if not any(c in text for c in ".en"):
        text += ".0"
    return text


def format_shape(shape) -> str:
    """``(3, 4)``, ``(3,)``, ``()``."""
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def summary(x, is_tensor: bool, precision: int = 4) -> str:
    """A Value's number, or a Tensor's numbers when few, else its min / mean / max."""
    if not is_tensor:
        return format_number(x, precision)
    a = np.asarray(x)
    if a.size == 0:
        return "[]"
    if a.size <= SMALL_TENSOR:
        return _nested(a, precision)
    with np.errstate(all="ignore"):  # the mean of [inf, -inf] is nan, shown as such
        low, mean, high = a.min(), a.mean(), a.max()
    p = precision
    return f"min {format_number(low, p)}  mean {format_number(mean, p)}  max {format_number(high, p)}"


def _nested(a, precision) -> str:
    if a.ndim == 0:
        return format_number(a, precision)
    return "[" + ", ".join(_nested(row, precision) for row in a) + "]"


def visible(text) -> str:
    """``text`` with control characters shown as Unicode control pictures (``\\x01`` -> ``␁``).

    Line breaks stay. Lone surrogates, which cannot be encoded, become ``\\udxxx`` escapes.
    """
    text = str(text)
    if text.isprintable():
        return text
    out = []
    for c in text:
        code = ord(c)
        if c == "\n":
            out.append(c)
        elif code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif 0x80 <= code < 0xA0 or 0xD800 <= code < 0xE000:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(c)
    return "".join(out)


def html_text(text) -> str:
    """``text`` for an HTML page or a Graphviz HTML-like label: visible, escaped, line breaks as ``<BR/>``."""
    return html.escape(visible(text), quote=True).replace("\n", "<BR/>")


def node_name(node, index: int) -> str:
    """How text refers to a node: its label, or ``#k`` (its place in backward's order)."""
    return visible(node.label) if node.label else f"#{index}"
