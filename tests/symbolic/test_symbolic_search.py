"""Formula search (issue #26): benchmark formulas from data, honest failures, the user's names, no eval."""

import builtins
import json

import numpy as np
import pytest
import sympy

from annrl.errors import EXIT_BAD_INPUT, InputError
from annrl.io.network_file import save_network
from annrl.nn import MLP
from annrl.symbolic import extract_formula, fit_formula, formula_inputs
from annrl.symbolic.cli import EXIT_NO_FORMULA
from annrl.symbolic.search.base import OPS, evaluate, to_sympy
from annrl.symbolic.search.separable import Oracle, separable, symmetric

FAST = {"per_level": 200, "max_seconds": 10}  # a fast budget: the benchmark runs the defaults

# id: (truth as SymPy of plain symbols named below, NumPy function, domain, names)
BENCHMARK = {
    "Nguyen-8 sqrt(x)": ("sqrt(x)", lambda X: np.sqrt(X[:, 0]), [(0, 4)], ["x"]),
    "Nguyen-5": ("sin(x**2)*cos(x) - 1", lambda X: np.sin(X[:, 0] ** 2) * np.cos(X[:, 0]) - 1, [(-1, 1)], ["x"]),
    "Feynman I.12.4": ("q1/(4*pi*epsilon*r**2)", lambda X: X[:, 0] / (4 * np.pi * X[:, 1] * X[:, 2] ** 2),
                       [(1, 5)] * 3, ["q1", "epsilon", "r"]),
    "Feynman I.26.2": ("asin(n*sin(theta2))", lambda X: np.arcsin(X[:, 0] * np.sin(X[:, 1])), [(0, 1), (1, 5)],
                       ["n", "theta2"]),
}


def sample(f, domain, n=300, seed=0):
    low, high = np.array(domain, dtype=float).T
    X = np.random.default_rng(seed).uniform(low, high, size=(n, len(domain)))
    return X, f(X)


def same(expr, text, names):
    from annrl.expr import parse_expression

    plain = expr.subs({s: sympy.Symbol(s.name) for s in expr.free_symbols})
    return sympy.simplify(plain - parse_expression(text, names)) == 0


@pytest.mark.parametrize("name", list(BENCHMARK))
def test_benchmark_formulas_come_back_exactly_from_data(name):
    text, f, domain, names = BENCHMARK[name]
    X, y = sample(f, domain)
    result = fit_formula(X, y, inputs=names, **FAST)
    assert same(result.expression, text, names), result.expression
    assert result.recovered and result.relative_error < 1e-9
    assert result.inputs == names and result.chosen in result.front


@pytest.mark.slow
def test_separability_and_symmetry_guide_the_search():
    # m0 / sqrt(1 - v^2/c^2) needs a tree the direct searches do not reach: m0 splits off, v/c is one variable.
    # The benchmark's 300 points; on some other samples the split ends in a series within the tolerance
    # (recovered, not exact), because the factor read off the interpolant's slice is not exactly m0's.
    X, y = sample(lambda X: X[:, 0] / np.sqrt(1 - X[:, 1] ** 2 / X[:, 2] ** 2), [(1, 5), (1, 2), (3, 10)], 300)
    result = fit_formula(X, y, inputs=["m_0", "v", "c"])
    assert same(result.expression, "m_0/sqrt(1 - v**2/c**2)", ["m_0", "v", "c"]), result.expression
    assert result.recovered and "multiplicatively separable in m_0" in result.guidance
    assert any(g.startswith("ratio symmetric") for g in result.guidance)


@pytest.mark.slow
def test_a_trained_network_of_two_inputs_gives_back_its_product():
    from annrl.nn.lbfgs import fit_lbfgs

    X, y = sample(lambda X: 2 * np.sin(X[:, 0]) * np.cos(X[:, 1]), [(0, 1), (0, 1)], 200)
    net = MLP([2, 16, 1], hidden="tanh", init="torch", seed=0)
    fit_lbfgs(net, X, y[:, None], until=1e-9, max_iter=2000)
    before = net.flat_.copy()
    result = extract_formula(net, domain=[(0, 1), (0, 1)], X_data=X, y_data=y, **FAST)
    assert np.array_equal(net.flat_, before)  # never mutates the network
    assert same(result.expression, "2*sin(x)*cos(y)", ["x", "y"]), result.expression
    assert result.recovered and result.tolerance == 1e-2 and result.data_error < 1e-12


def test_noise_is_no_formula_and_says_so():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(300, 2))
    result = fit_formula(X, rng.normal(size=300), **FAST)
    assert not result.recovered and result.relative_error > 0.5
    line = result.summary()
    assert line.startswith("no formula within 0.001; best approximation: ") and "error" in line
    assert "\n" not in line and result.to_dict()["recovered"] is False


def wiggly_network():
    net = MLP([1, 24, 1], hidden="sin", seed=5)
    net.params_["0.weight"][...] *= 12.0  # high, unrelated frequencies: no short formula
    return net


def run_cli(argv):
    import argparse

    from annrl.symbolic import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["extract", *argv])
    return args.handler(args)


def test_cli_exits_with_its_own_code_and_one_line_when_nothing_fits(tmp_path, capsys):
    path = save_network(tmp_path / "wiggly.safetensors", wiggly_network())
    out = tmp_path / "out"
    code = run_cli([str(path), "--kind", "formula", "--no-figures", "--max-seconds", "5", "--out", str(out)])
    printed = capsys.readouterr().out.strip()
    assert code == EXIT_NO_FORMULA == 3 and EXIT_NO_FORMULA != EXIT_BAD_INPUT
    assert len(printed.splitlines()) == 1
    assert printed.startswith("annrl: no formula within 0.01; best approximation: ") and " error " in printed
    assert json.loads((out / "metrics.json").read_text())["recovered"] is False


def test_names_come_from_the_file_and_inputs_overrides(tmp_path, capsys):
    from annrl.nn.lbfgs import fit_lbfgs

    X, y = sample(lambda X: X[:, 0] ** 2, [(-1, 1)], 200)
    net = MLP([1, 12, 1], hidden="tanh", init="torch", seed=0)
    fit_lbfgs(net, X, y[:, None], until=1e-9, max_iter=2000)
    path = save_network(tmp_path / "m.safetensors", net, {"inputs": ["speed"]})
    common = ["--kind", "formula", "--no-figures", "--json", "--out", str(tmp_path / "out")]
    assert run_cli([str(path), *common]) == 0
    assert json.loads(capsys.readouterr().out)["expression"] == "speed**2"
    assert run_cli([str(path), "--inputs", "p", *common]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["expression"] == "p**2" and metrics["inputs"] == ["p"] and metrics["recovered"]
    assert formula_inputs(2) == ["x", "y"] and formula_inputs(3) == ["x", "y", "z"]
    assert formula_inputs(4) == ["x1", "x2", "x3", "x4"]
    with pytest.raises(InputError, match="inputs"):
        run_cli([str(path), "--inputs", "import", *common])


def test_trees_are_built_from_the_table_and_nothing_is_evaluated_from_text(monkeypatch):
    tree = ("add", ("sin", ("var", 0)), ("mul", ("const", 2), ("square", ("var", 1))))
    X = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    x, y = sympy.symbols("x y")
    assert to_sympy(tree, [x, y]) == sympy.sin(x) + 2 * y**2
    assert np.allclose(evaluate(tree, X), np.sin(X[:, 0]) + 2 * X[:, 1] ** 2, rtol=0, atol=1e-15)
    assert all(op.complexity >= 1 and op.arity in (1, 2) for op in OPS.values())

    def forbidden(*args, **kwargs):
        raise AssertionError("text was evaluated")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden)
    Xs, ys = sample(lambda X: np.sin(X[:, 0]) + X[:, 1] ** 2, [(-1, 1), (-1, 1)], 200)
    assert fit_formula(Xs, ys, **FAST).recovered


def test_separability_and_symmetry_tests():
    rng = np.random.default_rng(0)
    product = Oracle(lambda X: np.sin(X[:, 0]) * np.exp(X[:, 1]), [(0, 1), (0, 1)])
    assert separable(product, [0], "mul", rng) < 1e-12 and separable(product, [0], "add", rng) > 0.01
    total = Oracle(lambda X: np.sin(X[:, 0]) + np.exp(X[:, 1]), [(0, 1), (0, 1)])
    assert separable(total, [0], "add", rng) < 1e-12 and separable(total, [0], "mul", rng) > 1e-3
    ratio = Oracle(lambda X: np.sqrt(1 - (X[:, 0] / X[:, 1]) ** 2), [(1, 2), (3, 10)])
    assert symmetric(ratio, 0, 1, "ratio", rng) < 1e-12 and symmetric(ratio, 0, 1, "difference", rng) > 0.01


def test_bad_arguments_are_input_errors():
    X = np.zeros((20, 1))
    with pytest.raises(InputError, match="tolerance"):
        fit_formula(X, X[:, 0], tolerance=2.0)
    with pytest.raises(InputError, match="finite"):
        fit_formula(np.full((20, 1), np.nan), X[:, 0])
    with pytest.raises(InputError, match="Network or a pair"):
        extract_formula("model.safetensors")
