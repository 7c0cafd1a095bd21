"""backward(accumulate=False): gradients written straight into net.grad equal zero_grad + backward."""

import numpy as np
import pytest

from annrl.nn import ActivationLayer, Dense, Network
from annrl.nn.recurrent import ElmanRNN, TakeLast
from annrl.nn.residual import Residual

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def _gradients(net, x, accumulate):
    y, caches = net.forward(x)
    grad_y = np.cos(3.0 * y)  # any upstream gradient
    if accumulate:
        net.zero_grad()
    else:
        net.grad[...] = np.nan  # stale values must all be overwritten
    grad_x = net.backward(grad_y, caches, input_grad=True, accumulate=accumulate)
    return net.grad.copy(), grad_x


def _mlp(population):
    layers = [Dense(2, 3), ActivationLayer("sigmoid"), Dense(3, 1), ActivationLayer("tanh")]
    return Network(layers, population=population, seed=0)


@pytest.mark.parametrize("population", [1, 5, 100])  # 100: the population-innermost path
@pytest.mark.parametrize("own_data", [False, True])
def test_overwriting_gradients_equals_zeroing_and_adding(population, own_data):
    net = _mlp(population)
    x = np.random.default_rng(1).normal(size=(population, 4, 2)) if own_data else X
    added, grad_x = _gradients(net, x, accumulate=True)
    written, grad_x_written = _gradients(net, x, accumulate=False)
    np.testing.assert_array_equal(written, added)
    np.testing.assert_array_equal(grad_x_written, grad_x)


def test_population_innermost_gradients_match_each_network_alone():
    big = _mlp(100)
    x = np.random.default_rng(2).normal(size=(100, 4, 2))
    written, _ = _gradients(big, x, accumulate=False)
    for p in (0, 57, 99):
        alone = big.select([p])
        expected, _ = _gradients(alone, x[p : p + 1], accumulate=True)
        np.testing.assert_allclose(written[p], expected[0], rtol=1e-12, atol=1e-14)


def test_layers_without_their_own_backward_into_copy_their_gradients():
    layers = [ElmanRNN(2, 3), TakeLast(), Residual([Dense(3, 3), ActivationLayer("tanh")]), Dense(3, 1)]
    net = Network(layers, population=3, seed=4)
    x = np.random.default_rng(3).normal(size=(5, 4, 2))  # (N, T, in)
    added, _ = _gradients(net, x, accumulate=True)
    written, _ = _gradients(net, x, accumulate=False)
    np.testing.assert_array_equal(written, added)
