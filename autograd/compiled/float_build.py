"""Building the float plan's function (``floats.py``) from a recording: one walk over its events.

The walk keeps, for every tensor the step touches, the symbols of its data and of its gradient at
that point of the step (``symbolic.SymArray``), runs each op's float rule (``float_rules.py``) on
them, and notes what the function must read when it starts (inputs, parameters, gradients that add
up, optimizer state) and write when it ends (every node's data, parameters, gradients, optimizer
state). ``function(outputs)`` writes the source.
"""

from __future__ import annotations

import struct

import numpy as np

from ..tensor import Tensor
from .dynamic import Num
from .float_rules import optimizer_rule, rule_for, vjp_into_shape
from .symbolic import NoFloatRule, Program, SymArray, as_symbols, constants, elementwise, symbols

__all__ = ["FloatBuild", "FloatFallback", "PUBLISH_INNER_GRADS", "define"]

PUBLISH_INNER_GRADS = True
"""Intermediate nodes' ``grad`` are refreshed too, as after an eager backward."""


class FloatFallback(Exception):
    """The float code met a value it does not compute as the engine does (an infinite logit, an
    optimizer option changed since the recording): this call runs on the numpy plan."""


def define(source, namespace):
    """The function ``step`` that ``source`` defines, with ``namespace`` as its globals."""
    exec(compile(source, "<float step>", "exec"), namespace)
    return namespace["step"]


KNOWN_EVENTS = {"apply", "constant", "backward", "backward_done", "step", "zero_grad", "item", "returned"}


class FloatBuild:
    """Walks a recording once, building the program and what the function reads and writes."""

    def __init__(self, events):
        self.program = Program()
        self.namespace = Program.namespace()
        self.namespace.update(_Fallback=FloatFallback, _Num=Num)
        self._objects = {}
        self.reads = []  # statements that bind the program's inputs
        self.setup = []  # per-step numbers and checks (optimizer options)
        self.guards = []  # boolean symbols: any true stops the float code
        self.values = {}  # id(tensor) -> SymArray: its data at this point of the step
        self.made = set()  # ids of nodes made during the recording
        self.grads = {}  # id(tensor) -> SymArray or None: its grad at this point (tensors the step touched)
        self.tensors = {}  # id -> tensor, for those in grads
        self.data = {}  # id(array) -> (array, SymArray): contents to write back
        self.state = {}  # (id(state dict), key) -> (dict, local variable, value): optimizer state arrays
        self.counters = {}  # (id(state dict), key) -> (dict, variable)
        self.constants = {}  # id(tensor) -> number it was made from
        self.leaf_states, self.parameters, self.grad_buffers, self.items = [], [], {}, {}
        self._seen_parameters = set()
        self._read_arrays = []
        self.arrays = {}  # id(array) -> SymArray: the contents of a leaf's array at this point
        self._updated = []  # arrays an optimizer step has written
        self._before_update = set()  # ids of nodes made before the latest update
        self._views = set()  # ids of nodes whose data views their input's memory
        self.snapshot = None
        for event in events:
            kind = event[0]
            if kind not in KNOWN_EVENTS:
                raise NoFloatRule(_unknown(event))
            getattr(self, "_" + kind)(*event[1:])
        self.final = self._outputs()
        self._allocate_gradients()
        self._check_aliasing()

    # ------------------------------------------------------------------ events

    def _returned(self, result):
        """What the call returned: the float plan's results are read by ``Compiled`` itself."""

    def _apply(self, node, op, ins, op_args):
        rule = rule_for(op)
        if rule is None:
            raise NoFloatRule(f"{getattr(op, 'name', op)} has no float rule")
        for t in ins:  # a view made before an update shows the updated numbers: not followed here
            stale = id(t) in self._before_update and id(t) in self._views
            if stale and any(np.shares_memory(t.data, a) for a in self._updated):
                raise NoFloatRule(f"{op.name} uses a view of a parameter made before the parameter's update")
        for t in (node, *ins):
            _check_float64(t.data, op.name)
        arrays = [self.value(t) for t in ins]
        try:
            out = as_symbols(rule.forward(op, self.guard, *arrays, **op_args))
        except NoFloatRule as e:
            raise NoFloatRule(f"{op.name}: {e}") from None
        except SYMBOLIC_FAILURES as e:  # numpy refusing objects somewhere in the op's code
            raise NoFloatRule(f"{op.name} with {_short(op_args)}: {type(e).__name__}: {e}") from None
        if out.shape != node.data.shape:
            raise NoFloatRule(f"{op.name}: the float rule gave shape {out.shape}, the engine {node.data.shape}")
        self.values[id(node)] = out
        self.made.add(id(node))
        for t in ins:
            if t.op is None and t.requires_grad and id(t) not in self._seen_parameters:
                self._seen_parameters.add(id(t))
                self.parameters.append((t, t.data))
        if op.view and np.shares_memory(node.data, ins[0].data):
            self._views.add(id(node))
            return  # a view of its input's memory: written with it
        if not (node.data.flags.c_contiguous and node.data.flags.writeable):
            raise NoFloatRule(f"{op.name}: its output is not a contiguous writable array")
        self.data[id(node.data)] = (node.data, out)

    def _constant(self, tensor, source):
        self.constants[id(tensor)] = source

    def _backward(self, roots, seeds, order, without):
        for n in order:
            if n.op is not None:
                if id(n) not in self.made:
                    raise NoFloatRule("backward through a node made before the compiled call")
                self.grads[id(n)], self.tensors[id(n)] = None, n
            if n.hooks:
                raise NoFloatRule("a tensor with hooks (register_hook)")
        for n in order:
            if n.op is None and n.requires_grad:
                self._leaf_before_backward(n, id(n) in without)
        for root, seed in zip(roots, seeds):
            _check_float64(np.asarray(seed), "the seed of backward")
            self._accumulate(root, constants(np.asarray(seed, dtype=np.float64)))
        for node in reversed(order):
            op = node.op
            if op is None:
                continue
            g = self.grads[id(node)]
            if g is None:
                continue
            parents = node.parents
            arrays = [self.value(p) for p in parents]
            op_args = node.op_args or {}
            out = self.values[id(node)]
            for parent, vjp in zip(parents, rule_for(op).vjps_for(op, len(parents))):
                if not parent.requires_grad:
                    continue
                try:
                    gi = vjp_into_shape(vjp, g, out, arrays, op_args, parent.data.shape)
                except NoFloatRule as e:
                    raise NoFloatRule(f"the gradient of {op.name}: {e}") from None
                except SYMBOLIC_FAILURES as e:
                    raise NoFloatRule(f"the gradient of {op.name}: {type(e).__name__}: {e}") from None
                self._accumulate(parent, as_symbols(gi))

    def _leaf_before_backward(self, leaf, expect_none):
        key = id(leaf)
        if key in self.grads:  # the step zeroed it or computed it before
            if expect_none:
                self.grads[key] = None
            elif self.grads[key] is None:
                raise NoFloatRule("a gradient set by hand between two backward passes")
            return
        self.tensors[key] = leaf
        if expect_none:
            self.leaf_states.append((leaf, True))
            self.grads[key] = None
        else:
            self.leaf_states.append((leaf, False))
            name = self.name(leaf)
            self.reads.append(f"g{name} = {name}.grad")
            self.grads[key] = self.read(f"g{name}", leaf.data.shape)

    def _accumulate(self, tensor, g):
        current = self.grads.get(id(tensor))
        self.grads[id(tensor)] = g if current is None else elementwise("add", current, g)
        self.tensors[id(tensor)] = tensor

    def _step(self, optimizer):
        rule = optimizer_rule(optimizer)
        if rule is None:
            raise NoFloatRule(f"{type(optimizer).__name__} has no float update rule")
        if self.snapshot is None and any(g is not None for g in self.grads.values()):
            self.snapshot = self._outputs()
        self._before_update = set(self.made)
        opt = self.name(optimizer)
        numbers = {}
        for attribute, value in vars(optimizer).items():
            if isinstance(value, Num):  # set from a number argument: follows it, as in the numpy plan
                num = self.name(value)
                self.setup.append(f"{opt}.{attribute} = _Num({num}.evaluate(numbers), {num}.expression)")
        for i, p in enumerate(optimizer.parameters):
            if not isinstance(p, Tensor):
                raise NoFloatRule(f"{type(optimizer).__name__}: a parameter that is not a Tensor")
            if id(p) not in self.grads:
                raise NoFloatRule(f"{type(optimizer).__name__}: a parameter whose gradient the step does not compute")
            g = self.grads[id(p)]
            if g is None:
                continue  # step() skips it
            _check_float64(p.data, type(optimizer).__name__)
            update = Update(self, optimizer, opt, optimizer.state[i], self.value(p), g, numbers)
            new = as_symbols(rule(update))
            self.arrays[id(p.data)] = new
            self._updated.append(p.data)
            self.data[id(p.data)] = (p.data, new)

    def _zero_grad(self, parameters):
        for p in parameters:
            if not isinstance(p, Tensor):
                raise NoFloatRule("zero_grad of parameters that are not Tensors")
            self.grads[id(p)], self.tensors[id(p)] = None, p

    def _item(self, tensor, value):
        self.items[id(value)] = tensor

    def _backward_done(self, roots, order):
        pass

    # ------------------------------------------------------------------ reading

    def name(self, obj) -> str:
        """A global of the generated code that holds ``obj``."""
        key = id(obj)
        if key not in self._objects:
            name = f"_o{len(self._objects)}"
            self._objects[key] = name
            self.namespace[name] = obj
        return self._objects[key]

    def view(self, array) -> str:
        """A global of the generated code holding a memoryview of ``array`` (cheaper to read and
        write through than the array)."""
        key = ("view", id(array))
        if key not in self._objects:
            self.name(array)  # keeps the array alive and its id unique
            name = f"_m{len(self._objects)}"
            self._objects[key] = name
            self.namespace[name] = memoryview(array)
        return self._objects[key]

    def struct(self, n) -> str:
        name = f"_S{n}"
        if name not in self.namespace:
            self.namespace[name] = struct.Struct(f"@{n}d")
        return name

    def read(self, source, shape) -> SymArray:
        """Symbols for the float64 array the expression ``source`` gives when the step starts."""
        n = int(np.prod(shape, dtype=np.int64))
        names = [f"a{len(self.program.nodes) + i}" for i in range(n)]
        inputs = [self.program.input(name) for name in names]
        if n:
            self.reads.append(f"{', '.join(names)}, = {self.struct(n)}.unpack({source})")
        return symbols(inputs, shape)

    def value(self, t) -> SymArray:
        v = self.values.get(id(t))
        if v is None and t.op is None:
            v = self.arrays.get(id(t.data))  # a parameter, or a tensor sharing its array (detach())
        if v is not None:
            return v
        if t.op is not None:
            raise NoFloatRule("a tensor computed before the compiled call")
        _check_float64(t.data, "an input")
        source = self.constants.get(id(t))
        if isinstance(source, Num):  # made from a number argument: recomputed from the arguments
            name = f"n{len(self.program.nodes)}"
            self.reads.append(f"{name} = {self.name(source)}.evaluate(numbers)")
            v = symbols([self.program.input(name)] * t.data.size, t.data.shape)
        elif source is not None:  # made from a constant number
            v = constants(t.data)
        else:
            if not t.data.flags.c_contiguous:
                raise NoFloatRule("an input that is not a contiguous array")
            v = self.arrays[id(t.data)] = self.read(self.view(t.data), t.data.shape)
            self._read_arrays.append(t.data)
            return v
        self.values[id(t)] = v
        return v

    def guard(self, mask) -> None:
        for x in np.asarray(mask, dtype=object).ravel().tolist():
            if x is True:
                raise NoFloatRule("a value the float code does not compute as the engine does")
            if x is not False:
                self.guards.append(x)

    # ------------------------------------------------------------------ writing

    def _outputs(self):
        """What the function writes at this point: node data, gradients, optimizer state."""
        grads = {}
        for key, g in self.grads.items():
            tensor = self.tensors[key]
            if tensor.op is not None and not PUBLISH_INNER_GRADS:
                continue
            grads[key] = (tensor, g)
        return dict(self.data), grads, dict(self.state), dict(self.counters)

    def function(self, outputs):
        """The source of ``step(numbers)`` writing ``outputs``, and its globals."""
        data, grads, state, counters = outputs
        writes, roots = [], []  # (the code naming an array, its new contents)
        for array, value in data.values():
            writes.append((self.view(array), value))
        publish, computed = [], []
        for key, (tensor, g) in grads.items():
            if g is None:
                publish.append(f"{self.name(tensor)}.grad = None")
                continue
            computed.append(g)
            publish.append(f"{self.name(tensor)}.grad = {self.name(self.grad_buffers[key])}")
        if len(computed) == len(self.grad_buffers) and computed:  # all of them: one write
            writes.append((self.view(self._arena), _concatenated(computed)))
        else:
            for key, (_, g) in grads.items():
                if g is not None:
                    writes.append((self.view(self.grad_buffers[key]), g))
        counter_lines = [f"{self.name(d)}[{key!r}] = {var}" for (_, key), (d, var) in counters.items()]
        for _, local, value in state.values():
            writes.append((local, value))
        for _, value in writes:
            roots.extend(value.ravel().tolist())
        roots.extend(self.guards)
        body, render = self.program.lines(roots)
        lines = ["def step(numbers):", *self.reads, *self.setup, *body]
        if self.guards:
            lines.append(f"if {' or '.join(render(g) for g in self.guards)}:")
            lines.append("    raise _Fallback")
        for target, value in writes:
            values = value.ravel().tolist()
            if values:
                lines.append(f"{self.struct(len(values))}.pack_into({target}, 0, {', '.join(map(render, values))})")
        lines += publish + counter_lines
        source = "\n    ".join(lines)
        return source, dict(self.namespace)

    def _allocate_gradients(self):
        """One array holds every gradient the step computes, each tensor's ``grad`` a view of it, in the
        order the final write lists them (so that one ``pack_into`` writes them all)."""
        tensors = [self.tensors[key] for key, (_, g) in self.final[1].items() if g is not None]
        if self.snapshot is not None:
            final = {id(t) for t in tensors}
            tensors += [t for key, (t, g) in self.snapshot[1].items() if g is not None and key not in final]
        self._arena = np.zeros(sum(t.data.size for t in tensors), dtype=np.float64)
        start = 0
        for t in tensors:
            self.grad_buffers[id(t)] = self._arena[start : start + t.data.size].reshape(t.data.shape)
            start += t.data.size

    def _check_aliasing(self):
        written = [a for a, _ in self.data.values()] + list(self.grad_buffers.values())
        for read in self._read_arrays:
            for w in written:
                if w is not read and np.shares_memory(read, w):
                    raise NoFloatRule("an input array that shares memory with an array the step writes")


def _concatenated(arrays) -> SymArray:
    return symbols([v for a in arrays for v in a.ravel().tolist()], (sum(a.size for a in arrays),))


class Update:
    """What an optimizer rule sees for one parameter: ``p``, ``g`` (symbols), its options and state."""

    def __init__(self, build, optimizer, opt, state, p, g, numbers):
        self._build, self._optimizer, self._opt, self._state = build, optimizer, opt, state
        self._numbers = numbers  # code -> symbol: each option read once per step
        self.p, self.g = p, g

    def number(self, code) -> object:
        """A number computed when the step starts by ``code`` (``{opt}`` is the optimizer)."""
        code = code.replace("{opt}", self._opt)
        found = self._numbers.get(code)
        if found is None:
            name = f"s{len(self._build.program.nodes)}"
            self._build.setup.append(f"{name} = {code}")
            found = self._numbers[code] = self._build.program.input(name)
        return found

    def hyper(self, attribute):
        return getattr(self._optimizer, attribute)

    def hyper_value(self, fn):
        return fn(self._optimizer)

    def guard(self, code) -> None:
        """Run on the numpy plan when ``code`` holds as the step starts (an option changed since)."""
        line = f"if {code.replace('{opt}', self._opt)}: raise _Fallback"
        if line not in self._build.setup:
            self._build.setup.append(line)

    def state(self, key) -> SymArray:
        found = self._build.state.get((id(self._state), key))
        if found is not None:
            return found[2]
        array = self._state.get(key)
        if not isinstance(array, np.ndarray) or array.shape != self.p.shape:
            raise NoFloatRule(f"{type(self._optimizer).__name__}: no {key} of the parameter's shape yet")
        _check_float64(array, type(self._optimizer).__name__)
        name = f"t{len(self._build.program.nodes)}"
        self._build.reads.append(f"{name} = {self._build.name(self._state)}[{key!r}]")
        value = self._build.read(name, array.shape)
        self._build.state[(id(self._state), key)] = (self._state, name, value)
        return value

    def set_state(self, key, value) -> None:
        d, local, _ = self._build.state[(id(self._state), key)]
        self._build.state[(id(self._state), key)] = (d, local, as_symbols(value))

    def counter(self, key) -> str:
        """The variable holding ``state[key] + 1`` (``state[key]`` is set to it at the end)."""
        found = self._build.counters.get((id(self._state), key))
        if found is None:
            if not isinstance(self._state.get(key), int):
                raise NoFloatRule(f"{type(self._optimizer).__name__}: no step count yet")
            before = f"{self._build.name(self._state)}[{key!r}]"
        else:
            before = found[1]
        name = f"c{len(self._build.setup)}_{len(self._build.program.nodes)}"
        self._build.setup.append(f"{name} = {before} + 1")
        self._build.counters[(id(self._state), key)] = (self._state, name)
        return name


SYMBOLIC_FAILURES = (TypeError, ValueError, AttributeError, IndexError)
"""What numpy raises when an op's code does something to arrays of symbols that it cannot do."""


def _short(op_args) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in op_args.items())
    return text if len(text) <= 60 else text[:57] + "..."


def _check_float64(array, where):
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        dtype = getattr(array, "dtype", type(array).__name__)
        raise NoFloatRule(f"{where}: an array of dtype {dtype} (the float plan computes in float64 only)")


def _unknown(event) -> str:
    kind = event[0]
    if kind == "inplace":
        return "an in-place update written by hand (p -= lr * p.grad); an nn optimizer has a float rule"
    if kind == "value":
        return "a Value graph"
    if kind == "unsupported":
        return str(event[1])
    return f"the recorded event {kind!r}"
