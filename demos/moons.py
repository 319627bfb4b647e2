"""micrograd's demo on our engine: a 2-16-16-1 MLP separating two interleaving half moons.

The workload of micrograd's ``demo.ipynb``: 100 points from ``sklearn.datasets.make_moons`` (noise
0.1, labels -1 and +1), an MLP 2-16-16-1 with ReLU hidden layers, the hinge loss ``mean(relu(1 - y
score))`` plus ``1e-4 sum p^2`` over the parameters, full-batch gradient descent with the learning
rate ``1.0 - 0.9 k / 100`` at step k, 100 steps. The default seed, 1337, is the notebook's (its
``np.random.seed(1337)`` and ``random.seed(1337)``), so the data and the initial weights are
micrograd's. Trained twice from the same weights:

- on ``Value`` (``nn.MLP``, micrograd's ``Neuron``/``Layer``/``MLP`` with one node per neuron), one
  graph of scalars per step, as in micrograd;
- on ``Tensor`` (``nn.Sequential`` of ``Linear`` and ``ReLU``), the whole batch in a few matrix nodes.

The two give the same losses (to rounding) and each draws its decision boundary: the sign of the
score over a grid around the data.

    python -m demos.moons --out out [--steps 100] [--seed 1337]

Writes into ``--out``: ``decision_boundary_value.png``, ``decision_boundary_tensor.png`` and
``metrics.json`` (loss and accuracy per step for both, the largest difference between them, the
settings; standard JSON). Options are checked before anything is written.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from demos._output import (
    OutputFile,
    Progress,
    add_progress_option,
    demo_parser,
    one_blas_thread,
    output_dir,
    positive_int,
    print_written,
    pyplot,
    seed_option,
    sklearn_datasets,
    write_json,
)

DEFAULT_SEED = 1337  # micrograd's demo notebook
DEFAULT_STEPS = 100
N_SAMPLES = 100
NOISE = 0.1
SIZES = (2, 16, 16, 1)
ALPHA = 1e-4  # the L2 penalty's weight
LOG_EVERY = 10
GRID_STEP = 0.05
ENGINES = ("value", "tensor")
TITLES = {"value": "Value (nn.MLP, one node per neuron)", "tensor": "Tensor (nn.Sequential of Linear and ReLU)"}


@dataclass
class EngineRun:
    """One engine's training: loss and accuracy per step, the grid's scores, the time."""

    engine: str
    history: list = field(default_factory=list)  # {"step", "loss", "accuracy", "lr"}
    grid_scores: np.ndarray | None = None
    seconds: float = 0.0


@dataclass
class MoonsOutput:
    x: np.ndarray
    y: np.ndarray
    runs: dict = field(default_factory=dict)  # "value" / "tensor" -> EngineRun
    grid: tuple = ()  # (xx, yy)
    max_loss_difference: float = 0.0
    log: list = field(default_factory=list)
    files: list = field(default_factory=list)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = demo_parser(
        prog,
        "python -m demos.moons",
        "micrograd's two-moons demo (MLP 2-16-16-1, hinge loss) on our Value and on our Tensor, with "
        "the decision boundary of each.",
    )
    add_options(parser)
    add_progress_option(parser)
    return parser


def add_options(parser) -> None:
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=DEFAULT_STEPS,
        help=f"gradient-descent steps, lr 1.0 - 0.9 k / steps at step k (default: {DEFAULT_STEPS}, micrograd's)",
    )
    parser.add_argument(
        "--seed",
        type=seed_option,
        default=DEFAULT_SEED,
        help=f"random seed of the points and the initial weights, >= 0 (default: {DEFAULT_SEED}, micrograd's)",
    )


def load_moons(seed: int = DEFAULT_SEED) -> tuple:
    """``(x, y)``: micrograd's 100 points (``make_moons(noise=0.1)``), labels -1 and +1."""
    x, y = sklearn_datasets().make_moons(n_samples=N_SAMPLES, noise=NOISE, random_state=seed)
    return x, 2.0 * y - 1.0


def value_mlp(seed: int = DEFAULT_SEED):
    """``nn.MLP(2, [16, 16, 1])`` with micrograd's initial weights after ``random.seed(seed)`` (the global
    ``random`` state is put back afterwards)."""
    import nn

    state = random.getstate()
    try:
        random.seed(seed)
        return nn.MLP(SIZES[0], list(SIZES[1:]))
    finally:
        random.setstate(state)


def tensor_mlp(model):
    """``nn.Sequential`` of ``Linear`` and ``ReLU`` computing the same function as the Value MLP ``model``,
    with copies of its weights (``Linear.weight[i, j]`` is neuron j's weight of input i)."""
    import nn

    layers = []
    for k, layer in enumerate(model.layers):
        linear = nn.Linear(len(layer.neurons[0].w), len(layer.neurons))
        linear.weight.data[...] = [[n.w[i].data for n in layer.neurons] for i in range(len(layer.neurons[0].w))]
        linear.bias.data[...] = [n.b.data for n in layer.neurons]
        layers.append(linear)
        if k < len(model.layers) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def learning_rate_at(k: int, steps: int) -> float:
    """micrograd's schedule, ``1.0 - 0.9 k / steps`` (its ``steps`` is 100)."""
    return 1.0 - 0.9 * k / steps


def value_step(model, x, y, lr: float) -> tuple:
    """One step of micrograd's loop on Values: ``(loss, accuracy)`` before the update."""
    from autograd import Value

    scores = [model([Value(a), Value(b)]) for a, b in x.tolist()]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    hits = sum((yi > 0) == (si.data > 0) for yi, si in zip(y.tolist(), scores))
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return total.data, hits / len(y)


def tensor_step(model, optimizer, x, y, lr: float) -> tuple:
    """The same step on Tensors, the batch at once: ``(loss, accuracy)`` before the update."""
    scores = model(x)[:, 0]
    data_loss = (1.0 - y * scores).relu().mean()
    reg_loss = ALPHA * sum((p * p).sum() for p in model.parameters())
    total = data_loss + reg_loss
    accuracy = float(np.mean((y > 0) == (scores.data > 0)))
    optimizer.zero_grad()
    total.backward()
    optimizer.lr = lr
    optimizer.step()
    return total.item(), accuracy


def mesh(x: np.ndarray, step: float = GRID_STEP) -> tuple:
    """micrograd's grid: the data's range widened by 1 on each side, every ``step``."""
    xs = np.arange(x[:, 0].min() - 1, x[:, 0].max() + 1, step)
    ys = np.arange(x[:, 1].min() - 1, x[:, 1].max() + 1, step)
    return np.meshgrid(xs, ys)


def value_scores(model, points: np.ndarray) -> np.ndarray:
    from autograd import Value, no_grad

    with no_grad():
        return np.array([model([Value(a), Value(b)]).data for a, b in points.tolist()])


def tensor_scores(model, points: np.ndarray) -> np.ndarray:
    from autograd import no_grad

    with no_grad():
        return model(points).data[:, 0]


def run(
    *, out, steps: int = DEFAULT_STEPS, seed: int = DEFAULT_SEED, progress: bool = True, stream=None
) -> MoonsOutput:
    """Train on both engines, print the log, draw both decision boundaries into ``out``."""
    import nn

    stream = stream or sys.stdout
    x, y = load_moons(seed)
    folder = output_dir(out)  # after the data: without scikit-learn nothing is created
    output = MoonsOutput(x=x, y=y)
    value_model = value_mlp(seed)
    tensor_model = tensor_mlp(value_model)
    optimizer = nn.SGD(tensor_model.parameters(), lr=learning_rate_at(0, steps))
    xx, yy = output.grid = mesh(x)
    points = np.c_[xx.ravel(), yy.ravel()]
    print(
        f"Moons: {N_SAMPLES} points (noise {NOISE}, seed {seed}); MLP {'-'.join(map(str, SIZES))}, hinge loss + "
        f"{ALPHA:g} L2, lr 1.0 - 0.9 k / {steps}, {steps} full-batch steps, on Value and on Tensor",
        file=stream,
    )
    with Progress(2 * steps, "moons", "step", enabled=progress, stream=stream) as bar, one_blas_thread():
        for engine in ENGINES:
            result = output.runs[engine] = EngineRun(engine)
            start = time.perf_counter()
            for k in range(steps):
                lr = learning_rate_at(k, steps)
                if engine == "value":
                    loss, acc = value_step(value_model, x, y, lr)
                else:
                    loss, acc = tensor_step(tensor_model, optimizer, x, y, lr)
                result.history.append({"step": k, "loss": loss, "accuracy": acc, "lr": lr})
                if k % LOG_EVERY == 0 or k == steps - 1:
                    line = f"{engine:>6} step {k:>{len(str(steps))}}: loss {loss:.6f}, accuracy {acc:.0%}"
                    output.log.append(line)
                    bar.log(line)
                bar.update(1)
            result.seconds = time.perf_counter() - start
            model = value_model if engine == "value" else tensor_model
            result.grid_scores = (value_scores if engine == "value" else tensor_scores)(model, points).reshape(xx.shape)

    value_losses = np.array([h["loss"] for h in output.runs["value"].history])
    tensor_losses = np.array([h["loss"] for h in output.runs["tensor"].history])
    output.max_loss_difference = float(np.max(np.abs(value_losses - tensor_losses)))
    for engine, r in output.runs.items():
        final = r.history[-1]
        line = (
            f"{TITLES[engine]}: final loss {final['loss']:.6f}, accuracy {final['accuracy']:.0%}, "
            f"{1e3 * r.seconds / steps:.1f} ms a step"
        )
        output.log.append(line)
        print(line, file=stream)
    agree = f"The two engines' losses differ by at most {output.max_loss_difference:.1e} over the {steps} steps."
    output.log.append(agree)
    print(agree, file=stream)

    output.files = [
        OutputFile(write_boundary(output, "value", folder / "decision_boundary_value.png"), "decision boundary, Value"),
        OutputFile(
            write_boundary(output, "tensor", folder / "decision_boundary_tensor.png"), "decision boundary, Tensor"
        ),
        OutputFile(write_json(folder / "metrics.json", metrics(output, steps, seed)), "loss and accuracy per step"),
    ]
    return output


def metrics(output: MoonsOutput, steps: int, seed: int) -> dict:
    data = {
        "data": {"source": "sklearn.datasets.make_moons", "n_samples": N_SAMPLES, "noise": NOISE, "labels": [-1, 1]},
        "settings": {
            "network": f"MLP {'-'.join(map(str, SIZES))}, ReLU hidden layers",
            "loss": f"mean hinge relu(1 - y score) + {ALPHA:g} sum p^2",
            "lr": f"1.0 - 0.9 k / {steps}",
            "steps": steps,
            "seed": seed,
        },
        "max_loss_difference": output.max_loss_difference,
    }
    for engine, r in output.runs.items():
        data[engine] = {
            "final_loss": r.history[-1]["loss"],
            "accuracy": r.history[-1]["accuracy"],
            "seconds": r.seconds,
            "history": r.history,
        }
    return data


def write_boundary(output: MoonsOutput, engine: str, path):
    """The sign of the score over the grid (micrograd's picture), its zero line, and the points."""
    plt = pyplot()
    r = output.runs[engine]
    xx, yy = output.grid
    fig, ax = plt.subplots(figsize=(6.4, 5.2), layout="constrained")
    ax.contourf(xx, yy, r.grid_scores > 0, cmap="Spectral", alpha=0.8)
    ax.contour(xx, yy, r.grid_scores, levels=[0.0], colors="k", linewidths=0.8)
    ax.scatter(output.x[:, 0], output.x[:, 1], c=output.y, s=40, cmap="Spectral", edgecolors="k")
    ax.set(xlim=(xx.min(), xx.max()), ylim=(yy.min(), yy.max()), xlabel="x1", ylabel="x2")
    final = r.history[-1]
    ax.set_title(
        f"{TITLES[engine]}\nafter {len(r.history)} steps: loss {final['loss']:.4f}, accuracy {final['accuracy']:.0%}",
        fontsize=10,
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    output = run(out=args.out, steps=args.steps, seed=args.seed, progress=not args.no_progress)
    print()
    print_written(output.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
