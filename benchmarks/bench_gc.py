"""The garbage collector's share of an eager training step on micrograd's workload, and what
``autograd.collector_paused`` buys.

    python benchmarks/bench_gc.py [--iterations 4]

Each variant runs in a fresh process (micrograd's demo: MLP 2-16-16-1 on 100 moons, hinge + L2):
our ``Value`` running micrograd's ``nn.py`` and ``nn.scalar.MLP``, with the collector on as usual,
with torch imported but unused (its objects make every full collection longer), and inside
``collector_paused()``. The collector's time is measured with ``gc.callbacks``; the figure is
CPU time per iteration, median over iterations.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VARIANTS = ("collector on", "torch imported", "collector_paused", "torch imported, paused")


def worker(engine, variant, iterations):
    if variant.startswith("torch imported"):
        import torch  # noqa: F401
    import bench_scalar as bench
    from moons import make_moons

    from autograd.collector import collector_paused

    spent = [0.0]
    started = [0.0]

    def watch(phase, info):
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent[0] += time.process_time() - started[0]

    gc.callbacks.append(watch)
    cls = bench.value_class(engine)
    X, y = make_moons(100, noise=0.1, seed=1)
    model = bench.build_model(engine)
    times, shares = [], []
    for k in range(iterations):
        spent[0] = 0.0
        t0 = time.process_time()
        if variant.endswith("paused"):
            with collector_paused():
                bench.training_step(cls, model, X, y, k)
        else:
            bench.training_step(cls, model, X, y, k)
        dt = time.process_time() - t0
        times.append(dt)
        shares.append(spent[0] / dt)
    return {"time": statistics.median(times), "gc_share": statistics.median(shares)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine:
        print(json.dumps(worker(args.engine, args.variant, args.iterations)))
        return 0
    for engine in ("autograd.Value", "nn.scalar.MLP"):
        print(f"{engine} (micrograd's demo iteration, CPU time, median of {args.iterations}):")
        base = None
        for variant in VARIANTS:
            cmd = [
                sys.executable,
                __file__,
                "--engine",
                engine,
                "--variant",
                variant,
                "--iterations",
                str(args.iterations),
            ]
            run = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            base = base or run["time"]
            print(
                f"  {variant:<23} {run['time'] * 1e3:8.1f} ms   collector {run['gc_share'] * 100:5.1f}% of it   "
                f"{base / run['time']:.2f}x the first"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
