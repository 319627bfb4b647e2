import numpy as np
import pytest

from autograd import Tensor, Value
from nn import Linear, Module, ScalarTwoLayerNet, Sequential, Sigmoid, TwoLayerNet
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
