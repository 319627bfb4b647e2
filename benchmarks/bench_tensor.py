"""Tensor engine: one training step of the seed's network against a hand-derived numpy step and
against PyTorch CPU eager, side by side in one process.

    python benchmarks/bench_tensor.py [--quick]

A step is: forward ``sigmoid(sigmoid(x @ w1 + b1) @ w2 + b2)``, binary cross-entropy (summed, the
seed's gradient), backward, and the SGD update ``p -= lr * dp`` with ``lr = 0.1 / N`` (the seed's
0.1 on the mean loss, so that thousands of steps stay finite at every size). The three implementations take
turns block by block on the same data, in float64; the figure is the median time per step over the
blocks. With ``--isolated`` each contender instead runs in a fresh process of its own, taking turns:
its own heap, so none inherits another's allocator state (which moves the middle size by +-0.1x).
PyTorch is optional (``pip install torch==2.13.0``): without it that column is left out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from autograd import Tensor
from nn.losses import binary_cross_entropy
from nn.optim import SGD
from nn.two_layer import TwoLayerNet

SIZES = [(4, 2, 4), (256, 64, 128), (4096, 784, 1024)]  # (batch N, inputs, hidden units)


def problem(n, n_in, hidden, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, n_in))
    y = rng.random((n, 1))
    params = {
        "w1": rng.standard_normal((n_in, hidden)) / np.sqrt(n_in),
        "b1": np.zeros((1, hidden)),
        "w2": rng.standard_normal((hidden, 1)) / np.sqrt(hidden),
        "b2": np.zeros((1, 1)),
    }
    return x, y, params


def numpy_step_fn(x, y, params, lr):
    """The seed's hand-derived step (its gradient is that of the summed loss)."""
    w1, b1, w2, b2 = (params[k].copy() for k in ("w1", "b1", "w2", "b2"))

    def step():
        h = 1 / (1 + np.exp(-(x @ w1 + b1)))
        p = 1 / (1 + np.exp(-(h @ w2 + b2)))
        q = np.clip(p, 1e-15, 1 - 1e-15)
        loss = -np.sum(y * np.log(q) + (1 - y) * np.log(1 - q))
        d_out = -(y / p - (1 - y) / (1 - p)) * p * (1 - p)
        d_w2 = h.T @ d_out
        d_b2 = np.sum(d_out, axis=0, keepdims=True)
        d_hidden = (d_out @ w2.T) * h * (1 - h)
        d_w1 = x.T @ d_hidden
        d_b1 = np.sum(d_hidden, axis=0, keepdims=True)
        for param, grad in ((w1, d_w1), (b1, d_b1), (w2, d_w2), (b2, d_b2)):
            param -= lr * grad
        return loss

    return step


def autograd_step_fn(x, y, params, lr):
    net = TwoLayerNet(x.shape[1], params["w1"].shape[1], 1)
    net.load_state_dict(params)
    optimizer = SGD(net.parameters(), lr=lr)
    xt, yt = Tensor(x), Tensor(y)

    def step():
        optimizer.zero_grad()
        loss = binary_cross_entropy(net(xt), yt, reduction="sum")
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def torch_step_fn(x, y, params, lr):
    import torch

    w1, b1, w2, b2 = (torch.tensor(params[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2"))
    xt, yt = torch.tensor(x), torch.tensor(y)
    optimizer = torch.optim.SGD([w1, b1, w2, b2], lr=lr)

    def step():
        optimizer.zero_grad()
        p = torch.sigmoid(torch.sigmoid(xt @ w1 + b1) @ w2 + b2)
        loss = torch.nn.functional.binary_cross_entropy(p, yt, reduction="sum")
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def time_blocks(steps: dict, block_seconds: float, blocks: int, warmup: int = 1) -> dict:
    """Median seconds per step of each function, measured in alternating blocks after ``warmup`` steps."""
    per_block = {}
    for name, step in steps.items():
        for _ in range(warmup):
            step()
        t0 = time.perf_counter()
        step()
        per_block[name] = max(1, int(block_seconds / max(time.perf_counter() - t0, 1e-7)))
    samples = {name: [] for name in steps}
    for _ in range(blocks):
        for name, step in steps.items():
            n = per_block[name]
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


STEP_FUNCTIONS = {"numpy": numpy_step_fn, "autograd": autograd_step_fn, "torch": torch_step_fn}
TARGETS = {0: "<= 2x numpy, >= 3x faster than PyTorch", 1: "<= 1.15x numpy", 2: "<= 1.05x numpy"}


def block_seconds(size_index: int, quick: bool) -> float:
    return 0.05 if quick else (0.4 if size_index < 2 else 2.0)


def measure_together(size_index, names, blocks, quick, warmup=1) -> dict:
    """Seconds per step of each contender, alternating block by block in this process."""
    n, n_in, hidden = SIZES[size_index]
    x, y, params = problem(n, n_in, hidden)
    steps = {name: STEP_FUNCTIONS[name](x, y, params, 0.1 / n) for name in names}
    first = {name: step() for name, step in steps.items()}
    losses = list(first.values())
    assert max(losses) - min(losses) <= 1e-9 * max(1.0, abs(losses[0])), f"losses disagree: {first}"
    return time_blocks(steps, block_seconds(size_index, quick), blocks, warmup)


def measure_isolated(size_index, names, blocks, quick, warmup=1) -> dict:
    """The same, but each contender in a fresh process of its own (its own heap), taking turns."""
    samples = {name: [] for name in names}
    for _ in range(max(1, blocks // 3)):
        for name in names:
            cmd = [sys.executable, __file__, "--worker", f"{size_index}:{name}", "--blocks", "3"]
            cmd += ["--warmup", str(warmup)]
            cmd += ["--quick"] if quick else []
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            samples[name].append(float(out))
    return {name: statistics.median(s) for name, s in samples.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short blocks (a smoke run)")
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--sizes", default="0,1,2", help="which sizes to run, by position (e.g. 1 for the medium one)")
    parser.add_argument(
        "--isolated", action="store_true", help="run each contender in a process of its own instead of side by side"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before timing (default 1)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # "size:name": time one contender, print seconds
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(len(os.sched_getaffinity(0)))
        names = ("numpy", "autograd", "torch")
    except ImportError:
        names = ("numpy", "autograd")
        print("PyTorch is not installed: comparing with numpy only")
    if args.worker:
        size_index, name = args.worker.split(":")
        print(measure_together(int(size_index), (name,), args.blocks, args.quick, args.warmup)[name])
        return 0

    how = "each in its own process" if args.isolated else "side by side in one process"
    print(f"seconds per training step, median over blocks, {how}")
    print(f"{'N/in/H':>15} {'numpy':>11} {'autograd':>11} {'torch':>11} {'autograd/numpy':>15} {'torch/autograd':>15}")
    measure = measure_isolated if args.isolated else measure_together
    for i, (n, n_in, hidden) in enumerate(SIZES):
        if str(i) not in args.sizes.split(","):
            continue
        t = measure(i, names, args.blocks, args.quick, args.warmup)
        torch_col = f"{t['torch'] * 1e6:9.1f}us" if "torch" in t else f"{'-':>11}"
        ratio = f"{t['torch'] / t['autograd']:14.2f}x" if "torch" in t else f"{'-':>15}"
        print(
            f"{f'{n}/{n_in}/{hidden}':>15} {t['numpy'] * 1e6:9.1f}us {t['autograd'] * 1e6:9.1f}us {torch_col} "
            f"{t['autograd'] / t['numpy']:14.2f}x {ratio}   target: {TARGETS[i]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
