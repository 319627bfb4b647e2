"""Run the demos: ``python -m demos --out DIR``."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from autograd import Tensor, Value, gradcheck


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos", description=__doc__)
    parser.add_argument("--out", default="out", help="folder for the demos' output files")
    parser.parse_args(argv)
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    z = (x * y + x**2).tanh()
    z.backward()
    print(f"z = tanh(x*y + x^2) = {z.data:.6f};  dz/dx = {x.grad:.6f}, dz/dy = {y.grad:.6f}")
    w = Tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True, label="w")
    print(gradcheck(lambda w: (w @ np.ones(2)).sigmoid().sum(), w))
    return 0


if __name__ == "__main__":
    sys.exit(main())
