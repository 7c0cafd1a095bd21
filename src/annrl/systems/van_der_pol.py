"""The Van der Pol oscillator: a spring with friction that pumps energy in at small amplitude
and takes it out at large amplitude, so every orbit (except the origin) ends on one limit cycle.

    x' = y
    y' = mu (1 - x^2) y - x

For small mu the cycle is close to the circle of radius 2 (amplitude 2 + O(mu^2)); for large mu
it becomes a relaxation oscillation of period about (3 - 2 ln 2) mu.
"""

from __future__ import annotations

import numpy as np

from .base import DynamicalSystem, check_parameter


class VanDerPol(DynamicalSystem):
    """Van der Pol oscillator ``x' = y``, ``y' = mu (1 - x^2) y - x``.

    Parameters
    ----------
    mu : float, default=1.0
        Strength of the nonlinear damping, >= 0; 0 gives the harmonic oscillator.

    Examples
    --------
    >>> print(VanDerPol(mu=0.5))
    x' = y
    y' = 0.5 (1 - x^2) y - x
    """

    names = ("x", "y")

    def __init__(self, mu: float = 1.0):
        self.mu = check_parameter("mu", mu, allow_zero=True)

    def field(self, x, y, lib=np):
        return (y, self.mu * (1 - x**2) * y - x)

    def equation_terms(self):
        return [[(1.0, "y")], [(self.mu, "(1 - x^2) y"), (-1.0, "x")]]
