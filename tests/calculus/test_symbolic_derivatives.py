"""SymPy derivatives against hand-derived ones, the chain rule in time, and lambdify."""

import importlib.util

import numpy as np
import pytest
import sympy
from sympy import cos, exp, sin

from annrl.calculus import FivePointStencil, gradient, hessian, jacobian, rate_symbol, time_derivative, to_numpy

x, y, t, a = sympy.symbols("x y t a")
xd, yd = rate_symbol("x"), rate_symbol("y")


def same(left, right):
    return sympy.simplify(sympy.Matrix(left) - sympy.Matrix(right)) == sympy.zeros(*sympy.Matrix(left).shape)


def test_gradient_by_hand():
    f = x**2 * y + sin(x * y)
    assert same(gradient(f, [x, y]), [2 * x * y + y * cos(x * y), x**2 + x * cos(x * y)])


def test_other_symbols_are_constants_and_variables_default_to_free_symbols():
    assert same(gradient(a * x**2, "x"), [2 * a * x])
    assert same(gradient(x * y**2), [y**2, 2 * x * y])  # alphabetical: x then y


def test_jacobian_of_the_lotka_volterra_field_by_hand():
    alpha, beta, gamma, delta = sympy.symbols("alpha beta gamma delta")
    field = [alpha * x - beta * x * y, delta * x * y - gamma * y]
    expected = [[alpha - beta * y, -beta * x], [delta * y, delta * x - gamma]]
    assert same(jacobian(field, [x, y]), expected)
    assert jacobian(field, [x, y]).shape == (2, 2)


def test_hessian_by_hand_and_symmetric():
    f = x**3 * y + exp(x * y)
    H = hessian(f, "x, y")
    expected = [
        [6 * x * y + y**2 * exp(x * y), 3 * x**2 + exp(x * y) + x * y * exp(x * y)],
        [3 * x**2 + exp(x * y) + x * y * exp(x * y), x**2 * exp(x * y)],
    ]
    assert same(H, expected)
    assert same(H, H.T)


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (x**2 * y, 2 * x * xd * y + x**2 * yd),
        (sin(x * y), cos(x * y) * (xd * y + x * yd)),
        (t * x, x + t * xd),  # explicit time is differentiated too
    ],
)
def test_chain_rule_by_hand(f, expected):
    assert sympy.simplify(time_derivative(f, [x, y]) - expected) == 0


def test_second_time_derivative_by_hand():
    assert sympy.simplify(time_derivative(x**2, "x", order=2) - (2 * xd**2 + 2 * x * rate_symbol("x", 2))) == 0


def test_chain_rule_agrees_with_differentiating_numbers():
    # Along x(t) = cos t, y(t) = sin 2t, compare d/dt f(x, y) with the 5-point stencil (error ~ h^4).
    f = x**2 * y + sin(x * y)
    rate = to_numpy(time_derivative(f, [x, y]), [x, y, xd, yd])
    times = np.linspace(0.0, 3.0, 601)
    path_x, path_y = np.cos(times), np.sin(2 * times)
    along = to_numpy(f, [x, y])(path_x, path_y)
    symbolic = rate(path_x, path_y, -np.sin(times), 2 * np.cos(2 * times))
    np.testing.assert_allclose(symbolic, FivePointStencil()(along, times), atol=1e-6)


def test_the_lotka_volterra_quantity_is_conserved_symbolically():
    alpha, beta, gamma, delta = sympy.symbols("alpha beta gamma delta", positive=True)
    V = delta * x - gamma * sympy.log(x) + beta * y - alpha * sympy.log(y)
    dVdt = time_derivative(V, [x, y]).subs({xd: alpha * x - beta * x * y, yd: delta * x * y - gamma * y})
    assert sympy.simplify(dVdt) == 0


def test_time_symbol_cannot_be_a_variable():
    with pytest.raises(ValueError, match="variables must not contain the time symbol 't'"):
        time_derivative(x * t, [x, t])


def test_lambdify_matches_sympy_at_random_points():
    f = x**2 * y + sin(x * y) + exp(-x)
    fast = to_numpy(f, [x, y])
    points = np.random.default_rng(0).normal(size=(20, 2))
    expected = [float(f.subs({x: px, y: py})) for px, py in points]
    np.testing.assert_allclose(fast(points[:, 0], points[:, 1]), expected, rtol=1e-12)


def test_lambdify_shapes_for_vectors_and_matrices():
    J = to_numpy(jacobian([x * y, x + 1], [x, y]), [x, y])
    xs = np.linspace(0.0, 1.0, 5)
    values = J(xs, 2.0)
    assert values.shape == (5, 2, 2)
    np.testing.assert_allclose(values[:, 0, 0], 2.0)  # d(xy)/dx = y
    np.testing.assert_allclose(values[:, 1], [[1.0, 0.0]] * 5)  # constants broadcast
    g = to_numpy(list(gradient(x**2 * y, [x, y])), [x, y])
    np.testing.assert_allclose(g(np.array([1.0, 2.0]), np.array([3.0, 4.0])), [[6.0, 1.0], [16.0, 4.0]])


def test_lambdify_refuses_unbound_symbols():
    with pytest.raises(ValueError, match="variables must include every free symbol, got a outside them"):
        to_numpy(a * x, [x])


@pytest.mark.skipif(importlib.util.find_spec("annrl.expr") is None, reason="annrl.expr is not written yet")
def test_text_goes_through_the_parser():
    assert same(gradient("x**2*y + sin(x*y)", "x y"), gradient(x**2 * y + sin(x * y), [x, y]))
    assert sympy.simplify(time_derivative("x**2*y", "x y") - (2 * x * xd * y + x**2 * yd)) == 0
    assert to_numpy("x*y", "x y")(2.0, 3.0) == pytest.approx(6.0)
    assert same(gradient("a*x**2", "x"), [2 * a * x])  # other names are constants
