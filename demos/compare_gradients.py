"""Compare the article's hand-derived gradients with the engine's automatic ones.

The seed derives its gradients by hand (``d_w2 = hidden.T @ d_output``, ...) and prints the *mean*
loss over its four samples, but its ``d_loss`` is the derivative of the *sum* of the per-sample
losses. So:

1. against the automatic gradient of the summed loss (``reduction="sum"``) the manual gradients
   agree to rounding;
2. against the automatic gradient of the mean loss the article prints (``reduction="mean"``) they are
   4 times too large: the batch size N = 4, named in the table;
3. a deliberately broken manual gradient is caught: the report names the wrong parameter, and the
   picture of the graph (``graph_broken.svg``) highlights its node.

    python -m demos.compare_gradients --out out [--seed 0]

Writes the three tables as text (``comparison_*.txt``), all of them as ``comparison.json``
(standard JSON: a non-finite number is written as the string ``"NaN"``, ``"Infinity"`` or
``"-Infinity"``), and the picture. Options are checked before anything is written.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from dataclasses import dataclass, field

import numpy as np

from demos._output import (
    INSTALL_GRAPHVIZ,
    OutputFile,
    add_seed_option,
    demo_parser,
    output_dir,
    print_written,
    render_quietly,
    write_json,
)

DEFAULT_SEED = 0

TITLES = {
    "sum": "reduction 'sum': the loss the article differentiates by hand",
    "mean": "reduction 'mean': the loss the article prints",
    "broken": "a broken manual gradient",
}

EXPLAIN = {
    "sum": (
        "Manual (the article's hand-derived numpy gradients) against automatic, reduction 'sum': the engine "
        "differentiates the SUM of the four per-sample losses, which is what the article's d_loss is the "
        "derivative of. They should agree."
    ),
    "mean": (
        "Manual against automatic, reduction 'mean': the engine differentiates the MEAN loss, the number "
        "the article prints. The manual gradients are N = 4 times larger (the batch size): the article's "
        "sum-versus-mean quirk."
    ),
    "broken": (
        "A deliberately broken manual gradient against automatic, reduction 'sum': the comparison "
        "points at the parameter whose hand-derived gradient is wrong."
    ),
}


@dataclass
class CompareOutput:
    """What ``run`` produced: the three reports, their text, and the files written."""

    reports: dict = field(default_factory=dict)  # "sum" / "mean" / "broken" -> GradientReport
    texts: dict = field(default_factory=dict)  # same keys -> the table as printed
    broken_names: list[str] = field(default_factory=list)
    files: list[OutputFile] = field(default_factory=list)
    missing_dot: bool = False


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = demo_parser(
        prog,
        "python -m demos.compare_gradients",
        "Compare the article's hand-derived gradients with automatic ones (sum and mean reductions), "
        "and show how a wrong manual gradient is caught.",
    )
    add_seed_option(parser, DEFAULT_SEED)
    return parser


def networks(seed: int = DEFAULT_SEED):
    """The article's numpy network and the engine's Tensor network with the same weights."""
    from nn.reference import NumpyTwoLayerNet
    from nn.two_layer import TwoLayerNet

    reference = NumpyTwoLayerNet(2, 4, 1, seed=seed, reduction="sum")
    network = TwoLayerNet(2, 4, 1, seed=seed)
    network.load_state_dict(reference.state_dict())
    return reference, network


def run(
    *, out, seed: int = DEFAULT_SEED, show=("sum", "mean", "broken"), stream=None, say_missing_dot=True
) -> CompareOutput:
    """Print the three comparisons, write them and the broken-gradient picture into ``out``."""
    from nn.article_data import Y_ARTICLE, X
    from nn.compare import broken_manual_gradients, compare_gradients

    stream = stream or sys.stdout
    folder = output_dir(out)
    output = CompareOutput()
    x = np.asarray(X, dtype=float)
    y = np.asarray(Y_ARTICLE, dtype=float)

    reference, network = networks(seed)
    output.reports["sum"] = compare_gradients(reference, network, x, y, reduction="sum")
    output.reports["mean"] = compare_gradients(reference, network, x, y, reduction="mean")

    broken = broken_manual_gradients(reference, x, y)
    correct = reference.gradients(x, y)
    output.broken_names = [
        name for name in broken if not np.allclose(np.asarray(broken[name]), np.asarray(correct[name]))
    ]
    output.reports["broken"] = compare_gradients(reference, network, x, y, reduction="sum", manual=broken)

    for key, report in output.reports.items():
        text = f"{EXPLAIN[key]}\n\n{report}"
        if key == "broken":
            bug = " ".join((inspect.getdoc(broken_manual_gradients) or "").replace("``", "").split())
            text = f"{EXPLAIN[key]}\nThe bug: {bug}\n\n{report}"
            if output.broken_names:
                text += f"\n\nWrong by hand: {', '.join(output.broken_names)}; in graph_broken.svg their nodes are red."
        output.texts[key] = text
        path = folder / f"comparison_{key}.txt"
        if key in show:
            print(f"\n-- {TITLES[key]} --\n{text}", file=stream)
        elif key == "broken":
            names = ", ".join(output.broken_names)
            print(
                f"\n-- {TITLES[key]} --\nWith the hidden sigmoid's derivative left out by hand, the comparison "
                f"flags {names} (table in {path.name}, picture in graph_broken.svg).",
                file=stream,
            )
        path.write_text(text + "\n")
        output.files.append(OutputFile(path, f"comparison table, {key} (text)"))

    json_path = folder / "comparison.json"
    write_json(json_path, {k: _report_data(r) for k, r in output.reports.items()})
    output.files.append(OutputFile(json_path, "all three comparisons (JSON)"))

    picture, output.missing_dot = broken_picture(folder / "graph_broken.svg", seed, reference, broken)
    output.files.append(
        OutputFile(picture, "tensor graph, nodes whose gradient disagrees with the broken manual one highlighted")
    )
    if output.missing_dot and say_missing_dot:
        print("\n" + INSTALL_GRAPHVIZ, file=stream)
    return output


def broken_picture(path, seed, reference, broken: dict):
    """Render the batch's tensor graph (summed loss) with ``expected=`` the broken manual gradients."""
    from autograd import viz
    from demos.picture_backprop import tensor_graph

    loss, _ = tensor_graph(seed, state_dict=reference.state_dict(), reduction="sum")
    expected = {name: np.asarray(g, dtype=float) for name, g in broken.items()}
    return render_quietly(viz.render, loss, path, rankdir="LR", expected=expected)


def broken_dot_source(seed: int = DEFAULT_SEED) -> str:
    """The DOT text of the broken-gradient picture (for tests and for reading)."""
    from autograd import viz
    from demos.picture_backprop import tensor_graph
    from nn.article_data import Y_ARTICLE, X
    from nn.compare import broken_manual_gradients

    reference, _ = networks(seed)
    broken = broken_manual_gradients(reference, np.asarray(X, dtype=float), np.asarray(Y_ARTICLE, dtype=float))
    loss, _ = tensor_graph(seed, state_dict=reference.state_dict(), reduction="sum")
    return viz.dot_source(loss, rankdir="LR", expected={k: np.asarray(v, dtype=float) for k, v in broken.items()})


def _report_data(report):
    return report.to_dict() if hasattr(report, "to_dict") else {"text": str(report)}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    output = run(out=args.out, seed=args.seed)
    print()
    print_written(output.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
