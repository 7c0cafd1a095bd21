"""DQN and PPO: targets, GAE and output gradients with known answers; bit-for-bit resume."""

from __future__ import annotations

import numpy as np
import pytest
from rl_helpers import StopAfter

from annrl.agents import dqn, make_rng, ppo
from annrl.agents.envs import EnvPool
from annrl.agents.settings import linear_schedule
from annrl.errors import InputError, Stopped


def test_linear_schedule():
    assert [linear_schedule(1.0, 0.0, 10, t) for t in (0, 5, 10, 20)] == [1.0, 0.5, 0.0, 0.0]


def test_td_targets_double_and_plain():
    rewards, terminated = np.array([1.0, 0.5]), np.array([0.0, 1.0])
    online = np.array([[1.0, 3.0], [0.0, 9.0]])
    target = np.array([[2.0, 0.5], [4.0, 1.0]])
    # Double DQN: the online net picks action 1, the target net values it at 0.5 -> 1 + 0.9 * 0.5
    np.testing.assert_allclose(dqn.td_targets(rewards, terminated, online, target, 0.9, True), [1.45, 0.5])
    np.testing.assert_allclose(dqn.td_targets(rewards, terminated, online, target, 0.9, False), [2.8, 0.5])


def test_gae_matches_a_hand_computed_example():
    rewards, values = np.ones((3, 1)), np.full((3, 1), 0.5)
    dones = np.array([[0.0], [1.0], [0.0]])
    adv, ret = ppo.gae(rewards, values, dones, np.array([0.5]), gamma=0.9, lam=0.8)
    # t=2: 1 + 0.45 - 0.5 = 0.95; t=1 ends: 1 - 0.5 = 0.5; t=0: 0.95 + 0.9 * 0.8 * 0.5 = 1.31
    np.testing.assert_allclose(adv[:, 0], [1.31, 0.5, 0.95])
    np.testing.assert_allclose(ret[:, 0], [1.81, 1.0, 1.45])


def _numeric(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def test_categorical_output_gradient_matches_finite_differences():
    rng = make_rng(0)
    logits, actions = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    adv = rng.standard_normal(6)
    old = ppo.log_softmax(logits + 0.3 * rng.standard_normal((6, 3)))[np.arange(6), actions]

    def loss(z):
        return ppo.categorical_output_grad(z, actions, old, adv, 0.2, 0.05)[0]

    np.testing.assert_allclose(ppo.categorical_output_grad(logits, actions, old, adv, 0.2, 0.05)[2],
                               _numeric(loss, logits), atol=1e-7)


def test_gaussian_output_gradients_match_finite_differences():
    rng = make_rng(1)
    mean, log_std = rng.standard_normal((5, 2)), np.array([-0.3, 0.2])
    actions, adv = mean + 0.5 * rng.standard_normal((5, 2)), rng.standard_normal(5)
    old = ppo.gaussian_log_prob(actions, mean + 0.2, log_std)
    _, _, g_mean, g_std = ppo.gaussian_output_grad(mean, log_std, actions, old, adv, 0.2, 0.01)
    np.testing.assert_allclose(g_mean, _numeric(
        lambda m: ppo.gaussian_output_grad(m, log_std, actions, old, adv, 0.2, 0.01)[0], mean), atol=1e-7)
    np.testing.assert_allclose(g_std, _numeric(
        lambda s: ppo.gaussian_output_grad(mean, s, actions, old, adv, 0.2, 0.01)[0], log_std), atol=1e-7)


def test_value_gradient_matches_finite_differences():
    values, returns = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, 2.5])
    loss, grad = ppo.value_output_grad(values, returns, 0.5)
    assert loss == pytest.approx(0.5 * (0.25 + 1.0 + 0.25) / 3)
    np.testing.assert_allclose(grad, _numeric(lambda v: 0.5 * ppo.value_output_grad(v, returns, 0.5)[0], values))


def test_env_pool_restores_exactly_by_replaying_actions():
    pool, rng = EnvPool("CartPole-v1", 2), make_rng(0)
    pool.reset(rng)
    for _ in range(30):
        pool.step(rng.integers(0, 2, 2), rng)
    saved, obs = pool.state(), pool.obs.copy()
    copy = EnvPool("CartPole-v1", 2)
    assert np.array_equal(copy.restore(saved), obs)
    action = np.array([1, 0])
    assert np.array_equal(copy.step(action, make_rng(5))[0], pool.step(action, make_rng(5))[0])


TINY = {
    dqn: dict(total_steps=600, hidden="8", learning_starts=100, train_frequency=50, gradient_steps=2,
              buffer_size=1000, eval_every=300, eval_episodes=2, final_eval_episodes=2),
    ppo: dict(total_steps=512, hidden="8", num_envs=2, num_steps=64, minibatch_size=64, update_epochs=2,
              eval_every=256, eval_episodes=2, final_eval_episodes=2),
}


@pytest.mark.parametrize("module", [dqn, ppo])
def test_stop_and_resume_give_the_same_parameters_bit_for_bit(module, tmp_path):
    config = module.Config(**TINY[module])
    straight = module.train(config, make_rng(0))
    with pytest.raises(Stopped):
        module.train(config, make_rng(0), out=tmp_path, checkpoint_every="off", stop=StopAfter(2 if module is ppo
                                                                                              else 350))
    resumed = module.train(config, make_rng(0), out=tmp_path, resume=True)
    assert np.array_equal(resumed.policy.flat_, straight.policy.flat_)
    assert resumed.metrics["learning_curve"] == straight.metrics["learning_curve"]
    assert resumed.metrics["env_steps"] == straight.metrics["env_steps"]


def test_ppo_learns_continuous_pendulum_shapes():
    config = ppo.Config(env="Pendulum-v1", total_steps=512, num_envs=2, num_steps=128, minibatch_size=128,
                        update_epochs=2, eval_every=512, eval_episodes=2, final_eval_episodes=2, hidden="8")
    result = ppo.train(config, make_rng(0))
    assert result.action_mode == "clip" and result.act(np.zeros((3, 3))).shape == (3, 1)
    assert result.metrics["final_eval_return"] < 0  # Pendulum pays negative rewards


@pytest.mark.slow
@pytest.mark.parametrize("module, steps", [(ppo, 50_000), (dqn, 50_000)])
def test_solves_cartpole(module, steps):
    result = module.train(module.Config(total_steps=steps, stop_at_threshold=True, eval_episodes=20), make_rng(0))
    assert result.metrics["steps_to_threshold"] is not None and result.metrics["steps_to_threshold"] <= steps


def test_target_update_copies_with_tau_one_and_moves_a_tau_fraction_otherwise():
    q = dqn.MLP([2, 3, 2], rng=make_rng(0))
    target = dqn.MLP([2, 3, 2], rng=make_rng(1))
    start = np.array(target.flat_)
    dqn.update_target(target, q, 0.25)
    np.testing.assert_allclose(target.flat_, start + 0.25 * (np.asarray(q.flat_) - start))
    dqn.update_target(target, q, 1.0)
    assert np.array_equal(target.flat_, q.flat_)
    with pytest.raises(ValueError, match="tau"):
        dqn.train(dqn.Config(tau=0.0), make_rng(0))


def test_dqn_resumes_bit_for_bit_with_polyak_targets_and_an_annealed_rate(tmp_path):
    config = dqn.Config(**TINY[dqn], tau=0.3, target_network_frequency=1, anneal_lr=True)
    straight = dqn.train(config, make_rng(0))
    assert not np.array_equal(straight.policy.flat_, dqn.train(dqn.Config(**TINY[dqn]), make_rng(0)).policy.flat_)
    with pytest.raises(Stopped):
        dqn.train(config, make_rng(0), out=tmp_path, checkpoint_every="off", stop=StopAfter(350))
    resumed = dqn.train(config, make_rng(0), out=tmp_path, resume=True)
    assert np.array_equal(resumed.policy.flat_, straight.policy.flat_)


@pytest.mark.parametrize("env, extra", [("CartPole-v1", {}), ("Pendulum-v1", {"hidden": "8"})])
def test_ppo_on_torch_takes_the_same_steps_as_on_numpy(env, extra):
    pytest.importorskip("torch")
    settings = dict(env=env, total_steps=512, num_envs=4, num_steps=64, minibatch_size=64, update_epochs=3,
                    eval_every=256, eval_episodes=2, final_eval_episodes=2, **extra)
    on_numpy = ppo.train(ppo.Config(**settings), make_rng(0))
    on_torch = ppo.train(ppo.Config(**settings, backend="torch", device="cpu"), make_rng(0))
    # float64 on both: the same actions are drawn, so the runs agree to rounding
    np.testing.assert_allclose(on_torch.policy.flat_, on_numpy.policy.flat_, rtol=1e-9, atol=1e-11)
    assert [point[0] for point in on_torch.metrics["learning_curve"]] == \
        [point[0] for point in on_numpy.metrics["learning_curve"]]
    np.testing.assert_allclose([p[1] for p in on_torch.metrics["learning_curve"]],
                               [p[1] for p in on_numpy.metrics["learning_curve"]], rtol=1e-9)
    assert not np.array_equal(on_numpy.policy.flat_, ppo.train(ppo.Config(**{**settings, "total_steps": 256}),
                                                               make_rng(0)).policy.flat_)


def test_ppo_refuses_continual_backprop_off_numpy():
    pytest.importorskip("torch")
    with pytest.raises(InputError, match="--continual-backprop runs on --backend numpy only"):
        ppo.train(ppo.Config(backend="torch", continual_backprop=True, total_steps=256), make_rng(0))
