import numpy as np
import pytest
from graphs import GRAPHS

from autograd import Tensor, Value, check_graph
from autograd.scalar_ops import SCALAR_OPS, NaryOp
from autograd.tensor import apply
from autograd.tensor_ops import TENSOR_OPS, TensorOp
from autograd.value import nary


@pytest.mark.parametrize("key", list(GRAPHS))
def test_every_op_of_the_example_graphs_passes(key):
    root, names = GRAPHS[key]()
    report = check_graph(root, names=names)
    assert report.passed, str(report)
    assert report.first_failure is None and report.failed_ops == []
    assert "every op's derivative agrees" in str(report)


@pytest.fixture
def broken_square():
    """A primitive whose declared VJP is wrong: d/da a^2 given as a instead of 2a."""
    op = TensorOp("broken_square", np.square, (lambda g, out, a: g * a,), "a^2; declared (wrongly) d/da = a")
    yield op
    del TENSOR_OPS[op.name]


@pytest.fixture
def broken_cube():
    op = NaryOp("broken_cube", "cube", lambda x: x**3, lambda out, x: (3 * x,), "x^3; declared (wrongly) d/dx = 3x")
    yield op
    del SCALAR_OPS[op.name]


def test_a_broken_tensor_primitive_is_named(broken_square):
    x = Tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True, label="x")
    s = apply(broken_square, (x,))
    s.label = "s"
    loss = (s.tanh() + x.exp()).sum()
    report = check_graph(loss)
    assert not report.passed and report.failed_ops == ["broken_square"]
    first = report.first_failure
    assert (first.op, first.node_name, first.input_index, first.input_name) == ("broken_square", "s", 0, "x")
    np.testing.assert_allclose(first.numeric, 2 * first.declared, rtol=1e-6)  # the factor the declaration lost
    assert "the first op that fails (in backward order): broken_square at node s, input 0 (x)" in str(report)
    assert report.to_dict()["failed_ops"] == ["broken_square"]


def test_a_broken_scalar_primitive_is_named(broken_cube):
    a = Value(1.5, "a")
    c = nary(broken_cube, 1.5**3, (a,))
    loss = (c * a).tanh() + a**2
    report = check_graph(loss)
    assert report.failed_ops == ["broken_cube"]
    assert report.first_failure.worst_declared == pytest.approx(4.5)
    assert report.first_failure.worst_numeric == pytest.approx(6.75, rel=1e-6)


def test_a_kink_passes_and_says_so():
    x = Tensor([[1.0, 0.0, -2.0]], requires_grad=True, label="x")
    loss = x.relu().sum()
    report = check_graph(loss)
    assert report.passed
    assert [c.note for c in report.checks if c.op == "relu"] == ["a kink at 1 element(s)"]


def test_large_inputs_are_sampled():
    x = Tensor(np.linspace(-1, 1, 300).reshape(30, 10), requires_grad=True, label="x")
    report = check_graph(x.tanh().sum(), max_elements=16)
    assert report.passed
    assert "16 of 300 elements checked" in [c.note for c in report.checks if c.op == "tanh"][0]


def test_the_graph_is_left_as_it_was():
    x = Tensor([0.3, 0.7], requires_grad=True, label="x")
    y = (x * x).sum()
    before = x.data.copy()
    check_graph(y)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


def test_nn_primitives_pass_and_a_broken_extension_op_is_named():
    from autograd.extend import tensor_op
    from nn.losses import cross_entropy
    from nn.primitives import LINEAR

    x = Tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], label="x")
    w = Tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True, label="w")
    b = Tensor([0.1, -0.2, 0.3, 0.0], requires_grad=True, label="b")
    loss = cross_entropy(apply(LINEAR, (x, w, b)), [3, 1])
    report = check_graph(loss)
    assert report.passed and {"linear", "cross_entropy"} <= {c.op for c in report.checks}
    halved = tensor_op(
        "test_broken_halve", lambda a: a / 2, [lambda g, out, a: g], "a / 2; declared (wrongly) d/da = 1"
    )
    report = check_graph(halved(apply(LINEAR, (x, w, b))).sum())
    assert report.failed_ops == ["test_broken_halve"]


def test_a_conv_net_passes():
    import nn.functional as F

    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((2, 1, 6, 6)), label="x")
    w = Tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True, label="w")
    b = Tensor(rng.standard_normal(3), requires_grad=True, label="b")
    h = F.max_pool2d(F.conv2d(x, w, b, padding=1).tanh(), 2)
    loss = F.cross_entropy(F.avg_pool2d(h, 3).reshape(2, 3), [0, 2])
    report = check_graph(loss)
    assert report.passed, str(report)
    assert {"conv2d", "max_pool2d", "avg_pool2d", "cross_entropy"} <= {c.op for c in report.checks}
