"""The article's two-layer sigmoid network on the engine: ``s(s(x @ w1 + b1) @ w2 + b2)``.

Two builds of the same function with the article's parameter names and shapes (``w1`` (in, h),
``b1`` (1, h), ``w2`` (h, out), ``b2`` (1, out)), so ``net.load_state_dict(reference.state_dict())``
makes either compute exactly what ``NumpyTwoLayerNet`` computes:

- ``TwoLayerNet``: four Tensors; each layer is one ``linear`` node and one ``sigmoid`` node. The net
  keeps no result of ``forward`` (the graph lives as long as the caller holds the output), and
  ``hidden(x)`` gives the hidden layer's activations.
- ``ScalarTwoLayerNet``: one ``Value`` per weight; each unit is one ``weighted_sum`` node and one
  ``sigmoid`` node, so the graph can be drawn and read unit by unit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from autograd import Tensor, Value
from autograd import tensor_ops as ops
from autograd.tensor import apply
from autograd.typing import TensorLike

from .arguments import as_tensor, float_dtype, positive_size
from .module import Module
from .primitives import LINEAR
from .scalar import weighted_sum_of_values


def _initial_weights(
    input_size: int, hidden_size: int, output_size: int, seed: int | None, where: str
) -> dict[str, np.ndarray]:
    """The reference's initialisation: standard normal weights from ``default_rng(seed)``, zero biases."""
    input_size = positive_size(input_size, "input_size", where)
    hidden_size = positive_size(hidden_size, "hidden_size", where)
    output_size = positive_size(output_size, "output_size", where)
    rng = np.random.default_rng(seed)
    return {
        "w1": rng.standard_normal((input_size, hidden_size)),
        "b1": np.zeros((1, hidden_size)),
        "w2": rng.standard_normal((hidden_size, output_size)),
        "b2": np.zeros((1, output_size)),
    }


class TwoLayerNet(Module):
    """The article's network on Tensors; the same initial weights as ``NumpyTwoLayerNet`` for the same seed
    (drawn in float64, stored in ``dtype``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        seed: int | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        dtype = float_dtype(dtype, "TwoLayerNet")
        init = _initial_weights(input_size, hidden_size, output_size, seed, "TwoLayerNet")
        self.w1 = Tensor(init["w1"], requires_grad=True, label="w1", dtype=dtype)
        self.b1 = Tensor(init["b1"], requires_grad=True, label="b1", dtype=dtype)
        self.w2 = Tensor(init["w2"], requires_grad=True, label="w2", dtype=dtype)
        self.b2 = Tensor(init["b2"], requires_grad=True, label="b2", dtype=dtype)

    def forward(self, x: TensorLike) -> Tensor:
        """``s(s(x @ w1 + b1) @ w2 + b2)`` for ``x`` of shape (N, in): four nodes."""
        return apply(ops.SIGMOID, (apply(LINEAR, (self.hidden(x), self.w2, self.b2)),))

    def hidden(self, x: TensorLike) -> Tensor:
        """The hidden layer's activations ``s(x @ w1 + b1)``, shape (N, hidden): two nodes (the
        reference's ``hidden_output``, computed on demand rather than kept from the last forward)."""
        x = as_tensor(x, "TwoLayerNet")
        if x.ndim != 2 or x.shape[1] != self.w1.shape[0]:
            raise ValueError(f"TwoLayerNet: input must have shape (N, {self.w1.shape[0]}), got {x.shape}")
        return apply(ops.SIGMOID, (apply(LINEAR, (x, self.w1, self.b1)),))

    def extra_repr(self) -> str:
        (i, h), o = self.w1.shape, self.w2.shape[1]
        return f"input_size={i}, hidden_size={h}, output_size={o}"


class ScalarTwoLayerNet(Module):
    """The article's network with one ``Value`` per weight, labelled by its numpy index (``w1[i,j]``: row i, column j).

    ``forward(x)`` takes an (N, in) array and returns N rows of ``output_size`` Values; pass them to
    ``nn.losses.binary_cross_entropy`` with the (N, out) targets.
    """

    w1: list[list[Value]]  # set in __init__, by name, as the other weights
    b1: list[list[Value]]
    w2: list[list[Value]]
    b2: list[list[Value]]

    def __init__(self, input_size: int, hidden_size: int, output_size: int, seed: int | None = None) -> None:
        init = _initial_weights(input_size, hidden_size, output_size, seed, "ScalarTwoLayerNet")
        for name, arr in init.items():
            setattr(
                self,
                name,
                [[Value(float(v), label=f"{name}[{i},{j}]") for j, v in enumerate(row)] for i, row in enumerate(arr)],
            )

    def forward(self, x: ArrayLike) -> list[list[Value]]:
        """Rows of ``s(b2_k + sum_j w2_jk s(b1_j + sum_i w1_ij x_i))``: one ``weighted_sum`` per unit."""
        x = np.asarray(x, dtype=np.float64)
        n_in = len(self.w1)
        if x.ndim != 2 or x.shape[1] != n_in:
            raise ValueError(f"ScalarTwoLayerNet: input must have shape (N, {n_in}), got {x.shape}")
        w1_columns = [tuple(col) for col in zip(*self.w1)]
        w2_columns = [tuple(col) for col in zip(*self.w2)]
        rows = []
        for sample in x.tolist():
            inputs = tuple(Value(v) for v in sample)
            hidden = tuple(weighted_sum_of_values(w, inputs, b).sigmoid() for w, b in zip(w1_columns, self.b1[0]))
            rows.append([weighted_sum_of_values(w, hidden, b).sigmoid() for w, b in zip(w2_columns, self.b2[0])])
        return rows

    def extra_repr(self) -> str:
        return f"input_size={len(self.w1)}, hidden_size={len(self.w2)}, output_size={len(self.w2[0])}"
