"""The digits demo's networks against PyTorch eager: one training epoch, side by side, one thread.

    python benchmarks/bench_models.py [--rounds 11] [--models mlp,cnn] [--dtypes float64,float32]

An epoch is what ``python -m demos.digits`` trains: the 42 full batches of 32 of the 1346 training
images (in one fixed shuffled order), each a step of forward, mean cross-entropy, backward and
Adam's update (lr 0.003 for the MLP, 0.01 for the CNN), on the demo's networks:

- MLP: ``Linear(64, 256), ReLU, Linear(256, 10)``;
- CNN: ``Conv2d(1, 16, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(16, 32, 3, padding=1), ReLU,
  MaxPool2d(2), Flatten, Linear(128, 10)``.

Three contenders train the same architecture from the same initial weights on the same batches:
PyTorch eager (``torch.nn`` layers, ``F.cross_entropy``, ``torch.optim.Adam``), ours eager (the
demo's step: ``nn`` layers, cross-entropy against one-hot targets, ``nn.Adam``) and ours compiled
(the same step through ``autograd.compile``). The batches are prepared beforehand, so only training
is timed. Before timing, the first step's losses are compared (they must agree to 1e-10 relative in
float64, 1e-5 in float32).

Each (network, dtype) runs in a worker process of its own with one BLAS thread
(``OPENBLAS_NUM_THREADS=1`` and the like, set before numpy loads) and one PyTorch thread
(``torch.set_num_threads(1)``), so CPU time is the time of the one thread doing the work. After a
warm-up epoch each (the compiled step records there), the contenders take turns for ``--rounds``
rounds of one epoch each; a round's ratio is ours over PyTorch's CPU time in that round. The table
gives each contender's median epoch and the median ratio with its spread (lowest-highest) over the
rounds. Needs PyTorch (``pip install torch``) and scikit-learn (the data extra).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # measure this checkout's code, not a copy installed elsewhere

MODELS = ("mlp", "cnn")
DTYPES = ("float64", "float32")
CONTENDERS = ("torch", "eager", "compiled")
TARGETS = {"mlp": 1.0, "cnn": 2.0}  # ours / PyTorch's time per epoch, at most
BATCH_SIZE = 32
ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
LOSS_AGREEMENT = {"float64": 1e-10, "float32": 1e-5}


# ----------------------------------------------------------------------------- the worker


def epoch_batches(name: str, dtype: str, seed: int = 0) -> list:
    """The demo's inputs for network ``name`` cut into one epoch of batches: ``(x, one_hot, labels)``."""
    import numpy as np

    from demos import digits

    split = digits.load_split(seed)
    shift, scale = digits.pixel_scaling(name, split.train_images)
    x = digits.model_inputs(name, (split.train_images - shift) / scale).astype(dtype)
    one_hot = np.eye(digits.CLASSES, dtype=dtype)[split.train_labels]
    order = digits.batches(len(x), BATCH_SIZE, np.random.default_rng([seed, 3]))
    return [(x[i], one_hot[i], split.train_labels[i]) for i in order]


def torch_model(name: str, ours):
    """The same architecture in ``torch.nn``, holding copies of ``ours``'s initial weights."""
    import torch

    T = torch.nn
    if name == "mlp":
        model = T.Sequential(T.Linear(64, 256), T.ReLU(), T.Linear(256, 10))
    else:
        model = T.Sequential(
            T.Conv2d(1, 16, 3, padding=1),
            T.ReLU(),
            T.MaxPool2d(2),
            T.Conv2d(16, 32, 3, padding=1),
            T.ReLU(),
            T.MaxPool2d(2),
            T.Flatten(),
            T.Linear(128, 10),
        )
    state = ours.state_dict()
    model = model.to(getattr(torch, str(next(iter(state.values())).dtype)))  # before the copy: no rounding
    theirs = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in state.items():
            # nn.Linear keeps (in, out), torch's Linear (out, in); convolution weights share torch's layout
            theirs[key].copy_(torch.from_numpy(value.T.copy() if value.ndim == 2 else value.copy()))
    return model


def contenders(name: str, dtype: str, batches: list) -> dict:
    """``{contender: (epoch, first_step)}``: a function running one epoch, and one running a single step
    on the first batch and returning its loss."""
    import torch

    import autograd
    import nn
    from demos import digits

    lr = digits.DEFAULT_LR[name]
    ours = {}
    for kind in ("eager", "compiled"):
        model = digits.build_model(name, seed=0, dtype=dtype)
        step = digits.training_step(model, nn.Adam(model.parameters(), lr=lr))
        ours[kind] = (model, autograd.compile(step) if kind == "compiled" else step)

    model = torch_model(name, ours["eager"][0])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    torch_batches = [(torch.from_numpy(x), torch.from_numpy(labels)) for x, _, labels in batches]

    def torch_step(x, labels):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss

    def torch_epoch():
        for x, labels in torch_batches:
            torch_step(x, labels)

    def ours_epoch(step):
        def run():
            for x, one_hot, _ in batches:
                step(x, one_hot)

        return run

    return {
        "torch": (torch_epoch, lambda: torch_step(*torch_batches[0]).item()),
        **{
            kind: (ours_epoch(step), lambda step=step: step(batches[0][0], batches[0][1]).item())
            for kind, (_, step) in ours.items()
        },
    }


def measure(name: str, dtype: str, rounds: int) -> dict:
    """CPU seconds per epoch of each contender, round by round, after checking the first step's loss."""
    import torch

    torch.set_num_threads(1)
    batches = epoch_batches(name, dtype)
    runs = contenders(name, dtype, batches)
    first = {kind: first_step() for kind, (_, first_step) in runs.items()}
    for kind in ("eager", "compiled"):
        if abs(first[kind] - first["torch"]) > LOSS_AGREEMENT[dtype] * abs(first["torch"]):
            raise SystemExit(
                f"{name} {dtype}: the first step's loss is {first[kind]} ({kind}), {first['torch']} (torch)"
            )
    for epoch, _ in runs.values():
        epoch()  # warm-up (the compiled step records here)
    times = {kind: [] for kind in runs}
    for _ in range(rounds):
        for kind, (epoch, _) in runs.items():
            start = time.process_time()
            epoch()
            times[kind].append(time.process_time() - start)
    return {"steps": len(batches), "first_loss": first, "seconds": times}


# ----------------------------------------------------------------------------- the table


def run_worker(name: str, dtype: str, rounds: int) -> dict:
    env = {**os.environ, **ONE_THREAD}
    cmd = [sys.executable, __file__, "--worker", f"{name}:{dtype}", "--rounds", str(rounds)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {name} {dtype} worker failed:\n{done.stderr}")
    return json.loads(done.stdout)


def ratio_text(ours: list, theirs: list) -> str:
    ratios = [a / b for a, b in zip(ours, theirs)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=11, help="timed epochs per contender (default 11)")
    parser.add_argument("--models", default=",".join(MODELS), help="mlp, cnn or both (default: mlp,cnn)")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="float64, float32 or both (default: both)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # "model:dtype": measure, print JSON
    args = parser.parse_args(argv)
    if args.worker:
        name, dtype = args.worker.split(":")
        print(json.dumps(measure(name, dtype, args.rounds)))
        return 0
    models = [m for m in args.models.split(",") if m]
    dtypes = [d for d in args.dtypes.split(",") if d]
    unknown = sorted(set(models) - set(MODELS)) + sorted(set(dtypes) - set(DTYPES))
    if unknown or args.rounds < 1:
        parser.error(f"unknown model or dtype {', '.join(unknown)}" if unknown else "--rounds must be >= 1")
    try:
        import torch
    except ImportError:
        raise SystemExit("PyTorch is needed for the comparison: pip install torch") from None

    print(
        f"One epoch of the digits demo's networks ({BATCH_SIZE} images a step, Adam), CPU time per epoch, "
        f"median over {args.rounds} rounds, one thread each (torch {torch.__version__}); ratios: ours / PyTorch, "
        "median (lowest-highest) over the rounds"
    )
    head = (
        f"{'network':<8} {'dtype':<8} {'steps':>5} {'PyTorch':>9} {'eager':>9} {'compiled':>9} "
        f"{'eager / PyTorch':>22} {'compiled / PyTorch':>22}  target"
    )
    print(head)
    for name in models:
        for dtype in dtypes:
            found = run_worker(name, dtype, args.rounds)
            t = found["seconds"]
            med = {kind: statistics.median(v) * 1e3 for kind, v in t.items()}
            print(
                f"{name.upper():<8} {dtype:<8} {found['steps']:>5} {med['torch']:>7.1f}ms {med['eager']:>7.1f}ms "
                f"{med['compiled']:>7.1f}ms {ratio_text(t['eager'], t['torch']):>22} "
                f"{ratio_text(t['compiled'], t['torch']):>22}  <= {TARGETS[name]:.1f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
