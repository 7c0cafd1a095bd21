"""The training loop: ``fit`` trains all ``P`` networks of a population at once.

Per network, training stops when its loss reaches ``until`` (it is frozen while the others go on)
or when its loss stops being finite (it is frozen with its last weights that had a finite loss,
and reported as diverged). Everything random (mini-batch order) comes from the ``rng`` argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from annrl import progress as reports
from annrl.backend import array_namespace, is_numpy, to_numpy
from annrl.errors import InputError
from annrl.nn import compiled
from annrl.nn.losses import Loss, get_loss
from annrl.nn.losslog import LossLog
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
        Training loss of every network at the start of every epoch (before its update). Read-only when it
        is the trainer's own record (a compiled run's losses, handed over without a copy): ``.copy()`` it to
        change it.
    epochs_run : int
        Epochs the loop ran (fewer than asked when every network stopped early).
    reached_epoch : ndarray of int, shape (P,)
        First epoch at which a network's loss was <= ``until``; -1 if never.
    diverged_epoch : ndarray of int, shape (P,)
        Epoch at which a network's loss became NaN or infinite; -1 if never.
    final_loss : ndarray, shape (P,)
        Loss of the trained networks on the whole data set, after the last update.
    kernel : {"numpy", "compiled"}
        The loop that trained them (see ``fit``'s ``kernel``).
    kernel_reason : str or None
        Why that loop is not the compiled one, in a few words (None when it is).
    """

    loss: np.ndarray
    epochs_run: int
    reached_epoch: np.ndarray
    diverged_epoch: np.ndarray
    final_loss: np.ndarray
    # not fields: subclasses add fields of their own after final_loss
    kernel: ClassVar[str] = "numpy"
    kernel_reason: ClassVar[str | None] = "asked for"

    @property
    def reached(self) -> np.ndarray:
        return self.reached_epoch >= 0

    def _repr_html_(self) -> str:
        """A notebook's summary: epochs, networks reached and diverged, the final losses' spread."""
        from annrl.htmlrepr import table

        final = np.asarray(self.final_loss, dtype=float)
        finite = final[np.isfinite(final)]
        spread = (f"{finite.min():.4g} / {np.median(finite):.4g} / {finite.max():.4g}" if finite.size else "-")
        return table("History", [("networks", final.size), ("epochs run", self.epochs_run),
                                 ("reached the tolerance", int(self.reached.sum())),
                                 ("diverged", int(self.diverged.sum())),
                                 ("final loss min / median / max", spread)])

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
    kernel: str = "auto",
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
    kernel : {"auto", "numpy", "compiled"}, default="auto"
        ``"compiled"``: the fused Numba loop (``pip install "annrl[fast]"``; Dense stacks, no callbacks);
        ``"auto"`` takes it when it applies and the work pays its compile cost
        (:func:`annrl.nn.compiled.choose`), the NumPy loop otherwise. ``History.kernel`` says which ran and
        ``History.kernel_reason`` why it is not the compiled one.

    Returns
    -------
    History

    See Also
    --------
    Trainer : the same loop, run in pieces and saved/restored exactly (checkpoints, resume).
    """
    trainer = Trainer(net, X, Y, loss=loss, optimizer=optimizer, batch_size=batch_size, until=until, rng=rng,
                      kernel=kernel)
    trainer.run(epochs, callbacks=callbacks, progress=progress)
    return trainer.history()


def partial_fit(net: Network, X: Any, Y: Any, *, optimizer: Optimizer, loss: str | Loss = "mse") -> Any:
    """One update of every network on one batch of a stream: learning that never has to stop.

    Unlike :func:`fit`, nothing is kept between calls but the network and ``optimizer`` (its
    momentum or moments carry over, so calling this on successive batches is the same as a
    mini-batch epoch over them in that order). A network whose loss on the batch is NaN or
    infinite is not updated: it keeps its weights while the others learn.

    Parameters
    ----------
    net : Network
        Updated in place.
    X : array, shape (N, in) or (P, N, in)
        The batch (N may be 1: one sample of the stream).
    Y : array, shape (N, out) or (P, N, out)
        Its targets.
    optimizer : Optimizer
        Its state is created on the first call and kept across calls; its ``lr`` may be changed
        between calls (a drift detector raising the learning rate, say).
    loss : str or Loss, default="mse"

    Returns
    -------
    array, shape (P,)
        The loss of every network on the batch *before* the update (a prequential error).

    Examples
    --------
    >>> from annrl.nn import MLP, SGD
    >>> net, opt = MLP([2, 1], seed=0), SGD(lr=0.1)
    >>> before = partial_fit(net, [[1.0, 0.0]], [[1.0]], optimizer=opt)
    >>> after = partial_fit(net, [[1.0, 0.0]], [[1.0]], optimizer=opt)
    >>> bool(after[0] < before[0])
    True
    """
    X, Y, _, _ = _check_data(net, X, Y)
    _ensure_state(optimizer, net.flat_)
    prediction, caches = net.forward(X)
    value, grad = get_loss(loss)(prediction, Y)
    finite = net.xp.isfinite(value)
    net.zero_grad()
    net.backward(grad, caches)
    all_finite = bool(net.xp.all(finite))
    optimizer.step(net.flat_, net.grad, None if all_finite else finite)
    return value


def _ensure_state(optimizer: Optimizer, flat: Any) -> None:
    """Create ``optimizer``'s state on first use; refuse state made for another network shape."""
    names = getattr(optimizer, "_state_names", ())
    if names and not optimizer.state_:
        optimizer.reset(flat)
        return
    for name, value in optimizer.state_.items():
        expected = (flat.shape[0], 1) if name == "steps" else tuple(flat.shape)
        if tuple(value.shape) != tuple(expected):
            raise InputError(f"optimizer state {name!r} has shape {tuple(value.shape)}, made for another network "
                             f"than this one {tuple(flat.shape)}; use a new optimizer")


class Trainer:
    """The training loop of :func:`fit`, resumable: run it in pieces, save and restore its state.

    Parameters are those of :func:`fit` (but ``kernel`` defaults to ``"numpy"``), ``report``: called as
    ``report(epoch, loss=mean loss)`` every :data:`annrl.progress.TRAINER_EVERY` epochs (default:
    :func:`annrl.progress.report`, heard by whoever listens in the current scope, e.g. a Ray Tune trial),
    and ``threshold``: a decision threshold of the outputs, to keep ``solved_epoch`` (below).
    The loop that ``kernel`` stands for is settled once, by the first ``run`` (or by :meth:`settle_kernel`,
    for the whole planned run), and kept: a run in pieces trains with one loop throughout.
    ``run(epochs)`` trains ``epochs`` more epochs;
    ``state_dict()`` returns every array and number the loop needs to continue exactly (the
    parameters, the optimizer state, the per-network bookkeeping, the RNG state), and
    ``load_state_dict`` puts them back, so that a run interrupted and resumed ends bit for bit where
    an uninterrupted one does.

    Attributes
    ----------
    epoch : int
        Epochs trained so far.
    active : array of bool, shape (P,)
        Networks still training (not at tolerance, not diverged).
    kernel_ran, kernel_reason : str or None
        The settled loop (``"numpy"`` or ``"compiled"``; None before) and why it is not the compiled one.
    solved_epoch : ndarray of int, shape (P,)
        With a decision ``threshold`` (full batches): the first epoch whose prediction (before its update)
        has every output on its target's side of ``threshold`` (targets > 0.5 are the positive side);
        -1 while none has. Classifiers (XOR, logic gates) read "epochs to solve" from it.
    """

    def __init__(self, net: Network, X: Any, Y: Any, *, loss: str | Loss = "mse", optimizer: Optimizer | None = None,
                 batch_size: int | None = None, until: float | None = None, rng: np.random.Generator | None = None,
                 report: Callable[..., None] | None = None, kernel: str = "numpy", threshold: float | None = None):
        self.X, self.Y, self._x_axis, self._y_axis = _check_data(net, X, Y)
        if net.population == 1:
            # one network: shared data are its own, (1, N, ...); arrays of the same rank as the
            # parameters broadcast with less overhead, which shows on a network this small
            self.X, self.Y, self._x_axis, self._y_axis = _own(self.X, self._x_axis), _own(self.Y, self._y_axis), 1, 1
        if batch_size is not None:
            if not 1 <= int(batch_size):
                raise InputError(f"batch_size must be >= 1, got {batch_size}")
            if rng is None:
                raise InputError("fit with batch_size needs rng (a numpy.random.Generator) to shuffle")
        self.net, self.loss_fn, self.until, self.rng, self.report = net, get_loss(loss), until, rng, report
        self.optimizer = optimizer if optimizer is not None else SGD(lr=0.02, momentum=0.9)
        self.optimizer.reset(net.flat_)
        n_samples = self.X.shape[self._x_axis]
        self.batch_size = None if batch_size is None or int(batch_size) >= n_samples else int(batch_size)
        xp, P = net.xp, net.population
        self.active = xp.ones((P,), dtype=xp.bool, device=net.flat_.device)
        self.any_frozen = False
        self.losses = LossLog(P)
        self.reached = np.full(P, -1)
        self.diverged = np.full(P, -1)
        self.threshold, self.solved_epoch = threshold, np.full(P, -1)
        self._positive = None if threshold is None else self.Y > 0.5
        self._last_finite = xp.asarray(net.flat_, copy=True)
        self.epoch = 0
        self.kernel, self.kernel_ran, self.kernel_reason = kernel, None, None
        compiled.choose(kernel, self, 0)  # an unknown kernel is refused here, not at the first run

    def settle_kernel(self, epochs: int, callbacks: Sequence[Callback] = ()) -> str:
        """Decide, once, the loop that trains this run of ``epochs`` epochs in all (with ``callbacks`` every
        epoch): ``"numpy"`` or ``"compiled"`` (see :func:`annrl.nn.compiled.choose`); later calls keep it."""
        if self.kernel_ran is None:
            self.kernel_ran, self.kernel_reason = compiled.choose(self.kernel, self, epochs, callbacks)
        return self.kernel_ran

    def run(self, epochs: int, *, callbacks: Sequence[Callback] = (), progress: bool = False) -> bool:
        """Train ``epochs`` more epochs; True when training ended early (all networks frozen or a
        callback asked to stop)."""
        if int(epochs) < 0:
            raise InputError(f"epochs must be >= 0, got {epochs}")
        if self.settle_kernel(epochs, callbacks) == "compiled":
            return self._run_compiled(int(epochs), callbacks, progress)
        with reports.progress_bar(progress, int(epochs)) as advance, quiet_overflow(self.net.xp):
            for _ in range(int(epochs)):
                if self.batch_size is None:
                    # the tolerance is checked before the update, so a network is frozen with
                    # exactly the weights that reached it
                    value, prediction = self.step(self.X, self.Y, check_tolerance=True)
                    if self.threshold is not None:
                        self._record_solved(prediction)
                else:
                    value, prediction = self._minibatch_epoch(), None
                    self.check_tolerance(value)
                self.losses.append(value)
                self.epoch += 1
                if self.epoch % reports.TRAINER_EVERY == 0 and (self.report is not None or reports.listened()):
                    self._report(value)
                if callbacks:
                    state = EpochState(self.epoch - 1, value, prediction, self.active)
                    if any(callback(state) for callback in callbacks):
                        return True
                if self.any_frozen and self.all_frozen():
                    return True
                advance()
        return False

    def _run_compiled(self, epochs: int, callbacks: Sequence[Callback], progress: bool) -> bool:
        """``run`` on the compiled loop, which cannot call Python between epochs: it trains from one look
        of the callbacks to the next (each names, by ``next_look()``, the epoch after which it must be
        called: a checkpointer's schedule), and calls them there."""
        blind = compiled.blind_callbacks(callbacks)
        if blind:
            raise InputError(f"kernel={self.kernel}: the compiled loop is settled for this run and cannot call "
                             f"{blind} every epoch; use kernel=\"numpy\"", field="kernel")
        end = self.epoch + epochs
        with reports.progress_bar(progress, epochs) as advance, quiet_overflow(self.net.xp):
            while self.epoch < end:
                stop = min([end, *(callback.next_look() for callback in callbacks)])
                ended = compiled.train(self, max(stop - self.epoch, 1), advance)
                if callbacks:
                    state = EpochState(self.epoch - 1, self.losses[-1] if self.losses else None, None, self.active)
                    if any(callback(state) for callback in callbacks):
                        return True
                if ended:
                    return True
        return False

    def _record_solved(self, prediction: Any) -> None:
        """Note this epoch in ``solved_epoch`` for the networks right everywhere for the first time."""
        right = to_numpy(self.net.xp.all((prediction > self.threshold) == self._positive, axis=(1, 2)))
        self.solved_epoch[right & (self.solved_epoch < 0)] = self.epoch

    def _report(self, value: Any) -> None:
        """The mean loss of the networks that have not diverged (a diverged one keeps its last, huge loss)."""
        losses = to_numpy(value)[np.asarray(self.diverged) < 0]
        mean = losses.mean() if losses.size else math.inf
        if self.report is not None:
            self.report(self.epoch, loss=mean)
            return
        lr = getattr(self.optimizer, "lr", None)
        extra = {"learning_rate": lr} if isinstance(lr, (int, float)) else {}
        reports.report(self.epoch, loss=mean, **extra)

    def step(self, X: Any, Y: Any, check_tolerance: bool = False) -> tuple[Any, Any]:
        """One forward/backward/update on a batch; returns the batch loss ``(P,)`` and prediction."""
        net = self.net
        prediction, caches = net.forward(X)
        value, grad = self.loss_fn(prediction, Y)
        self._guard_divergence(value)
        if check_tolerance:
            self.check_tolerance(value)
        net.backward(grad, caches, accumulate=False)  # overwrites net.grad: nothing to zero first
        self.optimizer.step(net.flat_, net.grad, self.active if self.any_frozen else None)
        return value, prediction

    def _minibatch_epoch(self) -> Any:
        """One pass over shuffled mini-batches (one order shared by all networks); mean batch loss."""
        total, batches = None, 0
        for x, y in shuffled_batches(self.X, self.Y, self.batch_size, self.rng, x_axis=self._x_axis,
                                     y_axis=self._y_axis):
            value, _ = self.step(x, y)
            total = value if total is None else total + value
            batches += 1
        return total / batches

    def _guard_divergence(self, value: Any) -> None:
        # The weights that gave a finite loss are kept; one copy per step is the price of
        # never handing back NaN weights.
        xp = self.net.xp
        # one reduction decides the usual case: a NaN or an infinity anywhere makes the sum non-finite
        # (a sum of finite losses that overflows is sent to the exact test)
        if math.isfinite(float(xp.sum(value))) or bool(xp.all(xp.isfinite(value))):
            self._last_finite[...] = self.net.flat_
            return
        finite = xp.isfinite(value)
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
        """Whether every network has stopped training (reached the target loss or diverged)."""
        return not bool(self.net.xp.any(self.active))

    def history(self) -> History:
        """The record so far, with the loss of the current weights on the whole data set."""
        with quiet_overflow(self.net.xp):
            final_loss, _ = self.loss_fn(self.net.forward(self.X)[0], self.Y)
        history = History(self.losses.rows(), len(self.losses), self.reached.copy(), self.diverged.copy(),
                          to_numpy(final_loss))
        if self.kernel_ran is not None:
            history.kernel, history.kernel_reason = self.kernel_ran, self.kernel_reason
        return history

    # -- exact save and restore --------------------------------------------------------------
    def loss_rows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Recorded losses of epochs ``start:stop`` as a NumPy array ``(rows, P)``."""
        return self.losses.rows(start, stop)

    def state_dict(self, *, losses: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, info)``: NumPy arrays and JSON-able numbers that :meth:`load_state_dict` restores.

        ``losses=False`` leaves out the loss history ``(epochs, P)``, the one part that grows with
        the run, for a caller that stores it incrementally (and passes it back to ``load_state_dict``).
        """
        arrays = {
            "params": np.array(to_numpy(self.net.flat_)),
            "fit.active": np.array(to_numpy(self.active)),
            "fit.reached": self.reached.copy(),
            "fit.diverged": self.diverged.copy(),
            "fit.last_finite": np.array(to_numpy(self._last_finite)),
        }
        if self.threshold is not None:
            arrays["fit.solved"] = self.solved_epoch.copy()
        arrays.update(self.optimizer.state_arrays("optimizer."))
        if losses:
            arrays["fit.losses"] = self.loss_rows()
        info = {"epoch": self.epoch, "any_frozen": self.any_frozen,
                "rng": self.rng.bit_generator.state if self.rng is not None else None,
                "kernel": [self.kernel_ran, self.kernel_reason]}
        return arrays, info

    def load_state_dict(self, arrays: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (same network shape and optimizer).

        Parameters
        ----------
        arrays : dict of str to ndarray
            The arrays of :meth:`state_dict`: ``params`` ``(P, D)``, the loss history
            ``fit.losses`` ``(epochs, P)``, the per-network flags and epochs ``(P,)``, and the
            optimizer's state.
        info : dict
            The JSON-able part: ``epoch``, ``any_frozen``, the RNG state and the settled kernel, which
            a trainer asked for ``kernel="auto"`` keeps.
        """
        net, xp = self.net, self.net.xp
        net.set_flat(arrays["params"])
        self.losses = LossLog(net.population)
        for row in arrays["fit.losses"]:
            self.losses.append(net.asarray(row))
        self.active = xp.asarray(arrays["fit.active"], device=net.flat_.device)
        self.reached, self.diverged = arrays["fit.reached"].copy(), arrays["fit.diverged"].copy()
        if self.threshold is not None:
            self.solved_epoch[...] = arrays["fit.solved"]
        self._last_finite[...] = net.asarray(arrays["fit.last_finite"])
        self.optimizer.load_state_arrays(arrays, "optimizer.")
        self.epoch, self.any_frozen = int(info["epoch"]), bool(info["any_frozen"])
        ran, why = info.get("kernel") or (None, None)
        if self.kernel == "auto" and ran is not None and (ran == "numpy" or compiled.available()):
            # a resumed run keeps the loop its start settled on (the two agree to rounding, not bit for bit)
            self.kernel_ran, self.kernel_reason = ran, why
        if info.get("rng") is not None and self.rng is not None:
            self.rng.bit_generator.state = info["rng"]


def _check_data(net: Network, X: Any, Y: Any) -> tuple[Any, Any, int, int]:
    """``X``, ``Y`` as arrays after checking them, and the axis of their samples (``N``).

    A sample is a vector ``(in,)``, or a sequence ``(T, in)`` for a recurrent first layer; a target
    has the shape of one sample's output, found by running the first sample through the network.
    """
    X = net.check_input(X)
    Y = net.asarray(Y)
    xp = net.xp
    x_axis = 1 if X.ndim == _input_rank(net) + 2 else 0
    out = net.forward(xp.take(X, xp.asarray([0], device=X.device), axis=x_axis))[0]
    sample = tuple(out.shape[2:])
    shape = tuple(Y.shape)
    shared = Y.ndim == len(sample) + 1 and shape[1:] == sample
    own = Y.ndim == len(sample) + 2 and shape[0] == net.population and shape[2:] == sample
    if not (shared or own):
        each = ", ".join(map(str, sample))
        raise InputError(f"targets must have shape (N, {each}) or ({net.population}, N, {each}), got {shape}")
    y_axis = 0 if shared else 1
    if shape[y_axis] != X.shape[x_axis]:
        raise InputError("inputs and targets must have the same number of samples, "
                         f"got {X.shape[x_axis]} and {shape[y_axis]}")
    for name, data in (("inputs", X), ("targets", Y)):
        if not bool(xp.all(xp.isfinite(data))):
            raise InputError(f"{name} contain NaN or infinite values")
    return X, Y, x_axis, y_axis


def shuffled_batches(X: Any, Y: Any, batch_size: int, rng: np.random.Generator, *, x_axis: int = 0,
                     y_axis: int = 0) -> Iterator[tuple[Any, Any]]:
    """One epoch of mini-batches ``(x, y)`` in an order drawn from ``rng`` (one order for all networks).

    ``x_axis`` and ``y_axis`` are the sample axes of ``X`` and ``Y`` (0, or 1 for per-network data). The
    samples are put in the epoch's order once and each batch is a view of consecutive ones: on small
    networks a step costs its number of array calls, and this saves three of them a step.
    """
    xp = array_namespace(X)
    order = xp.asarray(rng.permutation(X.shape[x_axis]), device=X.device)
    X, Y = xp.take(X, order, axis=x_axis), xp.take(Y, order, axis=y_axis)
    n = order.shape[0]
    for start in range(0, n, batch_size):
        rows = slice(start, min(start + batch_size, n))  # the array API leaves stops past the end open
        yield _rows(X, x_axis, rows), _rows(Y, y_axis, rows)


def _rows(data: Any, sample_axis: int, rows: slice) -> Any:
    """The samples ``rows`` of ``data`` along its sample axis (0 or 1), as a view."""
    return data[rows, ...] if sample_axis == 0 else data[:, rows, ...]


def _own(data: Any, sample_axis: int) -> Any:
    """Data shared by all networks (samples on axis 0) as the data of a single network, ``(1, N, ...)``."""
    return data[None] if sample_axis == 0 else data


def _input_rank(net: Network) -> int:
    return next(getattr(layer, "sample_ndim", 1) for layer in net.layers if hasattr(layer, "n_in"))


def quiet_overflow(xp: Any):
    """Silence NumPy's overflow warnings: exp of large negatives in sigmoid gives the exact limit,
    and a diverging network is detected from its loss and frozen, not reported by a warning."""
    return np.errstate(over="ignore", invalid="ignore") if is_numpy(xp) else nullcontext()
