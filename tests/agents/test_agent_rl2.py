"""RL^2: frozen weights that learn within a lifetime on unseen bandits; exact resume."""

from __future__ import annotations

import numpy as np
import pytest
from rl_helpers import StopAfter

from annrl.agents import make_rng, rl2
from annrl.agents.tasks import BanditTasks, CartPoleTasks
from annrl.errors import InputError, Stopped


def test_step_input_encodes_previous_action_reward_and_done():
    x = rl2.step_input(np.zeros((2, 1)), np.array([-1, 2]), np.array([0.0, 1.0]), np.array([False, True]), 3)
    np.testing.assert_array_equal(x, [[0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]])


def test_acting_step_by_step_matches_the_sequence_forward():
    net = rl2.recurrent_policy(12, 8, 10, make_rng(0))
    lives = rl2.live(net, BanditTasks(3), 6, make_rng(1), greedy=True)
    logits = net.predict(lives.inputs)[0, :, :, :10]
    np.testing.assert_array_equal(np.argmax(logits, axis=-1), lives.actions)


def test_a_small_run_beats_random_pulls_on_unseen_bandits_and_rises_within_the_lifetime():
    config = rl2.Config(total_steps=32 * 20 * 200, lifetimes=32, lifetime=20, arms=5, hidden="16",
                        eval_every=10**9, eval_episodes=50, final_eval_episodes=500, seed=0)
    m = rl2.train(config, make_rng(0)).metrics["meta_test"]
    random_regret = 20 * (5 / 6 - 1 / 2)  # E[max of 5 uniforms] - E[uniform], per pull
    assert m["mean_regret"] < 0.8 * random_regret
    blocks = m["reward_per_step_by_block"]
    assert np.mean(blocks[-3:]) > np.mean(blocks[:2]) + 0.05  # reward per pull rises: learning, weights frozen


def test_epsilon_greedy_regret_on_a_known_bandit():
    p = np.array([[0.0, 1.0]] * 1000)
    regret = rl2.epsilon_greedy_regret(p, 50, 0.2, make_rng(0), try_each_first=True)
    # after trying both arms it exploits arm 1; exploration pulls arm 0 half the time: 1 + 48 * 0.1
    assert regret.mean() == pytest.approx(1 + 48 * 0.1, abs=0.3)


def test_cartpole_tasks_change_the_pole_and_restart_within_the_lifetime():
    tasks = CartPoleTasks(2, max_episode_steps=10)
    tasks.reset(make_rng(0))
    assert tasks.lengths_[0] != tasks.lengths_[1] and 0.25 <= tasks.lengths_.min() <= tasks.lengths_.max() <= 1.0
    done = [tasks.step(np.array([t % 2, (t + 1) % 2]), make_rng(1))[2] for t in range(10)]  # wiggle: stays up
    assert not np.any(done[:9]) and np.all(done[9])  # the time limit ends trial 1 on both
    assert tasks.envs[0].unwrapped.length == tasks.lengths_[0]  # same task after the restart
    tasks.close()


def test_resume_is_bit_for_bit(tmp_path):
    config = rl2.Config(total_steps=8 * 10 * 6, lifetimes=8, lifetime=10, hidden="8", eval_every=160,
                        eval_episodes=5, final_eval_episodes=5, seed=3)
    whole = rl2.train(config, make_rng(3)).metrics
    with pytest.raises(Stopped):
        rl2.train(config, make_rng(3), out=tmp_path, stop=StopAfter(3))
    resumed = rl2.train(config, make_rng(3), out=tmp_path, resume=True).metrics
    assert resumed["learning_curve"] == whole["learning_curve"]
    assert resumed["final_eval_return"] == whole["final_eval_return"]


def test_unknown_task_and_two_layers_are_refused():
    with pytest.raises(InputError, match="bandit"):
        rl2.train(rl2.Config(env="MountainCar-v0"), make_rng(0))
    with pytest.raises(InputError, match="one GRU"):
        rl2.train(rl2.Config(hidden="8,8"), make_rng(0))
