"""Sensors as options: the turn rate in the observation, and the sensor settings' checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from annrl.envs import CarSettings, CarTrackEnv, CarTrackVecEnv
from annrl.envs.core import CarSimulator
from annrl.errors import InputError


def test_the_turn_rate_reads_the_yaw_rate_of_the_last_step_over_the_largest():
    sim = CarSimulator("oval", 1, CarSettings(observe_turn_rate=True), continuous=True)
    x, y, heading = sim.track.start
    assert sim.place([x], [y], [heading], speed=[4.0])[0, -1] == 0.0  # placed: not turning yet
    obs = sim.step(np.array([[1.0, 0.0]]))[0]  # full left, coasting
    s = sim.settings
    speed = 4.0 - s.dt * s.drag * 4.0  # drag slows the coasting car first
    yaw = speed * min(s.steer_gain, s.grip / speed**2)  # rad/s, the bicycle's turn at that speed
    assert obs.shape == (1, s.n_rays + 2)
    assert obs[0, -1] == pytest.approx(yaw / math.sqrt(s.grip * s.steer_gain), abs=1e-6)
    assert obs[0, -1] == pytest.approx(0.6391, abs=1e-4)  # 3.99 m/s * 0.2309 /m / 1.4417 rad/s
    right = sim.step(np.array([[-1.0, 0.0]]))[0]
    assert right[0, -1] < -0.6  # turning right reads negative


def test_the_turn_rate_adds_one_entry_and_changes_nothing_else():
    rng = np.random.default_rng(3)
    actions = np.stack([rng.uniform(-1, 1, (300, 4)), rng.uniform(0.3, 1, (300, 4))], axis=2).astype(np.float32)
    runs = {}
    for turn in (False, True):
        env = CarTrackVecEnv(4, "s_bends", continuous=True, autoreset_mode="SameStep", observe_turn_rate=turn)
        obs = [env.reset(seed=5)[0]] + [env.step(a)[0] for a in actions]
        runs[turn] = np.stack(obs)
    assert runs[False].shape[-1] == 6 and runs[True].shape[-1] == 7
    assert np.array_equal(runs[True][..., :6], runs[False])
    assert np.abs(runs[True][..., 6]).max() <= 1.0 and np.abs(runs[True][..., 6]).max() > 0.5


def test_a_single_car_with_the_turn_rate_steps_as_car_k_of_a_batch():
    rng = np.random.default_rng(1)
    actions = rng.choice(5, size=(200, 3), p=[0.3, 0.3, 0.1, 0.2, 0.1])
    batch = CarTrackVecEnv(3, "oval", autoreset_mode="Disabled", observe_turn_rate=True)
    got = [batch.reset(seed=10)[0]] + [batch.step(a)[0] for a in actions]
    for k in range(3):
        single = CarTrackEnv("oval", observe_turn_rate=True)
        want = [single.reset(seed=10 + k)[0]]
        for a in actions[:, k]:
            obs, _, terminated, truncated, _ = single.step(int(a))
            want.append(obs)
            if terminated or truncated:
                break
        assert np.array_equal(np.stack([g[k] for g in got[: len(want)]]), np.stack(want)), f"car {k}"


def test_the_observation_space_bounds_the_turn_rate_from_minus_one():
    env = CarTrackEnv("oval", observe_turn_rate=True, n_rays=7)
    assert env.observation_space.shape == (9,)
    assert env.observation_space.low[-1] == -1.0 and env.observation_space.low[:-1].max() == 0.0
    assert CarTrackEnv("oval").observation_space.shape == (6,)


@pytest.mark.parametrize(("changes", "message"), [
    ({"n_rays": 0}, "n_rays must be >= 1 and <= 64, got 0"),
    ({"n_rays": 65}, "n_rays must be >= 1 and <= 64, got 65"),
    ({"ray_spread_deg": 400.0}, "ray_spread_deg must be >= 0.0 and <= 360.0, got 400.0"),
    ({"max_range": 0.0}, "max_range must be > 0.0, got 0.0"),
    ({"observe_turn_rate": 1}, "observe_turn_rate must be True or False, got 1"),
])
def test_bad_sensor_settings_get_one_line_errors(changes, message):
    with pytest.raises(InputError, match=f"^{message}$"):
        CarSettings(**changes)


def test_the_turn_rate_cannot_be_switched_mid_run():
    env = CarTrackEnv("oval")
    with pytest.raises(InputError, match="observe_turn_rate fixes the observation space"):
        env.unwrapped.set_settings(observe_turn_rate=True)


@pytest.mark.parametrize("continuous", [False, True])
def test_env_checker_passes_with_seven_rays_and_the_turn_rate(continuous):
    from gymnasium.utils.env_checker import check_env

    check_env(CarTrackEnv("oval", continuous=continuous, n_rays=7, observe_turn_rate=True), skip_render_check=True)
