"""Lotka-Volterra: the conserved quantity, the benchmark configuration, the vectorised field."""

import numpy as np
import pytest
import sympy

from annrl.calculus import CentralDifference, jacobian, time_derivative, to_numpy
from annrl.systems import LotkaVolterra, lotka_volterra_benchmark


@pytest.fixture(scope="module")
def clean():
    return lotka_volterra_benchmark()


def test_invariant_is_conserved_to_1e_6_over_t_0_50(clean):
    V = LotkaVolterra().invariant(clean.x_clean)
    assert V.shape == (501,)
    assert np.abs(V - V[0]).max() < 1e-6


def test_benchmark_configuration(clean):
    assert len(clean) == 501 and clean.t[0] == 0.0 and clean.t[-1] == pytest.approx(50.0, abs=1e-12)
    np.testing.assert_allclose(np.diff(clean.t), 0.1, atol=1e-12)
    np.testing.assert_array_equal(clean.x_clean[0], [10.0, 10.0])
    assert clean.names == ("x", "y") and clean.noise == 0.0
    assert clean.system == "LotkaVolterra(alpha=1.1, beta=0.4, gamma=0.4, delta=0.1)"
    np.testing.assert_array_equal(clean.x, clean.x_clean)


@pytest.mark.parametrize("noise", [0.01, 0.05])
def test_noise_is_relative_to_each_state_std_and_reproducible(clean, noise):
    noisy = lotka_volterra_benchmark(noise, np.random.default_rng(7))
    measured = (noisy.x - noisy.x_clean).std(axis=0) / noisy.x_clean.std(axis=0)
    np.testing.assert_allclose(measured, noise, rtol=0.1)  # 501 draws: std known to ~3%
    np.testing.assert_array_equal(noisy.x_clean, clean.x_clean)
    np.testing.assert_array_equal(noisy.x, lotka_volterra_benchmark(noise, np.random.default_rng(7)).x)


def test_noise_needs_a_generator():
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator when noise > 0, got None"):
        lotka_volterra_benchmark(0.01)


def test_rhs_is_the_hand_formula_and_vectorised():
    lv = LotkaVolterra()
    states = np.random.default_rng(0).uniform(0.5, 20.0, size=(4, 3, 2))
    x, y = states[..., 0], states[..., 1]
    expected = np.stack([1.1 * x - 0.4 * x * y, 0.1 * x * y - 0.4 * y], axis=-1)
    np.testing.assert_allclose(lv.rhs(0.0, states), expected, rtol=1e-14)
    np.testing.assert_allclose(lv.rhs(0.0, states[1, 2]), expected[1, 2], rtol=1e-14)


def test_true_derivative_agrees_with_differencing_the_clean_states(clean):
    estimate = CentralDifference()(clean.x_clean, clean.t)
    rms = np.sqrt(np.mean(clean.dxdt_clean**2))
    assert np.sqrt(np.mean((estimate - clean.dxdt_clean) ** 2)) < 0.02 * rms


def test_equilibrium_is_a_fixed_point_and_a_centre():
    lv = LotkaVolterra()
    np.testing.assert_allclose(lv.equilibrium, [4.0, 2.75])
    np.testing.assert_allclose(lv.rhs(0.0, lv.equilibrium), 0.0, atol=1e-14)
    J = to_numpy(jacobian(lv.symbolic_rhs(), lv.symbols), lv.symbols)(*lv.equilibrium)
    eigenvalues = np.linalg.eigvals(J)
    np.testing.assert_allclose(eigenvalues.real, 0.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(eigenvalues.imag), np.sqrt(1.1 * 0.4), rtol=1e-12)  # sqrt(alpha gamma)


def test_invariant_is_conserved_symbolically():
    lv = LotkaVolterra()
    f, g = lv.symbolic_rhs()
    dVdt = time_derivative(lv.symbolic_invariant(), lv.symbols).subs({sympy.Symbol("x'"): f, sympy.Symbol("y'"): g})
    values = to_numpy(dVdt, lv.symbols)(np.linspace(0.5, 30, 7), np.linspace(0.2, 11, 7))
    np.testing.assert_allclose(values, 0.0, atol=1e-12)


def test_prints_as_a_person_writes_it():
    assert str(LotkaVolterra()) == "x' = 1.1 x - 0.4 x y\ny' = 0.1 x y - 0.4 y"
    assert str(LotkaVolterra(alpha=2, beta=1)) == "x' = 2 x - x y\ny' = 0.1 x y - 0.4 y"
    assert LotkaVolterra().parameters == {"alpha": 1.1, "beta": 0.4, "gamma": 0.4, "delta": 0.1}


@pytest.mark.parametrize(("kwargs", "message"), [({"alpha": -1}, "alpha must be > 0, got -1"),
                                                 ({"delta": 0}, "delta must be > 0, got 0")])
def test_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LotkaVolterra(**kwargs)


def test_state_shape_is_checked():
    with pytest.raises(ValueError, match=r"state must have shape \(..., 2\) for \('x', 'y'\), got shape \(3,\)"):
        LotkaVolterra().rhs(0.0, np.ones(3))


def test_initial_state_shape_is_checked():
    with pytest.raises(ValueError, match=r"state must have shape \(..., 2\) for \('x', 'y'\), got shape \(3,\)"):
        LotkaVolterra().simulate([1.0, 2.0, 3.0], (0.0, 1.0), 0.1)
