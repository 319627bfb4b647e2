"""The float plan of autograd.compile: a small step as straight-line Python on floats, equal to eager."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd
from autograd import CompileError, Tensor, no_grad
from autograd import tensor_ops as ops
from autograd.compiled.float_rules import OP_RULES, rule_for, sigmoid, vjp_into_shape
from autograd.compiled.symbolic import NoFloatRule, Program, symbols
from nn import SGD, Adam, Linear, RMSprop, Sequential, Tanh, mse_loss
from nn.losses import binary_cross_entropy, binary_cross_entropy_with_logits
from nn.primitives import BINARY_CROSS_ENTROPY_WITH_LOGITS
from nn.two_layer import TwoLayerNet

RNG = np.random.default_rng(21)
X = RNG.random((4, 2))
Y = RNG.random((4, 1))

ROUNDING = 1e-12
"""Relative difference allowed where the float plan uses ``math`` (exp, log, tanh) or sums a matrix
product in index order (BLAS may fuse and reorder): about an ulp per step, over hundreds of steps."""


def plan_kind(compiled) -> str:
    return repr(compiled).rsplit(", ", 1)[1].rstrip(">")


def assert_close(ours, theirs, what):
    """Each element within ``ROUNDING`` of eager's, relative to the largest element of the array (an
    element that cancels to nearly 0 keeps the absolute error of the numbers it came from)."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    scale = float(np.max(np.abs(theirs), initial=0.0)) or 1.0
    worst = float(np.max(np.abs(ours - theirs), initial=0.0)) / scale
    assert worst <= ROUNDING, f"{what}: relative difference {worst:.2e}"


# ---------------------------------------------------------------------------- one op at a time

CASES = {
    "add": ([(3, 4), (4,)], {}),
    "sub": ([(3, 4), (3, 1)], {}),
    "mul": ([(3, 4), (3, 4)], {}),
    "div": ([(3, 4), (1, 4)], {}),
    "neg": ([(3, 4)], {}),
    "pow": ([(3, 4), (3, 4)], {}),
    "pow_const": ([(3, 4)], {"exponent": 2}),
    "matmul": ([(3, 4), (4, 2)], {}),
    "linear": ([(3, 4), (4, 2), (2,)], {}),
    "exp": ([(3, 4)], {}),
    "log": ([(3, 4)], {}),
    "tanh": ([(3, 4)], {}),
    "sigmoid": ([(3, 4)], {}),
    "relu": ([(3, 4)], {}),
    "sqrt": ([(3, 4)], {}),
    "abs": ([(3, 4)], {}),
    "sum": ([(3, 4)], {"axis": 0, "keepdims": False}),
    "mean": ([(3, 4)], {"axis": None, "keepdims": False}),
    "max": ([(3, 4)], {"axis": 1, "keepdims": True}),
    "min": ([(3, 4)], {"axis": 0, "keepdims": False}),
    "var": ([(3, 4)], {"axis": 1, "keepdims": False, "ddof": 1}),
    "std": ([(3, 4)], {"axis": 1, "keepdims": False, "ddof": 0}),
    "softmax": ([(3, 4)], {"axis": 1}),
    "log_softmax": ([(3, 4)], {"axis": 1}),
    "logsumexp": ([(3, 4)], {"axis": 1, "keepdims": False}),
    "reshape": ([(3, 4)], {"shape": (4, 3)}),
    "transpose": ([(3, 4)], {"axes": None}),
    "getitem": ([(3, 4)], {"index": (slice(1, 3), 0), "basic": True}),
    "squeeze": ([(3, 1)], {"axis": 1}),
    "expand_dims": ([(3, 4)], {"axis": 0}),
    "flatten": ([(3, 4)], {"start_dim": 0, "end_dim": 1}),
    "split": ([(4, 3)], {"axis": 0, "start": 1, "stop": 3}),
    "broadcast_to": ([(1, 4)], {"shape": (3, 4)}),
    "concatenate": ([(3, 4), (2, 4)], {"axis": 0}),
    "stack": ([(3, 4), (3, 4)], {"axis": 0}),
    "where": ([(3, 4), (3, 4)], {"condition": np.arange(12).reshape(3, 4) % 3 == 0}),
    "maximum": ([(3, 4), (3, 4)], {}),
    "minimum": ([(3, 4), (3, 4)], {}),
    "clip": ([(3, 4)], {"low": 0.3, "high": 0.7}),
    "binary_cross_entropy": ([(3, 1), (3, 1)], {"reduction": "mean"}),
    "binary_cross_entropy_with_logits": ([(3, 1), (3, 1)], {"reduction": "sum"}),
}

EXACT = {
    "add", "sub", "mul", "div", "neg", "pow_const", "relu", "sqrt", "abs", "sum", "mean", "max", "min",
    "var", "reshape", "transpose", "getitem", "squeeze", "expand_dims", "flatten", "split", "broadcast_to",
    "concatenate", "stack", "where", "maximum", "minimum", "clip", "binary_cross_entropy",
}  # fmt: skip
"""Ops the float plan computes with the engine's operations in the engine's order: the same bits."""


def engine_op(name):
    """The op object by name, wherever it is declared (the engine's table or an extension)."""
    found = ops.TENSOR_OPS.get(name)
    if found is None:
        from autograd import extend

        found = extend.registered().get(name)
    return found


def run_rule(op, arrays, op_args, g):
    """The op's float rule as a program: forward and every input's gradient, evaluated."""
    program = Program()
    names, inputs = [], []
    for k, a in enumerate([*arrays, g]):
        row = [f"x{k}_{i}" for i in range(a.size)]
        names += row
        inputs.append(symbols([program.input(n) for n in row], a.shape))
    *syms, g_sym = inputs
    rule = rule_for(op)
    out = np.asarray(rule.forward(op, lambda mask: None, *syms, **op_args), dtype=object).view(type(syms[0]))
    results = [out]
    for vjp, a in zip(rule.vjps_for(op, len(arrays)), syms):
        results.append(vjp_into_shape(vjp, g_sym, out, syms, op_args, a.shape))
    flat = [v for r in results for v in np.asarray(r, dtype=object).ravel().tolist()]
    values = program.function(names, flat)(*[v for a in [*arrays, g] for v in a.ravel().tolist()])
    split, start = [], 0
    for r in results:
        split.append(np.array(values[start : start + r.size], dtype=float).reshape(r.shape))
        start += r.size
    return split


@pytest.mark.parametrize("name", sorted(OP_RULES))
def test_every_float_rule_equals_the_engines_forward_and_gradients(name):
    op = engine_op(name)
    assert op is not None, f"{name}: a float rule for an op the engine does not declare"
    shapes, op_args = CASES[name]
    rng = np.random.default_rng(sorted(OP_RULES).index(name))
    arrays = [rng.uniform(0.1, 0.9, s) for s in shapes]
    out = np.asarray(op.forward(*arrays, **op_args))
    g = rng.standard_normal(out.shape)
    expected = [out] + [
        ops.unbroadcast(np.asarray(vjp(g, out, *arrays, **op_args)), a.shape)
        for vjp, a in zip(op.vjps_for(len(arrays)), arrays)
    ]
    got = run_rule(op, arrays, op_args, g)
    for k, (ours, theirs) in enumerate(zip(got, expected)):
        what = f"{name} {'forward' if k == 0 else f'gradient {k - 1}'}"
        if name in EXACT:
            np.testing.assert_array_equal(ours, theirs, err_msg=what)
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=1e-300, err_msg=what)


def test_sigmoid_equals_the_engines_up_to_the_exponent_limit_and_at_infinities():
    x = np.array([-709.7, -30.0, -0.0, 0.0, 1e-300, 3.0, 40.0, 800.0, np.inf, -np.inf])
    program = Program()
    inputs = [program.input(f"x{i}") for i in range(x.size)]
    result = sigmoid(symbols(inputs, x.shape))
    values = program.function([f"x{i}" for i in range(x.size)], result.tolist())(*x.tolist())
    np.testing.assert_allclose(values, ops.SIGMOID.forward(x), rtol=1e-15, atol=0)


def test_sigmoid_beyond_the_exponent_limit_falls_back_to_the_engines_exact_zero():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def step(x):
        w.grad = None
        out = (w * x).sigmoid().sum()
        out.backward()
        return out.item()

    compiled = autograd.compile(step, mode="floats")
    for x in (np.array([0.5, -1.0]), np.array([-800.0, 1.0]), np.array([-800.0, 1.0])):
        expected = Tensor(w.data * x).sigmoid().sum().item()
        assert compiled(x) == expected


@pytest.mark.parametrize("shape", [(4,), (9, 1), (4, 4), (1, 9), (3, 4, 5), (130, 3), (2, 300)])
def test_sums_add_in_numpys_order_to_the_same_bits(shape):
    a = RNG.standard_normal(shape) * 10.0 ** RNG.integers(-6, 6, shape)
    program = Program()
    names = [f"x{i}" for i in range(a.size)]
    s = symbols([program.input(n) for n in names], shape)
    for axis in [None, *range(len(shape)), tuple(range(len(shape)))[::2]]:
        reduced = np.add.reduce(s, axis=axis, keepdims=True)
        values = program.function(names, reduced.ravel().tolist())(*a.ravel().tolist())
        np.testing.assert_array_equal(values, np.add.reduce(a, axis=axis, keepdims=True).ravel(), err_msg=str(axis))


def test_a_branch_on_a_computed_value_has_no_float_rule():
    program = Program()
    a = symbols([program.input("x")], ())
    with pytest.raises(NoFloatRule, match="branch"):
        if a > 0:
            pass
    with pytest.raises(NoFloatRule, match="no float rule"):
        np.arctan2(a, a)


# ---------------------------------------------------------------------------- whole steps


def article_step(net, opt, reduction="sum"):
    def step(x, y):
        opt.zero_grad()
        loss = binary_cross_entropy(net(x), y, reduction=reduction)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def test_the_articles_step_is_chosen_and_equals_eager_over_hundreds_of_steps():
    nets = [TwoLayerNet(2, 4, 1, seed=3) for _ in range(2)]
    opts = [SGD(n.parameters(), lr=0.5) for n in nets]
    eager, compiled = article_step(nets[0], opts[0]), autograd.compile(article_step(nets[1], opts[1]))
    for k in range(300):
        x = X if k % 5 else X[::-1].copy()  # new inputs now and then: inputs, not constants
        theirs, ours = eager(Tensor(x), Y), compiled(x, Y)
        assert_close(ours, theirs, f"loss at step {k}")
    assert plan_kind(compiled) == "FloatPlan"
    for (name, p), (_, q) in zip(nets[0].named_parameters(), nets[1].named_parameters()):
        assert_close(q.data, p.data, name)
        assert_close(q.grad, p.grad, f"{name}.grad")
    assert compiled.traces <= 2  # the first call and the check of the first new inputs


def mlp_step(optimizer, **options):
    rng = np.random.default_rng(5)
    net = Sequential(Linear(3, 16, rng=rng), Tanh(), Linear(16, 8, rng=rng), Tanh(), Linear(8, 1, rng=rng))
    opt = optimizer(net.parameters(), **options)

    def step(x, y):
        opt.zero_grad()
        loss = mse_loss(net(x), y)
        loss.backward()
        opt.step()
        return loss

    return net, opt, step


@pytest.mark.parametrize(
    "optimizer, options",
    [(Adam, {"lr": 0.01}), (SGD, {"lr": 0.05, "momentum": 0.9}), (RMSprop, {"lr": 0.003})],
    ids=["adam", "sgd-momentum", "rmsprop"],
)
def test_an_mlp_equals_eager_over_hundreds_of_steps(optimizer, options):
    net_a, opt_a, eager = mlp_step(optimizer, **options)
    net_b, opt_b, step = mlp_step(optimizer, **options)
    compiled = autograd.compile(step, mode="floats")  # auto leaves a step this size to the numpy plan
    rng = np.random.default_rng(6)
    for k in range(300):
        x = rng.standard_normal((8, 3))
        y = np.sin(x.sum(axis=1, keepdims=True))
        theirs, ours = eager(Tensor(x), Tensor(y)), compiled(x, y)
        assert_close(ours.data, theirs.data, f"loss at step {k}")
    assert plan_kind(compiled) == "FloatPlan"
    for (name, p), (_, q) in zip(net_a.named_parameters(), net_b.named_parameters()):
        assert_close(q.data, p.data, name)
        assert_close(q.grad, p.grad, f"{name}.grad")
    for state_a, state_b in zip(opt_a.state, opt_b.state):
        assert state_a.keys() == state_b.keys()
        for key in state_a:
            assert_close(state_b[key], state_a[key], key)


def test_the_same_operations_give_the_same_bits():
    """Without matrix products and transcendental functions every operation is IEEE arithmetic in
    the engine's order: the float plan's numbers are the engine's, bit for bit."""

    def make():
        w = Tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True)
        b = Tensor(np.full(3, 0.1), requires_grad=True)
        opt = SGD([w, b], lr=0.01, momentum=0.5)

        def step(x, y):
            opt.zero_grad()
            h = (x * w.sum(axis=0) + b).relu()
            loss = ((h / 2.0 - y) ** 2).mean() + (w * w).sum().sqrt() * 0.01
            loss.backward()
            opt.step()
            return loss.item()

        return (w, b), step

    (w_a, b_a), eager = make()
    (w_b, b_b), step = make()
    compiled = autograd.compile(step)
    x, y = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    for k in range(200):
        assert compiled(x, y) == eager(Tensor(x), Tensor(y)), k
    assert plan_kind(compiled) == "FloatPlan"
    np.testing.assert_array_equal(w_b.data, w_a.data)
    np.testing.assert_array_equal(b_b.grad, b_a.grad)


def test_large_steps_use_the_numpy_plan_and_float32_too():
    big = TwoLayerNet(64, 128, 1, seed=1)
    compiled = autograd.compile(article_step(big, SGD(big.parameters(), lr=0.1)))
    compiled(RNG.random((256, 64)), RNG.random((256, 1)))
    assert plan_kind(compiled) == "Plan"
    small32 = TwoLayerNet(2, 4, 1, seed=1, dtype=np.float32)
    compiled = autograd.compile(article_step(small32, SGD(small32.parameters(), lr=0.1)))
    compiled(X.astype(np.float32), Y.astype(np.float32))
    assert plan_kind(compiled) == "Plan"


def test_forcing_the_float_plan_on_an_op_without_a_float_rule_names_it():
    w = Tensor(np.ones(3), requires_grad=True)

    def step(x):
        w.grad = None
        loss = (w * x).astype(np.float32).sum()  # cast: no float rule (float32 is not computed on floats)
        loss.backward()
        return loss.item()

    with pytest.raises(CompileError, match="'floats' plan cannot replay this function: cast has no float rule"):
        autograd.compile(step, mode="floats")(np.ones(3))

    net = TwoLayerNet(2, 3, 1, seed=0)

    def by_hand(x, y):
        for p in net.parameters():
            p.grad = None
        binary_cross_entropy(net(x), y).backward()
        with no_grad():
            for p in net.parameters():
                p -= 0.1 * p.grad
        return 0.0

    with pytest.raises(CompileError, match="in-place update written by hand"):
        autograd.compile(by_hand, mode="floats")(X, Y)
    assert plan_kind(autograd.compile(by_hand)) == "no plan yet"


def test_what_python_floats_refuse_runs_on_the_numpy_plan_for_that_call():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def step(x):
        w.grad = None
        loss = (w * x).log().sum()
        loss.backward()
        return loss.item()

    compiled = autograd.compile(step)
    assert compiled(np.array([1.0, 1.0])) == pytest.approx(math.log(2.0))
    assert plan_kind(compiled) == "FloatPlan"
    for x in (np.array([1.0, 3.0]), np.array([0.0, 1.0]), np.array([2.0, 1.0])):  # log 0 = -inf, as numpy
        with np.errstate(all="ignore"):
            expected = float(np.log(w.data * x).sum())
            assert compiled(x) == expected
            np.testing.assert_array_equal(w.grad, (1.0 / (w.data * x)) * x)  # NaN where x = 0, as eager


def test_infinite_logits_give_the_engines_limit():
    z = Tensor(np.array([[np.inf], [-np.inf], [0.5]]), requires_grad=True)

    def step(y):
        z.grad = None
        loss = binary_cross_entropy_with_logits(z * 1.0, y, reduction="sum")
        loss.backward()
        return loss.item()

    compiled = autograd.compile(step, mode="floats")
    y = np.array([[1.0], [0.0], [0.5]])
    with np.errstate(all="ignore"):
        expected = float(BINARY_CROSS_ENTROPY_WITH_LOGITS.forward(z.data, y, "sum"))
    assert compiled(y) == expected
    assert compiled(y) == expected


def test_a_learning_rate_argument_gradients_that_accumulate_and_what_is_returned():
    net = TwoLayerNet(2, 3, 1, seed=4)
    twin = TwoLayerNet(2, 3, 1, seed=4)
    opts = SGD(net.parameters(), lr=0.1), SGD(twin.parameters(), lr=0.1)

    def make(model, opt):
        def step(x, y, lr):
            opt.lr = lr
            out = model(x)
            loss = binary_cross_entropy(out, y)  # no zero_grad: gradients add up over calls
            loss.backward()
            opt.step()
            return loss, out

        return step

    eager, compiled = make(net, opts[0]), autograd.compile(make(twin, opts[1]))
    for k in range(50):
        lr = 0.2 / (1 + k)
        (loss_a, out_a), (loss_b, out_b) = eager(Tensor(X), Y, lr), compiled(X, Y, lr)
        assert_close(loss_b.data, loss_a.data, f"loss {k}")
        assert_close(out_b.data, out_a.data, f"output {k}")
        assert_close(out_b.grad, out_a.grad, f"output's grad {k}")
    assert plan_kind(compiled) == "FloatPlan" and compiled.traces <= 2
    for (name, p), (_, q) in zip(net.named_parameters(), twin.named_parameters()):
        assert_close(q.grad, p.grad, name)
        assert_close(q.data, p.data, name)
    assert float(opts[1].lr) == float(opts[0].lr)


def test_a_value_python_refuses_stops_the_step_before_it_writes_anything():
    nets = [TwoLayerNet(2, 3, 1, seed=2) for _ in range(2)]
    opts = [SGD(n.parameters(), lr=0.3) for n in nets]

    def make(net, opt):
        def step(x, y):
            opt.zero_grad()
            loss = binary_cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss.item(), (net(x) - 2.0).sum().log().item()  # log of a negative number, after the update

        return step

    eager, compiled = make(*zip(nets, opts).__next__()), autograd.compile(make(nets[1], opts[1]))
    for _ in range(5):
        (loss_a, odd_a), (loss_b, odd_b) = eager(Tensor(X), Y), compiled(X, Y)
        assert_close(loss_b, loss_a, "loss")
        assert math.isnan(odd_a) and math.isnan(odd_b)
    assert plan_kind(compiled) == "FloatPlan"
    for (name, p), (_, q) in zip(nets[0].named_parameters(), nets[1].named_parameters()):
        assert_close(q.data, p.data, name)


def test_a_view_of_a_parameter_used_after_its_update_is_left_to_the_numpy_plan():
    w = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    opt = SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        column = w[:, 0]  # a view: after the update it shows the new numbers
        (column * x).sum().backward()
        opt.step()
        return (column * 1.0).sum().item()

    with pytest.raises(CompileError, match="view of a parameter made before the parameter's update"):
        autograd.compile(step, mode="floats")(np.ones(2))


SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0, 1e-300, 710.0]


@pytest.mark.parametrize(
    "fn",
    [np.add, np.subtract, np.multiply, np.divide, np.maximum, np.minimum, np.greater, np.less_equal, np.power],
    ids=lambda f: f.__name__,
)
def test_binary_rules_match_numpy_on_special_values_or_stop(fn):
    """The Python form of each rule gives numpy's float64 result, NaN, infinities and signed zeros
    included, or raises one of the errors that send the call to the numpy plan."""
    from autograd.compiled.floats import FALLBACK

    for a in SPECIAL:
        for b in SPECIAL:
            with np.errstate(all="ignore"):
                expected = fn(np.float64(a), np.float64(b))
            for constant_b in (False, True):  # a symbol and a number, as rules meet them
                program = Program()
                x = symbols([program.input("x")], ())
                y = np.float64(b) if constant_b else symbols([program.input("y")], ())
                result = fn(x, y)
                try:
                    (value,) = program.function(["x", "y"], [result[()]])(a, b)
                except FALLBACK:
                    assert not np.isfinite(expected) or (fn is np.power and a < 0), (a, b, expected)
                    continue
                assert np.array_equal(value, expected, equal_nan=True), (fn.__name__, a, b, value, expected)
                if expected == 0:
                    assert math.copysign(1.0, value) == math.copysign(1.0, expected), (fn.__name__, a, b)


@pytest.mark.parametrize(
    "fn",
    [np.negative, np.absolute, np.exp, np.log, np.log1p, np.tanh, np.sqrt, np.square, np.reciprocal, np.sign,
     np.isnan, np.isinf, np.isfinite],
    ids=lambda f: f.__name__,
)  # fmt: skip
def test_unary_rules_match_numpy_on_special_values_or_stop(fn):
    from autograd.compiled.floats import FALLBACK

    for a in SPECIAL:
        with np.errstate(all="ignore"):
            expected = fn(np.float64(a))
        program = Program()
        result = fn(symbols([program.input("x")], ()))
        try:
            (value,) = program.function(["x"], [result[()]])(a)
        except FALLBACK:
            assert not np.isfinite(expected), (fn.__name__, a, expected)
            continue
        assert np.array_equal(value, expected, equal_nan=True) or value == pytest.approx(expected, rel=1e-15), (a,)


def test_forcing_the_float_plan_on_a_large_step_is_refused():
    net = TwoLayerNet(256, 512, 1, seed=0)
    compiled = autograd.compile(article_step(net, SGD(net.parameters(), lr=0.1)), mode="floats")
    with pytest.raises(CompileError, match="float operations per call, more than"):
        compiled(RNG.random((512, 256)), RNG.random((512, 1)))
