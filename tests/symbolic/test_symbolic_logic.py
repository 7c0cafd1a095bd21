"""Logic extraction: trained and compiled networks read back as their exact Boolean functions."""

import numpy as np
import pytest
import sympy

from annrl.errors import InputError
from annrl.labs.logic.compile import compile_function
from annrl.labs.logic.lab import LogicConfig, learn
from annrl.nn import MLP, ActivationLayer, Dense, Network
from annrl.symbolic import extract_logic
from annrl.symbolic.boolean import from_formulas, from_table, gate, parse_function


def same_function(formula, fn, j=0):
    """The formula's truth table (over all of fn's inputs) equals fn's column j."""
    table = from_formulas([formula], inputs=fn.inputs).table[:, 0] if formula.free_symbols else \
        np.full(len(fn.table), bool(formula))
    return np.array_equal(table, fn.table[:, j])


def trained(fn, hidden, seed=0):
    config = LogicConfig(seeds=8, epochs=1500, activation="tanh", lr=0.1, momentum=0.9)
    run, _ = learn(fn, hidden, config, np.random.default_rng(seed))
    assert run.solved.any()
    return run.net, int(np.flatnonzero(run.solved)[0])


@pytest.mark.parametrize("name, hidden", [("xor", 2), ("majority3", 2), ("full_adder", 3)])
def test_trained_gates_are_recovered_exactly(name, hidden):
    fn = gate(name)
    net, index = trained(fn, hidden)
    before = net.flat_.copy()
    result = extract_logic(net, inputs=list(fn.inputs), index=index)
    assert np.array_equal(net.flat_, before)  # never mutates the network
    assert result.reading == "logit" and result.method == "enumeration"
    for j in range(len(fn.outputs)):
        assert same_function(result.outputs[j].formula, fn, j)
    assert result.exact and result.error_bound == 0.0
    assert len(result.neurons) == hidden


def test_full_adder_carry_is_majority_and_sum_is_parity():
    fn = gate("full_adder")
    net, index = trained(fn, 3)
    carry = extract_logic(net, inputs=list(fn.inputs), index=index).outputs[1].formula
    a, b, cin = sympy.symbols("a b cin")
    assert sympy.simplify_logic(carry ^ ((a & b) | (a & cin) | (b & cin))) == sympy.false


def test_xor_formula_is_minimal_and_rejects_the_other_form():
    out = extract_logic(compile_function(gate("xor")).net, inputs=["a", "b"]).outputs[0]
    assert out.complexity == sympy.count_ops(out.formula)
    assert out.to_dict()["rejected"][0]["complexity"] >= out.complexity
    assert out.relevant == ["a", "b"] and out.margin == 1.0 and out.consistent


@pytest.mark.parametrize("n", [4, 5, 6])
def test_random_functions_from_compiled_networks(n):
    rng = np.random.default_rng(n)
    names = [f"x{i}" for i in range(n)]
    fn = from_table(names, rng.random(2**n) < 0.5)
    result = extract_logic(compile_function(fn).net, inputs=names)
    assert same_function(result.outputs[0].formula, fn) and result.consistent and result.exact


def test_random_four_input_function_from_a_trained_network():
    rng = np.random.default_rng(3)
    fn = from_table(["a", "b", "c", "d"], rng.random(16) < 0.5)
    net, index = trained(fn, 4, seed=1)
    assert same_function(extract_logic(net, inputs=list(fn.inputs), index=index).outputs[0].formula, fn)


def hand_built(n, relevant):
    """(x[r0] & x[r1]) | (x[r2] & ~x[r3]) on n inputs, as a step network."""
    net = Network([Dense(n, 2), ActivationLayer("step"), Dense(2, 1), ActivationLayer("step")], seed=0)
    w = np.zeros((n, 2))
    w[relevant[0], 0] = w[relevant[1], 0] = 1.0
    w[relevant[2], 1], w[relevant[3], 1] = 1.0, -1.0
    net.params_["0.weight"][0] = w
    net.params_["0.bias"][0] = [-1.5, -0.5]
    net.params_["2.weight"][0] = [[1.0], [1.0]]
    net.params_["2.bias"][0] = [-0.5]
    return net


def test_twelve_inputs_are_enumerated_and_irrelevant_ones_dropped():
    result = extract_logic(hand_built(12, [0, 5, 7, 11]))
    out = result.outputs[0]
    assert result.method == "enumeration" and result.rows_read == 4096
    assert out.relevant == ["a", "f", "h", "l"]
    assert sympy.simplify_logic(out.formula ^ sympy.sympify("(a & f) | (h & ~l)")) == sympy.false


def test_above_the_limit_the_function_is_sampled_with_a_stated_bound():
    result = extract_logic(hand_built(20, [2, 3, 13, 19]), samples=500, rng=np.random.default_rng(0))
    out = result.outputs[0]
    assert result.method == "sampling" and out.relevant == ["c", "d", "n", "t"]
    assert sympy.simplify_logic(out.formula ^ sympy.sympify("(c & d) | (n & ~t)")) == sympy.false
    assert out.disagreements == 0 and result.checked_rows == 500
    assert result.error_bound == pytest.approx(1 - 0.05 ** (1 / 500)) and result.error_bound < 0.01
    assert "16 inputs skipped" in result.notes[0]  # zero first-layer weights: never evaluated
    assert result.rows_read < 2**20


def test_an_output_near_one_half_is_reported_inconsistent():
    net = MLP([2, 2, 1], hidden="tanh", output="sigmoid", seed=0)
    net.params_["2.weight"][...] = 0.01  # output ~ sigmoid(0) = 0.5 on every row
    net.params_["2.bias"][...] = 0.0
    result = extract_logic(net)
    assert result.reading == "probability" and not result.consistent
    assert result.outputs[0].margin < 0.05 and result.outputs[0].uncertain_rows == 4


def test_mse_trained_xor_reads_as_probability():
    fn = parse_function("a ^ b")
    net = MLP([2, 2, 1], hidden="sigmoid", output="identity", seed=0)
    net.params_["0.weight"][0] = [[6.0, 4.0], [6.0, 4.0]]
    net.params_["0.bias"][0] = [-2.5, -6.0]
    net.params_["2.weight"][0] = [[1.0], [-1.0]]
    net.params_["2.bias"][0] = [0.0]
    result = extract_logic(net)
    assert result.reading == "probability" and same_function(result.outputs[0].formula, fn)


def test_bad_arguments_are_input_errors():
    net = compile_function(gate("xor")).net
    with pytest.raises(InputError):
        extract_logic(net, inputs=["a"])
    with pytest.raises(InputError):
        extract_logic(net, reading="fuzzy")
