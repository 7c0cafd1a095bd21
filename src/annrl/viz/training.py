"""Figures of training runs: loss curves, success against epochs, histograms, decision surfaces.

Each takes ``ax=None`` (``fig=None`` for several panels), returns its Figure, and writes a PNG only
when given ``path``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from annrl.viz.style import finish, panel, panels

SOLVED, FAILED = "#2a7ab0", "#d1495b"


def loss_curves(loss: np.ndarray, solved: np.ndarray, path: str | Path | None = None, *, sample: int = 40,
                title: str = "Training loss of a sample of seeds", ax: Any = None) -> Figure:
    """Loss ``(epochs, P)`` of up to ``sample`` networks, blue if solved, red if not (log scale)."""
    fig, ax = panel(ax, size=(6.0, 3.8))
    rng = np.random.default_rng(0)
    shown = np.sort(rng.choice(loss.shape[1], size=min(sample, loss.shape[1]), replace=False))
    epochs = np.arange(loss.shape[0])
    for p in shown:
        ax.plot(epochs, np.maximum(loss[:, p], 1e-16), color=SOLVED if solved[p] else FAILED, lw=0.8, alpha=0.7)
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="loss", title=title)
    ax.plot([], [], color=SOLVED, label="solved")
    ax.plot([], [], color=FAILED, label="failed")
    ax.legend()
    return finish(fig, path)


def success_over_epochs(solved_epoch: np.ndarray, epochs: int, path: str | Path | None = None, *,
                        title: str = "Networks solved by each epoch", ax: Any = None) -> Figure:
    """Fraction of networks whose first solve happened at or before each epoch (``-1``: never)."""
    fig, ax = panel(ax, size=(5.0, 3.4))
    grid = np.arange(epochs + 1)
    reached = solved_epoch[solved_epoch >= 0]
    rate = np.searchsorted(np.sort(reached), grid, side="right") / len(solved_epoch)
    ax.plot(grid, 100 * rate, color=SOLVED)
    ax.set(xlabel="epoch", ylabel="solved (% of seeds)", title=title, ylim=(0, 100))
    return finish(fig, path)


def histogram(values: np.ndarray, path: str | Path | None = None, *, xlabel: str, title: str, log: bool = False,
              bins: int = 40, ax: Any = None) -> Figure:
    """A histogram of ``values`` ``(P,)``; ``log`` bins on a log10 axis (zeros clipped to 1e-16); values that
    diverged (NaN, infinite) are counted in the title, not binned."""
    fig, ax = panel(ax, size=(5.0, 3.4))
    values = np.asarray(values, dtype=float)
    diverged = int((~np.isfinite(values)).sum())
    values = values[np.isfinite(values)]
    if diverged:
        title = f"{title} ({diverged} diverged, not shown)"
    if log:
        values = np.log10(np.maximum(values, 1e-16))
        xlabel = f"log10 {xlabel}"
    ax.hist(values, bins=bins, color=SOLVED, alpha=0.85)
    ax.set(xlabel=xlabel, ylabel="networks", title=title)
    return finish(fig, path)


def decision_surfaces(predict: Any, X: np.ndarray, Y: np.ndarray, titles: Sequence[str],
                      path: str | Path | None = None, *, threshold: float = 0.5,
                      extent: tuple[float, float] = (-0.5, 1.5), fig: Figure | None = None) -> Figure:
    """Output of several 2-input networks over the plane, with the data points on top.

    Parameters
    ----------
    predict : callable
        ``grid (G, 2) -> outputs (k, G, 1)`` for the ``k`` networks to draw.
    X, Y : ndarray, shapes (N, 2) and (N, 1)
    titles : sequence of str, one per network
    path : str or Path, optional
        Where to write the PNG (none: only the Figure is returned).
    fig : matplotlib Figure, optional
        An empty figure to draw the ``len(titles)`` panels in (default: a new one).
    """
    n = len(titles)
    fig, axes = panels(fig, ncols=n, size=(3.6 * n, 3.3))
    axes = np.atleast_1d(axes)
    ticks = np.linspace(*extent, 121)
    gx, gy = np.meshgrid(ticks, ticks)
    out = np.asarray(predict(np.column_stack([gx.ravel(), gy.ravel()])))
    for k, (ax, title) in enumerate(zip(axes, titles, strict=True)):
        surface = out[k, :, 0].reshape(gx.shape)
        image = ax.contourf(gx, gy, surface, levels=20, cmap="RdBu_r")
        ax.contour(gx, gy, surface, levels=[threshold], colors="k", linewidths=1.2)
        ax.scatter(X[:, 0], X[:, 1], c=Y[:, 0], cmap="RdBu_r", edgecolors="k", s=70, vmin=0, vmax=1)
        ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title, aspect="equal")
        ax.grid(False)
        fig.colorbar(image, ax=ax, shrink=0.8)
    return finish(fig, path)


def bar_table(labels: Sequence[str], values: Sequence[float], path: str | Path | None = None, *, xlabel: str,
              title: str, ax: Any = None) -> Figure:
    """Horizontal bars, one per label (e.g. success rate per recipe)."""
    fig, ax = panel(ax, size=(6.5, 0.45 * len(labels) + 1.2))
    positions = np.arange(len(labels))
    ax.barh(positions, values, color=SOLVED)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set(xlabel=xlabel, title=title)
    return finish(fig, path)
