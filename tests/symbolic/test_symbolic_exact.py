"""Exact form: any network as its closed formula, equal to the network to rounding."""

import numpy as np
import pytest
import sympy

from annrl.errors import InputError
from annrl.labs.logic.compile import compile_function
from annrl.nn import MLP, ElmanRNN, Network
from annrl.symbolic import exact_form
from annrl.symbolic.boolean import gate

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "sin", "identity"]


@pytest.mark.parametrize("activation", ACTS)
def test_formula_equals_the_network_for_every_activation(activation):
    net = MLP([3, 4, 2], hidden=activation, output="identity", seed=1)
    before = net.flat_.copy()
    form = exact_form(net, inputs=["x", "y", "z"])
    assert np.array_equal(net.flat_, before)  # never mutates the network
    assert form.max_error < 1e-12 and len(form.expressions) == 2 == len(form.complexity)
    X = np.random.default_rng(5).normal(size=(50, 3)) * 3
    assert np.allclose(form.function()(X), np.asarray(net.predict(X))[0], rtol=0, atol=1e-12)


def test_population_index_picks_the_network():
    net = MLP([2, 3, 1], hidden="tanh", population=4, seed=2)
    X = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    for index in (0, 3):
        assert np.allclose(exact_form(net, index=index).function()(X), np.asarray(net.predict(X))[index], atol=1e-12)


def test_integer_weights_simplify_sigmoid_to_tanh():
    net = MLP([1, 1, 1], hidden="sigmoid", seed=0)
    net.params_["0.weight"][...] = 1.0
    net.params_["0.bias"][...] = 0.0
    net.params_["2.weight"][...] = 2.0
    net.params_["2.bias"][...] = -1.0
    form = exact_form(net, inputs=["x"])
    x = sympy.Symbol("x", real=True)
    assert form.expressions[0] == sympy.tanh(x / 2)  # 2 sigmoid(x) - 1
    assert form.rejected[0]["form"] == "raw" and form.rejected[0]["complexity"] > form.complexity[0]


def test_a_linear_network_collapses_to_its_product_of_weights():
    net = MLP([2, 3, 1], hidden="identity", seed=3)
    form = exact_form(net)
    a, b = sympy.symbols("a b", real=True)
    poly = sympy.Poly(form.expressions[0], a, b)
    assert poly.total_degree() == 1
    W = np.asarray(net.params_["0.weight"])[0] @ np.asarray(net.params_["2.weight"])[0]
    assert float(poly.coeff_monomial(a)) == pytest.approx(W[0, 0], abs=1e-12)
    assert float(poly.coeff_monomial(b)) == pytest.approx(W[1, 0], abs=1e-12)


def test_compiled_xor_is_an_exact_composition_of_steps():
    form = exact_form(compile_function(gate("xor")).net)
    expr = form.expressions[0]
    assert expr.has(sympy.Heaviside) and not expr.atoms(sympy.Float) and form.max_error == 0.0
    table = form.function()(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))[:, 0]
    assert table.tolist() == [0, 1, 1, 0]


def test_full_adder_has_one_formula_per_output():
    form = exact_form(compile_function(gate("full_adder")).net, inputs=["a", "b", "cin"], outputs=["s", "c"])
    assert form.outputs == ["s", "c"] and len(form.expressions) == 2 and form.max_error == 0.0


def test_exports_latex_and_python_source():
    net = MLP([2, 2, 1], hidden="tanh", seed=4)
    form = exact_form(net)
    assert r"\tanh" in form.latex()["y"]
    namespace: dict = {}
    exec(form.python_source("f"), namespace)  # our own generated code
    X = np.random.default_rng(1).uniform(-2, 2, size=(30, 2))
    (y,) = namespace["f"](X[:, 0], X[:, 1])
    assert np.allclose(y, np.asarray(net.predict(X))[0, :, 0], atol=1e-12)
    assert form.to_dict()["outputs"][0]["latex"] == form.latex()["y"]


def test_rounded_constants_report_their_error():
    net = MLP([2, 3, 1], hidden="tanh", seed=1)
    form = exact_form(net, digits=2)
    assert 1e-6 < form.max_error < 0.1
    assert all(len(str(c).rstrip("0").split(".")[-1]) <= 3 for c in form.expressions[0].atoms(sympy.Float))


def test_unsupported_layers_and_bad_arguments_are_input_errors():
    with pytest.raises(InputError):
        exact_form(Network([ElmanRNN(2, 3)], seed=0))
    with pytest.raises(InputError):
        exact_form(MLP([2, 1], seed=0), inputs=["a", "b", "c"])
    with pytest.raises(InputError):
        exact_form(MLP([2, 1], seed=0), index=1)
