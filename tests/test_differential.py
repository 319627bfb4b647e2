"""Tensor against PyTorch over random programs (float64 and float32), and at the edges torch defines.

Each random program is a graph of Tensor ops (reused nodes, broadcasting, 0-d and size-1 axes, every
indexing form) run forward and backward twice on both sides; values, every node's gradient, shapes,
dtypes and the types of ``.data`` and ``.grad`` must agree (``programs.differences``). Families
switch on what a program may contain, so a failure says where to look. Run many more examples with
``BACKPROP_LAB_DIFF=thorough`` (or ``random`` for new ones each run).

Deliberate differences from torch are left out of the programs and listed in ``test_deliberate_*``:
mean over zero elements (an error), a second backward without
``retain_graph``, float-only data (ints and bools become float64).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from programs import (
    TENSOR_FEATURES,
    check,
    diff_settings,
    differences,
    function_program,
    run_engine,
    run_torch,
    tensor_programs,
)

import nn
from autograd import Tensor

DTYPES = [np.float64, np.float32]

FAMILIES = {
    # name: (features added to the core ones, ops drawn about half of the time)
    "core": (set(), ()),
    "advanced_index": ({"advanced_index"}, ("getitem",)),
    "tuple_in_index": ({"advanced_index", "tuple_in_index"}, ("getitem",)),
    "bool_tensor_index": ({"advanced_index", "bool_tensor_index"}, ("getitem",)),
    "empty": ({"empty", "advanced_index"}, ()),
    "edges": ({"edges"}, ("relu", "sqrt", "log", "div", "pow", "pow_const")),
    "nn": ({"nn"}, ("linear", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy")),
    "everything": ({"advanced_index", "tuple_in_index", "bool_tensor_index", "empty", "edges", "nn"}, ()),
}
EXAMPLES = {"core": 250, "everything": 200}


def _random_programs(torch, family, dtype, kinds, examples):
    extra, focus = FAMILIES[family]
    features = frozenset(TENSOR_FEATURES | extra)

    @diff_settings(examples)
    @given(data=st.data())
    def run(data):
        program = data.draw(tensor_programs(torch, features, focus), label="program")
        check(program, torch, dtype, kinds)

    run()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_random_programs_match_torch(family, dtype, torch):
    """Forward values and every node's gradient (and errors: raised on both sides or neither)."""
    _random_programs(torch, family, dtype, ("error", "value"), EXAMPLES.get(family, 150))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("family", ["core", "empty"])
def test_random_programs_keep_torch_types(family, dtype, torch):
    """Output dtype, ``.data`` an ndarray, every ``.grad`` an ndarray of its node's dtype, writable and
    owning its memory, the leaves' data untouched."""
    _random_programs(torch, family, dtype, ("type",), 80)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_random_programs_at_the_edges_stay_quiet(dtype, torch):
    """Where torch silently gives inf or NaN, the engine lets no numpy warning out."""
    _random_programs(torch, "edges", dtype, ("warning",), 80)


# ----------------------------------------------------------------------------- targeted cases
# Each case is (inputs, function, its text[, the function in torch when it reads differently there]).


def _amax(**kwargs):
    return lambda torch, x: torch.amax(
        x, dim=kwargs.get("axis", tuple(range(x.ndim))), keepdim=kwargs.get("keepdims", False)
    )


EDGE_CASES = {
    "relu at 0": ([[-1.0, 0.0, 2.0]], lambda x: x.relu(), "{0}.relu()"),
    "abs at 0": ([[-1.0, 0.0, 2.0]], lambda x: abs(x), "abs({0})"),
    "x ** 0 at 0": ([[0.0, 2.0, -1.0]], lambda x: x**0, "{0} ** 0"),
    "x ** 0.5 at 0": ([[0.0, 4.0]], lambda x: x**0.5, "{0} ** 0.5"),
    "x ** 2 at 0": ([[0.0, -3.0]], lambda x: x**2, "{0} ** 2"),
    "x ** -1 at 0": ([[0.0, 2.0]], lambda x: x**-1, "{0} ** -1"),
    "a ** b at b = 0": ([[0.0, 2.0, -1.0], [0.0, 0.0, 0.0]], lambda a, b: a**b, "{0} ** {1}"),
    "a ** b at a = 0, b >= 0": ([[0.0, 0.0, 0.0], [2.0, 0.5, 1.0]], lambda a, b: a**b, "{0} ** {1}"),
    "a ** b at a < 0, integer b": ([[-2.0, -1.5], [2.0, 3.0]], lambda a, b: a**b, "{0} ** {1}"),
    "sqrt at 0": ([[0.0, 4.0]], lambda x: x.sqrt(), "{0}.sqrt()"),
    "log at 0": ([[0.0, 1.0]], lambda x: x.log(), "{0}.log()"),
    "division by values near 0": (
        [[1.0, -1.0, 1.0, 1.0], [1e-150, -1e-100, 1e-10, 1e-300]],
        lambda a, b: a / b,
        "{0} / {1}",
    ),
    "division of 0 by 0": ([[0.0, 1.0], [0.0, 0.0]], lambda a, b: a / b, "{0} / {1}"),
    "max with ties, all axes": ([[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0]]], lambda x: x.max(), "{0}.max()", _amax()),
    "max with ties, per row": (
        [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]],
        lambda x: x.max(axis=1),
        "{0}.max(axis=1)",
        _amax(axis=1),
    ),
    "max with ties, keepdims": (
        [[[1.0, 1.0], [1.0, 0.0]]],
        lambda x: x.max(axis=0, keepdims=True),
        "{0}.max(axis=0, keepdims=True)",
        _amax(axis=0, keepdims=True),
    ),
    "max of +-inf": ([[np.inf, np.inf, 1.0, -np.inf]], lambda x: x.max(), "{0}.max()", _amax()),
    "max with NaN": ([[np.nan, 1.0]], lambda x: x.max(), "{0}.max()", _amax()),
    "relu at NaN": ([[np.nan, 1.0]], lambda x: x.relu(), "{0}.relu()"),
    "abs at NaN": ([[np.nan, -1.0]], lambda x: abs(x), "abs({0})"),
    "sum of empty": ([np.zeros((0, 3))], lambda x: x.sum(), "{0}.sum()"),
    "sum of empty over its empty axis": ([np.zeros((0, 3))], lambda x: x.sum(axis=0), "{0}.sum(axis=0)"),
    "mean of empty over a non-empty axis": ([np.zeros((0, 3))], lambda x: x.mean(axis=1), "{0}.mean(axis=1)"),
    "matmul with empty inner axis": ([np.zeros((2, 0)), np.zeros((0, 3))], lambda a, b: a @ b, "{0} @ {1}"),
    "matmul of empty vectors": ([np.zeros(0), np.zeros(0)], lambda a, b: a @ b, "{0} @ {1}"),
    "empty broadcast against size 1": ([np.zeros((0, 1)), np.ones((1, 3))], lambda a, b: a * b, "{0} * {1}"),
    "reshape of empty": ([np.zeros((0, 3))], lambda x: x.reshape(3, 0, 1), "{0}.reshape(3, 0, 1)"),
    "0-d leaf times itself": ([2.0], lambda x: x * x, "{0} * {0}"),
    "0-d leaf through exp": ([0.5], lambda x: x.exp(), "{0}.exp()"),
    "0-d leaf, reused": ([3.0], lambda x: x + x, "{0} + {0}"),
    "1-d @ 1-d": ([[1.0, 2.0], [3.0, -1.0]], lambda a, b: a @ b, "{0} @ {1}"),
    "index of a 0-d tensor with ()": ([3.0], lambda x: x[()] * x, "{0}[()] * {0}"),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_case_matches_torch(case, dtype, torch):
    inputs, fn, text, *torch_fn = EDGE_CASES[case]
    check(function_program(fn, *inputs, text=text, torch_fn=torch_fn[0] if torch_fn else None), torch, dtype)


def _indexed(index, torch_index=None):
    """x[index] on the engine, x[torch_index] in torch (``index`` when that reads the same)."""
    return (
        lambda x: x[index],
        lambda torch, x: x[index if torch_index is None else torch_index(torch)],
    )


MASK = np.array([[True, False, True], [False, False, True]])

INDEX_CASES = {
    # name: (input shape, engine function, torch function, text)
    "repeated list index": ((3,), *_indexed([0, 0, 2, 0]), "{0}[[0, 0, 2, 0]]"),
    "repeated list index, second axis": ((2, 3), *_indexed((slice(None), [1, 1])), "{0}[:, [1, 1]]"),
    "repeated integer array": ((2, 3), *_indexed(np.array([[1, 1], [0, 1]])), "{0}[np.array([[1, 1], [0, 1]])]"),
    "tuple inside the index, repeated": ((2, 3), *_indexed((slice(None), (0, 0))), "{0}[:, (0, 0)]"),
    "tuple as the only index entry": ((4,), *_indexed(((-2, 2),)), "{0}[(-2, 2),]"),
    "nested tuples inside the index": ((2, 3), *_indexed((((0, 0), (1, 1)),)), "{0}[((0, 0), (1, 1)),]"),
    "tuple of lists inside the index": ((2, 3), *_indexed((([0, 0], [1, 1]),)), "{0}[([0, 0], [1, 1]),]"),
    "two tuples pairing repeated elements": ((2, 3), *_indexed(((0, 0), (2, 2))), "{0}[(0, 0), (2, 2)]"),
    "range and a repeating tuple": ((2, 3), *_indexed((range(2), (1, 1))), "{0}[range(2), (1, 1)]"),
    "boolean numpy mask": ((2, 3), *_indexed(MASK), "{0}[MASK]"),
    "boolean list": ((3,), *_indexed([True, False, True]), "{0}[[True, False, True]]"),
    "boolean Tensor mask": (
        (2, 3),
        lambda x: x[Tensor(MASK)],
        lambda torch, x: x[torch.from_numpy(MASK)],
        "{0}[Tensor(MASK)]",
    ),
    "boolean Tensor mask on one axis": (
        (2, 3),
        lambda x: x[:, Tensor(np.array([False, True, True]))],
        lambda torch, x: x[:, torch.tensor([False, True, True])],
        "{0}[:, Tensor(np.array([False, True, True]))]",
    ),
    "negative-step slice": ((5,), lambda x: x[::-2], lambda torch, x: x.flip(0)[::2], "{0}[::-2]"),
    "None and Ellipsis": ((2, 3), *_indexed((None, Ellipsis, 1)), "{0}[None, ..., 1]"),
    "negative ints": ((2, 3), *_indexed((-1, -3)), "{0}[-1, -3]"),
    "range": ((4,), *_indexed(range(3, 0, -1)), "{0}[range(3, 0, -1)]"),
    "empty list": ((3,), *_indexed([]), "{0}[[]]"),
}


@pytest.mark.parametrize("case", list(INDEX_CASES))
def test_index_case_matches_torch(case, torch):
    """Each element picked ``k`` times gets ``k`` times the gradient, whatever the form of the index."""
    shape, fn, torch_fn, text = INDEX_CASES[case]
    data = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    check(function_program(fn, data, text=text + "  # MASK = " + repr(MASK.tolist()), torch_fn=torch_fn), torch)


# Where the local derivative is 0, torch sends 0 back even when the incoming gradient is inf or NaN
# (relu and pow mask it; mul, abs and max multiply, so inf * 0 = NaN there as well).
MASKED_GRADIENT_CASES = {
    "sqrt(relu(x)) at x <= 0": ([[-1.0, 0.0, 4.0]], lambda x: x.relu().sqrt(), "{0}.relu().sqrt()"),
    "log(relu(x)) at x <= 0": ([[-1.0, 0.0, 2.0]], lambda x: x.relu().log(), "{0}.relu().log()"),
    "1 / relu(x) at x < 0": ([[-1.0, 2.0]], lambda x: 1.0 / x.relu(), "1.0 / {0}.relu()"),
    "sqrt(a ** b - 1) at b = 0": (
        [[2.0, 3.0], [0.0, 0.0]],
        lambda a, b: (a**b - 1.0).sqrt(),
        "({0} ** {1} - 1.0).sqrt()",
    ),
    "sqrt(x ** 0 - 1)": ([[2.0, 0.0]], lambda x: (x**0 - 1.0).sqrt(), "({0} ** 0 - 1.0).sqrt()"),
}


@pytest.mark.parametrize("case", list(MASKED_GRADIENT_CASES))
def test_zero_local_derivative_stops_infinite_gradients(case, torch):
    inputs, fn, text = MASKED_GRADIENT_CASES[case]
    check(function_program(fn, *inputs, text=text), torch)


def test_exponent_gradient_at_zero_base_and_negative_exponent(torch):
    """d/db a**b = a**b ln a: at a = 0, b < 0 that is inf * -inf = -inf (torch), not NaN."""
    program = function_program(lambda a, b: a**b, [0.0, 0.0, 2.0], [-1.0, -2.5, -1.0], text="{0} ** {1}")
    check(program, torch)


def test_no_numpy_warnings_where_torch_gives_inf_or_nan(torch):
    """Forward and backward at points where the result is inf or NaN stay silent, as in torch."""
    cases = [
        ([[1.0, 0.0]], [[0.0, 0.0]], lambda a, b: a / b, "{0} / {1}"),
        ([[1000.0]], None, lambda x: x.exp(), "{0}.exp()"),
        ([[0.0, 4.0]], None, lambda x: x**-1, "{0} ** -1"),
        ([[-1.0, 4.0]], None, lambda x: x**0.5, "{0} ** 0.5"),
        ([[np.inf]], None, lambda x: x - np.inf, "{0} - np.inf"),
    ]
    for first, second, fn, text in cases:
        inputs = [first[0]] + ([] if second is None else [second[0]])
        check(function_program(fn, *inputs, text=text), torch)


def test_float32_stays_float32_with_0d_float64_operands(torch):
    """torch: a 0-d operand does not raise the dtype of a tensor with dimensions (numpy 2 lets it)."""
    x = np.array([1.0, 2.0], dtype=np.float32)
    for name, operand in [("0-d ndarray", np.array(2.0)), ("0-d Tensor", Tensor(2.0))]:
        ours = Tensor(x, requires_grad=True) * operand
        theirs = torch.tensor(x, requires_grad=True) * torch.tensor(2.0, dtype=torch.float64)
        assert theirs.dtype == torch.float32
        assert ours.dtype == np.float32, f"float32 tensor * {name} (float64) gives {ours.dtype}, torch float32"


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy"])
def test_fused_losses_average_zero_elements_like_mean(loss):
    """``mse_loss`` (through ``Tensor.mean``) refuses to average over zero elements; the fused losses
    should too, rather than give NaN with numpy's warnings (torch gives NaN, silently)."""
    p = Tensor(np.zeros((0, 3)), requires_grad=True)
    target = np.zeros(0, dtype=np.intp) if loss == "cross_entropy" else np.zeros((0, 3))
    with pytest.raises(ValueError, match="mse_loss|mean"):
        nn.mse_loss(p, np.zeros((0, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError):
            getattr(nn, loss)(p, target)


def test_transpose_of_a_matrix_with_two_axes_is_not_read_as_numpy_silently(torch):
    """``x.transpose(0, 1)`` swaps a matrix's axes in torch; numpy reads (0, 1) as the identity
    permutation. The engine should give torch's answer or say it is ambiguous, not numpy's silently."""
    x = np.arange(6.0).reshape(2, 3)
    assert tuple(torch.tensor(x).transpose(0, 1).shape) == (3, 2)
    try:
        result = Tensor(x).transpose(0, 1)
    except (ValueError, TypeError):
        return
    assert result.shape == (3, 2), f"x.transpose(0, 1) of a (2, 3) matrix has shape {result.shape}; torch (3, 2)"


def test_max_of_empty_tensor_over_a_nonempty_axis(torch):
    """torch.amax of a (0, 3) tensor over axis 1 is an empty (0,) tensor; only reducing the empty
    axis itself is an error."""
    program = function_program(
        lambda x: x.max(axis=1), np.zeros((0, 3)), text="{0}.max(axis=1)", torch_fn=_amax(axis=1)
    )
    theirs = run_torch(program, torch)
    assert theirs.error is None and theirs.data.shape == (0,)
    ours = run_engine(program)
    assert ours.error is None, f"the engine raised {ours.error!r}; torch gives an empty (0,) tensor"


# ----------------------------------------------------------------------------- deliberate differences


def test_sigmoid_far_below_the_exponent_limit_is_exactly_zero_as_torch(torch):
    x = np.array([-800.0, -20.0, 0.0, 800.0])
    t = Tensor(x, requires_grad=True)
    ours = t.sigmoid()
    ours.sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    theirs.sigmoid().sum().backward()
    assert ours.data[0] == 0 == theirs.sigmoid()[0].item()
    np.testing.assert_allclose(ours.data, theirs.sigmoid().detach().numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(t.grad, theirs.grad.numpy(), rtol=1e-12, atol=0)


def test_deliberate_mean_over_zero_elements_is_an_error(torch):
    assert torch.zeros(0, dtype=torch.float64).mean().isnan()
    with pytest.raises(ValueError, match="mean: cannot average over zero elements"):
        Tensor(np.zeros((0, 3))).mean(axis=0)


def test_deliberate_second_backward_needs_no_retain_graph():
    """torch needs retain_graph=True for a second backward; the engine keeps the graph, and leaf
    gradients add up over the passes as in torch."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_deliberate_integer_data_is_float_and_booleans_stay_masks(torch):
    assert torch.tensor([1, 2]).dtype == torch.int64
    assert Tensor([1, 2]).dtype == np.float64
    assert torch.tensor([True, False]).dtype == torch.bool and Tensor([True, False]).dtype == np.bool_


def test_a_differing_engine_is_caught(torch):
    """The comparison itself: a wrong gradient, a wrong dtype and a leaked warning are all reported."""
    program = function_program(lambda x: x * 3.0, [1.0, 2.0], text="{0} * 3.0")
    ours = run_engine(program)
    ours.passes[0][0].array = ours.passes[0][0].array + 1e-3
    ours.dtype = np.dtype(np.float32)
    ours.warnings = ["RuntimeWarning: made up"]
    found = differences(program, ours, run_torch(program, torch))
    assert any("v0.grad after backward pass 1 differs" in f for f in found)
    assert any("output dtype float32, torch float64" in f for f in found)
    assert any("made up" in f for f in found)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not differences(program, run_engine(program), run_torch(program, torch))
