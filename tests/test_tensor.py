"""``Tensor``: construction, dtypes, memory, errors and numerics."""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd import Tensor, no_grad

FAST = settings(max_examples=40, deadline=None)


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):  # numpy's defaults
            yield


# ----------------------------------------------------------------------------- construction and dtypes


def test_default_dtype_is_float64():
    assert Tensor([1.0, 2.0]).dtype == np.float64
    assert Tensor(3.0).dtype == np.float64 and Tensor(3.0).shape == ()


@pytest.mark.parametrize("raw", [[1, 2], np.arange(3, dtype=np.int8), np.uint16(7), 5])
def test_ints_become_float64(raw):
    t = Tensor(raw)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(raw, dtype=np.float64))


def test_bools_stay_bool_as_masks_and_cannot_require_grad():
    m = Tensor(np.array([True, False]))
    assert m.dtype == np.bool_
    assert (m * 2.0).dtype == np.float64 and (m * 2.0).data.tolist() == [2.0, 0.0]
    assert (m + m).data.tolist() == [2.0, 0.0]
    assert m.sum().item() == 1.0
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, got dtype bool"):
        Tensor([True], requires_grad=True)
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="dtype must be a float type"):
        Tensor([1, 2], dtype=np.int64)


def test_float32_is_kept_and_stays_float32():
    a = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    assert a.dtype == np.float32
    outs = [
        a + 1,
        2.5 * a,
        a - np.float64(1.5),
        a / 3,
        1 / a,
        a**2,
        a**0.5,
        2.0**a,
        -a,
        a.exp(),
        a.log(),
        a.tanh(),
        a.sigmoid(),
        a.relu(),
        a.sqrt(),
        abs(a),
        a.sum(),
        a.mean(),
        a.max(),
        a.reshape(3, 1),
        a[1:],
        a @ a,
        a * a,
    ]
    for out in outs:
        assert out.dtype == np.float32, out
    total = outs[0].sum()
    for out in outs[1:]:
        total = total + out.sum()
    assert total.dtype == np.float32
    total.backward()
    assert a.grad.dtype == np.float32
    assert a.grad.shape == a.shape


def test_float32_leaf_gets_float32_grad_even_from_float64_ops():
    a = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    out = (a * b).sum()
    assert out.dtype == np.float64
    out.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_construction_copies_the_source():
    src = np.array([1.0, 2.0, 3.0])
    t = Tensor(src)
    src[0] = 100.0
    assert t.data[0] == 1.0
    lst = [1.0, 2.0]
    t = Tensor(lst)
    lst[0] = 9.0
    assert t.data[0] == 1.0
    u = Tensor(t)
    t.data[1] = 50.0
    assert u.data[1] == 2.0


def test_ragged_lists_are_rejected():
    with pytest.raises(ValueError, match=r"Tensor: data is not a rectangular array"):
        Tensor([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("bad", [np.array([1, None], dtype=object), ["a", "b"], "x", {"a": 1}, None])
def test_non_numeric_data_is_rejected(bad):
    with pytest.raises(TypeError, match=r"Tensor: data must be numeric"):
        Tensor(bad)


def test_complex_data_is_rejected():
    with pytest.raises(TypeError, match="complex"):
        Tensor([1 + 2j])


# ----------------------------------------------------------------------------- properties


def test_properties():
    t = Tensor(np.arange(6.0).reshape(2, 3), label="t")
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.T.shape == (3, 2)
    assert t.numpy() is t.data
    assert t.op_args is None and t.op is None and t.parents == () and t.is_leaf
    assert Tensor([[4.0]]).item() == 4.0
    assert float(Tensor(2.5)) == 2.5
    with pytest.raises(ValueError, match=r"item: only a single-element tensor.*\(2, 3\)"):
        t.item()
    assert "requires_grad=True" in repr(Tensor([1.0], requires_grad=True))
    assert "float32" in repr(Tensor(np.ones(2, np.float32)))
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"


def test_detach_shares_data_and_cuts_the_graph():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = (a * 2).detach()
    assert not b.requires_grad and b.parents == () and b.op is None
    c = a * 2
    d = c.detach()
    assert d.data is c.data


def test_op_args_of_a_node():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    s = a.sum(axis=-1, keepdims=True)
    assert s.op_args == {"axis": 1, "keepdims": True}
    assert not s.is_leaf and a.is_leaf


# ----------------------------------------------------------------------------- backward and memory


def test_backward_of_a_non_scalar_needs_a_gradient():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"backward: gradient can be left out only .*\(2, 3\)"):
        (a * 2).backward()


def test_backward_gradient_of_the_wrong_shape():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(3,\) but the tensor has shape \(2, 3\)"):
        (a * 2).backward(gradient=np.ones(3))


def test_backward_without_requires_grad():
    with pytest.raises(RuntimeError, match="backward: this tensor does not require grad"):
        Tensor([1.0]).backward()


def test_backward_accepts_a_tensor_or_list_gradient():
    a = Tensor([1.0, 2.0], requires_grad=True)
    (a * 3).backward(gradient=Tensor([1.0, 2.0]))
    np.testing.assert_array_equal(a.grad, [3.0, 6.0])
    a.grad = None
    (a * 3).backward(gradient=[1, 1])
    np.testing.assert_array_equal(a.grad, [3.0, 3.0])


def test_backward_does_not_alias_the_users_gradient():
    a = Tensor([1.0, 2.0], requires_grad=True)
    G = np.array([1.0, 1.0])
    (a + 0.0).backward(gradient=G)
    a.grad += 10.0  # an in-place update of the leaf's gradient
    np.testing.assert_array_equal(G, [1.0, 1.0])
    b = Tensor([1.0, 2.0], requires_grad=True)
    b.backward(gradient=G)  # a leaf as the root
    b.grad *= 3.0
    np.testing.assert_array_equal(G, [1.0, 1.0])
    assert not np.shares_memory(b.grad, G)


def test_two_leaves_with_the_same_gradient_do_not_share_memory():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_leaf_grad_is_writable_after_broadcasting():
    a = Tensor([1.0, 2.0], requires_grad=True)
    (a * np.ones((3, 2))).sum().backward()
    a.grad -= 1.0  # must not be a read-only broadcast view
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])


def test_constant_operands_get_no_grad():
    a = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    (a * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3), st.data())
@FAST
def test_grad_shape_equals_shape_after_broadcasting(shapes, data):
    sa, sb = shapes.input_shapes
    a = Tensor(np.full(sa, 0.5), requires_grad=True)
    b = Tensor(np.full(sb, 2.0), requires_grad=True)
    op = data.draw(st.sampled_from([operator.add, operator.sub, operator.mul, operator.truediv, pow]))
    out = op(a, b)
    assert out.shape == shapes.result_shape
    out.backward(gradient=np.ones(out.shape))
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    assert a.grad.dtype == np.float64


# ----------------------------------------------------------------------------- misuse


@pytest.mark.parametrize(
    ("op", "name"),
    [(operator.add, "add"), (operator.sub, "sub"), (operator.mul, "mul"), (operator.truediv, "div"), (pow, "pow")],
)
def test_broadcast_mismatch_names_the_op_and_shapes(op, name):
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        op(a, b)
    with pytest.raises(ValueError, match=rf"{name}:"):
        op(a, np.ones(4))


@pytest.mark.parametrize(
    ("sa", "sb"),
    [((2, 3), (4, 5)), ((3,), (4,)), ((3,), (4, 2)), ((2, 3), (2,)), ((2, 2, 3), (2, 4, 1))],
)
def test_matmul_misalignment_names_both_shapes(sa, sb):
    a, b = Tensor(np.ones(sa)), Tensor(np.ones(sb))
    with pytest.raises(ValueError) as info:
        a @ b
    message = str(info.value)
    assert "matmul" in message and str(sa) in message and str(sb) in message


def test_matmul_batch_mismatch_and_scalars():
    with pytest.raises(ValueError, match=r"matmul: batch dimensions of shapes \(2, 2, 3\) and \(3, 3, 4\)"):
        Tensor(np.ones((2, 2, 3))) @ Tensor(np.ones((3, 3, 4)))
    with pytest.raises(ValueError, match=r"matmul: operands must have at least one dimension"):
        Tensor(2.0) @ Tensor(np.ones(3))


@pytest.mark.parametrize("other", ["a", None, object(), {1: 2}])
def test_non_numeric_operand_is_a_type_error(other):
    t = Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="add: unsupported operand"):
        t + other
    with pytest.raises(TypeError, match="add: unsupported operand"):
        other + t
    with pytest.raises(TypeError, match="mul: unsupported operand"):
        t * other
    with pytest.raises(TypeError, match="matmul"):
        t @ other


def test_string_arrays_as_operands_are_rejected():
    with pytest.raises(TypeError, match="numeric"):
        Tensor([1.0]) + ["a"]


def test_reshape_to_the_wrong_size():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape shape \(2, 3\) \(6 elements\) into \(4, 2\)"):
        t.reshape(4, 2)
    with pytest.raises(ValueError, match="reshape"):
        t.reshape((5,))
    with pytest.raises(TypeError, match="reshape: a shape must be ints, got"):
        t.reshape(2.5, 2)
    assert t.reshape(-1).shape == (6,)
    assert t.reshape((3, 2)).shape == (3, 2)
    assert t.reshape([1, 6]).shape == (1, 6)


@pytest.mark.parametrize("method", ["sum", "mean", "max"])
def test_axis_out_of_range(method):
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{method}: axis 2 is out of range for a tensor with 2 dimensions"):
        getattr(t, method)(axis=2)
    with pytest.raises(ValueError, match=rf"{method}: axis -3 is out of range"):
        getattr(t, method)(axis=(0, -3))
    with pytest.raises(ValueError, match=rf"{method}: axis .* repeats an axis"):
        getattr(t, method)(axis=(1, -1))
    with pytest.raises(TypeError, match=rf"{method}: axis must be an int or a tuple of ints"):
        getattr(t, method)(axis=1.5)


def test_max_of_an_empty_tensor():
    with pytest.raises(ValueError, match=r"max: cannot reduce over zero elements \(shape \(0, 3\), axis None\)"):
        Tensor(np.ones((0, 3))).max()
    with pytest.raises(ValueError, match=r"max: cannot reduce over zero elements \(shape \(0, 3\), axis 0\)"):
        Tensor(np.ones((0, 3))).max(axis=0)
    assert Tensor(np.ones((0, 3))).max(axis=1).shape == (0,)


@pytest.mark.parametrize("axes", [(0, 3), (0, 0), (1,), (0, 1, 2), (-3, 0)])
def test_transpose_with_bad_axes(axes):
    with pytest.raises(ValueError, match=r"transpose: axes .* are not a permutation of the 2 axes of shape \(2, 3\)"):
        Tensor(np.ones((2, 3))).transpose(*axes)


def test_transpose_0_1_of_a_matrix_is_ambiguous_between_numpy_and_torch():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    for axes in ((0, 1), (-2, -1), (0, -1)):
        with pytest.raises(ValueError, match=r"transpose\(0, 1\) on a 2-D tensor is ambiguous.*t.T or t.swapaxes"):
            t.transpose(*axes)
    assert t.transpose(1, 0).shape == (3, 2) and t.transpose((0, 1)).shape == (2, 3)
    assert t.transpose(dim0=0, dim1=1).shape == (3, 2)


def test_transpose_accepts_negative_axes_and_a_tuple():
    t = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    u = t.transpose((-1, 0, 1))
    assert u.shape == (4, 2, 3)
    assert u.op_args["axes"] == (2, 0, 1)
    assert t.transpose().shape == (4, 3, 2)
    assert t.transpose(None).shape == (4, 3, 2)


@pytest.mark.parametrize("index", [5, (0, 3), (slice(None), 7), [0, 4], (0, 0, 0), np.array([True, False, True])])
def test_bad_index(index):
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match=r"getitem: index .* does not fit shape \(2, 3\)"):
        t[index]


@pytest.mark.parametrize("index", [1.5, "a", (0, 2.0), {1}])
def test_index_of_the_wrong_type(index):
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match=r"getitem: index component .* is not an int, a slice, None, Ellipsis"):
        t[index]


def test_float_index_arrays_must_hold_integers():
    t = Tensor(np.arange(4.0))
    assert t[np.array([1.0, 3.0])].data.tolist() == [1.0, 3.0]
    assert t[Tensor([0, 2])].data.tolist() == [0.0, 2.0]
    with pytest.raises(IndexError, match="getitem: index arrays must hold integers"):
        t[np.array([0.5])]


# ----------------------------------------------------------------------------- numerics


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable_from_minus_to_plus_a_thousand(dtype, no_warnings):
    x = Tensor(np.linspace(-1e3, 1e3, 2001).astype(dtype), requires_grad=True)
    s = x.sigmoid()
    s.backward(gradient=np.ones(x.shape))
    assert s.dtype == dtype and x.grad.dtype == dtype
    assert np.all((s.data >= 0) & (s.data <= 1))
    assert np.all(np.isfinite(x.grad)) and np.all((x.grad >= 0) & (x.grad <= 0.25))
    assert s.data[0] < 1e-30 and s.data[-1] == 1.0
    assert s.data[1000] == 0.5


def test_sigmoid_of_a_0d_tensor(no_warnings):
    x = Tensor(-800.0, requires_grad=True)
    s = x.sigmoid()
    s.backward()
    assert 0.0 <= s.item() < 1e-300 and 0.0 <= x.grad < 1e-300


def test_no_runtime_warnings_inside_the_domain(no_warnings):
    rng = np.random.default_rng(0)
    x = Tensor(rng.uniform(-3, 3, (4, 5)), requires_grad=True)
    p = Tensor(rng.uniform(0.5, 3, (4, 5)), requires_grad=True)
    w = Tensor(rng.uniform(-1, 1, (5, 2)), requires_grad=True)
    terms = [
        x.tanh().sum(),
        x.exp().mean(),
        p.log().sum(),
        x.relu().sum(),
        p.sqrt().sum(),
        abs(x).mean(),
        (x @ w).sum(),
        x.max(axis=1).sum(),
        (x / p).sum(),
        (p**x).sum(),
        (x**2).sum(),
        (p**-1.5).sum(),
        (x**0.0).sum(),
        x.sigmoid().sum(),
        x[1:, ::2].sum(),
        x[[0, 0, 2]].sum(),
        x.reshape(20).sum(),
        x.T.mean(axis=0).sum(),
    ]
    loss = terms[0]
    for t in terms[1:]:
        loss = loss + t
    loss.backward()
    for leaf in (x, p, w):
        assert np.all(np.isfinite(leaf.grad))


def test_log_and_sqrt_outside_the_domain_follow_numpy_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Tensor([0.0, -1.0, 4.0]).log()
        assert out.data[0] == -np.inf and np.isnan(out.data[1])
        out = Tensor([-1.0, 4.0]).sqrt()
        assert np.isnan(out.data[0]) and out.data[1] == 2.0


def test_ndarray_on_the_left_defers_to_tensor():
    a = Tensor([1.0, 2.0], requires_grad=True)
    for out in (np.ones(2) + a, np.ones(2) * a, np.ones(2) - a, np.ones(2) / a, np.ones((3, 2)) @ a):
        assert isinstance(out, Tensor) and out.requires_grad
    (np.array([2.0, 3.0]) * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 3.0])


def test_no_grad_makes_plain_tensors():
    a = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        b = a * 2
    assert not b.requires_grad and b.parents == ()


def test_truth_value_only_for_a_single_element():
    assert Tensor([2.0])
    assert not Tensor(0.0)
    with pytest.raises(ValueError, match=r"bool: .*shape \(2,\) is ambiguous"):
        bool(Tensor([1.0, 2.0]))


def test_numpy_reads_a_tensor_as_its_data():
    t = Tensor([[1.0, 2.0]], requires_grad=True)
    view = np.asarray(t)
    assert np.shares_memory(view, t.data) and not view.flags.writeable
    c = Tensor([1.0, 2.0])
    assert np.asarray(c) is c.data and c.numpy() is c.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    copied = np.array(t)
    copied[0, 0] = 9.0
    assert t.data[0, 0] == 1.0


def test_mean_over_zero_elements_is_an_error_but_an_empty_result_is_fine(no_warnings):
    t = Tensor(np.zeros((0, 3)), requires_grad=True)
    for axis in (None, 0, (0, 1)):
        with pytest.raises(ValueError, match=r"mean: cannot average over zero elements \(shape \(0, 3\)"):
            t.mean(axis=axis)
    m = t.mean(axis=1)
    m.backward(gradient=np.ones(m.shape))
    assert m.shape == (0,) and t.grad.shape == (0, 3)


# ----------------------------------------------------------------------------- indexing as numpy


@pytest.mark.parametrize(
    "select, expected",
    [
        (lambda x: x[:, (0, 0)], [[2, 0, 0]] * 4),
        (lambda x: x[(-2, 2),], [[0, 0, 0], [0, 0, 0], [2, 2, 2], [0, 0, 0]]),
        (lambda x: x[[1, 1, 1], [2, 2, 0]], [[0, 0, 0], [1, 0, 2], [0, 0, 0], [0, 0, 0]]),
        (lambda x: x[range(2), 0], [[1, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]]),
        (lambda x: x[[0, 0]], [[2, 2, 2], [0, 0, 0], [0, 0, 0], [0, 0, 0]]),
        (lambda x: x[::-1][[0, -1]], [[1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1]]),
    ],
)
def test_sequences_inside_an_index_are_advanced_and_repeats_add_up(select, expected):
    x = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    y = select(x)
    np.testing.assert_array_equal(y.data, select(np.arange(12.0).reshape(4, 3)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, expected)


def test_boolean_masks_as_arrays_and_tensors_select_like_numpy():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    mask = np.array([True, False, True])
    for m in (mask, Tensor(mask), mask.tolist()):
        x.grad = None
        y = x[m]
        np.testing.assert_array_equal(y.data, x.data[mask])
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, [[1, 1], [0, 0], [1, 1]])
    z = x[x > 2]
    np.testing.assert_array_equal(z.data, [3.0, 4.0, 5.0])


# ----------------------------------------------------------------------------- Python protocols


def test_comparisons_are_elementwise_and_hashing_is_by_identity():
    t = Tensor([1.0, 2.0])
    eq = t == 1
    assert isinstance(eq, Tensor) and eq.dtype == np.bool_ and eq.data.tolist() == [True, False]
    assert (t != 1).data.tolist() == [False, True]
    assert (t < 2).data.tolist() == [True, False] and (t >= Tensor([2.0, 2.0])).data.tolist() == [False, True]
    assert len({t, Tensor([1.0, 2.0])}) == 2 and t in {t}
    assert 1.0 in t and 3.0 not in t


def test_iteration_and_len():
    t = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(t)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    sum(rows).sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones((3, 2)))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(Tensor(3.0))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(Tensor(3.0))


def test_the_gradient_of_a_0d_leaf_is_a_0d_array():
    x = Tensor(2.0, requires_grad=True)
    (x * x).backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad == 4.0
    (x * 3).backward()
    assert type(x.grad) is np.ndarray and x.grad == 7.0
    y = Tensor(np.ones(3), requires_grad=True)
    s = y.sum()
    s.backward()
    assert type(s.grad) is np.ndarray


# ----------------------------------------------------------------------------- zero local derivatives


def test_a_dead_relu_stops_an_infinite_gradient():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((8, 3)))
    w = Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w.data[:, 0] = -np.abs(w.data[:, 0]) * 0  # unit 0 is dead (pre-activation 0): sqrt'(0) = inf above it
    (x @ w).relu().sqrt().sum().backward()
    assert np.all(np.isfinite(w.grad))
    assert np.all(w.grad[:, 0] == 0)


def test_zero_exponents_and_zero_bases_follow_pytorch():
    x = Tensor([0.0, 1.0], requires_grad=True)
    (x**0).sqrt().sum().backward()  # sqrt'(1) finite; d/dx x**0 = 0
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    a = Tensor([0.0, 2.0], requires_grad=True)
    b = Tensor([-1.0, 0.0], requires_grad=True)
    (a**b).sum().backward()
    assert a.grad[0] == -np.inf and a.grad[1] == 0.0
    assert b.grad[0] == -np.inf and b.grad[1] == pytest.approx(np.log(2.0))
    m = Tensor([0.0, 0.0, -1.0], requires_grad=True)
    m.max().sqrt().backward()
    assert m.grad[2] == 0.0


def test_no_numpy_warning_escapes_forward_or_backward():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = Tensor([0.0, 1.0, -1.0], requires_grad=True)
        y = x.sqrt() + x.log() + 1.0 / x + x**-0.5 + (x * 1e308 * 10).exp()
        y.sum().backward()
        z = Tensor([0.0], requires_grad=True)
        z.sqrt().sum().backward()
        assert z.grad[0] == np.inf
