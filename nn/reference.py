"""The article's network in plain numpy, with its hand-derived gradients: what automatic ones are checked against.

Faithful to the article: two sigmoid layers, ``hidden = s(x @ w1 + b1)``, ``output = s(hidden @ w2 + b2)``,
the clipped mean binary cross-entropy as the printed loss, and the chain rule written out by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

EPS = 1e-15


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The article's ``1 / (1 + exp(-x))``, bit for bit, with ``-x`` capped at 709.78 so that ``exp`` never
    overflows (the article's version warns and relies on ``1 / inf = 0`` below -709.78)."""
    return 1.0 / (1.0 + np.exp(np.minimum(-x, 709.78)))


ARTICLE_STEPS = (
    ("p", lambda d, v: -(v["y"] / v["q"] - (1 - v["y"]) / (1 - v["q"])) / v["N"]),  # d_loss
    ("z2", lambda d, v: d["p"] * (v["p"] * (1 - v["p"]))),  # d_output: through the output sigmoid
    ("b2", lambda d, v: np.sum(d["z2"], axis=0, keepdims=True)),
    ("w2", lambda d, v: v["h"].T @ d["z2"]),
    ("h", lambda d, v: d["z2"] @ v["w2"].T),
    ("z1", lambda d, v: d["h"] * (v["h"] * (1 - v["h"]))),  # d_hidden: through the hidden sigmoid
    ("b1", lambda d, v: np.sum(d["z1"], axis=0, keepdims=True)),
    ("w1", lambda d, v: v["x"].T @ d["z1"]),
)
"""The article's backward pass as ``(node name, rule)`` in backward order: ``rule(d, v)`` gives ``d loss / d node``
from the steps before (``d``) and the forward values (``v``, see ``NumpyTwoLayerNet.forward_values``)."""

ARTICLE_NAMES = {
    "d_loss": "p",
    "d_output": "z2",
    "d_w2": "w2",
    "d_b2": "b2",
    "d_hidden": "z1",
    "d_w1": "w1",
    "d_b1": "b1",
}
"""The article's gradient variables and the node of the engine's build each is the gradient of
(``d_output`` is the gradient of the output layer's pre-activation ``z2 = h @ w2 + b2``)."""


class NumpyTwoLayerNet:
    """The article's ``NeuralNetwork``: ``w1`` (in, h), ``b1`` (1, h), ``w2`` (h, out), ``b2`` (1, out).

    Weights are standard normal from ``np.random.default_rng(seed)``, biases zero. (The article calls
    the global ``np.random.randn`` without a seed, so its runs differ from each other.)

    Sum versus mean: the loss the article prints is the *mean* over the N samples, but its hand-derived
    gradient is that of the *summed* per-sample loss, N times larger. ``reduction="sum"`` (the default)
    reproduces the article; ``reduction="mean"`` divides the gradient by N, giving the gradient of the
    printed loss. Compare both with automatic gradients to see the factor.
    """

    def __init__(
        self, input_size: int, hidden_size: int, output_size: int, seed: int | None = None, reduction: str = "sum"
    ) -> None:
        if reduction not in ("sum", "mean"):
            raise ValueError(f"NumpyTwoLayerNet: reduction must be 'sum' (the article's) or 'mean', got {reduction!r}")
        rng = np.random.default_rng(seed)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.reduction = reduction
        self.w1 = rng.standard_normal((input_size, hidden_size))
        self.b1 = np.zeros((1, hidden_size))
        self.w2 = rng.standard_normal((hidden_size, output_size))
        self.b2 = np.zeros((1, output_size))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``output = s(s(x @ w1 + b1) @ w2 + b2)``; keeps ``hidden_output`` and ``output`` for backward.

        ``s`` is the article's ``1 / (1 + exp(-x))``, without its overflow warning below -709.78.
        """
        x = np.asarray(x, dtype=np.float64)
        self.hidden_output = sigmoid(x @ self.w1 + self.b1)
        self.output = sigmoid(self.hidden_output @ self.w2 + self.b2)
        return self.output

    @staticmethod
    def loss(output: np.ndarray, y: np.ndarray) -> float:
        """The article's printed loss: ``-mean(y ln q + (1 - y) ln(1 - q))``, ``q = clip(output, 1e-15, 1 - 1e-15)``."""
        q = np.clip(output, EPS, 1 - EPS)
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """The article's hand-derived gradients, keyed ``w1``, ``b1``, ``w2``, ``b2``.

        With ``p = output``, ``q = clip(p)``, ``h = hidden_output``:

        - ``d_loss   = -(y/q - (1 - y)/(1 - q))``     derivative of the per-sample loss in p
        - ``d_output = d_loss * p (1 - p)``           through the output sigmoid
        - ``d_w2 = h^T d_output``, ``d_b2 = sum over samples of d_output``
        - ``d_hidden = (d_output @ w2^T) * h (1 - h)`` through the hidden sigmoid
        - ``d_w1 = x^T d_hidden``, ``d_b1 = sum over samples of d_hidden``

        ``d_loss`` is not divided by N, so these are the gradients of the *summed* loss (the article's),
        N times those of the mean loss it prints; with ``reduction="mean"`` they are divided by N.
        """
        steps = self.derivation(x, y)
        return {name: steps[name] for name in ("w1", "b1", "w2", "b2")}

    def forward_values(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """What the derivation reads: ``x``, ``y``, the weights, ``z1``, ``h``, ``z2``, ``p``, ``q`` (clipped
        ``p``) and ``N``, the divisor of ``d_loss`` (the batch size for ``reduction="mean"``, else 1)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        p = self.forward(x)
        return {
            "x": x,
            "y": y,
            "w1": self.w1,
            "b1": self.b1,
            "w2": self.w2,
            "b2": self.b2,
            "z1": x @ self.w1 + self.b1,
            "h": self.hidden_output,
            "z2": self.hidden_output @ self.w2 + self.b2,
            "p": p,
            "q": np.clip(p, EPS, 1 - EPS),
            "N": len(x) if self.reduction == "mean" else 1,
        }

    def derivation(
        self, x: np.ndarray, y: np.ndarray, replace: dict[str, Callable[[dict, dict], np.ndarray]] | None = None
    ) -> dict[str, np.ndarray]:
        """Every step of the article's backward pass: ``{node name: d loss / d node}`` in backward order.

        The names are those of the engine's build of the network (``nn.compare.article_graph``):
        ``p`` (the article's ``d_loss``), ``z2`` (``d_output``), ``b2``, ``w2``, ``h``, ``z1``
        (``d_hidden``), ``b1``, ``w1``; see ``ARTICLE_STEPS``. ``replace`` maps step names to rules of
        one's own (``rule(d, v)``, as in ``ARTICLE_STEPS``): later steps are computed from them, as a
        derivation by hand would be.
        """
        unknown = set(replace or {}) - {name for name, _ in ARTICLE_STEPS}
        if unknown:
            names = ", ".join(name for name, _ in ARTICLE_STEPS)
            raise ValueError(f"derivation: no step named {', '.join(sorted(unknown))}; the steps: {names}")
        values = self.forward_values(x, y)
        d: dict[str, np.ndarray] = {}
        for name, rule in ARTICLE_STEPS:
            d[name] = (replace or {}).get(name, rule)(d, values)
        return d

    def backward(self, x: np.ndarray, y: np.ndarray, output: np.ndarray, learning_rate: float) -> dict[str, np.ndarray]:
        """The article's update: ``param -= learning_rate * d_param`` with the gradients above.

        ``output`` is the result of ``forward(x)`` (the article passes it in; it must be current).
        """
        if output is not self.output:
            self.forward(x)
        grads = self.gradients(x, y)
        self.w2 -= learning_rate * grads["w2"]
        self.b2 -= learning_rate * grads["b2"]
        self.w1 -= learning_rate * grads["w1"]
        self.b1 -= learning_rate * grads["b1"]
        return grads

    def train(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int = 5000,
        learning_rate: float = 0.1,
        log_every: int | None = 1000,
        on_epoch: Callable[[int, float], object] | None = None,
    ) -> list[float]:
        """The article's loop: forward, update, then record the loss of *that forward's* output.

        Prints the loss every ``log_every`` epochs and at the last (``log_every=None`` for silence);
        ``on_epoch(epoch, loss)`` is called every epoch. Returns the list of losses.
        """
        losses: list[float] = []
        for epoch in range(epochs):
            output = self.forward(x)
            self.backward(x, y, output, learning_rate)
            loss = self.loss(output, y)
            losses.append(loss)
            if on_epoch is not None:
                on_epoch(epoch, loss)
            if log_every and (epoch % log_every == 0 or epoch == epochs - 1):
                print(f"epoch: {epoch}, loss: {loss}")
        return losses

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{"w1", "b1", "w2", "b2"} -> copies``: loads into ``TwoLayerNet`` and ``ScalarTwoLayerNet``."""
        return {name: getattr(self, name).copy() for name in ("w1", "b1", "w2", "b2")}

    def load_state_dict(self, state: Mapping[str, ArrayLike]) -> None:
        """Copy arrays with the same names and shapes into this network."""
        for name in ("w1", "b1", "w2", "b2"):
            arr = np.asarray(state[name], dtype=np.float64)
            if arr.shape != getattr(self, name).shape:
                raise ValueError(
                    f"NumpyTwoLayerNet.load_state_dict: {name!r} has shape {arr.shape}, expected "
                    f"{getattr(self, name).shape}"
                )
            setattr(self, name, arr.copy())
