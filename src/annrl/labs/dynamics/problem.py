"""What the dynamics lab learns from: a built-in system, the user's equations or measured data.

:data:`SYSTEMS` holds the built-in systems and their trajectories; :func:`setup` turns the settings
of a :class:`~annrl.labs.dynamics.lab.DynamicsConfig` (``system``, ``params``, ``x0``, ``t_end``,
``dt``, ``data``, ``noise``, ``sample_every``) into the system and the observed trajectory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.errors import InputError
from annrl.systems import DampedPendulum, DynamicalSystem, EquationSystem, LotkaVolterra, Trajectory, VanDerPol
from annrl.systems.base import sample_grid
from annrl.systems.data import read_trajectory_csv
from annrl.systems.lotka_volterra import BENCHMARK_DT, BENCHMARK_PARAMETERS, BENCHMARK_T_SPAN, BENCHMARK_X0
from annrl.validate import Options, check


@dataclass(frozen=True)
class SystemSpec:
    """A system of the lab and the trajectory it is learned from.

    Attributes
    ----------
    name : str
        The CLI name, e.g. ``"lotka-volterra"``.
    make : callable
        Builds the :class:`~annrl.systems.DynamicalSystem` (its default parameters).
    x0 : tuple of float
        Initial state of the training trajectory.
    t_span : (float, float)
    dt : float
        Sampling step of the observations.
    unseen : tuple of tuple of float
        Initial states not in the data, to test the learned field on (inside the data's region).
    """

    name: str
    make: Callable[[], DynamicalSystem]
    x0: tuple[float, ...]
    t_span: tuple[float, float]
    dt: float
    unseen: tuple[tuple[float, ...], ...]

    def samples(self, every: int = 1) -> int:
        """Observations in the trajectory when every ``every``-th sample is kept (step ``every * dt``)."""
        return int(math.floor((self.t_span[1] - self.t_span[0]) / (every * self.dt) + 1e-9)) + 1


SYSTEMS: dict[str, SystemSpec] = {
    # the annrl benchmark (lotka_volterra_benchmark): 501 samples, three prey peaks; both unseen
    # starts lie on smaller orbits inside the training orbit
    "lotka-volterra": SystemSpec("lotka-volterra", lambda: LotkaVolterra(**BENCHMARK_PARAMETERS),
                                 BENCHMARK_X0, BENCHMARK_T_SPAN, BENCHMARK_DT, ((6.0, 6.0), (15.0, 5.0))),
    # a spiral into the rest state from theta = 2.5 rad: 401 samples that sweep the whole disc
    "pendulum": SystemSpec("pendulum", DampedPendulum, (2.5, 0.0), (0.0, 20.0), 0.05,
                           ((1.5, 0.0), (-1.0, 3.0))),
    # a spiral out to the limit cycle from amplitude 0.5 (from closer to the unstable origin, the
    # time of escape, and so the phase on the cycle, hangs on the tiniest field error): 601 samples
    "van-der-pol": SystemSpec("van-der-pol", VanDerPol, (0.5, 0.0), (0.0, 30.0), 0.05,
                              ((1.5, 0.0), (-1.0, 1.0))),
}


def float_list(text: str) -> tuple[float, ...]:
    """``"4,2"`` -> ``(4.0, 2.0)`` (the CLI's ``--x0``)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError.invalid("x0", "numbers separated by commas", text) from None
    if not all(math.isfinite(v) for v in values):
        raise InputError.invalid("x0", "finite numbers", text)
    return values


@dataclass
class Problem:
    """What one experiment learns from: the system (None for data without equations) and its trajectory.

    Attributes
    ----------
    system : DynamicalSystem or None
    t : ndarray, shape (n,)
        The sample times.
    trajectory : Trajectory or None
        The observations (None until simulated, see :func:`setup`).
    x0 : tuple of float
    t_span : (float, float)
    unseen : tuple of tuple of float
        Initial states not in the data, to test the learned field on (built-in systems only).
    """

    system: DynamicalSystem | None
    t: np.ndarray
    trajectory: Trajectory | None
    x0: tuple[float, ...]
    t_span: tuple[float, float]
    unseen: tuple[tuple[float, ...], ...]


def setup(config: Any, rng: np.random.Generator | None = None, *, simulate: bool = True) -> Problem:
    """The system and trajectory of ``config``: a built-in or typed system simulated with ``config.noise``
    (from ``rng``), or the measured ``config.data``; ``simulate=False`` only checks and times it."""
    system = None if config.system is None else make_system(config)
    if config.data is not None:
        trajectory = read_trajectory_csv(config.data, None if system is None else system.names)
        t = trajectory.t
        return Problem(system, t, trajectory, tuple(trajectory.x[0]), (float(t[0]), float(t[-1])), ())
    spec = SYSTEMS.get(config.system)
    x0 = config.x0 if config.x0 is not None else (spec.x0 if spec else None)
    if x0 is None:
        raise InputError(f"x0 is needed for the system {config.system!r}: one number per state variable "
                         f"({', '.join(system.names)})", field="x0")
    if len(x0) != system.dim:
        raise InputError(f"x0 must have {system.dim} numbers ({', '.join(system.names)}), got {len(x0)}", field="x0")
    t_span = (0.0, config.t_end) if config.t_end is not None else (spec.t_span if spec else (0.0, 20.0))
    dt = (config.dt if config.dt is not None else (spec.dt if spec else 0.05)) * config.sample_every
    unseen = spec.unseen if spec and config.x0 is None and config.params is None else ()
    t = sample_grid(t_span, dt)
    trajectory = None
    if simulate:
        rng = rng if rng is not None else np.random.default_rng(config.seed)
        trajectory = system.simulate(x0, t_span, dt, rng=rng, noise=config.noise)
    return Problem(system, t, trajectory, tuple(x0), tuple(t_span), unseen)


def make_system(config: Any) -> DynamicalSystem:
    """The built-in system of ``config.system`` with ``config.params`` changed, or the typed equations."""
    spec = SYSTEMS.get(config.system)
    if spec is None:
        if "=" not in config.system:  # not equations: a misspelt built-in, which the rule names
            check({"system": [Options(set(SYSTEMS))]}, {"system": config.system})
        return EquationSystem(config.system, config.params)
    if not config.params:
        return spec.make()
    system = spec.make()
    unknown = sorted(set(config.params) - set(system.parameters))
    if unknown:
        raise InputError(f"params: {config.system} has no parameter {unknown[0]!r} "
                         f"(its parameters: {', '.join(system.parameters)})", field="params")
    return type(system)(**{**system.parameters, **config.params})
