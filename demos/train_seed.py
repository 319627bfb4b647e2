"""Train the article's network and watch its loss fall towards the lowest loss possible.

The article's network: 2 inputs, 4 sigmoid hidden units, 1 sigmoid output, binary cross-entropy,
trained on four points for 5000 epochs at learning rate 0.1. Its targets are not 0/1 labels
(0.85 is one of them), so the loss cannot reach 0: its floor is the mean entropy of the targets,
drawn as a dashed line in the loss curve.

    python -m demos.train_seed --out out
    python -m demos.train_seed --optimizer adam --targets second --out out

Writes ``loss_curve.png``, ``losses.csv`` (one row per epoch) and ``training.json`` (the run's
settings, losses and predictions; standard JSON, a non-finite number written as the string
``"NaN"``, ``"Infinity"`` or ``"-Infinity"``) into ``--out``. Options are checked before anything is
written: ``--epochs`` >= 1, ``--lr`` finite and >= 0, ``--seed`` >= 0, ``--out`` a folder that can be
written. If the weights blow up (a learning rate far too large) the program says so and exits with 1.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from demos._output import (
    INSTALL_EXTRAS,
    OutputFile,
    add_progress_option,
    add_seed_option,
    demo_parser,
    learning_rate,
    output_dir,
    positive_int,
    print_written,
    write_json,
)

DEFAULT_SEED = 0
DEFAULT_EPOCHS = 5000
LOG_EVERY = 1000
WITHIN_PERCENT = 5.0
ROUNDING = 1e-12  # loss - floor below this is floating-point noise


@dataclass
class TrainOutput:
    """What ``run`` produced: the training result, the text it printed, the files it wrote."""

    result: object  # nn.training.TrainingResult
    log: list[str] = field(default_factory=list)
    table: str = ""
    summary: str = ""
    files: list[OutputFile] = field(default_factory=list)
    seconds: float = 0.0


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = demo_parser(
        prog,
        "python -m demos.train_seed",
        "Train the article's 2-4-1 sigmoid network; write its loss curve, losses and predictions.",
    )
    add_training_options(parser)
    add_progress_option(parser)
    return parser


def add_training_options(parser, epochs: int = DEFAULT_EPOCHS) -> None:
    """The training options, shared with ``python -m demos``."""
    from nn.article_data import TARGETS
    from nn.training import DEFAULT_LR, OPTIMIZERS

    defaults = ", ".join(f"{lr:g} for {name}" for name, lr in DEFAULT_LR.items())
    parser.add_argument("--epochs", type=positive_int, default=epochs, help=f"epochs to train (default: {epochs})")
    parser.add_argument("--lr", type=learning_rate, default=None, help=f"learning rate, >= 0 (default: {defaults})")
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS, default="sgd", help="update rule (default: sgd, as in the article)"
    )
    parser.add_argument(
        "--targets",
        choices=tuple(TARGETS),
        default="article",
        help="target set: 'article' [0, 0.85, 1, 0] or 'second' [0.96, 0.63, 0.75, 0.45] (default: article)",
    )
    add_seed_option(parser, DEFAULT_SEED, "the initial weights")


def run(
    *,
    out,
    epochs: int = DEFAULT_EPOCHS,
    lr: float | None = None,
    optimizer: str = "sgd",
    targets: str = "article",
    seed: int = DEFAULT_SEED,
    progress: bool = True,
    log_every: int = LOG_EVERY,
    stream=None,
) -> TrainOutput:
    """Train, print the log and the predictions table, write the curve and the losses into ``out``."""
    from nn.article_data import X
    from nn.training import DEFAULT_LR, train_article_network

    stream = stream or sys.stdout
    folder = output_dir(out)  # checked, and made before training: a folder that cannot be written fails fast
    bar = _progress_bar(epochs, optimizer, enabled=progress)
    log: list[str] = []

    def on_epoch(epoch, loss):
        if epoch % log_every == 0 or epoch == epochs - 1:
            line = f"epoch {epoch:>{len(str(epochs))}}, loss {float(loss):.6f}"
            log.append(line)
            if bar is not None:
                bar.write(line, file=stream)
            else:
                print(line, file=stream)
        if bar is not None:
            bar.update(1)

    lr_text = f"{lr:g}" if lr is not None else f"{DEFAULT_LR.get(optimizer, 'default')} (the default for {optimizer})"
    print(
        f"Training the article's network (2-4-1, sigmoid, BCE) on targets '{targets}' with {optimizer}, "
        f"lr {lr_text}, {epochs} epochs, seed {seed}",
        file=stream,
    )
    start = time.perf_counter()
    try:
        result = train_article_network(
            optimizer=optimizer, epochs=epochs, lr=lr, targets=targets, seed=seed, on_epoch=on_epoch
        )
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start

    output = TrainOutput(result=result, log=log, seconds=seconds)
    output.table = predictions_table(X, result.targets, result.predictions)
    output.summary = summary(result, seconds)
    print(output.table, file=stream)
    print(output.summary, file=stream)

    settings = {"optimizer": optimizer, "lr": float(result.lr), "epochs": epochs, "targets": targets, "seed": seed}
    output.files = [
        OutputFile(write_loss_curve(result, folder / "loss_curve.png", settings), "loss curve (PNG)"),
        OutputFile(write_losses_csv(result.losses, folder / "losses.csv"), "mean BCE loss per epoch (CSV)"),
        OutputFile(
            write_training_json(result, folder / "training.json", settings, log),
            "settings, losses, floor and predictions (JSON)",
        ),
    ]
    return output


def _progress_bar(epochs: int, optimizer: str, *, enabled: bool):
    # only on a terminal: piped or redirected, the output is the log lines alone, with no \r redraws
    if not enabled or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the log lines still show progress
        return None
    # On stderr, so the log and the tables on stdout stay clean when redirected to a file.
    return tqdm(total=epochs, desc=f"training ({optimizer})", unit="epoch", leave=False, file=sys.stderr)


def predictions_table(x, targets, predictions) -> str:
    """The inputs, targets and final predictions side by side."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(targets, dtype=float).reshape(len(x), -1)
    p = np.asarray(predictions, dtype=float).reshape(len(x), -1)
    lines = ["", "Final predictions:", "   x1   x2 | target  prediction     error"]
    lines.append("  ---------+------------------------------")
    for xi, ti, pi in zip(x, t, p):
        for tj, pj in zip(ti, pi):
            lines.append(f"  {xi[0]:3g}  {xi[1]:3g} | {tj:6.3f}  {pj:10.4f}  {pj - tj:+8.4f}")
    return "\n".join(lines)


def summary(result, seconds: float) -> str:
    """The final loss against the floor, in one or two sentences."""
    final = float(result.losses[-1])
    floor = float(result.floor)
    gap = max(0.0, 100.0 * (final - floor) / floor) if floor > 0 else float("nan")  # >= 0 up to rounding
    gap_text = f"{gap:.1f}%" if gap >= 1 else f"{gap:.2g}%"
    text = (
        f"\nFinal loss {final:.4f}; lowest possible {floor:.4f} (the mean entropy of the targets), {gap_text} above it."
    )
    reached = result.epochs_to_within(WITHIN_PERCENT)
    if reached is not None:
        text += f"\nWithin {WITHIN_PERCENT:g}% of the floor after {reached} epochs."
    else:
        text += f"\nNot within {WITHIN_PERCENT:g}% of the floor yet: train longer, or try --optimizer adam."
    text += f"\n({len(result.losses)} epochs in {seconds:.1f} s)"
    return text


def write_loss_curve(result, path: Path, settings: dict) -> Path:
    """Loss per epoch with the floor dashed, and (right) the distance to the floor on a log scale."""
    try:
        import matplotlib
    except ImportError as exc:
        raise SystemExit(f"matplotlib is needed to draw the loss curve; {INSTALL_EXTRAS}") from exc
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    losses = np.asarray(result.losses, dtype=float)
    epochs = np.arange(len(losses))
    floor = float(result.floor)
    lr = f"{result.lr:g}"
    run_label = f"{settings['optimizer']}, lr {lr}"

    fig, (ax, gap_ax) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    ax.plot(epochs, losses, color="C0", lw=2, label=run_label)
    ax.axhline(floor, color="0.3", ls="--", lw=1.2, label=f"loss floor {floor:.4f}")
    ax.annotate(
        f"floor = mean entropy of the targets = {floor:.4f}",
        xy=(len(losses) - 1, floor),
        xytext=(0, -5),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=9,
        color="0.3",
    )
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean binary cross-entropy")
    ax.set_title("Loss per epoch")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)

    # Below ~1e-12 the difference is rounding error of the two sums, not distance: not plotted.
    above = losses - floor
    at_floor = above <= ROUNDING
    gap_ax.semilogy(epochs, np.where(at_floor, np.nan, above), color="C1", lw=2)
    if at_floor.any():
        first = int(np.argmax(at_floor))
        gap_ax.annotate(
            f"at the floor to rounding\n(< {ROUNDING:g}) from epoch {first}",
            xy=(first, ROUNDING),
            xytext=(8, 4),
            textcoords="offset points",
            fontsize=9,
            color="0.3",
        )
    gap_ax.set_xlim(ax.get_xlim())  # same epochs as the left panel, even where nothing is plotted
    gap_ax.set_xlabel("epoch")
    gap_ax.set_ylabel("loss - floor (log scale)")
    gap_ax.set_title("Distance to the floor")
    gap_ax.grid(alpha=0.3, which="both")

    targets = ", ".join(f"{t:g}" for t in np.ravel(result.targets))
    fig.suptitle(
        f"The article's network 2-4-1 on targets '{settings['targets']}' [{targets}]: "
        f"final loss {losses[-1]:.4f} after {len(losses)} epochs (seed {settings['seed']})"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_losses_csv(losses, path: Path) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "loss"])
        for epoch, loss in enumerate(losses):
            writer.writerow([epoch, repr(float(loss))])
    return path


def write_training_json(result, path: Path, settings: dict, log: list[str]) -> Path:
    losses = [float(v) for v in result.losses]
    data = {
        **settings,
        "optimizer": getattr(result, "optimizer", settings["optimizer"]),
        "floor": float(result.floor),
        "final_loss": losses[-1],
        "epochs_to_within_5_percent": result.epochs_to_within(WITHIN_PERCENT),
        "targets_values": np.asarray(result.targets, dtype=float).tolist(),
        "predictions": np.asarray(result.predictions, dtype=float).tolist(),
        "log": log,
        "losses": losses,
    }
    return write_json(path, data)


def training_options(args) -> dict:
    """``run``'s keyword arguments from the options ``add_training_options`` added."""
    return {
        "epochs": args.epochs,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "targets": args.targets,
        "seed": args.seed,
        "progress": not args.no_progress,
    }


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        output = run(out=args.out, **training_options(args))
    except FloatingPointError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 1
    print()
    print_written(output.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
