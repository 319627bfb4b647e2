import numpy as np
import pytest

from autograd import Tensor, Value
from nn import SGD, Linear, Module, ScalarTwoLayerNet, Sequential, Sigmoid, Tanh, TwoLayerNet
from nn.scalar import MLP


class Block(Module):
    def __init__(self):
        self.first = Linear(3, 4, rng=0)
        self.scale = Tensor(np.ones(4), requires_grad=True)
        self.constant = Tensor(np.zeros(2))  # no requires_grad: data, not a parameter
        self.layers = [Linear(4, 2, rng=1), Linear(2, 1, rng=2)]

    def forward(self, x):
        return x


def test_named_parameters_are_dotted_in_assignment_order():
    names = [n for n, _ in Block().named_parameters()]
    assert names == [
        "scale",
        "first.weight",
        "first.bias",
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]
    seq = Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1))
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_typos_raise_attribute_error():
    with pytest.raises(AttributeError):
        Block().frist  # noqa: B018


def test_reassigning_a_non_parameter_unregisters():
    b = Block()
    b.scale = 3.0
    assert "scale" not in dict(b.named_parameters())


def test_zero_grad_resets_tensors_and_values():
    net = TwoLayerNet(2, 3, 1, seed=0)
    net(np.ones((2, 2))).sum().backward()
    assert net.w1.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    mlp = MLP(2, [3, 1])
    mlp([1.0, 2.0]).backward()
    mlp.zero_grad()
    assert all(p.grad == 0.0 for p in mlp.parameters())


def test_state_dict_round_trip_is_exact_and_never_aliases():
    a, b = TwoLayerNet(2, 4, 1, seed=0), TwoLayerNet(2, 4, 1, seed=1)
    state = a.state_dict()
    state["w1"][0, 0] = 123.0  # a copy: the module is untouched
    assert a.w1.data[0, 0] != 123.0
    b.load_state_dict(a.state_dict())
    for k, v in a.state_dict().items():
        assert np.array_equal(b.state_dict()[k], v)
    mine = a.state_dict()
    b.load_state_dict(mine)
    mine["w1"][:] = 7.0  # the caller's array is copied in, not kept
    assert not np.any(b.w1.data == 7.0)


def test_save_load_npz_round_trip(tmp_path):
    a, b = TwoLayerNet(2, 4, 1, seed=0), TwoLayerNet(2, 4, 1, seed=5)
    path = tmp_path / "net.weights"  # no .npz suffix added behind the caller's back
    a.save(path)
    assert path.exists()
    b.load(path)
    for k, v in a.state_dict().items():
        assert np.array_equal(b.state_dict()[k], v)
    s = ScalarTwoLayerNet(2, 4, 1, seed=9)
    s.load(path)
    assert {k: v.shape for k, v in s.state_dict().items()} == {"w1": (2, 4), "b1": (1, 4), "w2": (4, 1), "b2": (1, 1)}
    assert np.array_equal(s.state_dict()["w2"], a.state_dict()["w2"])


def test_load_errors_name_keys_and_shapes():
    net = TwoLayerNet(2, 4, 1, seed=0)
    state = net.state_dict()
    wrong = dict(state, w1=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"'w1'.*\(3, 4\).*\(2, 4\)"):
        net.load_state_dict(wrong)
    missing = {k: v for k, v in state.items() if k != "b2"}
    with pytest.raises(KeyError, match="missing keys \\['b2'\\]"):
        net.load_state_dict(missing)
    with pytest.raises(KeyError, match="unexpected keys \\['extra'\\]"):
        net.load_state_dict(dict(state, extra=np.zeros(1)))
    net.load_state_dict(missing, strict=False)
    before = net.state_dict()
    with pytest.raises(ValueError):
        net.load_state_dict(dict(state, w1=np.full((2, 4), 5.0), w2=np.zeros((1, 1))))
    assert np.array_equal(net.state_dict()["w1"], before["w1"])  # nothing written on failure


def test_value_groups_in_the_scalar_mlp():
    mlp = MLP(3, [4, 2])
    state = mlp.state_dict()
    assert state["layers.0.neurons.0.w"].shape == (3,)
    assert state["layers.1.neurons.1.b"].shape == ()
    assert len(mlp.parameters()) == len(list(mlp.named_parameters())) == 4 * 4 + 2 * 5
    assert [n for n, _ in mlp.named_parameters()][:2] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1"]
    other = MLP(3, [4, 2])
    other.load_state_dict(state)
    assert [p.data for p in other.parameters()] == [p.data for p in mlp.parameters()]
    assert isinstance(other.parameters()[0], Value)


# ---------------------------------------------------------------------- one registration rule


class Holder(Module):
    """Parameters in every container the rule covers."""

    def __init__(self):
        self.tensors = [Tensor(np.ones(2), requires_grad=True), Tensor(np.zeros(3), requires_grad=True)]
        self.values = (Value(1.0), Value(2.0))
        self.blocks = [[Linear(2, 2, rng=0)], [Linear(2, 1, rng=1)]]
        self.mixed = [Tensor(np.ones(1), requires_grad=True), Linear(1, 1, rng=2), 3.0, "text", Tensor(np.ones(1))]
        self.later = []

    def forward(self, x):
        return x


def test_lists_of_tensors_values_and_modules_are_registered_alike():
    h = Holder()
    h.later.append(Tensor(np.ones(4), requires_grad=True))  # appended after __init__: seen too
    names = [n for n, _ in h.named_parameters()]
    assert names == [
        "tensors.0",
        "tensors.1",
        "values.0",
        "values.1",
        "mixed.0",
        "later.0",
        "blocks.0.0.weight",
        "blocks.0.0.bias",
        "blocks.1.0.weight",
        "blocks.1.0.bias",
        "mixed.1.weight",
        "mixed.1.bias",
    ]
    assert [n for n, _ in h.named_children()] == ["blocks.0.0", "blocks.1.0", "mixed.1"]
    state = h.state_dict()
    assert state["values"].shape == (2,) and state["tensors.1"].shape == (3,)
    other = Holder()
    other.later.append(Tensor(np.zeros(4), requires_grad=True))
    other.load_state_dict(state)
    assert np.array_equal(other.later[0].data, np.ones(4)) and other.values[1].data == 2.0


def test_parameters_are_told_apart_by_identity_not_equality():
    class Twins(Module):
        def __init__(self):
            self.a = Tensor([1.0, 2.0], requires_grad=True)
            self.b = Tensor([1.0, 2.0], requires_grad=True)  # equal data, a different parameter

    params = Twins().parameters()
    assert len(params) == 2 and params[0] is not params[1]


def test_a_tied_weight_is_listed_once():
    class Tied(Module):
        def __init__(self):
            self.encoder = Linear(3, 3, rng=0)
            self.decoder = Linear(3, 3, rng=1)
            self.decoder.weight = self.encoder.weight
            self.again = [self.encoder.weight]

    net = Tied()
    # the module's own parameters first (as PyTorch), then its children's; each parameter once
    assert [n for n, _ in net.named_parameters()] == ["again.0", "encoder.bias", "decoder.bias"]
    assert set(net.state_dict()) == {"again.0", "encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"}
    lin = Linear(2, 2, rng=0)
    seq = Sequential(lin, Sigmoid(), lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # PyTorch's state_dict too


def test_sgd_moves_a_tied_weight_once_as_torch(torch):
    lin = Linear(2, 2, rng=0)
    ours = Sequential(lin, lin)
    t_lin = torch.nn.Linear(2, 2).double()
    with torch.no_grad():
        t_lin.weight.copy_(torch.tensor(lin.weight.data.T))
        t_lin.bias.copy_(torch.tensor(lin.bias.data))
    theirs = torch.nn.Sequential(t_lin, t_lin)
    x = np.random.default_rng(0).standard_normal((5, 2))
    opt, t_opt = SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (ours(x) ** 2).sum().backward()
        opt.step()
        t_opt.zero_grad()
        (theirs(torch.tensor(x)) ** 2).sum().backward()
        t_opt.step()
    assert len(opt.parameters) == len(list(theirs.parameters())) == 2
    np.testing.assert_allclose(lin.weight.data, t_lin.weight.detach().numpy().T, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(lin.bias.data, t_lin.bias.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_sequential_registers_an_extra_attribute_and_slices():
    seq = Sequential(Linear(2, 3, rng=0), Tanh())
    seq.head = Linear(3, 1, rng=1)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "head.weight", "head.bias"]
    assert len(seq) == 2 and [type(m) for m in seq] == [Linear, Tanh]
    x = np.ones((4, 2))
    np.testing.assert_array_equal(seq(x).data, np.tanh(x @ seq[0].weight.data + seq[0].bias.data))
    first = seq[:1]
    assert isinstance(first, Sequential) and len(first) == 1 and first[0] is seq[0]


def test_a_module_that_contains_itself_is_listed_without_recursing_forever():
    net = Linear(2, 2, rng=0)
    net.me = net
    net.loop = [net]
    assert [n for n, _ in net.named_parameters()] == ["weight", "bias"]
    assert list(net.state_dict()) == ["weight", "bias"]


def test_loading_different_arrays_into_one_tied_parameter_is_an_error():
    lin = Linear(2, 2, rng=0)
    seq = Sequential(lin, lin)
    state = seq.state_dict()
    seq.load_state_dict(state)
    state["1.weight"] = np.zeros((2, 2))
    before = lin.weight.data.copy()
    with pytest.raises(ValueError, match=r"'0.weight' and '1.weight' name the same \(shared\) parameter"):
        seq.load_state_dict(state)
    np.testing.assert_array_equal(lin.weight.data, before)


# ---------------------------------------------------------------------- save and load


class Awkward(Module):
    """Parameter names that np.savez(**kwargs) cannot take."""

    def __init__(self):
        self.file = Tensor(np.arange(3.0), requires_grad=True)
        self.allow_pickle = Tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)


def test_save_writes_any_parameter_name_as_a_plain_npz(tmp_path):
    path = tmp_path / "awkward.npz"
    Awkward().save(path)
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["allow_pickle", "file"]
        assert data["allow_pickle"].dtype == np.float32  # exactly the bytes of each number
    other = Awkward()
    other.file.data[:] = 0.0
    other.load(path)
    np.testing.assert_array_equal(other.file.data, np.arange(3.0))


def test_load_reads_archives_numpy_wrote(tmp_path):
    """np.savez and np.savez_compressed archives load too, whatever byte order, precision and layout."""
    a, b = TwoLayerNet(2, 4, 1, seed=0), TwoLayerNet(2, 4, 1, seed=1)
    path = tmp_path / "numpy.npz"
    np.savez_compressed(path, **{k: np.asfortranarray(v.astype(">f4")) for k, v in a.state_dict().items()})
    b.load(path)
    np.testing.assert_allclose(b.w1.data, a.w1.data, rtol=1e-7)
    assert b.w1.dtype == np.float64  # the module keeps its own dtype


def load_error(tmp_path, content: bytes) -> str:
    path = tmp_path / "weights.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as e:
        TwoLayerNet(2, 4, 1, seed=0).load(path)
    message = str(e.value)
    assert message.startswith(f"load: {path}: ") and "expected an .npz archive written by Module.save" in message
    return message


def test_load_says_what_the_file_is(tmp_path):
    import io
    import pickle

    assert "is empty" in load_error(tmp_path, b"")
    assert "not a zip archive (it starts with b'w1 = [[1" in load_error(tmp_path, b"w1 = [[1, 2]]\n")
    npy = io.BytesIO()
    np.save(npy, np.zeros(3))
    assert "a single .npy array" in load_error(tmp_path, npy.getvalue())
    assert "pickle" in load_error(tmp_path, pickle.dumps({"w1": np.zeros((2, 4))}))
    good = io.BytesIO()
    TwoLayerNet(2, 4, 1, seed=0).save(good)
    assert "damaged or truncated zip archive" in load_error(tmp_path, good.getvalue()[: len(good.getvalue()) // 2])
    with pytest.raises(FileNotFoundError):
        TwoLayerNet(2, 4, 1).load(tmp_path / "missing.npz")


def crafted_npz(path, members: dict) -> None:
    """An archive whose members are raw bytes (header and data as given), deflated."""
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, chunks in members.items():
            with z.open(name, "w", force_zip64=True) as f:
                for chunk in chunks:
                    f.write(chunk)


def npy_header(shape, dtype="<f8") -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def zeros(nbytes: int):
    block = bytes(1 << 20)
    for _ in range(nbytes >> 20):
        yield block


def peak_during(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_load_checks_headers_before_unpacking_anything(tmp_path):
    """A small archive whose members unpack to 64 MB is refused at the cost of reading its headers."""
    net = TwoLayerNet(2, 4, 1, seed=0)
    state = net.state_dict()
    small = {f"{k}.npy": [npy_header(v.shape), v.tobytes()] for k, v in state.items() if k != "w1"}
    cases = {
        "huge shape": ({"w1.npy": [npy_header((8192, 1024)), *zeros(64 << 20)]}, r"shape \(8192, 1024\) in the file"),
        "huge data": ({"w1.npy": [npy_header((2, 4)), *zeros(64 << 20)]}, r"bytes of data but its header"),
        "object dtype": ({"w1.npy": [npy_header((2, 4), "|O"), bytes(64)]}, r"dtype object, expected real numbers"),
    }
    for name, (members, message) in cases.items():
        path = tmp_path / f"{name}.npz"
        crafted_npz(path, {**small, **members})
        assert path.stat().st_size < 200_000, name

        def load(path=path, message=message):
            with pytest.raises(ValueError, match=message):
                net.load(path)

        assert peak_during(load) < 1_000_000, name
    np.testing.assert_array_equal(net.state_dict()["w1"], state["w1"])  # nothing written

    extra = tmp_path / "extra.npz"  # an unexpected member is never unpacked either
    crafted_npz(
        extra,
        {
            **{f"{k}.npy": [npy_header(v.shape), v.tobytes()] for k, v in state.items()},
            "junk.npy": [npy_header((8192, 1024)), *zeros(64 << 20)],
        },
    )
    with pytest.raises(KeyError, match=r"unexpected keys \['junk'\]"):
        net.load(extra)
    assert peak_during(lambda: net.load(extra, strict=False)) < 1_000_000
    np.testing.assert_array_equal(net.state_dict()["w1"], state["w1"])


def test_load_refuses_a_member_that_is_not_an_array(tmp_path):
    import zipfile

    path = tmp_path / "notes.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"member 'readme.txt' is not a .npy array"):
        TwoLayerNet(2, 4, 1).load(path)
