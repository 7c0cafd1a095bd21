"""A constructive network: it starts linear and adds a hidden unit whenever its error plateaus.

The model is ``y = x A + tanh(x W + b) V + c``: direct input-output connections (a linear model
when there is no hidden unit) plus ``H`` tanh units. It trains by full-batch Adam in windows of
``window`` epochs. After each window:

- if the loss is at or below ``target``, training stops: no unit is ever added to a network that
  already does its job;
- else, if the loss improved by less than the fraction ``threshold`` over the window (a plateau:
  the current units have done what they can), a unit is added.

The new unit is chosen as cascade-correlation chooses its candidates (Fahlman and Lebiere 1990):
from ``candidates`` random tanh units, the one whose output correlates most with the current
residual error. Its output weights are then set by least squares to fit that residual, so the
loss drops at once, and all weights go on training together (unlike cascade-correlation, which
freezes the old units). A linearly solvable task therefore reaches its target with no hidden unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from annrl.nn import Adam, Dense, Layer, Network, ParamSpec, Trainer
from annrl.validate import POSITIVE, Interval, check

GROW_TABLE = {
    "window": [Interval(int, 1, None)],
    "threshold": [Interval(float, 0, 1)],
    "target": POSITIVE,
    "max_units": [Interval(int, 0, None)],
    "candidates": [Interval(int, 1, None)],
    "lr": POSITIVE,
}


class InputAndTanh(Layer):
    """``[x, tanh(x W + b)]``: the inputs passed through, then ``units`` tanh units of them.

    ``weight`` is ``(P, n_in, units)``, ``bias`` ``(P, 1, units)``; the output is
    ``(P, N, n_in + units)``, so the next dense layer sees the inputs directly (the skip
    connections of a constructive network).
    """

    def __init__(self, n_in: int, units: int):
        self.n_in, self.units = int(n_in), int(units)

    def param_specs(self):
        return {"weight": ParamSpec((self.n_in, self.units), self.n_in, self.units, "weight"),
                "bias": ParamSpec((1, self.units), self.n_in, self.units, "bias")}

    def forward(self, params, x):
        h = np.tanh(np.matmul(x, params["weight"]) + params["bias"])
        passed = np.broadcast_to(x, (*h.shape[:-1], self.n_in))
        return np.concatenate([passed, h], axis=-1), (x, h)

    def backward(self, params, grad_y, cache, input_grad=True):
        x, h = cache
        grad_z = grad_y[..., self.n_in :] * (1.0 - h * h)
        shared = x.ndim == 2
        grads = {"weight": np.einsum("ni,pnj->pij" if shared else "pni,pnj->pij", x, grad_z),
                 "bias": np.sum(grad_z, axis=1, keepdims=True)}
        grad_x = grad_y[..., : self.n_in] + np.matmul(grad_z, np.swapaxes(params["weight"], 1, 2)) \
            if input_grad else None
        return grad_x, grads

    def __repr__(self):
        return f"InputAndTanh({self.n_in} -> {self.n_in} + {self.units} tanh)"


def constructive_network(n_in: int, n_out: int, units: int) -> Network:
    """The network with ``units`` hidden units (a single dense layer when 0), zero weights."""
    layers = [Dense(n_in, n_out)] if units == 0 else [InputAndTanh(n_in, units), Dense(n_in + units, n_out)]
    net = Network(layers, init="normal", seed=0)
    net.flat_[...] = 0.0
    return net


@dataclass
class Growth:
    """The record of a :meth:`GrowingNetwork.fit`.

    Attributes
    ----------
    loss : ndarray (epochs,)
        Training MSE at every epoch (before its update).
    units : ndarray of int (epochs,)
        Hidden units during every epoch.
    added_at : list of int
        Epochs at which a unit was added (after that epoch).
    reached_at : int or None
        First epoch whose loss was <= target.
    """

    loss: np.ndarray
    units: np.ndarray
    added_at: list[int] = field(default_factory=list)
    reached_at: int | None = None


class GrowingNetwork:
    """Adds tanh units to a linear model while its error plateaus above ``target``.

    Parameters
    ----------
    n_in, n_out : int
    window : int, default=100
        Epochs between decisions.
    threshold : float, default=0.05
        A window that lowers the loss by less than this fraction is a plateau.
    target : float, default=1e-3
        The MSE at which training (and growth) stops.
    max_units : int, default=30
    candidates : int, default=64
        Random candidate units scored against the residual at each addition.
    lr : float, default=0.01
        Adam's learning rate.
    seed : int or numpy.random.Generator, default=0

    Attributes
    ----------
    net : Network
        The current network (replaced by a wider one at each addition).
    units : int
    """

    def __init__(self, n_in: int, n_out: int = 1, *, window: int = 100, threshold: float = 0.05,
                 target: float = 1e-3, max_units: int = 30, candidates: int = 64, lr: float = 0.01,
                 seed: int | np.random.Generator = 0):
        check(GROW_TABLE, {"window": window, "threshold": threshold, "target": target, "max_units": max_units,
                           "candidates": candidates, "lr": lr})
        self.n_in, self.n_out, self.window, self.threshold = int(n_in), int(n_out), int(window), float(threshold)
        self.target, self.max_units, self.candidates, self.lr = float(target), int(max_units), int(candidates), lr
        self.rng = np.random.default_rng(seed)
        self.units = 0
        self.net = constructive_network(self.n_in, self.n_out, 0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs ``(N, n_out)``."""
        return np.asarray(self.net.predict(X))[0]

    def fit(self, X: np.ndarray, Y: np.ndarray, *, epochs: int = 3000) -> Growth:
        """Train on ``X`` ``(N, n_in)``, ``Y`` ``(N, n_out)`` for at most ``epochs`` epochs, growing at plateaus."""
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float).reshape(len(X), self.n_out)
        losses, units, growth = [], [], Growth(np.zeros(0), np.zeros(0, dtype=int))
        trainer = self._trainer(X, Y)
        while len(losses) < epochs:
            start = len(trainer.losses)
            trainer.run(min(self.window, epochs - len(losses)))
            window = [float(np.asarray(v)[0]) for v in trainer.losses[start:]]
            losses += window
            units += [self.units] * len(window)
            below = [k for k, v in enumerate(window) if v <= self.target]
            if below:
                growth.reached_at = len(losses) - len(window) + below[0]
                break
            improvement = (window[0] - window[-1]) / window[0]
            if improvement < self.threshold and self.units < self.max_units:
                self._add_unit(X, Y)
                growth.added_at.append(len(losses) - 1)
                trainer = self._trainer(X, Y)
        growth.loss, growth.units = np.asarray(losses), np.asarray(units)
        return growth

    def _trainer(self, X: np.ndarray, Y: np.ndarray) -> Trainer:
        return Trainer(self.net, X, Y, loss="mse", optimizer=Adam(lr=self.lr), until=self.target)

    def _add_unit(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Widen the network by the candidate unit that best explains the residual, fitted to it."""
        residual = Y - self.predict(X)  # (N, out)
        scale = 2.0 / np.sqrt(self.n_in)
        weights = self.rng.normal(0.0, scale, size=(self.n_in, self.candidates))
        biases = self.rng.uniform(-1.5, 1.5, size=self.candidates)
        activations = np.tanh(X @ weights + biases)  # (N, candidates)
        centred = activations - activations.mean(axis=0)
        covariance = centred.T @ (residual - residual.mean(axis=0)) / len(X)  # (candidates, out)
        score = np.abs(covariance).sum(axis=1) / (centred.std(axis=0) + 1e-12)
        best = int(np.argmax(score))
        out_weight = covariance[best] / (centred[:, best].var() + 1e-12)  # least squares on the residual
        self._widen(weights[:, best], biases[best], out_weight, activations[:, best].mean())

    def _widen(self, in_weight: np.ndarray, in_bias: float, out_weight: np.ndarray, mean_activation: float) -> None:
        old, H, n = self.net, self.units, self.n_in
        new = constructive_network(n, self.n_out, H + 1)
        dense_old = "0" if H == 0 else "1"
        if H:
            new.params_["0.weight"][0, :, :H] = old.params_["0.weight"][0]
            new.params_["0.bias"][0, :, :H] = old.params_["0.bias"][0]
        new.params_["0.weight"][0, :, H] = in_weight
        new.params_["0.bias"][0, 0, H] = in_bias
        new.params_["1.weight"][0, : n + H] = old.params_[f"{dense_old}.weight"][0]
        new.params_["1.weight"][0, n + H] = out_weight
        # the unit fits the centred residual: its mean is taken back through the output bias
        new.params_["1.bias"][0] = old.params_[f"{dense_old}.bias"][0] - mean_activation * out_weight
        self.net, self.units = new, H + 1
