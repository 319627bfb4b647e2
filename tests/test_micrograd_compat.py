"""``autograd.Value`` as a drop-in for micrograd's ``Value``.

micrograd's own engine tests (test/test_engine.py in karpathy/micrograd) run unchanged apart from
the import, and micrograd's ``nn.MLP`` trained with our Value patched in follows micrograd's own
run of the demo's training loop.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from conftest import require_module

from autograd import Value

# ----------------------------------------------------------------------------- micrograd's engine tests


def test_sanity_check(torch):
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y

    # forward pass went well
    assert ymg.data == ypt.data.item()
    # backward pass went well
    assert xmg.grad == xpt.grad.item()


def test_more_ops(torch):
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g

    tol = 1e-6
    # forward pass went well
    assert abs(gmg.data - gpt.data.item()) < tol
    # backward pass went well
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol


def test_extra_functions_match_torch(torch):
    x = Value(0.8)
    y = (x.tanh() * x.exp() + (x * 3.0).sigmoid() + (x + 1.0).log()) / (2.0**x)
    y.backward()
    t = torch.tensor([0.8], dtype=torch.float64, requires_grad=True)
    u = (t.tanh() * t.exp() + (t * 3.0).sigmoid() + (t + 1.0).log()) / (2.0**t)
    u.backward()
    assert y.data == pytest.approx(u.item(), rel=1e-14)
    assert x.grad == pytest.approx(t.grad.item(), rel=1e-13)


# ----------------------------------------------------------------------------- against micrograd itself


def expression(x, y):
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    w = h + q + q * x - y / 3 + y**2 - (1 - x) * -y
    return w * w / 100.0 + 5 / (y + 10)


def test_same_numbers_as_micrograds_value():
    engine = require_module("micrograd.engine")
    for xv, yv in [(-4.0, 2.0), (0.5, -1.25), (3.0, 0.0), (-0.0, 7.5)]:
        ours = [Value(xv), Value(yv)]
        theirs = [engine.Value(xv), engine.Value(yv)]
        a = expression(*ours)
        b = expression(*theirs)
        a.backward()
        b.backward()
        assert a.data == pytest.approx(b.data, rel=1e-15)
        for o, t in zip(ours, theirs):
            assert o.grad == pytest.approx(t.grad, rel=1e-12, abs=1e-15)


def test_prev_is_micrograds_name_for_the_parents():
    x, y = Value(1.0), Value(2.0)
    z = x * y
    assert set(z._prev) == {x, y}
    assert x._prev == set()


def test_grad_can_be_reset_with_an_int_like_micrograds_zero_grad():
    x = Value(3.0)
    y = x * x
    y.backward()
    x.grad = 0  # micrograd's Module.zero_grad
    y.backward()
    assert x.grad == 6.0


# ----------------------------------------------------------------------------- micrograd's nn with our Value


def make_moons(n, noise, seed):
    """Two interleaving half circles (as sklearn's make_moons), labels -1 / +1."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    outer = np.stack([np.cos(np.linspace(0, math.pi, n_out)), np.sin(np.linspace(0, math.pi, n_out))], axis=1)
    inner = np.stack(
        [1 - np.cos(np.linspace(0, math.pi, n_in)), 1 - np.sin(np.linspace(0, math.pi, n_in)) - 0.5], axis=1
    )
    X = np.concatenate([outer, inner]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([-np.ones(n_out), np.ones(n_in)])
    order = rng.permutation(n)
    return X[order].tolist(), y[order].tolist()


def train(mnn, value_cls, X, y, steps, seed):
    """micrograd's demo.ipynb training loop: SVM max-margin loss + 1e-4 L2, plain SGD."""
    random.seed(seed)
    model = mnn.MLP(2, [8, 8, 1])
    history = []
    for k in range(steps):
        inputs = [list(map(value_cls, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]

        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append((total_loss.data, sum(accuracy) / len(accuracy)))
    return history, [p.data for p in model.parameters()], model


def test_micrograds_mlp_trains_identically_with_our_value(monkeypatch):
    mnn = require_module("micrograd.nn")
    engine = require_module("micrograd.engine")
    X, y = make_moons(40, noise=0.1, seed=0)

    theirs, their_params, _ = train(mnn, engine.Value, X, y, steps=6, seed=1337)
    monkeypatch.setattr(mnn, "Value", Value)
    ours, our_params, model = train(mnn, Value, X, y, steps=6, seed=1337)

    assert all(type(p) is Value for p in model.parameters())  # really our Value inside micrograd's MLP
    assert len(ours) == len(theirs) == 6
    for (our_loss, our_acc), (their_loss, their_acc) in zip(ours, theirs):
        assert our_loss == pytest.approx(their_loss, rel=1e-9)
        assert our_acc == their_acc
    np.testing.assert_allclose(our_params, their_params, rtol=1e-9, atol=1e-12)
    assert ours[-1][0] < ours[0][0]  # and it learns


# ----------------------------------------------------------------------------- micrograd's node surface


def test_op_strings_are_micrographs():
    a, b = Value(2.0), Value(-3.0)
    assert (a + b)._op == "+" and (a * b)._op == "*" and (a + 1)._op == "+" and (a * 2)._op == "*"
    assert (a**2)._op == "**2" and (a**-1)._op == "**-1" and (a**0.5)._op == "**0.5"
    assert a.relu()._op == "ReLU" and a.tanh()._op == "tanh" and a.exp()._op == "exp"
    assert (-a)._op == "*" and (a - b)._op == "+" and (a / b)._op == "*" and a._op == ""
    # micrograd's draw_dot builds node names this way
    assert str(id(a + b)) + (a + b)._op


def test_prev_is_a_set_and_parents_keep_argument_order():
    x, y = Value(1.0), Value(2.0)
    z = x * x
    assert z._prev == {x} and z.parents == (x, x)
    assert (x * y).parents == (x, y)


def test_backward_by_hand_node_by_node_as_in_the_lecture():
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    d = e + c
    f = Value(-2.0, label="f")
    L = d * f
    L.grad = 1.0
    for node in (L, d, e):
        node._backward()
    a._backward()  # a leaf's step does nothing
    assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)


def test_an_op_added_the_micrograd_way_backpropagates_through_the_walk():
    x = Value(0.7, label="x")
    out = Value(math.sin(x.data), (x,), "sin")

    def step():
        x.grad += math.cos(x.data) * out.grad

    out._backward = step
    assert out._op == "sin" and out._prev == {x} and out.parents == (x,)
    y = out * 3 + x
    y.backward()
    assert x.grad == pytest.approx(3 * math.cos(0.7) + 1)
    # tools see its local derivative through the closure, and the grads are left alone
    assert out.op.local_derivatives(out) == pytest.approx((math.cos(0.7),))
    assert x.grad == pytest.approx(3 * math.cos(0.7) + 1)


def test_micrographs_constructor_and_labels():
    a = Value(2.0, label="a")
    b = Value(3.0, (), "", "b")
    c = Value(1.0, "c")  # a label as the second argument, as earlier releases took it
    assert (a.label, b.label, c.label) == ("a", "b", "c")
    with pytest.raises(TypeError, match="_children must be Values"):
        Value(1.0, (1.0,), "+")


def test_subclasses_work_with_every_operator():
    class Named(Value):
        pass

    a, b = Named(2.0), Value(3.0)
    for z in (a + b, b + a, a * b, b * a, a - b, b - a, a / b, b / a, a**b, b**a, -a, a.relu(), 2 * a, a + 1):
        assert isinstance(z, Value)
    y = a * b + b**a
    y.backward()
    assert a.grad == pytest.approx(3.0 + 9.0 * math.log(3.0))


# ----------------------------------------------------------------------------- the lecture's patterns


def lecture_topological_order(root):
    """The lecture's recursive build_topo over ``_prev``."""
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build(child)
            topo.append(v)

    build(root)
    return topo


def lecture_picture(root):
    """What the lecture's draw_dot reads: node ids from id(), op nodes named id + _op, edges via _prev."""
    graphviz = require_module("graphviz")
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    nodes = lecture_topological_order(root)
    for n in nodes:
        uid = str(id(n))
        dot.node(name=uid, label=f"{{ {n.label} | data {n.data:.4f} | grad {n.grad:.4f} }}", shape="record")
        if n._op:
            dot.node(name=uid + n._op, label=n._op)
            dot.edge(uid + n._op, uid)
    for n in nodes:
        for child in n._prev:
            dot.edge(str(id(child)), str(id(n)) + n._op)
    return dot, nodes


def test_the_lectures_neuron_by_hand_with_topological_order_and_picture():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    n = x1w1 + x2w2 + b
    o = n.tanh()
    order = lecture_topological_order(o)
    assert order[-1] is o and len(order) == 10
    o.grad = 1.0
    for node in reversed(order):
        node._backward()
    assert n.grad == pytest.approx(1 - o.data**2)
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((w1.data * 0.5, x1.data * 0.5, 0.5, 0.0))
    dot, nodes = lecture_picture(o)
    assert dot.source.count("->") == 9 + sum(1 for v in nodes if v._op)
    assert "tanh" in dot.source and "{ o" not in dot.source


class LectureNeuron:
    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).tanh()

    def parameters(self):
        return self.w + [self.b]


class LectureMLP:
    def __init__(self, nin, nouts):
        sizes = [nin] + nouts
        self.layers = [[LectureNeuron(sizes[i]) for _ in range(sizes[i + 1])] for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = [neuron(x) for neuron in layer]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for neuron in layer for p in neuron.parameters()]


def test_the_lectures_training_loop_follows_torch(torch):
    random.seed(42)
    net = LectureMLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    weights = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in net.parameters()]
    for _ in range(15):
        ypred = [net(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        for p in net.parameters():
            p.grad = 0.0
        loss.backward()
        for p in net.parameters():
            p.data += -0.05 * p.grad

        it = iter(weights)
        layers = [[(next(it), next(it), next(it), next(it)) for _ in range(4)]]
        h = [torch.tanh(sum(w * x for w, x in zip(ws[:3], row)) + ws[3]) for row in xs for ws in layers[0]]
        rest = [[next(it) for _ in range(5)] for _ in range(4)]
        out = [next(it) for _ in range(5)]
        tloss = 0
        for k, target in enumerate(ys):
            hk = h[4 * k : 4 * k + 4]
            h2 = [torch.tanh(sum(w * v for w, v in zip(ws[:4], hk)) + ws[4]) for ws in rest]
            pred = torch.tanh(sum(w * v for w, v in zip(out[:4], h2)) + out[4])
            tloss = tloss + (pred - target) ** 2
        grads = torch.autograd.grad(tloss, weights)
        assert loss.data == pytest.approx(tloss.item(), rel=1e-12)
        with torch.no_grad():
            for w, g in zip(weights, grads):
                w -= 0.05 * g
    assert loss.data < 0.5
