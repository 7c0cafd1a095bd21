"""Backpropagation against central finite differences (eps 1e-5, float64), for every part."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annrl.nn import ACTIVATIONS, MLP, ActivationLayer, Dense, Network, get_loss, gradcheck

DIFFERENTIABLE = [n for n, cls in ACTIVATIONS.items() if cls.differentiable]
LOSSES = ["mse", "bce", "softmax_ce", "huber"]


def targets(loss, rng, shape):
    if loss == "bce":
        return (rng.random(shape) > 0.5).astype(float)
    if loss == "softmax_ce":
        return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    return rng.normal(size=shape) * 2.0  # beyond huber's delta too


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", DIFFERENTIABLE)
def test_backprop_matches_finite_differences(activation, loss):
    rng = np.random.default_rng(0)
    net = MLP([3, 4, 2], hidden=activation, population=3, init="xavier", rng=rng)
    X = rng.normal(size=(5, 3))
    # keep relu-like kinks away from the perturbation: |z| > eps almost surely
    check = gradcheck(net, X, targets(loss, rng, (5, 2)), loss)
    assert check.max_abs_error < 1e-8, (check.max_abs_error, check.worst_parameter)


@pytest.mark.parametrize("population", [1, 100])
def test_both_contraction_paths_match_finite_differences(population):
    """P = 100 tiny nets take the population broadcast path, P = 1 the matmul path."""
    rng = np.random.default_rng(1)
    net = MLP([2, 3, 2, 1], hidden="tanh", population=population, rng=rng)
    check = gradcheck(net, rng.normal(size=(4, 2)), rng.normal(size=(4, 1)))
    assert check.max_abs_error < 1e-8


def test_per_network_inputs_match_finite_differences():
    rng = np.random.default_rng(2)
    net = MLP([2, 3, 1], hidden="sigmoid", population=70, rng=rng)
    check = gradcheck(net, rng.normal(size=(70, 4, 2)), rng.normal(size=(70, 4, 1)))
    assert check.max_abs_error < 1e-8


def test_input_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    for population in (1, 80):
        net = MLP([2, 5, 1], hidden="tanh", population=population, rng=rng)
        X = rng.normal(size=(6, 2))
        analytic = net.input_gradient(X)
        eps = 1e-6
        for k in range(2):
            step = np.zeros(2)
            step[k] = eps
            numeric = (net.predict(X + step) - net.predict(X - step))[..., 0] / (2 * eps)
            np.testing.assert_allclose(analytic[..., k], numeric, atol=1e-8)


def test_gradients_accumulate_for_a_reused_layer():
    """A parameter used twice gets the sum of both contributions (never overwritten)."""
    shared = Dense(2, 2)

    class Twice(Network):
        def forward(self, x):
            h, c1 = shared.forward(self._layer_params[0], x)
            y, c2 = shared.forward(self._layer_params[0], h)
            return y, [c1, c2]

        def backward(self, grad_y, caches, input_grad=False):
            for cache in reversed(caches):
                grad_y, grads = shared.backward(self._layer_params[0], grad_y, cache)
                for name, value in grads.items():
                    self._layer_grads[0][name] += value
            return grad_y

    rng = np.random.default_rng(4)
    net = Twice([shared], seed=0)
    check = gradcheck(net, rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    assert check.max_abs_error < 1e-8


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    activation=st.sampled_from(["sigmoid", "tanh", "softplus", "sin", "identity"]),
    population=st.sampled_from([1, 2, 65]),
    seed=st.integers(0, 2**16),
)
def test_random_architectures_match_finite_differences(sizes, activation, population, seed):
    rng = np.random.default_rng(seed)
    net = MLP(sizes, hidden=activation, population=population, rng=rng)
    check = gradcheck(net, rng.normal(size=(3, sizes[0])), rng.normal(size=(3, sizes[-1])))
    assert check.max_abs_error < 1e-7


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(5)
    pred = rng.normal(size=(2, 4, 3)) * 2
    target = targets(loss, rng, (4, 3))
    fn = get_loss(loss)
    _, grad = fn(pred, target)
    numeric = np.zeros_like(pred)
    for index in np.ndindex(pred.shape):
        bump = np.zeros_like(pred)
        bump[index] = 1e-6
        numeric[index] = (fn(pred + bump, target)[0] - fn(pred - bump, target)[0])[index[0]] / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-8)
    np.testing.assert_array_equal(fn.gradient(pred, target), grad)  # the gradient alone: the same numbers


def test_step_activation_refuses_backprop():
    net = Network([Dense(2, 1), ActivationLayer("step")])
    with pytest.raises(ValueError, match="cannot be trained"):
        gradcheck(net, np.zeros((1, 2)), np.zeros((1, 1)))
