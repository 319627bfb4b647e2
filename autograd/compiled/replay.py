"""A recorded Tensor step as a flat list of kernel calls on preallocated buffers.

Buffers: every node keeps the array its eager run produced, and the replay writes into it in
place; a view op (reshape, transpose, basic indexing) whose output already views its input's buffer
needs no step at all. Each backward pass gets one gradient buffer per node; whether a contribution
is written or added is decided once, from the order of the walk. An op with an in-place kernel
(``op.kernels``) computes straight into the buffer; one without falls back to its ordinary forward
or VJP plus a copy, which costs an allocation, never correctness.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ..tensor_ops import unbroadcast
from .dynamic import CompileError, GradArray, Num, recompute

_INPLACE = {"+=": np.add, "-=": np.subtract, "*=": np.multiply, "/=": np.divide}


class Plan:
    """The steps of one recorded call, run by ``run(numbers)``."""

    def __init__(self, events, inputs, numbers, start_grads=None, reuse=True):
        self.steps = []
        self.leaf_states = []  # (leaf, expect_no_grad): checked before every replay
        self.parameters = []  # (tensor, data array): the arrays the plan writes into
        self.grad_buffers = {}  # id(node) -> buffer, for every node of every backward pass
        self.items = {}  # id(float returned by item()) -> node
        self.constants = {}  # id(constant tensor) -> Num it was made from
        self.first_update = None  # index of the first step after a backward pass that changes parameters
        self.changed_before_update = []  # tensors changed in place before it (running statistics)
        self._numbers = numbers
        self._start_grads = start_grads or {}  # id(leaf) -> its grad when the recorded call began
        self.overwritten = set()  # ids of nodes whose buffer a later elementwise op writes its result into
        self._reuse = reuse
        self._readers, self._viewed = _readers_and_views(events)
        self._build(events, inputs)
        if self.first_update is None:
            self.first_update = len(self.steps)

    # ------------------------------------------------------------------ running

    def ready(self) -> bool:
        """False when state the plan relies on changed outside it (then the caller re-traces)."""
        for tensor, data in self.parameters:
            if tensor.data is not data:
                return False
        for leaf, expect_none in self.leaf_states:
            if (leaf.grad is None) != expect_none and not (
                not expect_none and leaf.grad is self.grad_buffers.get(id(leaf))
            ):
                return False
        return True

    def run(self, numbers) -> None:
        for step in self.steps:
            step(numbers)

    # ------------------------------------------------------------------ building

    def _build(self, events, inputs):
        seen_params = set()
        pending_zero = set()
        for event in events:
            kind = event[0]
            if kind == "apply":
                _, node, op, ins, op_args = event
                for t in ins:
                    if t.op is None and t.requires_grad and id(t) not in seen_params:
                        seen_params.add(id(t))
                        self.parameters.append((t, t.data))
                self._forward(node, op, ins, op_args)
            elif kind == "constant":
                _, tensor, source = event
                if isinstance(source, Num):
                    self.constants[id(tensor)] = source
                    self.steps.append(_refresh_constant(tensor.data, source))
            elif kind == "backward":
                _, roots, seeds, order, without = event
                self._backward(roots, seeds, order, without, pending_zero)
                pending_zero = set()
            elif kind == "inplace":
                _, tensor, what, operand = event
                self._mark_update()
                if self.first_update is None:
                    self.changed_before_update.append(tensor)
                self.steps.append(self._inplace(tensor, what, operand))
            elif kind == "step":
                self._mark_update()
                self.steps.append(_optimizer_step(event[1]))
            elif kind == "zero_grad":
                params = list(event[1])
                pending_zero |= {id(p) for p in params}
                self.steps.append(_zero_grad(params))
            elif kind == "item":
                self.items[id(event[2])] = event[1]
            elif kind == "unsupported":
                raise CompileError(f"compile: {event[1]} inside a compiled function is not supported")
            elif kind == "value":
                raise CompileError(
                    "compile: this plan replays Tensor ops; a Value graph is compiled by the scalar plan"
                )

    def _mark_update(self):
        if self.first_update is None and self.grad_buffers:
            self.first_update = len(self.steps)

    def _forward(self, node, op, ins, op_args):
        out = node.data
        arrays = [t.data for t in ins]
        if op.view and np.shares_memory(out, arrays[0]):
            return  # a view of its input's buffer: always up to date
        kernel = getattr(op, "kernels", None)
        forward_into = kernel.forward if kernel is not None else None
        if forward_into is not None and self._reuse and self._may_overwrite(node, op, ins):
            node.data = out = arrays[0]  # the input is read by nothing else: its buffer takes the result
            self.overwritten.add(id(ins[0]))
        if forward_into is not None:
            self.steps.append(lambda numbers: forward_into(out, *arrays, **op_args))
            return
        forward = op.forward
        if not out.flags.writeable:
            raise CompileError(f"compile: the output of {op.name} is read-only and not a view of its input")

        def step(numbers):
            np.copyto(out, forward(*arrays, **op_args), casting="unsafe")

        self.steps.append(step)

    def _may_overwrite(self, node, op, ins) -> bool:
        """Whether ``op`` (elementwise, one input) may write ``node``'s result into its input's buffer:
        nothing reads the input afterwards (its only reader is this op, whose VJPs read only its output,
        and the input's own VJPs do not read their output), and nobody else shares that memory."""
        if len(ins) != 1 or "inputs" in op.kernels.reads or not all(op.kernels.vjps):
            return False
        x = ins[0]
        made_by = x.op.kernels if x.op is not None else None
        if made_by is None or "out" in made_by.reads or not all(made_by.vjps):
            return False
        if self._readers.get(id(x), 0) != 1 or id(x) in self._viewed or id(node) in self._viewed:
            return False
        a, out = x.data, node.data
        return a.shape == out.shape and a.dtype == out.dtype and a.flags.c_contiguous and a.flags.writeable

    def _backward(self, roots, seeds, order, without, pending_zero):
        needs = [n for n in order if n.requires_grad]
        buffers = self.grad_buffers
        written = set()
        for n in needs:
            if n.op is None:
                expect_none = id(n) in without
                reset_inside = expect_none and self._start_grads.get(id(n)) is not None
                if reset_inside:  # the function set p.grad = None itself: the replay does it too
                    self.steps.insert(0, _zero_grad([n]))
                elif id(n) not in pending_zero:
                    self.leaf_states.append((n, expect_none))
                buffer = n.grad if isinstance(n.grad, np.ndarray) else np.zeros_like(n.data)
                buffers[id(n)] = buffer.view(np.ndarray) if isinstance(buffer, GradArray) else buffer
                if not expect_none:
                    written.add(id(n))  # an earlier gradient: contributions add to it
            else:
                # laid out as eager's gradient was (a sum over it then adds in the same order)
                like = n.grad if isinstance(n.grad, np.ndarray) and n.grad.shape == n.data.shape else n.data
                buffers[id(n)] = np.zeros_like(like)
        for root, seed in zip(roots, seeds):
            self.steps.append(_seed(buffers[id(root)], seed, id(root) in written))
            written.add(id(root))
        for node in reversed(order):
            op = node.op
            if op is None or not node.requires_grad:
                continue
            parents = node.parents
            vjps = op.vjps_for(len(parents))
            kernel = getattr(op, "kernels", None)
            for k, (parent, vjp) in enumerate(zip(parents, vjps)):
                if not parent.requires_grad:
                    continue
                into = kernel.vjps[k] if kernel is not None and kernel.vjps else None
                add = id(parent) in written
                written.add(id(parent))
                self.steps.append(_contribution(node, parent, vjp, into, buffers, add))
        leaves = [(n, buffers[id(n)]) for n in needs if n.op is None]
        inner = [(n, buffers[id(n)]) for n in needs if n.op is not None]
        self.steps.append(_publish(leaves, inner))

    def _inplace(self, tensor, what, operand):
        data = tensor.data
        if isinstance(operand, Tensor):
            operand = operand.data  # a node's buffer, refreshed by the steps before this one
        if isinstance(what, tuple):  # ("setitem", index)
            index = what[1]

            def assign(numbers):
                data[index] = recompute(operand, numbers)

            return assign
        ufunc = _INPLACE[what]

        def update(numbers):
            ufunc(data, recompute(operand, numbers), out=data, casting="same_kind")

        return update


def _readers_and_views(events):
    """How many recorded ops read each node, and which nodes share memory with another (views)."""
    readers, viewed = {}, set()
    for event in events:
        if event[0] != "apply":
            continue
        _, node, op, ins, _ = event
        for t in ins:
            readers[id(t)] = readers.get(id(t), 0) + 1
        if op.view and ins and np.shares_memory(node.data, ins[0].data):
            viewed.update((id(node), id(ins[0])))
    return readers, viewed


def _refresh_constant(buffer, source):
    def step(numbers):
        buffer[...] = source.evaluate(numbers)

    return step


def _seed(buffer, seed, add):
    value = np.asarray(seed, dtype=buffer.dtype)

    def step(numbers):
        if add:
            np.add(buffer, value, out=buffer)
        else:
            np.copyto(buffer, value)

    return step


def _contribution(node, parent, vjp, into, buffers, add):
    """One chain-rule product: ``vjp(g)`` summed back to the parent's shape, written or added."""
    g = buffers[id(node)]
    out = node.data
    arrays = [p.data for p in node.parents]
    op_args = node.op_args or {}
    dst = buffers[id(parent)]
    shape = parent.data.shape
    if into is not None:
        scratch = np.empty_like(dst) if add else None

        def fused(numbers):
            if add:
                into(scratch, g, out, *arrays, **op_args)
                np.add(dst, scratch, out=dst)
            else:
                into(dst, g, out, *arrays, **op_args)

        return fused

    def step(numbers):
        c = vjp(g, out, *arrays, **op_args)
        if c.shape != shape:
            c = unbroadcast(c, shape)
        if add:
            np.add(dst, c, out=dst, casting="unsafe")
        else:
            np.copyto(dst, c, casting="unsafe")

    return step


def _publish(leaves, inner):
    """After a backward pass: every node's ``grad`` is its buffer, as after an eager backward."""

    def step(numbers):
        for n, b in leaves:
            n.grad = b
        for n, b in inner:
            n.grad = b

    return step


def _optimizer_step(optimizer):
    dynamic = {k: v for k, v in vars(optimizer).items() if isinstance(v, Num)}
    kernel = optimizer.compiled_step() if hasattr(optimizer, "compiled_step") else optimizer.step

    def step(numbers):
        for name, num in dynamic.items():
            setattr(optimizer, name, Num(num.evaluate(numbers), num.expression))
        kernel()

    return step


def _zero_grad(params):
    def step(numbers):
        for p in params:
            p.grad = None if isinstance(p, Tensor) else 0.0

    return step
