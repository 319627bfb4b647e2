"""``autograd.compile`` against the hand-written numpy step, our eager engine, PyTorch eager and
``jax.jit`` (each where installed: ``pip install torch==2.13.0 jax``): the article's training step at
three sizes.

    python benchmarks/bench_compiled.py [--quick] [--rounds 7] [--sizes 0,1,2] [--threads 1] [--no-memory]

A step is ``bench_tensor``'s: forward ``sigmoid(sigmoid(x @ w1 + b1) @ w2 + b2)``, binary
cross-entropy summed over the batch, backward, and SGD ``p -= lr * dp`` with ``lr = 0.1 / N``, in
float64. The compiled contender is ``autograd.compile`` of our eager step, called with the arrays
``x`` and ``y`` as arguments (copied into its input buffers at every call, as a new batch would be);
which plan it chose is printed (``FloatPlan``: Python on floats; ``Plan``: numpy kernels).

Time: each size runs in a fresh process with ``--threads`` BLAS threads (1 by default, the targets'
setting), limited with threadpoolctl when it is installed and otherwise by OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS set before numpy is imported (the output says which); PyTorch
gets the same number of threads. The contenders take turns, a block of steps each (the order turns
too), for ``--rounds`` rounds. A round gives each one's CPU time per step (``time.process_time``,
which a machine shared with other work disturbs less than the wall clock), and its ratio to the
numpy step of the same round; the table shows the median ratio over rounds and, in brackets, the
lowest and highest.

Memory: a fresh process per contender, traced with ``tracemalloc`` from before the problem is made
(numpy reports its arrays' data to it). Peak is the most held at any moment of two steps after
warm-up, inputs and parameters included (the large size). Per step is what one step after warm-up
allocates above what was held before it (its transient peak), for each size: zero for a plan that
computes in preallocated buffers; the float plan's number objects show here. PyTorch's allocator is
invisible to ``tracemalloc``: it has no memory column. Exits 0 whatever the figures (a benchmark,
not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)  # this checkout's code, and bench_tensor beside this file

SIZES = [(4, 2, 4), (256, 64, 128), (4096, 784, 1024)]  # (batch N, inputs, hidden units)
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
TIME_TARGETS = {0: ("compiled", 0.5), 1: ("compiled", 0.95), 2: ("compiled", 0.7)}
TORCH_TARGET = 10.0  # the article's size: PyTorch eager's time / the compiled step's
MEMORY_TARGET = 1.3  # the large size: the compiled step's peak / the numpy step's
MEMORY_CONTENDERS = ("numpy", "eager", "compiled")


# ---------------------------------------------------------------------------- contenders


def compiled_step_fn(x, y, params, lr):
    import autograd
    from nn.losses import binary_cross_entropy
    from nn.optim import SGD
    from nn.two_layer import TwoLayerNet

    net = TwoLayerNet(x.shape[1], params["w1"].shape[1], 1)
    net.load_state_dict(params)
    optimizer = SGD(net.parameters(), lr=lr)

    def step(xs, ys):
        optimizer.zero_grad()
        loss = binary_cross_entropy(net(xs), ys, reduction="sum")
        loss.backward()
        optimizer.step()
        return loss.item()

    compiled = autograd.compile(step)

    def call():
        return compiled(x, y)

    call.compiled = compiled
    return call


def jax_step_fn(x, y, params, lr):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def loss_fn(p, xs, ys):
        h = jax.nn.sigmoid(xs @ p["w1"] + p["b1"])
        out = jax.nn.sigmoid(h @ p["w2"] + p["b2"])
        q = jnp.clip(out, 1e-15, 1 - 1e-15)
        return -jnp.sum(ys * jnp.log(q) + (1 - ys) * jnp.log(1 - q))

    @jax.jit
    def update(p, xs, ys):
        loss, g = jax.value_and_grad(loss_fn)(p, xs, ys)
        return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g), loss

    state = {"p": {k: jnp.asarray(v) for k, v in params.items()}}
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def step():
        state["p"], loss = update(state["p"], xj, yj)
        return float(loss)

    return step


def step_functions(names):
    import bench_tensor

    table = {
        "numpy": bench_tensor.numpy_step_fn,
        "compiled": compiled_step_fn,
        "eager": bench_tensor.autograd_step_fn,
        "torch": bench_tensor.torch_step_fn,
        "jax": jax_step_fn,
    }
    return {name: table[name] for name in names}


def available_contenders() -> list:
    names = ["numpy", "compiled", "eager"]
    for module in ("torch", "jax"):
        try:
            __import__(module)
        except ImportError:
            continue
        names.append(module)
    return names


# ---------------------------------------------------------------------------- workers


def limit_threads(threads: int) -> str:
    """Limit BLAS (and PyTorch) to ``threads`` threads; say how."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        how = f"{'/'.join(THREAD_VARIABLES)}={threads} set before numpy was imported"
    else:
        threadpool_limits(threads)
        how = "threadpoolctl"
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.set_num_threads(threads)
    return how


def time_worker(size_index, names, rounds, block_seconds, threads) -> dict:
    how = limit_threads(threads)
    import bench_tensor

    n, n_in, hidden = SIZES[size_index]
    x, y, params = bench_tensor.problem(n, n_in, hidden)
    steps = {name: fn(x, y, params, 0.1 / n) for name, fn in step_functions(names).items()}
    first = {name: step() for name, step in steps.items()}  # the compiled step records here
    losses = list(first.values())
    assert max(losses) - min(losses) <= 1e-9 * max(1.0, abs(losses[0])), f"losses disagree: {first}"
    per_block = {}
    for name, step in steps.items():
        step()
        t0 = time.process_time()
        step()
        per_block[name] = max(1, int(block_seconds / max(time.process_time() - t0, 1e-7)))
    samples = {name: [] for name in steps}
    order = list(steps)
    for r in range(rounds):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            step, count = steps[name], per_block[name]
            t0 = time.process_time()
            for _ in range(count):
                step()
            samples[name].append((time.process_time() - t0) / count)
    plan = repr(steps["compiled"].compiled).rsplit(", ", 1)[1].rstrip(">") if "compiled" in steps else ""
    return {"samples": samples, "threads": how, "plan": plan}


def memory_worker(size_index, name) -> dict:
    """Peak bytes over two steps after warm-up, and one step's transient bytes (see the docstring)."""
    import bench_tensor

    fn = step_functions([name])[name]
    fn(*bench_tensor.problem(2, 2, 2), 0.1)()  # modules imported on first use: not the step's memory
    tracemalloc.start()
    n, n_in, hidden = SIZES[size_index]
    x, y, params = bench_tensor.problem(n, n_in, hidden)
    step = fn(x, y, params, 0.1 / n)
    step()
    step()  # the compiled step: recorded, then replayed once
    tracemalloc.reset_peak()
    step()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step()
    current, transient = tracemalloc.get_traced_memory()
    return {"peak": peak, "step": transient - before, "kept": current - before}


def run_worker(args: list, threads: int) -> dict:
    env = dict(os.environ)
    env.update({variable: str(threads) for variable in THREAD_VARIABLES})
    env["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- the report


def spread(values) -> str:
    return f"{statistics.median(values):6.2f}x [{min(values):.2f}-{max(values):.2f}]"


def report_time(size_index, result, names) -> dict:
    samples = result["samples"]
    numpy_times = samples["numpy"]
    ratios = {name: [t / b for t, b in zip(samples[name], numpy_times)] for name in names if name != "numpy"}
    n, n_in, hidden = SIZES[size_index]
    cells = [f"{f'{n}/{n_in}/{hidden}':>15}", f"{statistics.median(numpy_times) * 1e6:10.1f}us"]
    for name in names:
        if name != "numpy":
            cells.append(f"{statistics.median(samples[name]) * 1e6:10.1f}us {spread(ratios[name]):>22}")
    print("  ".join(cells) + f"   plan: {result['plan']}")
    if "torch" in samples:
        ratios["torch/compiled"] = [t / c for t, c in zip(samples["torch"], samples["compiled"])]
    return ratios


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short blocks and 3 rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default="0,1,2", help="which sizes to run, by position (e.g. 0,1)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    parser.add_argument("--no-memory", action="store_true", help="time only")
    parser.add_argument("--time-worker", help=argparse.SUPPRESS)  # "size:name,name"
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)  # "size:name"
    parser.add_argument("--block", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_worker:
        size, names = args.time_worker.split(":")
        print(json.dumps(time_worker(int(size), names.split(","), args.rounds, args.block, args.threads)))
        return 0
    if args.memory_worker:
        size, name = args.memory_worker.split(":")
        print(json.dumps(memory_worker(int(size), name)))
        return 0

    rounds = 3 if args.quick else args.rounds
    names = available_contenders()
    sizes = [i for i in range(len(SIZES)) if str(i) in args.sizes.split(",")]
    print(f"CPU time per training step, median over {rounds} rounds, side by side in one process per size")
    print("ratios: time / the numpy step's time in the same round, median [lowest-highest] over rounds")
    header = [f"{'N/in/H':>15}", f"{'numpy':>12}"]
    header += [f"{name:>12} {f'{name}/numpy':>22}" for name in names if name != "numpy"]
    print("  ".join(header))
    measured, measured_plan, threads_how = {}, {}, None
    for i in sizes:
        block = 0.05 if args.quick else (0.3 if i < 2 else 1.5)
        worker_args = ["--time-worker", f"{i}:{','.join(names)}", "--rounds", str(rounds), "--block", str(block)]
        result = run_worker([*worker_args, "--threads", str(args.threads)], args.threads)
        threads_how = result["threads"]
        measured_plan[i] = result["plan"]
        measured[i] = report_time(i, result, names)
    print(f"BLAS threads: {args.threads} ({threads_how})")

    memory = {}
    if not args.no_memory:
        print("\nmemory (tracemalloc, a fresh process per contender): peak MB over two steps after warm-up;")
        print("bytes one step allocates above what was held before it (freed again: 'kept' is what it leaves)")
        print(f"{'N/in/H':>15}  {'peak MB':>31}  {'allocated per step':>31}  {'kept':>9}")
        print(f"{'':>15}  " + "  ".join(f"{name:>9}" for name in MEMORY_CONTENDERS * 2) + f"  {'compiled':>9}")
        for i in sizes:
            row = {name: run_worker(["--memory-worker", f"{i}:{name}"], args.threads) for name in MEMORY_CONTENDERS}
            memory[i] = row
            n, n_in, hidden = SIZES[i]
            peaks = "  ".join(f"{row[name]['peak'] / 1e6:9.3f}" for name in MEMORY_CONTENDERS)
            steps = "  ".join(f"{row[name]['step']:9,d}" for name in MEMORY_CONTENDERS)
            print(f"{f'{n}/{n_in}/{hidden}':>15}  {peaks}  {steps}  {row['compiled']['kept']:9,d}")

    print("\ntargets")
    for i in sizes:
        name, limit = TIME_TARGETS[i]
        value = statistics.median(measured[i][name])
        n, n_in, hidden = SIZES[i]
        print(_verdict(f"{n}/{n_in}/{hidden}: compiled <= {limit}x the numpy step", value, value <= limit, "x"))
        if i == 0 and "torch/compiled" in measured[i]:
            speedup = statistics.median(measured[i]["torch/compiled"])
            label = f"{n}/{n_in}/{hidden}: >= {TORCH_TARGET:g}x faster than PyTorch eager"
            print(_verdict(label, speedup, speedup >= TORCH_TARGET, "x faster"))
        if i in memory:
            allocated = memory[i]["compiled"]["step"]
            what = " (Python number objects)" if measured_plan[i] == "FloatPlan" else ""
            label = f"{n}/{n_in}/{hidden}: nothing allocated per replayed step"
            print(_verdict(label, allocated, allocated == 0, f" bytes{what}"))
        if i == 2 and i in memory:
            ratio = memory[i]["compiled"]["peak"] / memory[i]["numpy"]["peak"]
            label = f"{n}/{n_in}/{hidden}: peak memory <= {MEMORY_TARGET}x the numpy step's"
            print(_verdict(label, ratio, ratio <= MEMORY_TARGET, "x"))
    return 0


def _verdict(target, value, met, unit) -> str:
    shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,d}"
    return f"  {'met    ' if met else 'NOT met'}  {target}: {shown}{unit}"


if __name__ == "__main__":
    sys.exit(main())
