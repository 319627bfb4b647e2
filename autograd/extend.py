"""Declare your own primitives: the same declaration the engine's own tables use.

>>> from autograd.extend import tensor_op, scalar_op, check_op
>>> softplus = tensor_op(
...     "softplus",
...     forward=lambda x: np.logaddexp(0.0, x),
...     vjps=[lambda g, out, x: g * (1.0 - np.exp(-out))],   # d/dx = sigmoid(x) = 1 - e^-out
...     doc="ln(1 + e^x); d/dx = sigmoid(x)",
...     jvp=ELEMENTWISE,
... )
>>> y = softplus(Tensor([0.5, -1.0], requires_grad=True))   # a node in the graph
>>> assert check_op(softplus, np.array([0.5, -1.0]))          # VJP (and JVP) against central differences

A tensor op: ``forward(*arrays, **op_args)`` and one ``vjp(g, out, *arrays, **op_args)`` per input
(the gradient for that input, given ``g = d root / d out``; it may have the broadcast shape, it is
summed back). Write the VJPs with numpy's operators and functions and they also run on Tensors, so
second derivatives work too (``create_graph=True``). A scalar op: ``forward(*floats)`` and
``derivatives(out, *inputs)``, one local derivative per input; with ``constant=True`` its last
argument is a number kept on the node and not differentiated (``forward(x, c)``,
``derivatives(out, x, c)`` gives ``(d/dx,)``), as the engine's ``x * c``.

Ops declared here are not in the engine's tables (``TENSOR_OPS``, ``SCALAR_OPS``, which hold the
engine's own primitives); ``registered()`` lists them, so that tools can find them.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, overload

import numpy as np

from . import scalar_ops, tensor_ops
from .gradcheck import central_differences, elementwise_agreement
from .scalar_ops import ConstantOp, NaryOp, ScalarOp
from .tensor import Tensor
from .tensor_ops import ELEMENTWISE_JVP, LINEAR_JVP, Kernels, TensorOp, unbroadcast
from .typing import Scalar
from .value import Value, nary, with_constant

__all__ = ["ELEMENTWISE", "LINEAR", "Kernels", "OpCheck", "check_op", "registered", "scalar_op", "tensor_op"]

ELEMENTWISE: Final = ELEMENTWISE_JVP
"""``jvp=ELEMENTWISE``: the op is elementwise (a diagonal Jacobian), so its VJPs serve as its JVP."""

LINEAR: Final = LINEAR_JVP
"""``jvp=LINEAR``: the op is linear in its inputs, so its JVP is its forward applied to the tangents."""

_REGISTERED: dict[str, dict[str, Any]] = {"tensor": {}, "scalar": {}}


def registered(kind: str | None = None) -> dict[str, TensorOp | ScalarOp]:
    """The ops declared through this module, by name (a later declaration of a name replaces the earlier).

    ``kind="tensor"`` or ``"scalar"``: that kind's ops. Without ``kind``, both; a name declared for both
    kinds (as the engine has ``add`` on Tensors and on Values) gives the tensor op there.
    """
    if kind is None:
        return {**_REGISTERED["scalar"], **_REGISTERED["tensor"]}
    if kind not in _REGISTERED:
        raise ValueError(f"registered: kind must be 'tensor', 'scalar' or None, got {kind!r}")
    return dict(_REGISTERED[kind])


def _register(op: TensorOp | ScalarOp, kind: str) -> None:
    if op.name in tensor_ops.TENSOR_OPS or op.name in scalar_ops.SCALAR_OPS:
        raise ValueError(f"{op.name!r} is the name of one of the engine's primitives; choose another name")
    _REGISTERED[kind][op.name] = op


def tensor_op(
    name: str,
    forward: Callable[..., Any],
    vjps: Sequence[Callable[..., Any]],
    doc: str = "",
    jvp: Literal["elementwise", "linear"] | Callable[..., Any] | None = None,
    domain: tuple[float, float] = (-2.0, 2.0),
    view: bool = False,
    kernels: Kernels | None = None,
) -> TensorOp:
    """A tensor primitive. Calling it on Tensors records a node: ``op(x, w, axis=1)``.

    ``jvp`` (forward mode): ``ELEMENTWISE`` (a diagonal Jacobian: the VJPs serve as JVPs), ``LINEAR``
    (the forward applied to the tangents), a function ``jvp(tangents, out, *arrays, **op_args)``, or
    None (assembled from the VJPs, one per output element). ``domain``: where ``check_op`` samples
    random points. ``kernels``: in-place versions of the forward and VJPs (``Kernels``) that
    ``autograd.compile`` replays without allocating; they must give exactly what the forward and VJPs give.
    """
    _check_declaration(name, forward, vjps, "tensor_op")
    if kernels is not None and not isinstance(kernels, Kernels):
        raise TypeError(f"tensor_op {name!r}: kernels must be an autograd.extend.Kernels, got {type(kernels).__name__}")
    if kernels is not None and kernels.vjps and len(kernels.vjps) != len(vjps):
        raise ValueError(f"tensor_op {name!r}: {len(kernels.vjps)} VJP kernels for {len(vjps)} VJPs")
    op = TensorOp(name, forward, tuple(vjps), doc, domain=domain, view=view, jvp=jvp, register=False, kernels=kernels)
    _register(op, "tensor")
    return op


class ScalarPrimitive(NaryOp):
    """A scalar primitive declared through ``scalar_op``: its node's parents are its arguments.

    ``backprop(g, parents)``, if given, is a faster way to add ``g * d out / d parent`` into each
    parent's ``grad`` (``check_op`` compares it with ``derivatives``)."""

    def __init__(
        self,
        name: str,
        forward: Callable[..., float],
        derivatives: Callable[..., tuple],
        doc: str,
        domain: tuple[float, float],
        backprop: Callable[[Any, tuple[Value, ...]], None] | None,
        symbol: str | None,
        label: Callable[[Value], str] | None,
    ) -> None:
        super().__init__(name, symbol or name, forward, derivatives, doc, domain=domain, register=False)
        self.fast_backprop = backprop
        self.node_label = label

    def backprop(self, node: Value) -> None:
        if self.fast_backprop is None:
            return super().backprop(node)
        self.fast_backprop(node.grad, self.parents(node))

    def label(self, node: Value) -> str:
        return self.symbol if self.node_label is None else self.node_label(node)

    def __call__(self, *args: Scalar) -> Value:
        """Record a node from Values (numbers are taken as constant Values)."""
        values = tuple(a if isinstance(a, Value) else Value(_real(a, self.name)) for a in args)
        data = self.forward(*[v.data for v in values])
        return nary(self, _real(data, f"{self.name}: forward"), values)


class ScalarConstantPrimitive(ConstantOp):
    """A scalar primitive ``f(x, c)`` declared with ``scalar_op(..., constant=True)``: its node's one
    parent is ``x``; the number ``c`` is kept on the node (``op_args`` ``{"c": c}``), not differentiated."""

    def __init__(
        self,
        name: str,
        forward: Callable[..., float],
        derivatives: Callable[..., tuple],
        doc: str,
        domain: tuple[float, float],
        symbol: str | None,
        label: Callable[[Value], str] | None,
    ) -> None:
        super().__init__(name, symbol or f"{name}(c)", forward, derivatives, doc, domain=domain, register=False)
        self.node_label = label

    def label(self, node: Value) -> str:
        return super().label(node) if self.node_label is None else self.node_label(node)

    def __call__(self, x: Scalar, c: float) -> Value:
        """Record a node from the Value ``x`` (a number is taken as a constant Value) and the number ``c``."""
        x = x if isinstance(x, Value) else Value(_real(x, self.name))
        c = _real(c, f"{self.name}: the constant")
        return with_constant(self, _real(self.forward(x.data, c), f"{self.name}: forward"), x, c)


@overload
def scalar_op(
    name: str,
    forward: Callable[..., float],
    derivatives: Callable[..., tuple],
    doc: str = ...,
    domain: tuple[float, float] = ...,
    backprop: Callable[[Any, tuple[Value, ...]], None] | None = ...,
    symbol: str | None = ...,
    constant: Literal[False] = ...,
    label: Callable[[Value], str] | None = ...,
) -> ScalarPrimitive: ...
@overload
def scalar_op(
    name: str,
    forward: Callable[..., float],
    derivatives: Callable[..., tuple],
    doc: str = ...,
    domain: tuple[float, float] = ...,
    backprop: None = ...,
    symbol: str | None = ...,
    *,
    constant: Literal[True],
    label: Callable[[Value], str] | None = ...,
) -> ScalarConstantPrimitive: ...


def scalar_op(
    name: str,
    forward: Callable[..., float],
    derivatives: Callable[..., tuple],
    doc: str = "",
    domain: tuple[float, float] = (-2.0, 2.0),
    backprop: Callable[[Any, tuple[Value, ...]], None] | None = None,
    symbol: str | None = None,
    constant: bool = False,
    label: Callable[[Value], str] | None = None,
) -> ScalarPrimitive | ScalarConstantPrimitive:
    """A scalar primitive on Values: ``forward(*floats) -> float``, ``derivatives(out, *inputs)``
    returning one local derivative per input. Calling it records a node: ``op(a, b)``.

    ``constant=True``: the op is ``f(x, c)`` with ``c`` a number kept on the node (``op(x, c)``), and
    ``derivatives(out, x, c)`` returns ``(d/dx,)``. ``symbol``: how the op reads in pictures (``c``
    in it stands for the constant); ``label(node)``: a picture's text for one node, if it depends on
    the node.
    """
    _check_declaration(name, forward, [derivatives], "scalar_op")
    if constant:
        if backprop is not None:
            raise ValueError(f"scalar_op {name!r}: backprop= is for ops without a constant")
        op: ScalarPrimitive | ScalarConstantPrimitive = ScalarConstantPrimitive(
            name, forward, derivatives, doc, domain, symbol, label
        )
    else:
        op = ScalarPrimitive(name, forward, derivatives, doc, domain, backprop, symbol, label)
    _register(op, "scalar")
    return op


def _check_declaration(name: object, forward: object, rules: Sequence[object], where: str) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{where}: name must be a non-empty string, got {name!r}")
    if not callable(forward):
        raise TypeError(f"{where} {name!r}: forward must be callable")
    for k, r in enumerate(rules):
        if not callable(r):
            raise TypeError(f"{where} {name!r}: derivative rule {k} must be callable, got {type(r).__name__}")


def _real(x: object, where: str) -> float:
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"{where}: expected a real number, got {type(x).__name__}")


# ---------------------------------------------------------------------- checking an op


@dataclass
class Check:
    """One comparison: a derivative rule at one point against central differences."""

    point: str  # "sample 0", "random 1"
    rule: str  # "vjp 0", "jvp", "d/dx1", "backprop"
    max_abs_error: float
    max_rel_error: float
    worst: tuple
    passed: bool
    declared: float
    numeric: float


@dataclass
class OpCheck:
    """``check_op``'s result: truthy when every rule agrees with central differences everywhere."""

    op: TensorOp | ScalarOp
    checks: list[Check] = field(default_factory=list)
    atol: float = 1e-6
    rtol: float = 1e-5

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def worst(self) -> Check | None:
        """The failing check with the largest error, or None."""
        failed = [c for c in self.checks if not c.passed]
        return max(failed, key=lambda c: (math.isnan(c.max_abs_error), c.max_abs_error), default=None)

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"check_op {self.op.name!r} (atol={self.atol:g}, rtol={self.rtol:g}): {verdict}"]
        for c in self.checks:
            mark = "ok" if c.passed else "FAIL"
            lines.append(
                f"  {c.point:<9} {c.rule:<9} max abs {c.max_abs_error:.2e}  max rel {c.max_rel_error:.2e}  "
                f"worst {str(c.worst):<8} declared {c.declared: .6e}  numeric {c.numeric: .6e}  {mark}"
            )
        w = self.worst
        if w is not None:
            lines.append(
                f"worst: {self.op.name} {w.rule} at {w.point}, element {w.worst}: declared {w.declared!r}, "
                f"central differences {w.numeric!r}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.passed else "#cf222e"
        rows = "".join(
            f"<tr><td>{c.point}</td><td>{c.rule}</td><td>{c.max_abs_error:.2e}</td><td>{c.max_rel_error:.2e}</td>"
            f"<td>{c.worst}</td><td>{c.declared:.6e}</td><td>{c.numeric:.6e}</td>"
            f"<td>{'ok' if c.passed else '<b>FAIL</b>'}</td></tr>"
            for c in self.checks
        )
        head = "".join(
            f"<th>{h}</th>" for h in ("point", "rule", "max abs", "max rel", "worst", "declared", "numeric", "")
        )
        return (
            f"<div><b>check_op {html.escape(self.op.name)}</b>: <b style='color:{color}'>"
            f"{'passed' if self.passed else 'FAILED'}</b><table><tr>{head}</tr>{rows}</table></div>"
        )


def check_op(
    op: TensorOp | ScalarOp,
    *sample_inputs: Any,
    random_points: int = 3,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    seed: int = 0,
    **op_args: Any,
) -> OpCheck:
    """Check ``op``'s derivative rules against central differences of its forward.

    For a tensor op: each VJP (in a random direction) and the JVP (in a random tangent), at the
    sample inputs and at ``random_points`` points drawn from ``op.domain`` with the same shapes. For
    a scalar op: each declared local derivative (and a ``backprop`` fast path, if any). ``op_args``
    are passed to the forward and the rules (``axis=1``, ...); a scalar op declared with
    ``constant=True`` takes its constant as ``c=``.
    """
    if not sample_inputs:
        raise ValueError(f"check_op {op.name!r}: give sample inputs (arrays for a tensor op, numbers for a scalar op)")
    rng = np.random.default_rng(seed)
    result = OpCheck(op, atol=atol, rtol=rtol)
    if isinstance(op, TensorOp):
        samples = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in sample_inputs]
        points = [("sample 0", samples)]
        lo, hi = op.domain
        for k in range(random_points):
            points.append((f"random {k}", [rng.uniform(lo, hi, a.shape) for a in samples]))
        for label, arrays in points:
            _check_tensor_point(op, arrays, op_args, label, rng, eps, result)
    else:
        constant = isinstance(op, ConstantOp)
        if constant != ("c" in op_args) or set(op_args) - {"c"}:
            wanted = "its constant as c= and nothing else" if constant else "no keyword arguments"
            raise TypeError(f"check_op {op.name!r}: this scalar op takes {wanted}, got {sorted(op_args)}")
        xs = [float(x.data if isinstance(x, Value) else x) for x in sample_inputs]
        numbers_at = [("sample 0", xs)]
        lo, hi = op.domain
        for k in range(random_points):
            numbers_at.append((f"random {k}", [float(v) for v in rng.uniform(lo, hi, len(xs))]))
        extra = (float(op_args["c"]),) if constant else ()
        for label, values in numbers_at:
            _check_scalar_point(op, values, extra, label, eps, result)
    return result


def _agreement(label, rule, declared, numeric, result):
    declared, numeric = np.asarray(declared, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    max_abs, max_rel, worst, passed = elementwise_agreement(declared, numeric, result.atol, result.rtol)
    if declared.shape != numeric.shape:
        passed = False
    at = worst if declared.ndim else ()
    result.checks.append(
        Check(label, rule, max_abs, max_rel, worst, passed, float(declared[at]) if declared.size else 0.0,
              float(numeric[at]) if numeric.size else 0.0)
    )  # fmt: skip


def _check_tensor_point(op, arrays, op_args, label, rng, eps, result):
    out = np.asarray(op.forward(*arrays, **op_args), dtype=np.float64)
    g = rng.standard_normal(out.shape)
    vjps = op.vjps_for(len(arrays))
    if len(vjps) != len(arrays):
        raise ValueError(f"check_op {op.name!r}: {len(vjps)} VJPs for {len(arrays)} inputs")
    for i, vjp in enumerate(vjps):
        declared = unbroadcast(np.asarray(vjp(g, out, *arrays, **op_args), dtype=np.float64), arrays[i].shape)

        def loss(i=i):
            return float(np.sum(g * op.forward(*arrays, **op_args)))

        numeric = central_differences(loss, arrays[i], eps)
        _agreement(label, f"vjp {i}", declared, numeric, result)
    if op.jvp is not None:
        tangents = [rng.standard_normal(a.shape) for a in arrays]
        declared = op.tangent(tangents, out, arrays, op_args)
        up = np.asarray(op.forward(*[a + eps * t for a, t in zip(arrays, tangents)], **op_args))
        down = np.asarray(op.forward(*[a - eps * t for a, t in zip(arrays, tangents)], **op_args))
        _agreement(label, "jvp", declared, (up - down) / (2 * eps), result)


def _check_scalar_point(op, xs, extra, label, eps, result):
    out = op.forward(*xs, *extra)
    declared = op.derivatives(out, *xs, *extra)
    if len(declared) != len(xs):
        raise ValueError(f"check_op {op.name!r}: {len(declared)} derivatives for {len(xs)} inputs")
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += eps
        down[i] -= eps
        numeric = (op.forward(*up, *extra) - op.forward(*down, *extra)) / (2 * eps)
        _agreement(label, f"d/dx{i}", float(declared[i]), numeric, result)
    if getattr(op, "fast_backprop", None) is not None:
        parents = [Value(x) for x in xs]
        op.fast_backprop(1.0, tuple(parents))
        _agreement(label, "backprop", [p.grad for p in parents], [float(d) for d in declared], result)
