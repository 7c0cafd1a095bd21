"""Car physics: the bicycle model's numbers, crash detection that misses nothing, progress and laps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from car_helpers import corridor_track
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annrl.envs import geometry
from annrl.envs.core import CarSimulator
from annrl.envs.policies import HeuristicDriver
from annrl.envs.settings import CarSettings
from annrl.envs.tracks import load_track

NO_DRAG = CarSettings(drag=0.0)


def drive(sim, steer, throttle, steps):
    actions = np.tile(np.array([[steer, throttle]], dtype=np.float64), (sim.n, 1))
    out = []
    for _ in range(steps):
        out.append(sim.step(actions))
    return out


def test_full_throttle_from_rest_follows_the_drag_recurrence():
    s = CarSettings(drag=0.05)
    sim = CarSimulator(corridor_track(), 1, s, continuous=True)
    sim.place([-80.0], [-15.0], [0.0])
    drive(sim, 0.0, 1.0, 40)
    v, x = 0.0, -80.0
    for _ in range(40):
        v = min(v + s.dt * (s.accel - s.drag * v), s.max_speed)
        x += s.dt * v
    assert sim.state.speed[0] == pytest.approx(v, rel=1e-12)  # 40 steps of 0.05 s: v = 10.89 m/s
    assert sim.state.x[0] == pytest.approx(x, rel=1e-12)
    assert sim.state.y[0] == pytest.approx(-15.0, abs=1e-12)


def test_braking_and_top_speed():
    sim = CarSimulator(corridor_track(), 1, NO_DRAG, continuous=True)
    sim.place([-80.0], [-15.0], [0.0], speed=[19.9])
    drive(sim, 0.0, 1.0, 1)
    assert sim.state.speed[0] == NO_DRAG.max_speed  # capped
    drive(sim, 0.0, -0.5, 2)
    assert sim.state.speed[0] == pytest.approx(20.0 - 2 * 0.05 * 0.5 * NO_DRAG.brake)  # 19.4 m/s
    drive(sim, 0.0, -1.0, 40)
    assert sim.state.speed[0] == 0.0  # no reversing


def test_slow_turns_follow_the_steering_geometry():
    sim = CarSimulator(corridor_track(), 1, NO_DRAG, continuous=True)
    sim.place([-80.0], [-15.0], [0.0], speed=[2.0])
    drive(sim, 0.5, 0.0, 1)
    curvature = 0.5 * math.tan(math.radians(30.0)) / 2.5  # 0.1155 per metre
    assert sim.state.heading[0] == pytest.approx(0.05 * 2.0 * curvature, rel=1e-12)


def test_fast_turns_are_limited_by_grip():
    sim = CarSimulator(corridor_track(), 1, NO_DRAG, continuous=True)
    sim.place([-80.0], [-15.0], [0.0], speed=[20.0])
    drive(sim, 1.0, 0.0, 1)
    # Full lock would turn on a 4.3 m radius; grip allows v^2 / grip = 44.4 m.
    assert sim.state.heading[0] == pytest.approx(0.05 * NO_DRAG.grip / 20.0, rel=1e-12)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["oval", "rounded_rectangle", "s_bends", "hairpins", "random:7"]),
    seed=st.integers(0, 2**31 - 1),
    bias=st.floats(0.3, 0.9),
)
def test_no_car_leaves_the_track_without_a_crash(name, seed, bias):
    """Random driving: every car is either reported crashed or clear of every wall."""
    track = load_track(name)
    n, radius = 48, CarSettings().car_radius
    sim = CarSimulator(track, n, continuous=True, autoreset_mode="Disabled")
    rngs = [np.random.default_rng(seed + k) for k in range(n)]
    sim.reset(rngs)
    rng = np.random.default_rng(seed)
    a, b = track.wall_segments()
    crashed = np.zeros(n, dtype=bool)
    for _ in range(120):
        actions = rng.uniform(-1.0, 1.0, size=(n, 2))
        actions[:, 1] += bias  # lean on the throttle so that cars reach the walls
        was_parked = sim.parked.copy()
        _, _, terminated, _, info = sim.step(actions)
        new_crash = info["crashed"] & ~was_parked
        xy = np.column_stack([sim.state.x, sim.state.y])
        clearance = geometry.distance_to_segments(xy, a, b).min(axis=1)
        # A crash is reported exactly when the car's disc touches a wall.
        assert np.array_equal(new_crash, (clearance <= radius) & ~was_parked)
        crashed |= new_crash
        assert track.contains(xy[~crashed]).all()
        assert (clearance[~crashed] > radius).all()
        assert np.array_equal(terminated & ~was_parked, new_crash | (info["success"] & ~was_parked))


def test_one_lap_of_the_oval_pays_the_lap_reward():
    s = CarSettings(laps=1)
    sim = CarSimulator("oval", 1, s, autoreset_mode="Disabled")
    obs, _ = sim.reset([np.random.default_rng(0)])
    driver, total, steps = HeuristicDriver(s), 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = sim.step(driver(obs))
        total += reward[0]
        steps += 1
        if terminated[0] or truncated[0]:
            break
    assert info["success"][0] and not info["crashed"][0] and info["laps"][0] == 1
    assert info["checkpoints"][0] == s.n_checkpoints
    # The reward adds up to the lap, less the start jitter and the overshoot of the last step.
    assert total == pytest.approx(s.lap_reward, abs=0.5)
    assert 400 < steps < 700  # a 361 m lap at up to 20 m/s with braking for the bends


def test_reversing_over_the_start_line_loses_progress_smoothly():
    sim = CarSimulator("oval", 1, continuous=True)
    x, y, heading = sim.track.start
    sim.place([x + 3.0], [y], [heading + math.pi], speed=[5.0])
    rewards = [r[1][0] for r in drive(sim, 0.0, 0.0, 20)]  # 5 m backwards, across the line
    assert all(-0.1 < r < 0 for r in rewards)
    assert sim.state.progress[0] == pytest.approx(-4.87, abs=0.05)  # sum of 20 steps of 0.05 s at ~5 m/s


def test_stall_time_ends_a_parked_car():
    sim = CarSimulator("oval", 1, CarSettings(stall_time=1.0), autoreset_mode="Disabled")
    sim.reset([np.random.default_rng(0)])
    ends = [sim.step(np.array([2]))[2][0] for _ in range(25)]  # "straight" with no speed: stuck
    assert ends.index(True) == 19  # 20 steps of 0.05 s = 1 s without a new checkpoint
    assert not sim.state.crashed[0]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"max_speed": 30.0}, "max_speed * dt must not exceed car_radius"),
        ({"dt": 0.0}, "dt must be > 0.0 and <= 1.0, got 0.0"),
        ({"n_rays": 0}, "n_rays must be >= 1 and <= 64, got 0"),
        ({"n_rays": 2.5}, "n_rays must be an integer, got 2.5"),
        ({"grip": float("nan")}, "grip must be a finite number, got nan"),
        ({"laps": True}, "laps must be an integer, got True"),
        ({"stall_time": -1.0}, "stall_time must be > 0.0, got -1.0"),
        ({"warp": 9}, "unknown car setting(s) ['warp']"),
    ],
)
def test_bad_settings_name_field_rule_and_value(changes, message):
    with pytest.raises(ValueError) as err:
        CarSettings().updated(**changes)
    assert message in str(err.value)
