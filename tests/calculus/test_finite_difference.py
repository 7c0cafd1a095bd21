"""Finite differences: orders of accuracy measured from errors at several step sizes."""

import numpy as np
import pytest

from annrl.calculus import (
    BackwardDifference,
    CentralDifference,
    FiniteDifference,
    FivePointStencil,
    ForwardDifference,
)

STENCILS = [(ForwardDifference(), 1), (BackwardDifference(), 1), (CentralDifference(), 2), (FivePointStencil(), 4)]


def signal(t):
    return np.sin(3 * t) + 0.5 * np.cos(t), 3 * np.cos(3 * t) - 0.5 * np.sin(t)


def measured_order(method, grids):
    """Slope of log(max error) against log(largest step), edges included."""
    errors, steps = [], []
    for t in grids:
        x, exact = signal(t)
        errors.append(np.abs(method(x, t) - exact).max())
        steps.append(np.diff(t).max())
    return np.polyfit(np.log(steps), np.log(errors), 1)[0]


@pytest.mark.parametrize(("method", "order"), STENCILS, ids=lambda v: repr(v))
def test_uniform_grid_error_falls_as_h_to_the_order(method, order):
    grids = [np.linspace(0.0, 2.0, n) for n in (41, 81, 161, 321)]
    assert measured_order(method, grids) == pytest.approx(order, abs=0.3)
    assert method.accuracy_order == order


@pytest.mark.parametrize(("method", "order"), STENCILS[2:], ids=lambda v: repr(v))
def test_smoothly_stretched_grid_keeps_the_order(method, order):
    # t = 2 s^1.5: steps grow from ~0 to 3h along the grid.
    grids = [2.0 * np.linspace(0.0, 1.0, n) ** 1.5 for n in (41, 81, 161, 321)]
    assert measured_order(method, grids) == pytest.approx(order, abs=0.3)


@pytest.mark.parametrize(("method", "order"), STENCILS[2:], ids=lambda v: repr(v))
def test_randomly_jittered_grid_keeps_the_order(method, order):
    rng = np.random.default_rng(0)
    grids = []
    for n in (41, 81, 161, 321):
        t = np.linspace(0.0, 2.0, n)
        t[1:-1] += rng.uniform(-0.3, 0.3, n - 2) * (t[1] - t[0])  # each sample moved by up to 30% of h
        grids.append(t)
    assert measured_order(method, grids) == pytest.approx(order, abs=0.3)


def test_nonuniform_errors_are_small_in_absolute_terms():
    t = 2.0 * np.linspace(0.0, 1.0, 161) ** 1.5
    x, exact = signal(t)
    assert np.abs(CentralDifference()(x, t) - exact).max() < 2e-2
    assert np.abs(FivePointStencil()(x, t) - exact).max() < 1e-4


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6])
def test_k_point_stencil_is_exact_for_polynomials_of_degree_k_minus_1(k):
    rng = np.random.default_rng(k)
    t = np.sort(rng.uniform(0.0, 3.0, 30))
    coefficients = rng.normal(size=k)  # degree k - 1
    x = np.polyval(coefficients, t)
    exact = np.polyval(np.polyder(coefficients), t)
    estimate = FiniteDifference(tuple(range(-(k // 2), k - k // 2)))(x, t)
    np.testing.assert_allclose(estimate, exact, rtol=1e-7, atol=1e-7)


def test_uniform_weights_are_the_textbook_ones():
    h = 0.1
    t = h * np.arange(9)
    for i, expected in [(4, [0, 0, 1, -8, 0, 8, -1, 0, 0]), (0, [-25, 48, -36, 16, -3, 0, 0, 0, 0])]:
        unit = np.eye(9)  # column j is the signal that is 1 at sample j: its derivative is weight j
        weights = FivePointStencil()(unit, t)[i]
        np.testing.assert_allclose(weights, np.array(expected) / (12 * h), atol=1e-9)
    edge = CentralDifference()(np.eye(9), t)[0]
    np.testing.assert_allclose(edge[:3], np.array([-3, 4, -1]) / (2 * h), atol=1e-9)


def test_shapes_and_a_scalar_step():
    t = np.linspace(0.0, 1.0, 11)
    x = np.stack([t**2, t**3], axis=1)
    assert CentralDifference()(x, t).shape == (11, 2)
    assert CentralDifference()(t**2, t).shape == (11,)
    np.testing.assert_allclose(CentralDifference()(t**2, 0.1), CentralDifference()(t**2, t))


@pytest.mark.parametrize(
    ("x", "t", "message"),
    [
        (np.ones(5), 0.0, "dt must be > 0, got 0"),
        (np.ones(5), [0, 1, 1, 2, 3], r"t must be strictly increasing, got t\[1\]=1 then t\[2\]=1"),
        (np.ones(5), np.arange(4.0), r"t must have shape \(5,\)"),
        (np.array([0, np.nan, 1, 2, 3]), 0.1, "x must be finite"),
        (np.ones((2, 2, 2)), 0.1, r"x must have shape \(n,\) or \(n, d\)"),
        (np.ones(4), 0.1, "x must have at least 5 samples"),
    ],
)
def test_bad_input_is_named(x, t, message):
    with pytest.raises(ValueError, match=message):
        FivePointStencil()(x, t)


@pytest.mark.parametrize("offsets", [(0,), (-2, 0, 2), (1, 2)])
def test_bad_offsets_are_rejected(offsets):
    with pytest.raises(ValueError, match="offsets must be at least 2 consecutive integers containing 0"):
        FiniteDifference(offsets)


def test_repr_is_the_constructor():
    assert repr(FiniteDifference((-1, 0, 1, 2))) == "FiniteDifference(offsets=(-1, 0, 1, 2))"
    assert repr(FivePointStencil()) == "FivePointStencil()"
