"""Figures of functions of two variables: 3D surfaces and heat maps, side by side.

Every function takes values on a regular grid, ``Z[iy, ix]`` of shape ``(ny, nx)`` over the axes
``x`` ``(nx,)`` and ``y`` ``(ny,)`` (the layout of ``numpy.meshgrid(x, y)``), returns its Figure and
writes a PNG only when given a path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from annrl.viz.style import RC, finish, new_figure, panels


def surfaces_and_error(x: np.ndarray, y: np.ndarray, target: np.ndarray, approximation: np.ndarray,
                       path: str | Path | None = None, *, title: str = "", labels: Sequence[str] = ("x", "y"),
                       tol: float | None = None, fig: Figure | None = None) -> Figure:
    """Three panels: the target surface, the network's surface, and a heat map of ``|error|``.

    Parameters
    ----------
    x : ndarray, shape (nx,)
    y : ndarray, shape (ny,)
    target, approximation : ndarray, shape (ny, nx)
    path : str or Path, optional
        Where to write the PNG (none: only the Figure is returned).
    title : str
        Written above the figure.
    labels : (str, str)
        Names of the two axes.
    tol : float, optional
        Drawn as a contour on the heat map: where the error exceeds it.
    fig : matplotlib Figure, optional
        An empty figure to draw the three panels in (default: a new one).
    """
    gx, gy = np.meshgrid(x, y)
    low = min(float(np.min(target)), float(np.min(approximation)))
    high = max(float(np.max(target)), float(np.max(approximation)))
    fig = fig if fig is not None else new_figure(size=(13.5, 4.2))
    with matplotlib.rc_context(RC):
        for index, (values, name) in enumerate(((target, "target"), (approximation, "network")), start=1):
            ax = fig.add_subplot(1, 3, index, projection="3d")
            ax.plot_surface(gx, gy, values, cmap="viridis", vmin=low, vmax=high, linewidth=0, antialiased=True)
            ax.set(xlabel=labels[0], ylabel=labels[1], zlabel="f", title=name, zlim=(low, high))
        ax = fig.add_subplot(1, 3, 3)
        heat_map(ax, x, y, np.abs(approximation - target), label="|network - target|", tol=tol)
        ax.set(xlabel=labels[0], ylabel=labels[1], title="error")
        if title:
            fig.suptitle(title)
    return finish(fig, path)


def heat_map(ax, x: np.ndarray, y: np.ndarray, values: np.ndarray, *, label: str, tol: float | None = None,
             cmap: str = "magma") -> None:
    """Draw ``values`` ``(ny, nx)`` on ``ax`` as an image with a colour bar; ``tol`` as a contour."""
    image = ax.pcolormesh(x, y, values, cmap=cmap, shading="auto")
    if tol is not None and float(np.min(values)) < tol < float(np.max(values)):
        ax.contour(x, y, values, levels=[tol], colors="w", linewidths=1.0)
    ax.figure.colorbar(image, ax=ax, shrink=0.85, label=label)
    ax.set_aspect("auto")
    ax.grid(False)


def heat_maps(maps: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, str]], path: str | Path | None = None, *,
              label: str, labels: Sequence[Sequence[str]] | None = None, title: str = "",
              tol: float | None = None, fig: Figure | None = None) -> Figure:
    """One heat map per entry of ``maps``, ``(x (nx,), y (ny,), values (ny, nx), title)``, side by side.

    ``labels`` gives each panel's two axis names (default ``x``, ``y``); ``fig`` an empty figure to
    draw in (default: a new one); the PNG is written only to a given ``path``.
    """
    fig, axes = panels(fig, ncols=len(maps), size=(4.3 * len(maps), 3.7))
    axes = np.atleast_1d(axes)
    for k, (ax, (px, py, values, name)) in enumerate(zip(axes, maps, strict=True)):
        heat_map(ax, px, py, values, label=label, tol=tol)
        xlabel, ylabel = labels[k] if labels else ("x", "y")
        ax.set(xlabel=xlabel, ylabel=ylabel, title=name)
    if title:
        fig.suptitle(title)
    return finish(fig, path)
