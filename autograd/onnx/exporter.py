"""``export``: run ``fn`` once under a recording (twice for a dynamic batch), write each recorded op
with its mapping, and save the model."""

from __future__ import annotations

import contextlib
import numbers
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..compiled.record import Recorder
from ..tensor import Tensor
from .builder import DEFAULT_OPSET, MIN_OPSET, ExportError, GraphBuilder
from .ops import ENGINE_OPS, UNMAPPED
from .step import Mapping, Step

if TYPE_CHECKING:
    import onnx

ONNX_OPS = dict(ENGINE_OPS)


def register(name: str, mapping: Mapping) -> None:
    """How the op called ``name`` (declared anywhere: ``nn``, a user's ``autograd.extend`` op) is
    written as ONNX: ``mapping``, a ``Mapping(write)`` whose ``write(graph, step)`` adds the nodes and
    returns the output's name. ``nn`` registers its ops this way when imported."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"onnx.register: expected a Mapping for {name!r}, got {type(mapping).__name__}")
    ONNX_OPS[name] = mapping


"""Every op the exporter can write, by op name: ``Mapping(write, batch_args)``. Add an entry to
export an op of your own (``autograd.extend.tensor_op``) under its name."""

INSTALL_HINT = "pip install 'backprop-lab[onnx]' (or: pip install onnx onnxruntime)"

_INFERENCE_ONLY = {
    "backward": "ran a backward pass",
    "step": "ran an optimizer step",
    "zero_grad": "zeroed gradients",
    "unsupported": "did something a recording cannot follow",
}


def export(
    fn: Callable[..., Any],
    example_inputs: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = False,
) -> onnx.ModelProto:
    """Write ``fn``'s forward pass, traced on ``example_inputs``, as an ONNX model; return the
    ``onnx.ModelProto`` (saved to ``path`` when given).

    ``fn(*example_inputs)`` runs once, a module in eval mode, and every Tensor op it applies is
    written as ONNX operators (the forward pass only: a backward pass inside ``fn`` is an error).
    Tensors and arrays among ``example_inputs`` become the graph's inputs (a lone Tensor or array
    may be given without a tuple); numbers are passed as they are and end up as constants.
    Parameters (leaf Tensors that require grad) become initializers, named as in
    ``fn.named_parameters()`` when ``fn`` is a module (or a method of one), and so does every other
    tensor the ops read that is not an input. The returned Tensor, or each Tensor of a returned
    tuple or list, is an output.

    ``dynamic_batch=True``: axis 0 of every input is the batch and may have any length in the
    model. ``fn`` then runs a second time with one more row, and whatever follows the batch size is
    found by comparing the two runs; a constant that changes with it (shaped by the batch, or
    computed from the input's data outside Tensor ops) is an error naming the op that reads it.

    As ``torch.jit.trace``: only what ran is recorded. Python control flow on data, and values
    taken out of the graph (``.data``, ``np.asarray(t)``, comparisons, ``astype(int)``) are
    constants of the model; reading an input-dependent value as a number (``item()``) is an error.
    An op with no mapping in ``ONNX_OPS`` is an ``ExportError`` naming it and its node.
    """
    onnx = _require_onnx()
    if not callable(fn):
        raise TypeError(f"onnx.export: fn must be callable, got {type(fn).__name__}")
    opset = _check_opset(opset, onnx)
    args = _arguments(example_inputs)
    inputs = [a for a in args if isinstance(a, Tensor)]
    if not inputs:
        raise ExportError("onnx.export: example_inputs hold no Tensor or array, so the model would have no input")
    in_names = _chosen_names(input_names, [t.label for t in inputs], "input", "input_names")

    first = _run(fn, args)
    second = None
    batch = None
    if dynamic_batch:
        batch = _batch_size(inputs)
        second = _run(fn, _grown(args))

    g = GraphBuilder(opset)
    outputs = _outputs(first.result, "fn")
    out_names = _chosen_names(output_names, [""] * len(outputs), "output", "output_names")
    for name in in_names + out_names:
        g.reserve(name)
    t = _Translation(g, _parameter_names(fn), batch)
    for name, tensor, twin in zip(in_names, inputs, second.inputs if second else [None] * len(inputs)):
        t.add_input(tensor, name, twin)
    for k, event in enumerate(first.events):
        if second is not None and k >= len(second.events):
            raise _ran_differently(k, f"the first run went on with {_what(event)}, the second had stopped")
        t.add(event, second.events[k] if second else None, k)
    twins = [None] * len(outputs)
    if second is not None:
        if len(second.events) != len(first.events):
            extra = second.events[len(first.events)]
            raise _ran_differently(len(first.events), f"the second run went on with {_what(extra)}")
        twins = _outputs(second.result, "fn")
        if len(twins) != len(outputs):
            raise _ran_differently(None, f"fn returned {len(outputs)} outputs, then {len(twins)}")

    out_info = []
    for name, tensor, twin in zip(out_names, outputs, twins):
        axes = t.output(tensor, name, twin)
        out_info.append((name, tensor.dtype, _dims(tensor.shape, axes, batch, name)))
    g.prune(out_names)
    for name, tensor in zip(in_names, inputs):
        if name not in g.needed:
            raise ExportError(
                f"onnx.export: input {name!r} (shape {tensor.shape}) does not reach any output: fn never used it in a "
                "Tensor op (a value taken through .data, numpy, a comparison or astype to an integer type is a "
                "constant of the trace); drop it from example_inputs or compute with Tensor ops"
            )
    in_info = [
        (name, x.dtype, _dims(x.shape, (0,) if dynamic_batch else (), batch, name)) for name, x in zip(in_names, inputs)
    ]
    doc = f"The forward pass of {_describe(fn)}, traced by backprop-lab's autograd.onnx.export"
    model = g.to_model(_graph_name(fn), in_info, out_info, doc)
    if path is not None:
        onnx.save(model, path)
    return model


# ----------------------------------------------------------------------------- running fn


class _Run(NamedTuple):
    events: list  # the recorder's events
    result: object  # what fn returned
    inputs: list  # the Tensors among its arguments


class _InferenceRecorder(Recorder):
    """The compiled replay's recorder, also keeping a tensor's data as it was before an in-place change
    (an initializer read earlier must hold that data, not what the tensor ends up holding)."""

    def event(self, kind, *details):
        if kind == "inplace":
            details = (*details, np.array(details[0].data))
        super().event(kind, *details)


def _run(fn, args) -> _Run:
    with _inference_mode(fn), _InferenceRecorder() as recorder:
        result = fn(*args)
    return _Run(recorder.events, result, [a for a in args if isinstance(a, Tensor)])


@contextlib.contextmanager
def _inference_mode(fn):
    """A module with PyTorch's ``training`` flag and ``train(mode)`` runs in eval mode, then goes back."""
    owner = _owner(fn)
    training = getattr(owner, "training", None)
    if not isinstance(training, bool) or not callable(getattr(owner, "train", None)):
        yield
        return
    owner.train(False)
    try:
        yield
    finally:
        owner.train(training)


def _owner(fn):
    """``fn`` itself, or the object a bound method belongs to (``model.hidden``)."""
    return fn if hasattr(fn, "named_parameters") else getattr(fn, "__self__", fn)


def _parameter_names(fn) -> dict:
    owner = _owner(fn)
    named = getattr(owner, "named_parameters", None)
    if not callable(named):
        return {}
    return {id(p): name for name, p in named() if isinstance(p, Tensor)}


def _arguments(example_inputs) -> list:
    if isinstance(example_inputs, (Tensor, np.ndarray)):
        example_inputs = (example_inputs,)
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError(
            f"onnx.export: example_inputs must be a tuple of arguments (or one Tensor or array), "
            f"got {type(example_inputs).__name__}"
        )
    args: list[Any] = []
    for k, a in enumerate(example_inputs):
        if isinstance(a, Tensor):
            args.append(a)
        elif isinstance(a, np.ndarray):
            args.append(Tensor(a))
        elif isinstance(a, numbers.Number) or a is None or isinstance(a, str):
            args.append(a)
        else:
            raise TypeError(f"onnx.export: example input {k} is a {type(a).__name__}; give Tensors, arrays or numbers")
    return args


def _batch_size(inputs: list[Tensor]) -> int:
    if any(t.ndim == 0 for t in inputs):
        raise ExportError("onnx.export(dynamic_batch=True): a 0-d input has no batch axis")
    sizes = {t.shape[0] for t in inputs}
    if len(sizes) > 1:
        raise ExportError(
            f"onnx.export(dynamic_batch=True): the inputs' first axes have different lengths {sorted(sizes)}; "
            "axis 0 of every input is the batch"
        )
    (n,) = sizes
    if n < 2:
        raise ExportError(
            f"onnx.export(dynamic_batch=True): trace with a batch of at least 2 rows (got {n}), so that the batch "
            "axis can be told from axes of length 1"
        )
    return n


def _grown(args) -> list:
    """The arguments with their first row repeated at the end: a batch one longer, values in range."""
    grown = []
    for a in args:
        if isinstance(a, Tensor):
            data = np.concatenate([a.data, a.data[:1]])
            grown.append(Tensor(data, requires_grad=a.requires_grad, label=a.label))
        else:
            grown.append(a)
    return grown


def _outputs(result, where) -> list:
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    for k, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise ExportError(
                f"onnx.export: {where} must return a Tensor or a tuple or list of Tensors; item {k} is a "
                f"{type(t).__name__}"
            )
    return items


# ----------------------------------------------------------------------------- the translation


class _Translation:
    """Walks the recorded events, keeping the ONNX name of each tensor's current value."""

    def __init__(self, g: GraphBuilder, parameter_names: dict, batch):
        self.g = g
        self.parameter_names = parameter_names
        self.batch = batch  # the example's batch size with dynamic_batch, else None
        self.names: dict[int, str] = {}  # id(tensor) -> the ONNX name of its value now
        self.axes: dict[int, Any] = {}  # id(tensor) -> its axes that follow the batch
        self.traced: set[int] = set()  # ids of inputs and of tensors made by recorded ops
        self.from_input: set[int] = set()  # ids of those whose value depends on an input
        self.twins: dict[int, int] = {}  # id(tensor of the second run) -> id(its counterpart in the first)
        self.before_change: dict[int, np.ndarray] = {}  # id(tensor) -> its data before its first in-place change
        self.seen: list[Tensor] = []  # tensors given a name, to look for memory an in-place change would alter

    def add_input(self, tensor, name, twin):
        key = id(tensor)
        if key in self.names:
            raise ExportError(f"onnx.export: the same Tensor is given twice among example_inputs (as {name!r})")
        self.names[key] = name
        self.axes[key] = () if self.batch is None else (0,)
        self.traced.add(key)
        self.from_input.add(key)
        self.seen.append(tensor)
        if twin is not None:
            self.twins[id(twin)] = key

    def add(self, event, twin, k):
        kind = event[0]
        if twin is not None and (twin[0] != kind or (kind in ("apply", "value") and twin[2] is not event[2])):
            raise _ran_differently(k, f"recorded {_what(event)} in the first run and {_what(twin)} in the second")
        if kind == "apply":
            self.apply(event, twin, k)
        elif kind == "inplace":
            self.inplace(event, twin, k)
        elif kind == "item":
            if id(event[1]) in self.from_input:
                raise ExportError(
                    "onnx.export: fn read a value computed from an input as a Python number (item(), float(), "
                    "int() or bool()); the model would hold the number of this one call as a constant. Keep the "
                    "computation in Tensor ops"
                )
        elif kind == "value":
            raise ExportError(
                f"onnx.export: fn computed with scalar Values (op {event[2].name!r}); ONNX export follows Tensor ops "
                "only"
            )
        elif kind in _INFERENCE_ONLY:
            raise ExportError(
                f"onnx.export: fn {_INFERENCE_ONLY[kind]}; export writes an inference graph, so pass a function "
                "that only computes the outputs"
            )

    def apply(self, event, twin, k):
        _, node, op, inputs, op_args = event
        mapping = ONNX_OPS.get(op.name)
        label = _label(op, node, op_args)
        if mapping is None:
            why = UNMAPPED.get(op.name, f"add an entry to autograd.onnx.ONNX_OPS under {op.name!r}")
            raise ExportError(f"onnx.export: no ONNX mapping for op {op.name!r} (node {label!r}): {why}")
        twin_inputs = twin[3] if twin is not None else [None] * len(inputs)
        if len(twin_inputs) != len(inputs):
            raise _ran_differently(k, f"op {op.name!r} had {len(inputs)} inputs, then {len(twin_inputs)}")
        names = [self.operand(t, u, op.name, label) for t, u in zip(inputs, twin_inputs)]
        dynamic_out = ()
        if twin is not None:
            for key, value in op_args.items():
                if key not in mapping.batch_args and not _same(value, twin[4].get(key)):
                    raise ExportError(
                        f"onnx.export(dynamic_batch=True): op {op.name!r} (node {label!r}): its argument {key!r} "
                        f"changes with the batch size ({_short(value)} at batch {self.batch}); it would be a "
                        "constant of the model. Export without dynamic_batch, or compute it with Tensor ops"
                    )
            dynamic_out = _grown_axes(node.data.shape, twin[1].data.shape, op.name, label)
        out_type = node.data.dtype
        for i, (name, t) in enumerate(zip(names, inputs)):
            # numpy promotes mixed float types; ONNX operators take one type, so the inputs are cast to the result's
            if op.name != "cast" and t.dtype.kind == "f" and out_type.kind == "f" and t.dtype != out_type:
                names[i] = self.g.cast(name, out_type)
        step = Step(
            name=op.name,
            label=label,
            inputs=names,
            arrays=[t.data for t in inputs],
            out=node.data,
            args=dict(op_args),
            dynamic_in=[self.axes.get(id(t), ()) for t in inputs],
            dynamic_out=dynamic_out,
        )
        self.g.doc = label
        out = mapping.write(self.g, step)
        if out in names:  # the op changed nothing (x[:]): a value of its own, so that naming an output renames one
            out = self.g.op("Identity", [out])
        self.g.doc = ""
        self.record(node, out, dynamic_out, any(id(t) in self.from_input for t in inputs), twin)

    def record(self, tensor, name, axes, from_input, twin):
        key = id(tensor)
        self.names[key] = name
        self.axes[key] = axes
        self.traced.add(key)
        self.seen.append(tensor)
        if from_input:
            self.from_input.add(key)
        if twin is not None:
            self.twins[id(twin[1])] = key

    def inplace(self, event, twin, k):
        _, tensor, what, operand, before = event
        key = id(tensor)
        self.before_change.setdefault(key, before)
        ops = {"+=": "Add", "-=": "Sub", "*=": "Mul", "/=": "Div"}
        if not isinstance(what, str) or what not in ops:
            raise ExportError(
                f"onnx.export: fn assigned into a tensor of shape {tensor.shape} in place ({_short(what)}); build "
                "the result with where() or concatenate() instead"
            )
        for other in self.seen:
            if other is not tensor and np.may_share_memory(other.data, tensor.data):
                raise ExportError(
                    f"onnx.export: fn changed a tensor of shape {tensor.shape} in place ({what}) that shares memory "
                    f"with another tensor of the trace (a view, shape {other.shape}); write t = t {what[0]} x instead"
                )
        twin_tensor, twin_operand = (twin[1], twin[3]) if twin is not None else (None, None)
        current = self.operand(tensor, twin_tensor, what, what)
        if isinstance(operand, Tensor):
            other = self.operand(operand, twin_operand if isinstance(twin_operand, Tensor) else None, what, what)
            if operand.dtype != tensor.dtype:
                other = self.g.cast(other, tensor.dtype)
        else:
            if twin is not None and not _same(np.asarray(operand), np.asarray(twin_operand)):
                raise _ran_differently(k, f"the operand of {what} changed with the batch size")
            other = self.g.const(np.asarray(operand, dtype=tensor.dtype), "operand")
        self.g.doc = f"{what} in place"
        out = self.g.op(ops[what], [current, other])
        self.g.doc = ""
        depends = key in self.from_input or (isinstance(operand, Tensor) and id(operand) in self.from_input)
        self.names[key] = out
        self.traced.add(key)
        if depends:
            self.from_input.add(key)
        if twin_tensor is not None:
            self.twins[id(twin_tensor)] = key

    def operand(self, t, twin, op_name, label) -> str:
        """The ONNX name of tensor ``t``'s value; a tensor no recorded op made becomes an initializer."""
        key = id(t)
        if twin is not None:
            made = self.twins.get(id(twin))
            if (key in self.traced or made is not None) and made != key:
                raise _ran_differently(None, f"op {op_name!r} (node {label!r}) read different tensors in the two runs")
            if key not in self.traced and twin is not t and not _same(self._data(t), self._data(twin, twin=True)):
                raise ExportError(
                    f"onnx.export(dynamic_batch=True): op {op_name!r} (node {label!r}) reads a constant of shape "
                    f"{t.shape} that changes with the batch (shaped by it, or computed from the input's data outside "
                    "Tensor ops); it cannot follow the batch in the model. Compute it with Tensor ops from the input, "
                    "or export without dynamic_batch"
                )
        name = self.names.get(key)
        if name is None:
            name = self.g.const(self._data(t), self._initializer_name(t))
            self.names[key] = name
            self.axes[key] = ()
            self.seen.append(t)
        return name

    def _data(self, t, twin=False):
        return t.data if twin else self.before_change.get(id(t), t.data)

    def _initializer_name(self, t) -> str:
        name = self.parameter_names.get(id(t)) or t.label
        if name:
            return name
        return "param" if t.requires_grad else "const"

    def output(self, tensor, name, twin) -> tuple:
        """Make ``name`` the graph output holding ``tensor``; return the axes that follow the batch."""
        self.g.name_output(self.operand(tensor, twin, "output", name), name)
        self.names[id(tensor)] = name
        return () if twin is None else _grown_axes(tensor.shape, twin.shape, "output", name)


# ----------------------------------------------------------------------------- small helpers


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(f"autograd.onnx.export needs the onnx package: {INSTALL_HINT}") from None
    return onnx


def _check_opset(opset: int, onnx: Any) -> int:
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, numbers.Integral) or not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"onnx.export: opset must be an int from {MIN_OPSET} to {newest} (the newest this onnx package knows), "
            f"got {opset!r}"
        )
    return int(opset)


def _chosen_names(given, labels, kind, option) -> list:
    n = len(labels)
    if given is not None:
        given = [given] if isinstance(given, str) else list(given)
        if len(given) != n or not all(isinstance(s, str) and s for s in given):
            raise ValueError(f"onnx.export: {option} must be {n} non-empty string(s), one per {kind}, got {given!r}")
        if len(set(given)) != n:
            raise ValueError(f"onnx.export: {option} repeats a name: {given!r}")
        return given
    defaults = [kind] if n == 1 else [f"{kind}_{k}" for k in range(n)]
    usable = [label if label and labels.count(label) == 1 else default for label, default in zip(labels, defaults)]
    return usable if len(set(usable)) == n else defaults


def _dims(shape, dynamic_axes, batch, name) -> list:
    """The shape as the model declares it: a length that follows the batch is a symbol, ``batch``
    where it is the batch itself."""
    return [("batch" if n == batch else f"{name}_axis{d}") if d in dynamic_axes else n for d, n in enumerate(shape)]


def _grown_axes(shape, twin_shape, op_name, label) -> tuple:
    if len(shape) != len(twin_shape):
        raise _ran_differently(None, f"op {op_name!r} (node {label!r}) gave {len(shape)} axes, then {len(twin_shape)}")
    return tuple(d for d, (a, b) in enumerate(zip(shape, twin_shape)) if a != b)


def _ran_differently(k, what) -> ExportError:
    where = f" at step {k}" if k is not None else ""
    return ExportError(
        f"onnx.export(dynamic_batch=True): fn ran differently with one more row{where}: {what}; its Python control "
        "flow depends on the batch size or the data, which one model cannot follow. Export without dynamic_batch"
    )


def _what(event) -> str:
    if event[0] in ("apply", "value"):
        return f"op {event[2].name!r}"
    return repr(event[0])


def _label(op, node, op_args) -> str:
    """The node as the pictures show it, ``label: op(arg=...)`` (nothing was recorded on the node itself)."""
    text = op.name
    if op_args:
        text += "(" + ", ".join(f"{k}={_short(v, 24)}" for k, v in op_args.items()) + ")"
    return f"{node.label}: {text}" if node.label else text


def _same(a, b) -> bool:
    """Equal op arguments: arrays elementwise (NaN equal to NaN), sequences and slices item by item."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, slice):
        return isinstance(b, slice) and _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _short(v, width=40) -> str:
    text = repr(v)
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe(fn) -> str:
    return type(fn).__name__ if hasattr(fn, "named_parameters") else getattr(fn, "__qualname__", repr(fn))


def _graph_name(fn) -> str:
    return type(fn).__name__ if hasattr(fn, "named_parameters") else getattr(fn, "__name__", "model")
