"""The extreme learning machine (Huang, Zhu & Siew, 2006): a random hidden layer, a least-squares output.

The hidden layer is an engine network ``Dense(n_in, H)`` + tanh whose weights are drawn once and never
trained; only the output weights are fitted, by ridge regression on the hidden activations
``(Phi^T Phi + lambda I)^-1 Phi^T Y``, one linear solve instead of thousands of gradient steps.
With enough random features, a linear readout separates what raw pixels cannot.

Demo: scikit-learn's 8x8 digits (one-hot targets), test accuracy against the number of hidden
units, next to the same ridge readout on the raw pixels (a linear classifier).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.errors import InputError
from annrl.nn import ActivationLayer, Dense, Network, Normal
from annrl.zoo.datasets import digits, split
from annrl.zoo.diagram import ZooLayer, network_layers
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "elm"
SUMMARY = "extreme learning machine: a random hidden layer and a least-squares readout classify digits"
HIDDEN = 1000
RIDGE = 1e-2


class ExtremeLearningMachine:
    """A random tanh layer (``hidden`` units, weights N(0, 1/n_in), never trained) and a ridge readout.

    Parameters
    ----------
    n_in, n_out : int
    hidden : int
        Random features; ``hidden=0`` means no hidden layer (the readout sees the raw inputs).
    ridge : float, default=1e-2
    seed : int, default=0

    Attributes
    ----------
    hidden_layer : Network or None
    W_out_ : ndarray, shape (hidden + 1, n_out)
    """

    def __init__(self, n_in: int, n_out: int, hidden: int, *, ridge: float = RIDGE, seed: int = 0):
        if min(n_in, n_out) < 1 or hidden < 0 or ridge < 0:
            raise InputError(f"need n_in, n_out >= 1, hidden >= 0, ridge >= 0; got {n_in}, {n_out}, {hidden}, {ridge}")
        self.n_in, self.n_out, self.ridge = int(n_in), int(n_out), float(ridge)
        self.hidden_layer = None
        if hidden:
            # std 1/sqrt(n_in): pre-activations of order one, so tanh is neither linear nor saturated
            self.hidden_layer = Network([Dense(n_in, hidden), ActivationLayer("tanh")],
                                        init=Normal(0.0, 1.0 / np.sqrt(n_in)), seed=seed)

    def features(self, X: np.ndarray) -> np.ndarray:
        """Hidden activations with a bias column, ``(N, hidden + 1)``."""
        H = X if self.hidden_layer is None else self.hidden_layer.predict(X)[0]
        return np.column_stack([H, np.ones(len(X))])

    def fit(self, X: np.ndarray, Y: np.ndarray) -> ExtremeLearningMachine:
        """Ridge readout from ``X`` ``(N, n_in)`` to ``Y`` ``(N, n_out)``."""
        Phi = self.features(X)
        self.W_out_ = np.linalg.solve(Phi.T @ Phi + self.ridge * np.eye(Phi.shape[1]), Phi.T @ Y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs ``(N, n_out)``."""
        return self.features(X) @ self.W_out_

    def zoo_layers(self) -> list[ZooLayer]:
        if self.hidden_layer is None:
            return [ZooLayer("input", self.n_in, "input"), ZooLayer("output", self.n_out, "ridge readout")]
        inputs, hidden = network_layers(self.hidden_layer)
        return [inputs, ZooLayer("hidden", hidden.size, f"random {hidden.label}"),
                ZooLayer("output", self.n_out, "ridge readout")]


def build(seed: int = 0) -> ExtremeLearningMachine:
    return ExtremeLearningMachine(64, 10, HIDDEN, seed=seed)


def accuracy(model: ExtremeLearningMachine, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(X).argmax(axis=1) == y))


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Fit on 80% of the digits, test on 20%, for several hidden sizes and for the raw-pixel readout."""
    rng = np.random.default_rng(seed)
    X, y = digits()
    train, test = split(len(X), 0.2, rng)
    Y = np.eye(10)[y]
    sizes = [100, HIDDEN] if quick else [25, 50, 100, 200, 400, 700, HIDDEN, 1400]
    curve = [accuracy(ExtremeLearningMachine(64, 10, h, seed=seed).fit(X[train], Y[train]), X[test], y[test])
             for h in sizes]
    linear = accuracy(ExtremeLearningMachine(64, 10, 0).fit(X[train], Y[train]), X[test], y[test])
    figure(sizes, Path(out) / "elm.png", curve=curve, linear=linear)
    return {"test_accuracy": curve[sizes.index(HIDDEN)], "linear_test_accuracy": linear, "hidden": float(HIDDEN)}


def figure(sizes: list[int], path: str | Path | None = None, *, curve: list[float], linear: float,
           fig: Figure | None = None) -> Figure:
    """Test accuracy ``curve`` (one per hidden size in ``sizes``) against the raw-pixel readout's ``linear``."""
    from annrl.viz.style import finish, panels

    fig, ax = panels(fig, size=(6, 3.8))
    ax.plot(sizes, 100 * np.array(curve), "o-", label="ELM: random tanh layer + ridge readout")
    ax.axhline(100 * linear, color="k", ls="--", lw=1, label="ridge readout on raw pixels")
    ax.set(title="digits: test accuracy of an extreme learning machine", xlabel="random hidden units",
           ylabel="test accuracy (%)", xscale="log")
    ax.legend(loc="lower right")
    return finish(fig, path)
