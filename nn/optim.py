"""Optimizers, simplest first. Update rules are PyTorch's (``torch.optim``, default options).

Each takes a list of parameters (Tensors or Values), skips a Tensor whose ``grad`` is ``None``,
and updates ``p.data`` in place (for a Value, ``data`` is a float and is rebound).
"""

from __future__ import annotations


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        if lr < 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be >= 0, got {lr}")
        self.lr = lr
        self.state = [None] * len(self.params)

    def zero_grad(self) -> None:
        """Reset gradients: ``None`` for a Tensor, ``0.0`` for a Value."""
        for p in self.params:
            p.grad = None if hasattr(p, "requires_grad") else 0.0


class SGD(Optimizer):
    """``b = momentum b + g`` (``b = g`` at the first step); ``p -= lr b``. Plain ``p -= lr g`` when momentum is 0."""

    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params, lr)
        self.momentum = momentum

    def step(self) -> None:
        lr, mu, state = self.lr, self.momentum, self.state
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            if mu:
                # the first buffer is a copy: a later in-place change of p.grad must not reach it
                g = state[i] = (g.copy() if hasattr(g, "copy") else g) if state[i] is None else mu * state[i] + g
            p.data -= lr * g


class RMSprop(Optimizer):
    """``v = alpha v + (1 - alpha) g^2``; ``p -= lr g / (sqrt(v) + eps)``; ``v`` starts at 0."""

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps

    def step(self) -> None:
        lr, alpha, eps, state = self.lr, self.alpha, self.eps, self.state
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            v = state[i] = (1.0 - alpha) * g * g if state[i] is None else alpha * state[i] + (1.0 - alpha) * g * g
            p.data -= lr * g / (v**0.5 + eps)


class Adam(Optimizer):
    """``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2`` (both from 0), at step t:
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.betas, self.eps = betas, eps
        self.t = 0

    def step(self) -> None:
        (b1, b2), eps, state = self.betas, self.eps, self.state
        self.t += 1
        step_size = self.lr / (1.0 - b1**self.t)
        root_correction = (1.0 - b2**self.t) ** 0.5
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            m, v = state[i] or (0.0, 0.0)
            m = b1 * m + (1.0 - b1) * g
            v = b2 * v + (1.0 - b2) * g * g
            state[i] = (m, v)
            p.data -= step_size * m / (v**0.5 / root_correction + eps)
