"""The dynamics lab's figures: phase portraits, trajectories, rollout error, derivative, training loss.

Each takes ``ax=None`` (``fig=None`` for several panels), returns its Figure and writes a PNG only when
given ``path`` (see :mod:`annrl.viz.style`); :func:`write_figures` writes a command's files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from annrl.labs.dynamics.lab import APPROACHES, VALID_ERROR, DynamicsResult

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the command
    from matplotlib.figure import Figure

COLORS = {"true": "#222222", "derivative": "#2a7ab0", "rollout": "#d1495b"}


def fmt(value: Any, digits: int = 3) -> str:
    """A metric for a title or a table: ``digits`` significant digits, or "failed" for None."""
    return "failed" if value is None else f"{value:.{digits}g}"


def write_figures(result: DynamicsResult, out: str | Path) -> list[Path]:
    """The lab's figures, written under ``out``: phase portraits, time series, error over time, derivative,
    training loss; their paths."""
    from annrl.viz.style import save_all

    figures = {"phase_portraits.png": phase_portraits(result)} \
        if result.system is not None and result.system.dim == 2 else {}  # a portrait is a plane
    figures |= {"trajectories.png": time_series(result), "rollout_error.png": error_over_time(result),
                "derivative.png": derivative_estimate(result), "training_loss.png": training_loss(result)}
    return save_all(figures, out)


def _path(t: np.ndarray, x: np.ndarray, names: tuple[str, ...]):
    from annrl.systems import Trajectory

    return Trajectory(t=t, x=x, x_clean=x, dxdt_clean=np.zeros_like(x), names=names)


def phase_portraits(result: DynamicsResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """The true field and each learned field side by side, each with its trajectories.

    Left: the true field, the training orbit (observations as dots) and the true orbits from the
    unseen starts. Then one panel per approach: the learned field and its solve_ivp trajectories
    from the same starts.
    """
    from annrl.systems.plots import draw_phase_portrait
    from annrl.viz.style import finish, panels

    tr, names = result.trajectory, result.trajectory.names
    unseen_true = [truth for truth, _ in next(iter(result.fields.values())).unseen]
    everything = np.concatenate([tr.x, tr.x_clean, *unseen_true])
    low, high = everything.min(axis=0), everything.max(axis=0)
    margin = 0.1 * (high - low)
    bounds = (low[0] - margin[0], high[0] + margin[0], low[1] - margin[1], high[1] + margin[1])
    fig, axes = panels(fig, ncols=1 + len(result.fields))
    axes = np.atleast_1d(axes)
    draw_phase_portrait(axes[0], result.system, [tr, *(_path(tr.t, x, names) for x in unseen_true)],
                        bounds=bounds, title="True field")
    for ax, (name, r) in zip(axes[1:], result.fields.items(), strict=True):
        paths = [_path(tr.t, r.rollout, names), *(_path(tr.t, learned, names) for _, learned in r.unseen)]
        draw_phase_portrait(ax, r.field, paths, bounds=bounds,
                            title=f"Learned ({name}): field RMSE {fmt(r.metrics['field_rmse'], 2)}")
    fig.suptitle(f"{result.config.name}, {100 * result.config.noise:g}% noise: trajectories from the training "
                 "start and from unseen starts", fontsize=9)
    return finish(fig, path)


def time_series(result: DynamicsResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """Each state against time: the clean trajectory, the observations and every learned rollout."""
    from annrl.viz.style import finish, panels

    tr = result.trajectory
    fig, axes = panels(fig, ncols=1, nrows=tr.dim, size=(7.0, 2.4 * tr.dim), sharex=True)
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(tr.t, tr.x_clean[:, i], color=COLORS["true"], lw=1.6, label="true")
        if tr.noise > 0:
            ax.plot(tr.t, tr.x[:, i], ".", ms=2, color="#999999", label="observed")
        for name, r in result.fields.items():
            ax.plot(tr.t, r.rollout[:, i], color=COLORS[name], lw=1.0, ls="--", label=f"learned ({name})")
        ax.set(ylabel=tr.names[i])
    axes = np.atleast_1d(axes)
    axes[0].set_title("Training start: true and learned trajectories (solve_ivp)")
    axes[0].legend(loc="upper right")
    axes[-1].set_xlabel("time t")
    return finish(fig, path)


def error_over_time(result: DynamicsResult, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """Standardised trajectory error over time: the training start (solid) and unseen starts (dashed)."""
    from annrl.labs.dynamics.lab import standardised_error
    from annrl.viz.style import finish, panel

    tr = result.trajectory
    std = tr.x.std(axis=0)
    fig, ax = panel(ax, size=(6.5, 3.6))
    for name, r in result.fields.items():  # from the first sample on: the error is 0 at t0
        ax.plot(tr.t[1:], r.rollout_error[1:], color=COLORS[name], lw=1.4, label=f"{name}, training start")
        for k, (truth, learned) in enumerate(r.unseen):
            ax.plot(tr.t[1:], standardised_error(learned, truth, std)[1:], color=COLORS[name], lw=0.9,
                    ls="--" if k == 0 else ":", label=f"{name}, unseen start {k + 1}")
    ax.axhline(VALID_ERROR, color="#888888", lw=0.8)
    ax.set_yscale("log")
    ax.set(xlabel="time t", ylabel="error / std of the data", title="Trajectory error of the learned fields")
    ax.legend(fontsize=7)
    return finish(fig, path)


def derivative_estimate(result: DynamicsResult, path: str | Path | None = None, *,
                        fig: Figure | None = None) -> Figure:
    """The numerical derivative estimate against the true derivative, per state."""
    from annrl.viz.style import finish, panels

    tr = result.trajectory
    fig, axes = panels(fig, ncols=1, nrows=tr.dim, size=(7.0, 2.2 * tr.dim), sharex=True)
    axes = np.atleast_1d(axes)
    for i, ax in enumerate(axes):
        ax.plot(tr.t, tr.dxdt_clean[:, i], color=COLORS["true"], lw=1.4, label="true")
        ax.plot(tr.t, result.derivative[:, i], color=COLORS["derivative"], lw=0.9, label=result.config.method)
        ax.set(ylabel=f"d{tr.names[i]}/dt")
    axes[0].set_title(f"Derivative estimate ({result.config.method}): RMSE "
                      f"{fmt(result.metrics['derivative_rmse'])}")
    axes[0].legend(loc="upper right")
    axes[-1].set_xlabel("time t")
    return finish(fig, path)


def training_loss(result: DynamicsResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """Training loss per epoch of each approach (each in its own standardised units)."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, ncols=len(result.fields))
    for ax, (name, r) in zip(np.atleast_1d(axes), result.fields.items(), strict=True):
        ax.plot(np.arange(1, len(r.loss) + 1), r.loss, color=COLORS[name])
        ax.set_yscale("log")
        what = "MSE of dz/dt / r" if name == "derivative" else "MSE of the window states z"
        ax.set(xlabel="epoch", ylabel=what, title=f"Training loss ({name})")
    return finish(fig, path)


def compare_figure(rows: list[dict[str, Any]], path: str | Path | None = None, system: str = "", *,
                   fig: Figure | None = None) -> Figure:
    """Grouped bars of field and rollout RMSE, per noise level and approach (``system`` names the title)."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, ncols=2, size=(8.0, 3.4))
    noises = sorted({r["noise"] for r in rows})
    for ax, key in zip(axes, ("field_rmse_on_data", "rollout_rmse"), strict=True):
        for k, approach in enumerate(APPROACHES):
            values = [next((r[key] for r in rows if r["noise"] == n and r["approach"] == approach), None)
                      for n in noises]
            ax.bar(np.arange(len(noises)) + 0.38 * (k - 0.5), [np.nan if v is None else v for v in values],
                   width=0.38, color=COLORS[approach], label=approach)
        ax.set_xticks(np.arange(len(noises)), [f"{100 * n:g}% noise" for n in noises])
        ax.set(ylabel=key.replace("_", " "), title=f"{system}: {key.replace('_', ' ')}")
        ax.legend()
    return finish(fig, path)
