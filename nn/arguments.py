"""Checking and converting the arguments of layers and functions, with errors that name them."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from autograd import Tensor
from autograd.typing import RngLike


def as_rng(rng: RngLike) -> np.random.Generator:
    """``rng`` as a numpy Generator: a Generator is used as is, an int or ``None`` seeds a new one."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral):
        return np.random.default_rng(None if rng is None else int(rng))
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def positive_size(value: object, name: str, where: str) -> int:
    """``value`` as an int >= 1: a layer size. ``TypeError`` for a non-integer (bools included),
    ``ValueError`` below 1, each naming ``where`` and the argument ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{where}: {name} must be at least 1, got {value}")
    return int(value)


def float_dtype(dtype: DTypeLike, where: str) -> np.dtype:
    """``dtype`` as a numpy floating-point dtype, or ``TypeError`` naming ``where``."""
    try:
        found = np.dtype(dtype)
    except TypeError:
        found = None
    if found is None or found.kind != "f":
        raise TypeError(f"{where}: dtype must be a float type (np.float32, np.float64), got {dtype!r}")
    return found


def as_tensor(x: Any, where: str) -> Tensor:
    """``x`` as a Tensor (arrays and nested lists are wrapped as constants)."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{where}: expected a Tensor or an array, got {type(x).__name__}: {e}") from None


def pair(value: Any, name: str, where: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each at least ``minimum``, as ``(a, b)``."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair)
    ):
        raise TypeError(f"{where}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{where}: {name} must be at least {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])
