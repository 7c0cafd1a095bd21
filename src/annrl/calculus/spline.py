"""Smoothing-spline derivative: fit a cubic smoothing spline, differentiate it exactly.

The spline f minimises  sum_i (x_i - f(t_i))^2 + lam * integral f''(t)^2 dt
(``scipy.interpolate.make_smoothing_spline``). The smoothing weight ``lam`` is chosen, unless
given, by generalised cross-validation (GCV): the lam whose fit best predicts each sample
left out, which needs no knowledge of the noise level. On noise-free data GCV picks a tiny lam
and the spline nearly interpolates. Works on non-uniform grids; each column is fitted on its
own, with its own lam, because signals of different scales need different smoothing.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import make_smoothing_spline

from annrl.errors import InputError

from .base import Differentiator


class SmoothingSpline(Differentiator):
    """Derivative of a cubic smoothing spline fitted to each column.

    Parameters
    ----------
    lam : float or None, default=None
        Weight of the curvature penalty (>= 0, in units of x^2 / (x/t^2)^2 / t); ``None`` picks
        it by generalised cross-validation for every column.
    """

    def __init__(self, lam: float | None = None):
        if lam is not None and not lam >= 0:
            raise InputError(f"lam must be >= 0 or None, got {lam}")
        self.lam = lam

    @property
    def min_samples(self) -> int:
        return 5  # make_smoothing_spline's minimum

    def _differentiate(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        columns = [make_smoothing_spline(t, column, lam=self.lam).derivative()(t) for column in x.T]
        return np.stack(columns, axis=1)
