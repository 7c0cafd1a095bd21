"""DQN and PPO on a car whose grip changes while they learn (``--grip-every``): the schedule, evaluations,
exact resume."""

from __future__ import annotations

import numpy as np
import pytest
from rl_helpers import StopAfter

from annrl.agents import dqn, grip, make_rng, ppo
from annrl.agents.envs import EnvPool
from annrl.envs.car_env import CarTrackEnv
from annrl.envs.nonstationary import Change, Cycle, NonStationary, Schedule
from annrl.errors import InputError, Stopped

TINY_CAR = dict(env="annrl/CarTrack-v0", track="oval", continuous=True, total_steps=768, num_envs=2, num_steps=64,
                minibatch_size=64, update_epochs=2, hidden="8", eval_every=256, eval_episodes=2,
                final_eval_episodes=2, grip_every=256, grips="9,2", anneal=False)


def test_in_force_gives_the_cycle_value_and_every_earlier_change():
    schedule = Schedule(changes=(Change(5, {"steer_bias": 0.1}), Change(9, {"max_speed": 15.0})),
                        cycles=(Cycle("grip", (9.0, 4.0, 12.0), every=4),))
    assert schedule.in_force(0)[0] == {"grip": 9.0}
    assert schedule.in_force(7)[0] == {"steer_bias": 0.1, "grip": 4.0}
    assert schedule.in_force(13)[0] == {"steer_bias": 0.1, "max_speed": 15.0, "grip": 9.0}


def test_in_force_is_what_applying_due_step_after_step_leaves():
    # grip is both cycled and changed: the later event wins, and at one step the change (as in due)
    schedule = Schedule(changes=(Change(4, {"grip": 3.0}), Change(6, {"grip": 5.0, "steer_bias": 0.2})),
                        cycles=(Cycle("grip", (9.0, 4.0), every=4),))
    stepped: dict = {}
    for t in range(14):
        stepped.update(schedule.due(t)[0])
        assert schedule.in_force(t)[0] == stepped, t
    assert schedule.in_force(4)[0] == {"grip": 3.0} and schedule.in_force(7)[0] == {"grip": 5.0, "steer_bias": 0.2}


def test_seek_puts_the_world_where_stepping_would_have():
    schedule = Schedule(cycles=(Cycle("grip", (9.0, 4.0, 12.0), every=3),))
    stepped, sought = NonStationary(CarTrackEnv("oval"), schedule), NonStationary(CarTrackEnv("oval"), schedule)
    stepped.reset(seed=0)
    for _ in range(7):
        stepped.step(3)
    sought.seek(7)
    assert sought.unwrapped.settings.grip == stepped.unwrapped.settings.grip == 12.0
    assert sought.steps == stepped.steps == 7


def test_a_pool_sought_then_replayed_is_where_the_saved_pool_was():
    # episodes of 12 steps: at step 17 every car is 5 steps into an episode begun on grip 9, and is now on the
    # second grip, so slippery that a car at full throttle turns differently on it: the replay must start on 9
    schedule = Schedule(changes=(Change(0, {"max_episode_steps": 12}),), cycles=(Cycle("grip", (9.0, 0.01), every=5),))

    def pool():
        envs = EnvPool("annrl/CarTrack-v0", 3, track="oval", continuous=True)
        envs.envs = [NonStationary(env, schedule) for env in envs.envs]
        return envs

    saved, rng = pool(), make_rng(0)
    saved.reset(rng)
    for _ in range(17):
        steer = rng.uniform(-1, 1, (3, 1))
        saved.step(np.hstack([steer, np.ones((3, 1))]).astype(np.float32), rng)
    assert list(saved.state()["pool.lengths"]) == [5, 5, 5]
    copy = pool()
    grip.seek(copy, schedule, 17, saved.state())
    assert np.array_equal(copy.restore(saved.state()), saved.obs)
    assert [e.steps for e in copy.envs] == [17, 17, 17] and copy.envs[0].unwrapped.settings.grip == 0.01
    wrong = pool()  # the check has teeth: replayed from the grip in force at the stop, the cars end elsewhere
    for env in wrong.envs:
        env.seek(17)
    assert not np.array_equal(wrong.restore(saved.state()), saved.obs)
    action = np.full((3, 2), 0.5, dtype=np.float32)
    assert np.array_equal(copy.step(action, make_rng(5))[0], saved.step(action, make_rng(5))[0])


def spy_on_evaluations(monkeypatch) -> list:
    """The grip every evaluation drives on, in order."""
    seen, real = [], grip.evaluate_on_grip

    def spy(act, config, episodes, seed, grip_now, plan=None):
        seen.append(grip_now)
        return real(act, config, episodes, seed, grip_now, plan)

    monkeypatch.setattr(grip, "evaluate_on_grip", spy)
    return seen


def test_training_cars_follow_the_grips_and_evaluations_drive_on_the_grip_in_force(monkeypatch):
    seen = spy_on_evaluations(monkeypatch)
    result = ppo.train(ppo.Config(**TINY_CAR), make_rng(0))
    # evaluations after 256, 512, 768 env steps (2 cars: 128, 256, 384 pool steps; a change every 128)
    assert seen == [2.0, 9.0, 2.0, 2.0]
    assert result.metrics["config"]["grip_every"] == 256
    # an evaluation at a change drives on the new grip: the change at 256 has none before it and is not
    # reported; those at 512 and 768 have one on each side
    assert [row["change"] for row in result.metrics["grip_recovery"]["changes"]] == [2, 3]


def spy_on_episode_starts(monkeypatch) -> list:
    """The step at which each car's episode began, as a resume's ``grip.seek`` puts its world back there."""
    began, real = [], grip.seek

    def spy(envs, schedule, pool_steps, tensors):
        began.extend(int(pool_steps - length) for length in tensors["pool.lengths"])
        return real(envs, schedule, pool_steps, tensors)

    monkeypatch.setattr(grip, "seek", spy)
    return began


TINY_CAR_DQN = dict(env="annrl/CarTrack-v0", track="oval", total_steps=600, hidden="8", learning_starts=100,
                    train_frequency=50, gradient_steps=2, buffer_size=1000, eval_every=200, eval_episodes=2,
                    final_eval_episodes=2, grip_every=250, grips="9,2")


def test_dqn_cars_follow_the_grips_and_a_run_stopped_mid_phase_resumes_bit_for_bit(monkeypatch, tmp_path):
    seen = spy_on_evaluations(monkeypatch)
    # grip 0.01 makes even a slow untrained car turn differently, so a replay on the wrong grip would show
    config = dqn.Config(**{**TINY_CAR_DQN, "grips": "9,0.01"}, continual_backprop=True, cbp_replacement_rate=0.05,
                        cbp_maturity=3)
    whole = dqn.train(config, make_rng(2))
    # one car: evaluations after 200, 400, 600 steps and the final one, on grips 9 (0-249), 0.01 (250-499), 9
    assert seen == [9.0, 0.01, 9.0, 9.0]
    with pytest.raises(Stopped):  # in the second phase
        dqn.train(config, make_rng(2), out=tmp_path, checkpoint_every="off", stop=StopAfter(330))
    began = spy_on_episode_starts(monkeypatch)
    resumed = dqn.train(config, make_rng(2), out=tmp_path, resume=True)
    assert began == [0]  # stopped at step 330 (grip 0.01) in an episode begun on grip 9: the replay crosses the change
    assert np.array_equal(resumed.policy.flat_, whole.policy.flat_)
    assert resumed.metrics["learning_curve"] == whole.metrics["learning_curve"]


def test_a_run_stopped_mid_phase_resumes_bit_for_bit(monkeypatch, tmp_path):
    # one evaluation: a slow untrained car can drive 3000 steps; grip 0.01 makes even a slow car turn differently
    config = ppo.Config(**{**TINY_CAR, "continual_backprop": True, "cbp_replacement_rate": 0.05, "cbp_maturity": 3,
                           "eval_every": 768, "grips": "9,0.01"})
    whole = ppo.train(config, make_rng(1))
    with pytest.raises(Stopped):
        ppo.train(config, make_rng(1), out=tmp_path, checkpoint_every="off", stop=StopAfter(3))
    began = spy_on_episode_starts(monkeypatch)
    resumed = ppo.train(config, make_rng(1), out=tmp_path, resume=True)
    # stopped after 3 rollouts (pool step 192, grip 0.01 since 128) inside episodes that began on grip 9: the
    # replay has to drive them across the change (replayed on 0.01 alone, the run ends with other weights)
    assert began == [0, 0]
    assert np.array_equal(resumed.policy.flat_, whole.policy.flat_)
    assert resumed.metrics["learning_curve"] == whole.metrics["learning_curve"]


@pytest.mark.parametrize("module, changes, field", [
    (ppo, dict(env="CartPole-v1"), "--grip-every"),
    (dqn, dict(env="CartPole-v1"), "--grip-every"),
    (ppo, dict(grip_every=255), "--grip-every"),
    (ppo, dict(grips="9,fast"), "--grips"),
    (dqn, dict(grips="9,-1"), "--grips"),
])
def test_bad_grip_schedules_are_refused_by_name(module, changes, field):
    tiny = TINY_CAR_DQN if module is dqn else TINY_CAR
    with pytest.raises(InputError, match=field):
        module.train(module.Config(**{**tiny, **changes}), make_rng(0))


def test_adam_decays_reach_every_optimizer_and_bad_ones_are_refused_by_name():
    config = ppo.Config(**{**TINY_CAR, "adam_beta1": 0.99, "adam_beta2": 0.99})
    agent = ppo.ActorCritic(config, obs_dim=4, n_outputs=2, discrete=False, rng=make_rng(0))
    assert {opt.betas for opt in agent.optimizers.values()} == {(0.99, 0.99)}
    for field, value in (("adam_beta1", 1.0), ("adam_beta2", -0.1)):
        with pytest.raises(InputError, match=field):
            ppo.train(ppo.Config(**{**TINY_CAR, field: value}), make_rng(0))


def test_recovery_reads_each_change_off_the_learning_curve():
    # evaluations every 10 steps, the world changes every 100; worked out by hand below
    returns = ([50.0] * 7 + [100.0] * 3                                      # phase 0: pre-change level 100
               + [20.0, 50.0, 95.0, 80.0, 95.0, 95.0, 95.0, 95.0, 60.0, 95.0]  # 90 first at +20, four in a row at +40
               + [10.0] * 10                                                 # level (95 + 60 + 95) / 3: never again
               + [9.5] * 10)                                                 # level 10: at once
    curve = [(10 * k, value) for k, value in enumerate(returns)]
    report = grip.recovery(curve, 100)  # window 100 // 4 = 25
    first, second, third = report["changes"]
    assert (first["change"], first["pre_change"], first["first_after"]) == (1, 100.0, 20.0)
    assert (first["steps_to_90pct"], first["steps_to_90pct_held"], first["met"]) == (20, 40, True)
    assert first["share_at_90pct"] == 0.6
    assert second["pre_change"] == pytest.approx(250.0 / 3)
    assert (second["steps_to_90pct"], second["steps_to_90pct_held"], second["met"]) == (None, None, False)
    assert (third["steps_to_90pct"], third["met"], third["share_at_90pct"]) == (0, True, 1.0)
    assert report["all_met"] is False and report["window"] == 25
    assert report["average_eval_return"] == pytest.approx(sum(returns) / len(returns))
    # a change with no evaluation after it (at 400, past the last) is not reported; a stricter window misses more
    assert len(grip.recovery(curve, 100, window=10)["changes"]) == 3
    assert [c["met"] for c in grip.recovery(curve, 100, window=10)["changes"]] == [False, False, True]
