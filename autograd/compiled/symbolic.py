"""numpy on symbols: run the engine's own forward and VJP code on arrays of expressions, and write
out the result as straight-line Python on floats (what the float plan, ``floats.py``, replays).

A ``SymArray`` is an object array whose elements are ``Sym`` (an expression of a ``Program``) or
plain numbers (constants). numpy on it (ufuncs, ``np.add.reduce`` and the functions built on it,
``@``, ``np.where``, indexing and reshaping) adds expressions that compute, element by element,
what numpy computes in float64, in the same order:

- ``+ - * /``, ``sqrt`` and comparisons are IEEE operations: the same bits as numpy's.
- ``np.add.reduce`` (``sum``, ``mean``, ``unbroadcast``) adds in numpy's order: pairwise (8
  accumulators, blocks of 128) along a reduced innermost axis, one element after another along
  outer axes, starting from 0.0 (for C-contiguous arrays: the engine's). The same bits.
- ``x ** c`` for a number ``c``: numpy's exact shortcuts (``c`` = -1, 0, 0.5, 1, 2 give ``1/x``,
  1, ``sqrt x``, ``x``, ``x*x``), otherwise ``math.pow``.
- ``exp``, ``log``, ``log1p``, ``tanh``, ``pow``: ``math``'s, within an ulp of numpy's SIMD
  versions; ``a @ b``: each element's products summed in index order, where BLAS may order and
  fuse them differently. Not always the same bits: a rounding's difference.

Where numpy gives inf or NaN with a warning, ``math`` raises (``log(0)``, ``exp(1000)``, ``1/0``):
the float code stops with ``ArithmeticError`` or ``ValueError`` before it changes anything, and
its caller computes that call some other way. A branch on a symbol (``if x.max() > c``), a cast
to float or an ufunc without a rule here raises ``NoFloatRule``: that computation has no float form.

``SymArray.dtype`` reads float64, so engine code that picks constants by dtype (the clip of
binary cross-entropy) picks the float64 ones.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["NoFloatRule", "Program", "Sym", "SymArray", "symbols", "constants", "as_symbols"]


class NoFloatRule(Exception):
    """This computation has no straight-line float form (a branch on data, an unsupported function)."""


class Sym:
    """One value of a ``Program``: a float (or a bool, for comparisons) known only when it runs."""

    __slots__ = ("program", "index")

    def __init__(self, program, index):
        self.program = program
        self.index = index

    def __repr__(self):
        return f"<{self.program.render(self)}>"

    # numpy's object loops call these when an array of symbols meets no SymArray
    def _binary(self, kind, other, swap=False):
        if isinstance(other, np.ndarray):
            return NotImplemented
        a, b = (other, self) if swap else (self, other)
        return self.program.op(kind, a, b)

    def __add__(self, other):
        return self._binary("add", other)

    def __radd__(self, other):
        return self._binary("add", other, True)

    def __sub__(self, other):
        return self._binary("subtract", other)

    def __rsub__(self, other):
        return self._binary("subtract", other, True)

    def __mul__(self, other):
        return self._binary("multiply", other)

    def __rmul__(self, other):
        return self._binary("multiply", other, True)

    def __truediv__(self, other):
        return self._binary("divide", other)

    def __rtruediv__(self, other):
        return self._binary("divide", other, True)

    def __pow__(self, other):
        return self._binary("power", other)

    def __rpow__(self, other):
        return self._binary("power", other, True)

    def __neg__(self):
        return self.program.op("negative", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.program.op("absolute", self)

    def __bool__(self):
        raise NoFloatRule("a branch on a value computed by the step (data-dependent control flow)")

    def __float__(self):
        raise NoFloatRule("a conversion of a value computed by the step to a number")

    __int__ = __index__ = __float__


# ---------------------------------------------------------------------------- the operations

_INF = math.inf


def _isfinite(x):
    return x - x == 0.0


_NAMESPACE = {
    "_exp": math.exp,
    "_log": math.log,
    "_log1p": math.log1p,
    "_expm1": math.expm1,
    "_tanh": math.tanh,
    "_sqrt": math.sqrt,
    "_pow": math.pow,
    "_INF": _INF,
    "_NAN": math.nan,
    "_isfinite": _isfinite,
}
"""Names the generated code uses (``math``'s functions: numpy's semantics where they return)."""

# kind: (template, numpy function that folds constants). ``{k}`` is argument k; a template that
# uses an argument twice makes the argument a variable of its own.
KINDS = {
    "add": ("{0} + {1}", np.add),
    "subtract": ("{0} - {1}", np.subtract),
    "multiply": ("{0} * {1}", np.multiply),
    "divide": ("{0} / {1}", np.divide),
    "negative": ("-{0}", np.negative),
    "absolute": ("abs({0})", np.absolute),
    "exp": ("_exp({0})", np.exp),
    "log": ("_log({0})", np.log),
    "log1p": ("_log1p({0})", np.log1p),
    "expm1": ("_expm1({0})", np.expm1),
    "tanh": ("_tanh({0})", np.tanh),
    "sqrt": ("_sqrt({0})", np.sqrt),
    "square": ("{0} * {0}", np.square),
    "reciprocal": ("1.0 / {0}", np.reciprocal),
    "power": ("_pow({0}, {1})", np.power),
    # numpy: a > b or isnan(a) ? a : b (NaN propagates from either side; a tie gives b, so max(0.0, -0.0)
    # is -0.0)
    "maximum": ("({0} if {0} > {1} or {0} != {0} else {1})", np.maximum),
    "minimum": ("({0} if {0} < {1} or {0} != {0} else {1})", np.minimum),
    # the same where b, or a, is a number other than NaN
    "maximum_number": ("({1} if {0} <= {1} else {0})", np.maximum),
    "minimum_number": ("({1} if {0} >= {1} else {0})", np.minimum),
    "maximum_number_first": ("({0} if {0} > {1} else {1})", np.maximum),
    "minimum_number_first": ("({0} if {0} < {1} else {1})", np.minimum),
    "greater": ("{0} > {1}", np.greater),
    "greater_equal": ("{0} >= {1}", np.greater_equal),
    "less": ("{0} < {1}", np.less),
    "less_equal": ("{0} <= {1}", np.less_equal),
    "equal": ("{0} == {1}", np.equal),
    "not_equal": ("{0} != {1}", np.not_equal),
    "logical_and": ("{0} and {1}", np.logical_and),
    "logical_or": ("{0} or {1}", np.logical_or),
    "logical_not": ("not {0}", np.logical_not),
    "isnan": ("{0} != {0}", np.isnan),
    "isinf": ("abs({0}) == _INF", np.isinf),
    "isfinite": ("_isfinite({0})", np.isfinite),
    "sign": ("(1.0 if {0} > 0.0 else -1.0 if {0} < 0.0 else 0.0 if {0} == 0.0 else {0})", np.sign),
    "where": ("({1} if {0} else {2})", np.where),
}

RAISING = frozenset({"divide", "reciprocal", "exp", "log", "log1p", "expm1", "sqrt", "power"})
"""Kinds whose Python form raises where numpy returns inf or NaN."""

_UFUNC_KINDS = {name: name for name in KINDS if hasattr(np, name) and isinstance(getattr(np, name), np.ufunc)}
_UFUNC_KINDS.update({"true_divide": "divide", "bitwise_and": "logical_and", "bitwise_or": "logical_or"})
_UFUNC_KINDS["invert"] = "logical_not"  # on the boolean masks VJPs build; an integer operand is refused
_BOOLEAN_ONLY = {"bitwise_and", "bitwise_or", "invert"}

_POWER_SHORTCUTS = {-1.0: "reciprocal", 0.5: "sqrt", 2.0: "square"}
"""Exponents numpy's float64 ``power`` computes exactly another way (and 0 -> 1, 1 -> x)."""

_ATOMIC_LIMIT = 40
"""Inlined expressions nest at most this deep (Python's parser stops at 200 parentheses)."""


def _is_number(x) -> bool:
    return isinstance(x, (bool, int, float))


def _plain(x):
    """A numpy scalar as the Python number it holds."""
    if isinstance(x, np.generic):
        return x.item()
    return x


class Program:
    """A directed acyclic graph of float expressions, built by numpy code on ``SymArray`` and
    written out as Python statements (``lines``).

    Identical expressions are built once (``op`` looks them up), operations on constants are done
    at once (by numpy, so with its results), and a few exact identities are applied (``x * 1.0``,
    ``x + -0.0``, ``x - 0.0``, ``x / 1.0`` are ``x``).
    """

    def __init__(self):
        self.nodes = []  # (kind, args); kind None for an input, whose args are (name,)
        self._known = {}

    def input(self, name: str) -> Sym:
        """A value the code before the program's statements binds to the variable ``name``."""
        self.nodes.append((None, (name,)))
        return Sym(self, len(self.nodes) - 1)

    def op(self, kind, *args):
        """The value of ``kind`` applied to ``args`` (symbols or numbers)."""
        args = tuple(_plain(a) for a in args)
        for a in args:
            if not (isinstance(a, Sym) or _is_number(a)):
                raise NoFloatRule(f"{kind} of a {type(a).__name__}")
        if not any(isinstance(a, Sym) for a in args):
            return _fold(kind, args)
        if kind == "power" and _is_number(args[1]):
            c = float(args[1])
            if c == 0.0:
                return 1.0
            if c == 1.0:
                return args[0]
            if c in _POWER_SHORTCUTS:
                return self.op(_POWER_SHORTCUTS[c], args[0])
        if kind in ("maximum", "minimum"):
            if _is_number(args[0]) and args[0] == args[0]:
                kind += "_number_first"
            elif _is_number(args[1]) and args[1] == args[1]:
                kind += "_number"
        simplified = _identity(kind, args)
        if simplified is not None:
            return simplified
        return self._add(kind, args)

    def _add(self, kind, args):
        key = (kind,) + tuple(("s", a.index) if isinstance(a, Sym) else (type(a).__name__, repr(a)) for a in args)
        found = self._known.get(key)
        if found is None:
            self.nodes.append((kind, args))
            found = self._known[key] = Sym(self, len(self.nodes) - 1)
        return found

    # ------------------------------------------------------------------ writing it out

    def lines(self, roots, prefix="v"):
        """The statements that compute every symbol in ``roots`` (an iterable of symbols and numbers),
        and ``render(x)``, the expression for one of them after those statements.

        A node used once is written inside its user's expression; one used more often (or nested
        too deep) gets a variable ``{prefix}{index}``, and so does a root whose expression may raise
        (``RAISING``): all that can fail happens in the statements, before the caller uses a root.
        """
        roots = [r for r in roots if isinstance(r, Sym)]
        is_root = {r.index for r in roots}
        needed = set()
        stack = [r.index for r in roots]
        while stack:
            i = stack.pop()
            if i in needed:
                continue
            needed.add(i)
            kind, args = self.nodes[i]
            if kind is not None:
                stack.extend(a.index for a in args if isinstance(a, Sym))
        uses = dict.fromkeys(needed, 0)
        for r in roots:
            uses[r.index] += 1
        for i in needed:
            kind, args = self.nodes[i]
            if kind is None:
                continue
            template = KINDS[kind][0]
            for k, a in enumerate(args):
                if isinstance(a, Sym):
                    uses[a.index] += template.count(f"{{{k}}}")
        text, depth, raises, out = {}, {}, {}, []
        for i in sorted(needed):
            kind, args = self.nodes[i]
            if kind is None:
                text[i], depth[i], raises[i] = args[0], 0, False
                continue
            parts, d, r = [], 0, kind in RAISING
            for a in args:
                if isinstance(a, Sym):
                    parts.append(text[a.index])
                    d, r = max(d, depth[a.index]), r or raises[a.index]
                else:
                    parts.append(_literal(a))
            expression = KINDS[kind][0].format(*parts)
            if uses[i] > 1 or d + 1 > _ATOMIC_LIMIT or (r and i in is_root):
                name = f"{prefix}{i}"
                out.append(f"{name} = {expression}")
                text[i], depth[i], raises[i] = name, 0, False
            else:
                text[i], depth[i], raises[i] = f"({expression})", d + 1, r

        def render(x):
            return text[x.index] if isinstance(x, Sym) else _literal(x)

        return out, render

    def render(self, x) -> str:
        """One value as a single expression (for messages and tests; the program may repeat work)."""
        if not isinstance(x, Sym):
            return _literal(x)
        kind, args = self.nodes[x.index]
        if kind is None:
            return args[0]
        return "(" + KINDS[kind][0].format(*[self.render(a) for a in args]) + ")"

    @staticmethod
    def namespace() -> dict:
        """The globals the generated code needs."""
        return dict(_NAMESPACE)

    def function(self, names, outputs):
        """A Python function of the inputs ``names`` (in order) returning the list of ``outputs``'
        values: the program on its own, for checking it."""
        body, render = self.lines(outputs)
        returned = f"return [{', '.join(map(render, outputs))}]"
        source = "\n    ".join([f"def program({', '.join(names)}):", *body, returned])
        namespace = self.namespace()
        exec(compile(source, "<float program>", "exec"), namespace)
        return namespace["program"]


def _literal(x) -> str:
    if isinstance(x, (bool, int)):
        return repr(x)
    if x != x:
        return "_NAN"
    if x in (_INF, -_INF):
        return "_INF" if x > 0 else "(-_INF)"
    text = repr(float(x))
    return f"({text})" if text.startswith("-") else text


def _fold(kind, args):
    fn = KINDS[kind][1]
    with np.errstate(all="ignore"):
        if kind == "where":
            result = args[1] if args[0] else args[2]
            return _plain(result)
        values = [np.float64(a) if not isinstance(a, bool) else np.bool_(a) for a in args]
        return _plain(fn(*values))


def _identity(kind, args):
    """``x`` for operations that return ``x`` exactly, bit for bit (NaN and signed zeros included)."""
    a = args[0]
    b = args[1] if len(args) > 1 else None
    if kind == "add":
        if _is_negative_zero(b):
            return a
        if _is_negative_zero(a):
            return b
    elif kind == "subtract":
        if _is_number(b) and b == 0.0 and math.copysign(1.0, b) > 0:
            return a
    elif kind == "multiply":
        if _is_number(b) and not isinstance(b, bool) and b == 1.0:
            return a
        if _is_number(a) and not isinstance(a, bool) and a == 1.0:
            return b
    elif kind == "divide":
        if _is_number(b) and not isinstance(b, bool) and b == 1.0:
            return a
    elif kind == "negative" and isinstance(a, Sym):
        inner_kind, inner_args = a.program.nodes[a.index]
        if inner_kind == "negative":
            return inner_args[0]
    return None


def _is_negative_zero(x) -> bool:
    return _is_number(x) and not isinstance(x, bool) and x == 0.0 and math.copysign(1.0, x) < 0


# ---------------------------------------------------------------------------- arrays of symbols


class SymArray(np.ndarray):
    """An object array of symbols and numbers on which numpy computes as it would on float64."""

    @property
    def dtype(self):
        return np.dtype(np.float64)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if kwargs.pop("where", True) is not True:
            raise NoFloatRule(f"{ufunc.__name__} with where=")
        for ignored in ("casting", "dtype", "subok", "order"):
            kwargs.pop(ignored, None)  # everything is float64 already
        if method == "__call__":
            if kwargs:
                raise NoFloatRule(f"{ufunc.__name__} with {sorted(kwargs)}")
            if ufunc is np.matmul:
                result = matmul(*inputs)
            elif ufunc.__name__ == "clip":
                result = elementwise("minimum", elementwise("maximum", inputs[0], inputs[1]), inputs[2])
            else:
                result = elementwise(_ufunc_kind(ufunc, inputs), *inputs)
        elif method == "reduce":
            result = reduce(ufunc, inputs[0], **kwargs)
        elif method == "outer":
            a, b = (np.asarray(x, dtype=object) for x in inputs)
            result = elementwise(_ufunc_kind(ufunc, inputs), a.reshape(a.shape + (1,) * b.ndim), b)
        else:
            raise NoFloatRule(f"{ufunc.__name__}.{method}")
        if out is None:
            return result
        target = out[0] if isinstance(out, tuple) else out
        target[...] = result
        return target

    def __array_function__(self, func, types, args, kwargs):
        if func is np.where and len(args) + len(kwargs) == 3:
            return elementwise("where", *args, *kwargs.values())
        return _wrap(super().__array_function__(func, types, args, kwargs))


def _wrap(result):
    if isinstance(result, np.ndarray) and result.dtype == object and not isinstance(result, SymArray):
        return result.view(SymArray)
    if isinstance(result, (tuple, list)):
        return type(result)(_wrap(r) for r in result)
    return result


def _ufunc_kind(ufunc, inputs):
    kind = _UFUNC_KINDS.get(ufunc.__name__)
    if kind is None:
        raise NoFloatRule(f"numpy's {ufunc.__name__} has no float rule")
    if ufunc.__name__ in _BOOLEAN_ONLY:
        for x in inputs:
            for v in np.asarray(x, dtype=object).ravel().tolist():
                if not isinstance(v, (bool, Sym)):
                    raise NoFloatRule(f"{ufunc.__name__} on numbers (only boolean masks are supported)")
    return kind


def as_symbols(x) -> SymArray:
    """``x`` (an array, a number, a symbol) as a SymArray (0-d for a single value)."""
    if isinstance(x, SymArray):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype != object:
            if x.dtype.kind not in "fb":
                raise NoFloatRule(f"an array of dtype {x.dtype}")
            return np.array(x.tolist(), dtype=object).reshape(x.shape).view(SymArray)
        return x.view(SymArray)
    a = np.empty((), dtype=object)
    a[()] = _plain(x)
    return a.view(SymArray)


def symbols(values, shape) -> SymArray:
    """A SymArray of ``shape`` holding ``values`` (a flat sequence) in C order."""
    a = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        a[i] = v
    return a.reshape(shape).view(SymArray)


def constants(array) -> SymArray:
    """A float array's values as constants."""
    return symbols(np.asarray(array, dtype=np.float64).ravel().tolist(), np.shape(array))


def _program_of(values):
    for v in values:
        if isinstance(v, Sym):
            return v.program
    return None


def elementwise(kind, *inputs) -> SymArray:
    """``kind`` applied element by element, with numpy's broadcasting."""
    arrays = [np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else x for x in inputs]
    for i, x in enumerate(arrays):
        if x.dtype != object:
            arrays[i] = as_symbols(x)
    try:
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
    except ValueError as e:
        raise NoFloatRule(f"{kind}: {e}") from None
    columns = [np.broadcast_to(a, shape).ravel().tolist() for a in arrays]
    rows = list(zip(*columns)) if columns else []
    program = None
    for column in columns:
        program = program or _program_of(column)
    if program is None:
        results = [_fold(kind, tuple(_plain(v) for v in row)) for row in rows]
    else:
        results = [program.op(kind, *row) for row in rows]
    return symbols(results, shape)


def _sum_pairwise(program, values):
    """numpy's pairwise sum of ``values`` (its ``pairwise_sum``: from -0.0 below 8 values, 8
    accumulators up to 128, halves above)."""
    add = program.op if program is not None else (lambda kind, a, b: _fold(kind, (a, b)))
    n = len(values)
    if n < 8:
        total = -0.0
        for v in values:
            total = add("add", total, v)
        return total
    if n <= 128:
        r = list(values[:8])
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] = add("add", r[k], values[i + k])
            i += 8
        total = add(
            "add",
            add("add", add("add", r[0], r[1]), add("add", r[2], r[3])),
            add("add", add("add", r[4], r[5]), add("add", r[6], r[7])),
        )
        for v in values[i:]:
            total = add("add", total, v)
        return total
    half = n // 2
    half -= half % 8
    return add("add", _sum_pairwise(program, values[:half]), _sum_pairwise(program, values[half:]))


def reduce(ufunc, a, axis=0, keepdims=False, initial=np._NoValue, out=None):
    """``ufunc.reduce`` for ``add`` (in numpy's order), ``maximum`` and ``minimum``."""
    if ufunc not in (np.add, np.maximum, np.minimum):
        raise NoFloatRule(f"numpy's {ufunc.__name__}.reduce has no float rule")
    a = np.asarray(a, dtype=object)
    if axis is None:
        axes = list(range(a.ndim))
    else:
        axes = sorted({d % a.ndim for d in ((axis,) if isinstance(axis, int) else axis)}) if a.ndim else []
    kept = [d for d in range(a.ndim) if d not in axes]
    kept_shape = tuple(a.shape[d] for d in kept)
    rows = np.transpose(a, kept + axes).reshape(math.prod(kept_shape), math.prod(a.shape[d] for d in axes))
    # numpy's iterator drops axes of length 1; when the innermost remaining axis is reduced it is summed
    # pairwise together with the reduced axes next to it, and those blocks one after another
    inner = 1
    for d in reversed(range(a.ndim)):
        if a.shape[d] != 1:
            if d not in axes:
                break
            inner *= a.shape[d]
    program = _program_of(a.ravel().tolist())
    result = symbols([_reduce_row(ufunc, program, row, inner, initial) for row in rows.tolist()], kept_shape)
    if keepdims:
        result = result.reshape(tuple(1 if d in axes else a.shape[d] for d in range(a.ndim)))
    if out is not None:
        target = out[0] if isinstance(out, tuple) else out
        target[...] = result
        return target
    return result


def _reduce_row(ufunc, program, values, inner, initial):
    def combine(kind, x, y):
        return program.op(kind, x, y) if program is not None else _fold(kind, (x, y))

    if ufunc is not np.add:
        if initial is not np._NoValue:
            values = [float(_plain(initial))] + values
        if not values:
            raise NoFloatRule(f"{ufunc.__name__}.reduce of an empty array")
        total = values[0]
        for v in values[1:]:
            total = combine(ufunc.__name__, total, v)
        return total
    total = 0.0 if initial is np._NoValue else float(_plain(initial))
    if inner > 1:
        for start in range(0, len(values), inner):
            total = combine("add", total, _sum_pairwise(program, values[start : start + inner]))
        return total
    for v in values:
        total = combine("add", total, v)
    return total


def matmul(a, b) -> SymArray:
    """``a @ b`` with numpy's rules for 1-D and stacked operands; each element summed in index order."""
    a = as_symbols(a) if not isinstance(a, np.ndarray) or a.dtype != object else a
    b = as_symbols(b) if not isinstance(b, np.ndarray) or b.dtype != object else b
    if a.ndim == 0 or b.ndim == 0:
        raise NoFloatRule("matmul of a 0-d operand")
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise NoFloatRule(f"matmul: shapes {a.shape} and {b.shape} do not align")
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    m, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    A = np.broadcast_to(a2, batch + (m, k)).reshape(-1, m, k).tolist()
    B = np.broadcast_to(b2, batch + (k, n)).reshape(-1, k, n).tolist()
    program = _program_of(itertools.chain(a.ravel().tolist(), b.ravel().tolist()))

    def combine(kind, x, y):
        return program.op(kind, x, y) if program is not None else _fold(kind, (x, y))

    results = []
    for Ab, Bb in zip(A, B):
        for i in range(m):
            row = Ab[i]
            for j in range(n):
                if k == 0:
                    results.append(0.0)
                    continue
                total = combine("multiply", row[0], Bb[0][j])
                for q in range(1, k):
                    total = combine("add", total, combine("multiply", row[q], Bb[q][j]))
                results.append(total)
    shape = batch + (m, n)
    result = symbols(results, shape)
    # reshape keeps the SymArray subclass (numpy's stubs say ndarray)
    if a.ndim == 1:
        result = result.reshape(shape[:-2] + (n,))  # type: ignore[assignment]
    if b.ndim == 1:
        result = result.reshape(result.shape[:-1])  # type: ignore[assignment]
    return result
