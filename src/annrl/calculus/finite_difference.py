"""Finite differences on any grid, through the derivative of a Lagrange polynomial.

A stencil is a run of consecutive sample offsets, e.g. ``(-1, 0, 1)``. At sample ``i`` the
method passes the interpolating polynomial through ``x`` at those neighbours and returns its
slope at ``t_i``. On a uniform grid of step h this gives the textbook formulas:

=====================  ==================================================  ====================
stencil                formula at interior points                          leading error
=====================  ==================================================  ====================
forward ``(0, 1)``     (x[i+1] - x[i]) / h                                 + h/2 x''
backward ``(-1, 0)``   (x[i] - x[i-1]) / h                                 - h/2 x''
central ``(-1, 0, 1)`` (x[i+1] - x[i-1]) / (2h)                            + h^2/6 x'''
5-point ``(-2..2)``    (x[i-2] - 8 x[i-1] + 8 x[i+1] - x[i+2]) / (12h)     - h^4/30 x^(5)
=====================  ==================================================  ====================

A k-point stencil is exact for polynomials of degree k - 1, so its error falls as h^(k-1),
also on non-uniform grids (h is then the largest step). Near the ends the window slides
inside the grid (the central stencil becomes (-3 x[0] + 4 x[1] - x[2]) / (2h) at the first
sample), so every sample gets the same order of accuracy, with a larger constant.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from annrl.errors import InputError

from .base import Differentiator


class FiniteDifference(Differentiator):
    """Slope of the Lagrange polynomial through ``len(offsets)`` neighbouring samples.

    Parameters
    ----------
    offsets : sequence of int, default=(-1, 0, 1)
        Consecutive sample offsets that contain 0; ``(0, 1)`` is the forward difference,
        ``(-2, -1, 0, 1, 2)`` the 5-point stencil. Accuracy order is ``len(offsets) - 1``.

    Examples
    --------
    >>> t = np.linspace(0.0, 1.0, 11)
    >>> slope = FiniteDifference((-1, 0, 1))(t**2, t)  # exact for quadratics: 2t
    >>> np.allclose(slope, 2 * t)
    True
    """

    def __init__(self, offsets: Sequence[int] = (-1, 0, 1)):
        offsets = tuple(int(o) for o in offsets)
        consecutive = offsets == tuple(range(offsets[0], offsets[0] + len(offsets))) if offsets else False
        if len(offsets) < 2 or not consecutive or 0 not in offsets:
            raise InputError(f"offsets must be at least 2 consecutive integers containing 0, got {offsets}")
        self.offsets = offsets

    @property
    def accuracy_order(self) -> int:
        """The power of h in the leading error term."""
        return len(self.offsets) - 1

    @property
    def min_samples(self) -> int:
        return len(self.offsets)

    def _differentiate(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        window = stencil_indices(len(t), self.offsets)  # (n, k)
        weights = lagrange_slope_weights(t, window)  # (n, k)
        return np.einsum("nk,nkd->nd", weights, x[window])


class ForwardDifference(FiniteDifference):
    """(x[i+1] - x[i]) / h: first order; the last sample uses the backward difference."""

    def __init__(self):
        super().__init__((0, 1))


class BackwardDifference(FiniteDifference):
    """(x[i] - x[i-1]) / h: first order; the first sample uses the forward difference."""

    def __init__(self):
        super().__init__((-1, 0))


class CentralDifference(FiniteDifference):
    """(x[i+1] - x[i-1]) / (2h): second order; one-sided 3-point stencils at the ends."""

    def __init__(self):
        super().__init__((-1, 0, 1))


class FivePointStencil(FiniteDifference):
    """(x[i-2] - 8 x[i-1] + 8 x[i+1] - x[i+2]) / (12h): fourth order; one-sided 5-point stencils at the ends."""

    def __init__(self):
        super().__init__((-2, -1, 0, 1, 2))


def stencil_indices(n: int, offsets: Sequence[int]) -> np.ndarray:
    """Sample indices of each point's stencil, shape ``(n, k)``, slid inside ``[0, n)`` near the ends."""
    k = len(offsets)
    first = np.clip(np.arange(n) + offsets[0], 0, n - k)
    return first[:, None] + np.arange(k)


def lagrange_slope_weights(t: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Weights ``w`` with ``x'(t_i) ~ sum_j w[i, j] x[window[i, j]]``, shape ``(n, k)``.

    ``w[i, j]`` is the derivative at ``t_i`` of the Lagrange basis polynomial that is 1 at node
    ``z_j = t[window[i, j]]`` and 0 at the other nodes:
    ``L_j'(t_i) = sum_{m != j} 1/(z_j - z_m) prod_{l != j, m} (t_i - z_l)/(z_j - z_l)``.
    """
    z = t[window]  # (n, k)
    here = t[:, None]  # (n, 1)
    k = z.shape[1]
    weights = np.zeros_like(z)
    for j in range(k):
        for m in range(k):
            if m == j:
                continue
            term = 1.0 / (z[:, j] - z[:, m])
            for l in range(k):
                if l not in (j, m):
                    term = term * (here[:, 0] - z[:, l]) / (z[:, j] - z[:, l])
            weights[:, j] += term
    return weights
