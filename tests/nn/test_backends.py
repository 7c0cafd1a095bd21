"""One engine source on NumPy, PyTorch tensors and array-api-strict: the same numbers to 1e-10."""

import numpy as np
import pytest

from annrl.backend import to_backend, to_numpy
from annrl.nn import MLP, SGD, Adam, RMSprop, fit

X = np.random.default_rng(0).normal(size=(8, 3))
Y = np.random.default_rng(1).normal(size=(8, 2))
BACKENDS = ["torch", "array_api_strict"]


def train(backend, loss, optimizer, population, **kwargs):
    net = MLP([3, 4, 2], hidden="tanh", population=population, seed=0)
    if backend != "numpy":
        pytest.importorskip(backend)
        net.to(backend)
    target = (Y > 0).astype(float) if loss == "bce" else Y
    history = fit(net, to_backend(X, backend), to_backend(target, backend), loss=loss, optimizer=optimizer(),
                  epochs=60, **kwargs)
    return to_numpy(net.flat_), history


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("loss", "optimizer"), [
    ("mse", lambda: SGD(lr=0.05, momentum=0.9, nesterov=True)),
    ("huber", lambda: Adam(lr=0.02)),
    ("bce", lambda: RMSprop(lr=0.01)),
])
@pytest.mark.parametrize("population", [3, 70])
def test_training_agrees_with_numpy(backend, loss, optimizer, population):
    expected, expected_history = train("numpy", loss, optimizer, population)
    found, history = train(backend, loss, optimizer, population)
    np.testing.assert_allclose(found, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(history.loss, expected_history.loss, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tolerance_and_minibatches_agree_with_numpy(backend):
    def run(b):
        return train(b, "mse", lambda: Adam(lr=0.05), 4, until=0.2, batch_size=3, rng=np.random.default_rng(5))

    (expected, expected_history), (found, history) = run("numpy"), run(backend)
    np.testing.assert_allclose(found, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(history.reached_epoch, expected_history.reached_epoch)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend must be one of"):
        MLP([2, 1]).to("jax")
