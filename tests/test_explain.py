import numpy as np
import pytest
from graphs import batchnorm, broadcasting, scalar_diamond, scalar_shared

from autograd import Tensor, Value, explain_gradient
from autograd.graphinfo import all_gradients


@pytest.mark.parametrize("name", ["x", "y", "a", "b", "c"])
def test_paths_sum_to_the_gradient_with_shared_subexpressions(name):
    loss, names = scalar_shared()
    e = explain_gradient(loss, names[name])
    _, grads = all_gradients(loss)
    assert not e.truncated and len(e.paths) == e.path_count
    assert sum(p.product for p in e.paths) == pytest.approx(grads[id(names[name])], rel=1e-12)
    assert e.total == grads[id(names[name])]
    for p in e.paths:
        assert p.nodes[0] is names[name] and p.nodes[-1] is loss and len(p.nodes) == len(p.edges) + 1
        assert p.product == pytest.approx(np.prod(p.derivatives), rel=1e-15)


def test_each_edge_carries_its_local_derivative():
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    a = x * y
    a.label = "a"
    z = a + x
    z.label = "z"
    e = explain_gradient(z, x)
    assert e.path_count == 2
    routes = sorted((tuple(n.label for n in p.nodes), tuple(p.derivatives)) for p in e.paths)
    assert routes == [(("x", "a", "z"), (-3.0, 1.0)), (("x", "z"), (1.0,))]
    text = str(e)
    assert text.startswith("dz/dx = the sum over 2 paths from x to z of the product of the local derivatives")
    assert "x → a (mul) → z (add):  ∂a/∂x · ∂z/∂a = (-3) · 1 = (-3)" in text
    assert text.endswith("dz/dx = 1 + (-3) = (-2)  (backward gives (-2))")


def test_a_node_used_twice_by_one_op_opens_two_paths():
    x = Value(3.0, "x")
    y = x * x
    y.label = "y"
    e = explain_gradient(y, "x")
    assert e.path_count == 2 and [p.edges[0][1] for p in e.paths] == [0, 1]
    assert "y (mul, argument 1)" in str(e) and "y (mul, argument 2)" in str(e)
    assert e.total == 6.0


def test_exploding_path_counts_are_capped_with_a_message():
    top, names = scalar_diamond(depth=12)
    e = explain_gradient(top, names["x"], max_paths=5)
    assert e.path_count == 2**12 and len(e.paths) == 5 and e.truncated
    _, grads = all_gradients(top)
    assert e.total == grads[id(names["x"])]
    text = str(e)
    assert "x reaches top along 4,096 paths: only the first 5 are listed (max_paths=5)" in text
    assert "backward does this without listing them, visiting each node once" in text
    assert "... 18 more ..." in text  # a 24-edge path is shown with its middle left out
    full = explain_gradient(top, names["x"], max_paths=5000)
    assert sum(p.product for p in full.paths) == pytest.approx(full.total, rel=1e-12)


def test_one_element_of_a_tensor_leaf():
    loss, names = broadcasting()
    a = names["a"]
    _, grads = all_gradients(loss)
    for element in [(0, 0), (2, 3), (-1, 1)]:
        e = explain_gradient(loss, a, element=element)
        assert e.path_count >= 3  # a is used twice in s, and again by sqrt(a * a)
        assert sum(p.product for p in e.paths) == pytest.approx(grads[id(a)][element], rel=1e-12)
        assert isinstance(e.paths[0].product, float)
    e = explain_gradient(loss, a, element=(2, 3))
    text = str(e)
    assert text.startswith("dloss/da[2, 3] = the sum over")
    assert "the chain of vector-Jacobian products" in text and "backward gives" in text


def test_a_whole_tensor_sums_as_arrays():
    loss, names = broadcasting()
    e = explain_gradient(loss, "b")
    _, grads = all_gradients(loss)
    np.testing.assert_allclose(sum(p.product for p in e.paths), grads[id(names["b"])], rtol=1e-12)
    assert e.paths[0].product.shape == (4,)


def test_the_deeper_network():
    loss, nodes = batchnorm()
    _, grads = all_gradients(loss)
    e = explain_gradient(loss, nodes["bndiff"], element=(3, 2))
    assert e.path_count > 2
    assert sum(p.product for p in e.paths) == pytest.approx(grads[id(nodes["bndiff"])][3, 2], rel=1e-9, abs=1e-15)


def test_grads_are_left_alone():
    loss, names = scalar_shared()
    names["x"].grad = 42.0
    explain_gradient(loss, names["x"])
    assert names["x"].grad == 42.0


def test_errors():
    loss, names = scalar_shared()
    with pytest.raises(ValueError, match="node is not part of root's graph"):
        explain_gradient(loss, Value(1.0))
    with pytest.raises(ValueError, match="max_paths must be a positive integer"):
        explain_gradient(loss, names["x"], max_paths=0)
    w = Tensor(np.ones((2, 2)), requires_grad=True, label="w")
    c = Tensor(np.ones(2), label="c")
    out = (w * c).sum()
    with pytest.raises(IndexError, match=r"element \(2, 0\) is not an element of a tensor of shape \(2, 2\)"):
        explain_gradient(out, w, element=(2, 0))
    with pytest.raises(ValueError, match="node does not require grad"):
        explain_gradient(out, c)
    with pytest.raises(ValueError, match="no node of the graph is named 'v'"):
        explain_gradient(out, "v")
