"""Tensor engine: one training step of the seed's network against a hand-derived numpy step and
against PyTorch CPU eager, side by side in one process.

    python benchmarks/bench_tensor.py [--quick]

A step is: forward ``sigmoid(sigmoid(x @ w1 + b1) @ w2 + b2)``, binary cross-entropy (summed, the
seed's gradient), backward, and the SGD update ``p -= lr * dp`` with ``lr = 0.1 / N`` (the seed's
0.1 on the mean loss, so that thousands of steps stay finite at every size). The three implementations take
turns block by block on the same data, in float64; the figure is the median time per step over the
blocks. PyTorch is optional (``pip install torch==2.13.0``): without it that column is left out.
"""

from __future__ import annotations

import argparse
import statistics
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


def time_blocks(steps: dict, block_seconds: float, blocks: int) -> dict:
    """Median seconds per step of each function, measured in alternating blocks."""
    per_block = {}
    for name, step in steps.items():
        step()  # warm up
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short blocks (a smoke run)")
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--sizes", default="0,1,2", help="which sizes to run, by position (e.g. 1 for the medium one)")
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(len(__import__("os").sched_getaffinity(0)))
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch is not installed: comparing with numpy only")

    targets = {0: "<= 2x numpy, >= 3x faster than PyTorch", 1: "<= 1.15x numpy", 2: "<= 1.05x numpy"}
    header = (
        f"{'N/in/H':>15} {'numpy':>11} {'autograd':>11} {'torch':>11} {'autograd/numpy':>15} {'torch/autograd':>15}"
    )
    print(header)
    for i, (n, n_in, hidden) in enumerate(SIZES):
        if str(i) not in args.sizes.split(","):
            continue
        x, y, params = problem(n, n_in, hidden)
        lr = 0.1 / n
        steps = {"numpy": numpy_step_fn(x, y, params, lr), "autograd": autograd_step_fn(x, y, params, lr)}
        if have_torch:
            steps["torch"] = torch_step_fn(x, y, params, lr)
        first = {name: step() for name, step in steps.items()}
        losses = list(first.values())
        assert max(losses) - min(losses) <= 1e-9 * max(1.0, abs(losses[0])), f"losses disagree: {first}"
        block = 0.05 if args.quick else (0.4 if i < 2 else 2.0)
        t = time_blocks(steps, block, 3 if args.quick else args.blocks)
        torch_col = f"{t['torch'] * 1e6:9.1f}us" if have_torch else f"{'-':>11}"
        ratio = f"{t['torch'] / t['autograd']:14.2f}x" if have_torch else f"{'-':>15}"
        print(
            f"{f'{n}/{n_in}/{hidden}':>15} {t['numpy'] * 1e6:9.1f}us {t['autograd'] * 1e6:9.1f}us {torch_col} "
            f"{t['autograd'] / t['numpy']:14.2f}x {ratio}   target: {targets[i]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
