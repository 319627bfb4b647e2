"""micrograd's demo workload on three builds, side by side: ms per training iteration and losses.

    .venv/bin/python benchmarks/bench_scalar_mlp.py [--iters 5] [--warmup 1]

The workload is micrograd's demo notebook: an MLP 2-16-16-1 on 100 two-moons points (noise 0.1),
SVM hinge loss ``mean(relu(1 - y score)) + 1e-4 sum(p^2)``, full forward + backward + SGD with the
notebook's learning-rate schedule, the default garbage collector on. The builds:

1. ``micrograd``: the PyPI package (``micrograd.engine.Value`` with ``micrograd.nn.MLP``);
2. ``Value + micrograd nn``: micrograd's ``nn.py`` running on our ``Value`` (binary ops);
3. ``nn.scalar``: our ``MLP``, one ``weighted_sum`` node per neuron.

All start from the same weights (``random.seed(1337)`` before building). Exits with status 1 if the
losses of the builds disagree beyond 1e-9 relative; timings are reported, not asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time

import numpy as np


def two_moons(n=100, noise=0.1, seed=0):
    """``n`` points on two interleaved half circles plus Gaussian noise; labels -1 and +1."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    outer = np.c_[np.cos(t_out), np.sin(t_out)]
    inner = np.c_[1 - np.cos(t_in), 0.5 - np.sin(t_in)]
    x = np.r_[outer, inner] + rng.normal(0.0, noise, (n, 2))
    y = np.r_[-np.ones(n_out), np.ones(n_in)]
    return x.tolist(), y.tolist()


def micrograd_nn_on(value_cls):
    """micrograd's ``nn`` module with its ``Value`` replaced by ``value_cls`` (a fresh module object)."""
    spec = importlib.util.find_spec("micrograd.nn")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.Value = value_cls
    return module


def train(value_cls, mlp_cls, x, y, iters, warmup):
    """Run the notebook's loop; return (losses, ms per iteration over the timed iterations)."""
    random.seed(1337)
    model = mlp_cls(2, [16, 16, 1])
    params = model.parameters()
    losses, times = [], []
    for k in range(warmup + iters):
        start = time.perf_counter()
        inputs = [list(map(value_cls, row)) for row in x]
        scores = list(map(model, inputs))
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(scores))
        reg_loss = 1e-4 * sum(p * p for p in params)
        total = data_loss + reg_loss
        model.zero_grad()
        total.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in params:
            p.data -= lr * p.grad
        times.append(time.perf_counter() - start)
        losses.append(total.data)
    return losses, 1e3 * float(np.mean(times[warmup:]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per build")
    parser.add_argument("--warmup", type=int, default=1, help="untimed iterations first")
    args = parser.parse_args(argv)

    import micrograd.engine
    import micrograd.nn

    from autograd import Value
    from nn.scalar import MLP

    x, y = two_moons()
    builds = [
        ("micrograd", micrograd.engine.Value, micrograd.nn.MLP),
        ("Value + micrograd nn", Value, micrograd_nn_on(Value).MLP),
        ("nn.scalar (n-ary)", Value, MLP),
    ]
    results = {}
    for name, value_cls, mlp_cls in builds:
        results[name] = train(value_cls, mlp_cls, x, y, args.iters, args.warmup)

    base = results["micrograd"][1]
    print(
        f"micrograd demo workload: MLP 2-16-16-1, 100 two-moons points, {args.iters} timed iterations "
        f"after {args.warmup} warm-up, gc on"
    )
    print(f"{'build':<22} {'ms/iter':>9} {'speed-up vs micrograd':>22}")
    for name, (_, ms) in results.items():
        print(f"{name:<22} {ms:9.2f} {base / ms:21.1f}x")
    print("\nlosses per iteration")
    print(f"{'iter':>4} " + " ".join(f"{name:>22}" for name in results))
    n = args.warmup + args.iters
    for k in range(n):
        print(f"{k:>4} " + " ".join(f"{results[name][0][k]:22.15f}" for name in results))

    reference = np.array(results["Value + micrograd nn"][0])
    worst = 0.0
    for losses, _ in results.values():
        rel = np.abs(np.array(losses) - reference) / np.abs(reference)
        worst = max(worst, float(rel.max()))
    print(f"\nlargest relative difference between the builds' losses: {worst:.2e}")
    if worst > 1e-9:
        print("FAIL: the builds' losses disagree beyond 1e-9 relative", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
