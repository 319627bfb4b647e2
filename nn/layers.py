"""Layers as modules, by PyTorch's names: ``Linear``, ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``,
``Dropout``, ``LayerNorm``, ``BatchNorm1d``, ``BatchNorm2d``, ``Embedding``, ``Sequential``, and the
activations ``Sigmoid``, ``Tanh``, ``ReLU``, ``GELU``.

Initialisation as PyTorch's defaults, drawn from a numpy Generator (``rng``: a Generator, a seed or
None) in float64 and stored in ``dtype``: ``Linear`` and ``Conv2d`` weights Kaiming-uniform with
``a = sqrt(5)``, which is uniform in ``±1/sqrt(fan_in)``, their biases uniform in ``±1/sqrt(fan_in)``
(``fan_in`` = inputs per output: ``in_features``, or ``in_channels kh kw``); ``Embedding`` standard
normal; normalisation weights 1 and biases 0. The numbers differ from torch's (another generator);
copy weights to compare.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import DTypeLike

from autograd import Tensor, no_grad
from autograd.tensor import apply
from autograd.typing import RngLike, TensorLike

from . import functional as F
from .arguments import as_rng, as_tensor, float_dtype, pair, positive_size
from .module import Module
from .primitives import LINEAR

__all__ = [
    "GELU",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "LayerNorm",
    "Linear",
    "MaxPool2d",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "as_rng",
    "as_tensor",
    "float_dtype",
    "positive_size",
]


def _uniform(rng: np.random.Generator, bound: float, shape: tuple[int, ...], dtype: DTypeLike) -> Tensor:
    return Tensor(rng.uniform(-bound, bound, shape), requires_grad=True, dtype=dtype)


class Linear(Module):
    """``y = x @ weight + bias``, with ``weight`` of shape ``(in_features, out_features)``.

    The article's convention (``x @ w1 + b1``): a row of ``x`` is one sample. PyTorch's ``nn.Linear``
    stores the transpose, ``(out_features, in_features)``, and computes ``x @ weight.T + bias``;
    transpose when copying weights between the two. ``bias`` has shape ``(out_features,)`` (a bias
    assigned by hand may be anything that broadcasts, a 0-d one included).
    Initialisation as PyTorch's default (Kaiming-uniform with ``a = sqrt(5)``): weight and bias
    uniform in ``±1/sqrt(in_features)``, drawn in float64 and stored in ``dtype`` (float64 unless asked;
    float32 stays float32 through the layer). ``nn.functional.linear`` takes torch's layout.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, rng: RngLike = None, dtype: DTypeLike = np.float64
    ) -> None:
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

    def forward(self, x: TensorLike) -> Tensor:
        x = as_tensor(x, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): input of shape {x.shape} does not end in "
                f"{self.in_features} features"
            )
        if self.bias is None:
            return x @ self.weight
        return apply(LINEAR, (x, self.weight, self.bias))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    """Modules applied in turn: ``Sequential(a, b, c)(x) == c(b(a(x)))``; children named ``0``, ``1``, ...

    The layers are the attributes ``"0"``, ``"1"``, ... (``getattr(seq, "0")``, or ``seq[0]``); any
    other attribute that holds a parameter or a module is registered too, after them. A module
    given twice (``Sequential(lin, lin)``) is applied twice and its parameters are listed once.
    """

    def __init__(self, *modules: Module) -> None:
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {i} must be a Module, got {type(m).__name__}")
            setattr(self, str(i), m)

    @property
    def layers(self) -> list[Module]:
        """The modules in the order they are applied."""
        layers = []
        for i in range(len(self.__dict__)):
            m = self.__dict__.get(str(i))
            if m is None:
                break
            layers.append(m)
        return layers

    def forward(self, x: Any) -> Any:
        for m in self.layers:
            x = m(x)
        return x

    def __getitem__(self, i: int | slice) -> Module:
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


class Sigmoid(Module):
    """``1 / (1 + e^-x)`` elementwise; d/dx = s (1 - s)."""

    def forward(self, x: TensorLike) -> Tensor:
        return as_tensor(x, "Sigmoid").sigmoid()


class Tanh(Module):
    """``tanh x`` elementwise; d/dx = 1 - tanh(x)^2."""

    def forward(self, x: TensorLike) -> Tensor:
        return as_tensor(x, "Tanh").tanh()


class ReLU(Module):
    """``max(0, x)`` elementwise; d/dx = 1 where x > 0, else 0."""

    def forward(self, x: TensorLike) -> Tensor:
        return as_tensor(x, "ReLU").relu()


class GELU(Module):
    """``x Phi(x)`` elementwise (torch's exact form), or its tanh approximation (``approximate='tanh'``)."""

    def __init__(self, approximate: str = "none") -> None:
        F.gelu(np.zeros(1), approximate)  # checks the option now rather than at the first call
        self.approximate = approximate

    def forward(self, x: TensorLike) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Conv2d(Module):
    """2-D convolution (cross-correlation) of NCHW input, as torch's ``nn.Conv2d``: ``weight`` of shape
    ``(out_channels, in_channels, kh, kw)``, ``bias`` ``(out_channels,)``; ``kernel_size``, ``stride``
    and ``padding`` an int or a pair (padding also ``'valid'`` or ``'same'``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        bias: bool = True,
        rng: RngLike = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        where = "Conv2d"
        self.in_channels = positive_size(in_channels, "in_channels", where)
        self.out_channels = positive_size(out_channels, "out_channels", where)
        self.kernel_size = pair(kernel_size, "kernel_size", where, 1)
        self.stride = pair(stride, "stride", where, 1)
        self.padding: tuple[int, int] | str = (
            padding if isinstance(padding, str) else pair(padding, "padding", where, 0)
        )
        dtype = float_dtype(dtype, where)
        rng = as_rng(rng)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)  # Kaiming-uniform with a = sqrt(5): gain sqrt(1/3) times sqrt(3 / fan_in)
        self.weight = _uniform(rng, bound, (self.out_channels, self.in_channels, *self.kernel_size), dtype)
        self.bias = _uniform(rng, bound, (self.out_channels,), dtype) if bias else None

    def forward(self, x: TensorLike) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, bias={self.bias is not None}"
        )


class _Pool2d(Module):
    function: ClassVar[Callable[..., Tensor]]

    def __init__(
        self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None, padding: int = 0
    ) -> None:
        where = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", where, 1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", where, 1)
        self.padding = pair(padding, "padding", where, 0)

    def forward(self, x: TensorLike) -> Tensor:
        return type(self).function(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The max of each ``kernel_size`` window, moved by ``stride`` (default: the kernel size)."""

    function = staticmethod(F.max_pool2d)


class AvgPool2d(_Pool2d):
    """The mean of each ``kernel_size`` window, moved by ``stride`` (default: the kernel size)."""

    function = staticmethod(F.avg_pool2d)


class Flatten(Module):
    """Axes ``start_dim`` to ``end_dim`` merged into one (by default all but the batch axis), as torch."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: TensorLike) -> Tensor:
        return as_tensor(x, "Flatten").flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """In training mode each element is zeroed with probability ``p`` and the rest scaled by
    ``1 / (1 - p)``; in evaluation mode (``eval()``) the input passes unchanged. ``generator``: a numpy
    Generator, an int seed (a Generator made once, so successive calls draw new masks) or None
    (``autograd.manual_seed``'s generator)."""

    def __init__(self, p: float = 0.5, generator: RngLike = None) -> None:
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must lie in [0, 1], got {p!r}")
        self.p: float = float(p)
        self.generator: np.random.Generator | None = None if generator is None else as_rng(generator)

    def forward(self, x: TensorLike) -> Tensor:
        return F.dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerNorm(Module):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last axes, which must be ``normalized_shape``;
    ``weight`` (ones) and ``bias`` (zeros) of that shape unless ``elementwise_affine=False``."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: DTypeLike = np.float64,
    ) -> None:
        integral = (int, numbers.Integral)  # int spelled out: mypy does not count int as an Integral
        shape = (normalized_shape,) if isinstance(normalized_shape, integral) else tuple(normalized_shape)
        for size in shape:
            positive_size(size, "normalized_shape", "LayerNorm")
        self.normalized_shape = shape
        self.eps = eps
        dtype = float_dtype(dtype, "LayerNorm")
        self.weight = Tensor(np.ones(shape), requires_grad=True, dtype=dtype) if elementwise_affine else None
        self.bias = Tensor(np.zeros(shape), requires_grad=True, dtype=dtype) if elementwise_affine and bias else None

    def forward(self, x: TensorLike) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"


class _BatchNorm(Module):
    """Batch normalisation of axis 1 (see ``nn.functional.batch_norm``), as torch's modules: buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (Tensors without
    gradient, updated in place in training mode); ``momentum=None`` is the cumulative average
    ``1 / num_batches_tracked``. Evaluation mode (``eval()``) normalises with the running statistics."""

    dims: ClassVar[tuple[int, ...]] = ()
    shapes: ClassVar[str] = ""
    running_mean: Tensor
    running_var: Tensor
    num_batches_tracked: Tensor

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: DTypeLike = np.float64,
    ) -> None:
        where = type(self).__name__
        self.num_features = positive_size(num_features, "num_features", where)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{where}: momentum must lie in [0, 1] or be None, got {momentum!r}")
        self.eps = eps
        self.momentum = momentum
        self.track_running_stats = track_running_stats
        dtype = float_dtype(dtype, where)
        self.weight = Tensor(np.ones(num_features), requires_grad=True, dtype=dtype) if affine else None
        self.bias = Tensor(np.zeros(num_features), requires_grad=True, dtype=dtype) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))

    def forward(self, x: TensorLike) -> Tensor:
        where = type(self).__name__
        x = as_tensor(x, where)
        if x.ndim not in self.dims or x.shape[1] != self.num_features:
            shapes = self.shapes.format(c=self.num_features)
            raise ValueError(f"{where}({self.num_features}): input must have shape {shapes}, got {x.shape}")
        factor: float | Tensor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked += 1
                if self.momentum is None:  # a Tensor: a compiled step replays the count
                    factor = 1.0 / self.num_batches_tracked
        tracked = self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if tracked else None,
            self.running_var if tracked else None,
            self.weight,
            self.bias,
            training=self.training or not tracked,
            momentum=factor,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.weight is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` input over N (and L), per channel C."""

    dims = (2, 3)
    shapes = "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` input over N, H and W, per channel C."""

    dims = (4,)
    shapes = "(N, {c}, H, W)"


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of ``embedding_dim`` numbers (standard normal, as torch);
    ``forward(ids)`` picks the rows ``ids``, repeated ids adding up their gradients. ``padding_idx``: that
    row starts at zero and gets no gradient."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        rng: RngLike = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        n = positive_size(num_embeddings, "num_embeddings", "Embedding")
        dim = positive_size(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None and not -n <= padding_idx < n:
            raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for {n} embeddings")
        self.num_embeddings, self.embedding_dim = n, dim
        self.padding_idx = None if padding_idx is None else padding_idx % n
        weight = as_rng(rng).standard_normal((n, dim))
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0.0
        self.weight = Tensor(weight, requires_grad=True, dtype=float_dtype(dtype, "Embedding"))

    def forward(self, ids: TensorLike) -> Tensor:
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
