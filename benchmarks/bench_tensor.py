"""Tensor engine: one training step of the article's network against a hand-derived numpy step and
against PyTorch CPU eager: time side by side in one process, and peak memory.

    python benchmarks/bench_tensor.py [--quick] [--sizes 0,1,2] [--isolated] [--no-memory]

A step is: forward ``sigmoid(sigmoid(x @ w1 + b1) @ w2 + b2)``, binary cross-entropy (summed, the
article's gradient), backward, and the SGD update ``p -= lr * dp`` with ``lr = 0.1 / N`` (the article's
0.1 on the mean loss, so that thousands of steps stay finite at every size). The three implementations take
turns block by block on the same data, in float64; the figure is the median time per step over the
blocks. With ``--isolated`` each contender instead runs in a fresh process of its own, taking turns:
its own heap, so none inherits another's allocator state (which moves the middle size by +-0.1x).
PyTorch is optional (``pip install torch==2.13.0``): without it that column is left out.

Peak memory is measured in a fresh process per contender (none inherits another's arrays or
allocator state), over two steps after a warm-up step, and is the most memory held at any moment
of a step, the inputs and parameters included (so a graph kept alive from the previous step
counts). For numpy and the engine it is ``tracemalloc``'s peak: numpy reports every array's data
to ``tracemalloc``, so this counts exactly the bytes of the arrays and Python objects alive, the
same on every run, and nothing of the interpreter's or libraries' code (which ``ru_maxrss`` would
add, the same for both, flattening the ratio). PyTorch's allocator is invisible to ``tracemalloc``;
its figure is the growth of the resident set (Linux ``VmHWM``, reset before the steps) plus the
bytes of its inputs and parameters: comparable in size, not to the byte.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # measure this checkout's code, not a copy installed elsewhere

from autograd.tensor import constant  # noqa: E402
from nn.losses import binary_cross_entropy  # noqa: E402
from nn.optim import SGD  # noqa: E402
from nn.two_layer import TwoLayerNet  # noqa: E402

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
    """The article's hand-derived step (its gradient is that of the summed loss)."""
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
    xt, yt = constant(x), constant(y)  # the arrays the other contenders use, not copies of them

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
TARGETS = {
    0: "time <= 2x numpy, >= 3x faster than PyTorch",
    1: "time <= 1.15x numpy",
    2: "time <= 1.05x numpy, memory <= 1.3x numpy",
}


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


def measure_memory_here(size_index, name) -> int:
    """Peak bytes over two steps of contender ``name`` (see the module's docstring); run it in a fresh process."""
    n, n_in, hidden = SIZES[size_index]
    if name == "torch":
        x, y, params = problem(n, n_in, hidden)
        step = STEP_FUNCTIONS[name](x, y, params, 0.1 / n)
        step()
        gc.collect()
        before = _status_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident set
        step()
        step()
        held = x.nbytes + y.nbytes + sum(a.nbytes for a in params.values())
        return (_status_kb("VmHWM") - before) * 1024 + held
    STEP_FUNCTIONS[name](*problem(2, 2, 2), 0.1)()  # modules imported on first use: not the step's memory
    tracemalloc.start()
    x, y, params = problem(n, n_in, hidden)
    step = STEP_FUNCTIONS[name](x, y, params, 0.1 / n)
    step()
    gc.collect()
    tracemalloc.reset_peak()
    step()
    step()
    return tracemalloc.get_traced_memory()[1]


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M).group(1))


def measure_memory(size_index, names) -> dict:
    """Peak bytes of each contender, each in a fresh process of its own."""
    peaks = {}
    for name in names:
        if name == "torch" and not os.path.exists("/proc/self/clear_refs"):
            continue  # the resident-set figure needs Linux's /proc
        cmd = [sys.executable, __file__, "--memory-worker", f"{size_index}:{name}"]
        peaks[name] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return peaks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short blocks (a smoke run)")
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--sizes", default="0,1,2", help="which sizes to run, by position (e.g. 1 for the medium one)")
    parser.add_argument(
        "--isolated", action="store_true", help="run each contender in a process of its own instead of side by side"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before timing (default 1)")
    parser.add_argument("--no-memory", action="store_true", help="time only: skip the peak-memory processes")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # "size:name": time one contender, print seconds
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)  # "size:name": print its peak bytes
    args = parser.parse_args(argv)
    if args.memory_worker:
        size_index, name = args.memory_worker.split(":")
        print(json.dumps(measure_memory_here(int(size_index), name)))
        return 0
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
    print(f"time: seconds per training step, median over blocks, {how}")
    if not args.no_memory:
        print("memory: peak MB during a step, inputs and parameters included, each contender in a fresh process")
    head = f"{'N/in/H':>15} {'numpy':>10} {'autograd':>10} {'torch':>10} {'ag/numpy':>9} {'torch/ag':>9}"
    if not args.no_memory:
        head += f" | {'numpy':>8} {'autograd':>8} {'torch':>8} {'ag/numpy':>9}"
    print(head)
    measure = measure_isolated if args.isolated else measure_together
    for i, (n, n_in, hidden) in enumerate(SIZES):
        if str(i) not in args.sizes.split(","):
            continue
        t = measure(i, names, args.blocks, args.quick, args.warmup)
        torch_col = f"{t['torch'] * 1e6:8.1f}us" if "torch" in t else f"{'-':>10}"
        ratio = f"{t['torch'] / t['autograd']:8.2f}x" if "torch" in t else f"{'-':>9}"
        line = (
            f"{f'{n}/{n_in}/{hidden}':>15} {t['numpy'] * 1e6:8.1f}us {t['autograd'] * 1e6:8.1f}us {torch_col} "
            f"{t['autograd'] / t['numpy']:8.2f}x {ratio}"
        )
        if not args.no_memory:
            m = measure_memory(i, names)
            torch_mem = f"{m['torch'] / 1e6:8.3f}" if "torch" in m else f"{'-':>8}"
            line += (
                f" | {m['numpy'] / 1e6:8.3f} {m['autograd'] / 1e6:8.3f} {torch_mem} {m['autograd'] / m['numpy']:8.2f}x"
            )
        print(line + f"   target: {TARGETS[i]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
