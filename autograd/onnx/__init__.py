"""Carry a model out: ``export(fn, example_inputs, path)`` writes the forward pass of ``fn``, traced on
``example_inputs``, as an ONNX model that ONNX Runtime (or anything that serves ONNX) runs.

>>> from autograd import onnx as ag_onnx
>>> ag_onnx.export(model, (x,), "model.onnx", dynamic_batch=True)

Each recorded primitive is written by its entry in ``ONNX_OPS`` (keyed by op name: the engine's own
ops here, ``nn``'s and a user's added with ``register``); an op without one is an ``ExportError``
naming it and its node. The
``onnx`` package is needed only when exporting: ``pip install 'backprop-lab[onnx]'``.
"""

from .builder import DEFAULT_OPSET, MIN_OPSET, ExportError, GraphBuilder
from .exporter import INSTALL_HINT, ONNX_OPS, export, register
from .ops import UNMAPPED
from .step import Mapping, Step

__all__ = [
    "DEFAULT_OPSET",
    "INSTALL_HINT",
    "MIN_OPSET",
    "ONNX_OPS",
    "UNMAPPED",
    "ExportError",
    "GraphBuilder",
    "Mapping",
    "Step",
    "export",
    "register",
]
