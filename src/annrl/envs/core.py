"""The vectorised core: ``n`` cars, on one track or each on its own, stepped together in a few array calls.

:class:`CarSimulator` owns the cars' state (arrays of shape ``(n,)``), turns actions into
controls, runs :mod:`annrl.envs.physics`, scores progress, ends episodes and resets cars. Both
Gymnasium environments are thin wrappers around it: :class:`~annrl.envs.car_env.CarTrackEnv` is
the simulator with ``n = 1``, :class:`~annrl.envs.car_env.CarTrackVecEnv` exposes all ``n``.

Cars on different tracks share one set of lookup tables: the tracks' tables are stacked (see
:class:`TrackStack`), each car's station counts in the stack, and the few per-track numbers (lap
length, start pose, tracking window) become arrays of shape ``(n,)``.

Randomness: each car draws its start pose from its own ``numpy.random.Generator`` (passed to
:meth:`CarSimulator.reset`), so car ``k`` of a batch seeded with ``s + k`` replays exactly the
episode of a single car seeded with ``s + k``.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from annrl.backend import array_namespace
from annrl.envs import compiled, geometry, physics
from annrl.envs.fast_single import OneCar
from annrl.envs.settings import CarSettings
from annrl.envs.track_tables import TrackTables, build_tables
from annrl.envs.tracks import Track, check_drivable, load_track
from annrl.errors import InputError

ACTION_NAMES = ("left", "right", "straight", "faster", "slower")
# (steer, throttle) for each discrete action, in the order of ACTION_NAMES.
DISCRETE_CONTROLS = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
NO_OP = 2  # "straight": what a not-yet-enabled extra action does
# Discrete actions that can be added after the five above, disabled until enabled (see
# ``CarSimulator.enable_actions``). A throttle below -1 brakes harder than "slower" can.
EXTRA_CONTROLS = {"hard_brake": (0.0, -3.0)}
# Rays in float64: the one-car path (annrl.envs.fast_single) then gives the batch's numbers to the last bit.
RAY_DTYPE = np.float64
MIN_CARS_PER_THREAD = 256  # below this, thread hand-offs cost more than they save
JITTER_AHEAD = 64  # starts' jitter the compiled step draws ahead per car (see StartJitter)


@dataclass
class CarState:
    """The state of every car; each field is an array of shape ``(n,)``.

    ``station`` is the centre-line segment the car is tracked to, ``arc`` the arc length of its
    projection (metres), ``progress`` the signed distance driven along the centre line since the
    start (metres, negative when reversing), ``checkpoint`` the furthest checkpoint index
    reached, ``stall_clock`` the seconds since the last new checkpoint, ``crashed`` whether the
    last step ended against a wall, ``lane`` which strip of the corridor the car is in.
    """

    x: Any
    y: Any
    heading: Any
    speed: Any
    station: Any
    arc: Any
    progress: Any
    checkpoint: Any
    steps: Any
    stall_clock: Any
    crashed: Any
    lane: Any

    def take(self, idx) -> CarState:
        """The cars at indices (or slice) ``idx``."""
        return CarState(*(getattr(self, name)[idx] for name in _STATE_FIELDS))

    @staticmethod
    def concat(parts: list[CarState]) -> CarState:
        """One state holding the cars of ``parts`` in order."""
        if len(parts) == 1:
            return parts[0]
        xp = array_namespace(parts[0].x)
        return CarState(*(xp.concat([getattr(p, name) for p in parts]) for name in _STATE_FIELDS))

    def put(self, idx, other: CarState) -> None:
        """Overwrite the cars at ``idx`` with ``other``."""
        for name in _STATE_FIELDS:
            getattr(self, name)[idx] = getattr(other, name)


_STATE_FIELDS = tuple(f.name for f in fields(CarState))


@dataclass
class Sensors:
    """Per-car sensor settings: ray angles relative to the heading (radians) with their cosines
    and sines, each ``(n, n_rays)``; ``max_range`` ``(n, 1)`` in metres; ``max_speed`` ``(n,)``
    in m/s, which scales the speed reading; ``max_turn_rate`` ``(n,)`` in rad/s, which scales
    the turn-rate reading (used only with ``observe_turn_rate``)."""

    angles: Any
    cos: Any
    sin: Any
    max_range: Any
    max_speed: Any
    max_turn_rate: Any

    def take(self, idx) -> Sensors:
        """The sensor settings of the cars at indices (or slice) ``idx``; ``self`` for the full slice."""
        if isinstance(idx, slice) and idx == slice(None):
            return self
        return Sensors(*(getattr(self, f.name)[idx] for f in fields(Sensors)))

    @staticmethod
    def concat(parts: list[Sensors]) -> Sensors:
        """One set of sensor settings holding the cars of ``parts`` in order."""
        if len(parts) == 1:
            return parts[0]
        xp = array_namespace(parts[0].cos)
        return Sensors(*(xp.concat([getattr(p, f.name) for p in parts]) for f in fields(Sensors)))


def observation(distances, speed, turn_rate, sensors: Sensors):
    """The observation of ``n`` cars, the one place its layout is written.

    Parameters
    ----------
    distances : array, shape (n, n_rays)
        Wall distances along the rays, metres (at most ``max_range``).
    speed : array, shape (n,)
        m/s.
    turn_rate : array, shape (n,), or None
        Heading change per second, rad/s (positive turning left); None when not observed.
    sensors : Sensors
        The cars' scales.

    Returns
    -------
    float32 array, shape (n, n_rays + 1), or (n, n_rays + 2) with a turn rate
        ``[d_0 / max_range, ..., d_{n_rays-1} / max_range, speed / max_speed]``, then
        ``turn_rate / max_turn_rate`` clipped to [-1, 1] (the clip only absorbs rounding).
    """
    xp = array_namespace(distances)
    columns = [distances / sensors.max_range, (speed / sensors.max_speed)[:, None]]
    if turn_rate is not None:
        columns.append(xp.clip(turn_rate / sensors.max_turn_rate, -1.0, 1.0)[:, None])
    return xp.astype(xp.concat(columns, axis=1), xp.float32)


class StartJitter:
    """Each car's start jitter, three numbers in [-1, 1) per start, from the car's own generator.

    The compiled step restarts cars inside its kernel, which cannot call a NumPy generator, so it
    reads jitter drawn ahead (:meth:`fill`, :data:`JITTER_AHEAD` starts at a time); the NumPy path
    takes what was drawn ahead first and draws the rest when it needs it (:meth:`take`). Either
    way car ``k``'s starts use the same numbers of its generator in the same order, so both paths
    restart a car identically; only when the generator is advanced differs.
    """

    def __init__(self, n: int):
        self.values = np.zeros((n, JITTER_AHEAD, 3))
        self.used = np.full(n, JITTER_AHEAD, dtype=np.int64)  # JITTER_AHEAD: nothing left drawn ahead

    def forget(self, cars) -> None:
        """Cars ``cars`` have new generators: what was drawn ahead came from their old ones."""
        self.used[cars] = JITTER_AHEAD

    def fill(self, rngs: list[np.random.Generator]) -> None:
        """Draw ahead for every car that has no start's jitter left."""
        if self.used.max() < JITTER_AHEAD:
            return
        for k in np.flatnonzero(self.used == JITTER_AHEAD):
            self.values[k] = rngs[k].uniform(-1.0, 1.0, size=(JITTER_AHEAD, 3))
            self.used[k] = 0

    def take(self, idx: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        """The next start's jitter of cars ``idx`` (int array, shape (k,), distinct): an array of shape (k, 3)."""
        ahead = self.used[idx] < JITTER_AHEAD
        noise = np.empty((len(idx), 3))
        cars = idx[ahead]
        noise[ahead] = self.values[cars, self.used[cars]]
        self.used[cars] += 1
        for row in np.flatnonzero(~ahead):
            noise[row] = rngs[idx[row]].uniform(-1.0, 1.0, size=3)
        return noise


class CarSimulator:
    """``num_cars`` cars driving on one track, or each on its own; the physics of both environments.

    Parameters
    ----------
    track : str, Path or Track, or a list of them (one per car)
        A shipped track name, a JSON file, ``"random:SEED"``, ``"family:NAME:SEED"`` or a
        :class:`Track`; a list of ``num_cars`` puts car ``k`` on track ``k``.
    num_cars : int
    settings : CarSettings, optional
    continuous : bool, default=False
        Actions are ``(num_cars, 2)`` floats (steer, throttle) in [-1, 1] when True, else
        ``(num_cars,)`` integers indexing :data:`ACTION_NAMES`.
    autoreset_mode : gymnasium.vector.AutoresetMode, default=SAME_STEP
        When a finished car starts again: in the step that ends its episode (its last
        observation goes to ``info["final_obs"]``), in the next step (whose action it ignores),
        or never (it stays parked, reward 0, until :meth:`reset` with a mask).
    num_threads : int, default=1
        Split the cars over this many threads for the physics (NumPy releases the GIL in its
        array loops, so two cores step a large batch almost twice as fast).
    kernel : {"numpy", "compiled", "auto"}, default="numpy"
        ``compiled`` steps the cars with Numba (:mod:`annrl.envs.compiled`, ``annrl[fast]``), to the
        same numbers; ``auto`` does so when Numba is installed and there are at least
        :data:`~annrl.envs.compiled.AUTO_MIN_CARS` cars. Settings the kernel does not cover (see
        :func:`~annrl.envs.compiled.why_not`) step with NumPy; :attr:`kernel_used` says which ran last.
    """

    def __init__(
        self,
        track: str | Track,
        num_cars: int,
        settings: CarSettings | None = None,
        *,
        continuous: bool = False,
        autoreset_mode: AutoresetMode = AutoresetMode.SAME_STEP,
        num_threads: int = 1,
        extra_actions: tuple[str, ...] = (),
        kernel: str = "numpy",
    ):
        if isinstance(num_cars, bool) or not isinstance(num_cars, (int, np.integer)) or num_cars < 1:
            raise InputError(f"num_envs must be a positive integer, got {num_cars!r}")
        if not isinstance(num_threads, int) or num_threads < 1:
            raise InputError(f"num_threads must be a positive integer, got {num_threads!r}")
        self.n = int(num_cars)
        self.car_tracks = _per_car_tracks(track, self.n)
        self.settings = settings or CarSettings()
        self.continuous = bool(continuous)
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self._build_tables(self.settings)
        self.xp = np
        self._set_parameters()
        self._set_actions(extra_actions)
        self.noise_rng: np.random.Generator | None = None  # sensor noise and dropout draw from it
        self.state: CarState | None = None
        self.rngs: list[np.random.Generator] = []
        self.jitter = StartJitter(self.n)
        self.pending = np.zeros(self.n, dtype=bool)  # NEXT_STEP: reset at the next step
        self.parked = np.zeros(self.n, dtype=bool)  # DISABLED: finished, waiting for reset
        self.last_flags = (np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=bool))
        self.num_threads = num_threads
        self.one_car = OneCar(self) if self.n == 1 else None  # one car steps on Python floats
        self._pool = ThreadPoolExecutor(num_threads) if num_threads > 1 and self.n >= 2 * MIN_CARS_PER_THREAD else None
        self.compiled = compiled.for_simulator(self, kernel)  # None: every step takes the NumPy path
        self.kernel_used = "numpy"

    @property
    def n_rays(self) -> int:
        return self.settings.n_rays

    @property
    def n_obs(self) -> int:
        """Observation length: one normalised distance per ray, the normalised speed, then the
        normalised turn rate when ``observe_turn_rate`` (see :func:`observation`)."""
        return self.settings.n_obs

    @property
    def track(self) -> Track:
        """Car 0's track (every car's, unless the cars drive different tracks)."""
        return self.car_tracks[0]

    @property
    def mixed(self) -> bool:
        """Whether the cars drive more than one track."""
        return self.stack.mixed

    def _build_tables(self, s: CarSettings) -> None:
        distinct = list(dict.fromkeys(self.car_tracks))
        for track in distinct:
            check_drivable(track, s)
            _check_start_clearance(track, s)
        self._max_step = s.max_speed * s.dt
        tables = [build_tables(t, max_range=s.max_range, reach=s.car_radius, max_step=self._max_step)
                  for t in distinct]
        self.stack = TrackStack(tables, [distinct.index(t) for t in self.car_tracks], self.car_tracks)
        self.tables, self.tab = tables[0], self.stack.tab
        self.lap_length = self.stack.lap_length
        self.checkpoint_length = self.lap_length / s.n_checkpoints

    def _set_parameters(self) -> None:
        """Per-car copies of the physical settings, so that later code may vary them per car.

        They are rows of one block, in the order the compiled step reads them
        (:func:`annrl.envs.compiled.parameter_block`), which then reads them where they are, changed
        in place or not, instead of copying them every step.
        """
        s, n = self.settings, self.n
        block = self.parameter_block = np.empty((compiled.PER_CAR_ROWS, n))
        for row, value in ((compiled.MAX_SPEED, s.max_speed), (compiled.ACCEL, s.accel), (compiled.BRAKE, s.brake),
                           (compiled.DRAG, s.drag), (compiled.STEER_GAIN, s.steer_gain), (compiled.GRIP, s.grip),
                           (compiled.RADIUS, s.car_radius), (compiled.MAX_RANGE, s.max_range)):
            block[row] = value
        self.dynamics = physics.Dynamics(
            max_speed=block[compiled.MAX_SPEED],
            accel=block[compiled.ACCEL],
            brake=block[compiled.BRAKE],
            drag=block[compiled.DRAG],
            steer_gain=block[compiled.STEER_GAIN],
            grip=block[compiled.GRIP],
        )
        self.car_radius = block[compiled.RADIUS]
        angles = np.tile(np.array(s.ray_angles()), (n, 1))
        self.sensors = Sensors(angles=angles, cos=np.cos(angles), sin=np.sin(angles),
                               max_range=block[compiled.MAX_RANGE][:, None], max_speed=self.dynamics.max_speed,
                               max_turn_rate=np.full(n, s.max_turn_rate))
        self.parameter_rows = compiled.parameter_rows(self)  # the views above, to tell when one is replaced

    # ------------------------------------------------------- changes mid-run
    def set_settings(self, settings: CarSettings) -> None:
        """Switch every car to new settings; the next step uses them, the cars keep their state.

        Derived constants (steering gain, ray directions, checkpoint spacing) are recomputed; the
        wall tables are rebuilt (cached per track) only when the sensor range or the car's size
        changes, or a step may now move a car further than the tables allow for.

        Raises
        ------
        ValueError
            When ``n_rays`` or ``observe_turn_rate`` changes (they fix the observation space) or
            the start becomes too close to the walls.
        """
        old = self.settings
        for name in ("n_rays", "observe_turn_rate"):
            if getattr(settings, name) != getattr(old, name):
                raise InputError(f"{name} fixes the observation space and cannot change mid-run "
                                 f"({getattr(old, name)} -> {getattr(settings, name)}); make a new environment instead")
        sized_for = (old.max_range, old.car_radius)
        # Tables built for longer steps stay valid for shorter ones (they only search further).
        if (settings.max_range, settings.car_radius) != sized_for or settings.max_speed * settings.dt > self._max_step:
            self._build_tables(settings)
        else:
            for track in dict.fromkeys(self.car_tracks):
                check_drivable(track, settings)
                _check_start_clearance(track, settings)
        self.settings = settings
        self.checkpoint_length = self.lap_length / settings.n_checkpoints
        self._set_parameters()

    def set_track(self, track: str | Track | list, mask: np.ndarray | None = None) -> None:
        """Move cars to other tracks; the moved cars of a running batch restart there at once (same generators).

        Parameters
        ----------
        track : str, Path or Track, or a list of them
            One track for every moved car, or one per moved car (in car order).
        mask : bool array, shape (num_cars,), optional
            The cars to move; all of them when omitted.
        """
        moved = np.ones(self.n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if moved.shape != (self.n,):
            raise InputError(f"set_track mask must be a bool array of shape ({self.n},), got shape {moved.shape}")
        new = _per_car_tracks(track, int(moved.sum()))
        old_local = None if self.state is None else self.stack.local(self.state.station)
        tracks = list(self.car_tracks)
        for k, t in zip(np.nonzero(moved)[0], new, strict=True):
            tracks[k] = t
        self.car_tracks = tracks
        self._build_tables(self.settings)
        if self.state is None:
            return
        if moved.all():
            self.reset(self.rngs)
            return
        self.state.station = self.stack.base + old_local  # the others keep their place in the new stack
        self.reset(self.rngs, moved)

    def _set_actions(self, extra_actions: tuple[str, ...]) -> None:
        unknown = [a for a in extra_actions if a not in EXTRA_CONTROLS]
        if unknown or len(set(extra_actions)) != len(extra_actions):
            raise InputError(f"extra_actions must be distinct names from {sorted(EXTRA_CONTROLS)}, "
                             f"got {list(extra_actions)}")
        self.action_names = ACTION_NAMES + tuple(extra_actions)
        self._all_controls = np.vstack([DISCRETE_CONTROLS, *[[EXTRA_CONTROLS[a]] for a in extra_actions]])
        self.action_mask = np.arange(len(self.action_names)) < len(ACTION_NAMES)
        self._update_controls()

    def enable_actions(self, names, enabled: bool = True) -> None:
        """Make extra discrete actions (given at construction) available, or no-ops again."""
        for name in [names] if isinstance(names, str) else list(names):
            if name not in self.action_names[len(ACTION_NAMES):]:
                raise InputError(f"{name!r} is not an extra action of this environment; "
                                 f"it has {list(self.action_names[len(ACTION_NAMES):])}")
            self.action_mask[self.action_names.index(name)] = enabled
        self._update_controls()

    def _update_controls(self) -> None:
        """Disabled actions steer and throttle like "straight" (a no-op), so any index is safe."""
        self.controls = np.where(self.action_mask[:, None], self._all_controls, DISCRETE_CONTROLS[NO_OP])

    # ------------------------------------------------------------------ reset
    def reset(self, rngs: list[np.random.Generator], mask: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """Put cars (all, or those where ``mask`` is True) at the start, jittered by their RNG.

        Parameters
        ----------
        rngs : list of numpy.random.Generator, length num_cars
            One generator per car; kept for the automatic resets that follow.
        mask : bool array, shape (num_cars,), optional

        Returns
        -------
        obs : array, shape (num_cars, n_obs)
        info : dict of arrays, shape (num_cars,)
        """
        if len(rngs) != self.n:
            raise InputError(f"reset needs one generator per car ({self.n}), got {len(rngs)}")
        replaced = [k for k in range(self.n) if not self.rngs or rngs[k] is not self.rngs[k]]
        self.jitter.forget(replaced)
        self.rngs = list(rngs)
        if mask is None or self.state is None:
            # A child of car 0's generator: seeded with it, yet drawing nothing from it.
            self.noise_rng = self.rngs[0].spawn(1)[0]
            self.state = self._start_states(np.arange(self.n))
            self.obs = self._observe(self.state, self._sensors(slice(None)))
            self.pending[:] = False
            self.parked[:] = False
        else:
            idx = np.nonzero(mask)[0]
            self._restart(idx)
            self.pending[idx] = False
            self.parked[idx] = False
        return self._disturb(self.obs), self.info(self.state)

    def _start_states(self, idx: np.ndarray) -> CarState:
        """Fresh states for cars ``idx``: the track's start pose plus each car's own jitter."""
        s, start = self.settings, self.stack.start
        noise = self.jitter.take(idx, self.rngs)
        along, across = s.start_jitter * noise[:, 0], s.start_jitter * noise[:, 1]
        x0, y0, h0, cos0, sin0 = (column[idx] for column in start)
        x = x0 + along * cos0 - across * sin0
        y = y0 + along * sin0 + across * cos0
        heading = physics.wrap_angle(h0 + math.radians(s.start_heading_jitter_deg) * noise[:, 2])
        return self._state_at(x, y, heading, np.zeros(len(idx)), self.stack.start_station[idx], idx)

    def _state_at(self, x, y, heading, speed, station, idx=slice(None)) -> CarState:
        """A state at rest on the clock and the course: tracked from ``station``, nothing driven yet."""
        if self.compiled is not None and compiled.why_not(self) is None:
            cars = np.arange(self.n)[idx]
            station, arc, lane = self.compiled.locate(x, y, station, cars)
        else:
            station, arc, lateral = physics.locate(x, y, station, self.tab, self.stack.window, self.stack.cars(idx))
            lane = physics.lane_of(station, lateral, self.tab)
        n = len(x)
        return CarState(x=x, y=y, heading=heading, speed=speed, station=station, arc=arc,
                        progress=np.zeros(n), checkpoint=np.zeros(n, dtype=np.int64),
                        steps=np.zeros(n, dtype=np.int64), stall_clock=np.zeros(n),
                        crashed=np.zeros(n, dtype=bool), lane=lane)

    def _restart(self, idx: np.ndarray) -> None:
        """Reset cars ``idx`` in place, observation included (outside ``step``)."""
        if len(idx) == 0:
            return
        fresh = self._start_states(idx)
        self.state.put(idx, fresh)
        self.obs[idx] = self._observe(fresh, self._sensors(idx))

    def place(self, x, y, heading, speed=None) -> np.ndarray:
        """Put every car at a given pose (metres, radians, m/s) and return its observation.

        For tests, demos and hand-made starts: each car is tracked to its nearest centre-line
        segment by a full search, and its progress counts from there.

        Parameters
        ----------
        x, y, heading : array-like, shape (num_cars,)
        speed : array-like, shape (num_cars,), optional
            Zero by default.

        Returns
        -------
        obs : array, shape (num_cars, n_obs)
        """
        x, y, heading = (np.broadcast_to(np.asarray(v, dtype=float), (self.n,)).copy() for v in (x, y, heading))
        speed = np.zeros(self.n) if speed is None else np.broadcast_to(np.asarray(speed, dtype=float), (self.n,)).copy()
        station = np.zeros(self.n, dtype=np.int64)
        for t, cars in self.stack.groups():
            a, b = t.station_xy, t.station_xy + t.station_dir
            points = np.column_stack([x[cars], y[cars]])
            station[cars] = self.stack.base[cars] + np.argmin(geometry.distance_to_segments(points, a, b), axis=1)
        self.state = self._state_at(x, y, physics.wrap_angle(heading), speed, station)
        self.obs = self._observe(self.state, self._sensors(slice(None)))
        self.pending[:] = False
        self.parked[:] = False
        if not self.rngs:
            self.rngs = [np.random.default_rng(k) for k in range(self.n)]
            self.jitter.forget(slice(None))
        return self.obs.copy()

    def sense(self) -> np.ndarray:
        """Wall distances in metres along every ray of every car, ``(num_cars, n_rays)``."""
        return self.obs[:, : self.n_rays].astype(np.float64) * self.sensors.max_range

    # ------------------------------------------------------------------- step
    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Advance every car by one time step.

        Parameters
        ----------
        actions : array, shape (num_cars,) of ints, or (num_cars, 2) of floats when continuous

        Returns
        -------
        obs : float32 array, shape (num_cars, n_obs)
        reward : float array, shape (num_cars,)
        terminated, truncated : bool arrays, shape (num_cars,)
        info : dict of arrays, shape (num_cars,)
            ``laps``, ``progress``, ``crashed``, ``success``, ``checkpoints``; with SAME_STEP
            autoreset also ``final_obs`` (num_cars, n_obs), ``final_info`` and masks.
        """
        if self.state is None:
            raise RuntimeError("call reset before step")
        if self.takes_scalar_path():
            return self.one_car.step(actions)
        self.kernel_used = "compiled" if self.compiled is not None and compiled.why_not(self) is None else "numpy"
        if self.kernel_used == "compiled" and self.autoreset_mode is not AutoresetMode.DISABLED:
            return self._step_compiled(actions)
        steer, throttle = self._controls(actions)
        old = self.state
        if self.kernel_used == "compiled":
            moved, sensed, reward, terminated, truncated = self.compiled.move(old, steer, throttle)
        else:
            moved = CarState.concat(self._map(lambda sl: self._move(old, steer, throttle, sl), self.n))
            reward, terminated, truncated = self._score(old, moved)
            sensed = None
        finish = {AutoresetMode.SAME_STEP: self._finish_same_step, AutoresetMode.NEXT_STEP: self._finish_next_step,
                  AutoresetMode.DISABLED: self._finish_disabled}[self.autoreset_mode]
        obs, reward, terminated, truncated, info = finish(old, moved, reward, terminated, truncated, sensed)
        self.state, self.obs = moved, obs
        self.last_flags = (terminated, truncated)
        return self._disturb(obs), reward, terminated, truncated, info

    def _step_compiled(self, actions):
        """:meth:`step` in one compiled call (NEXT_STEP and SAME_STEP): controls, physics, rays, rewards, the
        restarts (with jitter drawn ahead, see :class:`StartJitter`) and the info arrays."""
        table, choice = self._control_table(actions)
        same_step = self.autoreset_mode is AutoresetMode.SAME_STEP
        self.jitter.fill(self.rngs)
        out = self.compiled.step(self.state, table, choice, compiled.SAME_STEP if same_step else compiled.NEXT_STEP)
        if isinstance(out, int):
            self._controls(actions)  # raises, naming the actions out of range
            raise InputError(f"the discrete action of car {out} names no action")  # (what _controls checks too)
        moved, obs, reward, terminated, truncated, info, final = out
        if same_step:
            done = terminated | truncated
            if done.any():
                info.update(final_obs=self._disturb(final[0]), _final_obs=done, final_info=final[1], _final_info=done)
        else:
            if self.settings.disturbed_sensors and self.pending.any():
                self._disturb(obs)  # draws the sensor noise _finish_next_step draws
            self.pending = terminated | truncated
        self.state, self.obs = moved, obs
        self.last_flags = (terminated, truncated)
        return self._disturb(obs), reward, terminated, truncated, info

    def _control_table(self, actions) -> tuple[np.ndarray, np.ndarray]:
        """``(table, choice)``: car ``i`` steers and throttles by ``table[choice[i]]``, the steering bias applied.
        Discrete actions index the controls (the kernel checks their range); continuous ones are their own row."""
        shape = getattr(actions, "shape", None)
        if self.continuous or shape != (self.n,) or not np.issubdtype(actions.dtype, np.integer):
            return np.stack(self._controls(actions), axis=1), np.arange(self.n)
        table = self.controls if self.settings.steer_bias == 0.0 else np.stack(self._biased(self.controls), axis=1)
        return table, actions.astype(np.int64, copy=False)

    def takes_scalar_path(self) -> bool:
        """Whether the next step runs on Python floats (:mod:`annrl.envs.fast_single`) instead of arrays
        (which alone observe the turn rate)."""
        return self.one_car is not None and self.one_car.applies() and not self.settings.observe_turn_rate

    # Each autoreset mode finishes a step on its own: from the moved cars (``moved``, updated in place)
    # and their rewards and ends, the true observations, rewards, ends and info the step returns; ``sensed``
    # is the moved cars' observations when the compiled step has taken them already (else None; only
    # DISABLED, as the compiled step of the other modes restarts cars itself: see _step_compiled).
    def _finish_same_step(self, old, moved, reward, terminated, truncated, sensed=None):
        """SAME_STEP: cars whose episode ends restart at once; ``info`` keeps their final observation."""
        done = terminated | truncated
        idx = self._where(done)
        obs, fresh, fresh_obs = self._sense(old, moved, idx, sensed)
        info = self.info(moved)
        if idx is None:
            return obs, reward, terminated, truncated, info
        final = {"final_obs": self._disturb(obs), "_final_obs": done, "final_info": info, "_final_info": done}
        moved.put(idx, fresh)
        obs[idx] = fresh_obs
        return obs, reward, terminated, truncated, {**self.info(moved), **final}

    def _finish_next_step(self, old, moved, reward, terminated, truncated, sensed=None):
        """NEXT_STEP: the cars that ended last step restart now, earning nothing and ending nothing."""
        restart = self.pending
        idx = self._where(restart)
        obs, fresh, fresh_obs = self._sense(old, moved, idx, sensed)
        if idx is not None:
            self._disturb(obs)  # draws sensor noise it does not use: kept, so that noisy runs replay as before
            moved.put(idx, fresh)
            obs[idx] = fresh_obs
            reward = array_namespace(reward).where(restart, 0.0, reward)
            terminated, truncated = terminated & ~restart, truncated & ~restart
        self.pending = terminated | truncated
        return obs, reward, terminated, truncated, self.info(moved)

    def _finish_disabled(self, old, moved, reward, terminated, truncated, sensed=None):
        """DISABLED: finished cars stay parked where they stopped, their observation frozen, until reset."""
        parked = self.parked
        moved, reward, terminated, truncated = self._hold_parked(old, moved, reward, terminated, truncated)
        obs = self._sense(old, moved, None, sensed)[0]
        xp = array_namespace(obs)
        if bool(xp.any(parked)):
            obs = xp.where(parked[:, None], self.obs, obs)
        return obs, reward, terminated, truncated, self.info(moved)

    @staticmethod
    def _where(mask):
        """The indices where ``mask`` is True, or None when there are none."""
        xp = array_namespace(mask)
        return xp.nonzero(mask)[0] if bool(xp.any(mask)) else None

    def _sense(self, old: CarState, moved: CarState, idx, sensed=None):
        """Observations ``(n, n_obs)`` of the cars moved from ``old`` and, for cars ``idx`` (or None), fresh starts.

        Restarted cars are sensed in the same pass as the others: one ray cast per step. Returns
        the observations, then the fresh states of cars ``idx`` and their observations (None, None
        when ``idx`` is None). ``sensed``: the moved cars' observations, already taken by the compiled step.
        """
        if sensed is not None:  # (DISABLED autoreset: nothing restarts in a step)
            return sensed, None, None
        batch = moved if idx is None else CarState.concat([moved, self._start_states(idx)])
        sensors = self._sensors(slice(None)) if idx is None else self._sensors(slice(None), idx)
        xp = array_namespace(batch.x)
        turn = None
        if self.settings.observe_turn_rate:  # a fresh start has not turned yet
            turn = physics.wrap_angle(moved.heading - old.heading) / self.settings.dt
            turn = turn if idx is None else xp.concat([turn, xp.zeros(idx.shape[0], dtype=turn.dtype)])
        obs_all = xp.concat(self._map(lambda sl: self._observe(batch.take(sl), sensors.take(sl),
                                                               None if turn is None else turn[sl]),
                                      batch.x.shape[0]))
        if idx is None:
            return obs_all[: self.n], None, None
        return obs_all[: self.n], batch.take(slice(self.n, None)), obs_all[self.n :]

    def _map(self, work, n: int) -> list:
        """``work(slice)`` over ``n`` cars: in one call, or split over the thread pool."""
        chunks = max(1, min(self.num_threads, n // MIN_CARS_PER_THREAD))
        if chunks == 1 or self._pool is None:
            return [work(slice(None))]
        bounds = [round(i * n / chunks) for i in range(chunks + 1)]
        return list(self._pool.map(work, [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]))

    def _sensors(self, cars, extra=None) -> Sensors:
        """The sensor settings of cars ``cars`` (slice or indices), then of ``extra`` if given."""
        parts = [self.sensors.take(cars)] + ([] if extra is None else [self.sensors.take(extra)])
        return Sensors.concat(parts)

    def _controls(self, actions):
        """Steer and throttle arrays ``(n,)`` from a batch of actions (checked: shape, kind, range)."""
        xp = array_namespace(actions)
        shape = tuple(actions.shape)
        if self.continuous:
            if shape != (self.n, 2) or not xp.isdtype(actions.dtype, "real floating"):
                raise InputError(
                    f"continuous actions must be floats of shape ({self.n}, 2), got {actions.dtype} {shape}"
                )
            nan = xp.isnan(actions)
            if bool(xp.any(nan)):  # a clip cannot place NaN; it would fill the car's state with NaN
                cars = sorted({int(k) for k in xp.nonzero(xp.any(nan, axis=1))[0]})
                raise InputError(f"continuous actions must be numbers, got NaN for car{'s' * (len(cars) > 1)} "
                                 f"{', '.join(map(str, cars[:5]))}{' ...' if len(cars) > 5 else ''}")
            controls = xp.clip(xp.astype(actions, xp.float64), -1.0, 1.0)
        else:
            if shape != (self.n,) or not xp.isdtype(actions.dtype, "integral"):
                raise InputError(f"discrete actions must be integers of shape ({self.n},), got {actions.dtype} {shape}")
            low, high = int(xp.min(actions)), int(xp.max(actions))
            if low < 0 or high >= self.controls.shape[0]:
                raise InputError(f"discrete actions must lie in [0, {self.controls.shape[0] - 1}], got {low}..{high}")
            controls = xp.take(self.controls, actions, axis=0)
        return self._biased(controls)

    def _biased(self, controls) -> tuple[Any, Any]:
        """Steer and throttle ``(k,)`` from rows of controls ``(k, 2)``, the steering bias added to the steer."""
        steer = controls[:, 0]
        if self.settings.steer_bias != 0.0:
            steer = array_namespace(steer).clip(steer + self.settings.steer_bias, -1.0, 1.0)
        return steer, controls[:, 1]

    def _disturb(self, obs):
        """A copy of ``obs`` as the agent sees it: with sensor noise and dropout when they are set.

        Noise is Gaussian with standard deviation ``sensor_noise`` (in units of max_range), the
        readings clipped back to [0, 1]; then each ray reads 0 with probability ``sensor_dropout``.
        The speed reading is left exact. The true readings stay in ``self.obs``.
        """
        xp = array_namespace(obs)
        out = xp.asarray(obs, copy=True)
        s = self.settings
        if not s.disturbed_sensors:
            return out
        if self.noise_rng is None:
            self.noise_rng = np.random.default_rng(0)
        rays = out[:, : self.n_rays]
        if s.sensor_noise > 0.0:
            rays = np.clip(rays + self.noise_rng.normal(0.0, s.sensor_noise, rays.shape), 0.0, 1.0)
        if s.sensor_dropout > 0.0:
            rays = np.where(self.noise_rng.random(rays.shape) < s.sensor_dropout, 0.0, rays)
        out[:, : self.n_rays] = rays
        return out

    def _move(self, old: CarState, steer, throttle, sl) -> CarState:
        """Physics for the cars in slice ``sl``: drive, track along the centre line, detect crashes."""
        dyn = self.dynamics if sl == slice(None) else physics.Dynamics(
            **{f.name: getattr(self.dynamics, f.name)[sl] for f in fields(self.dynamics)}
        )
        x, y, heading, speed = physics.advance(
            old.x[sl], old.y[sl], old.heading[sl], old.speed[sl], steer[sl], throttle[sl], dyn, self.settings.dt
        )
        station, arc, lateral = physics.locate(x, y, old.station[sl], self.tab, self.stack.window, self.stack.cars(sl))
        crashed = physics.wall_clearance(x, y, station, self.tab) <= self.car_radius[sl]
        return CarState(x=x, y=y, heading=heading, speed=speed, station=station, arc=arc,
                        progress=old.progress[sl], checkpoint=old.checkpoint[sl], steps=old.steps[sl] + 1,
                        stall_clock=old.stall_clock[sl], crashed=crashed,
                        lane=physics.lane_of(station, lateral, self.tab))

    def _observe(self, state: CarState, sensors: Sensors, turn_rate=None):
        """Observations ``(len(state), n_obs)`` (see :func:`observation`); ``turn_rate`` ``(len(state),)`` in
        rad/s, zero where not given (a car just placed), read only with ``observe_turn_rate``."""
        dist = physics.cast_rays(
            state.x, state.y, state.heading, state.station, state.lane,
            sensors.cos, sensors.sin, sensors.angles, sensors.max_range, self.tab,
        )
        if not self.settings.observe_turn_rate:
            turn_rate = None
        elif turn_rate is None:
            turn_rate = array_namespace(state.speed).zeros_like(state.speed)
        return observation(dist, state.speed, turn_rate, sensors)

    def _score(self, old: CarState, new: CarState):
        """Progress reward and episode ends; updates ``new``'s progress bookkeeping in place."""
        xp = array_namespace(new.arc)
        c = physics.score_constants(self.settings, self.lap_length)
        new.progress, new.checkpoint, new.stall_clock, reward, terminated, truncated = physics.score(
            old.arc, new.arc, old.progress, old.checkpoint, old.stall_clock, new.crashed, new.steps, c, xp,
            old.checkpoint.dtype)
        return reward, terminated, truncated

    def _hold_parked(self, old, moved, reward, terminated, truncated):
        """DISABLED autoreset: finished cars stay where they stopped, earning nothing."""
        xp = array_namespace(reward)
        parked = self.parked
        if bool(xp.any(parked)):
            for name in _STATE_FIELDS:
                setattr(moved, name, xp.where(parked, getattr(old, name), getattr(moved, name)))
            reward = xp.where(parked, 0.0, reward)
            terminated = xp.where(parked, self.last_flags[0], terminated)
            truncated = xp.where(parked, self.last_flags[1], truncated)
        self.parked = parked | terminated | truncated
        return moved, reward, terminated, truncated

    def info(self, state: CarState) -> dict[str, np.ndarray]:
        """Per-car episode facts: laps done, course fraction done, crash and success flags."""
        xp = array_namespace(state.progress)
        laps, fraction, success = physics.episode_info(state.progress, self.lap_length, self.settings.laps, xp)
        return {
            "laps": xp.astype(laps, xp.int64),
            "progress": fraction,
            "checkpoints": xp.asarray(state.checkpoint, copy=True),
            "crashed": xp.asarray(state.crashed, copy=True),
            "success": success,
        }

    def close(self) -> None:
        """Shut down the worker threads, if any; the simulator can still step on one thread afterwards."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


class TrackStack:
    """The lookup tables of the cars' tracks as one set of arrays, and each car's place in it.

    One track: its own tables, untouched. Several: their stations, lanes, crash and ray tables
    are concatenated (candidate lists padded by repeating their own entries, which leaves every
    minimum unchanged), and a car's station counts from its track's first row. Tracking searches
    the widest window of all tracks, with the offsets beyond a car's own window made infinitely
    far, so every car follows exactly the stations it would follow alone.

    Attributes
    ----------
    tab : StepTables
    mixed : bool
        Whether there are several tracks (else the per-car arrays below are only bookkeeping).
    base, m : int arrays, shape (n,)
        Each car's first station in the stack and its track's station count.
    lap_length : float, or array (n,) when mixed
    start_station : int array, shape (n,)
    start : tuple of five float arrays, shape (n,)
        Start x, y, heading and the heading's cosine and sine, per car.
    window : int
        Stations searched either side when tracking (the widest track's).
    """

    def __init__(self, tables: list[TrackTables], which: list[int], car_tracks: list[Track]):
        self.tables, self.mixed = tables, len(tables) > 1
        self.which = np.asarray(which, dtype=np.int64)
        counts = np.array([t.n_stations for t in tables], dtype=np.int64)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.base, self.m = first[self.which], counts[self.which]
        self.start_station = self.base + np.array([t.start_station for t in tables], dtype=np.int64)[self.which]
        # Cosines from math, once per track: exactly the numbers a car alone on its track gets.
        poses = [(*t.start, math.cos(t.start[2]), math.sin(t.start[2])) for t in car_tracks]
        self.start = tuple(np.array(column, dtype=np.float64) for column in zip(*poses, strict=True))
        self.window = max(t.window for t in tables)
        if not self.mixed:
            self.tab, self.lap_length = _step_tables(tables[0]), tables[0].length
            return
        self.tab, block_first = _stacked_step_tables(tuple(tables))
        self.lap_length = np.array([t.length for t in tables])[self.which]
        self.row0 = (block_first - first)[self.which]
        own = np.array([t.window for t in tables])[self.which]
        offsets = np.arange(-self.window, self.window + 1)
        beyond = np.abs(offsets)[:, None] > own[None, :]
        self.far = np.where(beyond, np.inf, 0.0) if beyond.any() else None

    def cars(self, idx) -> dict[str, Any] | None:
        """What :func:`physics.locate <annrl.envs.physics.locate>` needs of cars ``idx`` on stacked tracks
        (None for one track)."""
        if not self.mixed:
            return None
        return {"base": self.base[idx], "m": self.m[idx], "row0": self.row0[idx],
                "far": None if self.far is None else self.far[:, idx]}

    def local(self, station: np.ndarray) -> np.ndarray:
        """Stations ``(n,)`` counted from each car's own track's first one."""
        return station - self.base

    def groups(self):
        """``(tables, car indices)`` for each track."""
        for i, tables in enumerate(self.tables):
            yield tables, np.nonzero(self.which == i)[0]


def _per_car_tracks(track, n: int) -> list[Track]:
    """One loaded :class:`Track` per car, from one track or a list of ``n``."""
    if isinstance(track, (list, tuple)):
        if len(track) != n:
            raise InputError(f"track must be one track or a list of one per car ({n}), got a list of {len(track)}",
                             field="track")
        return [load_track(t) for t in track]
    return [load_track(track)] * n


@functools.lru_cache(maxsize=2)  # a stack of many tracks is large, and a training run rarely repeats one
def _stacked_step_tables(tables: tuple[TrackTables, ...]) -> tuple[Mapping[str, Any], np.ndarray]:
    """The :class:`~annrl.envs.physics.StepTables` of several tracks stacked, and where each track's
    block of wrapped station rows starts."""
    if len({(t.n_lanes, t.n_sectors) for t in tables}) > 1:
        raise InputError("tracks stacked in one simulator must share n_lanes and n_sectors")
    w = max(t.window for t in tables)
    offsets = np.arange(-w, w + 1)
    stations = [np.column_stack([t.station_xy, t.station_dir, t.station_len2, np.sqrt(t.station_len2),
                                 t.station_arc]) for t in tables]
    blocks = [physics.wrapped_stations(st, offsets) for st in stations]  # w <= 16 <= M: one wrap suffices
    block_first = np.concatenate([[0], np.cumsum([len(st) + 2 * w for st in stations])[:-1]])
    joined = {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0] if name != "window_rows"}

    def stacked(name: str) -> np.ndarray:
        parts = [getattr(t, name) for t in tables]
        if parts[0].ndim == 1:
            return np.concatenate(parts)
        k = max(p.shape[1] for p in parts)  # lists repeat their own entries up to the longest
        # C order: indexing the second axis hands back a Fortran-ordered copy, whose rows gather slowly.
        return np.ascontiguousarray(np.concatenate([p[:, np.arange(k) % p.shape[1]] for p in parts]))

    rays = types.SimpleNamespace(**{f"ray_{c}": stacked(f"ray_{c}") for c in ("ax", "ay", "dx", "dy", "count")})
    tab = physics.StepTables(
        stations=np.concatenate(stations), offsets=offsets, window_rows=offsets + w, **joined,
        lane_lo=stacked("lane_lo"), lane_width=stacked("lane_width"),
        n_lanes=tables[0].n_lanes, n_sectors=tables[0].n_sectors,
        **{f"crash_{c}": stacked(f"crash_{c}") for c in ("ax", "ay", "dx", "dy", "inv_len2")},
        ray_count=rays.ray_count, **_compact_tails(_ray_tables(rays), rays.ray_count),
    )
    return types.MappingProxyType(tab), block_first


def _compact_tails(ray: dict[str, np.ndarray], count: np.ndarray) -> dict[str, np.ndarray]:
    """The ``tail_*`` tables cut to the cells that use them, with ``tail_row`` (cells,) pointing there.

    Stacked tracks pad every list to the longest of all, so full tails would hold mostly padding.
    """
    if "tail_ax" not in ray:
        return ray
    long = count > ray["ray_ax"].shape[1]
    out = {**ray, "tail_row": np.cumsum(long) - 1}
    for name in ("ax", "ay", "dx", "dy"):
        out[f"tail_{name}"] = np.ascontiguousarray(ray[f"tail_{name}"][long])
    return out


@functools.lru_cache(maxsize=32)
def _step_tables(t: TrackTables) -> Mapping[str, Any]:
    """The :class:`~annrl.envs.physics.StepTables` the batch physics reads, derived from a track's tables once
    and shared, read-only, by every simulator on them (a thousand single-car environments would otherwise hold
    a thousand copies)."""
    stations = np.column_stack([t.station_xy, t.station_dir, t.station_len2, np.sqrt(t.station_len2),
                                t.station_arc])
    offsets = np.arange(-t.window, t.window + 1)
    tab = physics.StepTables(
        stations=stations, offsets=offsets, **physics.wrapped_stations(stations, offsets),
        lane_lo=t.lane_lo, lane_width=t.lane_width, n_lanes=t.n_lanes, n_sectors=t.n_sectors,
        crash_ax=t.crash_ax, crash_ay=t.crash_ay, crash_dx=t.crash_dx, crash_dy=t.crash_dy,
        crash_inv_len2=t.crash_inv_len2, ray_count=t.ray_count, **_ray_tables(t),
    )
    return types.MappingProxyType(tab)


def _ray_tables(t: TrackTables) -> dict[str, np.ndarray]:
    """``ray_*``: the first candidates of every cell, in :data:`RAY_DTYPE`; ``tail_*``: the rest, if any."""
    head = _head_length(t.ray_count, t.ray_ax.shape[1])
    out = {}
    for name in ("ax", "ay", "dx", "dy"):
        table = getattr(t, f"ray_{name}").astype(RAY_DTYPE)
        out[f"ray_{name}"] = np.ascontiguousarray(table[:, :head])
        if head < table.shape[1]:
            out[f"tail_{name}"] = np.ascontiguousarray(table[:, head:])
    return out


def _head_length(count: np.ndarray, k: int) -> int:
    """How many candidates every ray tries at once; rays with longer lists try the rest after.

    Chosen to minimise the expected work per ray, ``head + P(count > head) * (k - head)`` plus a
    small charge for the second pass, with the cells' list lengths as the distribution.
    """
    costs = [h + np.mean(count > h) * (k - h) + (0.5 if h < k else 0.0) for h in range(1, k + 1)]
    return int(np.argmin(costs)) + 1


def _check_start_clearance(track: Track, s: CarSettings) -> None:
    """The jittered start must leave the car clear of the walls."""
    a, b = track.wall_segments()
    clearance = float(geometry.distance_to_segments(np.array([track.start[:2]]), a, b).min())
    needed = s.car_radius + s.start_jitter * math.sqrt(2.0)
    if clearance <= needed:
        raise InputError(
            f"track {track.source!r}: start must be more than car_radius + start_jitter * sqrt(2) = "
            f"{needed:.2f} m from the walls, got {clearance:.2f} m"
        )
