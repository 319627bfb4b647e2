"""Optimizers, simplest first. Update rules and checks are PyTorch's (``torch.optim``, default options).

Each takes the parameters to train, ``net.parameters()`` (a list of leaf Tensors that require grad,
or of Values), each once, and keeps its state per parameter: Adam counts steps per parameter, so
one whose first gradient arrives late gets the bias correction of its own first step, as in
PyTorch. ``step()`` skips a Tensor whose ``grad`` is ``None`` and updates the others in place
through the engine: ``d -= update`` on ``d = p.detach()``, which shares ``p``'s data and version
counter, so this is ``with no_grad(): p -= update`` without the cost of entering ``no_grad`` (a
fifth of the step's own time at the article's size). The version counter advances, so a backward
that still needs the old values raises instead of computing a stale gradient. A parameter keeps
its float type (float32 stays float32). A Value's ``data`` is a float and is rebound.

Options are checked as PyTorch checks them, and a little more: ``lr`` and ``eps`` finite and
``>= 0``, ``momentum >= 0``, ``betas`` each in [0, 1), RMSprop's ``alpha`` in [0, 1].
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd import Tensor, Value, graph, quiet
from autograd.typing import Node

from .module import Module

CHUNK = 1 << 16
"""Elements per slice when a large parameter is updated by ``p -= lr * direction``: the product is
formed a slice at a time, so the step needs no temporary as large as the parameter (6.4 MB of a
180 MB peak at the benchmark's largest size)."""


class Optimizer:
    """Base class: ``parameters`` (the list being trained), ``lr``, ``state`` (one dict per parameter),
    ``detached`` (for each Tensor parameter, its ``detach()``: what ``step`` writes through)."""

    def __init__(self, params: Iterable[Node], lr: float) -> None:
        owner = type(self).__name__
        self.parameters = checked_parameters(owner, params)
        self.lr = hyperparameter(owner, "lr", lr)
        self.state: list[dict[str, Any]] = [{} for _ in self.parameters]
        self.detached: list[Node] = [p.detach() if isinstance(p, Tensor) else p for p in self.parameters]

    def zero_grad(self) -> None:
        """Reset gradients: ``None`` for a Tensor, ``0.0`` for a Value."""
        if graph.LISTENERS:
            graph.notify("zero_grad", self.parameters)
        for p in self.parameters:
            p.grad = None if isinstance(p, Tensor) else 0.0

    def step(self) -> None:
        """Update every parameter that has a gradient (numpy's overflow warnings silenced, as in the
        engine: an update that overflows gives inf, as in PyTorch, and the next loss says so)."""
        if graph.LISTENERS:
            graph.notify("step", self)
            try:
                self._step()
            finally:
                graph.notify("step_done", self)
            return
        self._step()

    def compiled_step(self) -> Callable[[], None]:
        """The update of ``step`` as a function of no arguments that allocates nothing: what a compiled
        replay (``autograd.compile``) calls. It reads ``lr`` and the gradients when called and gives the
        same numbers as ``step``, bit for bit (a test checks it). Parameters without a gradient or state
        yet are left to ``step``'s own code."""
        kernels = [self.kernel(i) for i in range(len(self.parameters))]

        def run() -> None:
            token = quiet.silence()
            try:
                for kernel in kernels:
                    kernel()
            finally:
                quiet.restore(token)

        return run

    def kernel(self, i: int) -> Callable[[], None]:
        """Parameter ``i``'s update as a function of no arguments (the generic one calls ``update``)."""
        p, state = self.parameters[i], self.state[i]

        def run() -> None:
            g = p.grad
            if g is not None:
                self.update(self.writable(i), g, state)

        return run

    def _step(self) -> None:
        token = quiet.silence()
        try:
            for i, (p, state) in enumerate(zip(self.parameters, self.state)):
                g = p.grad
                if g is not None:
                    self.update(self.writable(i), g, state)
        finally:
            quiet.restore(token)

    def writable(self, i: int) -> Node:
        """What ``step`` writes parameter ``i`` through: the Value itself, or the Tensor's ``detach()``
        (made again if the parameter's ``data`` was rebound since)."""
        target = self.detached[i]
        if target is not self.parameters[i] and target.data is not self.parameters[i].data:
            target = self.detached[i] = self.parameters[i].detach()  # type: ignore[union-attr]  # a Tensor here
        return target

    def update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        """Update one parameter in place, ``p`` (a Value, or a detached Tensor sharing the parameter's
        data and version) given its gradient ``g`` and its ``state``."""
        raise NotImplementedError(f"{type(self).__name__}: define update(p, g, state)")


class SGD(Optimizer):
    """``b = momentum b + g`` (``b = g`` at the first step); ``p -= lr b``. Plain ``p -= lr g`` when momentum is 0."""

    def __init__(self, params: Iterable[Node], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = hyperparameter("SGD", "momentum", momentum)

    def _step(self) -> None:
        if self.momentum:
            return super()._step()
        # plain SGD: Optimizer.step's loop with update and descend inlined for small tensors (8.8 instead
        # of 10.6 us for the article's four parameters)
        lr = self.lr
        token = quiet.silence()
        try:
            for i, p in enumerate(self.parameters):
                g = p.grad
                if g is None:
                    continue
                if type(p) is not Tensor or g.size > CHUNK:
                    self.update(self.writable(i), g, None)  # type: ignore[arg-type]  # no state without momentum
                else:
                    # p -= lr g written into p's array directly (the numbers of the engine's -=, without
                    # its checks: 1.2 us a parameter at the article's size) and stamped as a change
                    data = p.data
                    np.subtract(data, lr * g, out=data, casting="same_kind")
                    p.mark_changed("-=")
        finally:
            quiet.restore(token)

    def update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        if self.momentum:
            buffer = state.get("momentum_buffer")
            # the first buffer is a copy: a later in-place change of p.grad must not reach it
            g = state["momentum_buffer"] = _copy(g) if buffer is None else self.momentum * buffer + g
        descend(p, self.lr, g)

    def kernel(self, i: int) -> Callable[[], None]:
        p, state = self.parameters[i], self.state[i]
        if not isinstance(p, Tensor) or (self.momentum and "momentum_buffer" not in state):
            return super().kernel(i)
        data = p.data
        scratch = np.empty_like(data)

        def run() -> None:
            g = p.grad
            if g is None:
                return
            if self.momentum:
                b = state["momentum_buffer"]
                np.multiply(b, self.momentum, out=b)
                np.add(b, g, out=b)
                g = b
            np.multiply(float(self.lr), g, out=scratch)
            np.subtract(data, scratch, out=data)

        return run


class RMSprop(Optimizer):
    """``v = alpha v + (1 - alpha) g^2``; ``p -= lr g / (sqrt(v) + eps)``; ``v`` starts at 0."""

    def __init__(self, params: Iterable[Node], lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.alpha = hyperparameter("RMSprop", "alpha", alpha, high=1.0)
        self.eps = hyperparameter("RMSprop", "eps", eps)

    def update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        alpha = self.alpha
        v = state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1.0 - alpha) * g * g
        descend(p, None, self.lr * g / (_sqrt(v) + self.eps))

    def kernel(self, i: int) -> Callable[[], None]:
        p, state = self.parameters[i], self.state[i]
        if not isinstance(p, Tensor) or "square_avg" not in state:
            return super().kernel(i)
        data, scratch, root = p.data, np.empty_like(p.data), np.empty_like(p.data)

        def run() -> None:
            g = p.grad
            if g is None:
                return
            v, alpha = state["square_avg"], self.alpha
            np.multiply(1.0 - alpha, g, out=scratch)  # (1 - alpha) g g, in the order update computes it
            np.multiply(scratch, g, out=scratch)
            np.multiply(v, alpha, out=v)
            np.add(v, scratch, out=v)
            np.sqrt(v, out=root)
            np.add(root, self.eps, out=root)
            np.multiply(float(self.lr), g, out=scratch)
            np.divide(scratch, root, out=scratch)
            np.subtract(data, scratch, out=data)

        return run


class Adam(Optimizer):
    """``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2`` (both from 0), at this parameter's step t:
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``."""

    def __init__(
        self, params: Iterable[Node], lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        super().__init__(params, lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (
            hyperparameter("Adam", "betas[0]", b1, high=1.0, open_high=True),
            hyperparameter("Adam", "betas[1]", b2, high=1.0, open_high=True),
        )
        self.eps = hyperparameter("Adam", "eps", eps)

    def update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        b1, b2 = self.betas
        t = state["step"] = state.get("step", 0) + 1
        # m as PyTorch's lerp(m, g, 1 - b1) computes it, so that the two agree to the last bit
        m = state.get("exp_avg", 0.0)
        m = state["exp_avg"] = _lerp(m, g, 1.0 - b1)
        v = state["exp_avg_sq"] = b2 * state.get("exp_avg_sq", 0.0) + (1.0 - b2) * g * g
        step_size = self.lr / (1.0 - b1**t)
        descend(p, None, step_size * m / (_sqrt(v) / math.sqrt(1.0 - b2**t) + self.eps))

    def kernel(self, i: int) -> Callable[[], None]:
        p, state = self.parameters[i], self.state[i]
        if not isinstance(p, Tensor) or "exp_avg" not in state:
            return super().kernel(i)
        data, scratch, root = p.data, np.empty_like(p.data), np.empty_like(p.data)

        def run() -> None:
            g = p.grad
            if g is None:
                return
            b1, b2 = self.betas
            t = state["step"] = state["step"] + 1
            m, v = state["exp_avg"], state["exp_avg_sq"]
            w = 1.0 - b1
            if abs(w) < 0.5:  # _lerp, in place
                np.subtract(g, m, out=scratch)
                np.multiply(scratch, w, out=scratch)
                np.add(m, scratch, out=m)
            else:
                np.subtract(g, m, out=scratch)
                np.multiply(scratch, 1.0 - w, out=scratch)
                np.subtract(g, scratch, out=m)
            np.multiply(1.0 - b2, g, out=scratch)
            np.multiply(scratch, g, out=scratch)
            np.multiply(v, b2, out=v)
            np.add(v, scratch, out=v)
            step_size = float(self.lr) / (1.0 - b1**t)
            np.sqrt(v, out=root)
            np.divide(root, math.sqrt(1.0 - b2**t), out=root)
            np.add(root, self.eps, out=root)
            np.multiply(step_size, m, out=scratch)
            np.divide(scratch, root, out=scratch)
            np.subtract(data, scratch, out=data)

        return run


# ---------------------------------------------------------------------- helpers


def descend(p: Any, scale: float | None, direction: Any) -> None:
    """``p -= scale * direction`` in place (``p -= direction`` when ``scale`` is None), ``p`` a Value or
    a Tensor outside the graph (``detach()``, or under ``no_grad()``). A large Tensor is updated a
    slice of ``CHUNK`` elements at a time."""
    if isinstance(p, Value):
        p.data -= direction if scale is None else scale * direction
    elif scale is None:
        p -= direction
    elif direction.ndim == 0 or direction.size <= CHUNK:
        p -= scale * direction
    else:
        rows = max(1, CHUNK * len(direction) // direction.size)
        for start in range(0, len(direction), rows):
            part = p[start : start + rows]  # a view: writing into it writes into p, and stamps p's version
            part -= scale * direction[start : start + rows]


def checked_parameters(owner: str, params: Iterable[Node]) -> list[Node]:
    """``params`` as a list of distinct leaf parameters, or an error that says what was passed instead."""
    if isinstance(params, Module):
        raise TypeError(
            f"{owner}: got the module {type(params).__name__} itself; pass its parameters: "
            f"{owner}(net.parameters(), lr=...)"
        )
    if isinstance(params, (Tensor, Value)):
        raise TypeError(f"{owner}: params must be a list of parameters, got one {type(params).__name__}; write [w]")
    if isinstance(params, dict):
        raise TypeError(f"{owner}: parameter groups (dicts) are not supported; pass a list of parameters")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: params must be an iterable of Tensors or Values (net.parameters()), got {type(params).__name__}"
        ) from None
    if not items:
        raise ValueError(f"{owner}: got an empty list of parameters")
    first: dict[int, int] = {}  # id(parameter) -> its position
    for i, p in enumerate(items):
        name = f"parameter {i}" + (f" ({p.label!r})" if getattr(p, "label", "") else "")
        if isinstance(p, Tensor):
            if not p.requires_grad:
                raise ValueError(
                    f"{owner}: {name} does not require grad, so it never gets a gradient; create it with "
                    f"Tensor(..., requires_grad=True)"
                )
            if p.op is not None:
                raise ValueError(
                    f"{owner}: {name} is not a leaf (it is the output of {p.op.name}); optimize the leaf "
                    f"tensors it is computed from"
                )
        elif isinstance(p, Value):
            if p.op is not None:
                raise ValueError(f"{owner}: {name} is not a leaf Value (it is the output of an op)")
        else:
            raise TypeError(f"{owner}: {name} is a {type(p).__name__}, expected a Tensor or a Value")
        if id(p) in first:
            raise ValueError(
                f"{owner}: parameters {first[id(p)]} and {i} are the same object; list each parameter once "
                f"(Module.parameters() does)"
            )
        first[id(p)] = i
    return items


def hyperparameter(owner: str, name: str, value: float, high: float | None = None, open_high: bool = False) -> float:
    """``value`` as a float that is finite, ``>= 0`` and below ``high`` (``< high`` if ``open_high``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if high is None:
        ok, wanted = value >= 0 and math.isfinite(value), "a finite number >= 0"
    elif open_high:
        ok, wanted = 0 <= value < high, f"in [0, {high:g})"
    else:
        ok, wanted = 0 <= value <= high, f"in [0, {high:g}]"
    if not ok:
        raise ValueError(f"{owner}: {name} must be {wanted}, got {value!r}")
    return value


def _copy(g):
    return g.copy() if isinstance(g, np.ndarray) else g


def _sqrt(x):
    return math.sqrt(x) if type(x) is float else np.sqrt(x)


def _lerp(a, b, w):
    """``a + w (b - a)``, evaluated as PyTorch's ``lerp`` does (from the nearer end)."""
    if abs(w) < 0.5:
        return a + w * (b - a)
    return b - (b - a) * (1.0 - w)
