"""Settings changed mid-run really change the physics; schedules change them at the stated steps;
sensor dropout and noise, steering bias, track switches, extra actions; autoreset modes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from annrl.envs import CarTrackEnv, CarTrackVecEnv
from annrl.envs.nonstationary import Change, Cycle, NonStationary, NonStationaryVec, Schedule, every


def heading_change_at_speed(grip: float) -> float:
    """Radians turned in one full-left step by a car placed at 18 m/s on the oval's straight."""
    env = CarTrackVecEnv(1, "oval")
    env.reset(seed=0)
    env.set_settings(grip=grip)
    x, y, h = env.track.start
    env.sim.place([x], [y], [h], speed=[18.0])
    env.step(np.array([0]))  # left
    return float(env.sim.state.heading[0] - h)


def test_lower_grip_turns_less_at_speed_by_the_grip_law():
    high, low = heading_change_at_speed(9.0), heading_change_at_speed(3.0)
    v = 18.0 + 0.05 * (-0.05 * 18.0)  # speed after one coasting step with drag
    assert low == pytest.approx(0.05 * v * 3.0 / v**2, rel=1e-9)  # curvature capped at grip / v^2
    assert high == pytest.approx(3.0 * low, rel=1e-9)


def test_set_settings_checks_values_and_keeps_the_old_ones_on_error():
    env = CarTrackEnv("oval")
    with pytest.raises(ValueError, match="grip must be > 0"):
        env.set_settings(grip=-1.0)
    with pytest.raises(ValueError, match="n_rays fixes the observation space"):
        env.set_settings(n_rays=7)
    with pytest.raises(ValueError, match="unknown car setting"):
        env.set_settings(gripp=3.0)
    assert env.settings.grip == 9.0 and env.sim.dynamics.grip[0] == 9.0


def test_set_settings_recomputes_derived_constants():
    env = CarTrackVecEnv(2, "oval")
    env.reset(seed=0)
    env.set_settings(max_steer_deg=20.0, wheelbase=3.0, ray_spread_deg=90.0, max_speed=10.0, n_checkpoints=10)
    np.testing.assert_allclose(env.sim.dynamics.steer_gain, math.tan(math.radians(20.0)) / 3.0)
    np.testing.assert_allclose(env.sim.sensors.angles[0], np.radians([-45, -22.5, 0, 22.5, 45]))
    assert env.sim.checkpoint_length == pytest.approx(env.sim.lap_length / 10)
    for _ in range(100):
        obs = env.step(np.array([3, 3]))[0]
    assert env.sim.state.speed.max() == pytest.approx(10.0)
    np.testing.assert_allclose(obs[:, -1], 1.0)  # speed now reads against the new top speed


def test_a_longer_sensor_range_rebuilds_the_tables_and_sees_further():
    env = CarTrackVecEnv(1, "oval")
    obs0 = env.reset(seed=0)[0]
    ahead = obs0[0, 2] * 30.0
    env.set_settings(max_range=ahead + 20.0)
    obs1 = env.reset(seed=0)[0]
    assert obs0[0, 2] == pytest.approx(1.0) and obs1[0, 2] * (ahead + 20.0) > 30.0


def test_reset_options_change_settings_track_and_actions():
    env = CarTrackEnv("oval", extra_actions=("hard_brake",))
    env.reset(seed=0, options={"settings": {"grip": 5.0}, "track": "s_bends", "enable_actions": ["hard_brake"]})
    assert env.settings.grip == 5.0 and env.track.name == "s_bends" and env.action_mask.all()
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"gripp": 1})


def test_dropout_zeros_about_the_stated_fraction_of_rays_and_never_the_speed():
    env = CarTrackVecEnv(200, "oval", sensor_dropout=0.3)
    env.reset(seed=0)
    zero = []
    for _ in range(20):
        obs = env.step(np.full(200, 3))[0]
        zero.append(obs[:, :5] == 0.0)
        assert (obs[:, 5] > 0).all()
    fraction = np.mean(zero)  # 20000 rays: std of the fraction is 0.003
    assert fraction == pytest.approx(0.3, abs=0.015)
    true = env.sim.obs[:, :5]
    assert (true > 0).all()  # the simulator keeps the true readings


def test_noise_has_the_stated_standard_deviation():
    env = CarTrackVecEnv(200, "oval", sensor_noise=0.02)
    env.reset(seed=0)
    obs = env.step(np.full(200, 2))[0]
    error = obs[:, :5] - env.sim.obs[:, :5]
    inside = (env.sim.obs[:, :5] > 0.1) & (env.sim.obs[:, :5] < 0.9)  # away from the clipping at 0 and 1
    assert error[inside].std() == pytest.approx(0.02, rel=0.1)
    assert abs(error[inside].mean()) < 0.003


def test_noise_is_reproducible_and_single_matches_vector():
    a, b = CarTrackEnv("oval", sensor_noise=0.05), CarTrackVecEnv(1, "oval", sensor_noise=0.05)
    np.testing.assert_array_equal(a.reset(seed=3)[0], b.reset(seed=3)[0][0])
    for _ in range(5):
        np.testing.assert_array_equal(a.step(3)[0], b.step(np.array([3]))[0][0])


def test_steering_bias_makes_straight_turn_left():
    env = CarTrackVecEnv(1, "oval", steer_bias=0.2)
    env.reset(seed=0)
    x, y, h = env.track.start
    env.sim.place([x], [y], [h], speed=[2.0])
    env.step(np.array([2]))  # straight
    v = 2.0 - 0.05 * 0.05 * 2.0
    assert env.sim.state.heading[0] - h == pytest.approx(0.05 * v * 0.2 * env.settings.steer_gain, rel=1e-9)


def test_schedule_changes_grip_at_the_stated_steps():
    env = NonStationary(CarTrackEnv("oval"), every(50, grip=[9.0, 4.0, 6.0]))
    env.reset(seed=0)
    seen = []
    for _ in range(160):
        seen.append(env.unwrapped.settings.grip)  # the grip in force during this step
        _, _, terminated, truncated, _ = env.step(2)
        if terminated or truncated:
            env.reset()
    assert seen[:50] == [9.0] * 50 and seen[50:100] == [4.0] * 50
    assert seen[100:150] == [6.0] * 50 and seen[150:] == [9.0] * 10


def test_schedule_values_are_checked_at_once():
    with pytest.raises(ValueError, match="grip must be > 0"):
        Cycle("grip", (9.0, 0.0), every=10)
    with pytest.raises(ValueError, match="every must be a positive integer"):
        Cycle("grip", (9.0,), every=0)


def test_a_schedule_comes_back_from_its_json_and_bad_json_is_refused_by_what_is_wrong():
    import json

    schedule = Schedule(changes=(Change(5, {"steer_bias": 0.1}, "s_bends", ("hard_brake",)),),
                        cycles=(Cycle("grip", (9.0, 4.0), every=100), Cycle("max_speed", (20.0,), every=7)))
    assert Schedule.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule
    for bad, words in (([], "an object with 'cycles' and 'changes'"),
                       ({"cycles": [{"setting": "grip", "values": [9.0], "every": 3, "x": 1}]}, "keys"),
                       ({"cycles": [{"setting": "grip", "every": 3}]}, "incomplete"),
                       ({"cycles": [{"setting": "grip", "values": [9.0, 0.0], "every": 3}]}, "grip must be > 0"),
                       ({"changes": [{"at": -1}]}, "Change.at")):
        with pytest.raises(ValueError, match=words):
            Schedule.from_dict(bad)


def test_hard_brake_is_a_no_op_until_enabled_then_brakes_three_times_harder():
    env = NonStationaryVec(CarTrackVecEnv(2, "oval", extra_actions=("hard_brake",)),
                           Schedule(changes=(Change(1, enable_actions=("hard_brake",)),)))
    assert env.single_action_space.n == 6 and not env.env.action_mask[5]
    env.reset(seed=0)
    x, y, h = env.env.track.start
    env.env.sim.place([x, x], [y, y], [h, h], speed=[10.0, 10.0])
    env.step(np.array([5, 2]))  # step 0: disabled, like "straight"
    assert env.env.sim.state.speed[0] == env.env.sim.state.speed[1]
    assert env.env.action_mask[5]
    v = env.env.sim.state.speed.copy()
    env.step(np.array([5, 4]))  # hard brake against "slower"
    drop = v - env.env.sim.state.speed
    assert drop[0] == pytest.approx(3.0 * 12.0 * 0.05 + 0.05 * 0.05 * v[0])
    assert drop[1] == pytest.approx(12.0 * 0.05 + 0.05 * 0.05 * v[1])


@pytest.mark.parametrize("mode", ["SameStep", "NextStep", "Disabled"])
def test_track_switch_truncates_every_running_episode(mode):
    env = NonStationaryVec(CarTrackVecEnv(3, "oval", autoreset_mode=mode),
                           Schedule(changes=(Change(5, track="s_bends"),)))
    env.reset(seed=0)
    for t in range(5):
        obs, _, terminated, truncated, info = env.step(np.array([3, 3, 3]))
        assert truncated.all() == (t == 4)
    assert env.env.track.name == "s_bends" and info["track_switched"].all()
    if mode == "SameStep":  # fresh observations on the new track, the old ones in final_obs
        assert info["_final_obs"].all() and not np.allclose(info["final_obs"], obs)
        assert env.env.sim.state.progress.max() == 0.0


def test_single_env_track_switch_truncates_and_restarts_on_reset():
    env = NonStationary(CarTrackEnv("oval"), Schedule(changes=(Change(3, track="hairpins"),)))
    env.reset(seed=0)
    flags = [env.step(3)[3] for _ in range(3)]
    assert flags == [False, False, True]
    env.reset(seed=0)
    assert env.unwrapped.track.name == "hairpins"


def test_declared_autoreset_mode_matches_what_the_env_does():
    for mode in AutoresetMode:
        env = CarTrackVecEnv(2, "oval", autoreset_mode=mode, max_episode_steps=3)
        assert env.metadata["autoreset_mode"] == mode
        env.reset(seed=0)
        out = [env.step(np.array([3, 3])) for _ in range(4)]
        assert out[2][3].all()  # the third step truncates
        if mode == AutoresetMode.SAME_STEP:
            assert out[2][4]["_final_obs"].all() and out[3][0][0, 5] > 0 and not out[3][3].any()
        elif mode == AutoresetMode.NEXT_STEP:
            assert out[3][1].tolist() == [0.0, 0.0] and out[3][0][0, 5] == 0.0  # the reset step
        else:
            assert out[3][3].all() and out[3][1].tolist() == [0.0, 0.0]  # parked


# -- the agents' rollout code against the declared autoreset modes ---------------------------------
def test_run_episodes_counts_only_the_first_episode_in_every_autoreset_mode():
    from annrl.agents.evaluation import run_episodes

    def act(obs):  # full throttle, steering away from the nearer side wall: some cars crash early
        return np.where(obs[:, 0] < obs[:, 4], 0, 3)

    results = []
    for mode in AutoresetMode:
        env = CarTrackVecEnv(4, "s_bends", autoreset_mode=mode, max_episode_steps=150)
        results.append(run_episodes(env, act, seed=7))
    for other in results[1:]:
        np.testing.assert_array_equal(other.returns, results[0].returns)
        np.testing.assert_array_equal(other.lengths, results[0].lengths)
    assert results[0].lengths.min() < results[0].lengths.max()  # episodes of different lengths overlapped


def test_env_pool_final_obs_is_the_terminal_observation_not_the_restart():
    from annrl.agents.envs import CAR_ENV_ID, EnvPool

    pool = EnvPool(CAR_ENV_ID, 1, track="oval")
    rng = np.random.default_rng(0)
    pool.reset(rng)
    seed = int(pool.seeds[0])
    reference = CarTrackEnv("oval")
    reference.reset(seed=seed)
    for _ in range(3000):
        want, _, terminated, truncated, _ = reference.step(3)  # full throttle: crashes at the first bend
        obs, _, term, trunc, final_obs, finished = pool.step(np.array([3]), rng)
        if terminated or truncated:
            break
    assert term[0] and finished and not trunc[0]
    np.testing.assert_allclose(final_obs[0], want, rtol=0, atol=1e-7)
    assert obs[0, 5] == 0.0 and final_obs[0, 5] > 0.5  # the restart stands still; the crash was fast
