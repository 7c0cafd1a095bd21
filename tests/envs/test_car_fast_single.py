"""The one-car path on Python floats gives the batch path's numbers to the last bit.

Each test drives two one-car simulators with the same seed and actions: one steps through
:class:`annrl.envs.fast_single.OneCar`, the other is forced onto the array path. Every state
field, observation (ray distances included), reward, flag and info value must be equal, through
crashes, checkpoints, completed laps, resets and settings changed mid-run.
"""

from __future__ import annotations

import numpy as np
import pytest

from annrl.envs import CarTrackEnv
from annrl.envs.core import CarSimulator
from annrl.envs.fast_single import OneCar
from annrl.envs.policies import HeuristicDriver
from annrl.envs.settings import CarSettings

STATE = ("x", "y", "heading", "speed", "station", "arc", "progress", "checkpoint", "steps", "stall_clock",
         "crashed", "lane")


class Twins:
    """A fast and a reference one-car simulator, stepped in lockstep and compared after each step."""

    def __init__(self, track, settings: CarSettings, *, continuous: bool, seed: int):
        self.fast, self.slow = (CarSimulator(track, 1, settings, continuous=continuous, autoreset_mode="Disabled")
                                for _ in range(2))
        self.slow.one_car = None  # the array path
        self.calls = 0
        step = self.fast.one_car.step

        def counted(actions):
            self.calls += 1
            return step(actions)

        self.fast.one_car.step = counted
        self.seed = seed
        self.obs = self.reset()

    def reset(self):
        self.seed += 1
        got = [sim.reset([np.random.default_rng(self.seed)]) for sim in (self.fast, self.slow)]
        np.testing.assert_array_equal(got[0][0], got[1][0])
        return got[0][0]

    def step(self, actions):
        fast, slow = self.fast.step(actions), self.slow.step(actions)
        for got, want in zip(fast[:4], slow[:4], strict=True):
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
        assert fast[4].keys() == slow[4].keys()
        for key in fast[4]:
            assert fast[4][key].dtype == slow[4][key].dtype, key
            np.testing.assert_array_equal(fast[4][key], slow[4][key], err_msg=key)
        for name in STATE:
            np.testing.assert_array_equal(getattr(self.fast.state, name), getattr(self.slow.state, name), err_msg=name)
        np.testing.assert_array_equal(self.fast.sense(), self.slow.sense())
        self.obs = fast[0]
        if fast[2][0] or fast[3][0]:
            self.obs = self.reset()
        return fast


def random_actions(rng, continuous: bool, steps: int):
    if continuous:
        return np.clip(rng.uniform(-1, 1, size=(steps, 1, 2)) + [0.0, 0.5], -1, 1)
    return rng.choice(5, size=(steps, 1), p=[0.25, 0.25, 0.0, 0.5, 0.0])


@pytest.mark.parametrize("track, continuous", [("s_bends", False), ("hairpins", True), ("random:3", False),
                                               ("oval", True)])
def test_random_rollouts_match_the_array_path_exactly(track, continuous):
    twins = Twins(track, CarSettings(max_episode_steps=100), continuous=continuous, seed=0)
    rng = np.random.default_rng(1)
    ends = {"crash": 0, "truncated": 0}
    for actions in random_actions(rng, continuous, 400):
        _, _, _, truncated, info = twins.step(actions)
        ends["crash"] += bool(info["crashed"][0])
        ends["truncated"] += bool(truncated[0])
    assert twins.calls == 400  # every step took the scalar path
    assert ends["crash"] > 0 and sum(ends.values()) >= 3, ends  # wall hits and restarts happened


@pytest.mark.parametrize("continuous", [False, True])
def test_laps_completed_by_a_driver_match_exactly(continuous):
    settings = CarSettings(laps=1)
    twins = Twins("oval", settings, continuous=continuous, seed=5)
    driver = HeuristicDriver(settings, continuous=continuous)
    successes, crossings, seen_walls = 0, 0, False
    for _ in range(1200):
        before = twins.fast.state.checkpoint[0]
        _, _, _, _, info = twins.step(driver(twins.obs))
        successes += bool(info["success"][0])
        crossings += bool(info["checkpoints"][0] > before)
        seen_walls |= bool((twins.fast.sense() < settings.max_range).all())  # every ray sees a wall
        if successes:
            break
    assert successes >= 1 and crossings >= settings.n_checkpoints and seen_walls


def test_settings_changed_mid_run_are_picked_up():
    twins = Twins("s_bends", CarSettings(), continuous=False, seed=2)
    rng = np.random.default_rng(3)
    changes = [{"steer_bias": 0.2}, {"max_speed": 15.0, "grip": 6.0}, {"max_range": 20.0, "n_checkpoints": 7},
               {"steer_bias": 0.0, "drag": 0.2, "stall_time": 2.0}]
    for change in changes:
        for sim in (twins.fast, twins.slow):
            sim.set_settings(sim.settings.updated(**change))
        for actions in random_actions(rng, False, 80):
            twins.step(actions)
    assert twins.calls == 4 * 80


def test_parked_cars_and_bad_actions_take_the_array_path():
    sim = CarSimulator("oval", 1, continuous=False, autoreset_mode="Disabled")
    sim.reset([np.random.default_rng(0)])
    with pytest.raises(ValueError, match="discrete actions must lie in"):
        sim.step(np.array([7]))
    with pytest.raises(ValueError, match="discrete actions must be integers"):
        sim.step(np.array([1.0]))
    x, y, heading = sim.track.start
    sim.place([x], [y], [heading + np.pi / 2], speed=[15.0])  # straight at a wall
    for _ in range(40):
        *_, terminated, _, info = sim.step(np.array([2]))
        if terminated[0]:
            break
    assert info["crashed"][0] and sim.parked[0] and not sim.one_car.applies()
    state = (sim.state.x.copy(), sim.obs.copy())
    _, reward, terminated, _, _ = sim.step(np.array([3]))  # parked: nothing moves, reward 0, flag kept
    assert reward[0] == 0.0 and terminated[0]
    np.testing.assert_array_equal(sim.state.x, state[0])


def test_the_gymnasium_env_steps_on_the_fast_path():
    env = CarTrackEnv("s_bends")
    assert isinstance(env.sim.one_car, OneCar)
    env.reset(seed=0)
    assert env.sim.one_car.applies()


@pytest.mark.parametrize("continuous", [False, True])
def test_the_gymnasium_env_gives_the_array_paths_results(continuous):
    """CarTrackEnv.step goes through OneCar.step_one (Python results); the array path must agree."""
    extra = () if continuous else ("hard_brake",)
    fast, slow = (CarTrackEnv("hairpins", continuous=continuous, max_episode_steps=90, extra_actions=extra)
                  for _ in range(2))
    slow.sim.one_car = None
    for env in (fast, slow):
        env.reset(seed=4)
        env.action_space.seed(4)
    actions = [fast.action_space.sample() for _ in range(300)]
    for k, action in enumerate(actions):
        if k == 100:
            for env in (fast, slow):
                env.set_settings(steer_bias=-0.3, grip=5.0)
                if not continuous:
                    env.enable_actions("hard_brake")
        got, want = fast.step(action), slow.step(action)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[0].dtype == want[0].dtype and got[1:] == want[1:]
        assert all(type(a) is type(b) for a, b in zip(got[1:4], want[1:4], strict=True))
        assert {k: type(v) for k, v in got[4].items()} == {k: type(v) for k, v in want[4].items()}
        if got[2] or got[3]:
            np.testing.assert_array_equal(fast.reset()[0], slow.reset()[0])
