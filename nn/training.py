"""Train the article's network (``TwoLayerNet``) on the article's data with any of four optimizers.

Which loss each optimizer steps on:

- ``sgd`` and ``momentum`` step on the gradient of the *summed* BCE, which is the article's update
  (its hand-derived gradient is that of the sum): ``sgd`` at lr 0.1 reproduces the article.
- ``rmsprop`` and ``adam`` step on the gradient of the *mean* BCE (the usual choice; both divide
  by a running gradient scale, so the factor N hardly matters to them).

The loss recorded every epoch is always the *mean* BCE (the one the article prints), computed from the
forward pass before that epoch's update, as in the article.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from autograd import no_grad
from autograd.typing import Node

from .article_data import TARGETS, X, loss_floor
from .losses import binary_cross_entropy
from .optim import SGD, Adam, Optimizer, RMSprop
from .two_layer import TwoLayerNet

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")

DEFAULT_LR = {"sgd": 0.1, "momentum": 0.1, "rmsprop": 0.03, "adam": 0.05}
"""Learning rates used when ``lr`` is None (the README gives the epochs each needs)."""

LOSS_STEPPED_ON = {"sgd": "sum", "momentum": "sum", "rmsprop": "mean", "adam": "mean"}
"""The reduction of the BCE whose gradient each optimizer follows."""


@dataclass
class TrainingResult:
    """What a run produced: per-epoch mean losses, final predictions, and the network itself."""

    losses: list[float]
    predictions: np.ndarray
    targets: np.ndarray
    floor: float
    net: TwoLayerNet
    optimizer: str
    lr: float
    epochs: int

    def epochs_to_within(self, percent: float) -> int | None:
        """The first epoch whose loss is within ``percent`` % of the floor, or None if none is."""
        limit = self.floor * (1.0 + percent / 100.0)
        for epoch, loss in enumerate(self.losses):
            if loss <= limit:
                return epoch
        return None

    @property
    def final_loss(self) -> float:
        return self.losses[-1]


def make_optimizer(name: str, params: Iterable[Node], lr: float) -> Optimizer:
    """The optimizer called ``name`` (one of ``OPTIMIZERS``)."""
    if name == "sgd":
        return SGD(params, lr)
    if name == "momentum":
        return SGD(params, lr, momentum=0.9)
    if name == "rmsprop":
        return RMSprop(params, lr)
    if name == "adam":
        return Adam(params, lr)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")


def train_article_network(
    optimizer: str = "sgd",
    epochs: int = 5000,
    lr: float | None = None,
    targets: str | ArrayLike = "article",
    seed: int | None = 0,
    hidden_size: int = 4,
    on_epoch: Callable[[int, float], object] | None = None,
) -> TrainingResult:
    """Train ``TwoLayerNet(2, hidden_size, 1, seed)`` on the article's inputs.

    ``targets`` is ``"article"``, ``"second"`` or a (4, 1) array; ``on_epoch(epoch, loss)`` is called
    after every epoch with that epoch's mean loss. ``FloatingPointError`` if the weights stop being
    finite (a learning rate far too large).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"train_article_network: unknown optimizer {optimizer!r}; choose one of {OPTIMIZERS}")
    if isinstance(targets, str):
        if targets not in TARGETS:
            raise ValueError(f"train_article_network: unknown targets {targets!r}; choose one of {tuple(TARGETS)}")
        y = TARGETS[targets]
    else:
        y = np.asarray(targets, dtype=np.float64)
        if y.shape != (len(X), 1):
            raise ValueError(f"train_article_network: targets must have shape ({len(X)}, 1), got {y.shape}")
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    reduction = LOSS_STEPPED_ON[optimizer]
    n = len(X)
    net = TwoLayerNet(2, hidden_size, 1, seed=seed)
    opt = make_optimizer(optimizer, net.parameters(), lr)
    losses: list[float] = []
    for epoch in range(epochs):
        opt.zero_grad()
        p = net(X)
        loss = binary_cross_entropy(p, y, reduction=reduction)
        if not math.isfinite(float(loss.data)):
            raise FloatingPointError(
                f"train_article_network: training diverged at epoch {epoch}: the loss is {float(loss.data)} and "
                f"the weights are no longer finite ({optimizer}, lr {lr:g}); use a smaller learning rate"
            )
        loss.backward()
        opt.step()
        mean = float(loss.data) / n if reduction == "sum" else float(loss.data)
        losses.append(mean)
        if on_epoch is not None:
            on_epoch(epoch, mean)
    with no_grad():
        predictions = net(X).data.copy()
    return TrainingResult(losses, predictions, y.copy(), loss_floor(y), net, optimizer, lr, epochs)
