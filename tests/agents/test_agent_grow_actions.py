"""Growing a Q-network's action set: old outputs unchanged at growth, the new action then learned."""

from __future__ import annotations

import numpy as np

from annrl.agents.grow_actions import GrowConfig, grow_optimizer, grow_output, train
from annrl.nn import MLP, Adam


def test_growing_keeps_every_old_output_and_copies_the_chosen_head():
    net = MLP([6, 8, 5], hidden="relu", output="identity", population=3, seed=1)
    x = np.random.default_rng(0).normal(size=(3, 50, 6))
    grown = grow_output(net, 1, copy_from=4)
    old, new = net.predict(x), grown.predict(x)
    assert new.shape == (3, 50, 6)
    np.testing.assert_array_equal(new[..., :5], old)
    np.testing.assert_array_equal(new[..., 5], old[..., 4])
    np.testing.assert_array_equal(new.argmax(-1), old.argmax(-1))  # ties go to the old, lower index
    zero = grow_output(net, 2).predict(x)
    np.testing.assert_array_equal(zero[..., 5:], 0.0)


def test_adam_moments_grow_with_the_network():
    net = MLP([3, 4, 2], hidden="relu", population=1, seed=0)
    adam = Adam(lr=0.01)
    adam.reset(net.flat_)
    net.grad[...] = 1.0
    adam.step(net.flat_, net.grad)
    grown = grow_output(net, 1, copy_from=0)
    m_old = adam.state_["m"].copy()
    grow_optimizer(adam, net, grown)
    views_old, views_new = net.layout.views(m_old, np), grown.layout.views(adam.state_["m"], np)
    np.testing.assert_array_equal(views_new["2.weight"][..., :2], views_old["2.weight"])
    np.testing.assert_array_equal(views_new["2.weight"][..., 2], 0.0)
    np.testing.assert_array_equal(views_new["0.weight"], views_old["0.weight"])


def test_a_small_run_grows_then_tries_and_learns_the_new_action():
    config = GrowConfig(total_steps=2400, grow_at=1200, learning_starts=200, eval_episodes=2,
                        max_episode_steps=200, hidden="32", buffer_size=5000)
    result = train(config, np.random.default_rng(0))
    metrics = result.metrics
    assert metrics["max_old_output_change_at_growth"] == 0.0
    assert metrics["greedy_actions_changed_at_growth"] == 0
    assert metrics["return_at_growth"] == metrics["return_before_growth"]
    # epsilon 0.2 decaying to 0.04 over 192 steps, then 0.04: about 12 random picks of action 5 expected
    assert metrics["new_action_taken"] >= 5
    q = result.policy
    probe = np.random.default_rng(1).random((100, 6))
    values = q.predict(probe)[0]
    assert np.abs(values[:, 5] - values[:, 4]).max() > 1e-3  # its own values now, not a copy of "slower"
    assert "forgetting" in metrics
