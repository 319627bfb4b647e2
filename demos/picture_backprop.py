"""Picture backprop through the article's network, at scalar and at tensor level.

Three pictures, each with every node's value and gradient after ``backward``:

- ``graph_scalar.svg``: ONE training sample through the network built from scalar ``Value``s.
  Every weight is its own node (``w1[0,1]`` is the weight from input 0 to hidden unit 1), and the
  binary cross-entropy of that sample, ``-(y log p + (1 - y) log(1 - p))``, is spelled out in
  ``Value`` operations, so each weighted sum, sigmoid, log, multiply and add of the chain rule has
  its own box; every edge carries its local derivative.
- ``graph_tensor.svg``: the whole batch of four samples through the ``Tensor`` network: the same
  computation in a handful of matrix nodes (``x @ w1 + b1``, ...), with the mean loss at the end.
- ``backprop_frames/``: the scalar graph's backward pass step by step, one frame per node in
  the order the chain rule visits them, starting from the loss (``frame_000.svg`` ...), all on
  one layout, and ``backprop.html``, a player of the same steps (buttons, arrow keys, a slider,
  each step explained beside the picture). The graph has 37 nodes, few enough to step through
  whole rather than a piece of it.

In the scalar pictures the sample's inputs (``x[0]``, ``x[1]``) are drawn as inputs, apart from
the network's parameters (``parameters=net``).

    python -m demos.picture_backprop --out out [--sample 1] [--seed 0]

Without Graphviz's ``dot`` program the pictures are written as ``.dot`` text instead of SVG.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from demos._output import (
    INSTALL_EXTRAS,
    INSTALL_GRAPHVIZ,
    OutputFile,
    add_seed_option,
    demo_parser,
    output_dir,
    print_written,
    render_quietly,
)

DEFAULT_SEED = 0
DEFAULT_SAMPLE = 1  # x = [0, 1], target 0.85: both terms of the cross-entropy are non-zero


@dataclass
class PictureOutput:
    """What ``run`` produced."""

    files: list[OutputFile] = field(default_factory=list)
    frames: list[Path] = field(default_factory=list)
    step_page: Path | None = None
    player: object = None  # the StepThrough of the frames, for a page to embed
    missing_dot: bool = False
    scalar_nodes: int = 0
    notes: list[str] = field(default_factory=list)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = demo_parser(
        prog,
        "python -m demos.picture_backprop",
        "Draw the article network's computation graph after backward: one sample at scalar level, "
        "the batch at tensor level, and the scalar backward pass frame by frame.",
    )
    add_seed_option(parser, DEFAULT_SEED)
    parser.add_argument(
        "--sample",
        type=int,
        choices=range(4),
        default=DEFAULT_SAMPLE,
        metavar="{0,1,2,3}",
        help=f"which of the four training samples the scalar graph shows (default: {DEFAULT_SAMPLE})",
    )
    parser.add_argument("--no-frames", action="store_true", help="skip the step-by-step frames of the backward pass")
    return parser


# ---------------------------------------------------------------------- building the graphs


def label_inputs(root) -> None:
    """Name the unlabelled leaves (the sample's inputs, which ``forward`` wraps as Values) ``x[0]``, ``x[1]``, ..."""
    from autograd import topological_order

    inputs = [node for node in topological_order(root) if node.op is None and not node.label]
    for i, node in enumerate(inputs):
        node.label = f"x[{i}]"


def label_units(p) -> None:
    """Name the units behind the output ``p``: ``z2 = b2 + sum_j w2[j,0] h[j]``, ``h[j] = sigmoid(z1[j])``.

    Relies on ``weighted_sum``'s parents being ``(w_1..w_n, x_1..x_n, b)``.
    """
    z2 = p.parents[0]
    z2.label = "z2"
    n = (len(z2.parents) - 1) // 2
    for j, h in enumerate(z2.parents[n : 2 * n]):
        h.label = f"h[{j}]"
        h.parents[0].label = f"z1[{j}]"


def scalar_graph(seed: int = DEFAULT_SEED, sample: int = DEFAULT_SAMPLE):
    """The loss of one sample through the Value network, after ``backward``: ``(loss, net)``."""
    from nn.article_data import Y_ARTICLE, X
    from nn.two_layer import ScalarTwoLayerNet

    net = ScalarTwoLayerNet(2, 4, 1, seed=seed)
    x = np.asarray(X, dtype=float)[sample : sample + 1]
    y = float(np.asarray(Y_ARTICLE, dtype=float).reshape(-1)[sample])
    (row,) = net(x)
    p = row[0]
    p.label = "p"
    # -(y log p + (1 - y) log(1 - p)), one Value op per step
    loss = -(y * p.log() + (1.0 - y) * (1.0 - p).log())
    loss.label = f"loss (sample {sample})"
    label_inputs(loss)
    label_units(p)
    loss.backward()
    return loss, net


def tensor_graph(seed: int = DEFAULT_SEED, state_dict=None, reduction: str = "mean"):
    """The mean BCE of the whole batch through the Tensor network, after ``backward``: ``(loss, net)``."""
    from autograd import Tensor
    from nn.article_data import Y_ARTICLE, X
    from nn.losses import binary_cross_entropy
    from nn.two_layer import TwoLayerNet

    net = TwoLayerNet(2, 4, 1, seed=seed)
    if state_dict is not None:
        net.load_state_dict(state_dict)
    x = Tensor(np.asarray(X, dtype=float), label="x")
    y = Tensor(np.asarray(Y_ARTICLE, dtype=float), label="y")
    p = net(x)
    p.label = "p"
    p.parents[0].label = "z2"  # h @ w2 + b2
    h = p.parents[0].parents[0]
    h.label = "h"
    h.parents[0].label = "z1"  # x @ w1 + b1
    loss = binary_cross_entropy(p, y, reduction=reduction)
    loss.label = f"loss ({reduction})"
    loss.backward()
    return loss, net


def count_nodes(root) -> int:
    from autograd import topological_order

    return len(topological_order(root))


# ---------------------------------------------------------------------- the demo


def run(
    *,
    out,
    seed: int = DEFAULT_SEED,
    sample: int = DEFAULT_SAMPLE,
    frames: bool = True,
    stream=None,
    say_missing_dot: bool = True,
):
    """Draw the pictures into ``out``; return a ``PictureOutput``."""
    stream = stream or sys.stdout
    try:
        from autograd import viz
    except ImportError as exc:
        raise SystemExit(f"the graph pictures need the graphviz Python package; {INSTALL_EXTRAS}") from exc

    folder = output_dir(out)
    output = PictureOutput()

    loss, scalar_net = scalar_graph(seed, sample)
    output.scalar_nodes = count_nodes(loss)
    path, missing = render_quietly(viz.render, loss, folder / "graph_scalar.svg", rankdir="LR", parameters=scalar_net)
    output.missing_dot |= missing
    output.files.append(
        OutputFile(path, f"scalar graph of sample {sample}: {output.scalar_nodes} Value nodes, value and gradient each")
    )

    tensor_loss, _ = tensor_graph(seed)
    path, missing = render_quietly(viz.render, tensor_loss, folder / "graph_tensor.svg", rankdir="LR")
    output.missing_dot |= missing
    output.files.append(
        OutputFile(path, f"tensor graph of the batch of 4: {count_nodes(tensor_loss)} Tensor nodes, mean BCE")
    )

    if frames:
        frame_dir = folder / "backprop_frames"
        output.player, output.frames = _frames(viz, loss, frame_dir, scalar_net)
        output.step_page = output.player.save(frame_dir / "backprop.html") if output.player is not None else None
        if output.step_page is not None:
            output.files.append(
                OutputFile(output.step_page, "the backward pass step by step: a player (buttons, arrow keys, slider)")
            )
        output.missing_dot |= any(p.suffix == ".dot" for p in output.frames)
        output.files.extend(
            OutputFile(p, f"backward pass, step {i} of {len(output.frames)}") for i, p in enumerate(output.frames, 1)
        )
        output.notes.append(
            f"The backward pass through the whole scalar graph, one frame per node ({len(output.frames)} frames, "
            "leaves included), in the order backward visits them: at this size the full graph stays readable, "
            "so you can watch each weight's gradient arrive."
        )

    print(
        f"Drew the article network's graph after backward: sample {sample} at scalar level "
        f"({output.scalar_nodes} nodes) and the batch at tensor level; seed {seed}.",
        file=stream,
    )
    if output.missing_dot and say_missing_dot:
        print("\n" + INSTALL_GRAPHVIZ, file=stream)
    return output


def _frames(viz, root, frame_dir: Path, net) -> tuple[object, list[Path]]:
    """The frames as files, and the player of the same steps (``None`` without dot)."""
    import warnings

    from autograd.viz import GraphvizNotFound

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphvizNotFound)  # said once, by run()
        frames = [Path(p) for p in viz.backprop_frames(root, frame_dir, format="svg", parameters=net)]
    if any(p.suffix != ".svg" for p in frames):  # without dot: .dot sources, nothing to put on a page
        return None, frames
    return viz.step_through(root, parameters=net), frames


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    output = run(out=args.out, seed=args.seed, sample=args.sample, frames=not args.no_frames)
    for note in output.notes:
        print(note)
    print()
    print_written(collapse_frames(output))
    return 0


def collapse_frames(output: PictureOutput) -> list[OutputFile]:
    """The files written, with the frames as one line (there are dozens)."""
    frames = {p.resolve() for p in output.frames}
    files = [f for f in output.files if f.path.resolve() not in frames]
    if output.frames:
        first, last = output.frames[0], output.frames[-1]
        description = f"{len(output.frames)} frames of the backward pass ({first.name} ... {last.name})"
        files.append(OutputFile(first.parent, description))
    return files


if __name__ == "__main__":
    sys.exit(main())
