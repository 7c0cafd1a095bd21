"""Figures of the approximation lab: target against network, error curves, surfaces, studies.

Each takes ``ax=None`` (``fig=None`` for several panels), returns its Figure and writes a PNG only when
given ``path`` (see :mod:`annrl.viz.style`); :func:`write_figures` and :func:`study_figures` write a
command's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from annrl.labs.approx.lab import ApproxResult, error_scale
from annrl.labs.approx.studies import StudyResult
from annrl.viz.style import finish, panel, panels, save_all

TARGET, NETWORK, OTHERS, TOL = "#222222", "#2a7ab0", "#9ec3dd", "#d1495b"


def write_figures(result: ApproxResult, out: str | Path) -> list[Path]:
    """The run's figures, written under ``out``: the fit (1D curve, 2D surface or 3D slices) and the held-out
    error curve."""
    dim = result.target.dim
    fit = {"fit.png": fit_1d, "surface.png": fit_2d, "slices.png": fit_3d}
    name = list(fit)[min(dim, 3) - 1]
    return save_all({name: fit[name](result), "error_curve.png": error_curve(result)}, out)


def fit_1d(result: ApproxResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """Top: target, every network (best in bold) and the training points. Bottom: ``|error|``."""
    data, target, best = result.data, result.target, result.best
    x = data.X_test[:, 0]
    prediction = result.approximant(data.X_test)
    fig, (top, bottom) = panels(fig, nrows=2, size=(6.4, 6.0), sharex=True, height_ratios=(3, 2))
    for p in range(len(prediction)):
        if p != best:
            top.plot(x, prediction[p], color=OTHERS, lw=0.8)
    top.plot(x, data.y_test, color=TARGET, lw=1.4, label="target")
    top.plot(x, prediction[best], color=NETWORK, lw=1.4, ls="--", label=f"network (seed {best})")
    top.plot(data.X_train[:, 0], data.y_train, ".", color=TARGET, ms=2.5, alpha=0.5, label="training points")
    top.set(ylabel="f(x)", title=f"{target.label}: {_hidden(result)} {result.config.activation}")
    top.legend()
    scale = error_scale(result.config, data.y_test)
    bottom.semilogy(x, np.maximum(np.abs(prediction[best] - data.y_test) / scale, 1e-16), color=NETWORK, lw=1.0)
    if result.config.tol is not None:
        bottom.axhline(result.config.tol, color=TOL, ls=":", label=f"tol {result.config.tol:g}")
        bottom.legend()
    for s in target.singular:
        top.axvline(s, color=TOL, lw=0.6, alpha=0.5)
        bottom.axvline(s, color=TOL, lw=0.6, alpha=0.5)
    bottom.set(xlabel=target.variables[0], ylabel=("relative " if result.config.relative else "") + "|error|")
    return finish(fig, path)


def error_curve(result: ApproxResult, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """Held-out error of every network against epochs (log scale), the tolerance, when each met it."""
    config = result.config
    fig, ax = panel(ax, size=(6.0, 3.8))
    epochs = result.check_epochs
    for p in range(result.check_errors.shape[1]):
        color = NETWORK if p == result.best else OTHERS
        ax.semilogy(epochs, np.maximum(result.check_errors[:, p], 1e-16), color=color, lw=1.0)
        if result.reached_epoch[p] >= 0:
            ax.plot(result.reached_epoch[p], result.error[p], "o", color=color, ms=4)
    if config.tol is not None:
        ax.axhline(config.tol, color=TOL, ls=":", label=f"tol {config.tol:g}")
        ax.legend()
    unit = "iterations (L-BFGS)" if config.optimizer == "lbfgs" else "epochs"
    ax.set(xlabel=unit, ylabel=f"held-out {config.metric} error",
           title=f"{result.target.label}: {config.seeds} seed{'s' * (config.seeds > 1)}")
    return finish(fig, path)


def fit_2d(result: ApproxResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """Target and network as 3D surfaces, and the error as a heat map (best seed)."""
    from annrl.viz.surfaces import surfaces_and_error

    data, target = result.data, result.target
    n = data.test_points
    shape = (n, n)
    x = np.linspace(*target.domain[0], n)
    y = np.linspace(*target.domain[1], n)
    prediction = result.approximant(data.X_test)[result.best]
    return surfaces_and_error(x, y, data.y_test.reshape(shape), prediction.reshape(shape), path, fig=fig,
                              title=f"{target.label}: {_hidden(result)} {result.config.activation}",
                              labels=target.variables)


def fit_3d(result: ApproxResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """Heat maps of ``|error|`` on the three central slices of the box (best seed)."""
    from annrl.viz.surfaces import heat_maps

    target = result.target
    n = result.data.test_points
    axes = [np.linspace(low, high, n) for low, high in target.domain]
    maps, labels = [], []
    for fixed in (2, 1, 0):
        free = [a for a in range(3) if a != fixed]
        middle = axes[fixed][n // 2]
        first, second = np.meshgrid(axes[free[0]], axes[free[1]])  # [i_second, i_first]
        points = np.empty((n * n, 3))
        points[:, free[0]], points[:, free[1]], points[:, fixed] = first.ravel(), second.ravel(), middle
        values = np.abs(result.approximant(points)[result.best] - target(points)).reshape(n, n)
        maps.append((axes[free[0]], axes[free[1]], values, f"{target.variables[fixed]} = {middle:.3g}"))
        labels.append((target.variables[free[0]], target.variables[free[1]]))
    return heat_maps(maps, path, label="|network - target|", labels=labels, fig=fig,
                     title=f"{target.label}: error on central slices")


# -- studies -----------------------------------------------------------------------------------------
def study_figures(study: StudyResult, out: str | Path) -> list[Path]:
    """The study's figure (one per study), written as ``<out>/<study>.png``."""
    return save_all({f"{study.name}.png": study_figure(study)}, out)


def study_figure(study: StudyResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """The figure that answers ``study``'s question (capacity, smoothness, sophistication, extrapolation or
    derivative)."""
    draw = {"capacity": _capacity, "smoothness": _smoothness, "sophistication": _sophistication,
            "extrapolation": _extrapolation, "derivative": _derivative}[study.name]
    return finish(draw(study, fig), path)


def _capacity(study: StudyResult, fig: Figure | None) -> Figure:
    fig, ax = panels(fig, size=(5.8, 3.8))
    for depth in sorted({r["depth"] for r in study.rows}):
        rows = [r for r in study.rows if r["depth"] == depth]
        ax.loglog([r["width"] for r in rows], [max(r["error"], 1e-16) for r in rows], "o-",
                  label=f"{depth} hidden layer{'s' * (depth > 1)}")
    tol = study.summary.get("tol")
    if tol is not None:
        ax.axhline(tol, color=TOL, ls=":", label=f"tol {tol:g}")
    ax.set(xlabel="units per hidden layer", ylabel=f"held-out {study.summary.get('metric', '')} error",
           title=f"Capacity: smallest meeting tol = {study.summary['smallest_meeting_tol']}")
    ax.legend()
    return fig


def _smoothness(study: StudyResult, fig: Figure | None) -> Figure:
    runs = list(study.runs.values())
    fig, axes = panels(fig, ncols=len(runs), nrows=2, size=(4.0 * len(runs), 5.6), sharex="col")
    axes = np.asarray(axes).reshape(2, len(runs))
    for k, (result, row) in enumerate(zip(runs, study.rows, strict=True)):
        x = result.data.X_test[:, 0]
        prediction = result.approximant(result.data.X_test)[result.best]
        axes[0, k].plot(x, result.data.y_test, color=TARGET, lw=1.4, label="target")
        axes[0, k].plot(x, prediction, color=NETWORK, ls="--", lw=1.4, label="network")
        axes[0, k].set(title=f"{row['target']} ({row['kind']})")
        axes[0, k].legend()
        axes[1, k].semilogy(x, np.maximum(np.abs(prediction - result.data.y_test), 1e-16), color=NETWORK, lw=1.0)
        axes[1, k].set(xlabel="x", ylabel="|error|",
                       title=f"near 0: {row['error_near']:.2g}, away: {row['error_away']:.2g}")
    return fig


def _sophistication(study: StudyResult, fig: Figure | None) -> Figure:
    fig, ax = panels(fig, size=(5.6, 3.8))
    ks = np.array([r["k"] for r in study.rows])
    budget = study.summary["budget"]
    met = np.array([r["epochs_median"] is not None for r in study.rows])
    medians = np.array([r["epochs_median"] if r["epochs_median"] is not None else budget for r in study.rows])
    firsts = np.array([r["epochs"] if r["epochs"] is not None else budget for r in study.rows])
    ax.plot(ks, medians, "o-", color=NETWORK, label="median over seeds that met tol")
    ax.plot(ks, firsts, "s--", color=OTHERS, label="first seed to meet tol")
    if (~met).any():
        ax.plot(ks[~met], np.full((~met).sum(), budget), "x", color=TOL, ms=9, label="not met within the budget")
    ax.set_yscale("log")
    ax.set(xlabel="frequency k of sin(kx)", ylabel=f"{study.summary['epochs_unit']} to tolerance",
           title="Sophistication: faster-varying targets need more training")
    ax.legend()
    return fig


def _extrapolation(study: StudyResult, fig: Figure | None) -> Figure:
    result = study.runs["trained"]
    extra = study.extra
    target = result.target
    if target.dim != 1:
        fig, ax = panels(fig, size=(5.6, 3.8))
        ax.bar([r["region"] for r in study.rows], [r["error"] for r in study.rows], color=NETWORK)
        ax.set_yscale("log")
        ax.set(ylabel="error", title="Extrapolation: error by region")
        ax.tick_params(axis="x", rotation=20)
        return fig
    x = extra["X"][:, 0]
    fig, ax = panels(fig, size=(6.4, 3.8))
    low, high = target.domain[0]
    ax.axvspan(low, high, color="#eef4f8", label="training domain")
    ax.plot(x, extra["truth"], color=TARGET, lw=1.4, label="target")
    ax.plot(x, extra["prediction"][result.best], color=NETWORK, ls="--", lw=1.4, label="network")
    span = np.ptp(extra["truth"])
    ax.set_ylim(np.min(extra["truth"]) - 0.5 * span, np.max(extra["truth"]) + 0.5 * span)
    ax.set(xlabel=target.variables[0], ylabel="f",
           title=f"Extrapolation: error {study.summary['error_inside']:.2g} inside, "
                 f"{study.summary['error_outside']:.2g} outside")
    ax.legend()
    return fig


def _derivative(study: StudyResult, fig: Figure | None) -> Figure:
    result = study.runs["trained"]
    extra = study.extra
    if result.target.dim != 1:
        from annrl.viz.surfaces import heat_maps

        n = result.data.test_points
        x = np.linspace(*result.target.domain[0], n)
        y = np.linspace(*result.target.domain[1], n) if result.target.dim > 1 else x
        gap = np.linalg.norm(extra["engine"] - extra["exact"], axis=1)
        if result.target.dim == 2:
            return heat_maps([(x, y, gap.reshape(n, n), "|grad net - grad f|")], label="gradient error", fig=fig)
        fig, ax = panels(fig, size=(5.0, 3.4))
        ax.hist(gap, bins=40, color=NETWORK)
        ax.set(xlabel="|grad net - grad f|", ylabel="points", title="Gradient error")
        return fig
    x = extra["X"][:, 0]
    fig, (top, bottom) = panels(fig, nrows=2, size=(6.4, 5.6), sharex=True)
    top.plot(x, extra["exact"][:, 0], color=TARGET, lw=1.4, label="f'(x) (SymPy)")
    top.plot(x, extra["engine"][:, 0], color=NETWORK, ls="--", lw=1.4, label="d(net)/dx (backward pass)")
    top.set(ylabel="derivative", title=f"Derivative of {result.target.label}")
    top.legend()
    gap = np.abs(extra["engine"][:, 0] - extra["exact"][:, 0])
    value = np.abs(result.approximant(extra["X"])[result.best] - result.target(extra["X"]))
    bottom.semilogy(x, np.maximum(gap, 1e-16), color=NETWORK, lw=1.0, label="|net' - f'|")
    bottom.semilogy(x, np.maximum(value, 1e-16), color=OTHERS, lw=1.0, label="|net - f|")
    bottom.set(xlabel="x", ylabel="error")
    bottom.legend()
    return fig


def _hidden(result: ApproxResult) -> str:
    return "x".join(map(str, result.config.hidden))
