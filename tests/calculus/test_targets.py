"""Targets of the approximation lab: catalogue, safe expressions, exact derivatives, domains."""

import numpy as np
import pytest
import sympy

from annrl.calculus.targets import CATALOGUE, grid, parse_domain, resolve_target
from annrl.errors import InputError

x, y = sympy.symbols("x y")


@pytest.mark.parametrize(("name", "dim", "kind"), [
    ("sin", 1, "smooth"), ("abs", 1, "kink"), ("sign", 1, "jump"), ("step", 1, "jump"), ("sawtooth", 1, "jump"),
    ("sinc", 1, "smooth"), ("peaks", 2, "smooth"), ("himmelblau", 2, "smooth"), ("sphere", 3, "smooth"),
])
def test_catalogue_targets_have_their_dimension_and_kind(name, dim, kind):
    target = resolve_target(name)
    assert (target.dim, target.kind) == (dim, kind)
    values = target(grid(target.domain, 5))
    assert values.shape == (5**dim,) and np.all(np.isfinite(values))


def test_catalogue_values_are_the_named_functions():
    X = np.array([[-0.5], [0.25], [0.9]])
    assert np.allclose(resolve_target("sin")(X), np.sin(X[:, 0]))
    assert np.allclose(resolve_target("|x|")(X), [0.5, 0.25, 0.9])
    assert np.allclose(resolve_target("sawtooth")(X), [0.0, -0.25, 0.4])  # x - floor(x) - 1/2
    assert np.allclose(resolve_target("sinc")(np.array([[2.0]])), np.sin(2.0) / 2.0)  # sin(x)/x, not numpy's
    assert np.allclose(resolve_target("sin_k", frequency=5)(X), np.sin(5 * X[:, 0]))
    himmelblau = resolve_target("himmelblau")
    assert np.allclose(himmelblau(np.array([[3.0, 2.0], [0.0, 0.0]])), [0.0, 170.0])  # a minimum, and f(0, 0)
    assert np.allclose(resolve_target("rosenbrock")(np.array([[1.0, 1.0]])), 0.0)


def test_expressions_choose_their_dimension_from_the_variables_they_use():
    assert resolve_target("x*exp(-x**2)").variables == ("x",)
    surface = resolve_target("sin(x)*cos(y)", "-pi:pi")
    assert surface.variables == ("x", "y") and surface.domain == ((-np.pi, np.pi),) * 2
    assert resolve_target("x + y*z").dim == 3
    assert resolve_target("max(x, 0)").kind == "kink" and resolve_target("floor(2*x)").kind == "jump"


def test_exact_gradients_come_from_sympy_and_hold_almost_everywhere():
    X = np.array([[-0.7], [0.3], [1.2]])
    assert np.allclose(resolve_target("x*exp(-x**2)").gradient(X)[:, 0], (1 - 2 * X[:, 0] ** 2) * np.exp(-X[:, 0] ** 2))
    assert np.allclose(resolve_target("abs").gradient(X)[:, 0], [-1, 1, 1])  # sign(x), no Dirac delta
    assert np.allclose(resolve_target("sign").gradient(X)[:, 0], 0.0)
    assert np.allclose(resolve_target("sawtooth").gradient(X)[:, 0], 1.0)
    # sinc' is written cos(x)/x - sin(x)/x^2, 0/0 at x = 0: a central difference fills in the limit 0
    assert abs(resolve_target("sinc").gradient(np.array([[0.0]]))[0, 0]) < 1e-6
    peaks = resolve_target("peaks")
    P = np.array([[0.3, -0.4], [1.1, 0.7]])
    h = 1e-6
    numeric = np.column_stack([(peaks(P + d) - peaks(P - d)) / (2 * h) for d in (np.array([h, 0]), np.array([0, h]))])
    assert np.allclose(peaks.gradient(P), numeric, atol=1e-6)


@pytest.mark.parametrize(("text", "message"), [
    ("x*", r"expression 'x\*': invalid syntax \(at column 3\)"),
    ("sin(x", "invalid syntax"),
    ("__import__('os').system('ls')", "not allowed"),
    ("x.__class__", "attribute access is not allowed"),
    ("t*sin(t)", r"unknown name 't' \(allowed variables: x, y, z\)"),
    ("foo", "target 'foo' is neither a catalogue name"),
    ("", "target must be a catalogue name or an expression"),
])
def test_malformed_targets_are_refused_with_one_clear_line(text, message):
    with pytest.raises(InputError, match=message) as info:
        resolve_target(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "dim", "expected"), [
    ("-3:3", 1, ((-3.0, 3.0),)),
    ("-pi:pi", 2, ((-np.pi, np.pi), (-np.pi, np.pi))),
    ("0:1, -2*pi:2*pi", 2, ((0.0, 1.0), (-2 * np.pi, 2 * np.pi))),
])
def test_domains_parse_numbers_and_safe_expressions(text, dim, expected):
    assert np.allclose(parse_domain(text, dim), expected)


@pytest.mark.parametrize(("text", "dim", "message"), [
    ("3:1", 1, "--domain must be LOW:HIGH with LOW < HIGH, got 3:1"),
    ("1", 1, "--domain must be LOW:HIGH with LOW < HIGH, got 1"),
    ("a:b", 1, "--domain must be LOW:HIGH with LOW < HIGH, got a:b"),
    ("0:inf", 1, "--domain must be LOW:HIGH"),
    ("0:1,0:1,0:1", 2, r"--domain must give 1 or 2 intervals for a target of 2 variables \(x, y\), got 3"),
])
def test_bad_domains_name_the_field_the_rule_and_the_value(text, dim, message):
    with pytest.raises(InputError, match=message):
        parse_domain(text, dim, field="--domain")


def test_grid_runs_x_fastest_so_values_reshape_to_an_image():
    points = grid(((0.0, 1.0), (10.0, 12.0)), 3)
    assert points.shape == (9, 2)
    assert np.allclose(points[:3], [[0, 10], [0.5, 10], [1, 10]])
    image = points[:, 1].reshape(3, 3)  # [iy, ix]
    assert np.allclose(image[:, 0], [10, 11, 12])


def test_every_catalogue_entry_resolves():
    for name in CATALOGUE:
        assert resolve_target(name).expr.free_symbols <= {x, y, sympy.Symbol("z")}
