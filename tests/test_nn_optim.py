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


def test_params_without_grad_are_skipped_and_errors():
    a = Tensor(np.ones(2), requires_grad=True)
    b = Tensor(np.ones(2), requires_grad=True)
    (a * 2.0).sum().backward()
    for cls in (SGD, RMSprop, Adam):
        opt = cls([a, b], lr=0.1)
        opt.step()
        np.testing.assert_array_equal(b.data, [1.0, 1.0])
    with pytest.raises(ValueError, match="empty list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        Adam([a], lr=-1.0)
