"""Kohonen's self-organising map (1982): a grid of prototype vectors that unfolds over the data.

Each grid node ``k`` at position ``r_k`` holds a prototype ``m_k``. For a sample ``x``, the best
matching unit ``c = argmin_k |x - m_k|`` and its grid neighbours move towards ``x``::

    m_k += eta(t) h_ck(t) (x - m_k),      h_ck = exp(-|r_k - r_c|^2 / (2 sigma(t)^2))

with the learning rate ``eta`` and the neighbourhood radius ``sigma`` shrinking exponentially: first the
map orders itself globally, then it fine-tunes locally. Two numbers say how good a map is:

- quantisation error: the mean distance from a sample to its best matching prototype;
- topographic error: the fraction of samples whose best and second-best units are not grid neighbours
  (a map that preserves neighbourhoods has almost none).

Demo: random RGB colours onto a 20 x 20 grid; similar colours end up side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.errors import InputError
from annrl.zoo.diagram import ZooLayer
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "som"
SUMMARY = "Kohonen self-organising map: random colours ordered onto a 2D grid; quantisation and topographic error fall"


class SelfOrganisingMap:
    """A ``rows x cols`` map of ``dim``-dimensional prototypes.

    Parameters
    ----------
    rows, cols, dim : int
    rng : numpy.random.Generator, optional
        Draws the initial prototypes: small random values around 0.5 (Kohonen's start), so the map
        begins as a crumpled ball at the centre of the data and has to unfold over it.

    Attributes
    ----------
    prototypes : ndarray, shape (rows * cols, dim)
    positions : ndarray, shape (rows * cols, 2)
        Grid coordinates of each node (row-major).
    history_ : list of dict
        ``{"step", "quantisation_error", "topographic_error"}`` at each checkpoint of :meth:`fit`.
    """

    def __init__(self, rows: int, cols: int, dim: int, rng: np.random.Generator | None = None):
        if min(rows, cols, dim) < 1 or rows * cols < 2:
            raise InputError(f"a map needs at least 2 nodes and dim >= 1, got {rows}x{cols}, dim={dim}")
        rng = rng if rng is not None else np.random.default_rng(0)
        self.rows, self.cols, self.dim = int(rows), int(cols), int(dim)
        self.prototypes = 0.5 + 0.05 * (rng.random((rows * cols, dim)) - 0.5)
        self.positions = np.array([(r, c) for r in range(rows) for c in range(cols)], dtype=float)
        self.history_: list[dict[str, float]] = []

    def best_units(self, X: np.ndarray, count: int = 1) -> np.ndarray:
        """Indices ``(N, count)`` of the ``count`` nearest prototypes of each sample of ``X`` ``(N, dim)``."""
        d2 = (X**2).sum(1)[:, None] - 2 * X @ self.prototypes.T + (self.prototypes**2).sum(1)[None]
        return np.argsort(d2, axis=1)[:, :count]

    def quantisation_error(self, X: np.ndarray) -> float:
        best = self.best_units(X)[:, 0]
        return float(np.mean(np.linalg.norm(X - self.prototypes[best], axis=1)))

    def topographic_error(self, X: np.ndarray) -> float:
        two = self.best_units(X, 2)
        apart = np.abs(self.positions[two[:, 0]] - self.positions[two[:, 1]]).max(axis=1)  # 8-neighbourhood
        return float(np.mean(apart > 1))

    def fit(self, X: np.ndarray, steps: int, rng: np.random.Generator, *, eta: tuple[float, float] = (0.5, 0.01),
            sigma: tuple[float, float] | None = None, checkpoints: int = 20) -> SelfOrganisingMap:
        """``steps`` online updates with samples drawn from ``X`` ``(N, dim)``; ``eta`` and ``sigma`` decay
        exponentially from their first to their last value (``sigma`` from half the map's size to 0.5)."""
        sigma = sigma if sigma is not None else (max(self.rows, self.cols) / 2.0, 0.5)
        record_at = set(np.linspace(0, steps, checkpoints + 1).astype(int))
        for step in range(steps + 1):
            if step in record_at:
                self.history_.append({"step": step, "quantisation_error": self.quantisation_error(X),
                                      "topographic_error": self.topographic_error(X)})
            if step == steps:
                break
            fraction = step / steps
            rate = eta[0] * (eta[1] / eta[0]) ** fraction
            radius = sigma[0] * (sigma[1] / sigma[0]) ** fraction
            x = X[rng.integers(len(X))]
            best = np.argmin(((self.prototypes - x) ** 2).sum(axis=1))
            pull = np.exp(-((self.positions - self.positions[best]) ** 2).sum(axis=1) / (2 * radius**2))
            self.prototypes += (rate * pull)[:, None] * (x - self.prototypes)
        return self

    def image(self) -> np.ndarray:
        """The prototypes as a ``(rows, cols, dim)`` picture."""
        return self.prototypes.reshape(self.rows, self.cols, self.dim)

    def zoo_layers(self) -> list[ZooLayer]:
        return [ZooLayer("input", self.dim, "input"),
                ZooLayer("hidden", self.rows * self.cols, f"{self.rows}x{self.cols} map", lateral=True)]


def build(seed: int = 0) -> SelfOrganisingMap:
    return SelfOrganisingMap(20, 20, 3, np.random.default_rng(seed))


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Map 1000 random colours; errors at the start and at the end of training."""
    rng = np.random.default_rng(seed)
    colours = rng.random((1000, 3))
    som = build(seed)
    start = som.image().copy()
    som.fit(colours, 3000 if quick else 20000, rng)
    first, last = som.history_[0], som.history_[-1]
    figure(som, Path(out) / "som.png", start=start)
    metrics = {name: last[name] for name in ("quantisation_error", "topographic_error")}
    return metrics | {f"{name}_start": first[name] for name in metrics}


def figure(som: SelfOrganisingMap, path: str | Path | None = None, *, start: np.ndarray,
           fig: Figure | None = None) -> Figure:
    """The map's prototypes at the ``start`` (an image ``(rows, cols, 3)``, :meth:`SelfOrganisingMap.image`) and
    after training, and its errors during training: three panels."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, 3, size=(12, 3.8))
    for ax, picture, title in ((axes[0], start, "start: small random prototypes"),
                               (axes[1], som.image(), "after training")):
        ax.imshow(np.clip(picture, 0, 1))
        ax.set_axis_off()
        ax.set_title(title)
    steps = [h["step"] / 1000 for h in som.history_]
    axes[2].plot(steps, [h["quantisation_error"] for h in som.history_], label="quantisation error")
    axes[2].plot(steps, [h["topographic_error"] for h in som.history_], label="topographic error")
    axes[2].set(title="map quality during training", xlabel="updates (thousands)", ylabel="error")
    axes[2].legend()
    return finish(fig, path)
