"""Savitzky-Golay, smoothing spline and total variation: exactness, noise, and their contracts."""

import numpy as np
import pytest

from annrl.calculus import CentralDifference, SavitzkyGolay, SmoothingSpline, TotalVariation, analytic_signal
from annrl.systems import lotka_volterra_benchmark

SMOOTHERS = [SavitzkyGolay(), SmoothingSpline(), TotalVariation()]


@pytest.fixture(scope="module")
def lv_clean():
    """(t, x_clean, dxdt_clean) of the Lotka-Volterra benchmark."""
    trajectory = lotka_volterra_benchmark()
    return trajectory.t, trajectory.x_clean, trajectory.dxdt_clean


def rmse(estimate, exact):
    return float(np.sqrt(np.mean((estimate - exact) ** 2)))


def noisy_rmse(method, t, x, exact, level, seeds=(0, 1)):
    """Mean RMSE over a few noise draws of standard deviation level * std(x)."""
    errors = []
    for seed in seeds:
        noisy = x + level * x.std(axis=0) * np.random.default_rng(seed).standard_normal(x.shape)
        errors.append(rmse(method(noisy, t), exact))
    return np.mean(errors)


@pytest.mark.parametrize("level", [0.01, 0.05])
@pytest.mark.parametrize("method", SMOOTHERS, ids=repr)
def test_smoothers_beat_central_differences_on_noisy_data(method, level):
    t, x, exact = analytic_signal()
    central = noisy_rmse(CentralDifference(), t, x, exact, level)
    assert noisy_rmse(method, t, x, exact, level) < 0.8 * central


@pytest.mark.parametrize("level", [0.01, 0.05])
@pytest.mark.parametrize("method", [SavitzkyGolay(), SmoothingSpline()], ids=repr)
def test_smoothers_beat_central_differences_on_the_lotka_volterra_benchmark(method, level, lv_clean):
    central = noisy_rmse(CentralDifference(), *lv_clean, level, seeds=(0,))
    assert noisy_rmse(method, *lv_clean, level, seeds=(0,)) < 0.8 * central


def test_savitzky_golay_is_exact_for_cubics():
    t = np.linspace(-1.0, 2.0, 40)
    x = 2 * t**3 - t**2 + 0.5
    np.testing.assert_allclose(SavitzkyGolay(11, 3)(x, t), 6 * t**2 - 2 * t, atol=1e-9)


def test_savitzky_golay_needs_a_uniform_grid():
    t = np.linspace(0.0, 1.0, 30) ** 2
    with pytest.raises(ValueError, match="t must be uniformly spaced"):
        SavitzkyGolay()(np.sin(t), t)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"window_length": 10}, "window_length must be an odd integer >= 3, got 10"),
     ({"window_length": 5, "polyorder": 5}, r"polyorder must be in \[1, window_length - 1\]")],
)
def test_savitzky_golay_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SavitzkyGolay(**kwargs)


def test_smoothing_spline_is_accurate_on_a_noisy_nonuniform_grid():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0.0, 20.0, 400))
    x = np.sin(t) + 0.5 * np.cos(2.3 * t)
    exact = np.cos(t) - 1.15 * np.sin(2.3 * t)
    noisy = x + 0.01 * x.std() * rng.standard_normal(t.shape)
    assert rmse(SmoothingSpline()(noisy, t), exact) < 0.06  # RMS of the derivative: ~1.06
    assert rmse(SmoothingSpline()(x, t), exact) < 0.01


def test_smoothing_spline_fits_each_column_on_its_own():
    t, x, exact = analytic_signal(n=201)
    both = SmoothingSpline()(np.stack([x, 100 * x], axis=1), t)
    np.testing.assert_allclose(both[:, 1], 100 * both[:, 0], rtol=1e-6, atol=1e-6)


def test_total_variation_recovers_a_jump_in_the_derivative():
    # Chartrand's example: x = |t - 1/2|, whose derivative jumps from -1 to 1.
    t = np.linspace(0.0, 1.0, 101)
    x = np.abs(t - 0.5)
    exact = np.sign(t - 0.5)
    noisy = x + 0.05 * x.std() * np.random.default_rng(1).standard_normal(t.shape)
    tv = rmse(TotalVariation(alpha=1e-4)(noisy, t), exact)
    assert tv < 0.1
    assert tv < 0.6 * rmse(SmoothingSpline()(noisy, t), exact)
    assert tv < 0.2 * rmse(CentralDifference()(noisy, t), exact)


def test_total_variation_scales_with_x_and_t():
    t, x, _ = analytic_signal(n=101)
    base = TotalVariation()(x, t)
    np.testing.assert_allclose(TotalVariation()(3 * x + 7, t), 3 * base, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(TotalVariation()(x, 10 * t), base / 10, rtol=1e-6, atol=1e-8)


def test_total_variation_of_a_constant_is_zero():
    assert np.all(TotalVariation()(np.full(20, 4.2), 0.1) == 0)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="alpha must be > 0, got 0"):
        TotalVariation(alpha=0)
    with pytest.raises(ValueError, match="lam must be >= 0 or None, got -1"):
        SmoothingSpline(lam=-1)
