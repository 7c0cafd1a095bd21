"""One car stepped on Python floats: the kernels of :mod:`annrl.envs.physics`, without arrays.

A batch of one pays NumPy's call overhead (about half a microsecond) some 150 times a step, far
more than the arithmetic. :class:`OneCar` runs the very same kernels (``advance``, ``project``,
``segment_d2``, ``ray_miss``, ``score``, ...) with :data:`~annrl.envs.physics.SCALAR` as their
namespace, looping over the few candidates a car has instead of gathering them into arrays. IEEE
arithmetic gives the same numbers either way: trajectories, rewards and observations match the
batch path to the last bit (``tests/envs/test_car_fast_single.py`` checks it on random rollouts).

:class:`~annrl.envs.core.CarSimulator` hands its step to a :class:`OneCar` when it holds one car
whose episode end leaves it parked (Gymnasium's single-car env); everything else (resets, many
cars, automatic restarts, parked cars) takes the batch path.
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium.vector import AutoresetMode

from annrl.envs import physics
from annrl.envs.physics import FAR_T, SCALAR


class OneCar:
    """The step of a one-car :class:`~annrl.envs.core.CarSimulator`, on Python floats.

    It reads the simulator's state, settings and tables at every step (derived constants are
    rebuilt whenever one of those objects is replaced, e.g. by ``set_settings``) and writes the
    new state back into the simulator's arrays, so both paths can take turns.
    """

    def __init__(self, sim):
        self.sim = sim
        self._sources = None

    def applies(self) -> bool:
        """Whether this step can take the scalar path (else the simulator's batch path runs)."""
        sim = self.sim
        return sim.autoreset_mode == AutoresetMode.DISABLED and not sim.parked[0]

    def _refresh(self) -> None:
        """Python copies of everything the step reads, taken again when a source object changes."""
        sim = self.sim
        self._sources = self._current_sources()
        s, tab, dyn = sim.settings, sim.tab, sim.dynamics
        self.dt = s.dt
        self.steer_bias = s.steer_bias
        self.dyn = physics.Dynamics(*(float(getattr(dyn, f)[0]) for f in physics.Dynamics.__dataclass_fields__))
        self.radius = float(sim.car_radius[0])
        self.controls = [tuple(row) for row in sim.controls.tolist()]
        sensors = sim.sensors
        self.fan = list(zip(sensors.angles[0].tolist(), sensors.cos[0].tolist(), sensors.sin[0].tolist(), strict=True))
        self.max_range = float(sensors.max_range[0, 0])
        self.max_speed = float(sensors.max_speed[0])
        self.score = physics.score_constants(s, sim.lap_length)
        self.laps_target = s.laps
        self.stations = [tuple(row) for row in tab["stations"].tolist()]
        self.offsets = tab["offsets"].tolist()
        self.lanes = list(zip(tab["lane_lo"].tolist(), tab["lane_width"].tolist(), strict=True))
        self.n_lanes, self.n_sectors = int(tab["n_lanes"]), int(tab["n_sectors"])
        self._crash_walls: dict[int, list] = {}
        self._ray_walls: dict[int, list] = {}

    def _current_sources(self) -> tuple:
        sim = self.sim
        return (sim.settings, sim.tab, sim.dynamics, sim.sensors, sim.controls, sim.car_radius, sim.lap_length)

    def _stale(self) -> bool:
        """Whether the simulator replaced an object the Python copies were taken from."""
        sources, sim = self._sources, self.sim
        return (sources is None or sim.settings is not sources[0] or sim.tab is not sources[1]
                or sim.dynamics is not sources[2] or sim.sensors is not sources[3] or sim.controls is not sources[4]
                or sim.car_radius is not sources[5] or sim.lap_length is not sources[6])

    def step(self, actions):
        """:meth:`CarSimulator.step <annrl.envs.core.CarSimulator.step>` of the car, with its array results."""
        obs, reward, _, _, info = self._step(*self._controls(actions))
        info = {"laps": np.array([info["laps"]], dtype=np.int64), "progress": np.array([info["progress"]]),
                "checkpoints": np.array([info["checkpoints"]], dtype=np.int64),
                "crashed": np.array([info["crashed"]]), "success": np.array([info["success"]])}
        return obs, np.array([reward]), *self.sim.last_flags, info

    def step_one(self, action):
        """One step from one valid action (an int, or ``(steer, throttle)``), with Python results.

        For :class:`~annrl.envs.car_env.CarTrackEnv`, which has checked the action already: it
        skips packing the results into arrays of one car only to unpack them again.

        Returns
        -------
        obs : float32 array, shape (n_rays + 1,)
        reward : float
        terminated, truncated : bool
        info : dict of Python scalars (``laps``, ``progress``, ``checkpoints``, ``crashed``, ``success``)
        """
        if self._stale():
            self._refresh()
        if self.sim.continuous:
            steer, throttle = (min(max(float(v), -1.0), 1.0) for v in action)
        else:
            steer, throttle = self.controls[int(action)]
        obs, reward, terminated, truncated, info = self._step(*self._biased(steer, throttle))
        return obs[0], reward, terminated, truncated, info

    def _step(self, steer: float, throttle: float):
        """Move the car, write its new state into the simulator; obs as the agent sees it, the rest Python."""
        sim = self.sim
        st = sim.state
        x, y, heading, speed = physics.advance(st.x.item(0), st.y.item(0), st.heading.item(0), st.speed.item(0),
                                               steer, throttle, self.dyn, self.dt)
        station, arc, lateral = self._locate(x, y, st.station.item(0))
        crashed = self._touches_wall(x, y, station)
        steps = st.steps.item(0) + 1
        lane_lo, lane_width = self.lanes[station]
        lane = int(physics.lane_index(lateral, lane_lo, lane_width, self.n_lanes, SCALAR))
        progress, checkpoint, stall, reward, terminated, truncated = physics.score(
            st.arc.item(0), arc, st.progress.item(0), st.checkpoint.item(0), st.stall_clock.item(0), crashed, steps,
            self.score, SCALAR, int)
        # Written into the simulator's arrays: the state has one home, whichever path steps it.
        st.x[0], st.y[0], st.heading[0], st.speed[0], st.station[0], st.arc[0] = x, y, heading, speed, station, arc
        st.progress[0], st.checkpoint[0], st.steps[0], st.stall_clock[0] = progress, checkpoint, steps, stall
        st.crashed[0], st.lane[0] = crashed, lane
        sim.obs = np.array([[*self._rays(x, y, heading, station, lane), speed / self.max_speed]], dtype=np.float32)
        if terminated or truncated:  # the car was not parked (see applies): now it is
            sim.parked = np.ones(1, dtype=bool)
        sim.last_flags = (np.array([terminated]), np.array([truncated]))
        laps, fraction, success = physics.episode_info(progress, sim.lap_length, self.laps_target, SCALAR)
        info = {"laps": laps, "progress": fraction, "checkpoints": checkpoint, "crashed": crashed, "success": success}
        return sim._disturb(sim.obs), reward, terminated, truncated, info

    def _controls(self, actions) -> tuple[float, float]:
        """Steer and throttle from a batch of one action; anything unusual goes to the batch path's checks."""
        sim = self.sim
        if self._stale():
            self._refresh()
        if sim.continuous:
            # (a NaN in either makes the sum NaN, and so does inf - inf, which the batch path's checks let pass)
            if actions.shape != (1, 2) or actions.dtype.kind != "f" or math.isnan(actions[0, 0] + actions[0, 1]):
                sim._controls(actions)  # raises the batch path's error, if any
            steer, throttle = (min(max(float(v), -1.0), 1.0) for v in actions[0])
        else:
            if actions.shape != (1,) or actions.dtype.kind not in "iu" or not 0 <= actions[0] < len(self.controls):
                sim._controls(actions)
            steer, throttle = self.controls[actions[0]]
        return self._biased(steer, throttle)

    def _biased(self, steer: float, throttle: float) -> tuple[float, float]:
        if self.steer_bias != 0.0:
            steer = SCALAR.clip(steer + self.steer_bias, -1.0, 1.0)
        return steer, throttle

    def _locate(self, x: float, y: float, station: int) -> tuple[int, float, float]:
        """:func:`physics.locate` for one car: the first nearest station in the window."""
        stations, project = self.stations, physics.project
        m, nearest = len(stations), math.inf
        for offset in self.offsets:
            j = (station + offset) % m
            sx, sy, dx, dy, len2, _, _ = stations[j]
            found = project(x, y, sx, sy, dx, dy, len2, SCALAR)
            if found[3] < nearest:  # strictly: the first of equals wins, as in argmin
                nearest, best, where = found[3], found, j
        t, rx, ry, _ = best
        _, _, dx, dy, _, length, arc = stations[where]
        return where, arc + t * length, physics.lateral_offset(rx, ry, dx, dy, length)

    def _touches_wall(self, x: float, y: float, station: int) -> bool:
        """Whether ``sqrt(min d2) <= radius`` over the station's walls (sqrt is monotonic: stop early)."""
        walls = self._crash_walls.get(station)
        if walls is None:
            walls = self._crash_walls[station] = _distinct_rows(self.sim.tab, "crash", station)
        for ax, ay, dx, dy, inv_len2 in walls:
            if math.sqrt(physics.segment_d2(x, y, ax, ay, dx, dy, inv_len2, SCALAR)) <= self.radius:
                return True
        return False

    def _rays(self, x: float, y: float, heading: float, station: int, lane: int) -> list[float]:
        """Normalised distances along every sensor ray, as :func:`physics.cast_rays` gives them."""
        ray_sector, ray_direction, ray_miss = physics.ray_sector, physics.ray_direction, physics.ray_miss
        n_sectors, cache, max_range = self.n_sectors, self._ray_walls, self.max_range
        ch, sh = math.cos(heading), math.sin(heading)
        region = (station * self.n_lanes + lane) * n_sectors
        out = []
        for angle, ca, sa in self.fan:
            cell = region + int(ray_sector(heading, angle, n_sectors)) % n_sectors
            walls = cache.get(cell)
            if walls is None:
                walls = cache[cell] = _ray_rows(self.sim.tab, cell)
            ux, uy = ray_direction(ch, sh, ca, sa)
            nearest = FAR_T
            for ax, ay, dx, dy in walls:
                miss, t = ray_miss(x, y, ux, uy, ax, ay, dx, dy)
                if not miss and t < nearest:
                    nearest = t
            out.append(min(nearest, max_range) / max_range)
        return out


def _distinct_rows(tab: dict, prefix: str, row: int) -> list[tuple]:
    """The crash candidates of a station without the repeats that pad the table."""
    columns = [tab[f"{prefix}_{c}"][row].tolist() for c in ("ax", "ay", "dx", "dy", "inv_len2")]
    return list(dict.fromkeys(zip(*columns, strict=True)))


def _ray_rows(tab: dict, cell: int) -> list[tuple]:
    """The ray candidates of a cell (head and tail tables joined), without padding repeats."""
    columns = []
    for c in ("ax", "ay", "dx", "dy"):
        values = tab[f"ray_{c}"][cell].tolist()
        if f"tail_{c}" in tab:
            values += tab[f"tail_{c}"][cell].tolist()
        columns.append(values[: max(1, int(tab["ray_count"][cell]))])
    return list(zip(*columns, strict=True))
