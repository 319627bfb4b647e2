"""Compiled Value graphs against micrograd and our eager Value, side by side in one process.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_compiled_scalar.py [--rounds 5]

Workload: micrograd's demo (MLP 2-16-16-1 on 100 moons, hinge loss + 1e-4 L2, learning rate
1.0 - 0.9 k / 100, garbage collector on), one training step per iteration, every contender from the
same weights (``random.seed(1337)``):

- ``micrograd``: the PyPI package (0.1.0), its ``Value`` and its ``nn.py``; update ``p.data -= lr * p.grad``;
- ``eager micrograd nn.py``: micrograd's ``nn.py`` on our ``Value``, the same loop;
- ``eager nn.scalar.MLP``: our MLP (one ``weighted_sum`` node per neuron) with ``nn.SGD``;
- ``compiled micrograd nn.py``: the same model, ``autograd.compile`` of forward, ``zero_grad`` and
  backward; micrograd's update loop outside it (counted in the step);
- ``compiled nn.scalar.MLP``: ``autograd.compile`` of the whole step, ``nn.SGD`` inside, the
  learning rate a number argument.

Rounds alternate the contenders; each round times a few iterations of each in CPU time
(``time.process_time``) and takes the median. Ratios are computed per round and reported as the
median over rounds with the lowest and highest. Before timing, each compiled step runs in lockstep
with its eager twin (which must agree: the figure printed is the largest relative difference in
loss and parameters), and the replay is timed with the collector on and inside
``autograd.collector_paused()``.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moons import make_moons  # noqa: E402

import autograd  # noqa: E402
from autograd import Value, collector_paused  # noqa: E402
from nn.optim import SGD  # noqa: E402
from nn.scalar import MLP  # noqa: E402

X, Y = make_moons(100, noise=0.1, seed=1)


def schedule(k: int) -> float:
    return 1.0 - 0.9 * (k % 100) / 100


def demo_loss(value_class, model):
    inputs = [list(map(value_class, row)) for row in X.tolist()]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def micrograd_model(value_class):
    import micrograd.nn as mnn

    saved = mnn.Value
    mnn.Value = value_class  # micrograd's nn.py builds its parameters with this name
    try:
        random.seed(1337)
        return mnn.MLP(2, [16, 16, 1])
    finally:
        mnn.Value = saved


def micrograd_loop(value_class, compiled=False):
    """micrograd's demo loop: forward, zero_grad, backward (compiled or not), then the update on floats."""
    model = micrograd_model(value_class)

    def forward_backward():
        total = demo_loss(value_class, model)
        model.zero_grad()
        total.backward()
        return total

    fn = autograd.compile(forward_backward) if compiled else forward_backward

    def step(k):
        total = fn()
        lr = schedule(k)
        for p in model.parameters():
            p.data -= lr * p.grad
        return total.data

    return step, model.parameters()


def sgd_loop(compiled=False):
    """nn.scalar.MLP trained by nn.SGD, the learning rate a number argument of the (compiled) step."""
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    opt = SGD(model.parameters(), lr=1.0)

    def sgd_step(lr):
        total = demo_loss(Value, model)
        opt.zero_grad()
        total.backward()
        opt.lr = lr
        opt.step()
        return total.data

    fn = autograd.compile(sgd_step) if compiled else sgd_step
    return (lambda k: fn(schedule(k))), model.parameters()


def contenders():
    """name -> (step(k) -> loss, the model's parameters)."""
    from micrograd.engine import Value as MicrogradValue

    return {
        "micrograd": micrograd_loop(MicrogradValue),
        "eager micrograd nn.py": micrograd_loop(Value),
        "compiled micrograd nn.py": micrograd_loop(Value, compiled=True),
        "eager nn.scalar.MLP": sgd_loop(),
        "compiled nn.scalar.MLP": sgd_loop(compiled=True),
    }


def lockstep(runs, eager_name, compiled_name, iterations):
    """Run an eager build and its compiled twin side by side; the largest relative difference."""
    eager, eager_params = runs[eager_name]
    compiled, params = runs[compiled_name]
    worst = 0.0
    t0 = time.process_time()
    compiled(0)  # the recording
    recording = time.process_time() - t0
    eager(0)
    for k in range(1, iterations):
        a, b = eager(k), compiled(k)
        worst = max(worst, abs(a - b) / abs(a))
    for p, q in zip(eager_params, params):
        worst = max(worst, abs(p.data - q.data) / max(abs(p.data), 1e-300))
    return worst, recording


def time_iterations(step, start, n) -> float:
    times = []
    for k in range(start, start + n):
        t0 = time.process_time()
        step(k)
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each timing every contender")
    parser.add_argument("--check", type=int, default=20, help="lockstep iterations before timing")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.check < 2:
        parser.error("--rounds must be >= 1 and --check >= 2")
    runs = contenders()
    checks = {}
    for eager, compiled in (
        ("eager micrograd nn.py", "compiled micrograd nn.py"),
        ("eager nn.scalar.MLP", "compiled nn.scalar.MLP"),
    ):
        checks[compiled] = lockstep(runs, eager, compiled, args.check)
    per_round = {"micrograd": 2, "eager micrograd nn.py": 6, "eager nn.scalar.MLP": 20}
    times = {name: [] for name in runs}
    k = args.check
    for _ in range(args.rounds):
        for name, (step, _) in runs.items():
            times[name].append(time_iterations(step, k, per_round.get(name, 200)))
        k += 200
    paused = {}
    for name in ("compiled micrograd nn.py", "compiled nn.scalar.MLP"):
        step = runs[name][0]
        with_gc, without = [], []
        for _ in range(args.rounds):
            with_gc.append(time_iterations(step, k, 200))
            with collector_paused():
                without.append(time_iterations(step, k, 200))
        paused[name] = (statistics.median(with_gc), statistics.median(without))
        gc.disable()
        before = gc.get_count()[0]
        step(k)
        paused[name] += (gc.get_count()[0] - before,)
        gc.enable()
    print(
        f"micrograd's demo step (MLP 2-16-16-1, 100 moons, hinge + L2, gc on), CPU time per iteration, "
        f"median of {args.rounds} rounds:"
    )
    for name in runs:
        print(f"  {name:<26} {statistics.median(times[name]) * 1e3:9.3f} ms")
    print("ratios (median over rounds, [lowest, highest]):")

    def ratio(slow, fast, target):
        r = [a / b for a, b in zip(times[slow], times[fast])]
        print(
            f"  {fast} vs {slow}: {statistics.median(r):7.1f}x  [{min(r):.1f}, {max(r):.1f}]"
            + (f"   (target >= {target}x)" if target else "")
        )

    ratio("micrograd", "compiled micrograd nn.py", 500)
    ratio("micrograd", "compiled nn.scalar.MLP", 500)
    ratio("eager micrograd nn.py", "compiled micrograd nn.py", 20)
    ratio("eager nn.scalar.MLP", "compiled nn.scalar.MLP", 20)
    for name, (worst, recording) in checks.items():
        print(
            f"  {name}: first call (eager, recorded, plan built) {recording * 1e3:.0f} ms; "
            f"{args.check} steps in lockstep with eager: largest relative difference {worst:.1e}"
        )
    for name, (on, off, allocated) in paused.items():
        print(
            f"  {name}: replay {on * 1e6:.0f} us with the collector on, {off * 1e6:.0f} us inside "
            f"collector_paused() ({on / off:.2f}x); {allocated} tracked objects allocated per step"
        )
    return 0 if all(worst <= 1e-12 for worst, _ in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
