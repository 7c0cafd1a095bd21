"""The radial basis function network (Broomhead & Lowe, 1988): Gaussian bumps, then a linear readout.

Three steps, none of them gradient descent:

1. centres ``c_k``: k-means on the inputs (SciPy's ``kmeans2``), so the bumps sit where the data are;
2. widths by the P-nearest-neighbour rule (Moody & Darken, 1989): ``sigma_k`` is the root mean square
   distance from ``c_k`` to its ``P = 2`` nearest centres. Each bump then reaches its neighbours, so the
   fit is smooth between centres, but not much further, so the least-squares problem stays well
   conditioned; where centres crowd (dense data) the bumps narrow. (The global rule
   ``d_max / sqrt(2K)`` gives bumps three centre spacings wide here, a condition number near 1e12
   and output weights of 1e9 that cancel each other.)
3. output weights by linear least squares on ``phi_k(x) = exp(-|x - c_k|^2 / (2 sigma_k^2))`` plus a bias.

Demo: ``y = sin(2x) + 0.3 x`` from 200 noisy samples (noise 0.1) on [-3, 3].
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.cluster.vq import kmeans2

from annrl.errors import InputError
from annrl.zoo.diagram import ZooLayer
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "rbf"
SUMMARY = "radial basis function network: k-means centres, Gaussian widths, least-squares output; a smooth 1D fit"
NOISE = 0.1
#: P of the P-nearest-neighbour width rule
NEIGHBOURS = 2


class RBFNetwork:
    """An RBF network with ``n_centres`` Gaussian units.

    Parameters
    ----------
    n_centres : int
    n_in, n_out : int, default=1

    Attributes
    ----------
    centres_ : ndarray, shape (K, n_in)
    widths_ : ndarray, shape (K,)
    weights_ : ndarray, shape (K + 1, n_out)
        Output weights, the bias last.
    """

    def __init__(self, n_centres: int, n_in: int = 1, n_out: int = 1):
        if min(n_centres, n_in, n_out) < 1:
            raise InputError(f"sizes must be >= 1, got n_centres={n_centres}, n_in={n_in}, n_out={n_out}")
        self.n_centres, self.n_in, self.n_out = int(n_centres), int(n_in), int(n_out)

    def features(self, X: np.ndarray) -> np.ndarray:
        """Gaussian activations ``(N, K)`` of inputs ``(N, n_in)``."""
        d2 = ((np.asarray(X, dtype=float)[:, None, :] - self.centres_[None]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * self.widths_**2))

    def fit(self, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> RBFNetwork:
        """Centres, width, then output weights from ``X`` ``(N, n_in)`` and ``Y`` ``(N, n_out)``."""
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float).reshape(len(X), self.n_out)
        self.centres_, _ = kmeans2(X, self.n_centres, minit="++", seed=rng)
        self.widths_ = nearest_centre_widths(self.centres_, NEIGHBOURS)
        design = np.hstack([self.features(X), np.ones((len(X), 1))])
        self.weights_ = np.linalg.lstsq(design, Y, rcond=None)[0]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs ``(N, n_out)``."""
        return self.features(X) @ self.weights_[:-1] + self.weights_[-1]

    def zoo_layers(self) -> list[ZooLayer]:
        return [ZooLayer("input", self.n_in, "input"), ZooLayer("hidden", self.n_centres, "gaussian"),
                ZooLayer("output", self.n_out, "linear")]


def nearest_centre_widths(centres: np.ndarray, neighbours: int) -> np.ndarray:
    """``sigma_k``: RMS distance of centre ``k`` ``(K, n_in)`` to its ``neighbours`` nearest centres -> ``(K,)``."""
    d2 = ((centres[:, None] - centres[None]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    nearest = np.sort(d2, axis=1)[:, :neighbours]
    return np.sqrt(nearest.mean(axis=1))


def target(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * x) + 0.3 * x


def build(seed: int = 0) -> RBFNetwork:
    return RBFNetwork(20)


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Fit 200 noisy samples; report the RMSE against the noiseless function on a fine test grid."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=(200, 1))
    y = target(x) + NOISE * rng.normal(size=x.shape)
    model = build(seed).fit(x, y, rng)
    grid = np.linspace(-3, 3, 500)[:, None]
    rmse = float(np.sqrt(np.mean((model.predict(grid) - target(grid)) ** 2)))
    linear = np.polyfit(x[:, 0], y[:, 0], 1)
    linear_rmse = float(np.sqrt(np.mean((np.polyval(linear, grid[:, 0]) - target(grid[:, 0])) ** 2)))
    figure(model, Path(out) / "rbf.png", x=x, y=y, grid=grid)
    return {"test_rmse": rmse, "noise": NOISE, "linear_rmse": linear_rmse, "mean_width": float(model.widths_.mean())}


def figure(model: RBFNetwork, path: str | Path | None = None, *, x: np.ndarray, y: np.ndarray, grid: np.ndarray,
           fig: Figure | None = None) -> Figure:
    """Samples ``x``, ``y`` ``(n, 1)``, the true function, the fit and its scaled Gaussians over ``grid`` ``(m, 1)``,
    and the k-means centres: one panel."""
    from annrl.viz.style import finish, panels

    fig, ax = panels(fig, size=(7, 3.8))
    ax.scatter(x[:, 0], y[:, 0], s=8, color="#999999", label="noisy samples")
    ax.plot(grid, target(grid), "k--", lw=1, label="true function")
    ax.plot(grid, model.predict(grid), color="#0877bd", lw=2, label="RBF network")
    scaled = model.features(grid) * model.weights_[:-1, 0]
    ax.plot(grid, scaled, color="#f59322", lw=0.6, alpha=0.6)
    ax.plot(model.centres_[:, 0], np.full(model.n_centres, -2.2), "^", color="#f59322", label="k-means centres")
    title = f"RBF network: {model.n_centres} Gaussians, mean width {model.widths_.mean():.2f}"
    ax.set(title=title, xlabel="x", ylabel="y")
    ax.legend(loc="upper left")
    return finish(fig, path)
