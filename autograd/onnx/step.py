"""One traced op as a mapping sees it, and the declaration of a mapping."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .builder import ExportError, GraphBuilder


@dataclass
class Step:
    """A primitive applied during the traced call.

    ``inputs`` are the ONNX names of its tensor inputs (already of the output's float type),
    ``arrays`` their data in the example call, ``out`` the example output, ``args`` the op's
    non-tensor arguments. ``dynamic_in`` / ``dynamic_out``: the axes of each input and of the output
    whose length follows the batch size (empty unless exporting with ``dynamic_batch``).
    """

    name: str
    label: str
    inputs: list
    arrays: list
    out: np.ndarray
    args: dict
    dynamic_in: list = field(default_factory=list)
    dynamic_out: tuple = ()

    def fail(self, why: str) -> ExportError:
        """An ``ExportError`` naming this op and node: ``raise step.fail("...")``."""
        return ExportError(f"onnx.export: op {self.name!r} (node {self.label!r}): {why}")

    def shape_literal(self, shape: Sequence[int] | None = None) -> list[int]:
        """``shape`` (by default the output's) for a Reshape: -1 at the one axis that follows the batch,
        so the model reshapes any batch size."""
        shape = list(self.out.shape if shape is None else shape)
        if len(self.dynamic_out) > 1:
            raise self.fail(
                f"the result {tuple(shape)} has {len(self.dynamic_out)} axes that follow the batch size; a reshape "
                "can infer only one: export without dynamic_batch"
            )
        for d in self.dynamic_out:
            shape[d] = -1
        return shape


@dataclass(frozen=True)
class Mapping:
    """How to write one op: ``write(g, step)`` adds nodes to the ``GraphBuilder`` ``g`` and returns the
    name of the result. ``batch_args``: op arguments that may change with the batch size because
    ``write`` takes the shapes from ``step.dynamic_out`` instead (a reshape's target shape); any other
    argument that changes makes a dynamic-batch export fail, naming it."""

    write: Callable[[GraphBuilder, Step], str]
    batch_args: tuple = ()
