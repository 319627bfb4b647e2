"""Pictures from DOT, with Graphviz's ``dot``; and what happens where ``dot`` is missing.

``draw_graph`` returns a ``graphviz.Digraph`` that shows itself inline in Jupyter (an SVG);
where ``dot`` is not installed it shows how to install it and the DOT text instead of an error.
``render`` writes a picture file; without ``dot`` it writes the DOT source beside it and warns
``GraphvizNotFound`` (a ``UserWarning``) with the install hint.

Rendering goes through the graphviz package's own ``pipe``; ``dot`` comes from
``apt-get install graphviz`` (Debian/Ubuntu), ``brew install graphviz`` (macOS) or
https://graphviz.org/download/.
"""

from __future__ import annotations

import functools
import html
import os
import shutil
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..typing import Node
from .draw import INSTALL_DOT, DrawOptions, build_graph, require_graphviz

if TYPE_CHECKING:
    from graphviz import Digraph


class GraphvizNotFound(UserWarning):
    """Graphviz's ``dot`` is not on PATH: the DOT source was written instead of the picture."""


def dot_available() -> bool:
    """True when Graphviz's ``dot`` program is on PATH."""
    return shutil.which("dot") is not None


def draw_graph(
    root: Node,
    *,
    rankdir: str = "LR",
    edge_derivatives: bool = True,
    backprop_order: bool = True,
    expected: dict[str, Any] | None = None,
    check: Any = None,
    parameters: Iterable[Node] | Any = None,
    highlight: Node | str | list | None = None,
    max_nodes: int | None = 400,
    precision: int = 4,
    legend: bool = True,
    paths: Any = None,
) -> Digraph:
    """The graph behind ``root`` (a ``Value`` or ``Tensor``) as a ``graphviz.Digraph``.

    - ``rankdir``: ``"LR"`` (inputs left, root right), ``"TB"``, ``"RL"`` or ``"BT"``.
    - ``edge_derivatives``: label edges with local derivatives (scalars) or input shapes (tensors).
    - ``backprop_order``: number each node ``#k`` in the order ``backward`` visits it (``#1`` = root).
    - ``expected``: ``{label: gradient}``, e.g. gradients derived by hand. A node whose grad disagrees
      (``np.allclose(grad, expected, rtol=1e-6, atol=1e-9)`` is false) is drawn red and shows both;
      one that agrees gets a green tick. A label that matches no node is an error.
    - ``check``: a manual-versus-automatic report, any object with ``status(node)`` returning
      ``None`` (not checked), ``"right"``, ``"first_wrong"`` or ``"inherited"`` (wrong because an
      earlier node in backward order is): the first wrong node red with a thick outline, the
      inherited ones orange and dashed, the right ones with a green tick.
    - ``parameters``: the parameters (a list of nodes, or a module with ``.parameters()``); other
      leaves are drawn as inputs. Needed for ``Value`` graphs, whose leaves all get a gradient.
    - ``highlight``: a node, a label, or a list of them, drawn with a thick violet outline.
    - ``paths``: an ``explain_gradient`` result: the nodes and edges of its paths drawn in violet (the
      chain rule's sum over paths, on the picture).
    - ``max_nodes``: larger graphs raise ``ValueError`` (``None``: no limit).
    - ``precision``: significant digits of every printed number.
    - ``legend``: add a small key to the kinds of node.

    In Jupyter the result shows itself as an SVG; where ``dot`` is missing, as the install hint
    and the DOT text.
    """
    options = DrawOptions(
        rankdir,
        edge_derivatives,
        backprop_order,
        expected,
        check,
        parameters,
        highlight,
        max_nodes,
        precision,
        legend,
        paths,
    )
    return build_graph(root, options, graph_type=picture_type())


@functools.cache
def picture_type():
    """A ``graphviz.Digraph`` subclass whose notebook display falls back to the install hint.

    Made on first use, because the graphviz package is optional (``import autograd.viz`` works without it).
    """
    graphviz = require_graphviz()

    class Picture(graphviz.Digraph):
        """A ``graphviz.Digraph`` that shows the install hint and its DOT text where ``dot`` is missing."""

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            problem = None
            if dot_available():
                try:
                    return super()._repr_mimebundle_(include, exclude, **kwargs)
                except graphviz.ExecutableNotFound:
                    pass
                except graphviz.CalledProcessError as exc:
                    problem = _stderr(exc)
            return {"text/html": not_drawn_html(self.source, problem), "text/plain": self.source}

        def _repr_html_(self):
            # None while dot works: the SVG from _repr_mimebundle_ is what shows.
            return None if dot_available() else not_drawn_html(self.source)

        def _repr_svg_(self):
            svg = pipe(self, "svg")
            return None if svg is None else svg.decode("utf-8")

    Picture.__module__ = __name__
    Picture.__qualname__ = "Picture"
    return Picture


def not_drawn_html(source: str, problem: str | None = None) -> str:
    """What a notebook shows instead of a picture: the reason, how to fix it, and the DOT text."""
    if problem is None:
        reason = "Graphviz's <code>dot</code> program was not found, so this graph is not drawn; "
        reason += html.escape(INSTALL_DOT) + "."
    else:
        reason = f"Graphviz's <code>dot</code> could not draw this graph: {html.escape(problem)}"
    return (
        '<div style="border:1px solid #e0c060;background:#fff8e1;padding:0.6em;max-width:60em">'
        f"<p style='margin:0 0 0.4em'>{reason}</p>"
        "<details><summary>the DOT source</summary>"
        '<pre style="white-space:pre-wrap;overflow-wrap:anywhere;max-height:20em;overflow-y:auto">'
        f"{html.escape(source)}</pre></details></div>"
    )


def pipe(graph: Digraph, format: str) -> bytes | None:
    """``dot``'s drawing of ``graph`` in ``format``, or ``None`` where ``dot`` is not installed."""
    graphviz = require_graphviz()
    if not dot_available():
        return None
    try:
        return graph.pipe(format=format, quiet=True)
    except graphviz.ExecutableNotFound:
        return None
    except graphviz.CalledProcessError as exc:
        raise RuntimeError(f"dot failed to draw the graph ({format}): {_stderr(exc)}") from None


def _stderr(exc) -> str:
    err = exc.stderr
    return (err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err or "")).strip()


def save_picture(graph: Digraph, path: Path, format: str) -> tuple[Path, bool]:
    """Draw ``graph`` into ``path``; where ``dot`` is missing write its DOT source to ``path.with_suffix('.dot')``.

    Returns ``(the path written, whether dot was missing)``; the caller says so (``warn_missing_dot``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = pipe(graph, format)
    if data is None:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(graph.source, encoding="utf-8")
        return dot_path, True
    path.write_bytes(data)
    return path, False


def warn_missing_dot(not_drawn: str, sources: str, command: str, stacklevel: int = 3) -> None:
    """Warn ``GraphvizNotFound``: what was not drawn, where its DOT source is, and how to draw it."""
    warnings.warn(
        GraphvizNotFound(
            f"Graphviz's dot program is not on PATH, so {not_drawn} was not drawn; the DOT source is in {sources}. "
            f"To draw it, {INSTALL_DOT}; then: {command}"
        ),
        stacklevel=stacklevel,
    )


def render(
    graph_or_root: Node | Digraph, path: str | os.PathLike[str], format: str | None = None, **draw_kwargs: Any
) -> Path:
    """Draw ``graph_or_root`` (a ``Value``, a ``Tensor`` or a ``graphviz.Digraph``) to ``path`` with ``dot``.

    ``format`` (``"svg"``, ``"png"``, ``"pdf"``, ...) defaults to the suffix of ``path``, else
    ``"svg"`` (and the suffix is added). Returns the path written. Where ``dot`` is not installed
    it writes the DOT source to ``path.with_suffix(".dot")``, warns ``GraphvizNotFound`` (with how
    to install Graphviz) and returns that path instead.
    """
    graphviz = require_graphviz()
    if isinstance(graph_or_root, graphviz.graphs.BaseGraph):
        if draw_kwargs:
            raise TypeError(f"render: drawing options {sorted(draw_kwargs)} apply to a Value or Tensor, not a Digraph")
        graph = graph_or_root
    else:
        graph = build_graph(graph_or_root, DrawOptions(**draw_kwargs))
    path = Path(path)
    suffix = path.suffix[1:].lower()
    if format is None:
        format = suffix or "svg"
    if not suffix:
        path = path.with_name(f"{path.name}.{format}")
    elif suffix != format.lower():
        raise ValueError(f"render: path {str(path)!r} ends in .{suffix} but format={format!r}; make them agree")
    try:
        written, missing = save_picture(graph, path, format)
    except RuntimeError as exc:
        raise RuntimeError(f"render: {path}: {exc}") from None
    if missing:
        warn_missing_dot(str(path), str(written), f"dot -T{format} {written} -o {path}")
    return written
