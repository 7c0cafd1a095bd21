"""Upside-Down RL: the behaviour network learns commands exactly, and a short CartPole run improves."""

from __future__ import annotations

import numpy as np
import pytest
from rl_helpers import StopAfter

from annrl.agents import make_rng, udrl
from annrl.errors import Stopped
from annrl.nn import MLP, Adam


def test_behaviour_network_reaches_100_percent_on_a_deterministic_command_dataset():
    # the action is decided by the command alone: (return, horizon) -> one of 3 actions
    commands = np.array([[r, h] for r in (0.0, 10.0, 20.0, 30.0) for h in (5.0, 15.0, 25.0)])
    actions = ((commands[:, 0] / 10 + commands[:, 1] / 10).astype(int)) % 3
    obs = np.zeros((len(commands), 2))
    config = udrl.Config(return_scale=0.05, horizon_scale=0.05)
    rng = make_rng(0)
    net = MLP([4, 32, 32, 3], hidden="relu", init="torch", rng=rng)
    adam = Adam(lr=3e-3)
    adam.reset(net.flat_)
    inputs = udrl.behaviour_input(obs, commands, config)
    for _ in range(1500):
        udrl.supervised_step(net, adam, inputs, actions)
    predicted = np.argmax(net.predict(inputs)[0], axis=1)
    assert np.mean(predicted == actions) == 1.0


def test_buffer_keeps_the_best_episodes_and_samples_what_followed():
    buffer = udrl.EpisodeBuffer(2)
    for total in (3.0, 1.0, 5.0):
        buffer.add(np.arange(3.0)[:, None], np.array([0, 1, 0]), np.array([total, 0.0, 1.0]))
    assert buffer.returns().tolist() == [6.0, 4.0]
    obs, commands, actions = buffer.sample(200, make_rng(0))
    t = obs[:, 0].astype(int)
    assert np.all(commands[:, 1] == 3 - t)  # horizon: steps to the end
    assert np.all((commands[:, 0] == np.where(t == 0, np.where(commands[:, 0] > 4.5, 6.0, 4.0), np.where(t == 1, 1, 1)))
                  | (t == 0))
    np.testing.assert_array_equal(commands[t == 2, 0], 1.0)
    np.testing.assert_array_equal(actions, np.array([0, 1, 0])[t])
    command, horizon = buffer.exploratory_command(2, None)
    assert horizon == 3.0 and command == pytest.approx(5.0 + 1.0)  # mean + std of (6, 4)


def test_folded_network_equals_the_behaviour_network_at_that_command():
    config = udrl.Config()
    net = MLP([4, 8, 2], hidden="relu", init="torch", seed=0)
    obs = np.random.default_rng(0).normal(size=(5, 2))
    command = np.array([120.0, 80.0])
    folded = udrl.fold_command(net, command, config)
    full = net.predict(udrl.behaviour_input(obs, np.tile(command, (5, 1)), config))
    np.testing.assert_allclose(folded.predict(obs), full, atol=1e-12)


def test_short_cartpole_run_improves_return():
    config = udrl.Config(total_steps=6000, eval_every=100_000, updates_per_iter=30, batch_size=128, seed=0,
                         final_eval_episodes=10)
    m = udrl.train(config, make_rng(0)).metrics
    random_return = np.mean([r for _, r in m["charts/episodic_return"][:20]])  # the warm-up: random actions
    assert m["final_eval_return"] > 2.0 * random_return


def test_resume_is_bit_for_bit(tmp_path):
    config = udrl.Config(total_steps=1500, eval_every=700, updates_per_iter=5, batch_size=32, seed=1,
                         eval_episodes=2, final_eval_episodes=2)
    whole = udrl.train(config, make_rng(1)).metrics
    with pytest.raises(Stopped):
        udrl.train(config, make_rng(1), out=tmp_path, stop=StopAfter(3))
    resumed = udrl.train(config, make_rng(1), out=tmp_path, resume=True).metrics
    assert resumed["learning_curve"] == whole["learning_curve"]
    assert resumed["final_eval_returns"] == whole["final_eval_returns"]


def test_continuous_actions_are_refused():
    with pytest.raises(ValueError, match="discrete"):
        udrl.train(udrl.Config(env="Pendulum-v1"), make_rng(0))
