"""``backward_code(root)``: a graph's backward pass written out as numpy code, one line per step.

The generated module defines ``gradients(values)``: ``values`` maps the names of the graph's leaves
to arrays (or numbers); the function recomputes the forward pass and returns ``d root / d node``
for every named node. Each backward line is the chain rule for one node, in the order backward
reaches it, and reads like a hand derivation::

    dz2 = dp * (p * (1 - p))
    db2 = dz2.sum(axis=0, keepdims=True)
    dw2 = h.T @ dz2
    dh = dz2 @ w2.T

A node used by several ops gets the sum of what each sends it; sums over broadcast axes are written
out. Leaves without a name, index arrays and other constants are written into the code.

Each primitive has a code template, registered by op name (``register_code``): how its forward reads
and, per input, the gradient it sends that input. A template is a format string (``{0}``, ``{1}``,
... are the inputs, ``{out}`` the result, ``{g}`` its gradient, and each op argument by name, as
Python literals) or a function of a ``CodeContext`` returning the expression. Ops declared outside
the engine register theirs next to their declaration.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import topological_order
from .graphinfo import NodeNames, check_root, consumers, identifier, op_args, receives_gradient, vjps_of
from .scalar_ops import ScalarOp
from .tensor import Tensor
from .typing import Node
from .value import Value

# ----------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class CodeTemplate:
    """How one primitive reads as code: its forward, and the gradient it sends each input."""

    forward: object  # str or callable(CodeContext) -> str
    backward: tuple  # one str or callable(CodeContext) -> str per input


CODE_TEMPLATES: dict = {"scalar": {}, "tensor": {}}
"""Templates by kind of op ("scalar" or "tensor") and op name."""

HELPERS: dict = {}
"""Functions a template may call in the generated code (``ctx.helper(name)``), by name: their source."""


def op_kind(op) -> str:
    return "scalar" if isinstance(op, ScalarOp) else "tensor"


def register_code(op, *, forward, backward, replace=False) -> None:
    """Declare how primitive ``op`` (a scalar or tensor op object) reads as code.

    ``forward``: the expression of the result; ``backward``: per input, the expression of the
    gradient sent to that input, in the shape the op's own VJP returns (broadcast sums are added
    by ``backward_code``). Each is a format string or a callable taking a ``CodeContext``.
    """
    backward = tuple(backward)
    arity = getattr(op, "arity", None)  # None for an n-ary op: one template for every input (ctx.slot)
    if isinstance(arity, int) and len(backward) != arity:
        raise ValueError(
            f"register_code: op {op.name!r} takes {arity} inputs but {len(backward)} backward templates were given"
        )
    table = CODE_TEMPLATES[op_kind(op)]
    if op.name in table and not replace:
        raise ValueError(f"register_code: op {op.name!r} already has a code template (pass replace=True)")
    table[op.name] = CodeTemplate(forward, backward)


def register_helper(name: str, source: str) -> None:
    """Make a function available to templates: ``source`` defines ``name`` with numpy only."""
    HELPERS[name] = source.strip() + "\n"


def template_for(op) -> CodeTemplate:
    template = CODE_TEMPLATES[op_kind(op)].get(op.name)
    if template is None:
        raise LookupError(
            f"backward_code: the {op_kind(op)} op {op.name!r} has no code template; declare one with "
            f"autograd.codegen.register_code(op, forward=..., backward=...)"
        )
    return template


# ----------------------------------------------------------------------------- literals


def number(x) -> str:
    """A float or int as Python source that reads back exactly; negative numbers in parentheses."""
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, numbers.Integral):
        text = str(int(x))
    else:
        x = float(x)
        if math.isnan(x):
            return "np.nan"
        if math.isinf(x):
            return "np.inf" if x > 0 else "(-np.inf)"
        text = repr(x)
    return f"({text})" if text.startswith("-") else text


class Writer:
    """Collects what the generated module needs besides its lines: constants and helpers."""

    INLINE = 8  # arrays with at most this many elements are written inline, larger ones as constants

    def __init__(self, taken: set):
        self.taken = taken
        self.constants: list[tuple[str, str]] = []  # (name, source)
        self.constant_names: dict[tuple, str] = {}  # (dtype, shape, bytes) -> name: one per distinct array
        self.helpers: list[str] = []

    def fresh(self, stem: str) -> str:
        k = 1
        while f"{stem}{k}" in self.taken:
            k += 1
        name = f"{stem}{k}"
        self.taken.add(name)
        return name

    def literal(self, obj) -> str:
        """``obj`` (a number, None, tuple, list, slice, array) as Python source."""
        if obj is None or obj is Ellipsis:
            return repr(obj)
        if isinstance(obj, np.ndarray):
            return self.array(obj)
        if isinstance(obj, (numbers.Number, np.generic)):
            return number(obj)
        if isinstance(obj, slice):
            return f"slice({self.literal(obj.start)}, {self.literal(obj.stop)}, {self.literal(obj.step)})"
        if isinstance(obj, tuple):
            items = [self.literal(x) for x in obj]
            return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
        if isinstance(obj, list):
            return "[" + ", ".join(self.literal(x) for x in obj) + "]"
        if isinstance(obj, str):
            return repr(obj)
        raise TypeError(f"backward_code: cannot write a constant of type {type(obj).__name__} into code")

    def array(self, a: np.ndarray) -> str:
        a = np.asarray(a)
        if a.ndim == 0 and a.dtype.kind in "fiub":
            # a number: plain for float64 (numpy keeps the other operand's type), typed otherwise
            return (
                number(a.item()) if a.dtype in (np.float64, np.int64, np.bool_) else f"np.{a.dtype.name}({a.item()!r})"
            )
        dtype = "" if a.dtype in (np.float64, np.int64, np.bool_) else f", dtype=np.{a.dtype.name}"
        body = repr(a.tolist()) if a.dtype.kind != "f" else _float_list(a)
        source = f"np.array({body}{dtype})"
        if a.size <= self.INLINE:
            return source
        key = (a.dtype.str, a.shape, a.tobytes())
        if key not in self.constant_names:
            name = self.fresh("CONST")
            self.constants.append((name, source))
            self.constant_names[key] = name
        return self.constant_names[key]

    def index(self, index) -> str:
        """An index as it is written between brackets: ``0, 1:3``, ``np.array([0, 2])``."""
        parts = index if isinstance(index, tuple) else (index,)
        text = []
        for part in parts:
            if isinstance(part, slice):
                start = "" if part.start is None else str(part.start)
                stop = "" if part.stop is None else str(part.stop)
                text.append(f"{start}:{stop}" + ("" if part.step is None else f":{part.step}"))
            elif part is None:
                text.append("None")
            elif part is Ellipsis:
                text.append("...")
            else:
                text.append(self.literal(part))
        if isinstance(index, tuple) and len(index) == 1:
            return text[0] + ","
        return ", ".join(text)

    def use_helper(self, name: str) -> str:
        if name not in HELPERS:
            raise LookupError(f"backward_code: no helper named {name!r} (register_helper)")
        if name not in self.helpers:
            self.helpers.append(name)
        return name


def _float_list(a: np.ndarray) -> str:
    def nest(x):
        if isinstance(x, list):
            return "[" + ", ".join(nest(v) for v in x) + "]"
        return repr(float(x)) if math.isfinite(x) else ("float('nan')" if math.isnan(x) else f"float('{x}')")

    return nest(a.tolist())


# ----------------------------------------------------------------------------- one step


@dataclass
class CodeContext:
    """What a template sees: the node, the variables of its inputs, result and gradient."""

    node: Any
    args: list
    out: str
    g: str
    writer: Writer
    slot: int | None = None  # the input whose gradient is being written

    @property
    def op_args(self) -> dict:
        return op_args(self.node)

    @property
    def input_shapes(self) -> list:
        return [np.shape(p.data) for p in self.node.parents]

    def lit(self, obj) -> str:
        return self.writer.literal(obj)

    def index(self, index) -> str:
        return self.writer.index(index)

    def helper(self, name: str) -> str:
        return self.writer.use_helper(name)


def fill(template, ctx: CodeContext) -> str:
    if callable(template):
        return template(ctx)
    named = {k: ctx.lit(v) for k, v in ctx.op_args.items()}
    return template.format(*ctx.args, out=ctx.out, g=ctx.g, **named)


_SIMPLE = re.compile(r"[A-Za-z_][\w.]*")


def wrapped(expr: str) -> str:
    """``expr`` in parentheses unless it is a plain name or attribute."""
    return expr if _SIMPLE.fullmatch(expr) else f"({expr})"


def summed_back(expr: str, from_shape: tuple, to_shape: tuple) -> str:
    """``expr`` of shape ``from_shape`` summed over the axes broadcasting added or stretched."""
    if tuple(from_shape) == tuple(to_shape):
        return expr
    extra = len(from_shape) - len(to_shape)
    lead = tuple(range(extra))
    stretched = tuple(i for i, n in enumerate(to_shape) if n == 1 and from_shape[extra + i] != 1)
    text = wrapped(expr)
    if lead:
        text += f".sum(axis={lead[0] if len(lead) == 1 else lead})"
    if stretched:
        text += f".sum(axis={stretched[0] if len(stretched) == 1 else stretched}, keepdims=True)"
    if not lead and not stretched:
        text = f"np.broadcast_to({expr}, {to_shape!r})"
    return text


# ----------------------------------------------------------------------------- the program


@dataclass
class Program:
    """A graph's forward and backward pass as lines of code, and the variable of each node."""

    order: list
    names: NodeNames
    variables: dict  # id(node) -> variable or literal
    gradient_variables: dict  # id(node) -> variable of its gradient
    inputs: list  # (name, variable) of leaves read from values
    forward_lines: dict = field(default_factory=dict)  # id(node) -> line
    backward_lines: dict = field(default_factory=dict)  # id(node) -> line, in backward order
    returned: list = field(default_factory=list)  # (name, gradient variable)
    writer: Writer = field(default_factory=lambda: Writer(set()))

    def line_for(self, node) -> str | None:
        """The backward line that computes ``node``'s gradient (None if it has none)."""
        return self.backward_lines.get(id(node))

    def forward_line(self, node) -> str | None:
        return self.forward_lines.get(id(node))

    def source(self, root_name: str) -> str:
        head = (
            f'"""The backward pass of {root_name}, one line per step of the chain rule '
            f'(written by autograd.backward_code)."""\n\nimport numpy as np\n'
        )
        if self.writer.constants:
            head += "\n" + "".join(f"{name} = {src}\n" for name, src in self.writer.constants)
        body = ["def gradients(values):", f'    """d {root_name} / d node for every named node."""']
        body += [f"    {var} = np.asarray(values[{name!r}])" for name, var in self.inputs]
        body.append("    # forward")
        body += [f"    {line}" for line in self.forward_lines.values()]
        body.append("    # backward, in the order the chain rule reaches each node")
        body += [f"    {line}" for line in self.backward_lines.values()]
        body.append("    return {")
        body += [f"        {name!r}: {var}," for name, var in self.returned]
        body.append("    }")
        blocks = [head] + [HELPERS[h] for h in self.writer.helpers] + ["\n".join(body) + "\n"]
        return "\n\n".join(blocks)


RESERVED = {"np", "values", "gradients"}


def build_program(root: Node, names: Mapping[str, object] | None = None) -> Program:
    """Name every node, write its forward line and the backward line of every node that needs one."""
    check_root(root, "backward_code")
    order = topological_order(root)
    node_names = NodeNames(order, names)
    taken = set(RESERVED) | set(HELPERS)
    variables = {}
    inputs = []
    writer = Writer(taken)
    for n in order:
        if n.op is None and not node_names.is_named(n):
            continue
        base = identifier(node_names.name(n))
        var = base
        k = 1
        while var in taken:
            k += 1
            var = f"{base}_{k}"
        taken.add(var)
        variables[id(n)] = var
        if n.op is None:
            inputs.append((node_names.name(n), var))
    for n in order:
        if n.op is None and id(n) not in variables:
            variables[id(n)] = writer.literal(n.data) if isinstance(n, Tensor) else number(n.data)

    gets_grad = {}
    for n in order:
        gets_grad[id(n)] = receives_gradient(n) and (n.op is not None or node_names.is_named(n))
    # a gradient line is needed for a named node and for every node whose gradient reaches one
    needed: dict[int, bool] = {}
    for n in order:
        own = node_names.is_named(n) and receives_gradient(n)
        needed[id(n)] = gets_grad[id(n)] and (own or any(needed[id(p)] for p in n.parents))

    gradient_variables = {}
    for n in order:
        if needed[id(n)] or n is root:
            stem = "d" + (variables[id(n)] if variables[id(n)].isidentifier() else "leaf")
            var = stem
            k = 1
            while var in taken:
                k += 1
                var = f"{stem}_{k}"
            taken.add(var)
            gradient_variables[id(n)] = var

    program = Program(order, node_names, variables, gradient_variables, inputs, writer=writer)
    for n in order:
        if n.op is None:
            continue
        ctx = CodeContext(n, [variables[id(p)] for p in n.parents], variables[id(n)], "", writer)
        program.forward_lines[id(n)] = f"{variables[id(n)]} = {fill(template_for(n.op).forward, ctx)}"

    used_by = consumers(order)
    for n in reversed(order):
        if id(n) not in gradient_variables:
            continue
        var = gradient_variables[id(n)]
        if n is root:
            seed = "1.0" if isinstance(n, Value) else f"np.ones_like({variables[id(n)]})"
            program.backward_lines[id(n)] = f"{var} = {seed}"
            continue
        terms = []
        for child, slot in used_by[id(n)]:
            if id(child) not in gradient_variables:
                continue
            terms.append(contribution(child, slot, variables, gradient_variables, writer))
        program.backward_lines[id(n)] = f"{var} = {' + '.join(terms) if terms else '0.0'}"
    for n in reversed(order):
        if node_names.is_named(n) and id(n) in gradient_variables:
            program.returned.append((node_names.name(n), gradient_variables[id(n)]))
    return program


def contribution(child, slot, variables, gradient_variables, writer) -> str:
    """The gradient ``child`` sends its input ``slot``, summed back to that input's shape."""
    template = template_for(child.op)
    pick = template.backward[0] if len(template.backward) == 1 else template.backward[slot]
    args = [variables[id(p)] for p in child.parents]
    ctx = CodeContext(child, args, variables[id(child)], gradient_variables[id(child)], writer, slot)
    expr = fill(pick, ctx)
    if isinstance(child, Value):
        return expr
    parent = child.parents[slot]
    return summed_back(expr, vjp_shape(child, slot), parent.shape)


def vjp_shape(child, slot) -> tuple:
    """The shape of what the op's own VJP returns for input ``slot`` (before broadcast sums)."""
    arrays = [p.data for p in child.parents]
    g = np.zeros_like(child.data)
    with np.errstate(all="ignore"):
        return np.shape(vjps_of(child)[slot](g, child.data, *arrays, **op_args(child)))


def backward_code(root: Node, *, names: Mapping[str, object] | None = None) -> str:
    """Python source (numpy only) defining ``gradients(values)``: the backward pass of ``root``.

    ``names`` (a mapping name -> node, e.g. ``locals()``) names nodes besides their labels. The
    function reads the named leaves from ``values``, recomputes the forward pass, and returns
    ``d root / d node`` for every named node; unnamed leaves are written into the code.
    """
    program = build_program(root, names)
    return program.source(program.names.name(root))


# ----------------------------------------------------------------------------- templates
# The engine's primitives. Each backward expression mirrors the op's declared VJP or derivative.


def matmul_grad_a(ctx):
    """The gradient ``a @ b`` sends ``a`` as code (the template of matmul's first input, for any
    of numpy's 1-D, 2-D and batched cases); for ops that contain a matmul."""
    b = ctx.args[1]
    na, nb = (len(s) for s in ctx.input_shapes[:2])
    if na == 1 and nb == 1:
        return f"{ctx.g} * {b}"
    if nb == 1:
        return f"np.outer({ctx.g}, {b})" if na == 2 else f"{ctx.g}[..., None] * {b}"
    if na == 1:
        return f"{ctx.g} @ {b}.T" if nb == 2 else f"({ctx.g}[..., None, :] @ {b}.swapaxes(-1, -2))[..., 0, :]"
    return f"{ctx.g} @ {b}.T" if nb == 2 else f"{ctx.g} @ {b}.swapaxes(-1, -2)"


def matmul_grad_b(ctx):
    """The gradient ``a @ b`` sends ``b`` as code (the template of matmul's second input)."""
    a = ctx.args[0]
    na, nb = (len(s) for s in ctx.input_shapes[:2])
    if na == 1 and nb == 1:
        return f"{ctx.g} * {a}"
    if na == 1:
        return f"np.outer({a}, {ctx.g})" if nb == 2 else f"{a}[:, None] * {ctx.g}[..., None, :]"
    if nb == 1:
        return f"{a}.T @ {ctx.g}" if na == 2 else f"({a}.swapaxes(-1, -2) @ {ctx.g}[..., None])[..., 0]"
    return f"{a}.T @ {ctx.g}" if na == 2 else f"{a}.swapaxes(-1, -2) @ {ctx.g}"


def _reduce_call(method, ctx):
    args = ctx.op_args
    axis, keepdims = args.get("axis"), args.get("keepdims")
    parts = []
    if axis is not None:
        parts.append(f"axis={ctx.lit(axis)}")
    if keepdims:
        parts.append("keepdims=True")
    return f"{ctx.args[0]}.{method}({', '.join(parts)})"


def _expanded(ctx, expr):
    """``expr`` (shaped like the reduction's result) with the reduced axes put back (size 1)."""
    args = ctx.op_args
    axis, keepdims = args.get("axis"), args.get("keepdims")
    if keepdims or axis is None:
        return expr
    return f"np.expand_dims({expr}, {ctx.lit(axis)})"


def _sum_back(ctx):
    return f"np.ones_like({ctx.args[0]}) * {_expanded(ctx, ctx.g)}"


def _mean_back(ctx):
    node = ctx.node
    count = node.parents[0].data.size // max(node.data.size, 1)
    return f"np.ones_like({ctx.args[0]}) * {_expanded(ctx, ctx.g)} / {count}"


def _max_back(ctx):
    a = ctx.args[0]
    axis = ctx.op_args.get("axis")
    hit = f"({a} == {_expanded(ctx, ctx.out)})"
    count = f"{hit}.sum(axis={ctx.lit(axis)}, keepdims=True)" if axis is not None else f"{hit}.sum()"
    return f"{_expanded(ctx, ctx.g)} * {hit} / {count}"


def _pow_const_back(ctx, name="exponent"):
    x, c = ctx.args[0], float(ctx.op_args[name])
    if c == 0:
        return f"np.zeros_like({ctx.g} * {x})" if isinstance(ctx.node, Tensor) else "0.0"
    if c == 1:
        return ctx.g
    if c == 2:
        return f"{ctx.g} * 2 * {x}"
    return f"{ctx.g} * {number(c)} * {x} ** {number(c - 1)}"


def _transpose_forward(ctx):
    axes = ctx.op_args.get("axes")
    return f"{ctx.args[0]}.T" if axes is None else f"{ctx.args[0]}.transpose({ctx.lit(tuple(axes))})"


def _transpose_back(ctx):
    axes = ctx.op_args.get("axes")
    return f"{ctx.g}.T" if axes is None else f"{ctx.g}.transpose({ctx.lit(tuple(int(i) for i in np.argsort(axes)))})"


def _getitem_forward(ctx):
    return f"{ctx.args[0]}[{ctx.index(ctx.op_args['index'])}]"


def _getitem_back(ctx):
    index = ctx.op_args["index"]
    parts = index if isinstance(index, tuple) else (index,)
    basic = any(p is None or p is Ellipsis or isinstance(p, slice) for p in parts)
    written = f"np.s_[{ctx.index(index)}]" if basic else ctx.lit(index)
    return f"{ctx.helper('scatter_add')}({ctx.args[0]}, {written}, {ctx.g})"


def _scatter_forward(ctx):
    index = ctx.op_args["index"]
    written = f"np.s_[{ctx.index(index)}]" if ctx.op_args["basic"] else ctx.lit(index)
    return f"{ctx.helper('scatter_add')}(np.zeros({ctx.lit(ctx.op_args['shape'])}), {written}, {ctx.args[0]})"


def _scatter_back(ctx):
    return f"{ctx.g}[{ctx.index(ctx.op_args['index'])}]"


def _axis_kw(ctx, name="axis"):
    axis = ctx.op_args.get(name)
    return "" if axis is None else f", axis={ctx.lit(axis)}"


def _softmax_forward(ctx):
    a, axis = ctx.args[0], _axis_kw(ctx)
    e = f"np.exp({a} - {a}.max(keepdims=True{axis}))"
    return f"{e} / {e}.sum(keepdims=True{axis})"


def _softmax_back(ctx):
    return f"{ctx.out} * ({ctx.g} - ({ctx.g} * {ctx.out}).sum(keepdims=True{_axis_kw(ctx)}))"


def _log_softmax_forward(ctx):
    a, axis = ctx.args[0], _axis_kw(ctx)
    shifted = f"({a} - {a}.max(keepdims=True{axis}))"
    return f"{shifted} - np.log(np.exp({shifted}).sum(keepdims=True{axis}))"


def _log_softmax_back(ctx):
    return f"{ctx.g} - np.exp({ctx.out}) * {ctx.g}.sum(keepdims=True{_axis_kw(ctx)})"


def _logsumexp_forward(ctx):
    a, axis = ctx.args[0], _axis_kw(ctx)
    peak = f"{a}.max(keepdims=True{axis})"
    total = f"np.log(np.exp({a} - {peak}).sum(keepdims=True{axis})) + {peak}"
    if ctx.op_args.get("keepdims"):
        return total
    return f"({total}).reshape({ctx.lit(np.shape(ctx.node.data))})"


def _logsumexp_back(ctx):
    return f"{_expanded(ctx, ctx.g)} * np.exp({ctx.args[0]} - {_expanded(ctx, ctx.out)})"


def _var_forward(ctx, method):
    parts = [f"ddof={ctx.lit(ctx.op_args['ddof'])}"] if ctx.op_args.get("ddof") else []
    call = _reduce_call(method, ctx)
    if parts:
        call = call[:-1] + (", " if not call.endswith("(") else "") + ", ".join(parts) + ")"
    return call


def _var_back(ctx):
    a = ctx.args[0]
    axis = _axis_kw(ctx)
    n = ctx.node.parents[0].data.size // max(ctx.node.data.size, 1)
    dof = n - ctx.op_args.get("ddof", 0)
    return f"{_expanded(ctx, ctx.g)} * 2 * ({a} - {a}.mean(keepdims=True{axis})) / {dof}"


def _std_back(ctx):
    a = ctx.args[0]
    axis = _axis_kw(ctx)
    n = ctx.node.parents[0].data.size // max(ctx.node.data.size, 1)
    dof = n - ctx.op_args.get("ddof", 0)
    spread = f"({a} - {a}.mean(keepdims=True{axis}))"
    return f"{_expanded(ctx, ctx.g)} * {spread} / ({dof} * {_expanded(ctx, ctx.out)})"


def _clip_forward(ctx):
    return f"np.clip({ctx.args[0]}, {ctx.lit(ctx.op_args['low'])}, {ctx.lit(ctx.op_args['high'])})"


def _clip_back(ctx):
    a, low, high = ctx.args[0], ctx.lit(ctx.op_args["low"]), ctx.lit(ctx.op_args["high"])
    return f"{ctx.g} * (({a} >= {low}) & ({a} <= {high}))"


def _reshaped_forward(ctx):
    return f"{ctx.args[0]}.reshape({ctx.lit(np.shape(ctx.node.data))})"


def _reshaped_back(ctx):
    return f"{ctx.g}.reshape({ctx.args[0]}.shape)"


def _split_forward(ctx):
    index = (slice(None),) * ctx.op_args["axis"] + (slice(ctx.op_args["start"], ctx.op_args["stop"]),)
    return f"{ctx.args[0]}[{ctx.index(index)}]"


def _split_back(ctx):
    index = (slice(None),) * ctx.op_args["axis"] + (slice(ctx.op_args["start"], ctx.op_args["stop"]),)
    return f"{ctx.helper('scatter_add')}({ctx.args[0]}, np.s_[{ctx.index(index)}], {ctx.g})"


def _cast_forward(ctx):
    return f"{ctx.args[0]}.astype(np.{np.dtype(ctx.op_args['dtype']).name})"


def _cast_back(ctx):
    return f"{ctx.g}.astype({ctx.args[0]}.dtype)"


def _broadcast_back(ctx):
    return summed_back(ctx.g, np.shape(ctx.node.data), ctx.input_shapes[0])


def _join_forward(name):
    return lambda ctx: f"np.{name}([{', '.join(ctx.args)}], axis={ctx.lit(ctx.op_args['axis'])})"


def _concatenate_back(ctx):
    """The slice of ``g`` along ``axis`` that input ``slot`` filled."""
    axis = ctx.op_args["axis"] % len(ctx.input_shapes[0])
    start = sum(shape[axis] for shape in ctx.input_shapes[: ctx.slot])
    stop = start + ctx.input_shapes[ctx.slot][axis]
    return f"{ctx.g}[{', '.join([':'] * axis + [f'{start}:{stop}'])}]"


def _stack_back(ctx):
    return f"np.take({ctx.g}, {ctx.slot}, axis={ctx.lit(ctx.op_args['axis'])})"


register_helper(
    "scatter_add",
    '''
def scatter_add(like, index, g):
    """Zeros shaped like ``like`` with ``g`` added at ``index`` (a repeated index adds up)."""
    out = np.zeros_like(like)
    np.add.at(out, index, g)
    return out
''',
)


def _register_engine_templates():
    from . import scalar_ops as s
    from . import tensor_ops as t

    # scalar primitives: d out / d input times the gradient of out
    register_code(s.ADD, forward="{0} + {1}", backward=("{g}", "{g}"))
    register_code(s.MUL, forward="{0} * {1}", backward=("{g} * {1}", "{g} * {0}"))
    register_code(s.POW, forward="{0} ** {1}", backward=("{g} * {1} * {0} ** ({1} - 1)", "{g} * {out} * np.log({0})"))
    register_code(s.ADD_CONST, forward="{0} + {c}", backward=("{g}",))
    register_code(s.MUL_CONST, forward="{0} * {c}", backward=("{g} * {c}",))
    register_code(s.POW_CONST, forward="{0} ** {c}", backward=(lambda ctx: _pow_const_back(ctx, "c"),))
    register_code(s.RPOW_CONST, forward="{c} ** {0}", backward=("{g} * {out} * np.log({c})",))
    register_code(s.EXP, forward="np.exp({0})", backward=("{g} * {out}",))
    register_code(s.LOG, forward="np.log({0})", backward=("{g} / {0}",))
    register_code(s.TANH, forward="np.tanh({0})", backward=("{g} * (1 - {out} ** 2)",))
    register_code(s.SIGMOID, forward="1 / (1 + np.exp(-{0}))", backward=("{g} * ({out} * (1 - {out}))",))
    register_code(s.RELU, forward="max({0}, 0.0)", backward=("{g} * ({0} > 0)",))

    # tensor primitives: the vector-Jacobian product per input
    register_code(t.ADD, forward="{0} + {1}", backward=("{g}", "{g}"))
    register_code(t.SUB, forward="{0} - {1}", backward=("{g}", "-{g}"))
    register_code(t.MUL, forward="{0} * {1}", backward=("{g} * {1}", "{g} * {0}"))
    register_code(t.DIV, forward="{0} / {1}", backward=("{g} / {1}", "-{g} * {0} / {1} ** 2"))
    register_code(t.POW, forward="{0} ** {1}", backward=("{g} * {1} * {0} ** ({1} - 1)", "{g} * {out} * np.log({0})"))
    register_code(t.POW_CONST, forward="{0} ** {exponent}", backward=(_pow_const_back,))
    register_code(t.NEG, forward="-{0}", backward=("-{g}",))
    register_code(t.MATMUL, forward="{0} @ {1}", backward=(matmul_grad_a, matmul_grad_b))
    register_code(t.EXP, forward="np.exp({0})", backward=("{g} * {out}",))
    register_code(t.LOG, forward="np.log({0})", backward=("{g} / {0}",))
    register_code(t.TANH, forward="np.tanh({0})", backward=("{g} * (1 - {out} ** 2)",))
    register_code(t.SIGMOID, forward="1 / (1 + np.exp(-{0}))", backward=("{g} * ({out} * (1 - {out}))",))
    register_code(t.RELU, forward="np.maximum({0}, 0.0)", backward=("{g} * ({0} > 0)",))
    register_code(t.SQRT, forward="np.sqrt({0})", backward=("{g} / (2 * {out})",))
    register_code(t.ABS, forward="np.abs({0})", backward=("{g} * np.sign({0})",))
    register_code(t.SUM, forward=lambda ctx: _reduce_call("sum", ctx), backward=(_sum_back,))
    register_code(t.MEAN, forward=lambda ctx: _reduce_call("mean", ctx), backward=(_mean_back,))
    register_code(t.MAX, forward=lambda ctx: _reduce_call("max", ctx), backward=(_max_back,))
    register_code(t.RESHAPE, forward="{0}.reshape({shape})", backward=("{g}.reshape({0}.shape)",))
    register_code(t.TRANSPOSE, forward=_transpose_forward, backward=(_transpose_back,))
    register_code(t.GETITEM, forward=_getitem_forward, backward=(_getitem_back,))
    register_code(t.SCATTER, forward=_scatter_forward, backward=(_scatter_back,))
    register_code(t.SOFTMAX, forward=_softmax_forward, backward=(_softmax_back,))
    register_code(t.LOG_SOFTMAX, forward=_log_softmax_forward, backward=(_log_softmax_back,))
    register_code(t.LOGSUMEXP, forward=_logsumexp_forward, backward=(_logsumexp_back,))
    register_code(t.MIN, forward=lambda ctx: _reduce_call("min", ctx), backward=(_max_back,))
    register_code(t.VAR, forward=lambda ctx: _var_forward(ctx, "var"), backward=(_var_back,))
    register_code(t.STD, forward=lambda ctx: _var_forward(ctx, "std"), backward=(_std_back,))
    register_code(t.CLIP, forward=_clip_forward, backward=(_clip_back,))
    for op in (t.SQUEEZE, t.EXPAND_DIMS, t.FLATTEN):
        register_code(op, forward=_reshaped_forward, backward=(_reshaped_back,))
    register_code(t.SPLIT, forward=_split_forward, backward=(_split_back,))
    register_code(t.CAST, forward=_cast_forward, backward=(_cast_back,))
    register_code(t.BROADCAST_TO, forward="np.broadcast_to({0}, {shape})", backward=(_broadcast_back,))
    register_code(t.CONCATENATE, forward=_join_forward("concatenate"), backward=(_concatenate_back,))
    register_code(t.STACK, forward=_join_forward("stack"), backward=(_stack_back,))
    register_code(
        t.WHERE,
        forward="np.where({condition}, {0}, {1})",
        backward=("np.where({condition}, {g}, 0.0)", "np.where({condition}, 0.0, {g})"),
    )
    register_code(
        t.MAXIMUM,
        forward="np.maximum({0}, {1})",
        backward=(
            "np.where({0} > {1}, {g}, np.where({0} == {1}, {g} / 2, 0.0))",
            "np.where({1} > {0}, {g}, np.where({0} == {1}, {g} / 2, 0.0))",
        ),
    )
    register_code(
        t.MINIMUM,
        forward="np.minimum({0}, {1})",
        backward=(
            "np.where({0} < {1}, {g}, np.where({0} == {1}, {g} / 2, 0.0))",
            "np.where({1} < {0}, {g}, np.where({0} == {1}, {g} / 2, 0.0))",
        ),
    )


_register_engine_templates()
