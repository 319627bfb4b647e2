"""Two interleaving half circles (the "two moons" of micrograd's demo), with numpy alone."""

from __future__ import annotations

import numpy as np


def make_moons(n_samples=100, noise=0.1, seed=1):
    """``(X, y)``: ``X`` of shape (n, 2), labels ``y`` in {-1, +1} (micrograd's demo convention)."""
    rng = np.random.default_rng(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0, np.pi, n_outer)
    t_inner = np.linspace(0, np.pi, n_inner)
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1)
    inner = np.stack([1 - np.cos(t_inner), 1 - np.sin(t_inner) - 0.5], axis=1)
    X = np.concatenate([outer, inner]) + rng.normal(scale=noise, size=(n_samples, 2))
    y = np.concatenate([-np.ones(n_outer), np.ones(n_inner)])
    return X, y
