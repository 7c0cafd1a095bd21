"""The car's step compiled with Numba (``annrl[fast]``): :mod:`annrl.envs.physics`, one car at a time.

:class:`CompiledCars` packs a :class:`~annrl.envs.core.CarSimulator`'s tables and per-car settings into
plain arrays, and :func:`~annrl.envs.car_kernels.step_cars` takes every car through a whole step in one
call: the controls from its action, the bicycle model, tracking along the centre line, the crash test,
the sensor rays, progress, checkpoints, reward, the episode ends, the restart of a finished car (its
jitter drawn ahead from its own generator, see :class:`~annrl.envs.core.StartJitter`) and the info
arrays. Each line is the NumPy kernel's formula operation for operation on float64 (no fused
multiply-adds, the C library's ``cos`` and ``sin``), so the two paths give the same numbers to the last bit
(``tests/envs/test_car_compiled.py`` checks it against the array-API physics, step by step).

The simulator keeps the rest: checking the actions' shape and kind, parked cars (DISABLED autoreset
steps with :meth:`CompiledCars.move` and finishes in NumPy), sensor noise, and the restarts of
:meth:`~annrl.envs.core.CarSimulator.reset`. The NumPy path stays the reference. Numba is imported only
when a kernel runs (:func:`why_not` needs none).
"""

from __future__ import annotations

import math
import operator
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
PER_CAR_ROWS = 10
# float state columns, then integer ones (see CompiledCars.move)
X, Y, HEADING, SPEED, ARC, PROGRESS, STALL = range(7)
STATION, CHECKPOINT, STEPS, LANE = range(4)
# what a step does with cars whose episode ends (the simulator's autoreset mode; DISABLED parks them in core.py)
MOVE_ONLY, NEXT_STEP, SAME_STEP = range(3)


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
    """A simulator's step, compiled: :meth:`step` replaces ``_controls``, ``_move``, ``_score``, the restarts,
    ``_observe`` and ``info``; :meth:`move` the first three and ``_observe``.

    The packed tables are taken again whenever the simulator replaces one of the objects they come
    from (``set_settings``, ``set_track``), as :class:`~annrl.envs.fast_single.OneCar` does; the
    per-car parameters are read where the simulator keeps them (:func:`parameter_block`), so they may be
    changed in place. The cars' state stays packed between steps: the simulator's
    :class:`~annrl.envs.core.CarState` holds rows of the kernel's arrays, which are stacked afresh only
    when a field has been replaced.
    """

    def __init__(self, sim: Any):
        self.sim = sim
        self._sources: tuple = ()
        self.args: list = []
        self.starts: tuple = ()
        self._packed: tuple = (None, None, ())  # floats, ints, and the state's fields as rows of them

    def _current_sources(self) -> tuple:
        sim = self.sim
        return (sim.settings, sim.tab, sim.dynamics, sim.sensors, sim.car_radius, sim.stack)

    def pack(self) -> list:
        """The kernels' arguments: tables, per-car parameters and scalars (see :func:`pack`), taken again when the
        simulator has replaced one of the objects they come from; the per-car parameters as
        :func:`parameter_block` finds them at each call."""
        sources = self._current_sources()
        if len(sources) != len(self._sources) or any(a is not b for a, b in zip(sources, self._sources, strict=True)):
            sim, s = self.sim, self.sim.settings
            self._sources, self.args = sources, list(pack(sim))
            self.starts = (np.ascontiguousarray(np.stack(sim.stack.start)), sim.stack.start_station.astype(np.int64),
                           np.array([s.start_jitter, math.radians(s.start_heading_jitter_deg)]))
        self.args[PER_CAR] = parameter_block(self.sim)
        return self.args

    def step(self, state: Any, table: np.ndarray, choice: np.ndarray, mode: int) -> tuple | int:
        """Every car one step on from ``state`` (a CarState), restarts included: car ``i`` drives with controls
        ``table[choice[i]]`` (steer, throttle); in mode NEXT_STEP the simulator's pending cars restart instead,
        in mode SAME_STEP the cars whose episode ends restart after it (each with its next jitter of
        ``sim.jitter``, drawn ahead).

        Returns the first car whose ``choice`` indexes no row of ``table`` (nothing done), or ``(moved, obs (n,
        n_obs) float32, reward, terminated, truncated, info, final)``, where ``info`` holds the arrays of
        ``CarSimulator.info`` and ``final`` is, in mode SAME_STEP, the observations and info before the restarts.
        """
        from annrl.envs.core import CarState

        sim = self.sim
        n, n_obs = sim.n, sim.n_obs
        args = self.pack()  # first: it refreshes self.starts
        floats, ints = self._state_arrays(state)
        moved = np.empty_like(floats), np.empty_like(ints), np.empty(n, dtype=np.bool_)
        obs = np.empty((n, n_obs), dtype=np.float32)
        ends = np.empty(n), np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_)
        info = np.empty((2, n), dtype=np.int64), np.empty(n), np.empty((2, n), dtype=np.bool_)
        rows = n if mode == SAME_STEP else 0
        final = np.empty((rows, n_obs), dtype=np.float32), np.empty((2, rows), dtype=np.int64), np.empty(rows), \
            np.empty((2, rows), dtype=np.bool_)
        bad = self._call(mode, floats, ints, *moved, table, choice, sim.pending, sim.jitter.values, sim.jitter.used,
                         *self.starts, obs, *ends, *info, *final, *args)
        if bad >= 0:
            return int(bad)
        new_f, new_i, crashed = moved
        fields = (new_f[X], new_f[Y], new_f[HEADING], new_f[SPEED], new_i[STATION], new_f[ARC], new_f[PROGRESS],
                  new_i[CHECKPOINT], new_i[STEPS], new_f[STALL], crashed, new_i[LANE])  # CarState's order
        self._packed = (new_f, new_i, fields)
        return (CarState(*fields), obs, *ends, _info(*info),
                (final[0], _info(*final[1:])) if mode == SAME_STEP else None)

    def move(self, old: Any, steer: np.ndarray, throttle: np.ndarray):
        """Every car moved one step from ``old`` (a CarState) with these controls, no restarts: ``(moved, obs (n,
        n_obs) float32, reward, terminated, truncated)``, as the NumPy path's ``_move``, ``_score`` and
        ``_observe``."""
        table = np.ascontiguousarray(np.stack([steer, throttle], axis=1), dtype=np.float64)
        return self.step(old, table, np.arange(self.sim.n), MOVE_ONLY)[:5]

    def _state_arrays(self, state: Any) -> tuple[np.ndarray, np.ndarray]:
        """``state``'s float (7, n) and integer (4, n) fields as the kernel reads them: the arrays the last step
        wrote when every field is still their row (changed in place or not at all), else stacked afresh."""
        floats, ints, fields = self._packed
        if fields and all(map(operator.is_, vars(state).values(), fields)):  # (a dataclass: its fields in order)
            return floats, ints
        floats = np.stack([state.x, state.y, state.heading, state.speed, state.arc, state.progress, state.stall_clock])
        ints = np.stack([state.station, state.checkpoint, state.steps, state.lane]).astype(np.int64, copy=False)
        return floats, ints

    def _call(self, *args) -> int:
        """``car_kernels.step_cars(*args)`` on the simulator's ``num_threads`` (one below :data:`PARALLEL_CARS`
        cars); the calling thread's Numba thread count is put back after it (compiled, or loaded from Numba's
        disk cache, on first use)."""
        import numba

        from annrl.envs import car_kernels

        sim = self.sim
        before = numba.get_num_threads()
        wanted = min(sim.num_threads, numba.config.NUMBA_NUM_THREADS) if sim.n >= PARALLEL_CARS else 1
        if wanted == before:
            return car_kernels.step_cars(*args)
        numba.set_num_threads(wanted)
        try:
            return car_kernels.step_cars(*args)
        finally:
            numba.set_num_threads(before)

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


PER_CAR = 8  # the place of per_car in pack's tuple


def _info(ints: np.ndarray, fraction: np.ndarray, flags: np.ndarray) -> dict[str, np.ndarray]:
    """The kernel's info arrays as ``CarSimulator.info``'s dictionary (the same keys in the same order)."""
    return {"laps": ints[0], "progress": fraction, "checkpoints": ints[1], "crashed": flags[1], "success": flags[0]}


def parameter_rows(sim: Any) -> tuple[np.ndarray, ...]:
    """The simulator's per-car arrays that :func:`per_car_parameters` reads, but for the lap length and the
    speed reading's scale: the sources of the other rows, each ``(n,)`` (the sensor range ``(n, 1)``)."""
    dyn = sim.dynamics
    return (dyn.max_speed, dyn.accel, dyn.brake, dyn.drag, dyn.steer_gain, dyn.grip, sim.car_radius,
            sim.sensors.max_range)


def parameter_block(sim: Any) -> np.ndarray:
    """``(10, n)``: the per-car numbers as the kernels read them (:func:`per_car_parameters`), without a copy.

    The simulator keeps its per-car arrays as rows of ``sim.parameter_block``: while they are (changed in place
    or not), only the lap length and the speed scale are copied in, a row each; if one has been replaced, the
    numbers are gathered afresh.
    """
    block = getattr(sim, "parameter_block", None)
    if block is None or not all(map(operator.is_, parameter_rows(sim), sim.parameter_rows)):
        return per_car_parameters(sim)
    block[LAP_LENGTH] = sim.lap_length
    block[SENSE_SPEED] = sim.sensors.max_speed
    return block


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
