"""A damped pendulum: angle theta from the downward vertical, angular velocity omega.

    theta' = omega
    omega' = -damping omega - (gravity / length) sin(theta)

Its energy per unit of m L^2, E = omega^2 / 2 + (gravity / length)(1 - cos theta), changes at
the rate dE/dt = -damping omega^2: it never grows, falls whenever the pendulum moves if
damping > 0, and is conserved when damping = 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .base import DynamicalSystem, check_parameter


class DampedPendulum(DynamicalSystem):
    """A rigid pendulum with linear (viscous) friction.

    Parameters
    ----------
    damping : float, default=0.25
        Friction coefficient (1/s), >= 0; 0 gives the ideal pendulum.
    gravity : float, default=9.81
        Gravitational acceleration (m/s^2), > 0.
    length : float, default=1.0
        Length of the pendulum (m), > 0.

    Examples
    --------
    >>> print(DampedPendulum())
    theta' = omega
    omega' = -0.25 omega - 9.81 sin(theta)
    """

    names = ("theta", "omega")

    def __init__(self, damping: float = 0.25, gravity: float = 9.81, length: float = 1.0):
        self.damping = check_parameter("damping", damping, allow_zero=True)
        self.gravity = check_parameter("gravity", gravity)
        self.length = check_parameter("length", length)

    def field(self, theta, omega, lib=np):
        return (omega, -self.damping * omega - self.gravity / self.length * lib.sin(theta))

    def equation_terms(self):
        return [[(1.0, "omega")], [(-self.damping, "omega"), (-self.gravity / self.length, "sin(theta)")]]

    def energy(self, state: ArrayLike) -> np.ndarray:
        """Energy per unit m L^2 (1/s^2) at each state, shape ``(...)`` for ``state`` ``(..., 2)``."""
        return np.asarray(self._invariant(*np.moveaxis(self._check_state(state), -1, 0), lib=np))

    @property
    def has_invariant(self) -> bool:
        return self.damping == 0  # with friction the energy is only non-increasing

    def _invariant(self, theta, omega, lib=np):
        return omega**2 / 2 + self.gravity / self.length * (1 - lib.cos(theta))
