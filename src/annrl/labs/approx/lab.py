"""The function-approximation lab: how well, how fast and where a network can learn a function.

Networks are universal approximators; this lab tests the claim on any target (a catalogue name
or an expression, see :mod:`annrl.calculus.targets`) with numbers that can be checked:

- the target is sampled on a training grid of its box and the networks learn it by full-batch
  gradient descent (Adam by default) on the engine, or by L-BFGS (SciPy) on its flat parameters;
- **accuracy control**: every ``check_every`` epochs each network of the population is measured
  on a finer *held-out* grid (max or RMS error, in the target's own units, or relative to its
  range). A network whose error is <= ``tol`` is frozen at once (the Trainer's per-network
  mask) while the others go on; one that never gets there keeps its best held-out weights, and
  the result says so, with the best error reached;
- the ``P = seeds`` networks train as one population, so the spread over initialisations
  (epochs to tolerance, final error) comes from one vectorised run.

The networks see their inputs mapped to ``[-1, 1]`` per axis and the targets standardised
(mean 0, standard deviation 1); every error, prediction and derivative is reported back in the
target's units (:class:`Approximant` undoes the scaling, including in the chain rule).

>>> result = train(ApproxConfig(target="sin", hidden=(16,), tol=0.05, epochs=3000), rng=None)
>>> result.metrics["reached"], result.metrics["error"] <= 0.05
(True, True)
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from annrl.calculus.targets import Domain, Target, grid, parse_domain, resolve_target
from annrl.clikit import positive_float, positive_int
from annrl.config import setting
from annrl.errors import InputError
from annrl.htmlrepr import MetricsHTML
from annrl.io.resume import Checkpointer
from annrl.nn import ACTIVATIONS, INITS, MLP, Network, Trainer, compiled
from annrl.nn.lbfgs import fit_lbfgs
from annrl.nn.optim import optimizer_with_momentum
from annrl.validate import (
    Boolean,
    InstanceOf,
    Interval,
    ListOf,
    Options,
    array_nbytes,
    check,
    check_sizes,
    dense_parameters,
)

METRICS = ("max", "rmse")
OPTIMIZERS = ("adam", "lbfgs", "rmsprop", "sgd")
#: activations with a useful gradient (step and sign cannot be trained)
TRAINABLE_ACTIVATIONS = tuple(sorted(name for name, cls in ACTIVATIONS.items() if cls.differentiable))
#: training points per axis by number of variables (128 points, a 24 x 24 grid, 10 x 10 x 10)
TRAIN_POINTS = {1: 128, 2: 24, 3: 10}
#: held-out points per axis: a finer grid, mostly between the training points
HELD_OUT_POINTS = {1: 1001, 2: 61, 3: 21}
#: "near a kink or jump" means within this fraction of the domain's width of it
NEAR_FRACTION = 0.05
#: default held-out check interval: epochs for gradient descent, iterations for L-BFGS
CHECK_EVERY = {"gradient": 50, "lbfgs": 5}

CONFIG_TABLE = {
    "target": [InstanceOf(str, "a catalogue name or an expression")],
    "domain": [InstanceOf((str, list, tuple), "LOW:HIGH or a list of (low, high) pairs"), None],
    "frequency": [Interval(float, 0, None, closed="neither")],
    "hidden": [ListOf(Interval(int, 1, 4096), min_length=1, max_length=16)],
    "activation": [Options(TRAINABLE_ACTIVATIONS)],
    "init": [Options(INITS)],
    "seeds": [Interval(int, 1, 100_000)],
    "seed": [Interval(int, 0, None)],
    "tol": [Interval(float, 0, None, closed="neither"), None],
    "metric": [Options(METRICS)],
    "relative": [Boolean()],
    "epochs": [Interval(int, 1, None)],
    "optimizer": [Options(OPTIMIZERS)],
    "lr": [Interval(float, 0, None, closed="neither")],
    "momentum": [Interval(float, 0, 1, closed="left")],
    "batch_size": [Interval(int, 1, None), None],
    "points": [Interval(int, 2, 100_000), None],
    "held_out_points": [Interval(int, 2, 100_000), None],
    "check_every": [Interval(int, 1, None), None],
    "dtype": [Options(("float64", "float32"))],
    "kernel": [Options(compiled.KERNELS)],
}


def hidden_flag(text: str) -> tuple[int, ...]:
    """``--hidden``: widths such as ``32,32``; a bad one is an argparse error naming the flag."""
    try:
        return parse_hidden(text, field="--hidden")
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--hidden ")) from None


def tolerance_flag(text: str) -> float | None:
    """``--tol``: a number > 0, or ``none`` (train the whole budget)."""
    if text.strip().lower() == "none":
        return None
    return positive_float(text)


@dataclass
class ApproxConfig:
    """Settings of one approximation run; checked against :data:`CONFIG_TABLE` on creation.

    Parameters
    ----------
    target : str, default="sin"
        A catalogue name (``sin``, ``abs``, ``peaks``, ...) or an expression in ``x``, ``y``, ``z``.
    domain : str or sequence of (low, high), optional
        The training box, e.g. ``"-3:3"`` or ``"-pi:pi,0:1"``; default: the catalogue's box, or
        ``[-1, 1]`` per axis for an expression.
    frequency : float, default=3.0
        ``k`` of the ``sin_k`` target.
    hidden : tuple of int, default=(16,)
        Hidden layer widths, e.g. ``(32, 32)``.
    activation : str, default="tanh"
        Hidden activation (one of :data:`TRAINABLE_ACTIVATIONS`); the output is linear.
    init : str, default="torch"
        Initial weights: PyTorch's ``nn.Linear`` default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    seeds : int, default=1
        Networks trained at once (the population), each from its own initial weights.
    seed : int, default=0
        Seed of the generator that draws the initial weights (and mini-batch order).
    tol : float or None, default=1e-2
        Target error on the held-out grid; a network that reaches it stops. None: train the
        whole budget.
    metric : {"max", "rmse"}, default="max"
        Largest absolute error, or root-mean-square error, over the held-out grid.
    relative : bool, default=False
        Measure the error relative to the target's range (max - min on the held-out grid).
    epochs : int, default=5000
        Budget: epochs for gradient descent, iterations for L-BFGS.
    optimizer : {"adam", "lbfgs", "rmsprop", "sgd"}, default="adam"
        ``lbfgs`` trains the networks one after another with SciPy's L-BFGS-B.
    lr : float, default=0.01
        Learning rate (not used by ``lbfgs``).
    momentum : float, default=0.9
        Only used by ``sgd`` and ``rmsprop``.
    batch_size : int or None, default=None
        Mini-batch size; None trains on the full batch.
    points : int or None, default=None
        Training points per axis; default :data:`TRAIN_POINTS` (128 in 1D, 24 x 24, 10 x 10 x 10).
    held_out_points : int or None, default=None
        Held-out points per axis; default :data:`HELD_OUT_POINTS` (1001, 61 x 61, 21 x 21 x 21).
    check_every : int or None, default=None
        Epochs (iterations for L-BFGS) between held-out checks; default 50 (5 for L-BFGS).
    dtype : {"float64", "float32"}, default="float64"
    kernel : {"auto", "numpy", "compiled"}, default="auto"
        Training loop of the gradient optimizers (see :func:`annrl.nn.fit`); ``metrics["kernel"]`` says
        which ran and why. The held-out checks between epochs keep this lab on NumPy for now.
    """

    target: str = setting("sin", "catalogue name or expression, e.g. sin, peaks, 'x*exp(-x**2)', 'sin(x)*cos(y)'",
                          flags=("target",), nargs="?")
    domain: str | Sequence[Sequence[float]] | None = setting(
        None, "LOW:HIGH for every axis, or LOW:HIGH,LOW:HIGH per axis (bounds may be -pi, 2*pi); default: the "
        "catalogue's box, or -1:1")
    frequency: float = setting(3.0, "k of the sin_k target, sin(k x)", flags=("-k", "--frequency"),
                               type=positive_float)
    hidden: tuple[int, ...] = setting((16,), "hidden widths, e.g. 16 or 32,32", type=hidden_flag)
    activation: str = setting("tanh", "hidden activation (the output is linear)", choices=TRAINABLE_ACTIVATIONS)
    init: str = setting("torch", "initial weights", choices=sorted(INITS))
    seeds: int = setting(1, "networks trained at once, each from its own initial weights", type=positive_int)
    seed: int = setting(0, "seed of the initial weights")
    tol: float | None = setting(1e-2, "target held-out error; a network that meets it stops ('none': train the "
                                "whole budget)", type=tolerance_flag)
    metric: str = setting("max", "max: largest absolute error; rmse: root-mean-square error (held-out grid)",
                          choices=METRICS)
    relative: bool = setting(False, "errors relative to the target's range")
    epochs: int = setting(5000, "budget: epochs (iterations for lbfgs)", type=positive_int)
    optimizer: str = setting("adam", "adam/sgd/rmsprop train the seeds as one population; lbfgs (SciPy) one after "
                             "another, and is usually 5-10x faster", choices=OPTIMIZERS)
    lr: float = setting(0.01, "learning rate (not lbfgs)", type=positive_float)
    momentum: float = setting(0.9, "momentum (sgd, rmsprop)")
    batch_size: int | None = setting(None, "mini-batch size (default: full batch)", type=positive_int)
    points: int | None = setting(None, "training points per axis (default 128, 24 or 10 for 1, 2 or 3 variables)",
                                 type=positive_int)
    held_out_points: int | None = None
    check_every: int | None = setting(None, "epochs between held-out checks (default 50; 5 iterations for lbfgs)",
                                      type=positive_int)
    dtype: str = setting("float64", "float precision", choices=["float64", "float32"])
    kernel: str = setting("auto", compiled.KERNEL_HELP, choices=list(compiled.KERNELS))

    def __post_init__(self):
        if isinstance(self.hidden, (int, np.integer)) and not isinstance(self.hidden, bool):
            self.hidden = (int(self.hidden),)
        if isinstance(self.hidden, list):
            self.hidden = tuple(self.hidden)
        check(CONFIG_TABLE, asdict(self))
        check_size(self, self.resolve_target().dim)  # the one size check: before any allocation or progress line

    def resolve_target(self) -> Target:
        """The :class:`~annrl.calculus.targets.Target` this config names, on its domain."""
        return resolve_target(self.target, self.domain, frequency=self.frequency)

    def sizes(self, dim: int) -> list[int]:
        """Layer widths ``[dim, *hidden, 1]``."""
        return [dim, *self.hidden, 1]

    def check_interval(self) -> int:
        if self.check_every is not None:
            return self.check_every
        return CHECK_EVERY["lbfgs" if self.optimizer == "lbfgs" else "gradient"]


def parse_hidden(text: str, *, field: str = "hidden") -> tuple[int, ...]:
    """Hidden widths from ``"16"`` or ``"32,32"``; raises ``InputError`` naming ``field``.

    >>> parse_hidden("32,32")
    (32, 32)
    """
    try:
        widths = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise InputError(f"{field} must be comma-separated widths >= 1 such as 16 or 32,32, got {text}",
                         field=field)
    return widths


# -- data and scaling ------------------------------------------------------------------------
@dataclass
class ApproxData:
    """Training and held-out samples of a target.

    Attributes
    ----------
    X_train : ndarray, shape (N, dim)
        A regular grid of ``points`` per axis on the domain.
    y_train : ndarray, shape (N,)
    X_test : ndarray, shape (M, dim)
        The held-out grid: ``held_out_points`` per axis, mostly between the training points.
    y_test : ndarray, shape (M,)
    test_points : int
        Held-out points per axis (``M = test_points ** dim``).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_points: int


def check_size(config: ApproxConfig, dim: int) -> None:
    """Refuse, before anything is allocated, grids, activations and networks that cannot fit in memory."""
    n_train = (config.points or TRAIN_POINTS[dim]) ** dim
    n_test = (config.held_out_points or HELD_OUT_POINTS[dim]) ** dim
    batch, units = min(config.batch_size or n_train, n_train), sum(config.hidden) + 1
    check_sizes({
        f"grids of --points {config.points or TRAIN_POINTS[dim]} per axis in {dim}D": array_nbytes(
            (4 * n_train, dim + 1)),
        f"held-out grids of {config.held_out_points or HELD_OUT_POINTS[dim]} points per axis": array_nbytes(
            (3 * n_test, dim + 1)),
        f"activations of --seeds {config.seeds} x --hidden {config.hidden}": array_nbytes(
            (2 * config.seeds, max(batch, n_test), units)),
        f"--seeds {config.seeds} networks of --hidden {config.hidden}": array_nbytes(
            (8 * config.seeds, dense_parameters(config.sizes(dim)))),
        f"the loss history of --epochs {config.epochs}": array_nbytes((2 * config.epochs, config.seeds)),
    })


def make_data(target: Target, config: ApproxConfig) -> ApproxData:
    """Sample ``target`` on the training and held-out grids of ``config``; refuse non-finite values."""
    dim = target.dim
    n_train = config.points or TRAIN_POINTS[dim]
    n_test = config.held_out_points or HELD_OUT_POINTS[dim]
    X_train, X_test = grid(target.domain, n_train), grid(target.domain, n_test)
    y_train, y_test = sample(target, X_train), sample(target, X_test)
    return ApproxData(X_train, y_train, X_test, y_test, n_test)


def sample(target: Target, X: np.ndarray) -> np.ndarray:
    """``target(X)`` ``(N,)``, refusing NaN or infinite values with the first bad point."""
    values = target(X)
    bad = ~np.isfinite(values)
    if bad.any():
        point = ", ".join(f"{v}={x:.4g}" for v, x in zip(target.variables, X[np.argmax(bad)], strict=True))
        raise InputError(f"target {target.name!r} must be finite on its domain {format_domain(target.domain)}, "
                         f"got {values[np.argmax(bad)]} at {point}", field="target")
    return values


def format_domain(domain: Domain) -> str:
    """``[-3.142, 3.142] x [0, 1]``."""
    return " x ".join(f"[{low:.4g}, {high:.4g}]" for low, high in domain)


@dataclass(frozen=True)
class Scaling:
    """The affine maps between the target's units and what the networks see.

    Inputs: ``u = 2 (x - low) / (high - low) - 1`` per axis (the box becomes ``[-1, 1]^dim``).
    Outputs: ``v = (y - y_mean) / y_scale`` (mean 0, standard deviation 1 on the training grid).
    """

    low: np.ndarray
    high: np.ndarray
    y_mean: float
    y_scale: float

    @classmethod
    def fit(cls, domain: Domain, y: np.ndarray) -> Scaling:
        low, high = (np.array([b[i] for b in domain], dtype=float) for i in (0, 1))
        spread = float(np.std(y))
        return cls(low, high, float(np.mean(y)), spread if spread > 1e-12 else 1.0)

    @property
    def input_slope(self) -> np.ndarray:
        """``du/dx`` per axis, shape ``(dim,)``."""
        return 2.0 / (self.high - self.low)

    def inputs(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self.low) * self.input_slope - 1.0

    def targets(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=float) - self.y_mean) / self.y_scale

    def outputs(self, v: np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=float) * self.y_scale + self.y_mean


class Approximant:
    """``P`` trained networks as functions of the target's own variables, in its own units.

    Parameters
    ----------
    net : Network
        ``P`` networks of ``dim`` inputs and one output, trained on scaled data.
    scaling : Scaling
    """

    def __init__(self, net: Network, scaling: Scaling):
        self.net, self.scaling = net, scaling

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Values ``(P, N)`` of every network at ``X`` ``(N, dim)``."""
        out = np.asarray(self.net.predict(self.scaling.inputs(X)), dtype=float)
        return self.scaling.outputs(out[:, :, 0])

    def gradient(self, X: np.ndarray) -> np.ndarray:
        """d(network)/dx ``(P, N, dim)`` from the engine's backward pass with respect to its input.

        The chain rule through the scaling: ``df/dx = y_scale * dv/du * du/dx``.
        """
        dv_du = np.asarray(self.net.input_gradient(self.scaling.inputs(X)), dtype=float)
        return dv_du * self.scaling.y_scale * self.scaling.input_slope


# -- errors ------------------------------------------------------------------------------------
def error(prediction: np.ndarray, truth: np.ndarray, metric: str, scale: float = 1.0) -> np.ndarray:
    """Error of every network, ``(P,)``, for predictions ``(P, M)`` against ``truth`` ``(M,)``.

    ``max``: the largest ``|prediction - truth|``; ``rmse``: the root of the mean square; both
    divided by ``scale``. NaN predictions give an infinite error.
    """
    diff = np.abs(np.asarray(prediction, dtype=float) - truth)
    if diff.shape[-1] == 0:
        return np.full(diff.shape[0], np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        value = diff.max(axis=-1) if metric == "max" else np.sqrt(np.mean(diff * diff, axis=-1))
    return np.where(np.isfinite(value), value / scale, np.inf)


def error_scale(config: ApproxConfig, y_test: np.ndarray) -> float:
    """1, or the target's range on the held-out grid when ``config.relative``."""
    if not config.relative:
        return 1.0
    spread = float(np.max(y_test) - np.min(y_test))
    return spread if spread > 1e-12 else 1.0


def near_singular(target: Target, X: np.ndarray) -> np.ndarray | None:
    """``(M,)`` True for points within :data:`NEAR_FRACTION` of the domain's width of a kink or
    jump (1D targets with known singular points); None when there are none."""
    if target.dim != 1 or not target.singular:
        return None
    low, high = target.domain[0]
    width = NEAR_FRACTION * (high - low)
    distance = np.min(np.abs(X[:, :1] - np.asarray(target.singular)[None, :]), axis=1)
    return distance <= width


# -- training ----------------------------------------------------------------------------------
class HeldOutTrainer(Trainer):
    """The engine's :class:`~annrl.nn.Trainer` with the tolerance checked on held-out errors.

    ``until`` is the tolerance of :meth:`check_held_out`'s errors, not of the training loss: a
    network whose held-out error is <= ``until`` is frozen with the Trainer's own per-network
    mask (its ``reached`` epoch is recorded), exactly as ``fit`` freezes a network at ``until``.
    """

    def check_tolerance(self, value: Any) -> None:
        """The training loss is not the criterion here (see :meth:`check_held_out`)."""

    def check_held_out(self, errors: np.ndarray) -> None:
        """Freeze the active networks whose held-out error ``(P,)`` is <= ``until``."""
        Trainer.check_tolerance(self, self.net.asarray(errors))


class HeldOutMonitor:
    """Held-out errors of every network at every check, and each network's best weights so far.

    With the :class:`HeldOutTrainer`, this is the whole loop state: ``state_dict`` lists its
    arrays for a checkpoint.
    """

    def __init__(self, net: Network):
        P = net.population
        self.epochs: list[int] = []
        self.errors: list[np.ndarray] = []
        self.best_error = np.full(P, np.inf)
        self.best_flat = np.array(net.flat_, dtype=float, copy=True)

    def record(self, epoch: int, errors: np.ndarray, flat: np.ndarray) -> None:
        """Note ``errors`` ``(P,)`` at ``epoch``; keep the weights ``flat`` ``(P, D)`` of improved networks."""
        self.epochs.append(int(epoch))
        self.errors.append(np.array(errors, dtype=float))
        better = errors < self.best_error
        self.best_error[better] = errors[better]
        self.best_flat[better] = np.asarray(flat, dtype=float)[better]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"heldout.epochs": np.array(self.epochs, dtype=int),
                "heldout.errors": np.array(self.errors).reshape(len(self.epochs), -1),
                "heldout.best_error": self.best_error.copy(), "heldout.best_flat": self.best_flat.copy()}

    def load_state_dict(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.epochs = [int(e) for e in arrays["heldout.epochs"]]
        self.errors = [row.copy() for row in arrays["heldout.errors"]]
        self.best_error, self.best_flat = arrays["heldout.best_error"].copy(), arrays["heldout.best_flat"].copy()


@dataclass
class _Run:
    """What a training loop hands back to :func:`train`."""

    loss: np.ndarray  # (epochs_run, P)
    check_epochs: np.ndarray  # (C,)
    check_errors: np.ndarray  # (C, P)
    reached_epoch: np.ndarray  # (P,)
    diverged: np.ndarray  # (P,) bool
    best_error: np.ndarray  # (P,)
    best_flat: np.ndarray  # (P, D)
    epochs_run: int
    kernel_ran: str | None = None  # the trainer's, when a Trainer ran (not lbfgs)
    kernel_reason: str | None = None


def build_network(config: ApproxConfig, dim: int, rng: np.random.Generator) -> MLP:
    """``config.seeds`` networks ``[dim, *hidden, 1]`` (linear output), drawn from ``rng``."""
    return MLP(config.sizes(dim), hidden=config.activation, output="identity", population=config.seeds,
               init=config.init, rng=rng, dtype=config.dtype)


def make_optimizer(config: ApproxConfig):
    return optimizer_with_momentum(config.optimizer, config.lr, config.momentum)


Progress = Callable[[int, int], None]


def _train_gradient(config: ApproxConfig, net: Network, U: np.ndarray, V: np.ndarray,
                    held_out: Callable[[Network], np.ndarray], rng: np.random.Generator,
                    progress: Progress | None, checkpointer: Checkpointer) -> _Run:
    """Gradient descent with a held-out check every ``check_every`` epochs (and at the end).

    The run saves and resumes through ``checkpointer``: the Trainer's state plus the monitor's.
    """
    trainer = HeldOutTrainer(net, U, V, loss="mse", optimizer=make_optimizer(config),
                             batch_size=config.batch_size, until=config.tol,
                             rng=rng if config.batch_size else None, kernel=config.kernel)
    monitor = HeldOutMonitor(net)
    restored = checkpointer.restored_state("train")
    every = config.check_interval()

    def check() -> None:
        errors = held_out(net)
        monitor.record(trainer.epoch, errors, net.flat_)
        trainer.check_held_out(errors)
        if progress is not None:
            progress(trainer.epoch, config.epochs)

    def check_on_schedule(state) -> None:
        if trainer.epoch % every == 0:
            check()

    if restored is not None:
        monitor.load_state_dict(restored[0])
    else:
        check()
    if not trainer.all_frozen():
        with checkpointer.hooks(trainer, config.epochs, phase="train",
                                extra=lambda: (monitor.state_dict(), {})) as hooks:
            trainer.run(hooks.epochs_left, callbacks=[check_on_schedule, hooks])
    if monitor.epochs[-1] != trainer.epoch:
        check()
    history = trainer.history()
    return _Run(history.loss, np.array(monitor.epochs), np.array(monitor.errors), history.reached_epoch,
                history.diverged, monitor.best_error, monitor.best_flat, history.epochs_run, trainer.kernel_ran,
                trainer.kernel_reason)


def _train_lbfgs(config: ApproxConfig, net: Network, U: np.ndarray, V: np.ndarray,
                 held_out: Callable[[Network], np.ndarray], progress: Progress | None) -> _Run:
    """L-BFGS network by network; a held-out check every ``check_every`` iterations stops each."""
    P, every = net.population, config.check_interval()
    probe = net.select([0])
    checks: list[dict[int, float]] = [{} for _ in range(P)]
    best_error, best_flat = np.full(P, np.inf), np.array(net.flat_, dtype=float, copy=True)
    reached = np.full(P, -1)

    def measure(index: int, iteration: int, params: np.ndarray) -> bool:
        probe.flat_[0] = probe.asarray(params)
        value = float(held_out(probe)[0])
        checks[index][iteration] = value
        if value < best_error[index]:
            best_error[index], best_flat[index] = value, params
        if config.tol is not None and value <= config.tol:
            reached[index] = iteration
            return True
        return False

    initial = held_out(net)
    for index in range(P):
        measure(index, 0, np.asarray(net.flat_[index], dtype=float))

    def callback(index: int, iteration: int, params: np.ndarray) -> bool:
        if progress is not None and iteration % every == 0:
            progress(index * config.epochs + iteration, P * config.epochs)
        return iteration % every == 0 and measure(index, iteration, params)

    todo = [p for p in range(P) if reached[p] < 0]
    history = None
    if todo:
        sub = net.select(todo)
        history = fit_lbfgs(sub, U, V, max_iter=config.epochs, callback=lambda i, it, w: callback(todo[i], it, w))
        for i, p in enumerate(todo):
            last = int(history.iterations[i])
            if last not in checks[p] and reached[p] < 0:
                measure(p, last, np.asarray(sub.flat_[i], dtype=float))
    epochs = sorted({it for c in checks for it in c})
    errors = np.empty((len(epochs), P))
    for p in range(P):
        value = initial[p]
        for row, it in enumerate(epochs):
            value = checks[p].get(it, value)  # a stopped network keeps its last error
            errors[row, p] = value
    loss = np.zeros((1, P)) if history is None else _spread_loss(history.loss, todo, P)
    diverged = ~np.isfinite(best_error)
    return _Run(loss, np.array(epochs), errors, reached, diverged, best_error, best_flat, int(max(epochs)))


def _spread_loss(loss: np.ndarray, trained: list[int], P: int) -> np.ndarray:
    """Loss curves ``(iterations + 1, len(trained))`` as ``(iterations + 1, P)`` (NaN for the untrained)."""
    out = np.full((loss.shape[0], P), np.nan)
    out[:, trained] = loss
    return out


@dataclass
class ApproxResult(MetricsHTML):
    """What an approximation run produced.

    Attributes
    ----------
    config : ApproxConfig
    target : Target
    net : Network
        The ``P`` trained networks (scaled units; use :attr:`approximant`), each with the weights
        that met the tolerance, or its best held-out weights.
    scaling : Scaling
    data : ApproxData
    loss : ndarray, shape (epochs_run, P)
        Training loss (MSE of the standardised target) before every epoch.
    check_epochs : ndarray of int, shape (C,)
        Epochs (iterations for L-BFGS) at which the held-out error was measured.
    check_errors : ndarray, shape (C, P)
        Held-out error of every network at every check (a stopped network repeats its last).
    reached_epoch : ndarray of int, shape (P,)
        Epochs each network needed to meet ``tol``; -1 if it did not.
    error : ndarray, shape (P,)
        Held-out error of the returned networks (``config.metric``).
    metrics : dict
        The numbers of ``metrics.json``.
    """

    config: ApproxConfig
    target: Target
    net: Network
    scaling: Scaling
    data: ApproxData
    loss: np.ndarray
    check_epochs: np.ndarray
    check_errors: np.ndarray
    reached_epoch: np.ndarray
    error: np.ndarray
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def approximant(self) -> Approximant:
        """The networks as functions of the target's variables, in its units."""
        return Approximant(self.net, self.scaling)

    @property
    def best(self) -> int:
        """Index of the network with the smallest held-out error."""
        return int(np.argmin(self.error))

    def epochs_to(self, tol: float) -> np.ndarray:
        """``(P,)`` the first checked epoch at which each network's held-out error was <= ``tol``; -1 if never.

        For runs trained without a tolerance (the whole budget), this reads the answer off the checks.
        """
        met = self.check_errors <= tol
        first = np.argmax(met, axis=0)
        return np.where(met.any(axis=0), self.check_epochs[first], -1)


def train(config: ApproxConfig, rng: np.random.Generator | None = None, *,
          progress: Progress | None = None, checkpointer: Checkpointer | None = None) -> ApproxResult:
    """Train ``config.seeds`` networks on ``config.target`` until the held-out error meets ``tol``.

    Parameters
    ----------
    config : ApproxConfig
    rng : numpy.random.Generator, optional
        Draws the initial weights (and mini-batch order); default ``default_rng(config.seed)``.
    progress : callable, optional
        ``progress(done, total)`` after every held-out check.
    checkpointer : Checkpointer, optional
        Saves the run as it goes and resumes it (``--checkpoint-every``, ``--resume``); gradient
        optimizers only (L-BFGS runs network after network and restarts).

    Returns
    -------
    ApproxResult
    """
    rng = rng if rng is not None else np.random.default_rng(config.seed)
    target = config.resolve_target()
    data = make_data(target, config)
    scaling = Scaling.fit(target.domain, data.y_train)
    net = build_network(config, target.dim, rng)
    U, V = scaling.inputs(data.X_train), scaling.targets(data.y_train)[:, None]
    U_test, scale = scaling.inputs(data.X_test), error_scale(config, data.y_test)

    def held_out(nets: Network) -> np.ndarray:
        prediction = scaling.outputs(np.asarray(nets.predict(U_test), dtype=float)[:, :, 0])
        return error(prediction, data.y_test, config.metric, scale)

    start = time.perf_counter()
    if config.optimizer == "lbfgs":
        run = _train_lbfgs(config, net, U, V, held_out, progress)
    else:
        checkpointer = checkpointer or Checkpointer(None, {})
        run = _train_gradient(config, net, U, V, held_out, rng, progress, checkpointer)
    wall = time.perf_counter() - start
    net.set_flat(net.asarray(run.best_flat))  # each network's best held-out weights (those at tol if met)
    result = ApproxResult(config, target, net, scaling, data, run.loss, run.check_epochs, run.check_errors,
                          run.reached_epoch, run.best_error)
    result.metrics = summarize(result, run, wall)
    return result


def summarize(result: ApproxResult, run: _Run, wall: float) -> dict[str, Any]:
    """The numbers of ``metrics.json`` (wall-clock figures only under ``timing``)."""
    config, target, reached = result.config, result.target, result.reached_epoch
    hit = reached >= 0
    best = result.best
    unit = "iterations" if config.optimizer == "lbfgs" else "epochs"
    prediction = result.approximant(result.data.X_test)
    scale = error_scale(config, result.data.y_test)
    other = "rmse" if config.metric == "max" else "max"
    metrics: dict[str, Any] = {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "target": target.name,
        "expression": str(target.expr),
        "variables": list(target.variables),
        "domain": [list(b) for b in target.domain],
        "kind": target.kind,
        "tol": config.tol,
        "metric": config.metric,
        "relative": config.relative,
        "hidden": list(config.hidden),
        "activation": config.activation,
        "optimizer": config.optimizer,
        "parameters": result.net.n_params,
        "seeds": config.seeds,
        "budget": config.epochs,
        "epochs_unit": unit,
        "reached": bool(hit.any()) if config.tol is not None else None,
        "reached_seeds": int(hit.sum()),
        "epochs": int(reached[hit].min()) if hit.any() else None,
        "epochs_median": float(np.median(reached[hit])) if hit.any() else None,
        "epochs_quartiles": [float(np.quantile(reached[hit], q)) for q in (0.25, 0.75)] if hit.any() else None,
        "epochs_per_seed": reached.tolist(),
        "epochs_run": int(run.epochs_run),
        "error": _finite(result.error[best]),
        "best_seed": best,
        "error_median": _finite(np.median(result.error)),
        "error_quantiles": {q: _finite(np.quantile(result.error, float(q))) for q in ("0.1", "0.5", "0.9")},
        "error_per_seed": [_finite(e) for e in result.error],
        f"error_{other}": _finite(error(prediction[best : best + 1], result.data.y_test, other, scale)[0]),
        "diverged_seeds": int(np.sum(run.diverged)),
        "train_points": len(result.data.X_train),
        "held_out_points": len(result.data.X_test),
        "message": message(config, result, unit),
        "timing": {"train_s": round(wall, 4)},
        "kernel": compiled.summary(config.kernel, {"train": run}),
    }
    near = near_singular(target, result.data.X_test)
    if near is not None:
        pred = prediction[best : best + 1]
        metrics["error_near_singular"] = _finite(error(pred[:, near], result.data.y_test[near], config.metric,
                                                       scale)[0])
        metrics["error_away_from_singular"] = _finite(error(pred[:, ~near], result.data.y_test[~near],
                                                            config.metric, scale)[0])
        metrics["singular_points"] = list(target.singular)
    return metrics


def message(config: ApproxConfig, result: ApproxResult, unit: str) -> str:
    """One sentence: tolerance met after how many epochs, or not, and the best error reached."""
    what = f"{'relative ' if config.relative else ''}{config.metric} error"
    best = result.best
    err = result.error[best]
    if config.tol is None:
        return f"trained {config.epochs} {unit}; best held-out {what} {err:.3g} (seed {best})"
    hit = result.reached_epoch >= 0
    if hit.any():
        first = int(np.argmin(np.where(hit, result.reached_epoch, np.iinfo(int).max)))
        return (f"tolerance {config.tol:g} ({what}) met by {int(hit.sum())} of {config.seeds} seeds; first after "
                f"{result.reached_epoch[first]} {unit} (seed {first})")
    return (f"tolerance {config.tol:g} ({what}) NOT met within {config.epochs} {unit} by any of {config.seeds} "
            f"seeds; best error reached {err:.3g} (seed {best})")


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


__all__ = [
    "ApproxConfig", "ApproxData", "ApproxResult", "Approximant", "CONFIG_TABLE", "HeldOutMonitor",
    "HeldOutTrainer", "METRICS", "OPTIMIZERS", "Scaling", "build_network", "error", "make_data", "parse_domain",
    "parse_hidden", "train",
]
