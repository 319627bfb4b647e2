"""Pictures of a computation graph with Graphviz: op, data and grad of every node, and the chain rule.

>>> from autograd.viz import draw_graph, render, step_through, backprop_frames
>>> L.backward()
>>> draw_graph(L)                        # a graphviz.Digraph; shows itself inline in Jupyter
>>> render(L, "graph.png")               # runs Graphviz's ``dot``
>>> step_through(L)                      # in Jupyter: backward, step by step, on one layout
>>> step_through(L).save("steps.html")   # the same player as a page of its own
>>> backprop_frames(L, "frames")         # frame_000.svg, frame_001.svg, ...: one file per step

The modules, each building on the ones before it:

- ``nodes``: which nodes a picture shows and their kinds (parameter, input, intermediate);
- ``steps``: backward recorded step by step from the real walk (no graphviz);
- ``text``, ``explain``: numbers, labels, and the words for each step;
- ``draw``: the DOT of a graph (``DrawOptions``, ``build_graph``, ``dot_source``);
- ``render``: pictures from DOT with ``dot`` (``draw_graph``, ``render``, the missing-``dot`` fallback);
- ``frames``: one layout restyled per step (``BackwardFrames``);
- ``zoom``, ``player``: the pan-and-zoom box and the step-through player (``step_through``);
- ``export``: frames written to files (``backprop_frames``).

The ``graphviz`` Python package (``pip install 'backprop-lab[viz]'``) is imported only when a
picture is drawn, so ``import autograd.viz`` works without it; rendering also needs Graphviz's
``dot`` program (``apt-get install graphviz``, ``brew install graphviz``).
"""

from .draw import CURRENT, INHERITED_FILL, RIGHT, STYLES, WRONG_FILL, DrawOptions, dot_source
from .export import backprop_frames
from .frames import BackwardFrames
from .nodes import node_kind
from .player import StepThrough, step_through
from .render import GraphvizNotFound, draw_graph, render
from .steps import BackpropStep, Sent, backprop_steps

__all__ = [
    "CURRENT",
    "INHERITED_FILL",
    "RIGHT",
    "STYLES",
    "WRONG_FILL",
    "BackpropStep",
    "BackwardFrames",
    "DrawOptions",
    "GraphvizNotFound",
    "Sent",
    "StepThrough",
    "backprop_frames",
    "backprop_steps",
    "dot_source",
    "draw_graph",
    "node_kind",
    "render",
    "step_through",
]
