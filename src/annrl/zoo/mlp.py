"""The multilayer perceptron (Rumelhart, Hinton & Williams, 1986): the engine's MLP on two moons.

Two interleaved half circles (scikit-learn's ``make_moons``, generated, with noise) are not
linearly separable; one hidden layer of tanh units trained by backpropagation with Adam on the
logistic loss bends the boundary around them. The figure of merit is the accuracy on held-out points.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.nn import MLP, Adam, fit
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "mlp"
SUMMARY = "multilayer perceptron: hidden layers trained by backpropagation bend a boundary around two moons"
SIZES = [2, 16, 16, 1]


def build(seed: int = 0) -> MLP:
    """The demo's network, untrained: 2 inputs, two hidden layers of 16 tanh units, one logit."""
    return MLP(SIZES, hidden="tanh", output="identity", init="xavier", seed=seed)


def moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points ``(n, 2)`` of two moons with noise 0.2 and labels ``(n,)`` of 0/1."""
    from sklearn.datasets import make_moons

    return make_moons(n, noise=0.2, random_state=int(rng.integers(2**31)))


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Train on 400 moons points, test on 1000 fresh ones; figure: decision surface and loss curve."""
    rng = np.random.default_rng(seed)
    X, y = moons(400, rng)
    X_test, y_test = moons(1000, rng)
    net = build(seed)
    history = fit(net, X, y[:, None], loss="bce", optimizer=Adam(lr=0.01), epochs=300 if quick else 2000)
    accuracy = lambda A, b: float(np.mean((net.predict(A)[0, :, 0] > 0) == b))  # noqa: E731
    figure(net, Path(out) / "mlp.png", X=X_test, y=y_test, loss=history.loss[:, 0])
    return {"test_accuracy": accuracy(X_test, y_test), "train_accuracy": accuracy(X, y),
            "final_loss": float(history.final_loss[0])}


def figure(net: MLP, path: str | Path | None = None, *, X: np.ndarray, y: np.ndarray, loss: np.ndarray,
           fig: Figure | None = None) -> Figure:
    """Points ``X`` ``(n, 2)`` coloured by label ``y`` ``(n,)`` over ``net``'s boundary, and the training
    ``loss`` ``(epochs,)``: two panels."""
    from annrl.viz.style import finish, panels

    fig, (ax, ax_loss) = panels(fig, 2, size=(9, 3.8))
    gx, gy = np.meshgrid(np.linspace(-1.8, 2.8, 150), np.linspace(-1.3, 1.8, 120))
    logit = net.predict(np.column_stack([gx.ravel(), gy.ravel()]))[0, :, 0].reshape(gx.shape)
    ax.contourf(gx, gy, logit, levels=[-1e9, 0, 1e9], colors=["#f59322", "#0877bd"], alpha=0.15)
    ax.contour(gx, gy, logit, levels=[0], colors="k", linewidths=1)
    for label, colour in ((0, "#f59322"), (1, "#0877bd")):
        ax.scatter(*X[y == label].T, s=5, color=colour)
    ax.set(title="test points and the learned boundary", xlabel="x1", ylabel="x2")
    ax_loss.plot(loss)
    ax_loss.set(title="training loss (logistic)", xlabel="epoch", ylabel="loss", yscale="log")
    return finish(fig, path)
