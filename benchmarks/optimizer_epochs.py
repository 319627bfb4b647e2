"""Epochs each optimizer needs to bring the article's network's mean loss within 2% of the floor.

    .venv/bin/python benchmarks/optimizer_epochs.py [--seeds 10] [--max-epochs 50000] [--percent 2]

Prints a markdown table: the median over seeds 0..n-1 of the first epoch whose mean BCE is within
``percent`` % of the floor (the targets' mean entropy), with the learning rate and loss stepped on.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from nn.training import DEFAULT_LR, LOSS_STEPPED_ON, OPTIMIZERS, train_article_network


class _Reached(Exception):
    pass


def epochs_to_within(optimizer, seed, percent, max_epochs, targets):
    """The first epoch within ``percent`` % of the floor, or None within ``max_epochs``."""
    from nn.article_data import TARGETS, loss_floor

    limit = loss_floor(TARGETS[targets]) * (1 + percent / 100)

    def watch(epoch, loss):
        if loss <= limit:
            raise _Reached(epoch)

    try:
        train_article_network(optimizer, epochs=max_epochs, seed=seed, targets=targets, on_epoch=watch)
    except _Reached as reached:
        return reached.args[0]
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..n-1 (default 10)")
    parser.add_argument("--max-epochs", type=int, default=50000)
    parser.add_argument("--percent", type=float, default=2.0)
    parser.add_argument("--targets", default="article", choices=("article", "second"))
    args = parser.parse_args(argv)
    print(
        f"| optimizer | lr | loss stepped on | median epochs to within {args.percent:g}% of the floor "
        f"(seeds 0-{args.seeds - 1}) | seeds not reaching it in {args.max_epochs} |"
    )
    print("|---|---|---|---|---|")
    for name in OPTIMIZERS:
        found = [epochs_to_within(name, s, args.percent, args.max_epochs, args.targets) for s in range(args.seeds)]
        missed = sum(e is None for e in found)
        median = np.median([args.max_epochs if e is None else e for e in found])
        shown = f"> {args.max_epochs}" if median >= args.max_epochs else f"{median:g}"
        print(f"| {name} | {DEFAULT_LR[name]:g} | {LOSS_STEPPED_ON[name]} BCE | {shown} | {missed} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
