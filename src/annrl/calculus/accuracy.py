"""How accurate is each differentiation method? RMSE against the exact derivative, by noise level.

Noise is Gaussian with standard deviation ``level * std(x)`` per column (std over the clean
signal), the same convention as ``annrl.systems``. Each noisy level is averaged over several
independent noise draws; the noise-free level needs one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from annrl.errors import InputError

from .base import Differentiator
from .finite_difference import BackwardDifference, CentralDifference, FivePointStencil, ForwardDifference
from .savgol import SavitzkyGolay
from .spline import SmoothingSpline
from .total_variation import TotalVariation

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn
    from matplotlib.figure import Figure


def default_methods() -> dict[str, Differentiator]:
    """Every method with its default settings, by a short label."""
    return {
        "forward": ForwardDifference(),
        "backward": BackwardDifference(),
        "central": CentralDifference(),
        "5-point": FivePointStencil(),
        "Savitzky-Golay": SavitzkyGolay(),
        "smoothing spline": SmoothingSpline(),
        "total variation": TotalVariation(),
    }


def analytic_signal(n: int = 401, duration: float = 20.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x(t) = sin(t) + 0.5 cos(2.3 t) on [0, duration] and its derivative, each shape ``(n,)``.

    Two incommensurate frequencies, so no stencil is lucky on it; std(x) ~ 0.79, RMS(x') ~ 1.2.
    """
    t = np.linspace(0.0, duration, n)
    return t, np.sin(t) + 0.5 * np.cos(2.3 * t), np.cos(t) - 1.15 * np.sin(2.3 * t)


@dataclass(frozen=True, eq=False)
class AccuracyTable:
    """RMSE of each method at each noise level.

    Attributes
    ----------
    methods : tuple of str
        Method labels, one per row.
    noise_levels : tuple of float
        Noise as a fraction of std(x), one per column.
    rmse : ndarray, shape (methods, noise_levels)
        Root-mean-square error over all samples (edges included) and columns, averaged over trials.
    spread : ndarray, shape (methods, noise_levels)
        Standard deviation of that RMSE over the trials (0 without noise).
    derivative_rms : float
        RMS of the exact derivative, the scale against which to read the errors.
    trials : int
        Noise draws per noisy level.
    signal : str
        What was differentiated.
    """

    methods: tuple[str, ...]
    noise_levels: tuple[float, ...]
    rmse: np.ndarray
    spread: np.ndarray
    derivative_rms: float
    trials: int
    signal: str = ""

    def best(self, noise_level: float) -> str:
        """The label of the most accurate method at ``noise_level``."""
        return self.methods[int(np.argmin(self.rmse[:, self.noise_levels.index(noise_level)]))]

    def to_markdown(self) -> str:
        """The table in Markdown: one row per method, one column per noise level."""
        header = "| method | " + " | ".join(f"noise {level * 100:g}%" for level in self.noise_levels) + " |"
        rule = "|---|" + "---:|" * len(self.noise_levels)
        rows = [f"| {name} | " + " | ".join(f"{value:.3g}" for value in self.rmse[i]) + " |"
                for i, name in enumerate(self.methods)]
        note = f"RMSE of dx/dt on {self.signal} (RMS of dx/dt: {self.derivative_rms:.3f}; {self.trials} noise draws)"
        return "\n".join([note, "", header, rule, *rows])

    def to_dict(self) -> dict:
        """JSON-ready: ``{"signal", "derivative_rms", "trials", "rmse": {method: {level: value}}}``."""
        return {
            "signal": self.signal,
            "derivative_rms": self.derivative_rms,
            "trials": self.trials,
            "rmse": {name: {str(level): float(v) for level, v in zip(self.noise_levels, self.rmse[i], strict=True)}
                     for i, name in enumerate(self.methods)},
        }

    def __str__(self) -> str:
        return self.to_markdown()


def accuracy_table(t: np.ndarray, x: np.ndarray, dxdt: np.ndarray, *, rng: np.random.Generator,
                   methods: Mapping[str, Differentiator] | None = None,
                   noise_levels: Sequence[float] = (0.0, 0.01, 0.05), trials: int = 5,
                   signal: str = "") -> AccuracyTable:
    """Measure every method at every noise level against the exact derivative.

    Parameters
    ----------
    t : ndarray, shape (n,)
        Sample times.
    x : ndarray, shape (n,) or (n, d)
        The clean signal.
    dxdt : ndarray, same shape as ``x``
        Its exact derivative.
    rng : numpy.random.Generator
        Source of the noise. All methods see the same noisy samples.
    methods : mapping of str to Differentiator, default=None
        Methods by label; ``None`` uses :func:`default_methods`.
    noise_levels : sequence of float, default=(0.0, 0.01, 0.05)
        Noise standard deviations as fractions of each column's std.
    trials : int, default=5
        Noise draws per noisy level.
    signal : str, default=""
        A description of the signal, for the table's caption.

    Returns
    -------
    AccuracyTable
    """
    if trials < 1:
        raise InputError(f"trials must be >= 1, got {trials}")
    if np.shape(dxdt) != np.shape(x):
        raise InputError(f"dxdt must have the shape of x {np.shape(x)}, got {np.shape(dxdt)}")
    methods = dict(methods or default_methods())
    x, dxdt = np.asarray(x, dtype=float), np.asarray(dxdt, dtype=float)
    rmse = np.zeros((len(methods), len(noise_levels)))
    spread = np.zeros_like(rmse)
    for j, level in enumerate(noise_levels):
        draws = trials if level > 0 else 1  # without noise every draw is the same
        errors = np.zeros((len(methods), draws))
        for k in range(draws):
            noisy = x + level * x.std(axis=0) * rng.standard_normal(x.shape)
            for i, method in enumerate(methods.values()):
                errors[i, k] = np.sqrt(np.mean((method(noisy, t) - dxdt) ** 2))
        rmse[:, j], spread[:, j] = errors.mean(axis=1), errors.std(axis=1)
    return AccuracyTable(methods=tuple(methods), noise_levels=tuple(float(v) for v in noise_levels),
                         rmse=rmse, spread=spread,
                         derivative_rms=float(np.sqrt(np.mean(dxdt**2))), trials=trials, signal=signal)


def plot_accuracy(table: AccuracyTable, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """RMSE against noise level, one line per method (log scale), drawn into ``ax`` when given; returns the
    Figure, written to ``path`` if given."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(6.6, 3.6))
    positions = np.arange(len(table.noise_levels))
    for name, row, spread in zip(table.methods, table.rmse, table.spread, strict=True):
        ax.errorbar(positions, row, yerr=spread, marker="o", ms=4, capsize=2, label=name)
    ax.set_xticks(positions, [f"{level * 100:g}%" for level in table.noise_levels])
    ax.set_yscale("log")
    ax.set(xlabel="noise (fraction of std x)", ylabel="RMSE of dx/dt", title=f"Derivative accuracy: {table.signal}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish(fig, path)


def plot_estimates(t: np.ndarray, noisy: np.ndarray, dxdt: np.ndarray, methods: Mapping[str, Differentiator],
                   path: str | Path | None = None, *, title: str = "", ax: Any = None) -> Figure:
    """Each method's estimate from one noisy signal ``(n,)`` against the exact derivative ``(n,)``, drawn into
    ``ax`` when given; returns the Figure, written to ``path`` if given."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(7.6, 3.6))
    ax.plot(t, dxdt, color="black", lw=2.2, label="exact")
    for name, method in methods.items():
        ax.plot(t, method(noisy, t), lw=1.0, label=name)
    spread = np.ptp(dxdt)
    ax.set_ylim(dxdt.min() - 0.3 * spread, dxdt.max() + 0.3 * spread)  # raw differences would swamp the scale
    ax.set(xlabel="time t", ylabel="dx/dt", title=title or "Derivative estimates")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish(fig, path)
