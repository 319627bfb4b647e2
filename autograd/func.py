"""Function transforms, named as in ``torch.func`` and JAX: ``grad``, ``value_and_grad``, ``vjp``,
``jvp``, ``jacobian`` (``jacrev``, ``jacfwd``), ``hessian``.

Each takes a function of Tensors, Values or arrays and numbers, and gives results of the same
kind as the arguments: arrays for arrays, floats for numbers, Tensors for Tensors, Values for
Values. Transforms compose (``grad(grad(f))``, ``jacobian(grad(f))``): an inner transform called
with an argument that requires grad records its backward pass, so the outer one can differentiate
it. ``jvp`` is forward mode (one forward pass carrying tangents); the others are reverse mode.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import graph, tensor_ops
from .differentiate import grad as _gradients
from .forward import forward_mode
from .tensor import Tensor
from .value import Value


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``d f / d args[argnums]`` as a function of the same arguments (``f`` returns one number)."""

    def gradient(*args: Any) -> Any:
        return value_and_grad(f, argnums)(*args)[1]

    return gradient


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., tuple[Any, Any]]:
    """A function returning ``(f(*args), grad(f, argnums)(*args))`` from one forward pass."""

    def run(*args: Any) -> tuple[Any, Any]:
        nums = _argnums(argnums, len(args))
        call_args, leaves = _leaves(args, nums)
        out = f(*call_args)
        _check_scalar(out, "grad")
        grads = _gradients(out, leaves, create_graph=_record(args, nums), allow_unused=True)
        filled = [_zeros_like(x) if g is None else g for g, x in zip(grads, leaves)]
        results = tuple(_back(g, args[n]) for g, n in zip(filled, nums))
        return _back(out, args[nums[0]], value=True), (results[0] if isinstance(argnums, int) else results)

    return run


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` is the tuple of ``cotangent^T J`` for each primal."""
    nums = tuple(range(len(primals)))
    call_args, leaves = _leaves(primals, nums)
    out = f(*call_args)

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        g_out = cotangent if isinstance(out, Value) else _cotangent(cotangent, out)
        grads = _gradients(out, leaves, grad_outputs=[g_out], create_graph=_record(primals, nums), allow_unused=True)
        return tuple(_back(_zeros_like(x) if g is None else g, p) for g, x, p in zip(grads, leaves, primals))

    return _back(out, primals[0], value=True), vjp_fn


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J t)`` by forward mode: one forward pass carrying ``tangents`` beside ``primals``."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    with forward_mode() as fp:
        call_args = []
        for p, t in zip(primals, tangents):
            x = p if isinstance(p, (Tensor, Value)) else _as_tensor(p, requires_grad=False)
            fp.set_tangent(x, t)
            call_args.append(x)
        out = f(*call_args)
        t_out = fp.tangent(out)
    if t_out is None:
        t_out = 0.0 if isinstance(out, Value) else np.zeros(np.shape(out.data))
    if isinstance(out, Value):
        return out, t_out
    if isinstance(primals[0], Tensor):
        return out, Tensor(t_out)
    return _back(out, primals[0], value=True), _plain(t_out, primals[0])


def jacobian(f: Callable[..., Any], argnums: int = 0, mode: str = "reverse") -> Callable[..., Any]:
    """``d f / d args[argnums]`` as an array of shape ``out.shape + arg.shape``.

    ``mode="reverse"``: one backward pass per output element; ``"forward"``: one forward pass per
    input element. The cheaper one has fewer passes: reverse for many inputs and few outputs.
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    if not isinstance(argnums, int):
        raise TypeError("jacobian: argnums must be one int")

    def run(*args: Any) -> Any:
        n = _argnums(argnums, len(args))[0]
        if mode == "forward":
            return _jacobian_forward(f, args, n)
        return _jacobian_reverse(f, args, n)

    return run


def jacrev(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """``jacobian(f, argnums, mode="reverse")``."""
    return jacobian(f, argnums, mode="reverse")


def jacfwd(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """``jacobian(f, argnums, mode="forward")``."""
    return jacobian(f, argnums, mode="forward")


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The matrix of second derivatives of a scalar ``f``: the Jacobian of its gradient."""
    return jacobian(grad(f, argnums), argnums, mode="reverse")


# ---------------------------------------------------------------------- helpers


def _jacobian_reverse(f, args, n):
    call_args, (leaf,) = _leaves(args, (n,))
    out = f(*call_args)
    record = _record(args, (n,))
    if isinstance(out, Value):
        (g,) = _gradients(out, [leaf], create_graph=record, allow_unused=True)
        return _back(0.0 if g is None else g, args[n])
    rows = []
    for k in np.ndindex(out.shape):
        e = np.zeros(out.shape, dtype=out.dtype)
        e[k] = 1.0
        (g,) = _gradients(
            out, [leaf], grad_outputs=[Tensor(e) if record else e], create_graph=record, allow_unused=True
        )
        rows.append(_zeros_like(leaf) if g is None else g)
    if record:
        from .tensor_functions import stack

        return stack(rows).reshape(out.shape + leaf.shape) if rows else Tensor(np.zeros(out.shape + leaf.shape))
    jac = (
        np.stack([np.asarray(r) for r in rows]).reshape(out.shape + leaf.shape)
        if rows
        else np.zeros(out.shape + leaf.shape)
    )
    return _plain(jac, args[n]) if not isinstance(args[n], Tensor) else Tensor(jac)


def _jacobian_forward(f, args, n):
    x = args[n]
    if isinstance(x, Value):
        _, t = jvp(lambda v: f(*args[:n], v, *args[n + 1 :]), (x,), (1.0,))
        return t
    base = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    columns = []
    out_shape = None
    for j in np.ndindex(base.shape):
        e = np.zeros(base.shape)
        e[j] = 1.0
        out, t = jvp(lambda v: f(*args[:n], v, *args[n + 1 :]), (x,), (e,))
        t = np.asarray(t.data if isinstance(t, Tensor) else t)
        out_shape = t.shape
        columns.append(t)
    if out_shape is None:
        out = f(*args)
        out_shape = np.shape(out.data if isinstance(out, Tensor) else out)
        jac = np.zeros(out_shape + base.shape)
    else:
        jac = np.moveaxis(
            np.stack(columns).reshape(base.shape + out_shape),
            list(range(base.ndim)),
            list(range(len(out_shape), len(out_shape) + base.ndim)),
        )
    return Tensor(jac) if isinstance(x, Tensor) else _plain(jac, x)


def _argnums(argnums, n_args):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ValueError("argnums is empty")
    for k in nums:
        if not isinstance(k, int) or not -n_args <= k < n_args:
            raise ValueError(f"argnums {argnums!r} out of range for {n_args} arguments")
    return tuple(k % n_args for k in nums)


def _as_tensor(x, requires_grad):
    if isinstance(x, Tensor):
        return x
    try:
        t = Tensor(x)
    except TypeError:
        raise TypeError(f"expected a Tensor, a Value, an array or a number, got {type(x).__name__}") from None
    if t.dtype.kind != "f":
        t = Tensor(t.data.astype(np.float64))
    t.requires_grad = requires_grad
    return t


def _leaves(args, nums):
    """The arguments to call ``f`` with, and the nodes to differentiate with respect to."""
    call_args = list(args)
    leaves = []
    for n in nums:
        x = args[n]
        if isinstance(x, Value) or (isinstance(x, Tensor) and x.requires_grad):
            leaf = x
        elif isinstance(x, Tensor):
            leaf = Tensor(x.data, requires_grad=True)
            if graph.TRACERS:  # to the tracers (forward mode) the new leaf is x itself
                graph.trace(leaf, tensor_ops.RESHAPE, (x,), {"shape": x.shape})
        else:
            leaf = _as_tensor(x, requires_grad=True)
        call_args[n] = leaf
        leaves.append(leaf)
    return call_args, leaves


def _record(args, nums) -> bool:
    """Record the backward pass when an outer transform may differentiate it again."""
    if graph.TRACERS:
        return True
    return any(isinstance(args[n], Value) or (isinstance(args[n], Tensor) and args[n].requires_grad) for n in nums)


def _check_scalar(out, where):
    if isinstance(out, Value):
        return
    if not isinstance(out, Tensor):
        raise TypeError(f"{where}: f must return a Tensor or a Value, got {type(out).__name__}")
    if out.size != 1:
        raise ValueError(f"{where}: f must return a single number, got shape {out.shape}; use jacobian or vjp")


def _cotangent(c, out):
    if isinstance(c, Tensor):
        return c
    return np.broadcast_to(np.asarray(c, dtype=out.dtype), out.shape)


def _zeros_like(x):
    return 0.0 if isinstance(x, Value) else np.zeros(x.shape, dtype=x.dtype)


def _plain(x, like):
    """``x`` (array or Tensor) as the kind of ``like``: a float for a number, else an array."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if isinstance(like, numbers.Real) and not isinstance(like, np.ndarray):
        return float(data) if data.shape == () else data
    return data


def _back(result, like, value=False):
    """A result in the kind of the argument it belongs to."""
    if isinstance(like, Value):
        return result
    if isinstance(like, Tensor):
        return result if isinstance(result, Tensor) else Tensor(result)
    if isinstance(result, Value):
        return result
    return _plain(result, like)
