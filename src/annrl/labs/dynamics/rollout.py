"""Training through the integrator: a differentiable RK4 step of a network vector field.

The field is ``g(z) = scale * net(z)`` for a :class:`~annrl.nn.Network` ``net`` with as many
inputs as outputs. One classical Runge-Kutta step of size ``h`` is

    k1 = g(z)
    k2 = g(z + h/2 k1)
    k3 = g(z + h/2 k2)
    k4 = g(z + h k3)
    z' = z + h/6 (k1 + 2 k2 + 2 k3 + k4)

and its backward pass (:func:`rk4_step_backward`) runs the chain rule through the four stages in
reverse. With ``G = dL/dz'``, the gradients reaching the stage outputs start at
``G_k1 = G_k4 = h/6 G`` and ``G_k2 = G_k3 = h/3 G``; each stage, from the fourth to the first,
sends ``s = J_g(stage input)^T G_k`` (the network's input gradient) back to ``z`` and to the
stage it was built from:

    s4 = backprop(G_k4)   ->  G_z += s4,  G_k3 += h s4
    s3 = backprop(G_k3)   ->  G_z += s3,  G_k2 += h/2 s3
    s2 = backprop(G_k2)   ->  G_z += s2,  G_k1 += h/2 s2
    s1 = backprop(G_k1)   ->  G_z += s1

Every ``backprop`` adds the parameter gradients of its stage into ``net.grad``, so a step (and a
rollout of many steps, run backwards step by step) leaves in ``net.grad`` the sum of all
contributions: call ``net.zero_grad()`` once before the backward pass.

:func:`fit_rollout` trains the field by *multiple shooting*: every observed state starts a short
window of ``window`` steps, and the loss is the mean squared distance between the rolled-out
states and the observed ones. Short windows keep the gradients of a badly initialised field
bounded (a long rollout of a random field explodes or collapses), while every window still asks
the network to get ``window`` consecutive steps right, not just the slope at one point.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.backend import array_namespace, to_numpy
from annrl.errors import InputError
from annrl.nn.losslog import LossLog
from annrl.nn.model import Network
from annrl.nn.optim import Optimizer


def rk4_step(net: Network, z: Any, h: float, *, scale: Any = 1.0) -> tuple[Any, tuple]:
    """One RK4 step of ``z' = scale * net(z)``.

    Parameters
    ----------
    net : Network
        ``d`` inputs and ``d`` outputs, population ``P``.
    z : array, shape (P, N, d) or (N, d)
        States (one set per network, or shared by all networks).
    h : float
        Step size.
    scale : float or array of shape (d,), default=1.0
        Output scale of the field (the standardised derivative's unit, see ``dynamics.py``).

    Returns
    -------
    z_next : array, shape (P, N, d)
    cache : tuple
        What :func:`rk4_step_backward` needs (the four stages' network caches).
    """
    y1, c1 = net.forward(z)
    k1 = scale * y1
    y2, c2 = net.forward(z + (0.5 * h) * k1)
    k2 = scale * y2
    y3, c3 = net.forward(z + (0.5 * h) * k2)
    k3 = scale * y3
    y4, c4 = net.forward(z + h * k3)
    k4 = scale * y4
    z_next = z + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return z_next, (h, scale, (c1, c2, c3, c4))


def rk4_step_backward(net: Network, grad_next: Any, cache: tuple) -> Any:
    """Backward of :func:`rk4_step`: adds the parameter gradients to ``net.grad``.

    Parameters
    ----------
    net : Network
        The network of the forward step, with its parameters unchanged since.
    grad_next : array, shape (P, N, d)
        ``dL/dz_next``.
    cache : tuple
        From :func:`rk4_step`.

    Returns
    -------
    grad_z : array, shape (P, N, d)
        ``dL/dz``; for a shared ``(N, d)`` input, sum it over ``P`` to get the shared gradient.
    """
    h, scale, (c1, c2, c3, c4) = cache
    grad_z = grad_next
    g_k1 = (h / 6.0) * grad_next
    g_k2 = (h / 3.0) * grad_next
    g_k3 = (h / 3.0) * grad_next
    g_k4 = (h / 6.0) * grad_next
    # stage 4: k4 = g(z + h k3)
    s4 = net.backward(scale * g_k4, c4, input_grad=True)
    grad_z = grad_z + s4
    g_k3 = g_k3 + h * s4
    # stage 3: k3 = g(z + h/2 k2)
    s3 = net.backward(scale * g_k3, c3, input_grad=True)
    grad_z = grad_z + s3
    g_k2 = g_k2 + (0.5 * h) * s3
    # stage 2: k2 = g(z + h/2 k1)
    s2 = net.backward(scale * g_k2, c2, input_grad=True)
    grad_z = grad_z + s2
    g_k1 = g_k1 + (0.5 * h) * s2
    # stage 1: k1 = g(z)
    s1 = net.backward(scale * g_k1, c1, input_grad=True)
    return grad_z + s1


def rollout(net: Network, z0: Any, dt: float, steps: int, *, scale: Any = 1.0,
            substeps: int = 1) -> tuple[Any, list[tuple]]:
    """Roll the field out for ``steps`` sample intervals of length ``dt``.

    Parameters
    ----------
    net : Network
    z0 : array, shape (P, N, d) or (N, d)
        Initial states of ``N`` rollouts.
    dt : float
        Time between recorded states.
    steps : int
        Recorded intervals (>= 1).
    scale : float or array of shape (d,), default=1.0
    substeps : int, default=1
        RK4 steps per interval (step size ``dt / substeps``).

    Returns
    -------
    path : array, shape (steps + 1, P, N, d)
        ``path[0]`` is ``z0`` (broadcast to ``(P, N, d)``), ``path[j]`` the state after ``j`` intervals.
    caches : list of tuple
        One per RK4 step, for :func:`rollout_backward`.
    """
    xp = array_namespace(net.flat_)
    h = dt / substeps
    z, states, caches = z0, [], []
    for _ in range(steps):
        for _ in range(substeps):
            z, cache = rk4_step(net, z, h, scale=scale)
            caches.append(cache)
        states.append(z)
    first = xp.broadcast_to(z0, states[0].shape) if states else z0
    return xp.stack([first, *states], axis=0), caches


def rollout_backward(net: Network, grad_path: Any, caches: list[tuple]) -> Any:
    """Backward of :func:`rollout`; adds parameter gradients to ``net.grad``.

    Parameters
    ----------
    grad_path : array, shape (steps + 1, P, N, d)
        ``dL/dpath``.
    caches : list of tuple
        From :func:`rollout` (``steps * substeps`` of them).

    Returns
    -------
    grad_z0 : array, shape (P, N, d)
    """
    steps = grad_path.shape[0] - 1
    substeps = len(caches) // steps
    grad = grad_path[steps]
    for step in range(steps - 1, -1, -1):
        for sub in range(substeps - 1, -1, -1):
            grad = rk4_step_backward(net, grad, caches[step * substeps + sub])
        grad = grad + grad_path[step]
    return grad


def windows(z: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiple-shooting windows of an observed series.

    Parameters
    ----------
    z : ndarray, shape (n, d)
        Observed states at equally spaced times.
    window : int
        Steps per window, 1 <= window <= n - 1.

    Returns
    -------
    starts : ndarray, shape (n - window, d)
        The observed state that starts each window.
    targets : ndarray, shape (window + 1, n - window, d)
        ``targets[j, i] = z[i + j]``: the observed states along window ``i``.
    """
    n = len(z)
    if not 1 <= window <= n - 1:
        raise InputError(f"window must be in [1, {n - 1}] for {n} samples, got {window}")
    count = n - window
    targets = np.stack([z[j : j + count] for j in range(window + 1)], axis=0)
    return targets[0], targets


def window_loss(net: Network, starts: Any, targets: Any, dt: float, *, scale: Any = 1.0,
                substeps: int = 1, backward: bool = True) -> Any:
    """Mean squared rollout error over windows, and (with ``backward``) its gradient in ``net.grad``.

    ``L = mean over j = 1..k, windows, components of (rollout_j - targets_j)^2`` per network.

    Parameters
    ----------
    starts : array, shape (N, d)
    targets : array, shape (k + 1, N, d)
    backward : bool, default=True
        Zero ``net.grad`` and fill it with ``dL/dparameters``.

    Returns
    -------
    loss : array, shape (P,)
    """
    xp = array_namespace(net.flat_)
    steps = targets.shape[0] - 1
    path, caches = rollout(net, starts, dt, steps, scale=scale, substeps=substeps)
    diff = path[1:] - targets[1:, None]  # targets are shared by the P networks
    count = diff.shape[0] * diff.shape[2] * diff.shape[3]
    loss = xp.sum(diff * diff, axis=(0, 2, 3)) / count
    if backward:
        grad_path = xp.concat([xp.zeros_like(path[:1]), (2.0 / count) * diff], axis=0)
        net.zero_grad()
        rollout_backward(net, grad_path, caches)
    return loss


@dataclass
class RolloutHistory:
    """The record of :func:`fit_rollout`.

    Attributes
    ----------
    loss : ndarray, shape (epochs_run, P)
        Mean window loss of every epoch (over its updates, each before its update).
    epochs_run : int
    wall_s : float
        Seconds spent training.
    """

    loss: np.ndarray
    epochs_run: int
    wall_s: float


def fit_rollout(net: Network, z: np.ndarray, dt: float, *, window: int, epochs: int, optimizer: Optimizer,
                scale: Any = 1.0, substeps: int = 1, batch_size: int | None = None,
                rng: np.random.Generator | None = None,
                schedule: Callable[[int], float] | None = None) -> RolloutHistory:
    """Fit ``net`` so that RK4 rollouts of ``scale * net`` follow the observed series ``z``.

    An epoch is one pass over all ``n - window`` windows (see :func:`windows`): one full-batch
    update, or one update per mini-batch of ``batch_size`` windows in an order drawn from ``rng``.
    When a loss or a gradient stops being finite, the weights go back to the last finite ones
    and training stops.

    Parameters
    ----------
    net : Network
        Trained in place.
    z : ndarray, shape (n, d)
        Observed (standardised) states, sampled every ``dt``.
    dt : float
    window : int
        Steps per window.
    epochs : int
    optimizer : Optimizer
    scale : float or array of shape (d,), default=1.0
    substeps : int, default=1
        RK4 steps per sample interval.
    batch_size : int, optional
        Windows per update; None (or at least the number of windows) trains full-batch.
    rng : numpy.random.Generator, optional
        Shuffles the windows; needed with ``batch_size``.
    schedule : callable, optional
        ``schedule(epoch) -> learning rate``, set on the optimizer before every epoch.

    Returns
    -------
    RolloutHistory
    """
    trainer = RolloutTrainer(net, z, dt, window=window, optimizer=optimizer, scale=scale, substeps=substeps,
                             batch_size=batch_size, rng=rng, schedule=schedule)
    trainer.run(epochs)
    return trainer.history()


class RolloutTrainer:
    """The loop of :func:`fit_rollout`, resumable like :class:`annrl.nn.Trainer`.

    ``run(epochs)`` trains more epochs and returns True once training has ended (a loss or
    gradient stopped being finite); ``state_dict``/``load_state_dict`` save and restore everything
    the loop needs, so that :class:`annrl.io.resume.Checkpointer` can checkpoint and resume it.
    """

    def __init__(self, net: Network, z: np.ndarray, dt: float, *, window: int, optimizer: Optimizer,
                 scale: Any = 1.0, substeps: int = 1, batch_size: int | None = None,
                 rng: np.random.Generator | None = None, schedule: Callable[[int], float] | None = None):
        self.starts, self.targets = windows(np.asarray(z, dtype=float), window)
        count = len(self.starts)
        if batch_size is not None and rng is None:
            raise InputError("fit_rollout with batch_size needs rng (a numpy.random.Generator) to shuffle")
        self.batch = count if batch_size is None else min(int(batch_size), count)
        self.net, self.optimizer, self.rng, self.schedule = net, optimizer, rng, schedule
        self.dt, self.scale, self.substeps = dt, scale, substeps
        optimizer.reset(net.flat_)
        self.last_good = net.xp.asarray(net.flat_, copy=True)
        self.losses = LossLog(net.population)
        self.epoch, self.ended, self.wall_s = 0, False, 0.0

    def run(self, epochs: int, *, callbacks: Sequence[Callable[[Any], Any]] = ()) -> bool:
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(int(epochs)):
                if self.ended:
                    break
                if self._epoch():
                    self.epoch += 1
                    for callback in callbacks:
                        callback(self)
        self.wall_s += time.perf_counter() - start
        return self.ended

    def _epoch(self) -> bool:
        """One pass over the windows; False (weights restored, training ended) if it diverged."""
        net, xp, count = self.net, self.net.xp, len(self.starts)
        if self.schedule is not None:
            self.optimizer.lr = self.schedule(self.epoch)
        order = self.rng.permutation(count) if self.batch < count else np.arange(count)
        total = 0.0
        for first in range(0, count, self.batch):
            idx = order[first : first + self.batch]
            starts, targets = net.asarray(self.starts[idx]), net.asarray(self.targets[:, idx])
            loss = window_loss(net, starts, targets, self.dt, scale=self.scale, substeps=self.substeps)
            if not bool(xp.all(xp.isfinite(loss))) or not bool(xp.all(xp.isfinite(net.grad))):
                net.flat_[...] = self.last_good
                self.ended = True
                return False
            self.last_good[...] = net.flat_
            total = total + to_numpy(loss) * len(idx)
            self.optimizer.step(net.flat_, net.grad)
        self.losses.append(np.asarray(total / count, dtype=float))
        return True

    def loss_rows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        return self.losses.rows(start, stop)

    def history(self) -> RolloutHistory:
        return RolloutHistory(self.loss_rows(), len(self.losses), self.wall_s)

    def state_dict(self, *, losses: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"params": np.array(to_numpy(self.net.flat_)), "last_good": np.array(to_numpy(self.last_good)),
                  **self.optimizer.state_arrays("optimizer.")}
        if losses:
            arrays["fit.losses"] = self.loss_rows()
        info = {"epoch": self.epoch, "ended": self.ended,
                "rng": self.rng.bit_generator.state if self.rng is not None else None}
        return arrays, info

    def load_state_dict(self, arrays: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        net = self.net
        net.set_flat(arrays["params"])
        self.last_good[...] = net.asarray(arrays["last_good"])
        self.optimizer.load_state_arrays(arrays, "optimizer.")
        self.losses = LossLog(net.population)
        self.losses.add_block(np.array(arrays["fit.losses"], dtype=float))
        self.epoch, self.ended = int(info["epoch"]), bool(info["ended"])
        if info.get("rng") is not None and self.rng is not None:
            self.rng.bit_generator.state = info["rng"]
