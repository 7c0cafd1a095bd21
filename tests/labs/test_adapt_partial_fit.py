"""Streaming updates: the engine's partial_fit and the scikit-learn wrappers' partial_fit."""

import numpy as np
import pytest

from annrl.nn import MLP, SGD, Adam, Trainer
from annrl.nn.fit import partial_fit


def test_partial_fit_on_successive_batches_is_the_trainers_steps_on_them():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    a, b = MLP([3, 5, 2], hidden="tanh", seed=1), MLP([3, 5, 2], hidden="tanh", seed=1)
    optimizer = Adam(lr=0.01)
    trainer = Trainer(b, X, Y, optimizer=Adam(lr=0.01))
    for start in range(0, 40, 8):
        loss = partial_fit(a, X[start : start + 8], Y[start : start + 8], optimizer=optimizer)
        expected, _ = trainer.step(X[start : start + 8], Y[start : start + 8])
        np.testing.assert_allclose(loss, expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(a.flat_, b.flat_, rtol=0, atol=1e-14)


def test_partial_fit_keeps_a_network_whose_loss_is_not_finite_and_trains_the_others():
    net = MLP([2, 1], population=2, seed=0)
    net.params_["0.weight"][1] = 1e308  # network 1 overflows
    before = np.array(net.flat_)
    with np.errstate(over="ignore", invalid="ignore"):
        loss = partial_fit(net, [[2.0, 1.0]], [[0.0]], optimizer=SGD(lr=0.1))
    assert np.isfinite(loss[0]) and not np.isfinite(loss[1])
    assert not np.allclose(net.flat_[0], before[0])
    np.testing.assert_array_equal(net.flat_[1], before[1])


def test_partial_fit_refuses_an_optimizer_made_for_another_network():
    optimizer = SGD(lr=0.1, momentum=0.9)
    partial_fit(MLP([2, 1], seed=0), [[1.0, 0.0]], [[1.0]], optimizer=optimizer)
    with pytest.raises(ValueError, match="another network"):
        partial_fit(MLP([2, 3, 1], seed=0), [[1.0, 0.0]], [[1.0]], optimizer=optimizer)


def test_the_sklearn_classifier_learns_from_a_stream_with_classes_on_the_first_call():
    from annrl.labs.adapt.prequential import prequential
    from annrl.labs.adapt.streams import make_stream
    from annrl.sklearn import MLPClassifier

    stream = make_stream("sudden", samples=2400, warmup=400, seed=0)
    model = MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", solver="sgd", learning_rate_init=0.05,
                          random_state=0)
    model.partial_fit(stream.X[:10], stream.y[:10], classes=[0, 1])
    hits = prequential(model, stream.X[10:], stream.y[10:], batch=10)
    drift = stream.drifts[0] - 10
    assert hits[drift - 300 : drift].mean() > 0.85  # it learned the first concept from the stream alone
    assert hits[-300:].mean() > 0.85  # and the second
