"""``Module``: a container of parameters and sub-modules, named by the attributes that hold them.

One rule, applied to every attribute (in the order the attributes were first assigned) whenever
parameters are listed, so a list appended to after ``__init__`` is seen too:

- a leaf ``Tensor`` with ``requires_grad`` is a parameter (any other Tensor, such as a kept
  intermediate result, is plain data);
- a ``Value`` is a parameter;
- a ``Module`` is a child: its names get the prefix ``name.``;
- a list or tuple is looked into, item ``i`` named ``name.i`` by the same rule, whatever it holds
  (Tensors, Values, Modules, lists; anything else is skipped). A rectangular nest of Values only
  (a neuron's ``w``, the scalar net's ``w1``) is kept together as one entry of ``state_dict``, an
  array of the nest's shape; ``named_parameters`` still names each Value (``w.0``, ``w1.1.3``).

A module's own parameters come first, then its children's, as in PyTorch.

Buffers (``register_buffer``): Tensors a module keeps and updates itself (in place, through Tensor
ops, so that ``autograd.compile`` replays the update), not trained, such as batch norm's running
statistics. ``state_dict()`` holds them after the module's parameters (as PyTorch), ``load_state_dict``
and ``load`` write them in place; ``parameters()`` does not list them.

Training and evaluation: every module has a ``training`` flag (True unless set); ``train()`` and
``eval()`` set it on the module and every module inside it, as PyTorch. Dropout and batch norm read it.

Shared parameters: ``parameters()`` and ``named_parameters()`` list each parameter once, by
identity, under the first name that reaches it (``Sequential(lin, lin)`` has two parameters, not
four), so an optimizer steps a tied weight once. ``state_dict()`` names it under every name that
reaches it, as PyTorch does, so that a saved state loads into the same structure.

There is no ``__getattr__``: a misspelt attribute is an ``AttributeError``, as for any object.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Mapping
from typing import IO, Any, TypeVar

import numpy as np

from autograd import Tensor, Value, graph
from autograd.tensor import constant
from autograd.typing import Node

from .archive import EXPECTED, NpzReader, write_npz

M = TypeVar("M", bound="Module")


class Module:
    """Base class: subclasses assign parameters and children in ``__init__`` and define ``forward``."""

    training = True
    """Whether the module is in training mode (``train()``) or evaluation mode (``eval()``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: define forward(...) to make the module callable")

    # ------------------------------------------------------------------ traversal

    def named_members(self) -> Iterator[tuple[str, str, Any]]:
        """``(name, kind, object)`` for this module's own members, ``kind`` one of ``"parameter"``
        (a Tensor, a Value, or a nest of Values kept as one group) and ``"module"``, by the rule above.

        A subclass that keeps members somewhere other than its attributes overrides this.
        """
        for name, value in vars(self).items():
            yield from _members(name, value)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for each direct child, in order (list items as ``name.i``)."""
        for name, kind, value in self.named_members():
            if kind == "module":
                yield name, value

    def named_groups(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """``(dotted name, parameter or nest of Values)``: the entries of ``state_dict``, a shared
        parameter under each of its names."""
        yield from self._walk_groups(prefix, set())

    def _walk_groups(self, prefix: str, path: set[int]) -> Iterator[tuple[str, Any]]:
        path.add(id(self))  # modules on the way here: a module that contains itself is not entered again
        children: list[tuple[str, Module]] = []
        for name, kind, value in self.named_members():
            if kind == "parameter":
                yield prefix + name, value
            elif id(value) not in path:
                children.append((name, value))
        for name, child in children:
            yield from child._walk_groups(f"{prefix}{name}.", path)
        path.discard(id(self))

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, each once (by identity), parents before children."""
        seen = set()
        stack: list[Module] = [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield m
            stack.extend(reversed([child for _, child in m.named_children()]))

    def train(self: M, mode: bool = True) -> M:
        """Set training mode (``mode=True``) or evaluation mode on this module and all inside it; returns it."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be True or False, got {mode!r}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self: M) -> M:
        """Evaluation mode (``train(False)``): dropout passes its input through, batch norm uses its running
        statistics. Returns the module."""
        return self.train(False)

    def register_buffer(self, name: str, value: Tensor | np.ndarray) -> Tensor:
        """Keep ``value`` (a Tensor without gradient, or an array, wrapped without a copy) as attribute
        ``name`` and in ``state_dict`` under that name: state the module updates itself, not a parameter."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"register_buffer: name must be an identifier, got {name!r}")
        if isinstance(value, np.ndarray):
            value = constant(value)
        if not isinstance(value, Tensor) or value.requires_grad:
            raise TypeError(f"register_buffer: {name!r} must be an array or a Tensor without gradient, got {value!r}")
        names = self.__dict__.get("_buffer_names", ())
        self.__dict__["_buffer_names"] = names if name in names else (*names, name)
        setattr(self, name, value)
        return value

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, Tensor)`` for every buffer, children's included."""
        for name, kind, value in self._walk_state(prefix, set()):
            if kind == "buffer":
                yield name, value

    def named_state(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """``(dotted name, parameter group or buffer)``: the entries of ``state_dict`` in order (each module's
        parameters, then its buffers, then its children's, as PyTorch)."""
        for name, _, value in self._walk_state(prefix, set()):
            yield name, value

    def _walk_state(self, prefix: str, path: set[int]) -> Iterator[tuple[str, str, Any]]:
        path.add(id(self))
        children: list[tuple[str, Module]] = []
        for name, kind, value in self.named_members():
            if kind == "parameter":
                yield prefix + name, kind, value
            elif id(value) not in path:
                children.append((name, value))
        for name in self.__dict__.get("_buffer_names", ()):
            yield prefix + name, "buffer", getattr(self, name)
        for name, child in children:
            yield from child._walk_state(f"{prefix}{name}.", path)
        path.discard(id(self))

    def named_parameters(self) -> Iterator[tuple[str, Node]]:
        """``(dotted name, parameter)`` for every Tensor and Value, children's included, each once.

        A group of Values yields one entry per Value, its index in the name: ``w.0``, ``w1.1.3``.
        A parameter reached twice (a tied weight, a module used twice) is listed under its first name.
        """
        seen = set()
        for name, group in self.named_groups():
            items: Any
            if isinstance(group, (Tensor, Value)):
                items = ((name, group),)
            else:
                grid = np.ndenumerate(_object_array(group))
                items = ((name + "".join(f".{i}" for i in index), v) for index, v in grid)
            for item_name, p in items:
                if id(p) not in seen:
                    seen.add(id(p))
                    yield item_name, p

    def parameters(self) -> list[Node]:
        """Every parameter (Tensor or Value) once, in the order of ``named_parameters``."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Reset gradients: ``None`` for a Tensor (as PyTorch), ``0.0`` for a Value (as micrograd)."""
        params = self.parameters()
        if graph.LISTENERS:
            graph.notify("zero_grad", params)
        for p in params:
            p.grad = None if isinstance(p, Tensor) else 0.0

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, np.ndarray]:
        """``name -> ndarray``: a copy of every parameter group's data and every buffer."""
        return {name: _read(group, "data") for name, group in self.named_state()}

    def grad_dict(self) -> dict[str, np.ndarray]:
        """``name -> ndarray``: a copy of the gradients in ``state_dict``'s layout (zeros where none flowed)."""
        return {name: _read(group, "grad") for name, group in self.named_groups()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy ``state``'s arrays into the parameters (the caller's arrays are never shared).

        Missing or unexpected keys raise ``KeyError`` naming them (``strict=False`` skips both); a
        key whose shape differs raises ``ValueError`` with both shapes; two names of one shared
        parameter with different arrays raise ``ValueError``. Nothing is written unless every
        check passes.
        """
        groups = dict(self.named_state())
        check_keys(f"load_state_dict: {type(self).__name__}", list(groups), list(state), strict)
        arrays = {}
        for name, group in groups.items():
            if name not in state:
                continue
            arr = np.asarray(state[name])
            shape = _shape(group)
            if arr.shape != shape:
                raise ValueError(
                    f"load_state_dict: {type(self).__name__}: {name!r} has shape {arr.shape} in the state "
                    f"but {shape} in the module"
                )
            if arr.dtype.kind not in "fiub":
                raise TypeError(f"load_state_dict: {name!r} must hold real numbers, got dtype {arr.dtype}")
            arrays[name] = arr
        _check_tied(groups, arrays)
        for name, arr in arrays.items():
            group = groups[name]
            if isinstance(group, Tensor):
                group.data[...] = arr
            elif isinstance(group, Value):
                group.data = float(arr)
            else:
                for v, x in zip(_object_array(group).flat, arr.flat):
                    v.data = float(x)

    def save(self, path: str | os.PathLike[str] | IO[bytes]) -> None:
        """Write ``state_dict()`` to ``path`` (a file name or a binary file) as an ``.npz`` archive:
        one ``name.npy`` member per entry, exactly the bytes of each number. Readable by ``np.load``."""
        write_npz(path, self.state_dict())

    def load(self, path: str | os.PathLike[str] | IO[bytes], strict: bool = True) -> None:
        """Read an ``.npz`` archive written by ``save`` into this module (see ``load_state_dict``).

        Member names, dtypes and shapes are checked from the archive's directory and each array's
        header before any array is read, so a damaged or hostile file costs no more memory than
        the module's own parameters. Never unpickles anything.
        """
        expected = {name: _shape(group) for name, group in self.named_state()}
        where = f"load: {os.fspath(path) if isinstance(path, (str, os.PathLike)) else 'file'}"
        with NpzReader(path, where) as archive:
            check_keys(f"load: {type(self).__name__}", list(expected), archive.names, strict)
            try:
                state = archive.arrays({name: shape for name, shape in expected.items() if name in archive.members})
            except zipfile.BadZipFile as e:  # a member whose bytes do not match its checksum
                raise ValueError(f"{where}: the archive is damaged ({e}): {EXPECTED}") from None
        self.load_state_dict(state, strict=strict)

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"

    def extra_repr(self) -> str:
        return ""


def check_keys(where: str, expected: list, given: list, strict: bool) -> None:
    """Raise ``KeyError`` naming missing and unexpected keys (under ``strict``)."""
    if not strict:
        return
    wanted, present = set(expected), set(given)
    missing = [k for k in expected if k not in present]
    unexpected = [k for k in given if k not in wanted]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        raise KeyError(f"{where}: " + " and ".join(parts) + f"; expected keys {list(expected)}")


def _members(name: str, value: object) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, Tensor):
        if value.requires_grad and value.op is None:
            yield name, "parameter", value
    elif isinstance(value, Value):
        yield name, "parameter", value
    elif isinstance(value, Module):
        yield name, "module", value
    elif isinstance(value, (list, tuple)) and value:
        if _is_value_grid(value):
            yield name, "parameter", value
        else:
            for i, item in enumerate(value):
                yield from _members(f"{name}.{i}", item)


def _is_value_grid(nest: list | tuple) -> bool:
    """True for a non-empty rectangular nest of lists/tuples whose leaves are all Values."""
    if isinstance(nest[0], Value):
        return all(isinstance(v, Value) for v in nest)
    if not isinstance(nest[0], (list, tuple)) or not nest[0]:
        return False
    width = len(nest[0])
    return all(isinstance(row, (list, tuple)) and len(row) == width and _is_value_grid(row) for row in nest)


def _object_array(nest: list | tuple) -> np.ndarray:
    """A nest of Values as an object array of its shape (the Values themselves, not copies)."""
    shape = _shape(nest)
    arr = np.empty(shape, dtype=object)
    flat = arr.reshape(-1)
    stack: list[Any] = [nest]
    values: list[Value] = []
    while stack:
        item = stack.pop()
        if isinstance(item, Value):
            values.append(item)
        else:
            stack.extend(reversed(item))
    flat[:] = values
    return arr


def _shape(group: Any) -> tuple[int, ...]:
    if isinstance(group, Tensor):
        return group.shape
    shape = []
    while not isinstance(group, Value):
        shape.append(len(group))
        group = group[0]
    return tuple(shape)


def _read(group: Any, attr: str) -> np.ndarray:
    if isinstance(group, Tensor):
        x = getattr(group, attr)
        return np.zeros_like(group.data) if x is None else np.array(x, copy=True)
    if isinstance(group, Value):
        return np.array(float(getattr(group, attr)))
    objects = _object_array(group)
    return np.array([float(getattr(v, attr)) for v in objects.flat], dtype=np.float64).reshape(objects.shape)


def _check_tied(groups: dict, arrays: dict) -> None:
    """Two names of one shared parameter must be given the same numbers."""
    first: dict[int, str] = {}
    for name, arr in arrays.items():
        key = id(groups[name])
        if key in first:
            other = first[key]
            if not np.array_equal(arrays[other], arr):
                raise ValueError(
                    f"load_state_dict: {other!r} and {name!r} name the same (shared) parameter but hold "
                    f"different arrays in the state"
                )
        else:
            first[key] = name
