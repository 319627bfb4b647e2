import numpy as np
import pytest

from autograd import Tensor, Value
from nn import SGD, Adam, RMSprop

CONFIGS = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.9}),
    (RMSprop, {"lr": 0.01}),
    (RMSprop, {"lr": 0.1, "alpha": 0.9, "eps": 1e-6}),
    (Adam, {"lr": 0.001}),
    (Adam, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-7}),
]


def quartic(x):
    """A loss with a gradient that changes every step: sum(x^4 - 3 x^2 + x)."""
    return (x**4 - 3.0 * x**2 + x).sum()


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=lambda c: c.__name__ if isinstance(c, type) else str(c))
def test_steps_match_torch_optim(torch, cls, kwargs):
    start = np.random.default_rng(0).standard_normal((3, 2))
    ours = Tensor(start, requires_grad=True)
    theirs = torch.tensor(start, requires_grad=True)
    opt = cls([ours], **kwargs)
    topt = getattr(torch.optim, cls.__name__)([theirs], **kwargs)
    data_before = ours.data
    for _ in range(8):
        opt.zero_grad()
        quartic(ours).backward()
        opt.step()
        topt.zero_grad()
        quartic(theirs).backward()
        topt.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=0, atol=1e-12)
    assert ours.data is data_before  # updated in place


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=lambda c: c.__name__ if isinstance(c, type) else str(c))
def test_value_parameters_follow_the_same_rule(cls, kwargs):
    start = np.random.default_rng(1).standard_normal(4)
    tensor = Tensor(start, requires_grad=True)
    values = [Value(float(v)) for v in start]
    opt_t, opt_v = cls([tensor], **kwargs), cls(values, **kwargs)
    for _ in range(5):
        opt_t.zero_grad()
        opt_v.zero_grad()
        quartic(tensor).backward()
        total = Value(0.0)
        for v in values:
            total = total + (v**4 - 3.0 * v**2 + v)
        total.backward()
        opt_t.step()
        opt_v.step()
    np.testing.assert_allclose([v.data for v in values], tensor.data, rtol=0, atol=1e-12)


def test_params_without_grad_are_skipped():
    a = Tensor(np.ones(2), requires_grad=True)
    b = Tensor(np.ones(2), requires_grad=True)
    (a * 2.0).sum().backward()
    for cls in (SGD, RMSprop, Adam):
        opt = cls([a, b], lr=0.1)
        opt.step()
        np.testing.assert_array_equal(b.data, [1.0, 1.0])
        assert opt.parameters == [a, b] or (opt.parameters[0] is a and opt.parameters[1] is b)


def quadratic(w):
    return (w * w).sum()


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=lambda c: c.__name__ if isinstance(c, type) else str(c))
def test_a_parameter_whose_first_gradient_arrives_late_matches_torch_exactly(torch, cls, kwargs):
    """Adam's bias correction counts this parameter's own steps, not the optimizer's."""
    start_a, start_b = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    a, b = Tensor(start_a, requires_grad=True), Tensor(start_b, requires_grad=True)
    ta, tb = torch.tensor(start_a, requires_grad=True), torch.tensor(start_b, requires_grad=True)
    opt, t_opt = cls([a, b], **kwargs), getattr(torch.optim, cls.__name__)([ta, tb], **kwargs)
    for step in range(6):
        for x, y, o in ((a, b, opt), (ta, tb, t_opt)):
            o.zero_grad()
            loss = quadratic(x) + (quadratic(y) if step >= 3 else 0.0)  # b's first gradient at step 3
            loss.backward()
            o.step()
        np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=0, atol=1e-15)
        np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=0, atol=1e-15)
    if cls is Adam:
        assert opt.state[0]["step"] == 6 and opt.state[1]["step"] == 3


def test_adam_late_parameter_takes_a_full_first_step():
    """At its first step Adam moves a parameter by lr (times sign g), whenever that step comes."""
    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    for step in range(4):
        opt.zero_grad()
        (quadratic(a) + (quadratic(b) if step == 3 else 0.0)).backward()
        opt.step()
    np.testing.assert_allclose(b.data, [0.9], rtol=0, atol=1e-8)  # lr g / (|g| + eps)


BAD_OPTIONS = [  # the last item: torch refuses it too (it takes a non-finite lr and RMSprop's alpha > 1)
    (SGD, {"lr": -1.0}, r"SGD: lr must be a finite number >= 0, got -1.0", True),
    (SGD, {"lr": float("nan")}, r"SGD: lr must be a finite number >= 0, got nan", False),
    (SGD, {"lr": float("inf")}, r"SGD: lr must be a finite number >= 0, got inf", False),
    (SGD, {"lr": 0.1, "momentum": -0.5}, r"SGD: momentum must be a finite number >= 0", True),
    (RMSprop, {"lr": 0.1, "alpha": 1.5}, r"RMSprop: alpha must be in \[0, 1\], got 1.5", False),
    (RMSprop, {"lr": 0.1, "alpha": -0.5}, r"RMSprop: alpha must be in \[0, 1\], got -0.5", True),
    (RMSprop, {"lr": 0.1, "eps": -1e-8}, r"RMSprop: eps must be a finite number >= 0", True),
    (Adam, {"betas": (1.0, 0.999)}, r"Adam: betas\[0\] must be in \[0, 1\), got 1.0", True),
    (Adam, {"betas": (0.9, -0.1)}, r"Adam: betas\[1\] must be in \[0, 1\), got -0.1", True),
    (Adam, {"betas": (0.9, float("nan"))}, r"Adam: betas\[1\] must be in \[0, 1\), got nan", True),
    (Adam, {"eps": -1.0}, r"Adam: eps must be a finite number >= 0", True),
]


@pytest.mark.parametrize("cls, kwargs, message, torch_refuses", BAD_OPTIONS)
def test_options_are_checked_like_torch(torch, cls, kwargs, message, torch_refuses):
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        cls([w], **kwargs)
    if torch_refuses:
        with pytest.raises(ValueError):
            getattr(torch.optim, cls.__name__)([torch.ones(2, requires_grad=True)], **kwargs)


def test_option_types_are_checked():
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="Adam: betas must be a pair"):
        Adam([w], betas=0.9)
    with pytest.raises(TypeError, match="SGD: lr must be a number, got str"):
        SGD([w], lr="0.1")


def test_parameter_lists_are_checked():
    from nn import Linear

    leaf = Tensor(np.ones(2), requires_grad=True, label="w")
    net = Linear(2, 1)
    cases = [
        ([], ValueError, "SGD: got an empty list of parameters"),
        (net, TypeError, r"SGD: got the module Linear itself; pass its parameters: SGD\(net.parameters\(\), lr=...\)"),
        (leaf, TypeError, r"params must be a list of parameters, got one Tensor; write \[w\]"),
        ([leaf * 2.0], ValueError, "parameter 0 is not a leaf \\(it is the output of mul\\)"),
        ([Tensor(np.ones(2))], ValueError, "parameter 0 does not require grad"),
        ([leaf, net.weight, leaf], ValueError, "parameters 0 and 2 are the same object"),
        ([Value(1.0) * 2.0], ValueError, "parameter 0 is not a leaf Value"),
        ([leaf, 3.0], TypeError, "parameter 1 is a float, expected a Tensor or a Value"),
        ([{"params": [leaf]}], TypeError, "parameter 0 is a dict"),
        (5, TypeError, "params must be an iterable of Tensors or Values"),
    ]
    for params, error, message in cases:
        with pytest.raises(error, match=message):
            SGD(params, lr=0.1)
    assert SGD(iter([leaf]), lr=0.0).parameters[0] is leaf  # any iterable; lr 0 is allowed, as in torch


def test_a_step_before_backward_makes_that_backward_raise():
    """The update goes through the tensor's version counter: a stale gradient is an error."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True, label="w")
    opt = SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward()
    opt.step()
    loss = (w * w).sum()
    opt.step()  # the graph of this loss read w before the step
    with pytest.raises(RuntimeError, match="'w'.*changed in place"):
        loss.backward()


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=lambda c: c.__name__ if isinstance(c, type) else str(c))
def test_float32_parameters_stay_float32(cls, kwargs):
    w = Tensor(np.array([[0.5, -1.5], [2.0, 0.25]], dtype=np.float32), requires_grad=True)
    data = w.data
    opt = cls([w], **kwargs)
    for _ in range(3):
        opt.zero_grad()
        quartic(w).backward()
        opt.step()
    assert w.data is data and w.dtype == np.float32 and w.grad.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[0].values() if isinstance(v, np.ndarray))


def test_a_large_parameter_is_updated_exactly_as_in_one_piece():
    from nn.optim import CHUNK

    rng = np.random.default_rng(0)
    start = rng.standard_normal((3 * CHUNK // 100 + 7, 100))
    w = Tensor(start, requires_grad=True)
    w.grad = rng.standard_normal(start.shape)
    SGD([w], lr=0.3).step()
    np.testing.assert_array_equal(w.data, start - 0.3 * w.grad)


def test_a_parameter_whose_data_is_rebound_is_still_updated():
    w = Tensor(np.ones(3), requires_grad=True)
    opt = SGD([w], lr=0.5)
    w.data = np.full(3, 4.0)  # a new array after the optimizer was made
    w.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(w.data, [3.5, 3.5, 3.5])


# ----------------------------------------------------------------------------- compiled updates


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: RMSprop(ps, lr=0.01),
        lambda ps: Adam(ps, lr=0.05),
    ],
    ids=["sgd", "momentum", "rmsprop", "adam"],
)
def test_compiled_step_gives_steps_numbers_bit_for_bit_without_allocating(make):
    import tracemalloc

    rng = np.random.default_rng(3)
    shapes = [(3, 4), (4,), (300, 300)]
    a = [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    b = [Tensor(p.data.copy(), requires_grad=True) for p in a]
    eager, compiled = make(a), make(b)
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(6)]
    for k, gs in enumerate(grads):
        for p, q, g in zip(a, b, gs):
            p.grad, q.grad = g.copy(), g.copy()
        eager.step()
        if k == 0:
            compiled.step()  # the state exists after a first step
            kernel = compiled.compiled_step()
            continue
        tracemalloc.start()
        kernel()
        allocated = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert allocated < 10_000, allocated
        for p, q in zip(a, b):
            np.testing.assert_array_equal(q.data, p.data)
