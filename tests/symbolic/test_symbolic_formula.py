"""Formula extraction: trained networks of 1-2 inputs read back as their closed forms."""

import numpy as np
import pytest
import sympy

from annrl.errors import InputError
from annrl.nn import MLP
from annrl.nn.lbfgs import fit_lbfgs
from annrl.symbolic import extract_formula, fit_formula
from annrl.symbolic.library import build_library, fit_frequency

x, y = sympy.symbols("x y", real=True)

CASES = {
    "sin(x)": (lambda X: np.sin(X[:, 0]), [(-3.0, 3.0)], sympy.sin(x)),
    "x^2 + y^2": (lambda X: X[:, 0] ** 2 + X[:, 1] ** 2, [(-1.0, 1.0), (-1.0, 1.0)], x**2 + y**2),
    "exp(-x^2)": (lambda X: np.exp(-X[:, 0] ** 2), [(-2.0, 2.0)], sympy.exp(-(x**2))),
    "x sin(x)": (lambda X: X[:, 0] * np.sin(X[:, 0]), [(-3.0, 3.0)], x * sympy.sin(x)),
}


def trained(f, domain, seed=0):
    rng = np.random.default_rng(seed)
    low, high = np.array(domain).T
    X = rng.uniform(low, high, size=(200, len(domain)))
    Y = f(X)[:, None]
    net = MLP([len(domain), 16, 1], hidden="tanh", init="torch", seed=seed)
    fit_lbfgs(net, X, Y, until=1e-7, max_iter=1000)
    return net, X, Y[:, 0]


@pytest.mark.parametrize("name", list(CASES))
def test_trained_networks_give_back_their_formula(name):
    f, domain, truth = CASES[name]
    net, X, y = trained(f, domain)
    before = net.flat_.copy()
    result = extract_formula(net, domain=domain, X_data=X, y_data=y)
    assert np.array_equal(net.flat_, before)  # never mutates the network
    assert sympy.simplify(result.expression - truth) == 0, result.expression
    assert result.error < 2e-3 and result.data_error < 1e-12  # the truth, so exact on the data
    assert result.complexity == sympy.count_ops(result.expression)
    front = result.front
    assert all(p.complexity < q.complexity and p.error > q.error for p, q in zip(front, front[1:], strict=False))
    assert result.rejected and result.chosen in front


def test_coefficients_and_frequency_are_fitted_then_rounded():
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, size=(400, 1))
    y = 2.5 * np.sin(1.5 * X[:, 0]) - 0.7 * X[:, 0] ** 2
    result = fit_formula(X, y, inputs=["x"])
    x = sympy.Symbol("x", real=True)
    assert sympy.simplify(result.expression - (sympy.Rational(5, 2) * sympy.sin(3 * x / 2) - 0.7 * x**2)) == 0
    assert result.error < 1e-9
    assert {r["term"] for r in result.rounded} >= {"x**2"}


def test_frequency_fit_finds_and_rounds_the_frequency():
    x = np.linspace(-3, 3, 300)
    w, residual = fit_frequency(x, np.cos(2.0 * x) + 0.3)
    assert w == 2.0 and residual < 1e-20
    w, _ = fit_frequency(x, x * np.sin(0.5 * x), times_x=True)
    assert w == 0.5


def test_library_has_the_primitives_with_complexities():
    X = np.random.default_rng(0).uniform(0.1, 2, size=(50, 2))
    names = [t.name for t in build_library(["a", "b"], X, X[:, 0] ** 2, degree=2)]
    for expected in ["1", "a", "b", "a**2", "a*b", "exp(a)", "exp(-a**2)", "log(b)"]:
        assert expected in names


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError):
        fit_formula(np.zeros((10, 4)), np.zeros(10))
    with pytest.raises(InputError):
        extract_formula(MLP([2, 1], seed=0), domain=[(-1, 1)])
