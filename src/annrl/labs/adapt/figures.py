"""The adaptive lab's figures: LMS learning curves against theory, step sizes against the bounds,
noise cancellation, tracking, accuracy over a drifting stream, and a growing network's size.

Each takes ``ax=None`` (``fig=None`` for several panels), returns its Figure and writes a PNG only when
given ``path`` (see :mod:`annrl.viz.style`); :func:`write_figures` writes a command's files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from annrl.labs.adapt.filters import NoiseCancellation, StepSizeSweep, SystemIdentification, Tracking
from annrl.labs.adapt.grow import Growth
from annrl.labs.adapt.lab import Result
from annrl.labs.adapt.prequential import StreamComparison, rolling_accuracy

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the command
    from matplotlib.figure import Figure

COLORS = {"frozen": "#888888", "continual": "#2a7ab0", "adaptive": "#d1495b"}


def learning_curves(results: Sequence[SystemIdentification], path: str | Path | None = None, *,
                    ax: Any = None) -> Figure:
    """Ensemble-averaged MSE of system identification for several step sizes, with the theory's curve."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(6.0, 3.8))
    for k, result in enumerate(results):
        color = f"C{k}"
        ax.semilogy(result.mse, color=color, lw=0.8, alpha=0.8, label=f"{result.rule}, mu = {result.mu:g}")
        if np.all(np.isfinite(result.theory)):
            ax.semilogy(result.theory, color="k", lw=1.0, ls="--")
    ax.axhline(results[0].j_min, color="k", lw=0.6, ls=":", label="J_min (Wiener)")
    ax.plot([], [], color="k", ls="--", label="theory (independence)")
    runs = results[0].weights.shape[0]
    ax.set(xlabel="sample", ylabel="mean squared error", title=f"LMS identifying an FIR filter ({runs} runs)")
    ax.legend(fontsize=7)
    return finish(fig, path)


def step_sizes(sweep: StepSizeSweep, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """Measured misadjustment against the step size, with the theory and the bounds marked."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(6.0, 3.8))
    finite = sweep.misadjustment < 1e3
    ax.loglog(sweep.mus[finite], sweep.misadjustment[finite], "o", color="#2a7ab0", label="measured")
    grid = np.geomspace(sweep.mus.min(), sweep.bounds.mean_square * 0.999, 100)
    small = sweep.misadjustment_small_step[0] / sweep.mus[0] * grid
    ax.loglog(grid, small, color="k", ls=":", lw=1, label="mu tr(R) / 2")
    ax.loglog(sweep.mus[finite], sweep.misadjustment_theory[finite], color="k", lw=1, label="theory")
    for value, name, style in ((sweep.bounds.mean_square, "mean-square bound", "--"),
                               (sweep.bounds.trace, "2 / tr R", "-."), (sweep.bounds.mean, "2 / lambda_max", ":")):
        ax.axvline(value, color="#d1495b", ls=style, lw=1, label=name)
    for mu in sweep.mus[~finite]:
        ax.annotate("diverged", (mu, ax.get_ylim()[1]), rotation=90, va="top", fontsize=7, color="#d1495b")
    ax.set(xlabel="step size mu", ylabel="misadjustment (J - J_min) / J_min", title="LMS: misadjustment and stability")
    ax.legend(fontsize=7)
    return finish(fig, path)


def noise_cancellation(result: NoiseCancellation, path: str | Path | None = None, *, samples: int = 400,
                       ax: Any = None) -> Figure:
    """The last ``samples`` samples: the noisy primary input, the cleaned output and the clean signal."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(6.0, 3.4))
    t = np.arange(len(result.signal))[-samples:]
    ax.plot(t, result.primary[-samples:], color="#bbbbbb", lw=0.8, label=f"primary (SNR {result.snr_in_db:.1f} dB)")
    ax.plot(t, result.cleaned[-samples:], color="#2a7ab0", lw=1.0, label=f"cleaned (SNR {result.snr_out_db:.1f} dB)")
    ax.plot(t, result.signal[-samples:], color="k", lw=0.8, ls="--", label="signal")
    ax.set(xlabel="sample", ylabel="amplitude", title="Adaptive noise cancelling (NLMS)")
    ax.legend(fontsize=7, loc="upper right")
    return finish(fig, path)


def tracking(result: Tracking, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """Two panels: the drifting coefficient and its NLMS estimate; excess MSE against the step size."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, ncols=2, size=(9.0, 3.4))
    axes[0].plot(result.true_weight, color="k", lw=1.0, label="drifting coefficient")
    axes[0].plot(result.tracked_weight, color="#2a7ab0", lw=0.8, label=f"NLMS, mu = {result.best_mu:g}")
    axes[0].set(xlabel="sample", ylabel="w_0", title="Tracking a drifting system")
    axes[0].legend(fontsize=7)
    axes[1].loglog(result.mus, result.excess_mse, "o-", color="#d1495b")
    axes[1].set(xlabel="step size mu", ylabel="excess MSE", title="Lag (small mu) vs noise (large mu)")
    return finish(fig, path)


def stream_accuracy(result: StreamComparison, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """Rolling prequential accuracy of every learner, drifts and detections marked."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(7.0, 3.6))
    for mode, hits in result.hits.items():
        ax.plot(100 * rolling_accuracy(hits, result.window), color=COLORS.get(mode), lw=1.0, label=mode)
    for k, drift in enumerate(result.stream.drifts):
        ax.axvline(drift, color="k", ls="--", lw=0.8, label="drift" if k == 0 else None)
        if result.stream.width:
            ax.axvspan(drift - result.stream.width / 2, drift + result.stream.width / 2, color="k", alpha=0.06)
    for k, detection in enumerate(result.detections):
        ax.axvline(detection, color=COLORS["adaptive"], ls=":", lw=0.8, label="detected" if k == 0 else None)
    ax.set(xlabel="sample", ylabel=f"accuracy, last {result.window} samples (%)", ylim=(0, 103),
           title=f"Prequential accuracy: {result.stream.name} drift")
    ax.legend(fontsize=7, loc="lower left")
    return finish(fig, path)


def growth(records: dict[str, Growth], target: float, path: str | Path | None = None, *,
           fig: Figure | None = None) -> Figure:
    """Hidden units and training loss against epochs, one line per task."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, ncols=2, size=(9.0, 3.4))
    for k, (name, record) in enumerate(records.items()):
        axes[0].step(np.arange(len(record.units)), record.units, where="post", color=f"C{k}", label=name)
        axes[1].semilogy(record.loss, color=f"C{k}", lw=0.9, label=name)
    axes[1].axhline(target, color="k", ls=":", lw=0.8, label="target")
    axes[0].set(xlabel="epoch", ylabel="hidden units", title="Network size over time")
    axes[1].set(xlabel="epoch", ylabel="training MSE", title="Loss (a unit is added at each plateau)")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    return finish(fig, path)


def write_figures(result: Result, out: str | Path) -> list[Path]:
    """The figures of one ``annrl adapt`` experiment, written under ``out``; their paths."""
    from annrl.viz.style import save_all

    parts = result.parts
    if result.experiment == "lms":
        figures = {"lms_learning_curves.png": learning_curves(parts["curves"]),
                   "lms_step_sizes.png": step_sizes(parts["sweep"]),
                   "lms_noise_cancellation.png": noise_cancellation(parts["cancel"]),
                   "lms_tracking.png": tracking(parts["track"])}
    elif result.experiment == "stream":
        figures = {f"stream_{kind}.png": stream_accuracy(c) for kind, c in parts["comparisons"].items()}
    else:
        figures = {"grow_size.png": growth(parts["records"], result.config.target)}
    return save_all(figures, out)
