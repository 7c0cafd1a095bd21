"""The car's step compiled with Numba (``annrl[fast]``): :mod:`annrl.envs.physics`, one car at a time.

:class:`CompiledCars` packs a :class:`~annrl.envs.core.CarSimulator`'s tables and per-car settings
into plain arrays, and :func:`step_cars` moves every car by one step: the bicycle model, tracking
along the centre line, the crash test, the sensor rays, progress, checkpoints, reward and the
episode ends. Each line is the NumPy kernel's formula operation for operation on float64 (no fused
multiply-adds, the C library's ``cos`` and ``sin``), so the two paths give the same numbers to the
last bit (``tests/envs/test_car_compiled.py`` checks it against the array-API physics, step by step).

The simulator keeps the rest: actions to controls, the restarts' jitter (drawn from each car's NumPy
generator; the restarted cars are then tracked and sensed by :meth:`CompiledCars.locate` and
:meth:`CompiledCars.observe`), parked cars, sensor noise and the info dictionaries. The NumPy path
stays the reference. Numba is imported only when a kernel runs (:func:`why_not` needs none).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from annrl.backend import is_numpy
from annrl.errors import InputError
from annrl.nn.compiled import INSTALL, KERNELS, available

TWO_PI = 2.0 * math.pi
FAR_T = 1.0e9  # as physics.FAR_T
TINY = 1.0e-30  # as physics.TINY
# float per-car parameters, in this order (see CompiledCars.pack)
MAX_SPEED, ACCEL, BRAKE, DRAG, STEER_GAIN, GRIP, RADIUS, LAP_LENGTH, SENSE_SPEED, MAX_RANGE = range(10)
# float state columns, then integer ones (see CompiledCars.move)
X, Y, HEADING, SPEED, ARC, PROGRESS, STALL = range(7)
STATION, CHECKPOINT, STEPS, LANE = range(4)


#: ``kernel="auto"`` steps at least this many cars compiled: below, NumPy's per-call overhead is small
#: beside loading the kernel (~1.5 s from Numba's disk cache, ~15 s to compile it the first time)
AUTO_MIN_CARS = 256
#: cars from which the step splits over threads, when the simulator was given ``num_threads > 1``
PARALLEL_CARS = 512


def for_simulator(sim: Any, kernel: str) -> CompiledCars | None:
    """The compiled step of ``sim`` for its ``kernel`` setting, or None when it steps with NumPy.

    ``"compiled"`` without Numba raises one line naming ``pip install "annrl[fast]"``; ``"auto"`` takes
    the compiled step when Numba is installed and the simulator has at least :data:`AUTO_MIN_CARS` cars.
    """
    if kernel not in KERNELS:
        raise InputError.invalid("kernel", f"one of {', '.join(KERNELS)}", kernel)
    if kernel == "compiled" and not available():
        raise InputError(f'kernel="compiled" needs Numba, which is not installed: {INSTALL}', field="kernel")
    if kernel == "numpy" or kernel == "auto" and (sim.n < AUTO_MIN_CARS or not available()):
        return None
    return CompiledCars(sim)


def why_not(sim: Any) -> str | None:
    """Why the compiled step cannot move ``sim``'s cars, in a few words (None: it can)."""
    if not is_numpy(sim.xp) or sim.state is not None and not isinstance(sim.state.x, np.ndarray):
        return "the cars' state is not NumPy arrays"
    if sim.n_obs != sim.n_rays + 1:
        return f"the observation has {sim.n_obs} entries, the compiled step writes rays and speed only"
    return None


class CompiledCars:
    """A simulator's step, compiled: :meth:`move` replaces ``_move`` + ``_observe`` + ``_score``.

    The packed tables are taken again whenever the simulator replaces one of the objects they come
    from (``set_settings``, ``set_track``), as :class:`~annrl.envs.fast_single.OneCar` does; the
    per-car parameters are read afresh every step (a few microseconds), so they may be changed in place.
    """

    def __init__(self, sim: Any):
        self.sim = sim
        self._sources: tuple = ()
        self.args: tuple = ()

    def _current_sources(self) -> tuple:
        sim = self.sim
        return (sim.settings, sim.tab, sim.dynamics, sim.sensors, sim.car_radius, sim.stack)

    def pack(self) -> tuple:
        """The kernel's read-only arguments: tables, per-car parameters and scalars (see :func:`pack`)."""
        sources = self._current_sources()
        if len(sources) != len(self._sources) or any(a is not b for a, b in zip(sources, self._sources, strict=True)):
            self._sources, self.args = sources, pack(self.sim)
            return self.args
        args = list(self.args)
        args[PER_CAR] = per_car_parameters(self.sim)
        return tuple(args)

    def move(self, old: Any, steer: np.ndarray, throttle: np.ndarray):
        """Every car moved one step from ``old`` (a CarState): ``(moved, obs (n, n_obs) float32, reward,
        terminated, truncated)``, each ``(n,)``, as the NumPy path's ``_move``, ``_score`` and ``_observe``."""
        from annrl.envs.core import CarState

        n = self.sim.n
        floats = np.stack([old.x, old.y, old.heading, old.speed, old.arc, old.progress, old.stall_clock])
        ints = np.stack([old.station, old.checkpoint, old.steps, old.lane]).astype(np.int64, copy=False)
        new_f, new_i = np.empty_like(floats), np.empty_like(ints)
        crashed = np.empty(n, dtype=np.bool_)
        obs = np.empty((n, self.sim.n_obs), dtype=np.float32)
        reward, terminated, truncated = np.empty(n), np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_)
        controls = np.stack([steer, throttle]).astype(np.float64, copy=False)
        parallel = self.sim.num_threads > 1 and n >= PARALLEL_CARS
        kernel = step_cars(parallel)
        if parallel:
            import numba

            numba.set_num_threads(min(self.sim.num_threads, numba.config.NUMBA_NUM_THREADS))
        kernel(floats, ints, new_f, new_i, crashed, controls, obs, reward, terminated, truncated, *self.pack())
        moved = CarState(x=new_f[X], y=new_f[Y], heading=new_f[HEADING], speed=new_f[SPEED], station=new_i[STATION],
                         arc=new_f[ARC], progress=new_f[PROGRESS], checkpoint=new_i[CHECKPOINT], steps=new_i[STEPS],
                         stall_clock=new_f[STALL], crashed=crashed, lane=new_i[LANE])
        return moved, obs, reward, terminated, truncated

    def locate(self, x: np.ndarray, y: np.ndarray, station: np.ndarray, cars: np.ndarray):
        """``(station, arc, lane)`` of cars ``cars`` placed at ``x, y`` near ``station``, each ``(len(cars),)``:
        :func:`physics.locate <annrl.envs.physics.locate>` and ``lane_of``, compiled."""
        from annrl.envs import car_kernels

        k = len(cars)
        out = np.empty(k, dtype=np.int64), np.empty(k), np.empty(k, dtype=np.int64)
        columns = (np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
                   np.ascontiguousarray(station, dtype=np.int64), np.asarray(cars, dtype=np.int64))
        car_kernels.locate_cars(*columns, *out, *self.pack())
        return out

    def observe(self, state: Any, cars: np.ndarray) -> np.ndarray:
        """Observations, float32 of shape (C, n_obs), of ``state`` (a CarState of the C ``cars``), as ``_observe``."""
        from annrl.envs import car_kernels

        obs = np.empty((len(cars), self.sim.n_obs), dtype=np.float32)
        columns = [np.ascontiguousarray(v, dtype=np.float64) for v in (state.x, state.y, state.heading, state.speed)]
        columns += [np.ascontiguousarray(v, dtype=np.int64) for v in (state.station, state.lane)]
        car_kernels.sense_cars(*columns, np.asarray(cars, dtype=np.int64), obs, *self.pack())
        return obs


PER_CAR = 8  # the place of per_car in pack's tuple


def per_car_parameters(sim: Any) -> np.ndarray:
    """``(10, n)``: the per-car physical and sensor numbers, in the order MAX_SPEED .. MAX_RANGE."""
    dyn, sensors = sim.dynamics, sim.sensors
    out = np.empty((10, sim.n))
    for row, values in enumerate((dyn.max_speed, dyn.accel, dyn.brake, dyn.drag, dyn.steer_gain, dyn.grip,
                                  sim.car_radius, sim.lap_length, sensors.max_speed, sensors.max_range[:, 0])):
        out[row] = values  # (the lap length is one number when the cars share a track)
    return out


def pack(sim: Any) -> tuple:
    """The kernels' read-only arguments: the lookup tables, per-car parameters and constants of ``sim``.

    Returns ``(stations (M, 7), wrapped (M + 2 w, 5), window (2, 2 w + 1), cell_info (2, cells), lanes
    (M, 2), crash (M, Kc, 5), head (cells, K1, 4), tail (rows, K - K1, 4), per_car (10, n), where (3, n),
    far (2 w + 1, n) or (1, 0), fan (3, n, r), scalars)``. One array per table, a candidate's numbers
    side by side (one cache line rather than one per column); plain arrays, not tuples of them, because
    every array taken out of a tuple in a compiled loop costs a reference count.
    """
    tab, n, s, stack = sim.tab, sim.n, sim.settings, sim.stack

    def joined(prefix, columns, axis=-1):
        return np.ascontiguousarray(np.stack([tab[f"{prefix}_{c}"] for c in columns], axis=axis), dtype=np.float64)

    cells = tab["ray_ax"].shape[0]
    has_tail = "tail_ax" in tab
    tail_row = tab["tail_row"] if "tail_row" in tab else np.arange(cells)
    sensors = sim.sensors
    per_car = per_car_parameters(sim)
    if stack.mixed:
        where = np.stack([stack.base, stack.m, stack.row0]).astype(np.int64)
        far = np.zeros((1, 0)) if stack.far is None else np.ascontiguousarray(stack.far, dtype=np.float64)
    else:
        where = np.stack([np.zeros(n), np.full(n, tab["stations"].shape[0]), np.zeros(n)]).astype(np.int64)
        far = np.zeros((1, 0))
    stall_time = math.inf if s.stall_time is None else s.stall_time - 1e-9  # as physics.score_constants
    scalars = (float(s.dt), float(s.lap_reward), float(s.crash_penalty), float(stall_time),
               int(s.max_episode_steps), int(s.n_checkpoints), int(s.laps), int(tab["n_lanes"]),
               int(tab["n_sectors"]), bool(has_tail))
    return (np.ascontiguousarray(tab["stations"], dtype=np.float64), joined("wrapped", ("x", "y", "dx", "dy", "len2")),
            np.stack([tab["offsets"], tab["window_rows"]]).astype(np.int64),
            np.stack([tab["ray_count"], tail_row]).astype(np.int64),
            np.column_stack([tab["lane_lo"], tab["lane_width"]]).astype(np.float64),
            joined("crash", ("ax", "ay", "dx", "dy", "inv_len2")), joined("ray", ("ax", "ay", "dx", "dy")),
            joined("tail", ("ax", "ay", "dx", "dy")) if has_tail else np.zeros((1, 0, 4)),
            per_car, where, far, np.ascontiguousarray(np.stack([sensors.cos, sensors.sin, sensors.angles]),
                                                      dtype=np.float64), scalars)


def step_cars(parallel: bool = False) -> Any:
    """The compiled kernel ``step_cars(floats, ints, new_floats, new_ints, crashed, controls, obs, reward,
    terminated, truncated, *pack(sim))`` of :mod:`annrl.envs.car_kernels`, over Numba's threads when
    ``parallel`` (compiled, or loaded from Numba's disk cache, on first use)."""
    from annrl.envs import car_kernels

    return car_kernels.step_cars_parallel if parallel else car_kernels.step_cars
