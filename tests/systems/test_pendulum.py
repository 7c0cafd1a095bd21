"""Damped pendulum: energy falls at the rate -damping omega^2, and is conserved without damping."""

import numpy as np
import pytest

from annrl.calculus import FivePointStencil
from annrl.systems import DampedPendulum


def test_energy_is_conserved_without_damping():
    pendulum = DampedPendulum(damping=0.0)
    trajectory = pendulum.simulate([2.5, 0.0], (0.0, 50.0), 0.05)
    E = pendulum.invariant(trajectory.x_clean)
    assert np.abs(E - E[0]).max() < 1e-6


def test_energy_decreases_with_damping():
    pendulum = DampedPendulum(damping=0.25)
    trajectory = pendulum.simulate([2.5, 0.0], (0.0, 20.0), 0.01)
    E = pendulum.energy(trajectory.x_clean)
    assert np.all(np.diff(E) <= 1e-9)  # never grows
    assert E[-1] < 0.01 * E[0]  # e^(-0.25 * 20) ~ 0.007 for small swings
    # dE/dt = -damping * omega^2, checked against the measured rate of change of E.
    np.testing.assert_allclose(FivePointStencil()(E, trajectory.t), -0.25 * trajectory.x_clean[:, 1] ** 2, atol=1e-5)


def test_small_swings_have_period_2_pi_sqrt_length_over_gravity():
    pendulum = DampedPendulum(damping=0.0, gravity=9.81, length=2.0)
    trajectory = pendulum.simulate([0.01, 0.0], (0.0, 30.0), 0.001)
    theta = trajectory.x_clean[:, 0]
    down = np.flatnonzero((theta[:-1] > 0) & (theta[1:] <= 0))  # downward zero crossings
    period = np.diff(trajectory.t[down]).mean()
    assert period == pytest.approx(2 * np.pi * np.sqrt(2.0 / 9.81), rel=1e-3)


def test_damped_pendulum_has_no_invariant():
    assert not DampedPendulum(damping=0.1).has_invariant
    with pytest.raises(NotImplementedError, match="has no conserved quantity"):
        DampedPendulum(damping=0.1).invariant([0.0, 1.0])


def test_prints_as_a_person_writes_it():
    assert str(DampedPendulum()) == "theta' = omega\nomega' = -0.25 omega - 9.81 sin(theta)"
    assert DampedPendulum(damping=0.0, length=2.0).equations()[1] == "omega' = -4.905 sin(theta)"


@pytest.mark.parametrize(("kwargs", "message"), [({"damping": -0.1}, "damping must be >= 0, got -0.1"),
                                                 ({"length": 0}, "length must be > 0, got 0")])
def test_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DampedPendulum(**kwargs)
