"""Run every demo into one folder and write an ``index.html`` that shows them together.

    python -m demos --out out        (or, once installed: backprop-lab --out out)

1. trains the article's network (the training log, the final predictions, ``loss_curve.png``);
2. draws its computation graph after backward (``graph_scalar.svg``, ``graph_tensor.svg`` and
   the frames of the backward pass);
3. compares the article's hand-derived gradients with automatic ones (``comparison_*.txt`` and
   ``graph_broken.svg``);
4. plants mistakes in hand derivations and finds each (``mistakes_article.txt``,
   ``mistake_batchnorm.txt``, ``graph_mistake.svg``);
5. trains an MLP and a CNN on scikit-learn's handwritten digits (``digits/``);
6. trains the article's network on breast-cancer data and checks its hand-derived gradients on a
   real batch (``breast_cancer/``);
7. runs micrograd's two-moons demo on Value and on Tensor (``moons/``);

then writes ``index.html``: open it in a browser. Steps 5-7 need the data extra (scikit-learn, which
ships the data: nothing is downloaded); without it they are skipped with a note. The demos also run
one at a time: ``python -m demos.train_seed``, ``python -m demos.picture_backprop``,
``python -m demos.compare_gradients``, ``python -m demos.find_the_mistake``, ``python -m demos.digits``,
``python -m demos.breast_cancer``, ``python -m demos.moons`` (``--help`` on each).
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import autograd
from autograd.viz import zoom
from demos import breast_cancer, compare_gradients, digits, find_the_mistake, moons, picture_backprop, train_seed
from demos._output import (
    INSTALL_DATA,
    INSTALL_GRAPHVIZ,
    OutputFile,
    add_progress_option,
    demo_parser,
    output_dir,
    positive_int,
    print_written,
)

DEFAULT_EPOCHS = 5000


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = demo_parser(
        prog,
        "python -m demos",
        "Run all the demos (train, picture, compare) into one folder, with an index.html to open.",
        out_help="folder for everything",
    )
    parser.add_argument("--version", action="version", version=f"backprop-lab {autograd.__version__}")
    train_seed.add_training_options(parser, epochs=DEFAULT_EPOCHS)
    parser.add_argument(
        "--sample",
        type=int,
        choices=range(4),
        default=picture_backprop.DEFAULT_SAMPLE,
        metavar="{0,1,2,3}",
        help=f"the sample drawn at scalar level (default: {picture_backprop.DEFAULT_SAMPLE})",
    )
    add_progress_option(parser, "no progress bar while training")
    parser.add_argument("--no-frames", action="store_true", help="skip the frames of the backward pass")
    parser.add_argument(
        "--digits-epochs",
        type=positive_int,
        default=digits.DEFAULT_EPOCHS,
        metavar="N",
        help=f"epochs of the digits networks (default: {digits.DEFAULT_EPOCHS})",
    )
    parser.add_argument(
        "--cancer-epochs",
        type=positive_int,
        default=breast_cancer.DEFAULT_EPOCHS,
        metavar="N",
        help=f"epochs of the breast-cancer network (default: {breast_cancer.DEFAULT_EPOCHS})",
    )
    parser.add_argument(
        "--moons-steps",
        type=positive_int,
        default=moons.DEFAULT_STEPS,
        metavar="N",
        help=f"steps of the two-moons demo (default: {moons.DEFAULT_STEPS})",
    )
    parser.add_argument(
        "--no-data", action="store_true", help="skip the real-data demos (digits, breast cancer, moons)"
    )
    return parser


@dataclass
class DataDemos:
    """The real-data demos' outputs (None when skipped), and why they were skipped, if they were."""

    digits: object = None  # digits.DigitsOutput
    cancer: object = None  # breast_cancer.CancerOutput
    moons: object = None  # moons.MoonsOutput
    skipped: str = ""

    @property
    def files(self) -> list:
        return [f for demo in (self.digits, self.cancer, self.moons) if demo is not None for f in demo.files]


def run_data_demos(folder: Path, args) -> DataDemos:
    """Steps 5-7, each into a folder of its own below ``folder``; skipped without scikit-learn."""
    if args.no_data:
        return DataDemos(skipped="skipped (--no-data)")
    if importlib.util.find_spec("sklearn") is None:
        return DataDemos(skipped=f"skipped: they need scikit-learn; {INSTALL_DATA}")
    progress = not args.no_progress
    data = DataDemos()
    print("\n== 5. Handwritten digits: an MLP and a CNN ==\n")
    data.digits = digits.run(out=folder / "digits", epochs=args.digits_epochs, progress=progress)
    print("\n== 6. The article's network on breast-cancer data ==\n")
    data.cancer = breast_cancer.run(out=folder / "breast_cancer", epochs=args.cancer_epochs, progress=progress)
    print("\n== 7. micrograd's two moons, on Value and on Tensor ==\n")
    data.moons = moons.run(out=folder / "moons", steps=args.moons_steps, progress=progress)
    return data


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    folder = output_dir(args.out)
    start = time.perf_counter()

    print("== 1. Training the article's network ==\n")
    try:
        trained = train_seed.run(out=folder, **train_seed.training_options(args))
    except FloatingPointError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 1

    print("\n== 2. Pictures of backprop ==\n")
    pictures = picture_backprop.run(
        out=folder, seed=args.seed, sample=args.sample, frames=not args.no_frames, say_missing_dot=False
    )

    if pictures.missing_dot:
        print("Graphviz's dot was not found: the graphs were written as .dot text (how to install it: see the end).")

    print("\n== 3. Manual against automatic gradients ==")
    compared = compare_gradients.run(out=folder, seed=args.seed, show=("sum", "mean"), say_missing_dot=False)

    print("\n== 4. Find the mistake in a hand derivation ==\n")
    mistakes = find_the_mistake.run(out=folder, seed=args.seed, say_missing_dot=False)

    try:
        data = run_data_demos(folder, args)
    except FloatingPointError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 1

    missing_dot = pictures.missing_dot or compared.missing_dot or mistakes.missing_dot
    index = write_index(folder, args, trained, pictures, compared, missing_dot, mistakes, data)

    files = trained.files + picture_backprop.collapse_frames(pictures) + compared.files + mistakes.files + data.files
    print()
    print_written(files + [OutputFile(index, "this page: everything above, for a browser")])
    if missing_dot:
        print("\nNote: " + INSTALL_GRAPHVIZ, file=sys.stdout)
    if data.skipped:
        print(f"\nThe real-data demos (5-7) were {data.skipped}", file=sys.stdout)
    print(f"\nDone in {time.perf_counter() - start:.1f} s. Open in a browser:\n  {index.resolve().as_uri()}")
    return 0


# ---------------------------------------------------------------------- index.html

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 90rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
p, li { max-width: 52rem; }
pre { background: #f6f6f6; padding: 0.8rem; white-space: pre-wrap; overflow-wrap: anywhere;
  font-size: clamp(0.7rem, 1.45vw, 0.85rem); }
img { max-width: 100%; }
.warn { background: #fff3cd; border: 1px solid #e0c060; padding: 0.8rem; }
.frames { line-height: 1.9; } .frames a { margin-right: 0.4rem; }
table.files td { padding: 0 0.8rem 0.2rem 0; vertical-align: top; overflow-wrap: anywhere; }
.bp-player { margin: 0.8rem 0; }
table.results { border-collapse: collapse; margin: 0.8rem 0; }
table.results th, table.results td { border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }
"""


def write_index(folder: Path, args, trained, pictures, compared, missing_dot: bool, mistakes=None, data=None) -> Path:
    """Write ``index.html`` beside the files it shows, linking them by relative paths."""
    folder = Path(folder)

    def link(path, text=None):
        return f'<a href="{_href(folder, path)}">{html.escape(text or _rel(folder, path))}</a>'

    def picture(path, alt):
        path = Path(path)
        if path.suffix == ".dot":
            return (
                f'<p class="warn">No picture without Graphviz\'s <code>dot</code> (see the top of the page): '
                f"the graph is in {link(path)}, as DOT text.</p>"
            )
        url = quote(_rel(folder, path))
        plot = path.suffix == ".png"  # a plot reads as a whole: fit it to the width
        return zoom.zoom_box(zoom.image(url, alt), href=url, min_scale=0.0 if plot else 0.75)

    def pre(text):
        return f"<pre>{html.escape(text)}</pre>"

    lr = f"{trained.result.lr:g}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>backprop-lab: the article's network, trained, pictured and checked</title>",
        f"<style>{STYLE}{zoom.ZOOM_CSS}</style></head><body>",
        "<h1>backprop-lab: the article's network, trained, pictured and checked</h1>",
        "<p>A 2-4-1 sigmoid network trained with binary cross-entropy on four points, as in the article "
        "this project grew from; its backward pass drawn as a graph; and its hand-derived gradients checked "
        "against the engine's automatic ones. Made by <code>python -m demos</code>.</p>",
        "<p>Every picture can be dragged to pan; the buttons above it zoom, <b>fit</b> shows all of it, and a click "
        "(or <b>full window</b>) fills the window with it, where the mouse wheel zooms and Escape returns.</p>",
    ]
    if missing_dot:
        parts.append(f'<p class="warn">{html.escape(INSTALL_GRAPHVIZ)}</p>')

    # 1. training
    parts += [
        '<h2 id="training">1. Training</h2>',
        f"<p>Optimizer {html.escape(args.optimizer)}, learning rate {html.escape(lr)}, {args.epochs} epochs, "
        f"targets '{html.escape(args.targets)}', seed {args.seed}. The dashed line is the lowest loss "
        "possible for these targets: the mean entropy of the targets (they are not 0/1 labels).</p>",
    ]
    curve = next(f.path for f in trained.files if f.path.suffix == ".png")
    parts.append(picture(curve, "loss per epoch, with the loss floor dashed"))
    parts.append(pre("\n".join(trained.log) + "\n" + trained.table + "\n" + trained.summary))
    parts.append(
        "<p>The numbers: " + ", ".join(link(f.path) for f in trained.files if f.path.suffix != ".png") + ".</p>"
    )

    # 2. pictures
    scalar, tensor = pictures.files[0].path, pictures.files[1].path
    parts += [
        '<h2 id="graphs">2. The graph after backward</h2>',
        f"<h3>One sample, scalar level ({pictures.scalar_nodes} nodes)</h3>",
        "<p>Every weight is its own node (<code>w1[0,1]</code>: from input 0 to hidden unit 1); each box shows "
        "the node's value and its gradient, the derivative of this sample's loss with respect to it.</p>",
        picture(scalar, "scalar computation graph of one sample"),
        '<h3 id="tensor">The batch of four, tensor level</h3>',
        "<p>The same network on all four samples at once: a few matrix nodes, gradients of the mean loss.</p>",
        picture(tensor, "tensor computation graph of the batch"),
    ]
    if pictures.frames:
        player = pictures.player
        parts += [
            '<h3 id="steps">Step through the backward pass</h3>',
            "<p>" + html.escape(" ".join(pictures.notes)) + " The node being processed and the edges it sends "
            "gradient along are violet; the table beside the picture shows what each input receives: the "
            "node's gradient times the local derivative.</p>",
            player.html() if player is not None else "",
            (
                f"<p>The same player on a page of its own: {link(pictures.step_page)}. The frames as pictures, "
                "one file per step (all on one layout):</p>"
                if pictures.step_page is not None
                else "<p>The frames one by one:</p>"
            ),
            '<p class="frames">' + " ".join(link(p, str(i)) for i, p in enumerate(pictures.frames, 1)) + "</p>",
        ]

    # 3. comparison
    parts.append('<h2 id="comparison">3. Manual against automatic gradients</h2>')
    for key, text in compared.texts.items():
        parts.append(f"<h3>{html.escape(compare_gradients.TITLES.get(key, key))}</h3>")
        parts.append(pre(text))
        if key == "broken":
            broken_pic = next(f.path for f in compared.files if f.path.stem == "graph_broken")
            parts.append(
                "<p>The tensor graph with the broken manual gradients as the expected ones: the node "
                "that disagrees is highlighted.</p>"
            )
            parts.append(picture(broken_pic, "graph with the disagreeing node highlighted"))
    parts.append(
        "<p>The tables as files: "
        + ", ".join(link(f.path) for f in compared.files if f.path.suffix in (".txt", ".json"))
        + ".</p>"
    )

    # 4. finding mistakes
    mistake_files = mistakes.files if mistakes is not None else []
    if mistakes is not None:
        parts.append('<h2 id="mistakes">4. Find the mistake in a hand derivation</h2>')
        parts += [pre(mistakes.texts["article"]), pre(mistakes.texts["batchnorm"])]
        shown = next(f.path for f in mistakes.files if f.path.stem == "graph_mistake")
        parts.append(picture(shown, "the batch-norm network's graph with its first wrong node in red"))

    # 5-7. the real-data demos
    data_files = []
    if data is not None:
        parts += data_sections(data, link, picture, pre)
        data_files = data.files

    # every file, once more
    parts += ['<h2 id="files">All files</h2>', '<table class="files">']
    frames = {p.resolve() for p in pictures.frames}
    for f in trained.files + pictures.files + compared.files + mistake_files + data_files:
        if f.path.resolve() in frames:
            continue
        parts.append(f"<tr><td>{link(f.path)}</td><td>{html.escape(f.description)}</td></tr>")
        if f.path == pictures.files[1].path and pictures.frames:
            first, last = pictures.frames[0], pictures.frames[-1]
            parts.append(
                f"<tr><td>{link(first)} ... {link(last)}</td>"
                f"<td>{len(pictures.frames)} frames of the backward pass, linked one by one above</td></tr>"
            )
    parts += ["</table>", f"<script>{zoom.ZOOM_SCRIPT}</script>", "</body></html>", ""]

    path = folder / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def data_sections(data: DataDemos, link, picture, pre) -> list:
    """The sections of the real-data demos (5-7) for ``index.html``: pictures, numbers, logs, links."""
    esc = html.escape

    def find(files, name):
        return next(f.path for f in files if f.path.name == name)

    def links(files, suffixes=(".json", ".txt")):
        return "<p>The numbers: " + ", ".join(link(f.path) for f in files if f.path.suffix in suffixes) + ".</p>"

    if data.skipped:
        return [
            '<h2 id="data">5-7. Real data</h2>',
            f'<p class="warn">The real-data demos were {esc(data.skipped)}</p>',
        ]
    parts = []

    d = data.digits
    settings = d.metrics["settings"]
    rows = "".join(
        f"<tr><td>{digits.TITLES[name]}</td><td><code>{esc(digits.ARCHITECTURES[name])}</code></td>"
        f"<td>{r.parameters}</td><td>{r.test_accuracy:.4f}</td>"
        f"<td>{int((r.predictions != d.split.test_labels).sum())} of {len(d.split.test_labels)}</td>"
        f"<td>{r.seconds:.1f} s</td></tr>"
        for name, r in d.results.items()
    )
    parts += [
        '<h2 id="digits">5. Handwritten digits: an MLP and a CNN</h2>',
        f"<p>scikit-learn's 8x8 digits (shipped with the package: nothing downloaded), split by class into "
        f"{len(d.split.train_labels)} training and {len(d.split.test_labels)} test images. Both networks are "
        f"trained with cross-entropy and Adam (cosine-decayed learning rate), {settings['epochs']} epochs of "
        f"batches of {settings['batch_size']}, half the training images moved by a pixel each epoch; the training "
        "step is traced once and replayed by <code>autograd.compile</code>. Targets: 0.97 (MLP), 0.98 (CNN).</p>",
        '<table class="results"><tr><th>network</th><th>layers</th><th>parameters</th><th>test accuracy</th>'
        f"<th>wrong</th><th>training time</th></tr>{rows}</table>",
        picture(find(d.files, "training_curves.png"), "loss and test accuracy per epoch"),
        picture(find(d.files, "confusion_matrix.png"), "confusion matrices of the two networks"),
        picture(find(d.files, "misclassified.png"), "the test digits each network got wrong"),
        pre("\n".join(d.summaries)),
        links(d.files),
    ]

    c = data.cancer
    parts += [
        '<h2 id="breast-cancer">6. The article\'s network on breast-cancer data</h2>',
        f"<p>scikit-learn's Wisconsin breast-cancer data: {len(c.split.y_train)} training and "
        f"{len(c.split.y_test)} test tumours, 30 features standardised with the training set's statistics. The "
        f"article's sigmoid network (<code>nn.TwoLayerNet</code>) with binary cross-entropy reaches a test accuracy "
        f"of <b>{c.test_accuracy:.4f}</b> (target 0.95). Then the article's hand-derived gradients are checked "
        "against the engine's on a real batch, at the trained weights.</p>",
        picture(find(c.files, "training_curve.png"), "training loss and test accuracy of the breast-cancer network"),
        pre("\n".join(c.log)),
        pre(c.texts["sum"]),
        pre(c.texts["mean"]),
        links(c.files),
    ]

    m = data.moons
    value_pic, tensor_pic = find(m.files, "decision_boundary_value.png"), find(m.files, "decision_boundary_tensor.png")
    parts += [
        '<h2 id="moons">7. micrograd\'s two moons, on Value and on Tensor</h2>',
        "<p>micrograd's demo: an MLP 2-16-16-1 with hinge loss and L2 penalty, trained by gradient descent on 100 "
        "points; once on <code>Value</code> (a graph of scalars, as in micrograd) and once on <code>Tensor</code>, "
        f"from the same initial weights. The losses of the two agree to {m.max_loss_difference:.1e}.</p>",
        picture(value_pic, "decision boundary of the Value MLP"),
        picture(tensor_pic, "decision boundary of the Tensor MLP"),
        pre("\n".join(m.log[-3:])),
        links(m.files),
    ]
    return parts


def _rel(folder: Path, path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()


def _href(folder: Path, path) -> str:
    return html.escape(quote(_rel(folder, path)))


if __name__ == "__main__":
    sys.exit(main())
