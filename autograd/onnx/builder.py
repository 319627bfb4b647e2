"""An ONNX graph under construction: nodes and initializers kept as plain records, so that the op
mappings run (and can be read) without the ``onnx`` package, which only ``to_model`` imports."""

from __future__ import annotations

import numpy as np

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min

DEFAULT_OPSET = 17
"""ONNX opset written unless asked otherwise: 17 has LayerNormalization, and runtimes released since
2022 read it."""

MIN_OPSET = 13
"""The oldest opset the mappings can write (13 moved Squeeze's, Unsqueeze's and ReduceSum's axes into
inputs; earlier ones are not worth a second code path)."""


class ExportError(RuntimeError):
    """The traced function cannot be written as an ONNX model; the message names the op and why."""


class GraphBuilder:
    """Nodes in the order they run, initializers by name, and fresh names for both.

    ``op(op_type, inputs, **attributes)`` appends a node and returns its output's name (a list of
    names for ``outputs > 1``); ``const(array)`` adds an initializer. Opset-dependent spellings
    (reductions, squeeze/unsqueeze) are written by the helpers below, so a mapping never checks the
    opset itself.
    """

    def __init__(self, opset: int = DEFAULT_OPSET):
        self.opset = opset
        self.nodes: list[tuple] = []  # (op_type, inputs, outputs, attributes, name, doc)
        self.initializers: dict[str, np.ndarray] = {}
        self._taken: set[str] = set()
        self._counts: dict[str, int] = {}
        self.doc = ""  # what the node being mapped came from (an engine node's label)
        self.outputs: list[str] = []
        self.needed: set[str] = set()

    def fresh(self, base: str) -> str:
        """A name not used yet, ``base`` itself if free, else ``base_1``, ``base_2``, ..."""
        base = base or "v"
        name = base
        while name in self._taken:
            self._counts[base] = self._counts.get(base, 0) + 1
            name = f"{base}_{self._counts[base]}"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Take ``name`` exactly (an input's or output's name the user chose)."""
        if name in self._taken:
            raise ExportError(f"onnx.export: the name {name!r} is given twice")
        self._taken.add(name)
        return name

    def op(self, op_type: str, inputs, outputs: int = 1, **attributes):
        names = [self.fresh(op_type.lower()) for _ in range(outputs)]
        node_name = self.fresh(f"{op_type}_node")
        self.nodes.append((op_type, list(inputs), names, attributes, node_name, self.doc))
        return names[0] if outputs == 1 else names

    def const(self, array, base: str = "const") -> str:
        name = self.fresh(base)
        self.initializers[name] = np.asarray(array)
        return name

    def ints(self, values, base: str = "ints") -> str:
        """A 1-D int64 initializer (shapes, axes, slice bounds)."""
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1), base)

    def scalar(self, value, dtype) -> str:
        """A 0-d initializer of float type ``dtype``."""
        return self.const(np.asarray(value, dtype=dtype), "scalar")

    # ------------------------------------------------------------------ opset-dependent spellings

    def reduce(self, kind: str, x: str, axes, keepdims: bool) -> str:
        """``Reduce{kind}`` (Sum, Mean, Max, Min, LogSumExp) over ``axes`` (a non-empty tuple)."""
        if kind == "Sum" or self.opset >= 18:
            return self.op(f"Reduce{kind}", [x, self.ints(axes, "axes")], keepdims=int(keepdims))
        return self.op(f"Reduce{kind}", [x], axes=list(axes), keepdims=int(keepdims))

    def squeeze(self, x: str, axes) -> str:
        return self.op("Squeeze", [x, self.ints(axes, "axes")]) if axes else x

    def unsqueeze(self, x: str, axes) -> str:
        return self.op("Unsqueeze", [x, self.ints(axes, "axes")]) if axes else x

    def cast(self, x: str, dtype) -> str:
        return self.op("Cast", [x], to=onnx_type(dtype))

    def reshape(self, x: str, shape) -> str:
        return self.op("Reshape", [x, self.ints(shape, "shape")])

    # ------------------------------------------------------------------ the model

    def name_output(self, value: str, name: str) -> None:
        """Make the graph output ``name`` hold ``value``: the node that makes ``value`` is renamed, or,
        for an input, an initializer or a value already given out, an Identity is added."""
        made_here = any(value in node[2] for node in self.nodes)
        if made_here and value not in self.outputs:
            self.nodes = [
                (t, [name if i == value else i for i in ins], [name if o == value else o for o in outs], a, n, d)
                for t, ins, outs, a, n, d in self.nodes
            ]
        else:
            self.nodes.append(("Identity", [value], [name], {}, self.fresh("Identity_node"), "output"))
        self.outputs.append(name)

    def prune(self, outputs) -> None:
        """Drop nodes and initializers that no output needs (what ``fn`` computed on the side)."""
        needed = set(outputs)
        kept = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node[2]):
                kept.append(node)
                needed.update(i for i in node[1] if i)
        self.nodes = kept[::-1]
        self.initializers = {k: v for k, v in self.initializers.items() if k in needed}
        self.needed = needed

    def to_model(self, graph_name, inputs, outputs, doc=""):
        """The ``onnx.ModelProto``: ``inputs``/``outputs`` are ``(name, dtype, dims)`` with each dim an
        int or a symbolic name (a str)."""
        import onnx
        from onnx import helper, numpy_helper

        nodes = []
        for op_type, ins, outs, attributes, name, node_doc in self.nodes:
            nodes.append(helper.make_node(op_type, ins, outs, name=name, doc_string=node_doc or None, **attributes))
        initializers = [numpy_helper.from_array(np.ascontiguousarray(a), name) for a, name in _named(self.initializers)]
        graph = helper.make_graph(
            nodes,
            graph_name,
            [helper.make_tensor_value_info(n, onnx_type(t), list(d)) for n, t, d in inputs],
            [helper.make_tensor_value_info(n, onnx_type(t), list(d)) for n, t, d in outputs],
            initializer=initializers,
            doc_string=doc or None,
        )
        opset = [helper.make_opsetid("", self.opset)]
        model = helper.make_model(graph, opset_imports=opset, producer_name="backprop-lab")
        # the oldest IR version that can carry this opset, so that older runtimes open the file too
        model.ir_version = helper.find_min_ir_version_for(opset)
        onnx.checker.check_model(model)
        return model


def _named(initializers):
    return [(a, name) for name, a in initializers.items()]


_ONNX_TYPES = {
    "float32": 1,  # TensorProto.FLOAT
    "uint8": 2,
    "int8": 3,
    "int32": 6,
    "int64": 7,
    "bool": 9,
    "float16": 10,
    "float64": 11,  # TensorProto.DOUBLE
}


def onnx_type(dtype) -> int:
    """The ``TensorProto`` element type of a numpy dtype (the numbers are fixed by the ONNX format)."""
    code = _ONNX_TYPES.get(np.dtype(dtype).name)
    if code is None:
        raise ExportError(f"onnx.export: no ONNX element type for dtype {np.dtype(dtype)}")
    return code
