"""Run a :class:`~annrl.nn.fit.Trainer`'s epochs with the compiled loop, on the trainer's own state.

The trainer keeps the meaning of every array (parameters, optimizer state, the last finite weights, the
per-network flags, the loss history, the RNG): this module only lays them out networks-innermost, calls
:func:`annrl.nn.compiled.loop.train` a chunk of epochs at a time and puts the results back, so that
``state_dict`` / ``load_state_dict`` and ``history`` work as after a NumPy run, and a compiled run resumed
from a checkpoint ends bit for bit where an uninterrupted compiled run does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.nn.compiled.rules import LOSS_CODES, OPTIMIZER_CODES, dense_plan

#: epochs of the first compiled call; each next call runs twice as many, up to MAX_CHUNK. Between two calls
#: the driver checks whether every network has stopped; few calls keep the cost of waking threads small
CHUNK, MAX_CHUNK = 100, 6400
#: networks per block (a block's gradient, (D, block), stays in the core's cache)
MAX_BLOCK, SMALL_NET_BLOCK, SMALL_NET = 64, 256, 32
#: the optimizer state held in the kernel's ``s1`` and ``s2``, by optimizer
STATE_NAMES = {"SGD": ("momentum", ""), "Adam": ("m", "v"), "RMSprop": ("square_avg", "momentum")}


def run(trainer: Any, epochs: int, advance: Any = None) -> bool:
    """Train ``trainer`` ``epochs`` more epochs; True when every network stopped before the end.

    ``advance`` (optional) is called once per epoch trained (a progress bar).
    """
    import numba

    from annrl.nn.compiled.loop import train, train_block

    if int(epochs) < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    state = _State(trainer)
    # the whole run's losses in one block, which the trainer's log keeps as it is (no copy, see LossLog)
    losses = np.empty((int(epochs), state.P), dtype=state.dtype)
    done, stopped, chunk = 0, False, CHUNK
    while done < len(losses) and not stopped:
        n, chunk = min(chunk, len(losses) - done), min(2 * chunk, MAX_CHUNK)
        order, rng_state = state.orders(n)
        first = trainer.epoch
        arguments = (state.theta, state.s1, state.s2, state.steps, state.last, state.X, state.Y, order, state.batch,
                     n, first, *state.layers, *state.settings, state.active, trainer.reached, trainer.diverged,
                     losses[done:done + n], state.until, state.threshold, state.solved)
        if state.block >= state.P:  # one block: no threads to start
            train_block(*arguments, 0, state.P)
        else:
            with numba.parallel_chunksize(1):  # threads take blocks as they finish: one slowed by other jobs
                train(*arguments, state.block)  # holds back only its own blocks, not half of them
        ran = n
        if not state.active.any():  # the NumPy loop stops after the epoch in which the last network froze
            stop = max(int(trainer.reached.max()), int(trainer.diverged.max()), first)
            ran, stopped = stop - first + 1, True
            state.solved[state.solved > stop] = -1  # the NumPy loop looks no further
            if rng_state is not None and ran < n:  # draw exactly the orders the NumPy loop would have drawn
                trainer.rng.bit_generator.state = rng_state
                state.orders(ran)
        trainer.epoch += ran
        done += ran
        for _ in range(ran if advance is not None else 0):
            advance()
    # a run that stopped early keeps only its rows, not the block reserved for all of them
    trainer.losses.add_block(losses[:done] if 2 * done >= len(losses) else losses[:done].copy())
    state.write_back()
    return stopped


class _State:
    """The trainer's arrays as the kernel takes them, and the way back."""

    def __init__(self, trainer: Any):
        net, optimizer = trainer.net, trainer.optimizer
        self.trainer, self.P, self.dtype = trainer, net.population, net.flat_.dtype
        cast = self.dtype.type
        plan = dense_plan(net)
        self.layers = (plan.units, plan.w_off, plan.b_off, plan.acts, plan.slopes.astype(self.dtype))
        self.theta = np.ascontiguousarray(net.flat_.T)
        self.last = np.ascontiguousarray(trainer._last_finite.T)
        self.X = _networks_last(trainer.X, trainer._x_axis)
        self.Y = _networks_last(trainer.Y, trainer._y_axis)
        N = self.X.shape[0]
        self.batch = N if trainer.batch_size is None else trainer.batch_size
        self.active = np.array(trainer.active, dtype=bool)
        self.until = cast(trainer.until if trainer.until is not None else 0.0)
        tracks = trainer.threshold is not None
        self.threshold = cast(trainer.threshold if tracks else 0.0)
        self.solved = trainer.solved_epoch if tracks else np.full(self.P, -1)
        self.block = _block_size(self.P, self.theta.shape[0])
        self._optimizer_state(optimizer)
        loss = trainer.loss_fn
        hyper = np.stack([_per_network(getattr(optimizer, name, 0.0), self.P, self.dtype)
                          for name in ("lr", "weight_decay", "momentum")])
        has_momentum = "momentum" in optimizer.state_
        flags = np.array([trainer.until is not None, optimizer._decays, has_momentum,
                          getattr(optimizer, "nesterov", False), tracks])
        b1, b2 = getattr(optimizer, "betas", (getattr(optimizer, "alpha", 0.0), 0.0))
        betas = np.array([b1, b2, getattr(optimizer, "eps", 0.0), 1.0 - b1, 1.0 - b2]).astype(self.dtype)
        self.settings = (LOSS_CODES[type(loss)], cast(getattr(loss, "delta", 1.0)), OPTIMIZER_CODES[type(optimizer)],
                         hyper, flags, betas)

    def _optimizer_state(self, optimizer: Any) -> None:
        """``s1``, ``s2`` ``(D, P)`` and ``steps`` ``(P,)`` from the optimizer's state (zeros where it has none)."""
        state = optimizer.state_
        self.names = [name if name in state else None for name in STATE_NAMES[type(optimizer).__name__]]
        self.s1, self.s2 = (np.ascontiguousarray(state[name].T) if name else np.zeros_like(self.theta)
                            for name in self.names)
        self.steps = np.array(state["steps"][:, 0]) if "steps" in state else np.zeros(self.P, dtype=self.dtype)

    def orders(self, n: int) -> tuple[np.ndarray, Any]:
        """The sample order of the next ``n`` epochs (drawn from the trainer's RNG with mini-batches)."""
        trainer, N = self.trainer, self.X.shape[0]
        if trainer.batch_size is None:
            return np.arange(N)[None, :], None
        rng_state = trainer.rng.bit_generator.state
        return np.stack([trainer.rng.permutation(N) for _ in range(n)]), rng_state

    def write_back(self) -> None:
        trainer, optimizer = self.trainer, self.trainer.optimizer
        trainer.net.flat_[...] = self.theta.T
        trainer._last_finite[...] = self.last.T
        state = optimizer.state_
        for name, values in zip(self.names, (self.s1, self.s2), strict=True):
            if name:
                state[name][...] = values.T
        if "steps" in state:
            state["steps"][:, 0] = self.steps
        trainer.active = self.active
        trainer.any_frozen = bool(trainer.any_frozen or not self.active.all())


def _networks_last(data: np.ndarray, sample_axis: int) -> np.ndarray:
    """``(N, k)`` shared or ``(P, N, k)`` per-network data as ``(N, k, 1)`` or ``(N, k, P)``."""
    if sample_axis == 0:
        return np.ascontiguousarray(data[:, :, None])
    return np.ascontiguousarray(np.transpose(data, (1, 2, 0)))


def _per_network(value: Any, P: int, dtype: Any) -> np.ndarray:
    """A setting (a number or ``(P,)`` values) as ``(P,)`` numbers of ``dtype``."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (P,))).astype(dtype)


def _block_size(P: int, D: int) -> int:
    """Networks per block: as many as keep the block's gradient in cache, and every thread busy."""
    import numba

    cap = SMALL_NET_BLOCK if D <= SMALL_NET else MAX_BLOCK
    return max(1, min(cap, -(-P // numba.get_num_threads())))
