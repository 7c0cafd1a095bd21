"""Adaptive filters built from one :class:`~annrl.nn.lms.Adaline`: system identification,
noise cancellation and tracking a drifting system.

Every experiment runs ``runs`` independent realisations as the Adaline's population axis, so an
ensemble-averaged learning curve costs one pass over the samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.signal import lfilter

from annrl.labs.adapt import theory
from annrl.nn.lms import Adaline


def tapped_delay_line(x: np.ndarray, taps: int) -> np.ndarray:
    """The input vectors of an FIR filter: ``(..., T)`` -> ``(..., T, taps)``, row t = x[t], x[t-1], ...

    Samples before the start are zero.
    """
    x = np.asarray(x, dtype=float)
    padded = np.concatenate([np.zeros((*x.shape[:-1], taps - 1)), x], axis=-1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps, axis=-1)
    return windows[..., ::-1].copy()


def colored_noise(rng: np.random.Generator, shape: tuple[int, ...], pole: float) -> np.ndarray:
    """Unit-power AR(1) noise ``x[t] = pole x[t-1] + sqrt(1 - pole^2) w[t]`` along the last axis."""
    white = rng.normal(size=shape) * np.sqrt(1.0 - pole**2)
    start = rng.normal(size=shape[:-1]) * pole  # starts in the stationary distribution
    x = lfilter([1.0], [1.0, -pole], white, axis=-1)
    return x + start[..., None] * pole ** np.arange(shape[-1])


def ar1_correlation(taps: int, pole: float) -> np.ndarray:
    """The exact correlation matrix ``R[i, j] = pole^|i - j|`` of unit-power AR(1) taps."""
    index = np.arange(taps)
    return pole ** np.abs(index[:, None] - index[None, :])


@dataclass
class SystemIdentification:
    """What :func:`identify_system` measured.

    Attributes
    ----------
    mse : ndarray (steps,)
        Ensemble-averaged squared a-priori error: the learning curve.
    theory : ndarray (steps,)
        The independence theory's expected learning curve (LMS only; NaN for NLMS).
    weights : ndarray (runs, taps)
        Final weights of every run.
    wiener : ndarray (taps,)
        ``R^-1 p`` for the exact R and p of the process.
    unknown : ndarray
        The unknown system's impulse response.
    j_min : float
        Least mean-square error (the noise power, plus what a short filter cannot model).
    bounds : theory.StepSizeBounds
    """

    mse: np.ndarray
    theory: np.ndarray
    weights: np.ndarray
    wiener: np.ndarray
    unknown: np.ndarray
    j_min: float
    bounds: theory.StepSizeBounds
    mu: float
    rule: str
    metrics: dict[str, Any] = field(default_factory=dict)


def identify_system(unknown: Any = (1.0, 0.5, -0.4, 0.2, 0.1), *, taps: int | None = None, mu: float = 0.02,
                    rule: str = "lms", pole: float = 0.6, noise: float = 0.05, steps: int = 2000, runs: int = 100,
                    seed: int | np.random.Generator = 0) -> SystemIdentification:
    """Identify an unknown FIR filter from its input (AR(1) coloured) and its noisy output.

    Parameters
    ----------
    unknown : sequence of float
        Impulse response of the unknown system.
    taps : int, optional
        Taps of the adaptive filter (default: as many as the unknown's). Fewer taps make the
        Wiener solution differ from the truncated response: the input's colour leaks in.
    mu : float, default=0.02
    rule : {"lms", "nlms"}, default="lms"
    pole : float, default=0.6
        AR(1) pole of the input: its eigenvalue spread.
    noise : float, default=0.05
        Standard deviation of the output noise.
    steps, runs : int
    seed : int or numpy.random.Generator
        Seed of the generator every draw comes from (or that generator itself).
    """
    unknown = np.asarray(unknown, dtype=float)
    taps = len(unknown) if taps is None else int(taps)
    rng = np.random.default_rng(seed)
    x = colored_noise(rng, (runs, steps + len(unknown)), pole)
    full = tapped_delay_line(x, max(taps, len(unknown)))[:, len(unknown):]  # (runs, steps, max)
    d = full[..., : len(unknown)] @ unknown + noise * rng.normal(size=(runs, steps))
    X = full[..., :taps]
    adaline = Adaline(taps, mu=mu, rule=rule, bias=False, population=runs)
    with np.errstate(over="ignore", invalid="ignore"):
        errors = adaline.adapt(X, d)
    # the exact R and p of the process: the whole (longer) delay line is AR(1)-correlated
    R_full = ar1_correlation(max(taps, len(unknown)), pole)
    R, p = R_full[:taps, :taps], R_full[:taps, : len(unknown)] @ unknown
    wiener = theory.wiener_solution(R, p)
    j_min = float(noise**2 + unknown @ R_full[: len(unknown), : len(unknown)] @ unknown - p @ wiener)
    curve = theory.learning_curve(R, mu, j_min, -wiener, steps) if rule == "lms" else np.full(steps, np.nan)
    return SystemIdentification(np.mean(errors**2, axis=0), curve, np.array(adaline.weights), wiener, unknown, j_min,
                                theory.step_size_bounds(R), mu, rule)


@dataclass
class NoiseCancellation:
    """What :func:`cancel_noise` measured: the signals of one run and the gain in SNR."""

    signal: np.ndarray
    primary: np.ndarray
    cleaned: np.ndarray
    snr_in_db: float
    snr_out_db: float


def cancel_noise(*, taps: int = 16, mu: float = 0.1, steps: int = 4000,
                 seed: int | np.random.Generator = 0) -> NoiseCancellation:
    """Widrow's adaptive noise canceller.

    The primary sensor hears a signal (a slow sinusoid) plus noise that reached it through an
    unknown path; a reference sensor hears the noise source alone. An NLMS filter of the reference
    predicts the noise in the primary; the error ``primary - prediction`` is the cleaned signal
    (the filter cannot predict the signal, uncorrelated with the reference, so it leaves it).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    signal = np.sin(2 * np.pi * t / 80.0)
    source = rng.normal(size=steps)
    path = np.array([0.8, -0.5, 0.3, 0.2, -0.1])  # the unknown acoustic path to the primary sensor
    primary = signal + lfilter(path, [1.0], source)
    adaline = Adaline(taps, mu=mu, rule="nlms", bias=False)
    cleaned = adaline.adapt(tapped_delay_line(source, taps), primary)[0]
    settled = slice(steps // 2, None)
    snr_in = _snr_db(signal[settled], primary[settled] - signal[settled])
    snr_out = _snr_db(signal[settled], cleaned[settled] - signal[settled])
    return NoiseCancellation(signal, primary, cleaned, snr_in, snr_out)


def _snr_db(signal: np.ndarray, noise: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(signal**2) / np.mean(noise**2)))


@dataclass
class Tracking:
    """What :func:`track_drift` measured.

    Attributes
    ----------
    mus : ndarray (k,)
        Step sizes tried (NLMS).
    excess_mse : ndarray (k,)
        Excess MSE over the noise once tracking: lag (small mu) against gradient noise (large mu).
    true_weight, tracked_weight : ndarray (steps,)
        The first coefficient of the drifting system and its estimate at the best step size.
    """

    mus: np.ndarray
    excess_mse: np.ndarray
    true_weight: np.ndarray
    tracked_weight: np.ndarray

    @property
    def best_mu(self) -> float:
        return float(self.mus[int(np.argmin(self.excess_mse))])


def track_drift(*, taps: int = 4, mus: Any = (0.003, 0.01, 0.03, 0.1, 0.3, 0.9), noise: float = 0.1,
                period: float = 3000.0, steps: int = 6000, seed: int | np.random.Generator = 0) -> Tracking:
    """NLMS tracking an FIR system whose coefficients rotate slowly (one period every ``period`` samples).

    All step sizes adapt at once, as the population axis, on the same data.
    """
    rng = np.random.default_rng(seed)
    mus = np.asarray(mus, dtype=float)
    t = np.arange(steps)
    phase = 2 * np.pi * t / period
    a, b = rng.normal(size=taps), rng.normal(size=taps)
    drifting = np.cos(phase)[:, None] * a + np.sin(phase)[:, None] * b  # (steps, taps)
    X = tapped_delay_line(rng.normal(size=steps), taps)
    d = np.einsum("ti,ti->t", X, drifting) + noise * rng.normal(size=steps)
    adaline = Adaline(taps, mu=mus, rule="nlms", bias=False, population=len(mus))
    tracked = np.empty((steps, len(mus)))
    errors = np.empty((len(mus), steps))
    for step in range(steps):
        errors[:, step] = adaline.step(X[step], d[step])
        tracked[step] = adaline.weights[:, 0]
    excess = np.mean(errors[:, steps // 3 :] ** 2, axis=1) - noise**2
    best = int(np.argmin(excess))
    return Tracking(mus, excess, drifting[:, 0], tracked[:, best])


@dataclass
class StepSizeSweep:
    """What :func:`step_size_sweep` measured, one entry per step size.

    Attributes
    ----------
    mus : ndarray (k,)
    final_mse : ndarray (k,)
        Mean squared a-priori error over the last quarter (inf or huge when diverged).
    misadjustment, misadjustment_theory, misadjustment_small_step : ndarray (k,)
        Measured ``(MSE - J_min) / J_min``, the independence theory's, and ``mu tr(R) / 2``.
    bounds : theory.StepSizeBounds
    """

    mus: np.ndarray
    final_mse: np.ndarray
    misadjustment: np.ndarray
    misadjustment_theory: np.ndarray
    misadjustment_small_step: np.ndarray
    bounds: theory.StepSizeBounds
    j_min: float


def gaussian_inputs(eigenvalues: Any, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A correlation matrix with these eigenvalues (random eigenvectors) and its Cholesky factor."""
    lam = np.asarray(eigenvalues, dtype=float)
    q, _ = np.linalg.qr(rng.normal(size=(len(lam), len(lam))))
    R = q @ np.diag(lam) @ q.T
    return R, np.linalg.cholesky(R)


def step_size_sweep(factors: Any = (0.05, 0.1, 0.2, 0.4, 0.8, 1.25), *, eigenvalues: Any = (0.2, 0.5, 1.0, 1.5, 2.0),
                    noise: float = 0.3, steps: int = 3000, runs: int = 100,
                    seed: int | np.random.Generator = 0) -> StepSizeSweep:
    """LMS on i.i.d. Gaussian input vectors (where the independence theory is exact) at step sizes
    ``factors`` times the mean-square bound; all step sizes and runs adapt at once as one population."""
    rng = np.random.default_rng(seed)
    R, L = gaussian_inputs(eigenvalues, rng)
    n, k = len(R), len(factors)
    bounds = theory.step_size_bounds(R)
    mus = np.asarray(factors, dtype=float) * bounds.mean_square
    w_true = rng.normal(size=n)
    X = rng.normal(size=(runs, steps, n)) @ L.T
    d = X @ w_true + noise * rng.normal(size=(runs, steps))
    adaline = Adaline(n, mu=np.repeat(mus, runs), bias=False, population=k * runs)
    with np.errstate(over="ignore", invalid="ignore"):
        errors = adaline.adapt(np.tile(X, (k, 1, 1)), np.tile(d, (k, 1)))
    squared = np.nan_to_num(errors[:, -steps // 4 :] ** 2, nan=np.inf).reshape(k, runs, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        final = squared.mean(axis=(1, 2))
    j_min = noise**2
    return StepSizeSweep(mus, final, (final - j_min) / j_min, np.array([theory.misadjustment(R, m) for m in mus]),
                         np.array([theory.misadjustment_small_step(R, m) for m in mus]), bounds, j_min)
