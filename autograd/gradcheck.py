"""Check the engine's gradients against central finite differences.

For a function ``f`` of Values or Tensors, each input element ``x_i`` is nudged by ``±eps`` and
``(L(x + eps e_i) - L(x - eps e_i)) / (2 eps)`` is compared with ``dL/dx_i`` from ``backward``,
where ``L = f`` for a scalar output and ``L = sum(r * f)`` for a fixed random ``r`` otherwise
(a vector-Jacobian product in a random direction). Inputs are restored exactly afterwards, and
the ``.grad`` of every leaf in the graph is left as it was.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .graph import enable_grad, no_grad, topological_order
from .tensor import Tensor
from .typing import Node
from .value import Value


@dataclass
class InputCheck:
    """The comparison for one input: analytic (engine) against numeric (finite differences)."""

    index: int
    label: str
    shape: tuple
    analytic: np.ndarray
    numeric: np.ndarray
    max_abs_error: float
    max_rel_error: float
    worst: tuple  # index of the element furthest outside the tolerance
    passed: bool

    def worst_values(self) -> tuple[Any, float, float] | None:
        """``(index, engine value, numeric value)`` where the error is worst, or None for no elements."""
        if np.size(self.analytic) == 0:
            return None
        if not self.shape:
            return "", float(self.analytic), float(self.numeric)
        return self.worst, float(self.analytic[self.worst]), float(self.numeric[self.worst])

    def __str__(self) -> str:
        name = self.label or f"input {self.index}"
        verdict = "ok" if self.passed else "FAIL"
        head = f"{name:<12} {str(self.shape):<12} max abs {self.max_abs_error:.3e}  max rel {self.max_rel_error:.3e}"
        worst = self.worst_values()
        if worst is None:
            return f"{head}  (no elements)  {verdict}"
        at, a, n = worst
        return f"{head}  worst {str(at):<10} engine {a: .8e}  numeric {n: .8e}  {verdict}"


@dataclass
class GradcheckResult:
    """Per-input results; truthy when every input passes."""

    inputs: list[InputCheck] = field(default_factory=list)
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-4

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.inputs)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = f"gradcheck (eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g}): "
        head += "passed" if self.passed else "FAILED"
        return "\n".join([head, *(str(c) for c in self.inputs)])

    def _repr_html_(self) -> str:
        """The table as HTML (Jupyter)."""
        verdict = "passed" if self.passed else "FAILED"
        color = "#1a7f37" if self.passed else "#cf222e"
        rows = []
        for c in self.inputs:
            name = html.escape(c.label or f"input {c.index}")
            ok = "ok" if c.passed else "<b style='color:#cf222e'>FAIL</b>"
            worst = c.worst_values()
            at, a, n = ("", "no elements", "") if worst is None else (worst[0], f"{worst[1]:.8e}", f"{worst[2]:.8e}")
            rows.append(
                f"<tr><td>{name}</td><td>{c.shape}</td><td>{c.max_abs_error:.3e}</td><td>{c.max_rel_error:.3e}</td>"
                f"<td>{at}</td><td>{a}</td><td>{n}</td><td>{ok}</td></tr>"
            )
        head = "".join(
            f"<th>{h}</th>" for h in ("input", "shape", "max abs", "max rel", "worst", "engine", "numeric", "")
        )
        return (
            f"<div><b>gradcheck</b> (eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g}): "
            f"<b style='color:{color}'>{verdict}</b><table><tr>{head}</tr>{''.join(rows)}</table></div>"
        )


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Node,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
    order: int = 1,
) -> GradcheckResult:
    """Compare ``backward`` gradients of ``fn(*inputs)`` with central differences.

    ``inputs`` are all Values or all Tensors (Tensors must ``requires_grad``); an element passes
    when ``|engine - numeric| <= atol + rtol * |numeric|``. Returns a ``GradcheckResult``; use
    ``assert gradcheck(...)`` in a test, or ``print`` it for the per-input table.

    ``order=2`` checks second derivatives: the same comparison for ``h(x) = <grad L(x), u>`` with a
    fixed random ``u``, where ``grad L`` comes from a backward pass with ``create_graph=True``, so
    ``d h / d x`` is a Hessian-vector product from the engine against central differences of the
    engine's own gradient.
    """
    if not inputs:
        raise ValueError("gradcheck: give at least one input")
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")
    if order == 2:
        return gradcheck(_directional_gradient(fn, inputs, seed), *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
    tensors = [x for x in inputs if isinstance(x, Tensor)]
    if all(isinstance(x, Value) for x in inputs):
        kind = "value"
    elif len(tensors) == len(inputs):
        kind = "tensor"
        for i, t in enumerate(tensors):
            if not t.requires_grad:
                raise ValueError(f"gradcheck: input {i} (shape {t.shape}) must have requires_grad=True")
    else:
        names = ", ".join(type(x).__name__ for x in inputs)
        raise TypeError(f"gradcheck: inputs must be all Values or all Tensors, got {names}")

    if kind == "tensor" and any(t.dtype != np.float64 for t in tensors):
        dtypes = ", ".join(str(t.dtype) for t in tensors)
        warnings.warn(
            f"gradcheck: inputs of dtype {dtypes}: finite differences need float64 to mean anything "
            f"(with eps={eps:g}); build the inputs with dtype float64",
            stacklevel=2,
        )
    saved_grads = [x.grad for x in inputs]
    try:
        analytic, loss = _analytic(fn, inputs, kind, seed)
        numeric = [_numeric(loss, inputs, i, kind, eps) for i in range(len(inputs))]
    finally:
        for x, g in zip(inputs, saved_grads):
            x.grad = g

    result = GradcheckResult(eps=eps, atol=atol, rtol=rtol)
    for i, (x, a, n) in enumerate(zip(inputs, analytic, numeric)):
        result.inputs.append(_compare(i, x, a, n, atol, rtol))
    return result


def _directional_gradient(fn, inputs, seed):
    """``h(*xs) = sum_i <d L / d x_i, u_i>`` with the gradient recorded (L as in ``_analytic``)."""
    from .differentiate import grad

    rng = np.random.default_rng(seed + 1)
    directions = [rng.standard_normal() if isinstance(x, Value) else rng.standard_normal(x.shape) for x in inputs]
    weights = {}

    def h(*xs):
        with enable_grad():  # finite differences evaluate h inside no_grad: its inner gradient still needs a graph
            return _h(*xs)

    def _h(*xs):
        out = fn(*xs)
        if isinstance(out, Tensor) and out.size != 1:
            w = weights.setdefault("w", np.random.default_rng(seed).standard_normal(out.shape))
            out = (out * w).sum()
        grads = grad(out, list(xs), create_graph=True, allow_unused=True)
        # 0 * x keeps h a function of every input when the gradient is constant (a linear fn): d h = 0
        total = sum(((x * 0.0).sum() if isinstance(x, Tensor) else x * 0.0) for x in xs)
        for g, u in zip(grads, directions):
            if g is not None:
                total = total + ((g * u).sum() if isinstance(g, Tensor) else g * u)
        return total

    return h


def _analytic(fn, inputs, kind, seed):
    """Engine gradients of L, and L itself as a function for the finite differences."""
    for x in inputs:
        x.grad = Value.GRAD_ZERO if kind == "value" else None
    out = fn(*inputs)
    if kind == "value":
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: fn must return a Value for Value inputs, got {type(out).__name__}")
        _backward_leaving_other_leaves_alone(out, inputs, None)
        return [np.float64(x.grad) for x in inputs], lambda: float(fn(*inputs).data)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor for Tensor inputs, got {type(out).__name__}")
    if not out.requires_grad:
        raise ValueError("gradcheck: fn's output does not depend on any input")
    # L = f itself for a single-element output (the table then shows df/dx), else sum(r * f)
    direction = np.ones(out.shape) if out.size == 1 else np.random.default_rng(seed).standard_normal(out.shape)
    _backward_leaving_other_leaves_alone(out, inputs, direction)
    grads = [
        np.zeros_like(x.data, dtype=np.float64) if x.grad is None else np.array(x.grad, np.float64) for x in inputs
    ]
    return grads, lambda: float(np.sum(direction * fn(*inputs).data))


def _backward_leaving_other_leaves_alone(out, inputs, gradient):
    """``out.backward`` that puts back the ``.grad`` of every leaf other than ``inputs`` (a leaf
    behind an input that is itself computed, say)."""
    others = [n for n in topological_order(out) if n.op is None and not any(n is x for x in inputs)]
    saved = [n.grad for n in others]
    try:
        if gradient is None:
            out.backward()
        else:
            out.backward(gradient=gradient)
    finally:
        for n, g in zip(others, saved):
            n.grad = g


def _numeric(loss, inputs, i, kind, eps):
    x = inputs[i]
    with no_grad():
        if kind == "value":
            original = x.data
            try:
                x.data = original + eps
                up = loss()
                x.data = original - eps
                down = loss()
            finally:
                x.data = original
            return np.float64((up - down) / (2 * eps))
        return central_differences(loss, x.data, eps)


def central_differences(loss: Callable[[], Any], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """``d loss() / d array`` by ``(loss(a + eps e_k) - loss(a - eps e_k)) / 2 eps`` for every element k.

    ``array`` is nudged in place one element at a time (so ``loss`` must read it) and each element
    is put back exactly, even if ``loss`` raises.
    """
    grad = np.zeros(array.shape, dtype=np.float64)
    for k in np.ndindex(array.shape):
        original = array[k]
        try:
            array[k] = original + eps
            up = loss()
            array[k] = original - eps
            down = loss()
        finally:
            array[k] = original
        grad[k] = (up - down) / (2 * eps)
    return grad


def elementwise_agreement(a: ArrayLike, b: ArrayLike, atol: float, rtol: float) -> tuple[float, float, tuple, bool]:
    """How closely ``a`` matches the reference ``b``: ``(max_abs, max_rel, worst, passed)``.

    An element passes when ``|a - b| <= atol + rtol |b|``; ``worst`` is the index of the element
    furthest outside that tolerance (a NaN counts as furthest); ``max_rel`` divides by
    ``max(|a|, |b|)`` (0 where both are 0).
    """
    a, b = np.asarray(a), np.asarray(b)
    diff = np.abs(a - b)
    allowed = atol + rtol * np.abs(b)
    rel = diff / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    # how many tolerances away each element is; with a zero tolerance any difference is infinitely far
    excess = np.divide(diff, allowed, out=np.where(diff > 0, np.inf, 0.0), where=allowed > 0)
    excess[np.isnan(diff)] = np.inf
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.ndim and excess.size else ()
    return (
        float(np.max(diff)) if diff.size else 0.0,
        float(np.max(rel)) if rel.size else 0.0,
        tuple(int(k) for k in worst),
        bool(np.all(diff <= allowed)),
    )


def _compare(i, x, analytic, numeric, atol, rtol) -> InputCheck:
    max_abs, max_rel, worst, passed = elementwise_agreement(analytic, numeric, atol, rtol)
    return InputCheck(
        index=i,
        label=x.label,
        shape=tuple(np.shape(analytic)),
        analytic=analytic,
        numeric=numeric,
        max_abs_error=max_abs,
        max_rel_error=max_rel,
        worst=worst,
        passed=passed,
    )
