"""``Module``: a container of parameters and sub-modules, named by where they are assigned.

Assigning an attribute registers it, in assignment order:

- a leaf ``Tensor`` with ``requires_grad`` is a parameter (any other Tensor, such as a kept
  intermediate result, is plain data);
- a ``Value``, or a list (of lists ...) of Values, is a parameter group: one entry in ``state_dict``
  whose array has the nesting's shape (a neuron's ``w`` is ``(nin,)``, the scalar seed net's ``w1``
  is ``(in, hidden)``);
- a ``Module``, or a list of Modules, is a child: its names get the prefix ``name.`` (``name.0.``,
  ``name.1.`` ... for a list).

There is no ``__getattr__``: a misspelt attribute is an ``AttributeError``, as for any object.
"""

from __future__ import annotations

import numpy as np

from autograd import Tensor, Value


class Module:
    """Base class: subclasses assign parameters and children in ``__init__`` and define ``forward``."""

    def __setattr__(self, name, value):
        registry = self.__dict__.get("_registry")
        if registry is None:
            registry = {}
            object.__setattr__(self, "_registry", registry)
        kind = _kind(value)
        if kind is None:
            registry.pop(name, None)
        elif name not in registry or registry[name] != kind:
            registry.pop(name, None)
            registry[name] = kind
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self.__dict__.get("_registry", {}).pop(name, None)
        object.__delattr__(self, name)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: define forward(...) to make the module callable")

    # ------------------------------------------------------------------ traversal

    def named_children(self):
        """``(name, module)`` for each direct child, in registration order (list items as ``name.i``)."""
        for name, kind in self.__dict__.get("_registry", {}).items():
            value = getattr(self, name)
            if kind == "module":
                yield name, value
            elif kind == "modules":
                for i, m in enumerate(value):
                    yield f"{name}.{i}", m

    def _named_groups(self, prefix=""):
        """``(dotted name, parameter or nested list of Values)``: the entries of ``state_dict``."""
        for name, kind in self.__dict__.get("_registry", {}).items():
            value = getattr(self, name)
            if kind == "param":
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._named_groups(f"{prefix}{name}.")

    def named_parameters(self):
        """``(dotted name, parameter)`` for every Tensor and Value, children's included.

        A group of Values yields one entry per Value, its index in the name: ``w.0``, ``w1.1.3``.
        """
        for name, group in self._named_groups():
            if isinstance(group, (Tensor, Value)):
                yield name, group
            else:
                for index, v in np.ndenumerate(_object_array(group)):
                    yield name + "".join(f".{i}" for i in index), v

    def parameters(self) -> list:
        """Every parameter (Tensor or Value), in the order of ``named_parameters``."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Reset gradients: ``None`` for a Tensor (as PyTorch), ``0.0`` for a Value (as micrograd)."""
        for p in self.parameters():
            p.grad = None if isinstance(p, Tensor) else 0.0

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict:
        """``name -> ndarray``: a copy of every parameter group's data."""
        return {name: _read(group, "data") for name, group in self._named_groups()}

    def grad_dict(self) -> dict:
        """``name -> ndarray``: a copy of the gradients in ``state_dict``'s layout (zeros where none flowed)."""
        return {name: _read(group, "grad") for name, group in self._named_groups()}

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy ``state``'s arrays into the parameters (the caller's arrays are never shared).

        Missing or unexpected keys raise ``KeyError`` naming them (``strict=False`` skips both); a
        key whose shape differs raises ``ValueError`` with both shapes. Nothing is written unless
        every check passes.
        """
        groups = dict(self._named_groups())
        missing = [k for k in groups if k not in state]
        unexpected = [k for k in state if k not in groups]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(
                f"load_state_dict: {type(self).__name__}: " + " and ".join(parts) + f"; expected keys {list(groups)}"
            )
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
        for name, arr in arrays.items():
            group = groups[name]
            if isinstance(group, Tensor):
                group.data[...] = arr
            elif isinstance(group, Value):
                group.data = float(arr)
            else:
                for v, x in zip(_object_array(group).flat, arr.flat):
                    v.data = float(x)

    def save(self, path) -> None:
        """Write ``state_dict()`` to ``path`` as ``.npz`` (exactly the bytes of each float)."""
        with open(path, "wb") as f:
            np.savez(f, **self.state_dict())

    def load(self, path, strict: bool = True) -> None:
        """Read an ``.npz`` written by ``save`` into this module (see ``load_state_dict``)."""
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
        self.load_state_dict(state, strict=strict)

    def __repr__(self):
        children = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"

    def extra_repr(self) -> str:
        return ""


def _kind(value):
    if isinstance(value, Tensor):
        return "param" if value.requires_grad and value.op is None else None
    if isinstance(value, Value):
        return "param"
    if isinstance(value, Module):
        return "module"
    if isinstance(value, (list, tuple)) and value:
        if all(isinstance(v, Module) for v in value):
            return "modules"
        if _is_value_nest(value):
            return "param"
    return None


def _is_value_nest(value) -> bool:
    if isinstance(value, Value):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(_is_value_nest(v) for v in value)


def _object_array(nest) -> np.ndarray:
    """A nest of Values as an object array of its shape (the Values themselves, not copies)."""
    shape = _shape(nest)
    arr = np.empty(shape, dtype=object)
    flat = arr.reshape(-1)
    stack = [nest]
    values = []
    while stack:
        item = stack.pop()
        if isinstance(item, Value):
            values.append(item)
        else:
            stack.extend(reversed(item))
    if len(values) != flat.size:
        raise ValueError(f"Module: a nested list of Values must be rectangular, got {len(values)} for shape {shape}")
    flat[:] = values
    return arr


def _shape(group) -> tuple:
    if isinstance(group, Tensor):
        return group.shape
    shape = []
    while not isinstance(group, Value):
        shape.append(len(group))
        group = group[0]
    return tuple(shape)


def _read(group, attr) -> np.ndarray:
    if isinstance(group, Tensor):
        x = getattr(group, attr)
        return np.zeros_like(group.data) if x is None else np.array(x, copy=True)
    if isinstance(group, Value):
        return np.array(float(getattr(group, attr)))
    objects = _object_array(group)
    return np.array([float(getattr(v, attr)) for v in objects.flat], dtype=np.float64).reshape(objects.shape)
