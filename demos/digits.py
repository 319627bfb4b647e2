"""Train an MLP and a small CNN on real handwritten digits, with nothing downloaded.

The data: scikit-learn's copy of the UCI optical digits, 1797 images of 8x8 pixels (values 0-16,
scaled here to [0, 1]) shipped inside the scikit-learn package. A fixed stratified split keeps a
quarter of each digit's images for testing. Two networks:

- MLP: ``Linear(64, 256), ReLU, Linear(256, 10)`` on standardised pixels (each pixel centred and
  scaled by the training images' mean and spread);
- CNN: ``Conv2d(1, 16, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(16, 32, 3, padding=1), ReLU,
  MaxPool2d(2), Flatten, Linear(128, 10)`` on the pixels in [0, 1].

Both are trained with mean cross-entropy and Adam, the learning rate decayed along half a cosine
over the epochs, on shuffled mini-batches (the last incomplete batch of an epoch is left out, so
every step has the same shapes). Each epoch, half the training images, drawn afresh, are moved by
up to one pixel in each direction: the networks learn that a digit is the same digit a pixel to the
left, which lifts test accuracy by about a point on so small a training set. The training step
(forward, loss, backward, Adam's update) is traced once by ``autograd.compile`` and replayed for
every later batch (``--eager`` runs it eagerly: the same numbers to rounding).

    python -m demos.digits --out out [--epochs 30] [--batch-size 32] [--lr 0.003] [--seed 0]

Writes into ``--out``: ``metrics.json`` (``{"mlp": {"test_accuracy": ...}, "cnn": {...}}`` with the
per-epoch history, the confusion matrices and the settings; standard JSON), ``training_curves.png``
(loss and test accuracy per epoch), ``confusion_matrix.png`` and ``misclassified.png`` (the test
digits each network got wrong). Options are checked before anything is written.
"""

from __future__ import annotations

import argparse
import math
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
DEFAULT_EPOCHS = 30
DEFAULT_BATCH_SIZE = 32
DEFAULT_LR = {"mlp": 3e-3, "cnn": 1e-2}
SHIFTED_FRACTION = 0.5  # of the training images, moved by a pixel each epoch (all of them: test accuracy drops)
SPREAD_OFFSET = 0.1  # added to each pixel's spread: border pixels, blank in nearly every image, stay small
TEST_FRACTION = 0.25
MAX_BATCH_SIZE = 1024  # below the training set's 1347 images: every epoch has at least one full batch
CLASSES = 10
MODELS = ("mlp", "cnn")
ARCHITECTURES = {
    "mlp": "Linear(64, 256), ReLU, Linear(256, 10)",
    "cnn": (
        "Conv2d(1, 16, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(16, 32, 3, padding=1), ReLU, MaxPool2d(2), "
        "Flatten, Linear(128, 10)"
    ),
}
TITLES = {"mlp": "MLP", "cnn": "CNN"}


@dataclass
class DigitsSplit:
    """The digits split into training and test sets: images ``(N, 8, 8)`` in [0, 1], labels ``(N,)``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@dataclass
class ModelResult:
    """One network's training: per-epoch history, final test predictions, the time it took."""

    name: str
    parameters: int
    history: list = field(default_factory=list)  # {"epoch", "loss", "test_accuracy"} per epoch
    predictions: np.ndarray | None = None
    test_accuracy: float = 0.0
    train_accuracy: float = 0.0
    seconds: float = 0.0


@dataclass
class DigitsOutput:
    """What ``run`` produced: the split, each network's result, the metrics, the files written."""

    split: DigitsSplit
    results: dict = field(default_factory=dict)  # "mlp" / "cnn" -> ModelResult
    metrics: dict = field(default_factory=dict)
    log: list = field(default_factory=list)
    summaries: list = field(default_factory=list)  # a line per network: its test accuracy, size and time
    files: list = field(default_factory=list)


def batch_size_option(text: str) -> int:
    """argparse ``type=`` for ``--batch-size``: a whole number from 1 to ``MAX_BATCH_SIZE``."""
    value = positive_int(text)
    if value > MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_BATCH_SIZE}, got {text!r}")
    return value


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = demo_parser(
        prog,
        "python -m demos.digits",
        "Train an MLP and a small CNN on scikit-learn's 8x8 digits (no download); write the "
        "metrics, the training curves, the confusion matrices and the misclassified digits.",
    )
    add_options(parser)
    add_progress_option(parser)
    return parser


def add_options(parser) -> None:
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=DEFAULT_EPOCHS,
        help=f"epochs to train each network (default: {DEFAULT_EPOCHS})",
    )
    parser.add_argument(
        "--batch-size",
        type=batch_size_option,
        default=DEFAULT_BATCH_SIZE,
        help=f"images per step, 1 to {MAX_BATCH_SIZE} (default: {DEFAULT_BATCH_SIZE})",
    )
    defaults = ", ".join(f"{lr:g} for the {TITLES[name]}" for name, lr in DEFAULT_LR.items())
    parser.add_argument(
        "--lr",
        type=learning_rate,
        default=None,
        help=f"Adam's learning rate for both networks, >= 0 (default: {defaults})",
    )
    add_seed_option(parser, DEFAULT_SEED, "the split, the initial weights and the batches")
    parser.add_argument(
        "--eager",
        action="store_true",
        help="run every training step eagerly instead of replaying a compiled one (same numbers, slower)",
    )


# ----------------------------------------------------------------------------- data


def stratified_split(labels, test_fraction: float, rng) -> tuple:
    """Indices ``(train, test)``: of each class's samples, ``round(test_fraction n_c)`` drawn at random
    for testing, the rest for training (both sorted)."""
    labels = np.asarray(labels)
    test = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[: int(np.floor(test_fraction * len(members) + 0.5))])
    test = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test), test


def load_split(seed: int = DEFAULT_SEED, test_fraction: float = TEST_FRACTION) -> DigitsSplit:
    """The digits (``sklearn.datasets.load_digits``, read from the installed package) split by
    ``stratified_split``; pixels scaled from 0-16 to [0, 1]."""
    digits = sklearn_datasets().load_digits()
    images = np.asarray(digits.images, dtype=np.float64) / 16.0
    labels = np.asarray(digits.target, dtype=np.intp)
    train, test = stratified_split(labels, test_fraction, np.random.default_rng([seed, 0]))
    return DigitsSplit(images[train], labels[train], images[test], labels[test])


def model_inputs(name: str, images: np.ndarray) -> np.ndarray:
    """Images ``(N, 8, 8)`` in the network's layout: rows of 64 pixels (MLP) or ``(N, 1, 8, 8)`` (CNN)."""
    return images.reshape(len(images), 64) if name == "mlp" else images.reshape(len(images), 1, 8, 8)


def pixel_scaling(name: str, train_images: np.ndarray) -> tuple:
    """``(shift, scale)`` such that the network ``name`` reads ``(images - shift) / scale``: for the MLP each
    pixel's mean and spread over the training images (plus ``SPREAD_OFFSET``), for the CNN (0, 1)."""
    if name != "mlp":
        return 0.0, 1.0
    return train_images.mean(axis=0), train_images.std(axis=0) + SPREAD_OFFSET


def random_shifts(images: np.ndarray, rng, fraction: float = SHIFTED_FRACTION) -> np.ndarray:
    """A copy of ``images`` (N, H, W) in which a random ``fraction`` of them (each with that probability)
    are moved by ``dy, dx`` in {-1, 0, 1} (uniform, independently), blank pixels moving in at the edge."""
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    dy, dx = rng.integers(0, 3, n), rng.integers(0, 3, n)  # offsets into the padded image: 1 is no move
    still = rng.random(n) >= fraction
    dy[still], dx[still] = 1, 1
    rows = dy[:, None] + np.arange(h)
    cols = dx[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


# ----------------------------------------------------------------------------- networks


def build_mlp(rng=None, dtype=np.float64):
    """``Linear(64, 256), ReLU, Linear(256, 10)``, torch's default initialisation drawn from ``rng``."""
    import nn

    return nn.Sequential(
        nn.Linear(64, 256, rng=rng, dtype=dtype), nn.ReLU(), nn.Linear(256, CLASSES, rng=rng, dtype=dtype)
    )


def build_cnn(rng=None, dtype=np.float64):
    """Two blocks of 3x3 convolution (padding 1), ReLU and 2x2 max pooling (8x8 -> 4x4 -> 2x2, 16 then
    32 channels), then ``Linear(128, 10)``."""
    import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, CLASSES, rng=rng, dtype=dtype),
    )


def build_model(name: str, seed: int = DEFAULT_SEED, dtype=np.float64):
    """The network ``name`` ("mlp" or "cnn") with the demo's initial weights for ``seed``."""
    rng = np.random.default_rng([seed, 1 + MODELS.index(name)])
    return build_mlp(rng, dtype) if name == "mlp" else build_cnn(rng, dtype)


def one_hot_cross_entropy(logits, one_hot):
    """Mean cross-entropy ``-(1/N) sum_n sum_c y_nc log_softmax(z)_nc`` with one-hot targets ``y``.

    The same loss as ``nn.functional.cross_entropy(z, labels)``, with the labels given as an array of
    the data rather than as integer class indices: a compiled step takes arrays as inputs, refreshed
    at every call, whereas it would keep the class indices of its recording as constants.
    """
    import nn.functional as F

    return -(F.log_softmax(logits, dim=1) * one_hot).sum() * (1.0 / logits.shape[0])


def training_step(model, optimizer):
    """``step(x, one_hot) -> loss``: forward, loss, backward and ``optimizer``'s update."""

    def step(x, one_hot):
        optimizer.zero_grad()
        loss = one_hot_cross_entropy(model(x), one_hot)
        loss.backward()
        optimizer.step()
        return loss

    return step


def batches(n: int, batch_size: int, rng):
    """Shuffled index arrays of ``batch_size`` covering ``n`` samples; the last incomplete one left out."""
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


def cosine_lr(lr: float, epoch: int, epochs: int) -> float:
    """The learning rate of ``epoch`` (1 to ``epochs``): ``lr`` decayed along half a cosine,
    ``lr (1 + cos(pi (epoch - 1) / epochs)) / 2``, from ``lr`` at the first epoch towards 0 at the last."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / epochs))


def predict(model, inputs: np.ndarray) -> np.ndarray:
    """The predicted class of each input (the largest logit)."""
    from autograd import no_grad

    with no_grad():
        return np.argmax(model(inputs).data, axis=1)


def train(
    name: str,
    split: DigitsSplit,
    *,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float | None = None,
    seed: int = DEFAULT_SEED,
    compiled: bool = True,
    on_epoch=None,
    dtype=np.float64,
):
    """Train network ``name`` on ``split``; ``(model, ModelResult)``. ``on_epoch(record)`` after each epoch.
    ``lr``: Adam's learning rate at the first epoch (None: ``DEFAULT_LR[name]``)."""
    import autograd
    import nn

    lr = DEFAULT_LR[name] if lr is None else lr
    model = build_model(name, seed, dtype)
    optimizer = nn.Adam(model.parameters(), lr=lr)
    step = training_step(model, optimizer)
    if compiled:
        step = autograd.compile(step)
    shift, scale = pixel_scaling(name, split.train_images)

    def inputs(images):
        return model_inputs(name, (images - shift) / scale).astype(dtype)

    x_train, x_test = inputs(split.train_images), inputs(split.test_images)
    targets = np.eye(CLASSES, dtype=dtype)[split.train_labels]
    draws = np.random.default_rng([seed, 3])  # the moved images and the batches
    result = ModelResult(name=name, parameters=sum(p.data.size for p in model.parameters()))
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        optimizer.lr = cosine_lr(lr, epoch, epochs)
        moved = inputs(random_shifts(split.train_images, draws))
        total, steps = 0.0, 0
        for index in batches(len(moved), batch_size, draws):
            total += step(moved[index], targets[index]).item()
            steps += 1
            if steps == 1 and epoch == 1:
                # before the second step, which a compiled step checks against an eager run: weights blown up
                # by the first update would make that check fail on NaN rather than say what went wrong
                check_finite(name, model, epoch, total)
        check_finite(name, model, epoch, total)
        accuracy = float(np.mean(predict(model, x_test) == split.test_labels))
        record = {"epoch": epoch, "loss": total / steps, "test_accuracy": accuracy}
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    result.seconds = time.perf_counter() - start
    result.predictions = predict(model, x_test)
    result.test_accuracy = float(np.mean(result.predictions == split.test_labels))
    result.train_accuracy = float(np.mean(predict(model, x_train) == split.train_labels))
    return model, result


def check_finite(name: str, model, epoch: int, loss: float) -> None:
    """Raise ``FloatingPointError`` (the demo's exit status 1) when the loss or a weight is not finite."""
    if not (np.isfinite(loss) and all(np.isfinite(p.data).all() for p in model.parameters())):
        raise FloatingPointError(
            f"{TITLES[name]}: training diverged at epoch {epoch} (loss {loss}, weights no longer all finite); "
            "try a smaller learning rate"
        )


def confusion_matrix(labels, predictions, classes: int = CLASSES) -> np.ndarray:
    """``m[true, predicted]``: how many test images of each class went to each prediction."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(predictions)), 1)
    return m


# ----------------------------------------------------------------------------- the program


def run(
    *,
    out,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float | None = None,
    seed: int = DEFAULT_SEED,
    compiled: bool = True,
    progress: bool = True,
    stream=None,
) -> DigitsOutput:
    """Train both networks, print a line per epoch, write the metrics and the pictures into ``out``."""
    stream = stream or sys.stdout
    split = load_split(seed)
    folder = output_dir(out)  # after the data: without scikit-learn nothing is created
    output = DigitsOutput(split=split)
    how = "eager steps" if not compiled else "a compiled step (autograd.compile)"
    rates = {name: DEFAULT_LR[name] if lr is None else lr for name in MODELS}
    print(
        f"Digits: {len(split.train_labels)} training and {len(split.test_labels)} test images (8x8, stratified "
        f"split, seed {seed}); Adam, batch {batch_size}, {epochs} epochs, {how}",
        file=stream,
    )
    with Progress(epochs * len(MODELS), "digits", "epoch", enabled=progress, stream=stream) as bar:
        for name in MODELS:
            bar.log(f"{TITLES[name]}: {ARCHITECTURES[name]}; lr {rates[name]:g} with cosine decay")

            def on_epoch(record, name=name):
                line = (
                    f"{name} epoch {record['epoch']:>{len(str(epochs))}}: loss {record['loss']:.4f}, "
                    f"test accuracy {record['test_accuracy']:.4f}"
                )
                output.log.append(line)
                bar.log(line)
                bar.update(1)

            with one_blas_thread():
                _, result = train(
                    name,
                    split,
                    epochs=epochs,
                    batch_size=batch_size,
                    lr=rates[name],
                    seed=seed,
                    compiled=compiled,
                    on_epoch=on_epoch,
                )
            output.results[name] = result
            summary = (
                f"{TITLES[name]}: test accuracy {result.test_accuracy:.4f} "
                f"({np.sum(result.predictions != split.test_labels)} of {len(split.test_labels)} wrong), "
                f"{result.parameters} parameters, {result.seconds:.1f} s"
            )
            output.log.append(summary)
            output.summaries.append(summary)
            bar.log(summary)

    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": rates,
        "lr_schedule": "cosine: lr (1 + cos(pi (epoch - 1) / epochs)) / 2",
        "optimizer": "adam",
        "loss": "mean cross-entropy",
        "shifted_fraction": SHIFTED_FRACTION,
        "seed": seed,
        "compiled": compiled,
    }
    output.metrics = metrics(split, output.results, settings)
    output.files = [
        OutputFile(write_json(folder / "metrics.json", output.metrics), "test accuracy, history, confusion (JSON)"),
        OutputFile(write_curves(output.results, folder / "training_curves.png"), "loss and test accuracy per epoch"),
        OutputFile(write_confusion(split, output.results, folder / "confusion_matrix.png"), "confusion matrices (PNG)"),
        OutputFile(
            write_misclassified(split, output.results, folder / "misclassified.png"), "the test digits gotten wrong"
        ),
    ]
    return output


def metrics(split: DigitsSplit, results: dict, settings: dict) -> dict:
    """Everything measured, as plain data for ``metrics.json``."""
    data = {
        "data": {
            "source": "sklearn.datasets.load_digits (UCI optical digits, shipped with scikit-learn)",
            "image_size": [8, 8],
            "scaling": "pixel / 16; the MLP's inputs then standardised per pixel with the training images' statistics",
            "train_size": len(split.train_labels),
            "test_size": len(split.test_labels),
            "test_fraction": TEST_FRACTION,
            "test_per_class": np.bincount(split.test_labels, minlength=CLASSES),
        },
        "settings": settings,
    }
    for name, r in results.items():
        data[name] = {
            "architecture": ARCHITECTURES[name],
            "parameters": r.parameters,
            "test_accuracy": r.test_accuracy,
            "train_accuracy": r.train_accuracy,
            "test_errors": int(np.sum(r.predictions != split.test_labels)),
            "seconds": r.seconds,
            "history": r.history,
            "confusion_matrix": confusion_matrix(split.test_labels, r.predictions),
        }
    return data


def write_curves(results: dict, path):
    plt = pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for name, r in results.items():
        epochs = [h["epoch"] for h in r.history]
        loss_ax.semilogy(epochs, [h["loss"] for h in r.history], marker=".", label=TITLES[name])
        acc_ax.plot(epochs, [h["test_accuracy"] for h in r.history], marker=".", label=TITLES[name])
    loss_ax.set(xlabel="epoch", ylabel="mean training loss (log scale)", title="Cross-entropy per epoch")
    acc_ax.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy after each epoch")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_confusion(split: DigitsSplit, results: dict, path):
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.6), layout="constrained", squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        m = confusion_matrix(split.test_labels, r.predictions)
        ax.imshow(m, cmap="Blues")
        for (i, j), count in np.ndenumerate(m):
            if count:
                color = "white" if count > m.max() / 2 else ("#b00" if i != j else "black")
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8, color=color)
        ax.set(
            xticks=range(CLASSES),
            yticks=range(CLASSES),
            xlabel="predicted digit",
            ylabel="true digit",
            title=f"{TITLES[name]}: test accuracy {r.test_accuracy:.4f}",
        )
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_misclassified(split: DigitsSplit, results: dict, path, per_model: int = 20, columns: int = 10):
    """Each network's wrong test digits (up to ``per_model``), titled ``true -> predicted``."""
    plt = pyplot()
    wrong = {name: np.flatnonzero(r.predictions != split.test_labels)[:per_model] for name, r in results.items()}
    rows = {name: max(1, -(-len(w) // columns)) for name, w in wrong.items()}
    fig = plt.figure(figsize=(columns * 0.95, 1.15 * sum(rows.values()) + 0.5 * len(rows)), layout="constrained")
    subfigs = fig.subfigures(len(rows), 1, height_ratios=[r + 0.45 for r in rows.values()], squeeze=False)[:, 0]
    for sub, (name, index) in zip(subfigs, wrong.items()):
        total = int(np.sum(results[name].predictions != split.test_labels))
        shown = f", the first {len(index)} shown" if total > len(index) else ""
        sub.suptitle(
            f"{TITLES[name]}: {total} of {len(split.test_labels)} test digits wrong{shown} (true -> predicted)"
        )
        axes = sub.subplots(rows[name], columns, squeeze=False)
        for k, ax in enumerate(axes.flat):
            ax.set_axis_off()
            if k < len(index):
                i = index[k]
                ax.imshow(split.test_images[i], cmap="gray_r", vmin=0, vmax=1)
                ax.set_title(f"{split.test_labels[i]} -> {results[name].predictions[i]}", fontsize=9, color="#b00")
        if not len(index):
            axes.flat[0].text(0, 0.5, "none", fontsize=11)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        output = run(
            out=args.out,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            compiled=not args.eager,
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
