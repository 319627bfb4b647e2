"""The one graph walk shared by Value and Tensor: order, accumulation, depth, no_grad."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from autograd import Tensor, Value, backpropagate, graph, is_grad_enabled, no_grad, topological_order


def assert_parents_first(order):
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node is listed twice"
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]


# ----------------------------------------------------------------------------- topological order


def test_topological_order_is_deterministic_and_in_argument_order():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    order = topological_order(d)
    assert [n.label for n in order] == ["a", "b", "c", "d"]
    assert_parents_first(order)
    # the same graph built again gives the same order
    assert [n.label for n in topological_order(d)] == ["a", "b", "c", "d"]


def test_topological_order_lists_every_reachable_node_once_after_its_parents():
    xs = [Value(float(i), label=f"x{i}") for i in range(6)]
    h1 = xs[0] * xs[1] + xs[2]
    h2 = (h1 * xs[3]).tanh() + h1
    h3 = h2 * xs[4] - h1 * xs[5]
    out = h3 * h2 + h1
    order = topological_order(out)
    assert order[-1] is out
    assert_parents_first(order)
    assert {id(x) for x in xs} <= {id(n) for n in order}
    labels = [n.label for n in order]
    assert [lbl for lbl in labels if lbl] == ["x0", "x1", "x2", "x3", "x4", "x5"]


def test_topological_order_for_tensors():
    a = Tensor(np.ones((2, 3)), requires_grad=True, label="a")
    b = Tensor(np.ones(3), label="b")  # a constant leaf still appears as a parent
    c = a * b
    d = (c + a).sum()
    order = topological_order(d)
    assert_parents_first(order)
    assert order[0] is a and order[1] is b and order[-1] is d
    assert len(order) == 5


def test_backpropagate_returns_the_order_and_seeds_the_root():
    x = Value(3.0)
    y = x * x
    order = backpropagate(y, 2.0)
    assert order == topological_order(y)
    assert y.grad == 2.0
    assert x.grad == 12.0


def test_on_step_sees_every_node_once_in_reversed_order_after_its_backprop():
    a, b = Value(2.0), Value(-3.0)
    e = a * b
    y = (e + a).tanh()
    seen = []
    order = backpropagate(y, 1.0, on_step=lambda node: seen.append((node, node.grad, a.grad, b.grad)))
    assert [node for node, *_ in seen] == order[::-1]  # leaves included
    # the root's step comes after tanh's backprop: its input e + a already holds the gradient
    assert seen[0][1] == 1.0 and order[-2].grad == seen[0][1] * (1.0 - y.data**2)
    # at e's step (after e + a's), e has sent to a and b; a's step comes last of all
    at_e = next(s for s in seen if s[0] is e)
    assert at_e[3] == b.grad and at_e[2] == a.grad
    assert seen[-1][0] in (a, b) and seen[-1][2:] == (a.grad, b.grad)
    # without the hook the walk computes the same gradients
    grads = [node.grad for node in order]
    a.grad = b.grad = 0.0
    backpropagate(y, 1.0)
    assert [node.grad for node in order] == grads


# ----------------------------------------------------------------------------- parents


def test_parents_are_in_argument_order():
    x, y = Value(2.0), Value(5.0)
    assert (x * y).parents == (x, y)
    assert (y * x).parents == (y, x)
    assert (x + y).parents == (x, y)
    assert (x**y).parents == (x, y)
    d1, d2 = x - y, y - x
    assert d1.data == -3.0 and d2.data == 3.0
    assert d1.parents[0] is x and d1.parents[1].parents == (y,)
    assert d2.parents[0] is y and d2.parents[1].parents == (x,)

    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    assert (a - b).parents == (a, b)
    assert (b - a).parents == (b, a)
    assert (a @ b).parents == (a, b)
    assert (b / a).parents == (b, a)


def test_constant_operands_are_kept_on_the_node_not_as_parents():
    x = Value(2.0)
    y = x * 3.0
    assert y.parents == (x,)
    assert y.op.name == "mul_const"
    assert y._b == 3.0
    z = 2.0**x
    assert z.parents == (x,) and z.op.name == "rpow_const"


# ----------------------------------------------------------------------------- graph shapes


def test_shared_subexpression_value():
    x = Value(1.5)
    s = x * x  # used twice below
    y = s * s + s  # x^4 + x^2
    y.backward()
    assert y.data == pytest.approx(1.5**4 + 1.5**2)
    assert x.grad == pytest.approx(4 * 1.5**3 + 2 * 1.5)
    assert s.grad == pytest.approx(2 * 1.5**2 + 1)


def test_a_node_used_many_times():
    x = Value(1.1)
    y = x
    for _ in range(9):
        y = y * x  # x ** 10
    y.backward()
    assert y.data == pytest.approx(1.1**10)
    assert x.grad == pytest.approx(10 * 1.1**9)

    w = x + x + x + x + x  # the same parent in both slots of the first add
    w2 = x + x
    assert w2.parents == (x, x)
    z = w * 1.0
    x.grad = 0.0
    z.backward()
    assert x.grad == 5.0


def test_diamond_value():
    x = Value(0.7)
    a = x.tanh()
    b = a * 2.0
    c = a.exp()
    d = b * c  # two paths from d back to a
    d.backward()
    t = np.tanh(0.7)
    da = 2 * np.exp(t) + 2 * t * np.exp(t)
    assert a.grad == pytest.approx(da)
    assert x.grad == pytest.approx(da * (1 - t * t))


def test_diamond_tensor():
    x = Tensor([0.2, -0.4, 0.9], requires_grad=True)
    a = x.tanh()
    d = ((a * 2.0) * a.exp()).sum()
    d.backward()
    t = np.tanh(x.data)
    expected = (2 * np.exp(t) + 2 * t * np.exp(t)) * (1 - t * t)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_shared_subexpression_tensor():
    x = Tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True)
    s = x * x
    y = (s * s + s).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * x.data**3 + 2 * x.data, rtol=1e-12)


def test_same_tensor_in_both_operand_slots():
    x = Tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)
    x.grad = None
    (x - x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


# ----------------------------------------------------------------------------- depth


def test_value_chain_of_100000_nodes():
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y = y * 3.0
    y.backward()
    assert y.data == 1.5
    assert x.grad == 3.0


def test_tensor_chain_of_100000_nodes():
    x = Tensor([0.5, -1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [100_000.5, 99_999.0])
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_value_chain_of_a_million_nodes_at_the_default_recursion_limit():
    limit = sys.getrecursionlimit()
    assert limit <= 1_000, "the walk must not rely on a raised recursion limit"
    x = Value(0.25)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert y.data == 1_000_000.25
    assert x.grad == 1.0
    assert len(topological_order(y)) == 1_000_001
    del y  # freeing a million-deep chain must not overflow the C stack either


# ----------------------------------------------------------------------------- repeated backward


def test_leaf_grads_accumulate_and_intermediates_do_not_double_count_value():
    # micrograd issue #53: a second backward doubled the intermediate gradients
    x = Value(2.0)
    h = x * x
    y = h * 3.0 + h
    y.backward()
    assert x.grad == 16.0 and h.grad == 4.0 and y.grad == 1.0
    y.backward()
    assert x.grad == 32.0  # leaves accumulate until zeroed
    assert h.grad == 4.0  # intermediates hold this pass's gradient
    assert y.grad == 1.0
    x.grad = 0.0
    y.backward()
    assert x.grad == 16.0


def test_leaf_grads_accumulate_and_intermediates_do_not_double_count_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = (h * 3.0 + h).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [8.0, 16.0])
    np.testing.assert_array_equal(h.grad, [4.0, 4.0])
    y.backward()
    np.testing.assert_array_equal(x.grad, [16.0, 32.0])
    np.testing.assert_array_equal(h.grad, [4.0, 4.0])
    assert y.grad == 1.0


def test_graph_is_kept_after_backward():
    x, w = Value(1.0), Value(-2.0)
    y = (x * w).tanh()
    y.backward()
    assert y.parents[0].parents == (x, w)
    assert y.op.name == "tanh"
    g1 = x.grad
    x.grad = w.grad = 0.0
    y.backward()
    assert x.grad == g1

    a = Tensor([1.0, 2.0], requires_grad=True)
    s = (a * a).sum()
    s.backward()
    assert s.parents[0].parents == (a, a)
    a.grad = None
    s.backward()
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])


def test_backward_from_a_leaf():
    x = Value(4.0)
    x.backward()
    assert x.grad == 1.0
    t = Tensor(2.0, requires_grad=True)
    t.backward()
    assert t.grad == 1.0


# ----------------------------------------------------------------------------- no_grad


def test_no_grad_records_nothing():
    x = Value(2.0)
    a = Tensor([1.0, 2.0], requires_grad=True)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = (x * x + 1.0).tanh() * Value(3.0)
        z = (a * a).sum()
        assert y.parents == () and y.op is None
        assert not z.requires_grad and z.parents == () and z.op is None
        assert y.data == pytest.approx(np.tanh(5.0) * 3.0)
        assert z.item() == 5.0
    assert is_grad_enabled()
    assert (x * x).parents == (x, x)
    assert (a * a).requires_grad


def test_no_grad_restores_the_flag_after_an_exception():
    with pytest.raises(ZeroDivisionError), no_grad():
        raise ZeroDivisionError("boom")
    assert is_grad_enabled() and graph.FAST is True


def test_no_grad_nests():
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_tensors_without_requires_grad_record_nothing():
    a, b = Tensor([1.0]), Tensor([2.0])
    c = a * b + 1.0
    assert not c.requires_grad and c.parents == ()
    with pytest.raises(RuntimeError, match="backward"):
        c.sum().backward()


# ----------------------------------------------------------------------------- grad mode per thread


def test_grad_mode_is_per_thread():
    import threading

    from autograd import Tensor

    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def worker():
        with no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = (Tensor([1.0], requires_grad=True) * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    # the worker is inside no_grad: this thread still records
    seen["main"] = (Tensor([1.0], requires_grad=True) * 2).requires_grad
    seen["main_enabled"] = is_grad_enabled()
    release.set()
    t.join(5)
    assert seen == {"worker": False, "main": True, "main_enabled": True}
    assert graph.FAST is True


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on():
    import threading

    from autograd import Value

    barrier = threading.Barrier(2)

    def worker(first):
        with no_grad():
            barrier.wait(5)
            if first:
                barrier.wait(5)  # leave after the other thread has left
        if not first:
            barrier.wait(5)

    threads = [threading.Thread(target=worker, args=(k == 0,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    x = Value(3.0)
    y = x * x
    y.backward()
    assert x.grad == 6.0 and is_grad_enabled() and graph.FAST


def test_enable_grad_inside_no_grad_and_set_grad_enabled():
    from autograd import Tensor, enable_grad, set_grad_enabled

    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        assert not (x * 2).requires_grad
        with enable_grad():
            assert (x * 2).requires_grad
        with set_grad_enabled(True):
            assert is_grad_enabled()
    with set_grad_enabled(False):
        assert not is_grad_enabled()

    @no_grad()
    def f():
        return (x * 2).requires_grad

    assert f() is False and is_grad_enabled()
