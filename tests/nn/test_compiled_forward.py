"""The compiled population forward pass (annrl.nn.compiled.population_forward) against ``net.predict``."""

from __future__ import annotations

import numpy as np
import pytest

from annrl.nn import MLP, compiled
from annrl.nn.layers import Dense
from annrl.nn.model import Network
from annrl.nn.recurrent import GRU, TakeLast

pytest.importorskip("numba")


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "sin"])
def test_population_forward_equals_predict(hidden, dtype, tol):
    rng = np.random.default_rng(0)
    net = MLP([6, 9, 5, 3], hidden=hidden, output="tanh", population=70, init="xavier", seed=2, dtype=dtype)
    for x in (rng.normal(size=(11, 6)) * 3, rng.normal(size=(70, 4, 6))):  # shared and per-network inputs
        got, expected = compiled.population_forward(net, x), net.predict(x)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_a_large_population_runs_in_parallel_blocks_with_the_same_outputs():
    rng = np.random.default_rng(1)
    net = MLP([2, 16, 16, 1], hidden="tanh", population=300, seed=0)
    x = rng.uniform(-1, 1, (256, 2))
    assert 300 * 256 * net.n_params >= compiled.forward.PARALLEL_WORK  # the threaded path
    np.testing.assert_allclose(compiled.population_forward(net, x), net.predict(x), rtol=1e-12, atol=1e-12)


def test_networks_the_kernel_cannot_run_fall_back_to_predict():
    net = Network([GRU(3, 4), TakeLast(), Dense(4, 2)], population=2, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 6, 3))
    np.testing.assert_array_equal(compiled.population_forward(net, x), net.predict(x))


def test_without_numba_it_is_predict(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "numba", None)
    net = MLP([3, 4, 2], population=5, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    np.testing.assert_array_equal(compiled.population_forward(net, x), net.predict(x))
