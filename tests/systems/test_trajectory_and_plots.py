"""Trajectories, the integrator for any vector field (a learned one too), and the figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.linalg import expm

from annrl.calculus import SmoothingSpline
from annrl.systems import LotkaVolterra, Trajectory, VanDerPol, integrate, lotka_volterra_benchmark, sample_grid
from annrl.systems.plots import draw_phase_portrait, plot_trajectory
from annrl.viz.style import figure


def test_sample_grid_counts_samples_despite_rounding():
    t = sample_grid((0.0, 50.0), 0.1)
    assert len(t) == 501 and t[-1] == pytest.approx(50.0)
    assert len(sample_grid((1.0, 2.0), 0.3)) == 4  # 1.0, 1.3, 1.6, 1.9


@pytest.mark.parametrize(("span", "dt", "message"), [((0, 1), 0, "dt must be > 0, got 0"),
                                                     ((1, 1), 0.1, r"t_span must be \(t0, t1\) with t0 < t1"),
                                                     ((0, 1), 2, "dt must be at most t1 - t0 = 1, got 2")])
def test_sample_grid_checks_its_input(span, dt, message):
    with pytest.raises(ValueError, match=message):
        sample_grid(span, dt)


def test_integrate_any_field_matches_the_matrix_exponential():
    # A stand-in for a learned field: a plain callable, linear so the answer is known.
    A = np.array([[-0.1, 1.0], [-1.0, -0.1]])
    t = np.linspace(0.0, 10.0, 101)
    states = integrate(lambda s: A @ s, [1.0, 0.0], t)
    expected = np.stack([expm(A * ti) @ [1.0, 0.0] for ti in t])
    np.testing.assert_allclose(states, expected, atol=1e-9)


def test_integrate_reports_a_field_that_blows_up():
    with pytest.raises(RuntimeError, match="integration failed at t="):
        integrate(lambda s: s**2, [1.0], np.linspace(0.0, 2.0, 21))  # x = 1/(1 - t) blows up at t = 1


def test_trajectory_checks_shapes_and_differentiates():
    trajectory = lotka_volterra_benchmark(0.01, np.random.default_rng(0))
    assert "n=501" in repr(trajectory) and "noise=0.01" in repr(trajectory)
    estimate = trajectory.differentiate(SmoothingSpline())
    assert estimate.shape == (501, 2)
    error = np.sqrt(np.mean((estimate - trajectory.dxdt_clean) ** 2))
    assert error < 0.1 * np.sqrt(np.mean(trajectory.dxdt_clean**2))
    with pytest.raises(ValueError, match=r"x must have shape \(n, d\) = \(3, 2\), got \(3, 1\)"):
        Trajectory(t=np.arange(3.0), x=np.ones((3, 1)), x_clean=np.ones((3, 2)), dxdt_clean=np.ones((3, 2)),
                   names=("x", "y"))


def test_phase_portrait_and_time_series_are_drawn(tmp_path):
    trajectory = lotka_volterra_benchmark(0.05, np.random.default_rng(0))
    drawn = plot_trajectory(trajectory, LotkaVolterra(), tmp_path / "lv.png")
    assert len(drawn.axes) == 2 and (tmp_path / "lv.png").stat().st_size > 20_000
    fig, ax = figure()
    draw_phase_portrait(ax, lambda s: VanDerPol().rhs(0.0, s), bounds=(-3, 3, -3, 3), title="learned")
    assert len(ax.collections) > 0  # the streamlines
    assert ax.get_xlim() == (-3, 3) and ax.get_xlabel() == "x"
    plt.close(fig)


def test_phase_portrait_needs_bounds_or_trajectories():
    fig, ax = figure()
    with pytest.raises(ValueError, match="bounds must be given when there are no trajectories"):
        draw_phase_portrait(ax, LotkaVolterra())
    with pytest.raises(ValueError, match="field must be a DynamicalSystem or a callable, got int"):
        draw_phase_portrait(ax, 3, bounds=(0, 1, 0, 1))
    plt.close(fig)
