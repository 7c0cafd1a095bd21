"""The differentiable RK4 rollout: its forward against the RK4 formula, its backward against finite differences."""

import numpy as np
import pytest
from scipy.linalg import expm

from annrl.labs.dynamics.rollout import (
    fit_rollout,
    rk4_step,
    rk4_step_backward,
    rollout,
    rollout_backward,
    window_loss,
    windows,
)
from annrl.nn import MLP, Adam

EPS = 1e-6


def linear_net(matrix, population=1):
    """A network computing ``z -> z @ matrix`` (one Dense layer, identity output)."""
    net = MLP([2, 2], output="identity", population=population, seed=0)
    net.params_["0.weight"][...] = matrix
    net.params_["0.bias"][...] = 0.0
    return net


def test_rk4_step_of_a_linear_field_is_the_fourth_order_taylor_polynomial():
    # for z' = z M one RK4 step multiplies by I + hM + (hM)^2/2 + (hM)^3/6 + (hM)^4/24 exactly
    A = np.array([[-0.3, 1.2], [-2.0, 0.1]])
    scale = np.array([0.5, 2.0])
    M = A * scale  # scale multiplies each output column
    h = 0.2
    z = np.array([[1.0, -0.5], [0.3, 2.0]])
    step, _ = rk4_step(linear_net(A), z, h, scale=scale)
    hm = h * M
    polynomial = np.eye(2) + hm + hm @ hm / 2 + hm @ hm @ hm / 6 + hm @ hm @ hm @ hm / 24
    assert step.shape == (1, 2, 2)
    np.testing.assert_allclose(step[0], z @ polynomial, rtol=0, atol=1e-14)
    # and it is fifth-order close to the exact flow
    assert np.abs(step[0] - z @ expm(hm)).max() < 1e-4


def test_rk4_step_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    net = MLP([2, 6, 2], hidden="tanh", population=2, seed=3)
    scale = np.array([0.8, 1.7])
    z, g, h = rng.normal(size=(2, 5, 2)), rng.normal(size=(2, 5, 2)), 0.3

    def objective(states):  # (P,) per-network sum of g * z_next
        return (rk4_step(net, states, h, scale=scale)[0] * g).sum(axis=(1, 2))

    _, cache = rk4_step(net, z, h, scale=scale)
    net.zero_grad()
    grad_z = rk4_step_backward(net, g, cache)
    # input gradient
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[idx] += EPS
        minus[idx] -= EPS
        numeric[idx] = (objective(plus) - objective(minus))[idx[0]] / (2 * EPS)
    np.testing.assert_allclose(grad_z, numeric, rtol=1e-6, atol=1e-8)
    # parameter gradient, every network against its own objective
    analytic, numeric = net.grad.copy(), np.zeros_like(net.grad)
    for d in range(net.n_params):
        original = net.flat_[:, d].copy()
        net.flat_[:, d] = original + EPS
        plus = objective(z)
        net.flat_[:, d] = original - EPS
        minus = objective(z)
        net.flat_[:, d] = original
        numeric[:, d] = (plus - minus) / (2 * EPS)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_window_loss_gradient_matches_finite_differences_through_a_whole_rollout():
    rng = np.random.default_rng(2)
    net = MLP([2, 5, 5, 2], hidden="tanh", population=2, seed=4)
    starts, targets = windows(rng.normal(size=(12, 2)), 3)
    kw = {"scale": np.array([1.3, 0.6]), "substeps": 2}
    loss = window_loss(net, starts, targets, 0.25, **kw)
    analytic, numeric = net.grad.copy(), np.zeros_like(net.grad)
    for d in range(net.n_params):
        original = net.flat_[:, d].copy()
        net.flat_[:, d] = original + EPS
        plus = window_loss(net, starts, targets, 0.25, backward=False, **kw)
        net.flat_[:, d] = original - EPS
        minus = window_loss(net, starts, targets, 0.25, backward=False, **kw)
        net.flat_[:, d] = original
        numeric[:, d] = (plus - minus) / (2 * EPS)
    assert loss.shape == (2,) and np.all(loss > 0)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)


def test_rollout_backward_gives_the_gradient_of_the_initial_state():
    rng = np.random.default_rng(5)
    net = MLP([2, 4, 2], hidden="tanh", seed=6)
    z0, weights = rng.normal(size=(1, 3, 2)), rng.normal(size=(5, 1, 3, 2))

    def objective(states):
        return float((rollout(net, states, 0.2, 4)[0] * weights).sum())

    path, caches = rollout(net, z0, 0.2, 4)
    assert path.shape == (5, 1, 3, 2) and len(caches) == 4
    np.testing.assert_array_equal(path[0], z0)
    net.zero_grad()
    grad = rollout_backward(net, weights, caches)
    numeric = np.zeros_like(z0)
    for idx in np.ndindex(z0.shape):
        plus, minus = z0.copy(), z0.copy()
        plus[idx] += EPS
        minus[idx] -= EPS
        numeric[idx] = (objective(plus) - objective(minus)) / (2 * EPS)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_parameter_gradients_add_up_over_calls():
    net = MLP([2, 4, 2], hidden="tanh", seed=0)
    z, g = np.ones((1, 3, 2)), np.full((1, 3, 2), 0.5)
    _, cache = rk4_step(net, z, 0.1)
    net.zero_grad()
    rk4_step_backward(net, g, cache)
    once = net.grad.copy()
    rk4_step_backward(net, g, cache)
    assert np.abs(once).max() > 0
    np.testing.assert_allclose(net.grad, 2 * once, rtol=1e-15)


def test_windows_start_at_every_observation():
    z = np.arange(12.0).reshape(6, 2)
    starts, targets = windows(z, 2)
    assert starts.shape == (4, 2) and targets.shape == (3, 4, 2)
    for j in range(3):
        np.testing.assert_array_equal(targets[j], z[j : j + 4])
    with pytest.raises(ValueError, match=r"window must be in \[1, 5\] for 6 samples, got 6"):
        windows(z, 6)


def test_fit_rollout_recovers_a_linear_field_from_its_exact_flow():
    # a damped rotation z' = z A, sampled exactly every dt: the rollout fit finds A
    A = np.array([[-0.1, -1.0], [1.0, -0.1]])
    dt, n = 0.1, 80
    z = np.array([1.0, 0.0]) @ np.stack([expm(k * dt * A) for k in range(n)])
    net = linear_net(np.zeros((2, 2)))
    history = fit_rollout(net, z, dt, window=4, epochs=300, optimizer=Adam(lr=0.05),
                          schedule=lambda epoch: 0.05 * 0.01 ** (epoch / 300))
    assert history.epochs_run == 300 and history.loss[-1, 0] < 1e-8  # about 1e-10
    np.testing.assert_allclose(net.params_["0.weight"][0], A, atol=5e-4)  # about 8e-5
    np.testing.assert_allclose(net.params_["0.bias"][0], 0.0, atol=5e-4)


def test_fit_rollout_needs_rng_for_mini_batches():
    with pytest.raises(ValueError, match="needs rng"):
        fit_rollout(linear_net(np.eye(2)), np.ones((5, 2)), 0.1, window=1, epochs=1, optimizer=Adam(), batch_size=2)
