"""Making tensors, by torch's names: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``eye``,
``randn``, ``rand``, ``zeros_like``, ``ones_like``.

Each takes ``dtype`` (a float type, or bool; float64 by default, where torch's default is float32)
and ``requires_grad``. Shapes are given as torch's ``zeros(2, 3)`` or numpy's ``zeros((2, 3))``.

Random tensors come from a numpy ``Generator``: ``seed=`` makes a fresh one (the same seed gives the
same numbers), ``generator=`` (torch's name) or ``rng=`` (numpy's) uses one you pass and advances it,
and with neither they come from the module's generator, which ``manual_seed(seed)`` resets. Numbers
are drawn in float64 and then rounded to ``dtype``, so a seed gives the same values in every type.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .tensor import Tensor
from .tensor_args import normalize_shape

__all__ = [
    "arange",
    "eye",
    "full",
    "manual_seed",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "tensor",
    "zeros",
    "zeros_like",
]

_GENERATOR = [np.random.default_rng()]  # the module's generator; manual_seed replaces it


def manual_seed(seed: int | None) -> np.random.Generator:
    """Reset the generator that ``randn`` and ``rand`` use when given no ``seed`` or generator; returns it."""
    _GENERATOR[0] = np.random.default_rng(seed)
    return _GENERATOR[0]


def tensor(data: ArrayLike | Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, an array, a number, a Tensor). Integer
    data becomes float64, as ``Tensor(...)`` (torch would keep it integer)."""
    return Tensor(data, requires_grad=requires_grad, dtype=_dtype(dtype, "tensor", requires_grad, optional=True))


def zeros(*shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of ``shape``."""
    return _leaf(np.zeros(normalize_shape(shape, "zeros"), dtype=_dtype(dtype, "zeros", requires_grad)), requires_grad)


def ones(*shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of ``shape``."""
    return _leaf(np.ones(normalize_shape(shape, "ones"), dtype=_dtype(dtype, "ones", requires_grad)), requires_grad)


def full(
    shape: int | Sequence[int], fill_value: float, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ``shape`` with every element ``fill_value``."""
    return _leaf(
        np.full(normalize_shape((shape,), "full"), fill_value, dtype=_dtype(dtype, "full", requires_grad)),
        requires_grad,
    )


def arange(
    start: float,
    stop: float | None = None,
    step: float = 1,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``start, start + step, ...`` up to (not including) ``stop``; ``arange(n)`` is ``0, 1, ..., n - 1``
    (as floats: float64 by default, where torch would give integers)."""
    if step == 0:
        raise ValueError("arange: step must not be 0")
    values = np.arange(start, stop, step)
    return _leaf(values.astype(_dtype(dtype, "arange", requires_grad)), requires_grad)


def eye(
    n: int, m: int | None = None, k: int = 0, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """An ``n`` by ``m`` (default ``n``) matrix with ones on diagonal ``k`` (0: the main one) and zeros elsewhere."""
    return _leaf(np.eye(n, m, k, dtype=_dtype(dtype, "eye", requires_grad)), requires_grad)


def randn(
    *shape: int | Sequence[int],
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    seed: int | None = None,
    generator: np.random.Generator | None = None,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal samples of ``shape`` (mean 0, variance 1); see the module for seeding."""
    source = _generator("randn", seed, generator, rng)
    values = source.standard_normal(normalize_shape(shape, "randn"))
    return _leaf(values.astype(_dtype(dtype, "randn", requires_grad)), requires_grad)


def rand(
    *shape: int | Sequence[int],
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    seed: int | None = None,
    generator: np.random.Generator | None = None,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Uniform samples from ``[0, 1)`` of ``shape``; see the module for seeding."""
    source = _generator("rand", seed, generator, rng)
    values = source.random(normalize_shape(shape, "rand"))
    return _leaf(values.astype(_dtype(dtype, "rand", requires_grad)), requires_grad)


def zeros_like(x: Tensor | ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``x``'s shape and (float or bool) type; ``x`` a Tensor or an array."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return _leaf(np.zeros(data.shape, dtype=_like_dtype(dtype, data, "zeros_like", requires_grad)), requires_grad)


def ones_like(x: Tensor | ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``x``'s shape and (float or bool) type; ``x`` a Tensor or an array."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return _leaf(np.ones(data.shape, dtype=_like_dtype(dtype, data, "ones_like", requires_grad)), requires_grad)


def _leaf(data: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=data.dtype)


def _dtype(dtype: DTypeLike | None, where: str, requires_grad: bool, optional: bool = False) -> np.dtype | None:
    """``dtype`` checked: a float type (float64 when None) or bool (not with requires_grad)."""
    if dtype is None:
        return None if optional else np.dtype(np.float64)
    try:
        found = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {dtype!r} is not a dtype") from None
    if found.kind not in "fb":
        raise TypeError(f"{where}: dtype must be a float type (float16, float32, float64) or bool, got {found}")
    if requires_grad and found.kind != "f":
        raise TypeError(f"{where}: only a floating-point tensor can require grad, got dtype {found}")
    return found


def _like_dtype(dtype: DTypeLike | None, data: np.ndarray, where: str, requires_grad: bool) -> np.dtype | None:
    if dtype is None and data.dtype.kind in "fb":
        dtype = data.dtype
    return _dtype(dtype, where, requires_grad)


def _generator(
    where: str, seed: int | None, generator: np.random.Generator | None, rng: np.random.Generator | None
) -> np.random.Generator:
    given = [name for name, v in (("seed", seed), ("generator", generator), ("rng", rng)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{where}: got {' and '.join(given)}; pass at most one source of random numbers")
    if seed is not None:
        return np.random.default_rng(seed)
    source = generator if generator is not None else rng
    if source is None:
        return _GENERATOR[0]
    if not isinstance(source, np.random.Generator):
        raise TypeError(
            f"{where}: {'generator' if generator is not None else 'rng'} must be a numpy Generator "
            f"(np.random.default_rng(seed)), got {type(source).__name__}"
        )
    return source
