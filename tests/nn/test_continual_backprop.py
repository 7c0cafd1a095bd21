"""Continual backprop: which units are replaced, and what a replacement does to the network."""

from __future__ import annotations

import numpy as np
import pytest

from annrl.nn import MLP, Adam, Trainer
from annrl.nn.continual_backprop import ContinualBackprop, dead_fraction, hidden_activations


def _net(population=1, seed=0):
    return MLP([3, 6, 2], hidden="relu", output="identity", init="torch", population=population, seed=seed)


def _with_utilities(net, utilities, ages, rate=1.0, maturity=10):
    cbp = ContinualBackprop(net, replacement_rate=rate, maturity_threshold=maturity, decay_rate=0.5)
    cbp.utility_[0][...] = utilities
    cbp.age_[0][...] = ages
    return cbp


def test_only_the_lowest_utility_mature_units_are_replaced():
    net = _net()
    # unit 0 has the lowest utility but is young; units 3 and 5 are the two lowest among the mature ones
    utilities = np.array([[0.001, 0.9, 0.8, 0.01, 0.7, 0.02]])
    ages = np.array([[5, 50, 50, 50, 50, 50]])
    cbp = _with_utilities(net, utilities, ages, rate=2.0 / 5.0)  # 5 mature units: 2 replacements per step
    before = np.array(net.flat_)
    chosen = cbp.select()
    assert sorted(chosen[0][0].tolist()) == [3, 5]
    cbp.pending_[...] = 0.0
    cbp.utility_[0][...] = utilities
    replaced = cbp.replace(np.random.default_rng(0))
    assert replaced == 2
    w_in, w_out = net.params_["0.weight"][0], net.params_["2.weight"][0]
    old = net.layout.views(before, np)
    untouched = [0, 1, 2, 4]
    np.testing.assert_array_equal(w_in[:, untouched], old["0.weight"][0][:, untouched])
    np.testing.assert_array_equal(w_out[untouched], old["2.weight"][0][untouched])
    assert not np.array_equal(w_in[:, [3, 5]], old["0.weight"][0][:, [3, 5]])
    np.testing.assert_array_equal(w_out[[3, 5]], 0.0)
    assert cbp.age_[0][0, 3] == 0 and cbp.age_[0][0, 1] == 50  # replaced units are young again


def test_fractional_rate_accumulates_until_a_whole_unit():
    net = _net()
    cbp = _with_utilities(net, np.linspace(0.1, 0.6, 6)[None], np.full((1, 6), 100), rate=0.05)  # 0.3 units/step
    counts = [cbp.replace(np.random.default_rng(k)) for k in range(10)]
    # 6 mature units owe 0.3 a step: one unit at step 4; the fresh unit is young, so 5 owe 0.25 (step 8)
    assert counts == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]


def test_no_mature_unit_no_replacement_even_with_zero_utility():
    net = _net()
    cbp = _with_utilities(net, np.zeros((1, 6)), np.full((1, 6), 10), rate=1.0, maturity=10)  # age == threshold
    assert cbp.replace(np.random.default_rng(0)) == 0


def test_replacing_a_dead_unit_leaves_the_function_unchanged():
    net = _net()
    X = np.random.default_rng(1).normal(size=(20, 3))
    net.params_["0.weight"][0, :, 2] = 0.0
    net.params_["0.bias"][0, 0, 2] = -1.0  # ReLU unit 2 is dead: outputs 0 for every input
    before = net.predict(X).copy()
    cbp = ContinualBackprop(net, replacement_rate=1.0 / 6.0, maturity_threshold=0, decay_rate=0.9)
    for _ in range(3):
        cbp.observe(hidden_activations(net, X))
    assert dead_fraction(hidden_activations(net, X)) == pytest.approx(1 / 6)
    assert cbp.replace(np.random.default_rng(0)) == 1
    assert net.params_["0.weight"][0, :, 2].any()  # fresh incoming weights...
    np.testing.assert_allclose(net.predict(X), before, rtol=0, atol=1e-12)  # ...and the same function


def test_new_incoming_weights_cannot_change_the_output_and_the_mean_is_kept():
    net = _net(seed=3)
    X = np.random.default_rng(2).normal(size=(50, 3))
    cbp = ContinualBackprop(net, replacement_rate=0.0, maturity_threshold=0, decay_rate=0.0)  # mean = this batch
    cbp.observe(hidden_activations(net, X))
    before = net.predict(X)[0]
    cbp.reinitialise(0, 0, np.array([1]), np.random.default_rng(0))
    after = net.predict(X)[0]
    np.testing.assert_allclose(after.mean(axis=0), before.mean(axis=0), atol=1e-12)  # the batch mean is kept
    net.params_["0.weight"][0, :, 1] += 5.0  # whatever the new unit computes, it has no outgoing weight yet
    np.testing.assert_array_equal(net.predict(X)[0], after)


def test_optimizer_state_of_a_replaced_unit_is_forgotten():
    net = _net()
    adam = Adam(lr=1e-3)
    adam.reset(net.flat_)
    adam.state_["m"][...] = 1.0
    cbp = _with_utilities(net, np.array([[0.5, 0.5, 0.0, 0.5, 0.5, 0.5]]), np.full((1, 6), 100), rate=1.0 / 6.0)
    cbp.replace(np.random.default_rng(0), adam)
    m = net.layout.views(adam.state_["m"], np)
    assert np.all(m["0.weight"][0, :, 2] == 0) and np.all(m["2.weight"][0, 2] == 0) and m["0.bias"][0, 0, 2] == 0
    assert np.all(m["0.weight"][0, :, [0, 1, 3, 4, 5]] == 1.0) and np.all(m["2.bias"] == 1.0)


def test_each_network_of_a_population_replaces_its_own_units():
    net = _net(population=2)
    utilities = np.array([[0.1, 0.9, 0.9, 0.9, 0.9, 0.9], [0.9, 0.9, 0.9, 0.9, 0.9, 0.1]])
    cbp = _with_utilities(net, utilities, np.full((2, 6), 100), rate=1.0 / 6.0)
    chosen = cbp.select()[0]
    assert chosen[0].tolist() == [0] and chosen[1].tolist() == [5]


def test_as_a_trainer_callback_it_replaces_units_and_training_still_fits():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    Y = np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])], axis=1)
    net = _net()
    adam = Adam(lr=0.01)
    trainer = Trainer(net, X, Y, loss="mse", optimizer=adam)
    cbp = ContinualBackprop(net, replacement_rate=0.01, maturity_threshold=20)
    first = float(trainer.step(X, Y)[0][0])
    trainer.run(400, callbacks=[cbp.callback(X, rng, adam)])
    assert cbp.replaced_ > 0
    assert float(trainer.history().final_loss[0]) < 0.5 * first


def test_state_round_trip():
    net = _net()
    cbp = _with_utilities(net, np.arange(6.0)[None], np.full((1, 6), 7))
    other = ContinualBackprop(net)
    other.restore(cbp.state())
    np.testing.assert_array_equal(other.utility_[0], cbp.utility_[0])
    np.testing.assert_array_equal(other.age_[0], cbp.age_[0])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="replacement_rate"):
        ContinualBackprop(_net(), replacement_rate=2.0)
    with pytest.raises(ValueError, match="hidden layer"):
        ContinualBackprop(MLP([3, 2]))
