"""Evolved Hebbian plasticity: the rule by hand, plastic weights, the sensor failure, and resume."""

from __future__ import annotations

import numpy as np
import pytest
from rl_helpers import StopAfter

from annrl.agents import hebbian, make_rng
from annrl.errors import Stopped


def test_hebbian_update_equals_its_formula_on_a_hand_computed_2x2_case():
    pre, post = np.array([[1.0, -0.5]]), np.array([[0.5, 2.0]])
    rule = {"A": np.array([[[1.0, 2.0], [0.0, -1.0]]]), "B": np.array([[[0.5, 0.0], [1.0, 0.0]]]),
            "C": np.array([[[0.0, 1.0], [0.0, 0.5]]]), "D": np.array([[[0.1, 0.0], [0.0, -0.2]]]),
            "eta": np.array([[[0.1, 1.0], [2.0, 0.5]]])}
    # dw_ij = eta (A o_i o_j + B o_i + C o_j + D), worked by hand:
    # w00: 0.1 (1*1*0.5 + 0.5*1 + 0 + 0.1)       = 0.1 * 1.1 = 0.11
    # w01: 1.0 (2*1*2 + 0 + 1*2 + 0)             = 6.0
    # w10: 2.0 (0 + 1*(-0.5) + 0 + 0)            = -1.0
    # w11: 0.5 (-1*(-0.5)*2 + 0 + 0.5*2 - 0.2)   = 0.5 * 1.8 = 0.9
    dw = hebbian.hebbian_update(np.zeros((1, 2, 2)), pre, post, rule)
    np.testing.assert_allclose(dw[0], [[0.11, 6.0], [-1.0, 0.9]], atol=1e-12)


def test_plastic_network_changes_its_weights_by_the_rule_as_it_acts():
    net = hebbian.PlasticNetwork([2, 2])
    rules = np.zeros((1, net.n_coefficients))
    rules[0, 12:16] = 1.0  # D = 1 everywhere (blocks A, B, C, D, eta of 4 synapses each)
    rules[0, 16:20] = 0.25  # eta
    net.set_rules(rules, repeats=3)
    net.reset_weights(make_rng(0), 0.5)
    start = net.weights_[0].copy()
    out = net.act(np.ones((3, 2)), w_max=10.0)
    np.testing.assert_allclose(out, np.tanh(np.einsum("mi,mio->mo", np.ones((3, 2)), start)))
    np.testing.assert_allclose(net.weights_[0], start + 0.25)  # eta * D
    net.act(np.ones((3, 2)), w_max=0.3)
    assert np.abs(net.weights_[0]).max() <= 0.3  # clipped


def test_sensor_failure_zeroes_the_rays_from_its_step_on():
    from annrl.envs import CarTrackVecEnv

    env = hebbian.SensorFailure(CarTrackVecEnv(2, "oval", autoreset_mode="Disabled"), rays=[0, 4], at_step=3)
    obs, _ = env.reset(seed=0)
    assert obs[:, 0].min() > 0
    seen = [env.step(np.array([3, 3]))[0] for _ in range(4)]
    assert seen[1][:, 0].min() > 0 and np.all(seen[2][:, [0, 4]] == 0) and np.all(seen[3][:, [0, 4]] == 0)
    assert seen[3][:, 2].min() > 0  # the other rays still see


def test_recovery_steps_finds_when_the_progress_rate_comes_back():
    t = np.arange(400)
    steady = t * 0.001
    dip = np.where(t < 200, t * 0.001, np.where(t < 260, 0.2, 0.2 + (t - 260) * 0.001))
    progress, alive = np.stack([steady, dip, np.minimum(steady, 0.21)]), np.ones((3, 400), dtype=bool)
    found = hebbian.recovery_steps(progress, alive, at_step=200, window=20)
    assert found[0] == 0 and 50 <= found[1] <= 60 and np.isinf(found[2])


def test_evolution_resumes_bit_for_bit(tmp_path):
    config = hebbian.Config(env="CartPole-v1", continuous=False, total_steps=3000, population=8, eval_every=1500,
                            eval_episodes=2, final_eval_episodes=2, seed=2, hidden="4")
    whole = hebbian.train(config, make_rng(2)).metrics
    with pytest.raises(Stopped):
        hebbian.train(config, make_rng(2), out=tmp_path, stop=StopAfter(2))
    resumed = hebbian.train(config, make_rng(2), out=tmp_path, resume=True).metrics
    assert resumed["learning_curve"] == whole["learning_curve"]
    assert resumed["final_eval_returns"] == whole["final_eval_returns"]


def test_static_baseline_keeps_its_weights_and_failing_rays_are_checked():
    net = hebbian.PlasticNetwork([3, 2], plastic=False)
    assert net.n_coefficients == 6
    weights = np.arange(6.0)[None] / 10
    net.set_rules(weights, repeats=2)
    net.reset_weights(make_rng(0), 0.5)
    out = net.act(np.ones((2, 3)), w_max=0.1)
    np.testing.assert_allclose(out, np.tanh(np.ones((2, 3)) @ weights.reshape(3, 2)))
    np.testing.assert_array_equal(net.weights_[0][1], weights.reshape(3, 2))  # acting changed nothing
    with pytest.raises(Exception, match="failure-rays"):
        hebbian.parse_rays("0,9", 6)


def test_a_saved_hebbian_agent_replays_as_a_policy(tmp_path):
    from annrl.agents import load_policy

    config = hebbian.Config(env="annrl/CarTrack-v0", continuous=True, total_steps=4000, population=4,
                            eval_every=4000, eval_episodes=1, final_eval_episodes=1, seed=5, hidden="4")
    result = hebbian.train(config, make_rng(5))
    hebbian.save_agent(tmp_path / "agent.safetensors", result, config)
    policy = load_policy(tmp_path)  # a run folder, as `rl eval` and `car drive --checkpoint` take it
    obs = np.random.default_rng(0).uniform(0, 1, (3, 6))
    for _ in range(4):  # the weights change as it acts: every step must match the trained agent's
        np.testing.assert_array_equal(policy(obs), result.act(obs))
    assert policy.shape.obs_dim == 6 and not policy.shape.discrete and policy.metadata["track"] == "s_bends"
