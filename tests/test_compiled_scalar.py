"""autograd.compile on Value graphs: the scalar plan replays a step as eager runs it."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from programs import Const, Leaf, diff_settings, value_programs

import autograd
from autograd import CompileError, Tensor, Value
from autograd import scalar_ops as sops
from nn.losses import binary_cross_entropy
from nn.optim import SGD, Adam
from nn.scalar import MLP, weighted_sum

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from moons import make_moons  # noqa: E402

X, Y = make_moons(100, noise=0.1, seed=1)


def demo_loss(model, X=X, Y=Y):
    """micrograd's demo loss: hinge loss over the moons plus 1e-4 L2."""
    inputs = [list(map(Value, row)) for row in X.tolist()]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def sgd_step(model, opt):
    def step(lr):
        total = demo_loss(model)
        opt.zero_grad()
        total.backward()
        opt.lr = lr
        opt.step()
        return total.data

    return step


def schedule(k):
    return 1.0 - 0.9 * k / 100


def assert_same_values(a, b, rtol=0.0):
    a, b = np.array([v.data for v in a]), np.array([v.data for v in b])
    np.testing.assert_allclose(b, a, rtol=rtol, atol=0)


def assert_same_grads(a, b, rtol=0.0):
    a, b = np.array([v.grad for v in a]), np.array([v.grad for v in b])
    np.testing.assert_allclose(b, a, rtol=rtol, atol=0)


# ---------------------------------------------------------------------- micrograd's workload


def test_micrograd_workload_on_nn_scalar_mlp_with_sgd_equals_eager_bit_for_bit_over_200_steps():
    random.seed(1337)
    eager_model = MLP(2, [16, 16, 1])
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    eager = sgd_step(eager_model, SGD(eager_model.parameters(), lr=1.0))
    compiled = autograd.compile(sgd_step(model, SGD(model.parameters(), lr=1.0)))
    for k in range(200):
        assert compiled(schedule(k % 100)) == eager(schedule(k % 100)), k
    assert_same_values(eager_model.parameters(), model.parameters())
    assert_same_grads(eager_model.parameters(), model.parameters())
    assert compiled.traces == 1 and "ScalarPlan" in repr(compiled)


def test_micrograd_nn_on_our_value_with_the_update_outside_equals_eager():
    mnn = pytest.importorskip("micrograd.nn")
    saved = mnn.Value
    mnn.Value = Value  # micrograd's nn.py builds its parameters with this name
    try:
        random.seed(1337)
        eager_model = mnn.MLP(2, [16, 16, 1])
        random.seed(1337)
        model = mnn.MLP(2, [16, 16, 1])
    finally:
        mnn.Value = saved

    def forward_backward(model):
        def step():
            total = demo_loss(model)
            model.zero_grad()  # micrograd's: p.grad = 0
            total.backward()
            return total

        return step

    eager, compiled = forward_backward(eager_model), autograd.compile(forward_backward(model))
    for k in range(40):
        a, b = eager(), compiled()
        assert b.data == a.data and b.grad == a.grad == 1.0, k
        for m in (eager_model, model):  # micrograd's own update, outside the compiled step
            for p in m.parameters():
                p.data -= schedule(k) * p.grad
    assert_same_values(eager_model.parameters(), model.parameters())
    assert_same_grads(eager_model.parameters(), model.parameters())
    assert compiled.traces == 1


# ---------------------------------------------------------------------- every op


def exprs(a, b, c):
    """One expression per scalar primitive (keys are op names), a, b, c > 0."""
    return {
        "add": a + b,
        "mul": a * b,
        "pow": a**b,
        "add_const": (a + 2.5) * (2.5 + b),  # constants on either side
        "mul_const": (a * 1.5) + (-0.5 * b),
        "pow_const": a**3 + a**-1 + b / c + 2.0 / a + c**0.5,
        "rpow_const": 2.0**a + (0.5**b) * c,
        "exp": (a - b).exp(),
        "log": (a * c).log(),
        "tanh": (a - c).tanh(),
        "sigmoid": (b - a).sigmoid(),
        "relu": (a - b).relu() + (b - a).relu() * c,
        "weighted_sum": weighted_sum([a, b, 0.5], [c, a, b], b),
        "binary_cross_entropy": binary_cross_entropy([(a - b).sigmoid(), (b * c).sigmoid()], [1.0, 0.25]),
    }


def test_the_expressions_cover_every_scalar_primitive():
    a, b, c = Value(1.2), Value(0.7), Value(1.9)
    made = set()
    for value in exprs(a, b, c).values():
        made |= {n.op.name for n in autograd.graph.topological_order(value) if n.op is not None}
    assert set(sops.SCALAR_OPS) <= made | {"weighted_sum", "binary_cross_entropy"}
    assert {"weighted_sum", "binary_cross_entropy"} <= made


@pytest.mark.parametrize("name", list(exprs(Value(1.2), Value(0.7), Value(1.9))))
def test_each_op_equals_eager_over_steps_with_moving_parameters(name):
    def make():
        ps = [Value(1.2, label="a"), Value(0.7, label="b"), Value(1.9, label="c")]

        def step():
            for p in ps:
                p.grad = 0
            loss = exprs(*ps)[name]
            loss = loss * loss + loss  # the op's output used twice
            loss.backward()
            return loss

        return ps, step

    (ps_eager, eager), (ps, step) = make(), make()
    compiled = autograd.compile(step)
    for _ in range(6):
        a, b = eager(), compiled()
        np.testing.assert_allclose(b.data, a.data, rtol=1e-12)
        assert_same_grads(ps_eager, ps, rtol=1e-12)
        for group in (ps_eager, ps):
            for p in group:
                p.data -= 0.01 * math.copysign(1.0, p.grad)  # moves the data, stays positive
    assert compiled.traces == 1


def test_shared_subexpressions_and_a_leaf_used_many_times():
    def make():
        x, w = Value(0.3), Value(-1.1)

        def step():
            h = x * w
            g = h.tanh()
            loss = h * h + g * h + (h + x) * g + (x * x) * (w * w) + x
            loss.backward()  # no reset: gradients add up across calls, as in eager
            return loss

        return (x, w), step

    (leaves_a, eager), (leaves_b, step) = make(), make()
    compiled = autograd.compile(step)
    for _ in range(4):
        np.testing.assert_allclose(compiled().data, eager().data, rtol=1e-12)
        assert_same_grads(leaves_a, leaves_b, rtol=1e-12)


def test_a_number_argument_used_by_a_value_op_follows_each_call():
    w = Value(0.5)
    w2 = Value(0.5)

    def step(lam, w):
        w.grad = 0
        loss = (w * 3.0 - 1.0) ** 2 + lam * (w * w)
        loss.backward()
        return loss.data

    compiled = autograd.compile(lambda lam: step(lam, w))
    for lam in (0.1, 2.0, 0.0, 7.5):
        assert compiled(lam) == step(lam, w2)
        assert w.grad == w2.grad
    assert compiled.traces == 1


def test_a_number_argument_made_into_a_value_follows_each_call():
    w = Value(1.5)

    @autograd.compile
    def step(target):
        w.grad = 0
        loss = (w - Value(target)) ** 2
        loss.backward()
        return loss

    for target in (0.5, -2.0, 1.5):
        assert step(target).data == (1.5 - target) ** 2 and w.grad == 2 * (1.5 - target)


def test_values_computed_under_no_grad_inside_the_function_stop_the_gradient():
    def make():
        w = Value(0.8)

        def step():
            w.grad = 0
            with autograd.no_grad():
                target = (w * 2.0).tanh()
            loss = (w - target) ** 2 + target * w
            loss.backward()
            return loss

        return w, step

    (wa, eager), (wb, step) = make(), make()
    compiled = autograd.compile(step)
    for _ in range(4):
        assert compiled().data == pytest.approx(eager().data, rel=1e-12)
        assert wb.grad == pytest.approx(wa.grad, rel=1e-12)
        for w in (wa, wb):
            w.data -= 0.1 * w.grad


def test_new_data_reaches_the_replay_through_input_values_made_outside():
    random.seed(5)
    model = MLP(2, [8, 1])
    opt = SGD(model.parameters(), lr=0.05)
    batch = [[Value(0.0), Value(0.0)] for _ in range(10)]
    labels = [Value(0.0) for _ in range(10)]

    def step():
        scores = [model(x) for x in batch]
        loss = sum((1 + -y * s).relu() for y, s in zip(labels, scores)) * 0.1
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.data

    compiled = autograd.compile(step)
    random.seed(5)
    twin = MLP(2, [8, 1])
    twin_opt = SGD(twin.parameters(), lr=0.05)
    for k in range(12):
        rows = range(10 * (k % 10), 10 * (k % 10) + 10)  # a new batch of the moons every call
        for x, y, i in zip(batch, labels, rows):
            x[0].data, x[1].data, y.data = float(X[i, 0]), float(X[i, 1]), float(Y[i])
        scores = [twin([float(X[i, 0]), float(X[i, 1])]) for i in rows]
        loss = sum((1 + -float(Y[i]) * s).relu() for i, s in zip(rows, scores)) * 0.1
        twin_opt.zero_grad()
        loss.backward()
        twin_opt.step()
        assert compiled() == loss.data
    assert_same_values(twin.parameters(), model.parameters())
    with pytest.raises(CompileError, match="takes no array arguments"):
        autograd.compile(lambda data: demo_loss(model, data, Y))(X)


def test_other_optimizers_run_their_own_step_on_the_values():
    def make(optimizer):
        random.seed(3)
        model = MLP(2, [4, 1])
        opt = optimizer(model.parameters())

        def step():
            opt.zero_grad()
            loss = demo_loss(model, X[:10], Y[:10])
            loss.backward()
            opt.step()
            return loss.data

        return model, step

    for optimizer in (lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p, lr=0.01)):
        (m1, eager), (m2, step) = make(optimizer), make(optimizer)
        compiled = autograd.compile(step)
        for _ in range(20):
            assert compiled() == eager()
        assert_same_values(m1.parameters(), m2.parameters())


def test_returned_values_and_floats_are_the_replays():
    a, b = Value(2.0), Value(-3.0)

    @autograd.compile
    def step(scale):
        a.grad = b.grad = 0
        h = a * b
        loss = (h * scale).tanh()
        loss.backward()
        return {"loss": loss, "value": loss.data, "h": [h]}

    first = step(0.1)
    second = step(0.2)
    assert second["loss"] is first["loss"] and second["h"][0] is first["h"][0]
    assert second["value"] == second["loss"].data == math.tanh(-6.0 * 0.2)
    assert second["loss"].grad == 1.0
    assert second["h"][0].grad == pytest.approx(0.2 * (1 - math.tanh(-1.2) ** 2), rel=1e-12)
    assert a.grad == pytest.approx(-3.0 * 0.2 * (1 - math.tanh(-1.2) ** 2), rel=1e-12)


def test_a_returned_value_made_inside_as_a_leaf_gets_its_gradient():
    w = Value(0.5)

    @autograd.compile
    def step(x):
        w.grad = 0
        xs = [Value(x), Value(2.0)]
        loss = (xs[0] * w).tanh() + xs[1] * xs[0]
        loss.backward()
        return xs

    for x in (1.0, -3.0):
        xs = step(x)
        assert xs[0].data == x and xs[0].grad == pytest.approx(0.5 * (1 - math.tanh(0.5 * x) ** 2) + 2.0, rel=1e-12)
        assert xs[1].grad == x


def test_a_returned_float_held_by_several_values_needs_its_value_returned_too():
    a, b = Value(-1.0), Value(-2.0)

    def make(with_value):
        def step():
            r1, r2 = a.relu(), b.relu()  # both hold relu's one 0.0 object
            (r1 + r2 * 3.0).backward()
            return (r1, r1.data) if with_value else r1.data

        return step

    with pytest.raises(CompileError, match="share one float object"):
        autograd.compile(make(False))()
    compiled = autograd.compile(make(True))
    r1, _ = compiled()
    a.data = 2.5
    again, number = compiled()
    assert again is r1 and number == r1.data == 2.5


def test_a_plan_keeps_no_value_of_the_recorded_graph_alive_and_makes_no_cycles():
    import gc

    w = Value(0.5)
    opt = SGD([w], lr=0.1)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:

        @autograd.compile
        def step(lr):
            opt.lr = lr
            opt.zero_grad()
            h = (w * 3.0).tanh()
            h.label = "made in the recorded call"
            loss = h * h + h
            loss.backward()
            opt.step()
            return loss.data

        step(0.1)
        step(0.2)
        made = [v for v in gc.get_objects() if type(v) is Value and v.label == "made in the recorded call"]
        assert made == []
        del step
        assert gc.collect() == 0  # reference counting freed everything: the collector finds nothing
    finally:
        if enabled:
            gc.enable()


def test_returned_gradients_are_the_replays():
    def make():
        w = Value(0.5)
        opt = SGD([w], lr=0.1)

        def step(lr):
            opt.zero_grad()
            h = w * 3.0  # folded into the sum below unless its gradient is wanted
            loss = (h + 1.0).tanh()
            loss.backward()
            grads = h.grad, w.grad  # read before the update
            opt.lr = lr
            opt.step()
            return loss.data, *grads

        return step

    eager, compiled = make(), autograd.compile(make())
    for lr in (0.1, 0.5, 0.2, 1.0):
        assert compiled(lr) == eager(lr)


def test_the_data_of_a_value_computed_before_the_call_is_returned_as_it_is():
    w = Value(0.5)
    before = w * 4.0

    @autograd.compile
    def step():
        w.grad = 0
        (w * w).backward()
        return before, before.data, w.grad

    step()
    assert step() == (before, 2.0, 1.0)


def test_a_forward_only_function():
    w = Value(0.25)

    @autograd.compile
    def predict():
        return (w * 4.0).exp()

    assert predict().data == math.exp(1.0)
    w.data = 0.5  # read again at every call
    assert predict().data == math.exp(2.0)


def test_under_anomaly_mode_every_call_runs_eagerly_with_its_checks():
    from autograd.anomaly import AnomalyError, detect_anomaly

    w = Value(0.5)

    @autograd.compile
    def step():
        w.grad = 0
        loss = w**0.5
        loss.backward()
        return loss

    step()
    step()
    w.data = 0.0
    assert step().data == 0.0 and w.grad == math.inf  # replayed: an infinite gradient, as eager gives
    with detect_anomaly(), pytest.raises(AnomalyError, match="sent inf"):
        step()


def test_an_error_of_eager_is_raised_by_the_replay():
    x = Value(2.0)

    @autograd.compile
    def step():
        x.grad = 0
        y = x.log()
        y.backward()
        return y

    step()
    step()
    x.data = -1.0
    with pytest.raises(ValueError, match="log: input must be positive"):
        step()


@pytest.mark.parametrize("family", ["core", "edges", "nn"])
def test_random_value_programs_replay_as_their_recording_ran(family, torch):
    """Random programs (every op, numbers on either side, reused nodes, edge values): the replay on
    the recorded data gives the recorded output and leaf gradients."""
    features = {"core": {"elementwise"}, "edges": {"elementwise", "edges"}, "nn": {"elementwise", "nn"}}[family]

    @diff_settings(150)
    @given(data=st.data())
    def run(data):
        program = data.draw(value_programs(torch, frozenset(features)), label="program")
        leaves = [Value(float(node.data)) for node in program.nodes if isinstance(node, Leaf)]

        objs = []  # the recorded call's nodes (only the output is returned, so the rest may be folded)

        def step():
            pool = iter(leaves)
            for node in program.nodes:
                if isinstance(node, Leaf):
                    objs.append(next(pool))
                else:
                    args = [o.value if isinstance(o, Const) else objs[o] for o in node.operands]
                    objs.append(node.spec("value").engine(*args, **node.params))
            objs[-1].backward()
            return objs[-1]

        compiled = autograd.compile(step)
        try:
            out = compiled()
        except (ArithmeticError, ValueError):
            return  # eager itself refuses this program (an op outside its domain)
        expected = [out.data] + [v.grad for v in leaves]
        scale = max([abs(x) for o in objs for x in (o.data, o.grad) if math.isfinite(x)] + [1.0])
        for v in leaves:
            v.grad = 0.0
        again = compiled()
        replayed = [again.data] + [v.grad for v in leaves]
        np.testing.assert_allclose(replayed, expected, rtol=1e-12, atol=1e-12 * scale, equal_nan=True)
        assert compiled.traces == 1

    run()


# ---------------------------------------------------------------------- what the plan refuses


def test_a_hand_written_update_inside_the_function_is_refused():
    params = [Value(0.5), Value(-0.3)]

    @autograd.compile
    def step(lr):
        loss = (params[0] * 2.0 + params[1]).relu() ** 2
        for p in params:
            p.grad = 0
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
        return loss.data

    with pytest.raises(CompileError, match="hand-written update.*optimizer.*outside the compiled function"):
        step(0.1)


def test_what_a_replay_cannot_recompute_is_refused():
    w = Value(0.5, label="w")
    outside = w * 2

    def accuracy():
        loss = (w * 2.0).tanh()
        loss.backward()
        return loss.data, float(loss.data > 0)  # a number computed from .data

    def scaled_grad():
        w.grad = 0
        loss = (w * 3.0).exp()
        loss.backward()
        w.grad = w.grad * 0.5
        return loss

    def uses_outside():
        return (outside * w).relu()

    def two_backwards():
        (w * 2.0).backward()
        (w * 3.0).backward()

    def after_step():
        opt = SGD([w], lr=0.1)
        (w * w).backward()
        opt.step()
        return w * 2.0

    def micrograd_way():
        out = Value(w.data * 2, (w,), "double")
        out._backward = lambda: None
        return out * 1.0

    def mixed():
        t = Tensor([1.0, 2.0], requires_grad=True)
        return (t * w.data).sum(), w * 2.0

    def returns_updated_data(lr):
        opt = SGD([w], lr=0.1)
        opt.zero_grad()
        (w * w).backward()
        opt.lr = lr
        opt.step()
        return w.data  # a Num holding the old data and gradient

    cases = [
        ("returned the number", accuracy, ()),
        ("set .grad of the Value 'w'", scaled_grad, ()),
        ("computed by mul_const outside", uses_outside, ()),
        ("one backward pass", two_backwards, ()),
        ("after the optimizer's step", after_step, ()),
        ("micrograd way", micrograd_way, ()),
        ("both Tensors and Values", mixed, ()),
        ("return the parameter", returns_updated_data, (0.1,)),
    ]
    for message, fn, args in cases:
        with pytest.raises(CompileError, match=message):
            autograd.compile(fn)(*args)


def test_the_scalar_mode_refuses_a_tensor_function():
    @autograd.compile(mode="scalar")
    def tensors(x):
        return (x * 2).sum()

    with pytest.raises(CompileError, match="'scalar' plan cannot replay"):
        tensors(np.ones(3))


def test_recording_leaves_value_with_its_plain_slots():
    @autograd.compile
    def step():
        return Value(1.0) * 2.0

    step()
    assert type(Value.__dict__["data"]).__name__ == "member_descriptor"
    assert type(Value.__dict__["grad"]).__name__ == "member_descriptor"


# ---------------------------------------------------------------------- kernels


def test_every_engine_primitive_has_a_vectorised_kernel_that_agrees_with_it():
    from autograd.compiled.scalar_kernels import WEIGHTED_SUM, kernel_for
    from nn import primitives

    assert [name for name, op in sops.SCALAR_OPS.items() if kernel_for(op) is None] == []
    # nn's weighted sum, declared through autograd.extend (parents w.., x.., b): found by name
    assert kernel_for(primitives.WEIGHTED_SUM) is WEIGHTED_SUM


def test_an_op_without_a_kernel_is_computed_node_by_node_with_its_own_rules():
    from autograd.compiled.scalar_kernels import kernel_for
    from autograd.extend import ScalarPrimitive, scalar_op

    softplus = scalar_op(
        "softplus_for_compile_test",
        forward=lambda x: math.log1p(math.exp(x)),
        derivatives=lambda out, x: (1.0 / (1.0 + math.exp(-x)),),
    )
    # named like nn's weighted sum but laid out (b, w, x): its kernel disagrees, so it is not used
    impostor = ScalarPrimitive(
        "weighted_sum", lambda b, w, x: b + w * x, lambda out, b, w, x: (1.0, x, w), "", (-2.0, 2.0), None, None, None
    )
    assert kernel_for(softplus) is None and kernel_for(impostor) is None

    def make():
        ps = [Value(0.4), Value(-1.3), Value(0.9)]

        def step():
            for p in ps:
                p.grad = 0
            loss = softplus(ps[0] * ps[1]) + impostor(ps[2], ps[0], ps[1]) * softplus(ps[2])
            loss.backward()
            return loss

        return ps, step

    (pa, eager), (pb, step) = make(), make()
    compiled = autograd.compile(step)
    for _ in range(3):
        assert compiled().data == eager().data
        assert_same_grads(pa, pb)
