"""Lotka-Volterra predator-prey model, and the benchmark trajectory used across annrl.

Prey x grow on their own and are eaten; predators y grow by eating and die on their own:

    x' = alpha x - beta x y
    y' = delta x y - gamma y

Every orbit with x, y > 0 is a closed curve around the equilibrium (gamma/delta, alpha/beta),
on which V(x, y) = delta x - gamma ln x + beta y - alpha ln y stays constant; the drift of V
along a simulated orbit measures the integrator's error.
"""

from __future__ import annotations

import numpy as np

from .base import DynamicalSystem, check_parameter
from .trajectory import Trajectory

# The benchmark: parameters, start and sampling shared with the SINDy comparison (PySINDy's
# Lotka-Volterra example), so that numbers from different annrl labs can be compared.
BENCHMARK_PARAMETERS = {"alpha": 1.1, "beta": 0.4, "gamma": 0.4, "delta": 0.1}
BENCHMARK_X0 = (10.0, 10.0)
BENCHMARK_T_SPAN = (0.0, 50.0)
BENCHMARK_DT = 0.1  # 501 samples


class LotkaVolterra(DynamicalSystem):
    """Predator-prey dynamics ``x' = alpha x - beta x y``, ``y' = delta x y - gamma y``.

    Parameters
    ----------
    alpha : float, default=1.1
        Growth rate of the prey alone (1/time), > 0.
    beta : float, default=0.4
        Rate at which predators eat prey (1/(time * predator)), > 0.
    gamma : float, default=0.4
        Death rate of the predators alone (1/time), > 0.
    delta : float, default=0.1
        Growth of the predators per prey eaten (1/(time * prey)), > 0.

    Examples
    --------
    >>> print(LotkaVolterra())
    x' = 1.1 x - 0.4 x y
    y' = 0.1 x y - 0.4 y
    """

    names = ("x", "y")

    def __init__(self, alpha: float = 1.1, beta: float = 0.4, gamma: float = 0.4, delta: float = 0.1):
        self.alpha = check_parameter("alpha", alpha)
        self.beta = check_parameter("beta", beta)
        self.gamma = check_parameter("gamma", gamma)
        self.delta = check_parameter("delta", delta)

    def field(self, x, y, lib=np):
        return (self.alpha * x - self.beta * x * y, self.delta * x * y - self.gamma * y)

    def equation_terms(self):
        return [[(self.alpha, "x"), (-self.beta, "x y")], [(self.delta, "x y"), (-self.gamma, "y")]]

    @property
    def has_invariant(self) -> bool:
        return True

    def _invariant(self, x, y, lib=np):
        return self.delta * x - self.gamma * lib.log(x) + self.beta * y - self.alpha * lib.log(y)

    @property
    def equilibrium(self) -> np.ndarray:
        """The coexistence equilibrium (gamma/delta, alpha/beta), shape ``(2,)``."""
        return np.array([self.gamma / self.delta, self.alpha / self.beta])


def lotka_volterra_benchmark(noise: float = 0.0, rng: np.random.Generator | None = None) -> Trajectory:
    """The benchmark Lotka-Volterra trajectory, optionally with measurement noise.

    alpha=1.1, beta=0.4, gamma=0.4, delta=0.1, from x0 = y0 = 10, sampled every dt = 0.1 on
    t in [0, 50] (501 samples, three prey peaks; this orbit's period is ~14.4). Gaussian noise of
    standard deviation ``noise * std(state)`` is added to each state, with the standard
    deviation taken over the clean trajectory (x: ~7.1, y: ~3.2), so ``noise=0.01`` is "1% noise".

    Parameters
    ----------
    noise : float, default=0.0
        Noise level relative to each state's standard deviation (>= 0).
    rng : numpy.random.Generator, default=None
        Source of the noise; needed when ``noise > 0``.

    Returns
    -------
    Trajectory
        ``t`` ``(501,)``, ``x``, ``x_clean`` and ``dxdt_clean`` ``(501, 2)``.
    """
    system = LotkaVolterra(**BENCHMARK_PARAMETERS)
    return system.simulate(BENCHMARK_X0, BENCHMARK_T_SPAN, BENCHMARK_DT, rng=rng, noise=noise)
