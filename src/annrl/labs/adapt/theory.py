"""LMS theory: the Wiener solution, step-size bounds, misadjustment, time constants, learning curves.

Notation (update ``w <- w + mu e x``, so the constants differ by 2 from Widrow's ``2 mu`` form):
``R = E[x x^T]`` the input correlation matrix with eigenvalues ``lambda_i``, ``p = E[d x]``, the
Wiener solution ``w* = R^-1 p`` and the least mean-square error ``J_min``.

The curves below follow the *independence theory*: successive input vectors independent,
zero-mean Gaussian, the optimal error independent of them. It is exact for i.i.d. input vectors
and a good approximation for a tapped delay line when ``mu`` is small. Under it the diagonal of
the weight-error covariance in the eigenbasis of R, ``c_i = E[v_i^2]``, obeys the closed recursion

    c_i' = (1 - 2 mu lambda_i + 2 mu^2 lambda_i^2) c_i + mu^2 lambda_i (sum_j lambda_j c_j + J_min)

(the ``2`` and ``sum`` terms are the Gaussian fourth moment ``E[x x^T K x x^T] = 2 R K R + R tr(RK)``),
and the mean-square error is ``J = J_min + sum_i lambda_i c_i``. From it:

- the mean weights converge iff ``mu < 2 / lambda_max`` (necessary, not sufficient for the MSE);
- the MSE converges iff the recursion's matrix has spectral radius < 1: the *mean-square bound*
  (for white input of n taps and power s, ``2 / ((n + 2) s)``); ``2 / tr(R)`` is the classical
  rule of thumb, a little above it, and ``2 / (3 tr R)`` a safe bound whatever the spread;
- the misadjustment ``M = J_excess / J_min = a / (1 - a)``, ``a = sum_i mu lambda_i / (2 (1 - mu lambda_i))``,
  which is ``mu tr(R) / 2`` for small ``mu``;
- mode i of the MSE decays with time constant ``-1 / ln((1 - mu lambda_i)^2) ~ 1 / (2 mu lambda_i)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def correlation(X: np.ndarray) -> np.ndarray:
    """Sample correlation matrix ``R = X^T X / N`` of inputs ``X`` ``(N, n)``."""
    X = np.asarray(X, dtype=float)
    return X.T @ X / len(X)


def cross_correlation(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Sample cross-correlation ``p = X^T d / N`` ``(n,)``."""
    X = np.asarray(X, dtype=float)
    return X.T @ np.asarray(d, dtype=float) / len(X)


def wiener_solution(R: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``w* = R^-1 p``, the weights of least mean-square error (solved, not inverted)."""
    return np.linalg.solve(R, p)


@dataclass(frozen=True)
class StepSizeBounds:
    """Step-size limits of LMS for a correlation matrix (see the module docstring).

    Attributes
    ----------
    mean : float
        ``2 / lambda_max``: above it the mean weights diverge.
    mean_square : float
        The largest ``mu`` at which the MSE converges (independence theory, Gaussian input).
    trace : float
        ``2 / tr(R)``, the classical rule of thumb.
    safe : float
        ``2 / (3 tr R)``: below it the MSE converges whatever the eigenvalue spread.
    """

    mean: float
    mean_square: float
    trace: float
    safe: float


def step_size_bounds(R: np.ndarray) -> StepSizeBounds:
    """The four bounds of :class:`StepSizeBounds` for ``R`` ``(n, n)``."""
    lam = np.linalg.eigvalsh(R)
    trace = float(lam.sum())
    return StepSizeBounds(mean=2.0 / float(lam.max()), mean_square=_mean_square_bound(lam),
                          trace=2.0 / trace, safe=2.0 / (3.0 * trace))


def _mean_square_bound(lam: np.ndarray) -> float:
    # the spectral radius of the recursion grows with mu past the bound: bisect on it
    low, high = 0.0, 2.0 / float(lam.max())
    for _ in range(80):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if _spectral_radius(lam, mid) < 1.0 else (low, mid)
    return low


def _recursion_matrix(lam: np.ndarray, mu: float) -> np.ndarray:
    return np.diag(1.0 - 2.0 * mu * lam + 2.0 * mu**2 * lam**2) + mu**2 * np.outer(lam, lam)


def _spectral_radius(lam: np.ndarray, mu: float) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(_recursion_matrix(lam, mu)))))


def misadjustment(R: np.ndarray, mu: float) -> float:
    """Steady-state ``J_excess / J_min`` (independence theory); inf beyond the mean-square bound."""
    lam = np.linalg.eigvalsh(R)
    if mu >= _mean_square_bound(lam):
        return float("inf")
    a = float(np.sum(mu * lam / (2.0 * (1.0 - mu * lam))))
    return a / (1.0 - a)


def misadjustment_small_step(R: np.ndarray, mu: float) -> float:
    """``mu tr(R) / 2``: the misadjustment for small ``mu``."""
    return 0.5 * mu * float(np.trace(R))


def time_constants(R: np.ndarray, mu: float) -> np.ndarray:
    """Time constants (samples) of the MSE's modes, ``-1 / ln((1 - mu lambda_i)^2)``, slowest first."""
    lam = np.sort(np.linalg.eigvalsh(R))
    return -1.0 / np.log((1.0 - mu * lam) ** 2)


def learning_curve(R: np.ndarray, mu: float, j_min: float, initial_error: np.ndarray, steps: int) -> np.ndarray:
    """The expected MSE ``(steps,)`` of LMS started with weight error ``initial_error`` ``(n,)`` = w(0) - w*.

    The expectation of the squared a-priori error at every step, from the recursion of the module
    docstring (exact for i.i.d. Gaussian input vectors).
    """
    lam, Q = np.linalg.eigh(R)
    c = (Q.T @ np.asarray(initial_error, dtype=float)) ** 2
    curve = np.empty(int(steps))
    mu = np.float64(mu)  # a step size far past stability diverges to inf, as NumPy floats do (Python's overflow raises)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(int(steps)):
            excess = float(lam @ c)
            curve[t] = j_min + excess
            c = (1.0 - 2.0 * mu * lam + 2.0 * mu**2 * lam**2) * c + mu**2 * lam * (excess + j_min)
    return curve
