"""One figure style for every lab: titles, labelled axes with units, PNG files at one size.

matplotlib is imported here only, with the non-interactive Agg backend, so that figures can be
written on machines with no screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

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


def figure(ncols: int = 1, nrows: int = 1, *, size: tuple[float, float] | None = None, **kw: Any):
    """A new ``(fig, axes)`` pair in annrl's style; ``axes`` is one Axes when there is one panel."""
    with plt.rc_context(RC):
        width, height = size or (4.2 * ncols, 3.4 * nrows)
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=True, **kw)
    return fig, axes


def save(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` as a PNG to ``path`` (folders created) and close it; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(RC):
        fig.tight_layout()
        fig.savefig(path)
    plt.close(fig)
    return path
