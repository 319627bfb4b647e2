"""autograd.onnx.export: the traced forward pass run by ONNX Runtime gives the engine's outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

import autograd
import nn
from autograd import Tensor, no_grad
from autograd import onnx as agx
from autograd import tensor_ops as ops
from autograd.extend import tensor_op
from autograd.tensor import apply
from autograd.tensor_ops import TensorOp
from nn.onnx_export import WITHOUT_MAPPING
from nn.primitives import LINEAR

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def ort():
    require_module("onnx")
    return require_module("onnxruntime")


def run_model(ort, model, *arrays):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: a for i, a in zip(session.get_inputs(), arrays)})


def run_engine(fn, *arrays):
    with no_grad():
        out = fn(*[Tensor(a) for a in arrays])
    return [t.data for t in (out if isinstance(out, (tuple, list)) else [out])]


def tolerance(want, *arrays):
    """1e-6 for a float32 model, 1e-12 in float64, relative to the output's scale where that exceeds 1
    (the two runtimes may add in different orders)."""
    scale = max(1.0, float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0)))
    return (1e-6 if any(a.dtype == np.float32 for a in (want, *arrays)) else 1e-12) * scale


def check(ort, fn, *arrays, runs=(), allow_nonfinite=False, **options):
    """Export ``fn`` traced on ``arrays``; the model passes the checker and gives the engine's outputs on
    ``arrays`` and on each tuple of arrays in ``runs`` (finite ones, unless ``allow_nonfinite``); return
    the model."""
    import onnx

    model = agx.export(fn, arrays, **options)
    onnx.checker.check_model(model, full_check=True)
    for inputs in [arrays, *runs]:
        got, want = run_model(ort, model, *inputs), run_engine(fn, *inputs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            assert np.isfinite(w).all() or allow_nonfinite
            tol = tolerance(w, *inputs)
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    return model


def ops_written(model) -> set:
    """The engine ops the model's nodes came from (each node's doc string is its engine node's label)."""
    return {n.doc_string.split(": ")[-1].split("(")[0] for n in model.graph.node}


# ----------------------------------------------------------------------------- the networks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_articles_network_runs_in_onnx_runtime(ort, dtype):
    rng = np.random.default_rng(101)
    net = nn.TwoLayerNet(4, 6, 2, seed=3, dtype=dtype)
    x = rng.standard_normal((5, 4)).astype(dtype)
    model = check(ort, net, x)
    assert [i.name for i in model.graph.initializer] == ["w1", "b1", "w2", "b2"]
    assert [n.op_type for n in model.graph.node] == ["MatMul", "Add", "Sigmoid"] * 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_mlp_of_linear_relu_tanh_sigmoid_runs_in_onnx_runtime(ort, dtype):
    rng = np.random.default_rng(102)
    mlp = nn.Sequential(
        nn.Linear(6, 16, rng=1, dtype=dtype),
        nn.ReLU(),
        nn.Linear(16, 8, rng=2, dtype=dtype),
        nn.Tanh(),
        nn.Linear(8, 3, rng=3, dtype=dtype),
        nn.Sigmoid(),
    )
    x = rng.standard_normal((10, 6)).astype(dtype)
    model = check(ort, mlp, x)
    names = [i.name for i in model.graph.initializer]
    assert names == [name for name, _ in mlp.named_parameters()]  # 0.weight, 0.bias, 2.weight, ...


def broad_model(x, w, b):
    """Most of the engine's ops in one forward pass, parameters included."""
    h = (x @ w + b).tanh()  # (6, 5)
    h = h * 0.5 - h.sigmoid() / 3.0 + (h**2).sqrt() - h.abs() * h.relu()
    h = h - h.max(axis=1, keepdims=True) + h.min() - h.mean(axis=0)
    spread = h.var(axis=0, ddof=1) + h.std(axis=1, keepdims=True) ** 2.0
    h = autograd.maximum(h, -0.2) + autograd.minimum(h, spread) + h.clip(-0.5, 0.7)
    h = autograd.where(np.arange(5) % 2 == 0, h, h.exp()) + (h**2 + 1.0).log()
    rows = autograd.concatenate([h[:3], h[::-2]], axis=0).reshape(2, 3, 5).transpose(1, 0, 2)  # (3, 2, 5)
    pieces = rows.split(2, dim=2)
    stacked = autograd.stack([pieces[0], pieces[1]], axis=-1)  # (3, 2, 2, 2)
    flat = stacked.flatten(1).expand_dims(0).squeeze(0)  # (3, 8)
    scores = flat.softmax(axis=-1) + flat.log_softmax(axis=(0, 1)) + flat.logsumexp(axis=1, keepdims=True)
    out = (scores.broadcast_to((2, 3, 8)).sum(axis=0).abs() + 0.5) ** b[:1].sigmoid()
    return out.astype(np.float64).sum(axis=1) / out[:, [1, 6]].sum()


@pytest.mark.parametrize("opset", [13, 17, 18])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_model_using_most_engine_ops_runs_in_onnx_runtime(ort, dtype, opset):
    rng = np.random.default_rng(103)
    w = Tensor(rng.standard_normal((4, 5)), requires_grad=True, dtype=dtype, label="w")
    b = Tensor(rng.standard_normal(5), requires_grad=True, dtype=dtype, label="b")
    x = rng.standard_normal((6, 4)).astype(dtype)
    model = check(ort, lambda x: broad_model(x, w, b), x, opset=opset)
    assert model.opset_import[0].version == opset
    assert {"var", "logsumexp", "stack", "split", "getitem", "cast", "where"} <= ops_written(model)


# ----------------------------------------------------------------------------- one line per op


def pos(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def std(*shape):
    return RNG.standard_normal(shape)


def other_float(x):
    return np.float64 if x.dtype == np.float32 else np.float32


CASES = [
    ("add", lambda x, y: x + y, [std(3, 4), std(4)]),
    ("sub", lambda x, y: x - y, [std(3, 1), std(4)]),
    ("mul", lambda x, y: x * y, [std(3, 4), std(3, 4)]),
    ("div", lambda x, y: x / y, [std(3, 4), pos(4)]),
    ("pow", lambda x, y: x**y, [pos(3, 4), std(3, 4)]),
    ("pow_const", lambda x: x**3, [std(3, 4)]),
    ("neg", lambda x: -x, [std(3)]),
    ("matmul", lambda x, y: x @ y, [std(3, 4), std(4, 2)]),
    ("matmul", lambda x, y: x @ y, [std(2, 3, 4), std(4)]),
    ("matmul", lambda x, y: x @ y, [std(4), std(2, 4, 3)]),
    ("exp", lambda x: x.exp(), [std(3, 4)]),
    ("log", lambda x: x.log(), [pos(3, 4)]),
    ("tanh", lambda x: x.tanh(), [std(3, 4)]),
    ("sigmoid", lambda x: x.sigmoid(), [std(3, 4)]),
    ("relu", lambda x: x.relu(), [std(3, 4)]),
    ("sqrt", lambda x: x.sqrt(), [pos(3, 4)]),
    ("abs", lambda x: x.abs(), [std(3, 4)]),
    ("sum", lambda x: x.sum(), [std(3, 4)]),
    ("sum", lambda x: x.sum(axis=(0, 2), keepdims=True), [std(2, 3, 4)]),
    ("sum", lambda x: x.sum(axis=()), [std(3)]),
    ("mean", lambda x: x.mean(axis=-1), [std(3, 4)]),
    ("max", lambda x: x.max(axis=0), [std(3, 4)]),
    ("min", lambda x: x.min(keepdims=True), [std(3, 4)]),
    ("var", lambda x: x.var(axis=1, ddof=1), [std(3, 4)]),
    ("std", lambda x: x.std(), [std(3, 4)]),
    ("logsumexp", lambda x: x.logsumexp(axis=0), [std(3, 4)]),
    ("logsumexp", lambda x: autograd.logsumexp(x * np.array([1.0, -np.inf, 2.0]), axis=1), [pos(2, 3)]),
    ("softmax", lambda x: x.softmax(), [std(3, 4)]),
    ("softmax", lambda x: x.softmax(axis=None), [std(3, 4)]),
    ("log_softmax", lambda x: x.log_softmax(axis=0), [std(3, 4)]),
    ("log_softmax", lambda x: x.log_softmax(axis=(0, 2)), [std(2, 3, 4)]),
    ("reshape", lambda x: x.reshape(4, -1), [std(2, 3, 4)]),
    ("reshape", lambda x: x.reshape(()), [std(1, 1)]),
    ("flatten", lambda x: x.flatten(), [std(2, 3, 4)]),
    ("flatten", lambda x: x.flatten(1, 2), [std(2, 3, 4, 2)]),
    ("flatten", lambda x: x.flatten(1), [std(2, 3, 4, 2)]),
    ("transpose", lambda x: x.T, [std(2, 3, 4)]),
    ("transpose", lambda x: x.permute(2, 0, 1), [std(2, 3, 4)]),
    ("getitem", lambda x: x[1], [std(3, 4)]),
    ("getitem", lambda x: x[-1, 1:3], [std(3, 4)]),
    ("getitem", lambda x: x[::-1, ::-2], [std(3, 5)]),
    ("getitem", lambda x: x[..., None, 2], [std(2, 3, 4)]),
    ("getitem", lambda x: x[:], [std(3)]),
    ("getitem", lambda x: x[5:], [std(3)]),
    ("getitem", lambda x: x[[0, 2, 2, -1]], [std(4, 3)]),
    ("getitem", lambda x: x[1:, [3, 0]], [std(3, 4)]),
    ("getitem", lambda x: x[:, np.array([True, False, True, True])], [std(3, 4)]),
    ("getitem", lambda x: x[[0, 1], [2, 0]], [std(3, 4)]),
    ("getitem", lambda x: x[0, ..., [1, 1]], [std(2, 3, 4)]),
    ("getitem", lambda x: x[np.array([[True, False], [False, True]])], [std(2, 2, 3)]),
    ("broadcast_to", lambda x: x.broadcast_to((2, 3, 4)), [std(3, 1)]),
    ("concatenate", lambda x, y: autograd.concatenate([x, y, x], axis=1), [std(2, 3), std(2, 1)]),
    ("stack", lambda x, y: autograd.stack([x, y], axis=1), [std(2, 3), std(2, 3)]),
    ("split", lambda x: x.split([1, 3], dim=1)[1], [std(2, 4)]),
    ("where", lambda x, y: autograd.where(np.array([True, False, True]), x, y), [std(2, 3), std(3)]),
    ("maximum", lambda x, y: autograd.maximum(x, y), [std(3, 4), std(4)]),
    ("minimum", lambda x, y: autograd.minimum(x, y), [std(3, 4), std(3, 1)]),
    ("clip", lambda x: x.clip(-0.5, 0.5), [std(3, 4)]),
    ("clip", lambda x: x.clip(max=0.1), [std(3, 4)]),
    ("clip", lambda x: x.clip(np.linspace(-1, 0, 4), np.linspace(0, 1, 4)), [std(3, 4)]),
    ("squeeze", lambda x: x.squeeze(), [std(3, 1, 4, 1)]),
    ("squeeze", lambda x: x.squeeze(axis=1), [std(3, 1, 4, 1)]),
    ("expand_dims", lambda x: x.unsqueeze(1).expand_dims((0, -1)), [std(3, 4)]),
    ("cast", lambda x: x.astype(other_float(x)) * 2.0, [std(3, 4)]),
    ("cast", lambda x: x.astype(other_float(x)).astype(x.dtype), [std(3, 4)]),
    ("linear", lambda x, w, b: apply(LINEAR, (x, w, b)), [std(5, 3), std(3, 2), std(2)]),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}-{k}" for k, c in enumerate(CASES)])
def test_each_op_gives_the_engines_result(ort, case, dtype):
    name, fn, arrays = CASES[case]
    model = check(ort, fn, *[a.astype(dtype) for a in arrays])
    assert name in ops_written(model)


def test_every_engine_op_has_a_mapping_a_test_or_a_reason_it_has_none():
    assert set(ops.TENSOR_OPS) <= set(agx.ONNX_OPS) | set(agx.UNMAPPED)
    tested = {c[0] for c in CASES} | set(LOSSES)
    assert {name for name in ops.TENSOR_OPS if name in agx.ONNX_OPS} <= tested


def test_mixed_float_types_are_cast_to_the_result_type_as_numpy_promotes(ort):
    model = check(ort, lambda x: x * np.linspace(1.0, 2.0, 4), std(3, 4).astype(np.float32))
    assert model.graph.output[0].type.tensor_type.elem_type == 11  # double: float32 * float64 array


# ----------------------------------------------------------------------------- losses and nn's fused ops


LOSSES = ("binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_losses_give_the_engines_values(ort, reduction, dtype):
    rng = np.random.default_rng(104)
    p = rng.uniform(0.0, 1.0, (6, 3)).astype(dtype)
    p[0, 0], p[1, 1] = 0.0, 1.0  # the clip at eps and 1 - eps
    y = rng.uniform(0.0, 1.0, (6, 3)).astype(dtype)
    labels = np.array([0, 2, 1, 1, 0, 2])
    written = ops_written(check(ort, lambda p, y: nn.binary_cross_entropy(p, y, reduction), p, y))
    z = p * 8 - 4
    z[2, :2], z[3, :2], y[3, 1] = np.inf, -np.inf, 0.0  # the limits at infinite logits, 0 where the term vanishes
    logits = check(ort, lambda z, y: nn.binary_cross_entropy_with_logits(z, y, reduction), z, y, allow_nonfinite=True)
    written |= ops_written(logits)
    written |= ops_written(check(ort, lambda z: nn.cross_entropy(z, labels, reduction), p * 8 - 4))
    assert written == set(LOSSES)
    check(ort, lambda p, y: nn.mse_loss(p, y, reduction), p, y)


def torch_op(torch, name, function, *, inputs):
    """A stand-in for one of nn's layer ops, declared as nn declares its ops, computing with PyTorch."""

    def forward(*arrays, **op_args):
        tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
        return function(*tensors, **op_args).numpy()

    return TensorOp(name, forward, (None,) * inputs, register=False)


def test_conv2d_and_pooling_follow_pytorch(ort, torch):
    rng = np.random.default_rng(105)
    F = torch.nn.functional
    conv = torch_op(torch, "conv2d", F.conv2d, inputs=3)
    max_pool = torch_op(torch, "max_pool2d", F.max_pool2d, inputs=1)
    avg_pool = torch_op(torch, "avg_pool2d", F.avg_pool2d, inputs=1)
    bound = 1 / np.sqrt(2 * 3 * 3)  # PyTorch's initial scale: the outputs stay near 1
    w = Tensor(rng.uniform(-bound, bound, (4, 2, 3, 3)), requires_grad=True, dtype=np.float32)
    w_grouped = Tensor(rng.uniform(-bound, bound, (4, 2, 3, 3)), requires_grad=True, dtype=np.float32)
    b = Tensor(rng.uniform(-bound, bound, 4), requires_grad=True, dtype=np.float32)

    def cnn(x):
        h = conv(x, w, b, stride=1, padding=1).relu()
        h = conv(h, w_grouped, b, stride=(2, 1), padding="valid", dilation=1, groups=2)
        h = max_pool(h, kernel_size=2, stride=1, padding=1)
        h = conv(h, w_grouped, b, padding="same", dilation=2, groups=2)
        return avg_pool(h, kernel_size=(2, 3), stride=None, padding=(1, 1), count_include_pad=False).flatten(1)

    x = rng.standard_normal((3, 2, 9, 8)).astype(np.float32)
    model = check(ort, cnn, x, runs=[(x[:1],)], dynamic_batch=True)
    assert [n.op_type for n in model.graph.node if n.op_type in ("Conv", "MaxPool", "AveragePool")] == [
        "Conv",
        "Conv",
        "MaxPool",
        "Conv",
        "AveragePool",
    ]


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_normalisation_dropout_and_gelu_follow_pytorch(ort, torch, opset):
    rng = np.random.default_rng(106)
    F = torch.nn.functional

    def batch_norm(x, weight, bias, running_mean, running_var, eps, training):
        mean, var = torch.from_numpy(running_mean), torch.from_numpy(running_var)
        return F.batch_norm(x, mean, var, weight, bias, training=training, eps=eps)

    def layer_norm(x, weight, bias, normalized_shape, eps):
        return F.layer_norm(x, normalized_shape, weight, bias, eps=eps)

    bn = torch_op(torch, "batch_norm", batch_norm, inputs=3)
    ln = torch_op(torch, "layer_norm", layer_norm, inputs=3)
    dropout = torch_op(torch, "dropout", lambda x, p, training: F.dropout(x, p, training), inputs=1)
    gelu = torch_op(torch, "gelu", F.gelu, inputs=1)
    f32 = np.float32
    gamma = Tensor(rng.uniform(0.5, 1.5, 3), requires_grad=True, dtype=f32)
    beta = Tensor(rng.standard_normal(3), requires_grad=True, dtype=f32)
    ln_w = Tensor(rng.uniform(0.5, 1.5, (4, 5)), requires_grad=True, dtype=f32)
    ln_b = Tensor(rng.standard_normal((4, 5)), requires_grad=True, dtype=f32)
    stats = {"running_mean": rng.standard_normal(3).astype(f32), "running_var": rng.uniform(0.5, 2, 3).astype(f32)}

    def model(x):
        h = bn(x, gamma, beta, **stats, eps=1e-3, training=False)
        h = dropout(h, p=0.5, training=False)
        h = ln(h, ln_w, ln_b, normalized_shape=(4, 5), eps=1e-5)
        return gelu(h, approximate="none") + gelu(h, approximate="tanh")

    x = rng.standard_normal((2, 3, 4, 5)).astype(f32)
    written = {n.op_type for n in check(ort, model, x, opset=opset).graph.node}
    assert ("LayerNormalization" in written) == (opset >= 17)
    assert ("Gelu" in written) == (opset >= 20)
    assert "BatchNormalization" in written


def test_dropout_or_batch_norm_in_training_mode_is_an_error(torch):
    F = torch.nn.functional
    dropout = torch_op(torch, "dropout", lambda x, p, training: F.dropout(x, p, training), inputs=1)
    with pytest.raises(agx.ExportError, match="dropout.*eval mode"):
        agx.export(lambda x: dropout(x, p=0.5, training=True), (std(2, 3),))


def test_a_module_with_a_training_flag_is_exported_in_eval_mode_and_put_back():
    seen = []

    class Net(nn.Module):
        def __init__(self):
            self.training = True
            self.w = Tensor(std(3, 2), requires_grad=True)

        def train(self, mode=True):
            self.training = mode

        def forward(self, x):
            seen.append(self.training)
            return x @ self.w

    net = Net()
    agx.export(net, (std(4, 3),))
    assert seen == [False] and net.training is True


# ----------------------------------------------------------------------------- what cannot be exported


def test_an_op_without_a_mapping_is_an_error_naming_it_and_its_node():
    softplus = tensor_op(
        "onnx_test_softplus", lambda x: np.logaddexp(0.0, x), [lambda g, out, x: g * (1.0 - np.exp(-out))]
    )

    def fn(x):
        h = softplus(x * 2.0)
        h.label = "hidden"
        return h

    with pytest.raises(agx.ExportError, match=r"no ONNX mapping for op 'onnx_test_softplus' \(node 'hidden: "):
        agx.export(fn, (std(3),))
    with pytest.raises(agx.ExportError, match="'scatter'.*made only by backward"):
        agx.export(lambda x: ops.SCATTER(x, shape=(4,), index=(slice(1, 4),), basic=True), (std(3),))


def test_a_mapping_of_your_own_is_one_entry(ort):
    softplus = tensor_op(
        "onnx_test_softplus_mapped", lambda x: np.logaddexp(0.0, x), [lambda g, out, x: g * (1.0 - np.exp(-out))]
    )
    agx.ONNX_OPS["onnx_test_softplus_mapped"] = agx.Mapping(lambda g, s: g.op("Softplus", s.inputs))
    try:
        check(ort, lambda x: softplus(x) * 3.0, std(4, 2).astype(np.float32))  # ONNX Runtime: float only
    finally:
        del agx.ONNX_OPS["onnx_test_softplus_mapped"]


def test_what_a_trace_cannot_carry_is_an_error_that_says_why():
    x = std(4, 3)
    with pytest.raises(agx.ExportError, match="Python number"):
        agx.export(lambda x: x / x.max().item(), (x,))
    with pytest.raises(agx.ExportError, match="input 'input_1'.*does not reach any output"):
        agx.export(lambda x, y: x * 2.0, (x, x))
    with pytest.raises(agx.ExportError, match="input 'input'.*does not reach"):
        agx.export(lambda x: Tensor(x.data * 2.0) + 1.0, (x,))
    with pytest.raises(agx.ExportError, match="scalar Values"):
        agx.export(lambda x: Tensor([[(autograd.Value(1.0) * 2.0).data]]) @ x[:1], (x,))
    with pytest.raises(agx.ExportError, match="inference graph"):
        agx.export(lambda x: (x.sum().backward(), x * 2.0)[1], (Tensor(x, requires_grad=True),))
    with pytest.raises(agx.ExportError, match="assigned into"):
        agx.export(_assigns_into, (x,))
    with pytest.raises(agx.ExportError, match="must return a Tensor"):
        agx.export(lambda x: x.data, (x,))
    with pytest.raises(ValueError, match="opset must be an int from 13"):
        agx.export(lambda x: x, (x,), opset=9)
    with pytest.raises(ValueError, match="input_names must be 1"):
        agx.export(lambda x: x * 1.0, (x,), input_names=["a", "b"])


def _assigns_into(x):
    h = x * 2.0
    h[0] = 0.0
    return h


def test_in_place_arithmetic_is_recorded_and_a_changed_view_is_refused(ort):
    def accumulate(x):
        h = x * 2.0
        h += 1.0
        h *= x
        total = Tensor(np.zeros(3))
        total -= x.sum(axis=0)
        return h, total

    check(ort, accumulate, std(4, 3))

    def through_a_view(x):
        h = x * 2.0
        v = h.reshape(3, 4)
        h += 1.0
        return v

    with pytest.raises(agx.ExportError, match="shares memory"):
        agx.export(through_a_view, (std(4, 3),))


def test_names_outputs_and_the_saved_file(ort, tmp_path):
    import onnx

    w = Tensor(std(3, 2), requires_grad=True, label="w")

    def two(x, y):
        h = x @ w
        return h, h, x, w, y.tanh()

    path = tmp_path / "two.onnx"
    x, y = std(4, 3), std(2)
    agx.export(two, (x, y), path, input_names=["x", "y"], output_names=list("abcde"))
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == ["x", "y"]
    assert [o.name for o in model.graph.output] == list("abcde")
    a, b, c, d, e = run_model(ort, model, x, y)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(c, x)
    np.testing.assert_array_equal(d, w.data)
    np.testing.assert_allclose(e, np.tanh(y), rtol=1e-15)
    labelled = Tensor(x, label="pixels")
    assert agx.export(lambda t: t * 2.0, (labelled,)).graph.input[0].name == "pixels"


# ----------------------------------------------------------------------------- a dynamic batch


def test_a_dynamic_batch_runs_any_batch_size(ort):
    mlp = nn.Sequential(nn.Linear(6, 5, rng=1), nn.Tanh(), nn.Linear(5, 2, rng=2))
    x = std(4, 6)
    model = check(ort, mlp, x, runs=[(std(1, 6),), (std(9, 6),)], dynamic_batch=True)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_shapes_written_for_a_dynamic_batch_follow_it(ort):
    w = Tensor(std(3, 2), requires_grad=True)

    def fn(x):
        n = x.shape[0]
        h = x.reshape(n, 2, 3).transpose(0, 2, 1).flatten(1)[:, ::2]  # (n, 3)
        h = h[:, None, :].broadcast_to((n, 2, 3))[1:, 0] @ w  # (n - 1, 2)
        last = h[-1] + h[[0]].sum()
        return h.softmax(axis=0) + h.var(axis=0, ddof=1), last, x.mean(axis=0)

    check(ort, fn, std(4, 6), runs=[(std(3, 6),), (std(7, 6),)], dynamic_batch=True)


def test_a_dynamic_batch_refuses_what_would_be_wrong_at_another_size():
    x = std(4, 3)
    with pytest.raises(agx.ExportError, match="constant of shape \\(4, 1\\) that changes with the batch"):
        agx.export(lambda x: x + np.ones((len(x), 1)), (x,), dynamic_batch=True)
    with pytest.raises(agx.ExportError, match="changes with the batch"):
        agx.export(lambda x: x - float(x.data.mean()), (x,), dynamic_batch=True)
    with pytest.raises(agx.ExportError, match="ran differently"):
        agx.export(lambda x: x.exp() if len(x) < 5 else x.tanh(), (x,), dynamic_batch=True)
    with pytest.raises(agx.ExportError, match="the second run went on with op 'tanh'"):
        agx.export(lambda x: x.exp() if len(x) < 5 else x.exp().tanh(), (x,), dynamic_batch=True)
    with pytest.raises(agx.ExportError, match="the first run went on with op 'tanh'"):
        agx.export(lambda x: x.exp().tanh() if len(x) < 5 else x.exp(), (x,), dynamic_batch=True)
    with pytest.raises(agx.ExportError, match="constant of shape \\(4,\\) that changes with the batch"):
        agx.export(lambda z: nn.cross_entropy(z, np.zeros(len(z), dtype=int)), (x,), dynamic_batch=True)
    with pytest.raises(agx.ExportError, match="at least 2 rows"):
        agx.export(lambda x: x * 2.0, (x[:1],), dynamic_batch=True)
    with pytest.raises(agx.ExportError, match="different lengths"):
        agx.export(lambda x, y: x + y.sum(), (x, x[:2]), dynamic_batch=True)


# ----------------------------------------------------------------------------- without the onnx package


def test_autograd_onnx_imports_without_onnx_and_says_how_to_install_it():
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "import numpy as np, autograd.onnx as m\n"
        "try:\n    m.export(lambda x: x * 2.0, (np.ones(2),))\n"
        "except ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "pip install 'backprop-lab[onnx]'" in done.stdout


def test_every_nn_primitive_has_a_mapping_or_a_reason():
    from autograd.extend import registered

    declared = {name for name, op in registered("tensor").items() if op.forward.__module__.startswith("nn.")}
    assert {"linear", "conv2d", "gelu"} <= declared
    assert declared <= set(agx.ONNX_OPS) | set(WITHOUT_MAPPING)


def test_a_cnn_of_nns_layers_exports(ort, tmp_path):
    rng = np.random.default_rng(9)
    f32 = np.float32
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=rng, dtype=f32),
        nn.BatchNorm2d(4, dtype=f32),
        nn.GELU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1, rng=rng, dtype=f32),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.LayerNorm(24, dtype=f32),
        nn.Linear(24, 10, rng=rng, dtype=f32),
    )
    x = rng.standard_normal((5, 1, 8, 8)).astype(f32)
    model.train()
    model(Tensor(x))  # the running statistics move away from their start
    model.eval()
    with no_grad():
        expected = model(Tensor(x)).data
    path = tmp_path / "cnn.onnx"
    agx.export(model, (Tensor(x),), path, dynamic_batch=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    got = session.run(None, {name: x})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    got3 = session.run(None, {name: x[:3]})[0]
    np.testing.assert_allclose(got3, expected[:3], rtol=1e-5, atol=1e-5)


def test_the_digits_cnn_runs_in_onnx_runtime(ort):
    """The CNN of ``python -m demos.digits``, trained for an epoch in float32, gives the engine's logits
    on the test digits (1e-6) in ONNX Runtime, at any batch size."""
    require_module("sklearn")
    from demos import digits

    split = digits.load_split(0)
    model, _ = digits.train("cnn", split, epochs=1, dtype=np.float32)
    x = digits.model_inputs("cnn", split.test_images).astype(np.float32)
    onnx_model = check(ort, model, x, runs=[(x[:1],), (x[:7],)], dynamic_batch=True)
    assert [n.op_type for n in onnx_model.graph.node if n.op_type in ("Conv", "MaxPool", "Relu")] == [
        "Conv",
        "Relu",
        "MaxPool",
        "Conv",
        "Relu",
        "MaxPool",
    ]
    logits = run_model(ort, onnx_model, x)[0]
    assert logits.dtype == np.float32 and logits.shape == (len(x), 10)
    assert np.mean(np.argmax(logits, axis=1) == split.test_labels) > 0.8  # a trained network, not noise
