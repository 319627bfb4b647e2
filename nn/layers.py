"""Layers as modules: ``Linear``, ``Sequential``, and the activations ``Sigmoid``, ``Tanh``, ``ReLU``."""

from __future__ import annotations

import numbers

import numpy as np

from autograd import Tensor
from autograd.tensor import apply

from .module import Module
from .primitives import LINEAR


def as_rng(rng) -> np.random.Generator:
    """``rng`` as a numpy Generator: a Generator is used as is, an int or ``None`` seeds a new one."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def positive_size(value, name: str, where: str) -> int:
    """``value`` as an int >= 1: a layer size. ``TypeError`` for a non-integer (bools included),
    ``ValueError`` below 1, each naming ``where`` and the argument ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{where}: {name} must be at least 1, got {value}")
    return int(value)


def float_dtype(dtype, where: str) -> np.dtype:
    """``dtype`` as a numpy floating-point dtype, or ``TypeError`` naming ``where``."""
    try:
        found = np.dtype(dtype)
    except TypeError:
        found = None
    if found is None or found.kind != "f":
        raise TypeError(f"{where}: dtype must be a float type (np.float32, np.float64), got {dtype!r}")
    return found


def as_tensor(x, where: str) -> Tensor:
    """``x`` as a Tensor (arrays and nested lists are wrapped as constants)."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{where}: expected a Tensor or an array, got {type(x).__name__}: {e}") from None


class Linear(Module):
    """``y = x @ weight + bias``, with ``weight`` of shape ``(in_features, out_features)``.

    The seed's convention (``x @ w1 + b1``): a row of ``x`` is one sample. PyTorch's ``nn.Linear``
    stores the transpose, ``(out_features, in_features)``, and computes ``x @ weight.T + bias``;
    transpose when copying weights between the two. ``bias`` has shape ``(out_features,)`` (a bias
    assigned by hand may be anything that broadcasts, a 0-d one included).
    Initialisation as PyTorch's default: both uniform in ``±1/sqrt(in_features)``, drawn in float64
    and stored in ``dtype`` (float64 unless asked; float32 stays float32 through the layer).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None, dtype=np.float64):
        in_features = positive_size(in_features, "in_features", "Linear")
        out_features = positive_size(out_features, "out_features", "Linear")
        dtype = float_dtype(dtype, "Linear")
        rng = as_rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.in_features = in_features
        self.out_features = out_features
        weight = rng.uniform(-bound, bound, (in_features, out_features))
        self.weight = Tensor(weight, requires_grad=True, dtype=dtype)
        self.bias = Tensor(rng.uniform(-bound, bound, out_features), requires_grad=True, dtype=dtype) if bias else None

    def forward(self, x):
        x = as_tensor(x, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): input of shape {x.shape} does not end in "
                f"{self.in_features} features"
            )
        if self.bias is None:
            return x @ self.weight
        return apply(LINEAR, (x, self.weight, self.bias))

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    """Modules applied in turn: ``Sequential(a, b, c)(x) == c(b(a(x)))``; children named ``0``, ``1``, ...

    The layers are the attributes ``"0"``, ``"1"``, ... (``getattr(seq, "0")``, or ``seq[0]``); any
    other attribute that holds a parameter or a module is registered too, after them. A module
    given twice (``Sequential(lin, lin)``) is applied twice and its parameters are listed once.
    """

    def __init__(self, *modules: Module):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {i} must be a Module, got {type(m).__name__}")
            setattr(self, str(i), m)

    @property
    def layers(self) -> list:
        """The modules in the order they are applied."""
        layers = []
        for i in range(len(self.__dict__)):
            m = self.__dict__.get(str(i))
            if m is None:
                break
            layers.append(m)
        return layers

    def forward(self, x):
        for m in self.layers:
            x = m(x)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


class Sigmoid(Module):
    """``1 / (1 + e^-x)`` elementwise; d/dx = s (1 - s)."""

    def forward(self, x):
        return as_tensor(x, "Sigmoid").sigmoid()


class Tanh(Module):
    """``tanh x`` elementwise; d/dx = 1 - tanh(x)^2."""

    def forward(self, x):
        return as_tensor(x, "Tanh").tanh()


class ReLU(Module):
    """``max(0, x)`` elementwise; d/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        return as_tensor(x, "ReLU").relu()
