"""A deep residual MLP (He et al., 2016) against a plain MLP of the same depth, on the engine.

Both networks have ``depth`` dense layers of ``width`` tanh units and start from PyTorch's default
initialisation. In the plain net each layer multiplies the backpropagated error by ``W^T`` and
``tanh'`` (both below one here), so after 30 layers almost nothing reaches the first ones and
training stalls. In the residual net the middle layers are blocks ``y = x + tanh(x W + b)``
(:class:`annrl.nn.residual.Residual`): the identity carries the signal forward and the error back
unchanged, and each block only has to learn a correction.

Demo: fit ``y = sin(3 x1) cos(2 x2)`` on 256 points of [-1, 1]^2 with Adam (lr 5e-4; at 1e-3 the
residual net's loss has occasional spikes); the figure of merit is
the ratio of the final training losses (plain / residual).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.errors import InputError
from annrl.nn import MLP, ActivationLayer, Adam, Dense, Network, fit
from annrl.nn.residual import Residual
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "resnet"
SUMMARY = "deep residual MLP: skip connections let a 30-layer net train where the plain 30-layer MLP stalls"
DEPTH, WIDTH = 30, 16


def plain_mlp(depth: int = DEPTH, width: int = WIDTH, seed: int = 0) -> MLP:
    """``depth`` dense layers: 2 -> width (x depth - 1, tanh) -> 1."""
    return MLP([2] + [width] * (depth - 1) + [1], hidden="tanh", init="torch", seed=seed)


def residual_mlp(depth: int = DEPTH, width: int = WIDTH, seed: int = 0) -> Network:
    """``depth`` dense layers too: ``Dense(2, width)`` + tanh, ``depth - 2`` residual blocks, ``Dense(width, 1)``."""
    if depth < 3:
        raise InputError(f"a residual MLP needs depth >= 3 (input layer, one block, output layer), got {depth}")
    blocks = [Residual([Dense(width, width), ActivationLayer("tanh")]) for _ in range(depth - 2)]
    return Network([Dense(2, width), ActivationLayer("tanh"), *blocks, Dense(width, 1)], init="torch", seed=seed)


def task(rng: np.random.Generator, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, (np.sin(3 * X[:, 0]) * np.cos(2 * X[:, 1]))[:, None]


def build(seed: int = 0) -> Network:
    return residual_mlp(seed=seed)


def train_both(depth: int, epochs: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Loss curves ``(epochs,)`` of the plain and the residual net, same data, init law and optimiser."""
    X, Y = task(np.random.default_rng(seed))
    curves = {}
    for name, make in (("plain", plain_mlp), ("residual", residual_mlp)):
        history = fit(make(depth, WIDTH, seed), X, Y, loss="mse", optimizer=Adam(lr=5e-4), epochs=epochs)
        curves[name] = np.append(history.loss[:, 0], history.final_loss[0])
    return curves


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Train both 30-layer nets; report their final losses and the ratio."""
    curves = train_both(DEPTH, 100 if quick else 600, seed)
    variance = float(np.var(task(np.random.default_rng(seed))[1]))
    figure(curves, Path(out) / "resnet.png", variance=variance)
    plain, residual = float(curves["plain"][-1]), float(curves["residual"][-1])
    return {"plain_final_loss": plain, "residual_final_loss": residual, "loss_ratio_plain_over_residual":
            plain / residual, "target_variance": variance, "depth": float(DEPTH)}


def figure(curves: dict[str, np.ndarray], path: str | Path | None = None, *, variance: float,
           fig: Figure | None = None) -> Figure:
    """Training MSE per epoch of each net in ``curves`` (from :func:`train_both`) against predicting the
    mean (the target's ``variance``): one panel."""
    from annrl.viz.style import finish, panels

    fig, ax = panels(fig, size=(6, 3.8))
    for name, curve in curves.items():
        ax.plot(curve, label=f"{name} MLP, {DEPTH} layers")
    ax.axhline(variance, color="k", ls=":", lw=1, label="predicting the mean")
    ax.set(title=f"depth {DEPTH}: residual vs plain", xlabel="epoch (Adam)", ylabel="training MSE", yscale="log")
    ax.legend()
    return finish(fig, path)
