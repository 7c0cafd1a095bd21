"""Total-variation regularised derivative (Chartrand 2011), for noisy data.

Instead of differencing the noisy samples, look for a derivative u whose integral fits the data
and whose total variation (the summed size of its jumps) is small. Each column is first put in
standard units, time scaled to [0, 1] and x to zero mean and unit standard deviation, so that
``alpha`` means the same for every signal. Then u minimises

    (1/2n) sum_i (s_i - x_i)^2  +  alpha * sum_i sqrt((u_{i+1} - u_i)^2 + epsilon)

over signals s whose steps are the trapezoid-rule integrals of u,
s_{i+1} - s_i = (t_{i+1} - t_i)(u_i + u_{i+1}) / 2 (so non-uniform grids are fine and the
integration constant is free). The small ``epsilon`` makes the penalty differentiable.

Solver: Chartrand's lagged diffusivity. Freeze the weights 1 / sqrt((u_{i+1} - u_i)^2 + epsilon)
at the current u; what is left is a least-squares problem with a linear constraint, solved
exactly through its sparse (banded) optimality system in O(n); repeat. The objective falls at
every step, but slowly: along the directions that sharpen u into a staircase it is nearly flat.
On smooth signals those later steps make the derivative *worse* (measured on the benchmarks in
docs/calculus.md: 1 step is best, 50 steps lose up to a factor 2), so like Chartrand we stop
after a fixed, small number of steps (``iterations=20``). The result is therefore an
early-stopped approximation of the TV minimiser, and this method is at its best when x has kinks
(a derivative with jumps), not on smooth oscillations.

Reference: R. Chartrand, "Numerical differentiation of noisy, nonsmooth data",
ISRN Applied Mathematics (2011), article 164564.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse
from scipy.sparse.linalg import spsolve

from annrl.errors import InputError

from .base import Differentiator


class TotalVariation(Differentiator):
    """Derivative with small total variation whose integral fits the data (Chartrand's method).

    Parameters
    ----------
    alpha : float, default=1e-6
        Weight of the total variation in standard units (time in [0, 1], x of unit variance);
        larger values give flatter derivatives. Must be > 0.
    iterations : int, default=20
        Most lagged-diffusivity steps (see the module notes: more is not better on smooth data).
    tol : float, default=1e-4
        Stop earlier when a step changes u by less than ``tol`` relative to its norm.
    epsilon : float, default=1e-6
        Smoothing inside the square root of the penalty, in standard units.
    """

    def __init__(self, alpha: float = 1e-6, iterations: int = 20, tol: float = 1e-4, epsilon: float = 1e-6):
        for name, value in (("alpha", alpha), ("tol", tol), ("epsilon", epsilon)):
            if not value > 0:
                raise InputError(f"{name} must be > 0, got {value}")
        if iterations < 1:
            raise InputError(f"iterations must be >= 1, got {iterations}")
        self.alpha = alpha
        self.iterations = int(iterations)
        self.tol = tol
        self.epsilon = epsilon

    @property
    def min_samples(self) -> int:
        return 3

    def _differentiate(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        duration = t[-1] - t[0]
        tau = (t - t[0]) / duration
        columns = []
        for column in x.T:
            if np.ptp(column) == 0:  # a constant signal (its std may round to 1e-16, not 0)
                columns.append(np.zeros_like(column))
                continue
            scale = column.std()
            slope = self._standard_slope(tau, (column - column.mean()) / scale)
            columns.append(slope * scale / duration)
        return np.stack(columns, axis=1)

    def _standard_slope(self, tau: np.ndarray, data: np.ndarray) -> np.ndarray:
        """du/dtau for one standardised column ``data`` ``(n,)`` on ``tau`` in [0, 1]."""
        n = len(tau)
        difference = first_difference(n)  # (n-1, n)
        half_steps = np.diff(tau) / 2
        trapezoid = sparse.diags([half_steps, half_steps], [0, 1], shape=(n - 1, n))
        identity = sparse.identity(n)
        rhs = np.concatenate([data, np.zeros(2 * n - 1)])
        weight = n * self.alpha  # the 1/2n data term, multiplied through by n
        u = np.gradient(data, tau)
        for _ in range(self.iterations):
            diffusivity = sparse.diags(1.0 / np.sqrt(np.diff(u) ** 2 + self.epsilon))
            penalty = weight * (difference.T @ diffusivity @ difference)
            # Unknowns (s, u, multipliers): fit s to the data, penalise u, tie steps of s to u.
            system = sparse.bmat([[identity, None, difference.T],
                                  [None, penalty, -trapezoid.T],
                                  [difference, -trapezoid, None]], format="csc")
            u_next = spsolve(system, rhs)[n:2 * n]
            change = np.linalg.norm(u_next - u)
            u = u_next
            if change <= self.tol * np.linalg.norm(u):
                break
        return u


def first_difference(n: int) -> sparse.csr_matrix:
    """The ``(n-1, n)`` matrix D with ``(D v)_i = v_{i+1} - v_i``."""
    return sparse.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n), format="csr")
