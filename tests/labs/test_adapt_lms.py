"""Adaline/LMS: the Wiener solution, the stability bound, the misadjustment, NLMS, Madaline."""

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.labs.adapt import filters, theory
from annrl.labs.adapt.lab import band_task
from annrl.nn import SGD
from annrl.nn.fit import partial_fit
from annrl.nn.lms import Adaline, Madaline


def test_an_lms_step_is_the_engines_sgd_step_on_the_squared_error():
    rng = np.random.default_rng(0)
    adaline = Adaline(3, mu=0.1)
    adaline.net.flat_[...] = rng.normal(size=adaline.net.flat_.shape)
    engine = adaline.net.select([0])
    x, d = rng.normal(size=3), 0.7
    adaline.step(x, d)
    # MSE of one sample is e^2, its gradient -2 e x: lr = mu / 2 gives the Widrow-Hoff step
    partial_fit(engine, x[None, :], [[d]], optimizer=SGD(lr=0.05))
    np.testing.assert_allclose(adaline.net.flat_, engine.flat_, rtol=0, atol=1e-14)


def test_lms_converges_to_the_wiener_solution_not_to_the_truncated_response():
    # a 3-tap filter of a 5-tap system fed coloured input: the Wiener solution R^-1 p differs from
    # the first three taps, and LMS must find R^-1 p
    result = filters.identify_system(taps=3, mu=0.02, steps=6000, runs=40, seed=1)
    late = result.weights.mean(axis=0)
    assert abs(result.wiener[2] - result.unknown[2]) > 0.1
    np.testing.assert_allclose(late, result.wiener, atol=0.02)
    assert np.abs(late - result.unknown[:3]).max() > 0.1
    # the exact Wiener weights of the process agree with R^-1 p estimated from samples
    rng = np.random.default_rng(2)
    x = filters.colored_noise(rng, (200_000,), 0.6)
    X = filters.tapped_delay_line(x, 5)
    d = X @ result.unknown
    sample = theory.wiener_solution(theory.correlation(X[:, :3]), theory.cross_correlation(X[:, :3], d))
    np.testing.assert_allclose(sample, result.wiener, atol=0.02)


def test_lms_converges_below_the_mean_square_bound_and_diverges_above_it():
    sweep = filters.step_size_sweep((0.5, 1.3), steps=3000, runs=60, seed=3)
    converged, diverged = sweep.final_mse
    assert converged < 5 * sweep.j_min
    assert not np.isfinite(diverged) or diverged > 1e3 * sweep.j_min
    # 1.3 x the bound is still below 2 / tr(R): the classical rule of thumb is not a safe bound
    assert sweep.mus[1] < sweep.bounds.trace
    assert sweep.bounds.safe < sweep.bounds.mean_square < sweep.bounds.trace < sweep.bounds.mean


def test_measured_misadjustment_matches_theory_within_15_percent():
    sweep = filters.step_size_sweep((0.1, 0.2, 0.4), steps=4000, runs=100, seed=4)
    np.testing.assert_allclose(sweep.misadjustment, sweep.misadjustment_theory, rtol=0.15)
    # for a small step the rule of thumb mu tr(R) / 2 holds too
    assert sweep.misadjustment[0] == pytest.approx(sweep.misadjustment_small_step[0], rel=0.15)


def test_the_theoretical_learning_curve_follows_the_measured_one():
    result = filters.identify_system(mu=0.01, steps=1500, runs=200, seed=5)
    for t in (50, 200, 600):
        assert result.mse[t - 10 : t + 10].mean() == pytest.approx(result.theory[t - 10 : t + 10].mean(), rel=0.2)
    time_constant = theory.time_constants(filters.ar1_correlation(5, 0.6), 0.01)[0]
    assert time_constant == pytest.approx(-1 / np.log((1 - 0.01 * np.linalg.eigvalsh(
        filters.ar1_correlation(5, 0.6)).min()) ** 2))


def test_nlms_is_stable_whatever_the_input_power_where_lms_is_not():
    rng = np.random.default_rng(6)
    X = 10.0 * rng.normal(size=(3000, 4))  # power 100: LMS with mu = 0.1 is far past 2 / lambda_max
    d = X @ [1.0, -2.0, 0.5, 0.0]
    lms, nlms = Adaline(4, mu=0.1, bias=False), Adaline(4, mu=0.5, rule="nlms", bias=False)
    with np.errstate(over="ignore", invalid="ignore"):
        lms.adapt(X, d)
    nlms.adapt(X, d)
    assert not np.all(np.isfinite(lms.weights)) or np.abs(lms.weights).max() > 1e6
    np.testing.assert_allclose(nlms.weights[0], [1.0, -2.0, 0.5, 0.0], atol=1e-6)


def test_a_madaline_learns_a_band_that_one_adaline_cannot():
    rng = np.random.default_rng(0)
    X, labels = band_task(rng)
    adaline_error = Adaline(2, mu=0.01).fit_classifier(X, labels, epochs=10, rng=rng)[-1, 0]
    madaline_error = Madaline(2, 2, logic="and", seed=0).fit(X, labels, epochs=40, rng=rng)[-1]
    assert adaline_error > 0.25
    assert madaline_error < 0.06


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(InputError, match="rule must be one of"):
        Adaline(2, rule="rls")
    with pytest.raises(InputError, match="mu must be > 0"):
        Adaline(2, mu=-0.1)
    with pytest.raises(InputError, match="X must have shape"):
        Adaline(2).adapt(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(InputError, match="odd number"):
        Madaline(2, 2)
