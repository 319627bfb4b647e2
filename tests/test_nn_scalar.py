import importlib.util
import random

import numpy as np
import pytest
from conftest import require_module

from autograd import Value
from nn.primitives import WEIGHTED_SUM
from nn.scalar import MLP, Layer, Neuron, weighted_sum


def micrograd_nn_on_our_value():
    require_module("micrograd")
    spec = importlib.util.find_spec("micrograd.nn")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.Value = Value
    return module


def test_weighted_sum_is_one_node_with_per_parent_derivatives():
    w = [Value(0.5), Value(-2.0)]
    x = [Value(3.0), 4.0]  # a number is wrapped as a Value
    b = Value(0.25)
    out = weighted_sum(w, x, b)
    assert out.op is WEIGHTED_SUM
    assert out.data == 0.25 + 0.5 * 3.0 + -2.0 * 4.0
    assert len(out.parents) == 5 and out.parents[0] is w[0] and out.parents[-1] is b
    assert WEIGHTED_SUM.local_derivatives(out) == (3.0, 4.0, 0.5, -2.0, 1.0)
    (out * 2.0).backward()
    assert [v.grad for v in w] == [6.0, 8.0] and out.parents[2].grad == 1.0 and b.grad == 2.0
    with pytest.raises(ValueError, match="weighted_sum: 2 weights but 1 inputs"):
        weighted_sum(w, [1.0], b)


def test_same_seed_same_weights_as_micrograd():
    micrograd = require_module("micrograd.nn")
    random.seed(7)
    theirs = micrograd.MLP(3, [4, 4, 1])
    random.seed(7)
    ours = MLP(3, [4, 4, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert repr(ours) == repr(theirs)


def test_forward_and_gradients_equal_the_binary_op_build():
    binary = micrograd_nn_on_our_value()
    random.seed(3)
    ref = binary.MLP(2, [5, 5, 1])
    random.seed(3)
    ours = MLP(2, [5, 5, 1])
    rng = np.random.default_rng(0)
    total_ref, total_ours = Value(0.0), Value(0.0)
    for row in rng.standard_normal((6, 2)).tolist():
        total_ref = total_ref + ref(list(map(Value, row))).tanh()
        total_ours = total_ours + ours(row).tanh()
    assert total_ours.data == pytest.approx(total_ref.data, rel=1e-14)
    total_ref.backward()
    total_ours.backward()
    for p, q in zip(ours.parameters(), ref.parameters()):
        assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-15)


def test_layer_and_neuron_shapes():
    random.seed(0)
    layer = Layer(3, 2, nonlin=False)
    assert len(layer([1.0, 2.0, 3.0])) == 2
    assert isinstance(Layer(3, 1)([1.0, 2.0, 3.0]), Value)
    n = Neuron(2)
    assert n([-100.0, -100.0]).data >= 0.0  # ReLU
    with pytest.raises(ValueError, match=r"Neuron\(2\): got 3 inputs"):
        n([1.0, 2.0, 3.0])
    assert len(MLP(2, [3, 1]).parameters()) == 3 * 3 + 4
