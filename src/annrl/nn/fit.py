"""The training loop: ``fit`` trains all ``P`` networks of a population at once.

Per network, training stops when its loss reaches ``until`` (it is frozen while the others go on)
or when its loss stops being finite (it is frozen with its last weights that had a finite loss,
and reported as diverged). Everything random (mini-batch order) comes from the ``rng`` argument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.backend import is_numpy, keep_freed_memory, to_numpy
from annrl.nn.losses import Loss, get_loss
from annrl.nn.model import Network
from annrl.nn.optim import SGD, Optimizer


@dataclass
class EpochState:
    """What a callback sees after each epoch (arrays in the network's namespace).

    ``prediction`` ``(P, N, out)`` is the full-batch output *before* this epoch's update (only
    with full-batch training; None otherwise), ``loss`` ``(P,)`` the loss it gave, ``active``
    ``(P,)`` which networks are still training.
    """

    epoch: int
    loss: Any
    prediction: Any
    active: Any


@dataclass
class History:
    """The record of a ``fit``.

    Attributes
    ----------
    loss : ndarray, shape (epochs_run, P)
        Training loss of every network at the start of every epoch (before its update).
    epochs_run : int
        Epochs the loop ran (fewer than asked when every network stopped early).
    reached_epoch : ndarray of int, shape (P,)
        First epoch at which a network's loss was <= ``until``; -1 if never.
    diverged_epoch : ndarray of int, shape (P,)
        Epoch at which a network's loss became NaN or infinite; -1 if never.
    final_loss : ndarray, shape (P,)
        Loss of the trained networks on the whole data set, after the last update.
    """

    loss: np.ndarray
    epochs_run: int
    reached_epoch: np.ndarray
    diverged_epoch: np.ndarray
    final_loss: np.ndarray

    @property
    def reached(self) -> np.ndarray:
        return self.reached_epoch >= 0

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_epoch >= 0


Callback = Callable[[EpochState], bool | None]


def fit(
    net: Network,
    X: Any,
    Y: Any,
    *,
    loss: str | Loss = "mse",
    optimizer: Optimizer | None = None,
    epochs: int = 1000,
    batch_size: int | None = None,
    until: float | None = None,
    rng: np.random.Generator | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    reset_optimizer: bool = True,
) -> History:
    """Train every network of ``net`` on ``(X, Y)``.

    Parameters
    ----------
    net : Network
        Its parameters are updated in place.
    X : array, shape (N, in) or (P, N, in)
        Inputs, shared by all networks or one set per network.
    Y : array, shape (N, out) or (P, N, out)
        Targets (one-hot rows for ``loss="softmax_ce"``).
    loss : str or Loss, default="mse"
    optimizer : Optimizer, optional
        Default: ``SGD(lr=0.02, momentum=0.9)``, the classic XOR tutorial's.
    epochs : int, default=1000
    batch_size : int, optional
        Mini-batch size; None trains on the full batch every epoch.
    until : float, optional
        Per-network tolerance: a network whose loss is <= ``until`` stops updating (checked
        before each full-batch update; after each epoch, on the mean batch loss, with mini-batches).
    rng : numpy.random.Generator, optional
        Shuffles mini-batches (required with ``batch_size``).
    callbacks : sequence of callable
        Called with an :class:`EpochState` after every epoch; returning True stops training.
    progress : bool, default=False
        Show a progress bar.
    reset_optimizer : bool, default=True
        Start from fresh optimizer state; False continues from ``optimizer.state_`` (resume).

    Returns
    -------
    History
    """
    X, Y = _check_data(net, X, Y)
    if is_numpy(net.xp):
        keep_freed_memory()
    loss_fn = get_loss(loss)
    optimizer = optimizer if optimizer is not None else SGD(lr=0.02, momentum=0.9)
    if int(epochs) < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    n_samples = X.shape[-2]
    if batch_size is not None:
        if not 1 <= int(batch_size):
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if rng is None:
            raise ValueError("fit with batch_size needs rng (a numpy.random.Generator) to shuffle")
    if reset_optimizer or not optimizer.state_:
        optimizer.reset(net.flat_)
    loop = _Loop(net, loss_fn, optimizer, until)
    full_batch = batch_size is None or int(batch_size) >= n_samples
    with _progress_bar(progress, int(epochs)) as advance, quiet_overflow(net.xp):
        for epoch in range(int(epochs)):
            loop.epoch = epoch
            if full_batch:
                # the tolerance is checked before the update, so a network is frozen with
                # exactly the weights that reached it
                value, prediction = loop.step(X, Y, check_tolerance=True)
            else:
                value, prediction = _minibatch_epoch(loop, X, Y, int(batch_size), rng), None
                loop.check_tolerance(value)
            loop.losses.append(value)
            state = EpochState(epoch, value, prediction, loop.active)
            if any(callback(state) for callback in callbacks) or loop.all_frozen():
                break
            advance()
        final_loss, _ = loss_fn(net.forward(X)[0], Y)
    return loop.history(to_numpy(final_loss))


class _Loop:
    """Per-network bookkeeping of one ``fit``: losses, tolerance, divergence, frozen networks."""

    def __init__(self, net: Network, loss_fn: Loss, optimizer: Optimizer, until: float | None):
        self.net, self.loss_fn, self.optimizer, self.until = net, loss_fn, optimizer, until
        xp, P = net.xp, net.population
        self.active = xp.ones((P,), dtype=xp.bool, device=net.flat_.device)
        self.any_frozen = False
        self.losses: list[Any] = []
        self.reached = np.full(P, -1)
        self.diverged = np.full(P, -1)
        self._last_finite = xp.asarray(net.flat_, copy=True)
        self.epoch = 0

    def step(self, X: Any, Y: Any, check_tolerance: bool = False) -> tuple[Any, Any]:
        """One forward/backward/update on a batch; returns the batch loss ``(P,)`` and prediction."""
        net = self.net
        prediction, caches = net.forward(X)
        value, grad = self.loss_fn(prediction, Y)
        self._guard_divergence(value)
        if check_tolerance:
            self.check_tolerance(value)
        net.zero_grad()
        net.backward(grad, caches)
        self.optimizer.step(net.flat_, net.grad, self.active if self.any_frozen else None)
        return value, prediction

    def _guard_divergence(self, value: Any) -> None:
        # The weights that gave a finite loss are kept; one copy per step is the price of
        # never handing back NaN weights.
        xp = self.net.xp
        finite = xp.isfinite(value)
        if bool(xp.all(finite)):
            self._last_finite[...] = self.net.flat_
            return
        newly = to_numpy(~finite & self.active)
        self.diverged[newly & (self.diverged < 0)] = self.epoch
        self.net.flat_[...] = xp.where(finite[:, None], self.net.flat_, self._last_finite)
        self._last_finite[...] = self.net.flat_
        self._freeze(finite)

    def check_tolerance(self, value: Any) -> None:
        """Freeze the active networks whose loss is <= ``until``."""
        if self.until is None:
            return
        done = (value <= self.until) & self.active
        if bool(self.net.xp.any(done)):
            self.reached[to_numpy(done)] = self.epoch
            self._freeze(~done)

    def _freeze(self, keep: Any) -> None:
        self.active = self.active & keep
        self.any_frozen = True

    def all_frozen(self) -> bool:
        return self.any_frozen and not bool(self.net.xp.any(self.active))

    def history(self, final_loss: np.ndarray) -> History:
        P = self.net.population
        losses = np.stack([to_numpy(v) for v in self.losses]) if self.losses else np.zeros((0, P))
        return History(losses, len(self.losses), self.reached, self.diverged, final_loss)


def _minibatch_epoch(loop: _Loop, X: Any, Y: Any, batch_size: int, rng: np.random.Generator) -> Any:
    """One pass over shuffled mini-batches (one order shared by all networks); mean batch loss."""
    xp = loop.net.xp
    order = rng.permutation(X.shape[-2])
    total, batches = None, 0
    for start in range(0, len(order), batch_size):
        idx = xp.asarray(order[start : start + batch_size], device=loop.net.flat_.device)
        value, _ = loop.step(xp.take(X, idx, axis=X.ndim - 2), xp.take(Y, idx, axis=Y.ndim - 2))
        total = value if total is None else total + value
        batches += 1
    return total / batches


def _check_data(net: Network, X: Any, Y: Any) -> tuple[Any, Any]:
    X = net.check_input(X)
    Y = net.asarray(Y)
    n_out = net.n_outputs
    shape = tuple(Y.shape)
    ok = (Y.ndim == 2 and shape[1] == n_out) or (Y.ndim == 3 and shape[0] == net.population and shape[2] == n_out)
    if not ok:
        raise ValueError(f"targets must have shape (N, {n_out}) or ({net.population}, N, {n_out}), got {shape}")
    if shape[-2] != X.shape[-2]:
        raise ValueError(f"inputs and targets must have the same number of samples, got {X.shape[-2]} and {shape[-2]}")
    xp = net.xp
    for name, data in (("inputs", X), ("targets", Y)):
        if not bool(xp.all(xp.isfinite(data))):
            raise ValueError(f"{name} contain NaN or infinite values")
    return X, Y


def _progress_bar(show: bool, total: int):
    if not show:
        return nullcontext(lambda: None)
    return _RichProgress(total)


class _RichProgress:
    """A rich progress bar advanced once per epoch (redrawn at most ~100 times)."""

    def __init__(self, total: int):
        from rich.progress import Progress

        self.progress, self.total, self.count = Progress(transient=True), total, 0
        self.every = max(1, total // 100)

    def __enter__(self):
        self.progress.start()
        self.task = self.progress.add_task("training", total=self.total)
        return self.advance

    def advance(self) -> None:
        self.count += 1
        if self.count % self.every == 0:
            self.progress.update(self.task, completed=self.count)

    def __exit__(self, *exc):
        self.progress.stop()
        return False


def quiet_overflow(xp: Any):
    """Silence NumPy's overflow warnings: exp of large negatives in sigmoid gives the exact limit,
    and a diverging network is detected from its loss and frozen, not reported by a warning."""
    return np.errstate(over="ignore", invalid="ignore") if is_numpy(xp) else nullcontext()
