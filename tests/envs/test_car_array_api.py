"""The physics step uses only the Python array API standard: array_api_strict gives NumPy's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from annrl.envs import physics
from annrl.envs.core import CarSimulator

xps = pytest.importorskip("array_api_strict")


def strict(value):
    return xps.asarray(value) if isinstance(value, np.ndarray) else value


def test_physics_runs_on_array_api_strict_with_the_same_numbers():
    sim = CarSimulator("s_bends", 64, continuous=True)
    sim.reset([np.random.default_rng(k) for k in range(64)])
    for _ in range(30):  # move the cars off the start line
        sim.step(np.tile([0.1, 1.0], (64, 1)))
    s, n = sim.state, 64
    steer, throttle = np.full(n, 0.3), np.full(n, 0.5)
    dyn = physics.Dynamics(*(strict(getattr(sim.dynamics, f)) for f in physics.Dynamics.__dataclass_fields__))
    tab = {key: strict(value) for key, value in sim.tab.items()}
    moved = physics.advance(*(strict(v) for v in (s.x, s.y, s.heading, s.speed, steer, throttle)), dyn, 0.05)
    expected = physics.advance(s.x, s.y, s.heading, s.speed, steer, throttle, sim.dynamics, 0.05)
    for got, want in zip(moved, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(got), want)
    x, y, heading = moved[0], moved[1], moved[2]
    station, arc, lateral = physics.locate(x, y, strict(s.station), tab, sim.tables.window)
    want_station, want_arc, want_lateral = physics.locate(*expected[:2], s.station, sim.tab, sim.tables.window)
    np.testing.assert_array_equal(np.asarray(station), want_station)
    np.testing.assert_array_equal(np.asarray(arc), want_arc)
    lane = physics.lane_of(station, lateral, tab)
    clearance = physics.wall_clearance(x, y, station, tab)
    np.testing.assert_array_equal(
        np.asarray(clearance), physics.wall_clearance(*expected[:2], want_station, sim.tab)
    )
    sensors = sim.sensors
    rays = physics.cast_rays(x, y, heading, station, lane, strict(sensors.cos), strict(sensors.sin),
                             strict(sensors.angles), strict(sensors.max_range), tab)
    want_lane = physics.lane_of(want_station, want_lateral, sim.tab)
    want_rays = physics.cast_rays(*expected[:3], want_station, want_lane, sensors.cos, sensors.sin, sensors.angles,
                                  sensors.max_range, sim.tab)
    np.testing.assert_array_equal(np.asarray(rays), want_rays)
    assert (want_rays < sensors.max_range).any()  # some rays see a wall
