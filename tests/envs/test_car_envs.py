"""The Gymnasium face: registration, env_checker, seeding, single and vector envs in lockstep, autoreset."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import annrl.envs  # noqa: F401  (registers annrl/CarTrack-v0)
from annrl.envs import CarTrackEnv, CarTrackVecEnv


@pytest.mark.parametrize("continuous", [False, True])
def test_env_checker_passes(continuous):
    env = gym.make("annrl/CarTrack-v0", track="oval", continuous=continuous, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    assert env.spec.max_episode_steps == 3000


def test_make_vec_uses_the_vectorised_core():
    envs = gym.make_vec("annrl/CarTrack-v0", num_envs=8, track="s_bends")
    assert isinstance(envs.unwrapped, CarTrackVecEnv)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP  # Gymnasium's default (issue 28)
    obs, info = envs.reset(seed=1)
    assert obs.shape == (8, 6) and obs.dtype == np.float32
    assert envs.observation_space.contains(obs)
    assert set(info) >= {"laps", "progress", "crashed", "_laps", "_crashed"}


def test_reset_seed_reproduces_and_varies():
    env = CarTrackEnv("oval")
    first = env.reset(seed=7)[0]
    steps = [env.step(3)[0] for _ in range(5)]
    again = env.reset(seed=7)[0]
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(steps, [env.step(3)[0] for _ in range(5)])
    assert not np.array_equal(first, env.reset(seed=8)[0])


@pytest.mark.parametrize("continuous", [False, True])
def test_single_and_vector_envs_agree_step_for_step(continuous):
    """Car k of a batch seeded s follows the single car seeded s + k, resets included."""
    n, seed, track = 4, 10, "hairpins"
    vec = CarTrackVecEnv(n, track, continuous=continuous, max_episode_steps=150, autoreset_mode="SameStep")
    singles = [CarTrackEnv(track, continuous=continuous, max_episode_steps=150) for _ in range(n)]
    obs = vec.reset(seed=seed)[0]
    single_obs = [env.reset(seed=seed + k)[0] for k, env in enumerate(singles)]
    np.testing.assert_array_equal(obs, np.stack(single_obs))
    rng = np.random.default_rng(0)
    episodes_ended = 0
    for _ in range(400):
        if continuous:
            actions = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32) + np.float32([0.0, 0.6])
            actions = np.clip(actions, -1, 1)
        else:
            actions = rng.choice(5, size=n, p=[0.2, 0.2, 0.1, 0.4, 0.1])
        obs, reward, terminated, truncated, info = vec.step(actions)
        for k, env in enumerate(singles):
            o, r, te, tr, inf = env.step(actions[k])
            assert (r, te, tr) == (reward[k], terminated[k], truncated[k])
            if te or tr:
                episodes_ended += 1
                np.testing.assert_array_equal(info["final_obs"][k], o)
                assert info["final_info"]["crashed"][k] == inf["crashed"]
                o, inf = env.reset()
            np.testing.assert_array_equal(obs[k], o)
            assert info["laps"][k] == inf["laps"] and info["progress"][k] == inf["progress"]
    assert episodes_ended >= 8  # crashes and time limits both exercised


def test_same_step_autoreset_reports_the_final_observation():
    env = CarTrackVecEnv(2, "oval", continuous=True, autoreset_mode="SameStep")
    env.reset(seed=0)
    x, y, h = env.track.start
    env.sim.place([x, x], [y + 5.0, y], [h + np.pi / 2, h], speed=[10.0, 0.0])  # car 0 drives at the wall
    for _ in range(40):
        obs, reward, terminated, truncated, info = env.step(np.array([[0.0, 0.0], [0.0, 0.0]]))
        if terminated[0]:
            break
    assert terminated[0] and not terminated[1]
    assert info["_final_obs"].tolist() == [True, False]
    assert info["final_info"]["crashed"][0] and not info["crashed"][0]
    assert reward[0] < -9.0  # the crash penalty
    assert obs[0, -1] == 0.0 and info["final_obs"][0, 2] < 0.1  # restarted at rest; had a wall ahead


def test_next_step_autoreset_ignores_one_action():
    env = CarTrackVecEnv(1, "oval", continuous=True, autoreset_mode=AutoresetMode.NEXT_STEP)
    env.reset(seed=0)
    x, y, h = env.track.start
    env.sim.place([x], [y + 5.0], [h + np.pi / 2], speed=[10.0])
    for _ in range(40):
        _, _, terminated, _, _ = env.step(np.zeros((1, 2)))
        if terminated[0]:
            break
    obs, reward, terminated, truncated, info = env.step(np.array([[1.0, 1.0]]))
    assert reward[0] == 0.0 and not terminated[0] and obs[0, -1] == 0.0 and not info["crashed"][0]


def test_disabled_autoreset_parks_cars_until_a_masked_reset():
    env = CarTrackVecEnv(3, "oval", autoreset_mode="Disabled", max_episode_steps=5)
    first = env.reset(seed=0)[0]
    for _ in range(5):
        obs, reward, terminated, truncated, _ = env.step(np.full(3, 3))
    assert truncated.all()
    parked = obs.copy()
    obs, reward, terminated, truncated, _ = env.step(np.full(3, 3))
    np.testing.assert_array_equal(obs, parked)
    assert (reward == 0).all() and truncated.all()
    obs, _ = env.reset(options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(obs[[0, 2]], parked[[0, 2]])
    assert obs[1, -1] == 0.0 and not np.array_equal(obs[1], first[1])  # its generator moved on
    obs, reward, _, truncated, _ = env.step(np.full(3, 3))
    assert reward[1] > 0 and reward[0] == 0 and not truncated[1]


def test_bad_actions_and_options_are_refused():
    env = CarTrackVecEnv(4, "oval")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"discrete actions must be integers of shape \(4,\), got float64"):
        env.step(np.zeros(4))
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\], got 0..5"):
        env.step(np.array([0, 1, 2, 5]))
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": [True] * 4})
    with pytest.raises(ValueError, match="autoreset_mode must be one of"):
        CarTrackVecEnv(2, "oval", autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="num_envs must be a positive integer, got 0"):
        CarTrackVecEnv(0, "oval")
    single = CarTrackEnv("oval")
    with pytest.raises(AssertionError, match="Call reset before"):
        single.step(0)


def test_vector_env_threads_give_the_same_numbers():
    kwargs = dict(num_envs=600, track="s_bends", continuous=True)
    one, two = CarTrackVecEnv(**kwargs), CarTrackVecEnv(**kwargs, num_threads=2)
    np.testing.assert_array_equal(one.reset(seed=3)[0], two.reset(seed=3)[0])
    rng = np.random.default_rng(0)
    for _ in range(30):
        actions = rng.uniform(-1, 1, size=(600, 2)) + np.array([0.0, 0.5])
        a, b = one.step(actions), two.step(actions)
        for x, y in zip(a[:4], b[:4], strict=True):
            np.testing.assert_array_equal(x, y)
    two.close()


def test_environments_on_one_track_share_its_derived_tables_read_only():
    a, b = CarTrackVecEnv(2, "oval"), CarTrackVecEnv(3, "oval")
    assert a.sim.tab is b.sim.tab  # a thousand single-car environments hold one copy
    with pytest.raises(TypeError):
        a.sim.tab["ray_ax"] = None


def test_gymnasiums_vector_wrappers_accept_the_default_env():
    """NEXT_STEP by default: Gymnasium's NormalizeObservation refuses any other autoreset mode."""
    from gymnasium.wrappers.vector import NormalizeObservation

    env = NormalizeObservation(CarTrackVecEnv(3, "oval"))
    obs, _ = env.reset(seed=0)
    for _ in range(300):
        obs, reward, terminated, truncated, _ = env.step(np.zeros(3, dtype=np.int64))
    assert obs.shape == (3, 6) and np.all(np.isfinite(obs))
    # the running statistics have seen every step of every car: the mean of a normalised observation is small
    assert env.obs_rms.count == pytest.approx(3 * 301, abs=1)
    assert np.abs(env.obs_rms.mean).max() > 0
