"""Forward versus reverse mode: the cost of the Jacobian of f: R^n -> R^m both ways.

    python benchmarks/bench_jacobian.py

``f(x) = tanh(W2 tanh(W1 x))`` with ``W1`` (h, n) and ``W2`` (m, h), h = 64. Reverse mode
(``autograd.func.jacrev``) runs one forward pass and m backward passes; forward mode
(``autograd.func.jacfwd``) runs n forward passes carrying one tangent each. Both give the same
Jacobian (checked); the figure is CPU time per Jacobian, median over rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from autograd.func import jacfwd, jacrev


def make(n, m, hidden=64, seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((hidden, n)) / np.sqrt(n)
    w2 = rng.standard_normal((m, hidden)) / np.sqrt(hidden)

    def f(x):
        return ((x @ w1.T).tanh() @ w2.T).tanh()

    return f, rng.standard_normal(n)


def cpu_time(fn, rounds):
    times = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'n -> m':>12} {'reverse (jacrev)':>18} {'forward (jacfwd)':>18} {'forward / reverse':>18}")
    for n, m in ((256, 4), (64, 64), (4, 256)):
        f, x = make(n, m)
        jr, jf = jacrev(f)(x), jacfwd(f)(x)
        assert np.allclose(jr, jf, rtol=1e-10, atol=1e-12)
        tr = cpu_time(lambda f=f, x=x: jacrev(f)(x), args.rounds)
        tf = cpu_time(lambda f=f, x=x: jacfwd(f)(x), args.rounds)
        print(f"{f'{n} -> {m}':>12} {tr * 1e3:15.1f} ms {tf * 1e3:15.1f} ms {tf / tr:17.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
