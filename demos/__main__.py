"""Run every demo into one folder and write an ``index.html`` that shows them together.

    python -m demos --out out        (or, once installed: backprop-lab --out out)

1. trains the seed's network (the training log, the final predictions, ``loss_curve.png``);
2. draws its computation graph after backward (``graph_scalar.svg``, ``graph_tensor.svg`` and
   the frames of the backward pass);
3. compares the seed's hand-derived gradients with automatic ones (``comparison_*.txt`` and
   ``graph_broken.svg``);
4. plants mistakes in hand derivations and finds each (``mistakes_article.txt``,
   ``mistake_batchnorm.txt``, ``graph_mistake.svg``);

then writes ``index.html``: open it in a browser. The demos also run one at a time:
``python -m demos.train_seed``, ``python -m demos.picture_backprop``,
``python -m demos.compare_gradients``, ``python -m demos.find_the_mistake`` (``--help`` on each).
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

import autograd
from autograd.viz import zoom
from demos import compare_gradients, find_the_mistake, picture_backprop, train_seed
from demos._output import INSTALL_GRAPHVIZ, OutputFile, output_dir, output_dir_option, print_written, prog_name

DEFAULT_EPOCHS = 5000


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or prog_name("python -m demos"),
        description="Run all the demos (train, picture, compare) into one folder, with an index.html to open.",
    )
    parser.add_argument(
        "--out", type=output_dir_option, default="out", help="folder for everything (created; default: out)"
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar while training")
    parser.add_argument("--no-frames", action="store_true", help="skip the frames of the backward pass")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    folder = output_dir(args.out)
    start = time.perf_counter()

    print("== 1. Training the seed's network ==\n")
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

    missing_dot = pictures.missing_dot or compared.missing_dot or mistakes.missing_dot
    index = write_index(folder, args, trained, pictures, compared, missing_dot, mistakes)

    files = trained.files + picture_backprop.collapse_frames(pictures) + compared.files + mistakes.files
    print()
    print_written(files + [OutputFile(index, "this page: everything above, for a browser")])
    if missing_dot:
        print("\nNote: " + INSTALL_GRAPHVIZ, file=sys.stdout)
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
"""


def write_index(folder: Path, args, trained, pictures, compared, missing_dot: bool, mistakes=None) -> Path:
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
        "<title>backprop-lab: the seed network, trained, pictured and checked</title>",
        f"<style>{STYLE}{zoom.ZOOM_CSS}</style></head><body>",
        "<h1>backprop-lab: the seed network, trained, pictured and checked</h1>",
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

    # every file, once more
    parts += ['<h2 id="files">All files</h2>', '<table class="files">']
    frames = {p.resolve() for p in pictures.frames}
    for f in trained.files + pictures.files + compared.files + mistake_files:
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


def _rel(folder: Path, path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()


def _href(folder: Path, path) -> str:
    return html.escape(quote(_rel(folder, path)))


if __name__ == "__main__":
    sys.exit(main())
