"""The article's data: the four inputs of a two-input truth table and two sets of targets."""

from __future__ import annotations

import numpy as np

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
"""The inputs, one sample per row."""

Y_ARTICLE = np.array([[0.0], [0.85], [1.0], [0.0]])
"""The targets the article trains on."""

Y_SECOND = np.array([[0.96], [0.63], [0.75], [0.45]])
"""The second target set the article mentions as learnable too."""

TARGETS = {"article": Y_ARTICLE, "second": Y_SECOND}


def loss_floor(y) -> float:
    """The lowest mean binary cross-entropy any prediction can reach: the mean entropy of the targets.

    ``BCE(p, y) = H(y) + KL(y || p) >= H(y)`` with ``H(y) = -(y ln y + (1 - y) ln(1 - y))`` (0 at
    ``y = 0`` or ``1``), reached at ``p = y``. 0.10568 for ``Y_ARTICLE``, 0.51934 for ``Y_SECOND``.
    """
    y = np.asarray(y, dtype=np.float64)
    if np.any((y < 0) | (y > 1)):
        raise ValueError("loss_floor: targets must lie in [0, 1]")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(y > 0, y * np.log(y), 0.0) + np.where(y < 1, (1 - y) * np.log1p(-y), 0.0))
    return float(np.mean(h))
