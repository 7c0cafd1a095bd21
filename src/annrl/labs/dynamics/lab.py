"""The dynamics lab: learn a vector field f_theta(x) -> dx/dt from one sampled trajectory.

One (noisy) trajectory is observed: of a built-in system (:data:`SYSTEMS`), of the user's own
equations (``DynamicsConfig(system="x' = a*x - b*x*y; y' = d*x*y - c*y", params=..., x0=...)``, read
by :class:`annrl.systems.EquationSystem`), or measured (``data="file.csv"``, see
:mod:`annrl.systems.data`; then the metrics that need the true field are None and the trajectory
metrics compare with the data). A small MLP learns the vector field from it,
in one of two ways:

- ``derivative``: estimate dx/dt from the observations with an :mod:`annrl.calculus` method, then
  fit the network to those estimates (supervised regression with :func:`annrl.nn.fit`);
- ``rollout``: fit the trajectory itself, through a differentiable RK4 integrator written in the
  engine (:mod:`annrl.labs.dynamics.rollout`), on short windows that start from the observed
  states (multiple shooting). No derivative estimate is used.

Each learned field is then integrated with SciPy's ``solve_ivp`` (:func:`annrl.systems.integrate`)
from the training initial state and from initial states it never saw, and compared with the true
system: field error, one-step error, trajectory error over time, phase portraits side by side.

Standardisation
---------------
The network never sees raw states. With ``m`` and ``s`` the mean and standard deviation of each
observed state variable (``(d,)``, over the noisy observations), the network's input is
``z = (x - m) / s``, and its output ``u`` is the derivative of ``z`` in units of ``r``:

    f_theta(x) = s * r * net((x - m) / s)        i.e.   dz/dt = r * u

``r`` ``(d,)`` is the root-mean-square of the central-difference derivative of the standardised
observations, so that both the inputs and the targets of the network are of order one whatever
the system's units and time scale. The derivative approach fits ``u`` to ``dxdt_estimate / (s r)``;
the rollout approach integrates ``dz/dt = r * net(z)`` (so its RK4 rollouts run in ``z``).

Metrics (all in the system's own units)
---------------------------------------
``derivative_rmse``
    RMSE of the numerical derivative estimate against the true derivative ``f(x_clean)``, over all
    samples and components.
``field_rmse``
    RMSE of the learned field against the true field, over all components, on the points of a
    ``grid x grid`` lattice spanning the bounding box of the observed states that lie inside the
    convex hull of those states: the region of phase space that the data surround.
    ``field_rms`` is the RMS of the true field on the same points, the scale to read it against.
``field_rmse_on_data``
    The same error at the clean states of the trajectory only.
``one_step_rmse``
    From every clean state, the learned field integrated over one sample interval (``solve_ivp``)
    against the next clean state.
``rollout_rmse``
    The learned field integrated with ``solve_ivp`` from the clean initial state over the whole
    time span, against the clean trajectory, over all samples and components.
``valid_time``
    How long that rollout stays within 10% of the data's spread: the first time at which
    ``sqrt(mean_i ((x_hat_i - x_i) / s_i)^2)`` exceeds 0.1 (the span's length if never).
``rollout_rmse_unseen``
    ``rollout_rmse`` from each of the system's unseen initial states (``SystemSpec.unseen``).

>>> result = train(DynamicsConfig(noise=0.0, method="five-point", approach="derivative", epochs=20))
>>> sorted(result.fields)
['derivative']
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.path import Path as PolygonPath
from scipy.spatial import ConvexHull

from annrl.calculus import METHODS, Differentiator
from annrl.calculus.base import is_uniform
from annrl.clikit import non_negative_float, positive_float, positive_int
from annrl.config import setting
from annrl.errors import InputError
from annrl.htmlrepr import MetricsHTML
from annrl.io.resume import Checkpointer, Phases
from annrl.labs.dynamics.problem import SYSTEMS, Problem, float_list, setup  # noqa: F401 - SYSTEMS: the lab's table
from annrl.labs.dynamics.rollout import RolloutTrainer
from annrl.nn import ACTIVATIONS, MLP, Adam, Network, Trainer
from annrl.progress import track
from annrl.systems import DynamicalSystem, Trajectory, integrate
from annrl.systems.equations import parse_params
from annrl.systems.learned import LearnedField, Standardiser
from annrl.validate import (
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    Interval,
    ListOf,
    Options,
    array_nbytes,
    check,
    check_sizes,
    dense_parameters,
)

APPROACHES = ("derivative", "rollout")

#: the learning rate falls exponentially from ``lr`` to ``lr * LR_DECAY`` over the epochs
LR_DECAY = 0.01
#: ``valid_time`` ends where the standardised rollout error first exceeds this
VALID_ERROR = 0.1
#: tolerances of the solve_ivp integrations of learned fields (far below their errors)
RTOL, ATOL = 1e-8, 1e-10
#: a learned field integrated with more evaluations than this counts as failed (NaN): the built-in
#: systems' learned fields take at most ~6,000 over their whole span; a field that is stiff or blows up
#: would otherwise shrink its steps for minutes
MAX_FIELD_EVALUATIONS = 100_000


@dataclass
class DynamicsConfig:
    """Settings of one dynamics experiment.

    Parameters
    ----------
    system : str, default="lotka-volterra"
        A built-in system (see :data:`SYSTEMS` for its trajectory) or the user's own equations,
        ``"x' = a*x - b*x*y; y' = d*x*y - c*y"`` (1 to 6 state variables, see
        :class:`~annrl.systems.EquationSystem`).
    params : dict of str to float, optional
        The system's parameters: every name of the user's equations that is not a state variable,
        or a built-in system's parameters to change (e.g. ``{"alpha": 1.3}``).
    x0 : tuple of float, optional
        Initial state of the training trajectory (default: the built-in system's; required for equations).
    t_end : float, optional
        End of the simulated time span, which starts at 0 (default: the built-in system's; 20 for equations).
    dt : float, optional
        Sampling step of the observations (default: the built-in system's; 0.05 for equations).
    data : str, optional
        A CSV file of measured states (a ``t`` column, one column per state variable, irregular steps
        allowed) to learn from instead of a simulation. With ``system`` equations as well, those
        name the state variables and serve as the reference the learned field is measured against.
    noise : float, default=0.01
        Measurement noise, as a fraction of each state's standard deviation (0.01 = 1%).
    method : str, default="spline"
        Derivative estimator of the derivative approach, one of :data:`METHODS`.
    approach : {"derivative", "rollout", "both"}, default="both"
        The rollout approach needs equal time steps; on irregular data "both" trains the derivative one only.
    epochs : int, default=600
        Epochs of the derivative fit (passes over the samples).
    rollout_epochs : int, default=150
        Epochs of the rollout fit (passes over the windows; each window costs ``4 * window``
        network evaluations, so an epoch costs about that many times a derivative epoch).
    hidden : tuple of int, default=(32, 32)
        Hidden layer widths of the field network ``[d, *hidden, d]``.
    activation : str, default="tanh"
        Hidden activation (smooth, so that the learned field is smooth).
    lr : float, default=1e-2
        Adam's initial learning rate, for both fits; it decays exponentially to ``lr * LR_DECAY``.
    batch_size : int, default=32
        Samples (derivative) or windows (rollout) per update.
    window : int, default=3
        RK4 steps per window of the rollout fit.
    substeps : int, default=1
        RK4 steps per sample interval in the rollout fit.
    sample_every : int, default=1
        Observe the system every ``sample_every * dt`` time units instead of every
        ``dt``: coarser data, on which finite differences fail and the rollout fit does not.
    grid : int, default=30
        Points per side of the lattice on which ``field_rmse`` is measured (2 state variables).
    seed : int, default=0
        Seeds the noise, the initial weights (the same for both approaches) and the batch order.
    """

    system: str | None = setting(None, "a built-in system or equations \"x' = ...; y' = ...\"")
    params: dict[str, float] | None = setting(None, "parameters of the system: name=value,...", metavar="N=V,...")
    x0: tuple[float, ...] | None = setting(None, "initial state, comma-separated (e.g. 4,2)", metavar="X0,...")
    t_end: float | None = setting(None, "end of the simulated time span (it starts at 0)", type=positive_float)
    dt: float | None = setting(None, "sampling step of the simulated observations", type=positive_float)
    data: str | None = setting(None, "CSV of measured states (t column, one per state variable) to learn from",
                               metavar="FILE.csv")
    noise: float = setting(0.01, "measurement noise as a fraction of each state's std (0.01 = 1%%)",
                           type=non_negative_float)
    method: str = setting("spline", "derivative estimator of the derivative approach", choices=sorted(METHODS))
    approach: str = setting("both", "fit estimated derivatives, fit RK4 rollouts, or both",
                            choices=[*APPROACHES, "both"])
    epochs: int = setting(600, "epochs of the derivative fit", type=positive_int)
    rollout_epochs: int = setting(150, "epochs of the rollout fit (each costs about 4 x WINDOW derivative epochs)",
                                  type=positive_int)
    hidden: tuple[int, ...] = setting((32, 32), "hidden layer widths of the field network", type=positive_int,
                                      nargs="+")
    activation: str = setting("tanh", "hidden activation (smooth: tanh, sin)", type=str)
    lr: float = setting(1e-2, "Adam learning rate of both fits (decays 100x over the epochs)", type=positive_float)
    batch_size: int = setting(32, "samples (derivative) or windows (rollout) per update", type=positive_int)
    window: int = setting(3, "RK4 steps per window of the rollout fit (multiple shooting)", type=positive_int)
    substeps: int = setting(1, "RK4 steps per sample interval in the rollout fit", type=positive_int)
    sample_every: int = setting(1, "observe every K-th sample of the system's grid (coarser data)",
                                type=positive_int)
    grid: int = 30
    seed: int = setting(0, "seed of the noise, weights and batches")

    def __post_init__(self):
        self.hidden = tuple(self.hidden) if isinstance(self.hidden, (list, tuple)) else self.hidden
        self.params = parse_params(self.params) if isinstance(self.params, str) else self.params
        self.x0 = float_list(self.x0) if isinstance(self.x0, str) else self.x0
        self.x0 = tuple(float(v) for v in self.x0) if isinstance(self.x0, (list, tuple)) else self.x0
        if self.system is None and self.data is None:
            self.system = "lotka-volterra"
        check(CONSTRAINTS, {name: getattr(self, name) for name in CONSTRAINTS})
        problem = setup(self, simulate=False)  # refuses bad equations, parameters, states and data now
        samples = len(problem.t)
        if samples < 11:
            raise InputError(f"sample_every must leave at least 11 samples of {self.name}, got {self.sample_every} "
                             f"({samples} samples)")
        if self.window > samples - 1:
            raise InputError(f"window must be <= {samples - 1} (samples of {self.name} - 1), got {self.window}")
        # the field network [d, *hidden, d] on the lattice, a batch of RK4 rollouts
        d = len(problem.x0)
        units = sum(self.hidden) + d
        check_sizes({f"the field on a --grid {self.grid} lattice": array_nbytes((2 * self.grid**2, units)),
                     f"rollouts of --batch-size {self.batch_size} x --window {self.window} x --substeps "
                     f"{self.substeps}": array_nbytes((8 * self.batch_size * self.window * self.substeps, units)),
                     f"the network of --hidden {self.hidden}": 64 * dense_parameters([d, *self.hidden, d])})

    @property
    def name(self) -> str:
        """The system's name in titles: the built-in's, or ``"x' = ...; y' = ..."``, or the data file's."""
        return self.system if self.data is None else f"data {Path(self.data).name}"

    @property
    def approaches(self) -> tuple[str, ...]:
        return APPROACHES if self.approach == "both" else (self.approach,)


#: every field of DynamicsConfig and its rule, checked once on entry
CONSTRAINTS = {
    "noise": NON_NEGATIVE,
    "method": [Options(set(METHODS))],
    "approach": [Options({*APPROACHES, "both"})],
    "epochs": POSITIVE_INT,
    "rollout_epochs": POSITIVE_INT,
    "hidden": [ListOf(Interval(int, 1, None, closed="left"), min_length=1)],
    "activation": [Options({name for name, cls in ACTIVATIONS.items() if cls.differentiable})],
    "lr": POSITIVE,
    "batch_size": POSITIVE_INT,
    "window": POSITIVE_INT,
    "substeps": POSITIVE_INT,
    "sample_every": POSITIVE_INT,
    "grid": [Interval(int, 2, None, closed="left")],
    "seed": NON_NEGATIVE_INT,
}


@dataclass
class ApproachResult:
    """One trained field and how well it does.

    Attributes
    ----------
    field : LearnedField
    loss : ndarray, shape (epochs_run,)
        Training loss per epoch (in the network's standardised units).
    train_s : float
        Wall-clock seconds of training.
    rollout : ndarray, shape (n, d)
        The learned field integrated from the training initial state (NaN after a failure).
    rollout_error : ndarray, shape (n,)
        Standardised error over time of that rollout (see ``valid_time``).
    unseen : list of (ndarray, ndarray)
        For each unseen initial state, the true and the learned trajectory, each ``(n, d)``.
    metrics : dict
        ``field_rmse``, ``field_rmse_on_data``, ``one_step_rmse``, ``rollout_rmse``,
        ``valid_time``, ``rollout_rmse_unseen``, ``train_s``, ``final_loss``.
    """

    field: LearnedField
    loss: np.ndarray
    train_s: float
    rollout: np.ndarray
    rollout_error: np.ndarray
    unseen: list[tuple[np.ndarray, np.ndarray]]
    metrics: dict[str, Any]


@dataclass
class DynamicsResult(MetricsHTML):
    """What a dynamics experiment produced.

    Attributes
    ----------
    config : DynamicsConfig
    system : DynamicalSystem or None
        None for measured data without reference equations.
    trajectory : Trajectory
        The training data (``x`` observed, ``x_clean``, ``dxdt_clean``; for measured data ``x_clean``
        is ``x`` and ``dxdt_clean`` NaN).
    derivative : ndarray, shape (n, d)
        The numerical derivative estimate of ``config.method``.
    scaler : Standardiser
    fields : dict of str to ApproachResult
        One entry per approach trained, in the order of :data:`APPROACHES`.
    metrics : dict
        What ``metrics.json`` holds (see :func:`summarize`).
    """

    config: DynamicsConfig
    system: DynamicalSystem | None
    trajectory: Trajectory
    derivative: np.ndarray
    scaler: Standardiser
    fields: dict[str, ApproachResult] = dataclass_field(default_factory=dict)
    metrics: dict[str, Any] = dataclass_field(default_factory=dict)
    problem: Problem | None = None


def train(config: DynamicsConfig, rng: np.random.Generator | None = None,
          checkpointer: Checkpointer | None = None) -> DynamicsResult:
    """Simulate the system, learn its field with each approach, and measure the learned fields.

    Parameters
    ----------
    config : DynamicsConfig
    rng : numpy.random.Generator, optional
        Default: ``numpy.random.default_rng(config.seed)``. Three independent streams are spawned
        from it: the measurement noise, the initial weights (shared by both approaches, so they
        start from the same network) and the order of the mini-batches (one stream per approach, so
        an approach gives the same numbers whether it is trained alone or with the other).
    checkpointer : Checkpointer, optional
        Saves the training as it goes (one phase per approach) and resumes it (``--resume``),
        ending bit for bit as an uninterrupted run.

    Returns
    -------
    DynamicsResult
    """
    rng = rng if rng is not None else np.random.default_rng(config.seed)
    noise_rng, init_rng, batch_rng = rng.spawn(3)
    problem = setup(config, noise_rng)
    system, trajectory = problem.system, problem.trajectory
    method = METHODS[config.method]()
    derivative = trajectory.differentiate(method)
    scaler = Standardiser.from_observations(trajectory.x, trajectory.t)
    result = DynamicsResult(config, system, trajectory, derivative, scaler, problem=problem)
    init_seed = int(init_rng.integers(2**63))
    batch_rngs = dict(zip(APPROACHES, batch_rng.spawn(len(APPROACHES)), strict=True))
    checkpointer = checkpointer or Checkpointer(None, {})
    done: Phases = {}
    for approach in track(usable_approaches(config, trajectory.t), "dynamics: approaches"):
        net = MLP([trajectory.dim, *config.hidden, trajectory.dim], hidden=config.activation, output="identity",
                  init="xavier", seed=init_seed)
        if approach == "derivative":
            trainer, callbacks = derivative_trainer(net, trajectory, derivative, scaler, config, batch_rngs[approach])
            epochs = config.epochs
        else:
            trainer, callbacks = integrator_trainer(net, trajectory, scaler, config, batch_rngs[approach]), []
            epochs = config.rollout_epochs
        done, loss, wall = _train_phase(checkpointer, trainer, epochs, approach, done, callbacks)
        result.fields[approach] = evaluate(LearnedField(net, scaler), problem, config.grid, loss=loss, train_s=wall)
    result.metrics = summarize(result, method)
    return result


def usable_approaches(config: DynamicsConfig, t: np.ndarray) -> tuple[str, ...]:
    """``config.approaches``, less the rollout fit on irregular time steps (its RK4 windows need a fixed step)."""
    if is_uniform(t):
        return config.approaches
    if config.approach == "rollout":
        raise InputError("approach 'rollout' needs equally spaced times; the data's steps range from "
                         f"{np.diff(t).min():g} to {np.diff(t).max():g} (use --approach derivative)", field="approach")
    return ("derivative",)


def derivative_trainer(net: Network, trajectory: Trajectory, derivative: np.ndarray, scaler: Standardiser,
                       config: DynamicsConfig, rng: np.random.Generator) -> tuple[Trainer, list[Callable]]:
    """A Trainer fitting ``net`` to the derivative estimate in standardised units (MSE, Adam,
    mini-batches), and the callback that decays its learning rate every epoch."""
    optimizer = Adam(lr=config.lr)
    schedule = lr_schedule(config.lr, config.epochs)
    trainer = Trainer(net, scaler.to_z(trajectory.x), scaler.to_u(derivative), loss="mse", optimizer=optimizer,
                      batch_size=config.batch_size, rng=rng)

    def decay(state) -> None:
        optimizer.lr = schedule(state.epoch + 1)

    return trainer, [decay]


def integrator_trainer(net: Network, trajectory: Trajectory, scaler: Standardiser, config: DynamicsConfig,
                       rng: np.random.Generator) -> RolloutTrainer:
    """A trainer fitting ``net`` by RK4 rollouts over windows of the standardised observations."""
    dt = float(trajectory.t[1] - trajectory.t[0])
    return RolloutTrainer(net, scaler.to_z(trajectory.x), dt, window=config.window, optimizer=Adam(lr=config.lr),
                          scale=scaler.rate, substeps=config.substeps, batch_size=config.batch_size, rng=rng,
                          schedule=lr_schedule(config.lr, config.rollout_epochs))


def _train_phase(checkpointer: Checkpointer, trainer: Trainer | RolloutTrainer, epochs: int, phase: str,
                 done: Phases, callbacks: list[Callable]) -> tuple[Phases, np.ndarray, float]:
    """Train one approach through the checkpointer; returns ``done``, the loss per epoch and the seconds.

    The learning rate a callback sets is saved with the phase, so a resumed run goes on with it.
    """
    optimizer = trainer.optimizer
    restored = checkpointer.restored_state(phase)
    if restored is not None:
        optimizer.lr = restored[1]["lr"]
    start = time.perf_counter()
    with checkpointer.hooks(trainer, epochs, phase=phase, done=done, progress=True,
                            extra=lambda: ({}, {"lr": float(optimizer.lr)})) as hooks:
        trainer.run(hooks.epochs_left, callbacks=[*callbacks, hooks])
    done = hooks.phases()
    wall = time.perf_counter() - start
    return done, trainer.loss_rows()[:, 0], wall


def lr_schedule(lr: float, epochs: int) -> Callable[[int], float]:
    """``epoch -> lr * LR_DECAY ** (epoch / epochs)``: exponential decay over the run."""
    return lambda epoch: lr * LR_DECAY ** (min(epoch, epochs) / epochs)


# -- measuring a learned field ------------------------------------------------------------------


def field_grid(x: np.ndarray, grid: int) -> np.ndarray:
    """Where the field error is measured: for 2 state variables, the points of a ``grid x grid`` lattice over
    the bounding box of ``x`` ``(n, 2)`` inside its convex hull; for 1, ``grid`` points over its range; for
    3 or more (a lattice grows as ``grid**d``), the states ``x`` themselves.

    Returns
    -------
    ndarray, shape (M, d)
    """
    if x.shape[1] == 1:
        return np.linspace(x.min(), x.max(), grid)[:, None]
    if x.shape[1] > 2:
        return x
    low, high = x.min(axis=0), x.max(axis=0)
    axes = [np.linspace(low[i], high[i], grid) for i in range(x.shape[1])]
    points = np.stack(np.meshgrid(*axes), axis=-1).reshape(-1, x.shape[1])
    hull = ConvexHull(x)
    inside = PolygonPath(x[hull.vertices]).contains_points(points, radius=1e-9 * float(np.ptp(x)))
    return points[inside]


def integrate_field(vector_field: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``solve_ivp`` of a learned field from ``x0`` ``(d,)`` at times ``t`` ``(n,)``; NaN after a failure.

    Returns
    -------
    ndarray, shape (n, d)
    """
    try:
        return integrate(vector_field, x0, t, rtol=RTOL, atol=ATOL, max_evaluations=MAX_FIELD_EVALUATIONS)
    except RuntimeError:
        return np.full((len(t), len(x0)), np.nan)


def one_step_states(vector_field: Callable[[np.ndarray], np.ndarray], states: np.ndarray, dt: float) -> np.ndarray:
    """Every state of ``states`` ``(n, d)`` moved by ``dt`` along the field: one ``solve_ivp`` for all."""
    shape = states.shape
    moved = integrate_field(lambda flat: vector_field(flat.reshape(shape)).ravel(), states.ravel(),
                            np.array([0.0, dt]))
    return moved[-1].reshape(shape)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """Root-mean-square of ``a - b`` over every element; NaN anywhere gives NaN."""
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def standardised_error(x_hat: np.ndarray, x: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``sqrt(mean_i ((x_hat_i - x_i) / std_i)^2)`` at every time, shape ``(n,)``."""
    return np.sqrt(np.mean(((x_hat - x) / std) ** 2, axis=-1))


def valid_time(error: np.ndarray, t: np.ndarray, threshold: float = VALID_ERROR) -> float:
    """Time from ``t[0]`` until ``error`` ``(n,)`` first exceeds ``threshold`` (NaN counts as exceeding)."""
    bad = ~(error <= threshold)
    return float((t[np.argmax(bad)] if bad.any() else t[-1]) - t[0])


def evaluate(learned: LearnedField, problem: Problem, grid: int, *, loss: np.ndarray,
             train_s: float) -> ApproachResult:
    """Measure ``learned`` against the problem's system (every metric of the module docstring but
    ``derivative_rmse``); without a system, the field metrics are NaN and the rest compare with the data."""
    system, trajectory = problem.system, problem.trajectory
    t, clean = trajectory.t, trajectory.x_clean
    points = field_grid(trajectory.x, grid)
    true_on_grid = system.rhs(0.0, points) if system is not None else np.full_like(points, np.nan)
    rollout = integrate_field(learned, clean[0], t)
    error = standardised_error(rollout, clean, trajectory.x.std(axis=0))
    next_states = np.vstack([one_step_states(learned, clean[k:k + 1], float(t[k + 1] - t[k]))
                             for k in range(len(t) - 1)]) if not is_uniform(t) else \
        one_step_states(learned, clean[:-1], float(t[1] - t[0]))
    unseen = []
    for x0 in problem.unseen:
        truth = system.simulate(x0, problem.t_span, float(t[1] - t[0])).x_clean
        unseen.append((truth, integrate_field(learned, np.asarray(x0, dtype=float), t)))
    metrics = {
        "field_rmse": rmse(learned(points), true_on_grid),
        "field_rms": float(np.sqrt(np.mean(true_on_grid**2))),
        "field_points": len(points),
        "field_rmse_on_data": rmse(learned(clean), trajectory.dxdt_clean),
        "one_step_rmse": rmse(next_states, clean[1:]),
        "rollout_rmse": rmse(rollout, clean),
        "valid_time": valid_time(error, t),
        "rollout_rmse_unseen": [rmse(learned_path, truth) for truth, learned_path in unseen],
        "final_loss": float(loss[-1]) if len(loss) else None,
        "epochs_run": len(loss),
    }
    return ApproachResult(learned, loss, train_s, rollout, error, unseen, metrics)


def summarize(result: DynamicsResult, method: Differentiator) -> dict[str, Any]:
    """The numbers of ``metrics.json``.

    ``field_rmse`` and ``rollout_rmse`` at the top level are those of the first approach trained
    (the derivative approach when both are); ``approaches`` holds every approach's metrics.
    NaN (a rollout that failed) is written as null.
    """
    config, trajectory, problem, system = result.config, result.trajectory, result.problem, result.system
    first = next(iter(result.fields.values())).metrics
    steps = np.diff(trajectory.t)
    metrics = {
        "system": config.name,
        "variables": list(trajectory.names),
        "equations": system.equations() if system is not None else None,
        "params": {
            "system": dict(system.parameters) if system is not None else None,
            "method": {"name": config.method, "estimator": repr(method)},
            "trajectory": {"x0": list(problem.x0), "t_span": list(problem.t_span),
                           "dt": float(steps[0]) if is_uniform(trajectory.t) else None,
                           "dt_range": [float(steps.min()), float(steps.max())],
                           "samples": len(trajectory.t), "noise": config.noise if config.data is None else None,
                           "data": config.data, "unseen_x0": [list(x0) for x0 in problem.unseen]},
            "standardisation": {"mean": result.scaler.mean.tolist(), "std": result.scaler.std.tolist(),
                                "rate": result.scaler.rate.tolist()},
        },
        "config": asdict(config),
        "derivative_rmse": rmse(result.derivative, trajectory.dxdt_clean),
        "derivative_rms": float(np.sqrt(np.mean(trajectory.dxdt_clean**2))),
        "field_rmse": first["field_rmse"],
        "rollout_rmse": first["rollout_rmse"],
        "approaches": {name: r.metrics for name, r in result.fields.items()},
        "timing": {"train_s": {name: round(r.train_s, 3) for name, r in result.fields.items()}},
    }
    return _finite_or_none(metrics)


def _finite_or_none(value: Any) -> Any:
    """NaN and infinities (which JSON cannot hold) as None, recursively."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- the comparison table ---------------------------------------------------------------------

#: noise levels of :func:`compare`
COMPARE_NOISE = (0.0, 0.01)


def compare(base: DynamicsConfig, noises: tuple[float, ...] = COMPARE_NOISE) -> list[dict[str, Any]]:
    """Both approaches at every noise level (other settings from ``base``); one row per pair.

    Returns
    -------
    list of dict
        ``noise``, ``approach``, ``derivative_rmse`` (of the estimate the derivative approach used),
        ``field_rmse``, ``field_rmse_on_data``, ``one_step_rmse``, ``rollout_rmse``, ``valid_time``,
        ``rollout_rmse_unseen``, ``train_s``.
    """
    rows = []
    for noise in noises:
        config = DynamicsConfig(**{**asdict(base), "noise": noise, "approach": "both"})
        metrics = train(config).metrics
        for approach, m in metrics["approaches"].items():
            rows.append({"noise": noise, "approach": approach, "derivative_rmse": metrics["derivative_rmse"],
                         **{k: m[k] for k in ("field_rmse", "field_rmse_on_data", "one_step_rmse", "rollout_rmse",
                                              "valid_time", "rollout_rmse_unseen")},
                         "train_s": metrics["timing"]["train_s"][approach]})
    return rows
