"""The article's sigmoid network on real data: breast tumours, benign or malignant.

The data: the Wisconsin diagnostic breast-cancer set shipped inside scikit-learn, 569 tumours, 30
measurements each (radius, texture, ... of the cell nuclei), label 1 for benign and 0 for malignant.
A fixed stratified split keeps a quarter of each class for testing; the features are standardised
with the training set's mean and standard deviation only (the test set must not leak into them).

The network is the article's: ``p = s(s(x @ w1 + b1) @ w2 + b2)`` (``nn.TwoLayerNet``, 30 inputs, 4
sigmoid hidden units as in the article, one sigmoid output, standard normal initial weights), trained
with the mean binary cross-entropy and Adam on the whole training set at every step.

Then the article's hand-derived gradients (``nn.NumpyTwoLayerNet``: ``d_output = d_loss * p (1 - p)``,
``d_hidden = (d_output @ w2^T) * h (1 - h)``, ...) are checked against the engine's on a real batch
of training tumours, at the trained weights: with the summed loss (the article's) they agree, step by
step; with the mean loss they are N times too large, and the report says so.

    python -m demos.breast_cancer --out out [--epochs 300] [--lr 0.01] [--hidden 4] [--seed 0]

Writes into ``--out``: ``metrics.json`` (test accuracy, the confusion matrix, the loss and accuracy
per epoch, the settings; standard JSON), ``training_curve.png``, ``gradient_check.txt`` (the two
reports) and ``gradient_check.json``. Options are checked before anything is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from demos._output import (
    OutputFile,
    Progress,
    add_progress_option,
    add_seed_option,
    demo_parser,
    learning_rate,
    one_blas_thread,
    output_dir,
    positive_int,
    print_written,
    pyplot,
    sklearn_datasets,
    write_json,
)

DEFAULT_SEED = 0
DEFAULT_EPOCHS = 300
DEFAULT_LR = 0.01
DEFAULT_HIDDEN = 4  # the article's hidden layer
DEFAULT_CHECK_BATCH = 32
MAX_CHECK_BATCH = 256  # below the 427 training tumours
MAX_HIDDEN = 256
TEST_FRACTION = 0.25
LOG_EVERY = 50
CLASS_NAMES = ("malignant", "benign")  # scikit-learn's labels 0 and 1


@dataclass
class CancerSplit:
    """Standardised features and 0/1 labels, ``(N, 30)`` and ``(N, 1)``, and the feature names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: list
    mean: np.ndarray
    std: np.ndarray


@dataclass
class CancerOutput:
    """What ``run`` produced: the split, the history, the test accuracy, the two reports, the files."""

    split: CancerSplit
    history: list = field(default_factory=list)  # {"epoch", "loss", "test_accuracy"}
    test_accuracy: float = 0.0
    train_accuracy: float = 0.0
    confusion: np.ndarray | None = None
    reports: dict = field(default_factory=dict)  # "sum" / "mean" -> nn.GradientReport
    texts: dict = field(default_factory=dict)  # the same, explained, as written
    log: list = field(default_factory=list)
    files: list = field(default_factory=list)
    seconds: float = 0.0


def bounded_int(high: int):
    """argparse ``type=``: a whole number from 1 to ``high``."""

    def parse(text: str) -> int:
        value = positive_int(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {high}, got {text!r}")
        return value

    return parse


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = demo_parser(
        prog,
        "python -m demos.breast_cancer",
        "Train the article's sigmoid network on scikit-learn's breast-cancer data (no download) and "
        "check its hand-derived gradients on a real batch.",
    )
    add_options(parser)
    add_progress_option(parser)
    return parser


def add_options(parser) -> None:
    parser.add_argument(
        "--epochs", type=positive_int, default=DEFAULT_EPOCHS, help=f"Adam steps (default: {DEFAULT_EPOCHS})"
    )
    parser.add_argument(
        "--lr", type=learning_rate, default=DEFAULT_LR, help=f"Adam's learning rate (default: {DEFAULT_LR:g})"
    )
    parser.add_argument(
        "--hidden",
        type=bounded_int(MAX_HIDDEN),
        default=DEFAULT_HIDDEN,
        help=f"sigmoid units in the hidden layer, 1 to {MAX_HIDDEN} (default: {DEFAULT_HIDDEN}, the article's)",
    )
    parser.add_argument(
        "--check-batch",
        type=bounded_int(MAX_CHECK_BATCH),
        default=DEFAULT_CHECK_BATCH,
        help=f"training tumours in the gradient check, 1 to {MAX_CHECK_BATCH} (default: {DEFAULT_CHECK_BATCH})",
    )
    add_seed_option(parser, DEFAULT_SEED, "the split, the initial weights and the checked batch")


def load_split(seed: int = DEFAULT_SEED) -> CancerSplit:
    """``sklearn.datasets.load_breast_cancer`` (read from the installed package), split by
    ``demos.digits.stratified_split`` and standardised with the training set's statistics."""
    from demos.digits import stratified_split

    data = sklearn_datasets().load_breast_cancer()
    x = np.asarray(data.data, dtype=np.float64)
    y = np.asarray(data.target, dtype=np.float64)
    train, test = stratified_split(y, TEST_FRACTION, np.random.default_rng([seed, 0]))
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    return CancerSplit(
        x_train=(x[train] - mean) / std,
        y_train=y[train, None],
        x_test=(x[test] - mean) / std,
        y_test=y[test, None],
        feature_names=[str(n) for n in data.feature_names],
        mean=mean,
        std=std,
    )


def accuracy(net, x, y) -> float:
    """The fraction of tumours whose predicted probability of being benign is on the right side of 0.5."""
    from autograd import no_grad

    with no_grad():
        return float(np.mean((net(x).data > 0.5) == (y > 0.5)))


def train(
    split: CancerSplit, *, epochs=DEFAULT_EPOCHS, lr=DEFAULT_LR, hidden=DEFAULT_HIDDEN, seed=DEFAULT_SEED, on_epoch=None
):
    """The article's network trained on ``split`` (mean BCE, Adam, full batch); ``(net, history)``."""
    import nn

    net = nn.TwoLayerNet(split.x_train.shape[1], hidden, 1, seed=seed)
    optimizer = nn.Adam(net.parameters(), lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        loss = nn.binary_cross_entropy(net(split.x_train), split.y_train)
        loss.backward()
        optimizer.step()
        value = loss.item()
        if not (np.isfinite(value) and all(np.isfinite(p.data).all() for p in net.parameters())):
            raise FloatingPointError(
                f"training diverged at epoch {epoch} (loss {value}, weights no longer all finite); try a smaller "
                "learning rate"
            )
        # the loss of this step's forward pass, and the test accuracy after its update
        record = {"epoch": epoch, "loss": value, "test_accuracy": accuracy(net, split.x_test, split.y_test)}
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return net, history


def check_batch(split: CancerSplit, size: int, seed: int) -> tuple:
    """``size`` training tumours drawn at random: ``(x, y)``."""
    index = np.sort(np.random.default_rng([seed, 2]).permutation(len(split.x_train))[:size])
    return split.x_train[index], split.y_train[index]


EXPLAIN = {
    "sum": (
        "The article's hand-derived gradients (nn.NumpyTwoLayerNet) against the engine's, at the trained weights, "
        "on {n} real training tumours, for the SUM of the per-tumour losses (what the article's d_loss is the "
        "derivative of). Every step of the derivation (d_loss, d_output, d_w2, ..., d_w1) is compared in the "
        "order backward reaches it, and all three gradients (manual, automatic, central differences) agree."
    ),
    "mean": (
        "The same hand-derived gradients against the engine's gradient of the MEAN loss, the number the article "
        "prints: they are N = {n} times too large, and the check names the step where the factor enters."
    ),
}


def gradient_reports(net, x, y) -> dict:
    """``nn.compare_gradients`` of the article's manual gradients with the engine's, for the summed loss
    and for the mean loss, on the batch ``(x, y)``."""
    import nn

    reference = nn.NumpyTwoLayerNet(x.shape[1], net.w1.shape[1], 1, reduction="sum")
    reference.load_state_dict(net.state_dict())
    return {r: nn.compare_gradients(reference, net, x, y, reduction=r) for r in ("sum", "mean")}


def run(
    *,
    out,
    epochs: int = DEFAULT_EPOCHS,
    lr: float = DEFAULT_LR,
    hidden: int = DEFAULT_HIDDEN,
    check_batch_size: int = DEFAULT_CHECK_BATCH,
    seed: int = DEFAULT_SEED,
    progress: bool = True,
    stream=None,
) -> CancerOutput:
    """Train, print the log and the check, write the metrics, the curve and the reports into ``out``."""
    from autograd import no_grad

    stream = stream or sys.stdout
    split = load_split(seed)
    folder = output_dir(out)  # after the data: without scikit-learn nothing is created
    output = CancerOutput(split=split)
    n_features = split.x_train.shape[1]
    print(
        f"Breast cancer: {len(split.y_train)} training and {len(split.y_test)} test tumours, {n_features} "
        f"standardised features (stratified split, seed {seed}); the article's network {n_features}-{hidden}-1 "
        f"(sigmoid), mean BCE, Adam lr {lr:g}, {epochs} full-batch steps",
        file=stream,
    )
    start = time.perf_counter()
    with Progress(epochs, "breast cancer", "epoch", enabled=progress, stream=stream) as bar:

        def on_epoch(record):
            if record["epoch"] % LOG_EVERY == 0 or record["epoch"] in (1, epochs):
                line = (
                    f"epoch {record['epoch']:>{len(str(epochs))}}: loss {record['loss']:.4f}, "
                    f"test accuracy {record['test_accuracy']:.4f}"
                )
                output.log.append(line)
                bar.log(line)
            bar.update(1)

        with one_blas_thread():
            net, output.history = train(split, epochs=epochs, lr=lr, hidden=hidden, seed=seed, on_epoch=on_epoch)
    output.seconds = time.perf_counter() - start
    output.test_accuracy = accuracy(net, split.x_test, split.y_test)
    output.train_accuracy = accuracy(net, split.x_train, split.y_train)
    with no_grad():
        predicted = (net(split.x_test).data > 0.5).astype(int)[:, 0]
    output.confusion = np.zeros((2, 2), dtype=np.int64)
    np.add.at(output.confusion, (split.y_test[:, 0].astype(int), predicted), 1)
    summary = (
        f"Test accuracy {output.test_accuracy:.4f} ({int(np.sum(predicted != split.y_test[:, 0]))} of "
        f"{len(split.y_test)} wrong), training accuracy {output.train_accuracy:.4f}, {output.seconds:.1f} s"
    )
    output.log.append(summary)
    print(summary, file=stream)

    x, y = check_batch(split, check_batch_size, seed)
    output.reports = gradient_reports(net, x, y)
    for key, report in output.reports.items():
        text = EXPLAIN[key].format(n=len(x)) + f"\n\n{report}"
        if report.check is not None:
            text += f"\n\n{report.check}"
        output.texts[key] = text
    print(
        f"\n-- Manual against automatic gradients, summed loss, {len(x)} tumours --\n{output.reports['sum']}",
        file=stream,
    )
    mean_notes = output.reports["mean"].notes()
    print(
        f"\n-- The same with the mean loss --\n{mean_notes[0] if mean_notes else output.reports['mean']}", file=stream
    )

    settings = {"epochs": epochs, "lr": lr, "optimizer": "adam", "hidden": hidden, "seed": seed}
    output.files = [
        OutputFile(write_json(folder / "metrics.json", metrics(output, settings, len(x))), "accuracy, history (JSON)"),
        OutputFile(write_curve(output, folder / "training_curve.png", settings), "loss and test accuracy per epoch"),
        OutputFile(write_reports(output, folder / "gradient_check.txt"), "manual against automatic gradients (text)"),
        OutputFile(
            write_json(folder / "gradient_check.json", {k: r.to_dict() for k, r in output.reports.items()}),
            "the same comparisons (JSON)",
        ),
    ]
    return output


def metrics(output: CancerOutput, settings: dict, batch: int) -> dict:
    split = output.split
    return {
        "data": {
            "source": "sklearn.datasets.load_breast_cancer (Wisconsin diagnostic breast cancer, shipped with "
            "scikit-learn)",
            "labels": {"0": CLASS_NAMES[0], "1": CLASS_NAMES[1]},
            "features": len(split.feature_names),
            "train_size": len(split.y_train),
            "test_size": len(split.y_test),
            "test_fraction": TEST_FRACTION,
            "standardised_with": "the training set's mean and standard deviation",
        },
        "settings": {**settings, "network": f"nn.TwoLayerNet({len(split.feature_names)}, {settings['hidden']}, 1)"},
        "test_accuracy": output.test_accuracy,
        "train_accuracy": output.train_accuracy,
        "confusion_matrix": {"rows": "true label", "columns": "predicted label", "counts": output.confusion},
        "seconds": output.seconds,
        "gradient_check": {
            "batch": batch,
            "sum_passed": output.reports["sum"].passed,
            "mean_factor": output.reports["mean"].common_factor(),
        },
        "history": output.history,
    }


def write_curve(output: CancerOutput, path, settings: dict):
    plt = pyplot()
    epochs = [h["epoch"] for h in output.history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    loss_ax.semilogy(epochs, [h["loss"] for h in output.history], color="C0")
    loss_ax.set(xlabel="epoch", ylabel="mean binary cross-entropy (log scale)", title="Training loss")
    acc_ax.plot(epochs, [h["test_accuracy"] for h in output.history], color="C2")
    acc_ax.axhline(0.95, color="0.4", ls="--", lw=1)
    acc_ax.set(xlabel="epoch", ylabel="test accuracy", title=f"Test accuracy: {output.test_accuracy:.4f} at the end")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(
        f"The article's network {len(output.split.feature_names)}-{settings['hidden']}-1 on breast-cancer data "
        f"(Adam, lr {settings['lr']:g}, seed {settings['seed']})"
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_reports(output: CancerOutput, path):
    path.write_text("\n\n\n".join(output.texts[k] for k in ("sum", "mean")) + "\n")
    return path


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        output = run(
            out=args.out,
            epochs=args.epochs,
            lr=args.lr,
            hidden=args.hidden,
            check_batch_size=args.check_batch,
            seed=args.seed,
            progress=not args.no_progress,
        )
    except FloatingPointError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 1
    print()
    print_written(output.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
