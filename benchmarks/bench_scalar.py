"""Scalar engine: micrograd's demo workload against the micrograd package, bytes per node, and a
1,000,000-node chain.

    python benchmarks/bench_scalar.py [--iterations 8]

Workload (micrograd's demo.ipynb): MLP 2-16-16-1 on 100 two-moons points, hinge loss + 1e-4 L2,
forward + backward + SGD update per iteration with the notebook's learning-rate schedule, garbage
collector on. Three builds, all from the same weights (``random.seed(1337)``):

- ``micrograd``: the PyPI package, its ``Value`` and its ``nn.py``;
- ``autograd.Value``: micrograd's own ``nn.py`` running on our ``Value`` (binary ops, a drop-in);
- ``nn.scalar.MLP``: our MLP, one n-ary ``weighted_sum`` node per neuron.

Each build trains in a fresh Python process of its own (so none pays for another's garbage), the
builds alternating for ``--rounds`` rounds; the figure is the median time per iteration over all
rounds. Exits with status 1 if the builds' losses differ by more than 1e-9 relative. Needs
``pip install micrograd==0.1.0``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from moons import make_moons  # noqa: E402

from autograd import Value  # noqa: E402


def build_model(engine, seed=1337):
    if engine == "nn.scalar.MLP":
        from nn.scalar import MLP
    else:
        import micrograd.nn as mnn

        mnn.Value = value_class(engine)  # micrograd's nn.py builds its parameters with this name
        MLP = mnn.MLP
    random.seed(seed)
    return MLP(2, [16, 16, 1])


def training_step(value_class, model, X, y, k):
    """One iteration of micrograd's demo loop; returns the loss."""
    inputs = [list(map(value_class, row)) for row in X.tolist()]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    model.zero_grad()
    total.backward()
    lr = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= lr * p.grad
    return total.data


ENGINES = ("micrograd", "autograd.Value", "nn.scalar.MLP")


def value_class(engine):
    if engine == "micrograd":
        from micrograd.engine import Value as MicrogradValue

        return MicrogradValue
    return Value


def train(engine, iterations):
    """Run the demo loop in this process; return per-iteration seconds and losses."""
    cls = value_class(engine)
    X, y = make_moons(100, noise=0.1, seed=1)
    model = build_model(engine)
    times, losses = [], []
    for k in range(iterations):
        t0 = time.perf_counter()
        losses.append(training_step(cls, model, X, y, k))
        times.append(time.perf_counter() - t0)
    return {"times": times, "losses": losses}


def compare_with_micrograd(iterations, rounds):
    times = {name: [] for name in ENGINES}
    losses = {}
    for _ in range(rounds):
        for name in ENGINES:
            cmd = [sys.executable, __file__, "--engine", name, "--iterations", str(iterations)]
            run = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            times[name] += run["times"]
            losses[name] = run["losses"]
    median = {n: statistics.median(times[n]) for n in ENGINES}
    targets = {"autograd.Value": "target >= 10x", "nn.scalar.MLP": "target >= 30x"}
    print(
        f"micrograd demo workload (MLP 2-16-16-1, 100 moons, hinge + L2, gc on), {rounds} rounds x "
        f"{iterations} iterations, median per iteration:"
    )
    for name in ENGINES:
        speedup = median["micrograd"] / median[name]
        note = f"   {speedup:5.1f}x faster than micrograd ({targets[name]})" if name in targets else ""
        print(f"  {name:<16} {median[name] * 1e3:8.1f} ms{note}")
    reference = losses["micrograd"]
    worst = 0.0
    for name in ENGINES:
        diff = max(abs(a - b) / abs(a) for a, b in zip(reference, losses[name]))
        worst = max(worst, diff)
        print(
            f"  losses {name:<16} {', '.join(f'{v:.12f}' for v in losses[name][:3])} ...  "
            f"max relative difference from micrograd {diff:.1e}"
        )
    return worst


def bytes_per_node(n=200_000):
    """tracemalloc's count of the memory a chain of ``n`` nodes holds, per node."""
    gc.collect()
    tracemalloc.start()
    x = Value(1.0)
    base = tracemalloc.get_traced_memory()[0]
    y = x
    for _ in range(n):
        y = y * 1.0000001 + 0.5
    built = tracemalloc.get_traced_memory()[0]
    y.backward()
    after_backward = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    nodes = 2 * n
    print(
        f"memory: {(built - base) / nodes:.0f} bytes per node for the graph, "
        f"{(after_backward - base) / nodes:.0f} with gradients filled in (target <= 150)"
    )


def micrograd_bytes_per_node(n=50_000):
    from micrograd.engine import Value as MicrogradValue

    gc.collect()
    tracemalloc.start()
    y = MicrogradValue(1.0)
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(n):
        y = y * 1.0000001 + 0.5
    built = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"        micrograd: {(built - base) / (4 * n):.0f} bytes per node (its constants are nodes too: 4 per step)")


def long_chain(n=1_000_000):
    x = Value(0.5)
    t0 = time.perf_counter()
    y = x
    for _ in range(n):
        y = y * 1.0
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    assert x.grad == 1.0
    print(
        f"chain of {n:,} nodes: build {t1 - t0:.2f} s, backward {t2 - t1:.2f} s (target <= 10 s), "
        f"recursion limit {sys.getrecursionlimit()}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=10, help="training iterations per process")
    parser.add_argument("--rounds", type=int, default=2, help="processes per engine, alternating")
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)  # one worker process
    args = parser.parse_args(argv)
    if args.engine:
        print(json.dumps(train(args.engine, args.iterations)))
        return 0
    worst = compare_with_micrograd(args.iterations, args.rounds)
    bytes_per_node()
    micrograd_bytes_per_node()
    long_chain()
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
