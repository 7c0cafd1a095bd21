"""One figure style for every lab: titles, labelled axes with units, PNG files at one size.

Figures are :class:`matplotlib.figure.Figure` objects made directly, never through pyplot: no
backend is chosen here (the ``annrl`` command picks Agg for itself), nothing is left open in
pyplot's list of figures, and in a notebook a returned Figure shows inline. Every plot function
of :mod:`annrl.viz` and of the labs' ``figures`` modules takes ``ax=None`` (``fig=None`` when it draws
several panels: :func:`panel`, :func:`panels`), returns its Figure, and writes a PNG only when given a
``path`` (:func:`finish`); a command writes its figures with :func:`save_all`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

RC = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "font.size": 9,
}


def new_figure(*, size: tuple[float, float]) -> Figure:
    """An empty Figure of ``size`` inches, in annrl's style, owned by no backend."""
    with matplotlib.rc_context(RC):
        return Figure(figsize=size)


def figure(ncols: int = 1, nrows: int = 1, *, size: tuple[float, float] | None = None, **kw: Any):
    """A new ``(fig, axes)`` pair in annrl's style; ``axes`` is one Axes when there is one panel."""
    width, height = size or (4.2 * ncols, 3.4 * nrows)
    fig = new_figure(size=(width, height))
    with matplotlib.rc_context(RC):
        axes = fig.subplots(nrows, ncols, squeeze=True, **kw)
    return fig, axes


def panel(ax: Any, *, size: tuple[float, float]) -> tuple[Figure, Any]:
    """``(figure, axes)`` to draw on: ``ax`` and its figure when given, else a new one of ``size``."""
    if ax is not None:
        return ax.figure, ax
    return figure(size=size)


def panels(fig: Figure | None, ncols: int = 1, nrows: int = 1, *, size: tuple[float, float] | None = None,
           **kw: Any) -> tuple[Figure, Any]:
    """``(figure, axes)`` of ``nrows`` x ``ncols`` panels, drawn in ``fig`` (an empty figure) when given, else in a
    new one of ``size``; ``axes`` is one Axes when there is one panel (``kw``: ``sharex``, ``height_ratios``, ...)."""
    if fig is None:
        return figure(ncols, nrows, size=size, **kw)
    with matplotlib.rc_context(RC):
        return fig, fig.subplots(nrows, ncols, squeeze=True, **kw)


def finish(fig: Figure, path: str | Path | None) -> Figure:
    """Write ``fig`` to ``path`` when one is given (see :func:`save`); return ``fig``."""
    if path is not None:
        save(fig, path)
    return fig


def save_all(figures: dict[str, Figure], out: str | Path) -> list[Path]:
    """Write each ``{file name: Figure}`` under the folder ``out``; their paths, in order (a command's figures)."""
    return [save(fig, Path(out) / name) for name, fig in figures.items()]


def save(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` as a PNG to ``path`` (folders created); returns the path.

    A pyplot figure (from ``plt.subplots``) is closed after writing; annrl's own Figures need not be.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(RC):
        fig.tight_layout()
        fig.savefig(path)
    if getattr(fig, "number", None) is not None:  # a pyplot figure: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path
