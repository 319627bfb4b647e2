import ast

import numpy as np
import pytest
from graphs import GRAPHS, article

import nn  # noqa: F401  (nn's primitives count too: every op needs a template)
from autograd import Tensor, Value, backward_code
from autograd.codegen import CODE_TEMPLATES, register_code, template_for
from autograd.extend import registered
from autograd.graphinfo import NodeNames, all_gradients
from autograd.scalar_ops import SCALAR_OPS
from autograd.tensor import apply
from autograd.tensor_ops import TENSOR_OPS, TensorOp
from nn.article_data import Y_ARTICLE, X


def run(root, names=None, values=None):
    """Generate, execute, and return ``(gradients, source, node names)``."""
    source = backward_code(root, names=names)
    namespace = {}
    exec(compile(source, "<backward_code>", "exec"), namespace)
    order, _ = all_gradients(root)
    node_names = NodeNames(order, names)
    if values is None:
        values = {name: node.data for name, node in node_names.given.items() if node.op is None}
    return namespace["gradients"](values), source, node_names


@pytest.mark.parametrize("key", list(GRAPHS))
def test_generated_code_gives_the_engines_gradients(key):
    root, names = GRAPHS[key]()
    _, grads = all_gradients(root)
    result, source, node_names = run(root, names)
    assert result, "no named node"
    for name, g in result.items():
        np.testing.assert_allclose(g, grads[id(node_names.given[name])], rtol=1e-10, atol=1e-10, err_msg=name)
    imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [alias.name for n in imports for alias in n.names] == ["numpy"]


def test_the_articles_network_gives_the_articles_hand_derived_gradients():
    loss, names = article("sum")
    result, source, _ = run(loss, names)
    for name, g in names["reference"].gradients(X, Y_ARTICLE).items():
        np.testing.assert_array_equal(result[name], g)  # the same arithmetic, the same numbers
    body = [line.strip() for line in source.splitlines()]
    for line in (
        "dz2 = dp * (p * (1 - p))",
        "db2 = dz2.sum(axis=0, keepdims=True)",
        "dw2 = h.T @ dz2",
        "dh = dz2 @ w2.T",
        "dz1 = dh * (h * (1 - h))",
        "dw1 = x.T @ dz1",
    ):
        assert line in body
    backward = body[body.index("# backward, in the order the chain rule reaches each node") + 1 :]
    assert [line.split(" = ")[0] for line in backward[:9]] == [
        "dloss",
        "dp",
        "dz2",
        "db2",
        "dw2",
        "dh",
        "dz1",
        "db1",
        "dw1",
    ]


def test_broadcast_sums_are_written_out():
    a = Tensor(np.ones((2, 3, 4)), requires_grad=True, label="a")
    b = Tensor(np.ones((3, 1)), requires_grad=True, label="b")
    loss = (a * b).sum()
    loss.label = "loss"
    result, source, _ = run(loss)
    assert "db = (dmul1 * a).sum(axis=0).sum(axis=1, keepdims=True)" in source
    np.testing.assert_array_equal(result["b"], np.full((3, 1), 8.0))


def test_a_shared_node_gets_the_sum_of_its_uses():
    x = Value(3.0, "x")
    y = x * x + x
    y.label = "y"
    result, source, _ = run(y)
    assert "dx = dy + dmul1 * x + dmul1 * x" in source
    assert result["x"] == pytest.approx(7.0)


def test_unnamed_leaves_and_index_arrays_are_written_into_the_code():
    w = Tensor(np.arange(20.0).reshape(10, 2), requires_grad=True, label="w")
    c = Tensor(np.linspace(0, 1, 20).reshape(10, 2))  # no label: a constant in the code
    index = np.array([0, 3, 3, 9, 1, 1, 2, 2, 5])
    loss = ((w * c)[index] ** 2).sum()
    result, source, _ = run(loss, {"loss": loss, "w": w})
    assert "CONST1 = np.array([[0.0, 0.05263157894736842]" in source  # exact float reprs
    assert "np.array([0, 3, 3, 9, 1, 1, 2, 2, 5])" in source
    loss.backward()
    np.testing.assert_allclose(result["w"], w.grad, rtol=1e-12)
    assert set(result) == {"loss", "w"}


def test_names_from_locals_pick_the_variables():
    h = Tensor([[0.5, -1.0]], requires_grad=True)
    logits = h * 3.0
    loss = logits.sum()
    number = 4  # not a node: ignored
    _, source, _ = run(loss, locals())
    assert "dh = dlogits * 3.0" in source and number == 4


def test_every_primitive_has_a_template():
    # the engine's and those declared through autograd.extend (nn's; ops of the tests are named test_*)
    scalar = {**SCALAR_OPS, **registered("scalar")}
    tensor = {**TENSOR_OPS, **registered("tensor")}
    scalar, tensor = ({n: op for n, op in ops.items() if not n.startswith("test_")} for ops in (scalar, tensor))
    assert {"weighted_sum", "binary_cross_entropy"} <= set(scalar) and "linear" in tensor
    missing = [f"scalar {name}" for name, op in scalar.items() if name not in CODE_TEMPLATES["scalar"]]
    missing += [f"tensor {name}" for name, op in tensor.items() if name not in CODE_TEMPLATES["tensor"]]
    assert not missing, f"no code template for: {', '.join(missing)} (autograd.codegen.register_code)"
    for op in list(scalar.values()) + list(tensor.values()):
        template = template_for(op)
        assert len(template.backward) == (1 if op.arity is None else op.arity), op.name


@pytest.fixture
def cube_op():
    op = TensorOp("cube_for_codegen", lambda a: a**3, (lambda g, out, a: 3 * g * a * a,), "a^3; d/da = 3 a^2")
    yield op
    TENSOR_OPS.pop(op.name, None)
    CODE_TEMPLATES["tensor"].pop(op.name, None)


def test_a_users_primitive_registers_its_template(cube_op):
    x = Tensor([1.0, -2.0, 0.5], requires_grad=True, label="x")
    loss = apply(cube_op, (x,)).sum()
    loss.label = "loss"
    with pytest.raises(LookupError, match="the tensor op 'cube_for_codegen' has no code template; declare one"):
        backward_code(loss)
    register_code(cube_op, forward="{0} ** 3", backward=("{g} * 3 * {0} ** 2",))
    result, source, _ = run(loss)
    assert "dx = dcube_for_codegen1 * 3 * x ** 2" in source
    np.testing.assert_allclose(result["x"], 3 * x.data**2)
    with pytest.raises(ValueError, match="already has a code template"):
        register_code(cube_op, forward="{0} ** 3", backward=("{g}",))
    with pytest.raises(ValueError, match="takes 1 inputs but 2 backward templates"):
        register_code(cube_op, forward="{0} ** 3", backward=("{g}", "{g}"), replace=True)


def test_root_must_be_a_scalar():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="backward_code: root must be a single number"):
        backward_code(x * 2)


def test_a_conv_nets_code_reproduces_its_gradients():
    import nn.functional as F

    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((2, 2, 6, 5)), requires_grad=True, label="x")
    w = Tensor(rng.standard_normal((3, 2, 3, 2)), requires_grad=True, label="w")
    b = Tensor(rng.standard_normal(3), requires_grad=True, label="b")
    h = F.gelu(F.conv2d(x, w, b, stride=(1, 2), padding=1))
    loss = (F.max_pool2d(h, 3, 2, 1) ** 2).sum() + F.gelu(F.avg_pool2d(h, 2), approximate="tanh").sum()
    loss.label = "loss"
    result, source, _ = run(loss)
    assert "dx = fold(np.einsum('nohw,ocij->nchwij', dconv2d1, w), (6, 5), (1, 2), (1, 1))" in source
    loss.backward()
    for t in (x, w, b):
        np.testing.assert_allclose(result[t.label], t.grad, rtol=1e-10, atol=1e-12)
