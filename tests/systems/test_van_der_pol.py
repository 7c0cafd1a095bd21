"""Van der Pol: the limit cycle has amplitude ~2 for small mu; mu = 0 is the harmonic oscillator."""

import numpy as np
import pytest

from annrl.systems import VanDerPol


@pytest.mark.parametrize("x0", [[0.5, 0.0], [3.0, 0.0]], ids=["from inside", "from outside"])
def test_limit_cycle_amplitude_is_about_2_for_small_mu(x0):
    trajectory = VanDerPol(mu=0.1).simulate(x0, (0.0, 150.0), 0.05)
    settled = trajectory.x_clean[trajectory.t > 120.0, 0]
    assert np.abs(settled).max() == pytest.approx(2.0, abs=0.02)


def test_amplitude_stays_near_2_for_mu_1():
    trajectory = VanDerPol(mu=1.0).simulate([0.1, 0.0], (0.0, 60.0), 0.01)
    assert np.abs(trajectory.x_clean[trajectory.t > 40.0, 0]).max() == pytest.approx(2.0, abs=0.05)


def test_mu_0_is_the_harmonic_oscillator():
    trajectory = VanDerPol(mu=0.0).simulate([1.5, 0.0], (0.0, 20.0), 0.1)
    np.testing.assert_allclose(trajectory.x_clean[:, 0], 1.5 * np.cos(trajectory.t), atol=1e-8)


def test_prints_as_a_person_writes_it():
    assert str(VanDerPol(mu=0.5)) == "x' = y\ny' = 0.5 (1 - x^2) y - x"
    assert str(VanDerPol(mu=0.0)) == "x' = y\ny' = -x"
    assert not VanDerPol().has_invariant


def test_mu_is_checked():
    with pytest.raises(ValueError, match="mu must be >= 0, got -1"):
        VanDerPol(mu=-1)
