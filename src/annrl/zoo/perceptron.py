"""Rosenblatt's perceptron (1958): one threshold unit, trained by correcting its mistakes.

Rule: for a sample ``x`` with label ``y = +-1``, if ``y (w . x + b) <= 0`` then ``w += y x`` and
``b += y``. Writing ``x~ = (x, 1)`` and ``w~ = (w, b)``, Novikoff's theorem (1962) says that on data
separable with margin ``gamma`` (some unit ``u`` has ``y u . x~ >= gamma`` for every sample) and radius
``R = max |x~|``, the rule makes at most ``(R / gamma)^2`` mistakes, whatever the order. On XOR no
line separates the classes, so the rule never stops: some sample is always wrong.

The trained unit is an engine network, ``Dense(n, 1)`` followed by a sign activation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize

from annrl.errors import InputError
from annrl.nn import ActivationLayer, Dense, Network
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "perceptron"
SUMMARY = "Rosenblatt's perceptron: a linear threshold unit; converges within (R/gamma)^2 mistakes, fails on XOR"


class Perceptron:
    """A perceptron with ``n_in`` inputs trained by Rosenblatt's rule.

    Parameters
    ----------
    n_in : int
    max_epochs : int, default=100
        Passes over the data; training stops earlier after a pass with no mistake.

    Attributes
    ----------
    weights_ : ndarray, shape (n_in + 1,)
        ``(w, b)``.
    mistakes_ : int
        Updates made (each one a misclassified sample).
    errors_per_epoch_ : list of int
        Samples wrong or on the boundary (``y (w . x + b) <= 0``) after each pass.
    accuracy_per_epoch_ : list of float
        Fraction classified right by the unit's output (sign, with sign(0) = +1) after each pass.
    converged_ : bool
        A pass ended with no mistake.
    """

    def __init__(self, n_in: int, *, max_epochs: int = 100):
        if n_in < 1 or max_epochs < 1:
            raise InputError(f"n_in and max_epochs must be >= 1, got {n_in}, {max_epochs}")
        self.n_in, self.max_epochs = int(n_in), int(max_epochs)

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Perceptron:
        """Train on ``X`` ``(N, n_in)`` with labels ``y`` ``(N,)`` of +-1, visiting samples in a random order."""
        X_aug, y = _augment(X), np.asarray(y, dtype=float)
        if not np.all(np.abs(y) == 1):
            raise InputError("perceptron labels must be +1 or -1")
        w = np.zeros(self.n_in + 1)
        self.mistakes_, self.errors_per_epoch_, self.accuracy_per_epoch_, self.converged_ = 0, [], [], False
        for _ in range(self.max_epochs):
            for i in rng.permutation(len(y)):
                if y[i] * (X_aug[i] @ w) <= 0:  # wrong, or on the boundary
                    w += y[i] * X_aug[i]
                    self.mistakes_ += 1
            errors = int(np.sum(y * (X_aug @ w) <= 0))
            self.errors_per_epoch_.append(errors)
            self.accuracy_per_epoch_.append(float(np.mean(np.where(X_aug @ w >= 0, 1.0, -1.0) == y)))
            if errors == 0:
                self.converged_ = True
                break
        self.weights_ = w
        return self

    def network(self) -> Network:
        """The trained unit as an engine network (see :func:`threshold_unit`)."""
        return threshold_unit(self.weights_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels ``(N,)`` of +-1 for ``X`` ``(N, n_in)``."""
        return self.network().predict(X)[0, :, 0]


def threshold_unit(weights: np.ndarray) -> Network:
    """An engine network ``Dense(n, 1)`` then sign (P = 1) with ``weights = (w, b)`` of shape ``(n + 1,)``."""
    net = Network([Dense(len(weights) - 1, 1), ActivationLayer("sign")], seed=0)
    net.params_["0.weight"][0, :, 0] = weights[:-1]
    net.params_["0.bias"][0, 0, 0] = weights[-1]
    return net


def _augment(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    return np.hstack([X, np.ones((len(X), 1))])


def novikoff_bound(X: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """``(bound, R, gamma)`` for separable data: ``gamma`` is the largest margin of a unit ``w~`` in the
    augmented space, found as ``1 / |w|`` of ``min |w|^2`` subject to ``y w . x~ >= 1`` (a hard-margin SVM)."""
    X_aug, y = _augment(X), np.asarray(y, dtype=float)
    A = y[:, None] * X_aug
    start = np.linalg.lstsq(A, np.ones(len(y)), rcond=None)[0]
    result = minimize(lambda w: w @ w, start * 2.0, jac=lambda w: 2 * w, method="SLSQP",
                      constraints=[{"type": "ineq", "fun": lambda w: A @ w - 1.0, "jac": lambda w: A}])
    if not result.success or np.min(A @ result.x) < 1.0 - 1e-6:
        raise InputError("the data are not linearly separable (no margin found)")
    R = float(np.max(np.linalg.norm(X_aug, axis=1)))
    gamma = 1.0 / float(np.linalg.norm(result.x))
    return (R / gamma) ** 2, R, gamma


def separable_data(n: int, margin: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of [-1, 1]^2 labelled by a random line, none closer to it than ``margin``."""
    angle = rng.uniform(0, 2 * np.pi)
    normal, offset = np.array([np.cos(angle), np.sin(angle)]), rng.uniform(-0.3, 0.3)
    points = []
    while len(points) < n:
        p = rng.uniform(-1, 1, size=2)
        if abs(p @ normal - offset) >= margin:
            points.append(p)
    X = np.array(points)
    return X, np.where(X @ normal - offset > 0, 1.0, -1.0)


XOR_X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
XOR_Y = np.array([-1.0, 1.0, 1.0, -1.0])


def build(seed: int = 0) -> Network:
    """The unit the demo trains, before training: two inputs, zero weights (Rosenblatt's start)."""
    return threshold_unit(np.zeros(3))


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Train on separable points (mistakes against Novikoff's bound) and on XOR (never solved)."""
    rng = np.random.default_rng(seed)
    X, y = separable_data(60 if quick else 200, 0.05, rng)
    separable = Perceptron(2, max_epochs=1000).fit(X, y, rng)
    bound, R, gamma = novikoff_bound(X, y)
    xor = Perceptron(2, max_epochs=50 if quick else 200).fit(XOR_X, XOR_Y, rng)
    figure(separable, Path(out) / "perceptron.png", X=X, y=y, bound=bound, xor=xor)
    return {"separable_accuracy": float(np.mean(separable.predict(X) == y)), "mistakes": float(separable.mistakes_),
            "novikoff_bound": float(bound), "radius": R, "margin": gamma,
            "xor_best_accuracy": max(xor.accuracy_per_epoch_), "xor_epochs": float(len(xor.errors_per_epoch_))}


def _boundary(ax, model: Perceptron, X: np.ndarray, y: np.ndarray, title: str) -> None:
    grid = np.linspace(-1.3, 1.3, 120)
    gx, gy = np.meshgrid(grid, grid)
    z = model.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, z, levels=[-2, 0, 2], colors=["#f59322", "#0877bd"], alpha=0.15)
    for label, colour in ((1.0, "#0877bd"), (-1.0, "#f59322")):
        ax.scatter(*X[y == label].T, s=18, color=colour, edgecolor="k", linewidth=0.3)
    ax.set(title=title, xlabel="x1", ylabel="x2", xlim=(-1.3, 1.3), ylim=(-1.3, 1.3))


def figure(separable: Perceptron, path: str | Path | None = None, *, X: np.ndarray, y: np.ndarray, bound: float,
           xor: Perceptron,
           fig: Figure | None = None) -> Figure:
    """The ``separable`` perceptron's boundary over ``X`` ``(n, 2)``, ``y`` ``(n,)`` (its mistakes against
    Novikoff's ``bound``), errors per epoch of both runs, and the ``xor`` run's boundary: three panels."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, 3, size=(12.5, 3.8))
    _boundary(axes[0], separable, X, y, f"separable: {separable.mistakes_} mistakes <= bound {bound:.0f}")
    axes[1].plot(np.arange(1, len(separable.errors_per_epoch_) + 1), separable.errors_per_epoch_, "o-", ms=3,
                 label="separable data")
    axes[1].plot(np.arange(1, len(xor.errors_per_epoch_) + 1), xor.errors_per_epoch_, ".-", ms=2, label="XOR")
    axes[1].set(title="wrong or undecided after each pass", xlabel="epoch", ylabel="errors", xscale="log")
    axes[1].legend()
    _boundary(axes[2], xor, XOR_X, XOR_Y, f"XOR after {len(xor.errors_per_epoch_)} epochs: never separated")
    return finish(fig, path)
