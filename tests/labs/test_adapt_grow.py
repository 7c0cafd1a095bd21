"""The constructive network: units are added at plateaus only, and growth stops at the target."""

import numpy as np
import pytest

from annrl.labs.adapt.grow import GrowingNetwork, InputAndTanh
from annrl.labs.adapt.lab import growth_tasks
from annrl.nn import Dense, Network, gradcheck


@pytest.fixture(scope="module")
def grown():
    tasks = growth_tasks(np.random.default_rng(0))
    out = {}
    for name, (X, Y) in tasks.items():
        net = GrowingNetwork(2, 1, seed=0)
        out[name] = (net, net.fit(X, Y, epochs=5000), X, Y)
    return out


def test_a_linear_task_needs_no_hidden_unit(grown):
    net, record, _, _ = grown["linear"]
    assert net.units == 0 and record.added_at == []
    assert record.loss[-1] <= 1e-3


def test_harder_tasks_grow_and_stop_growing_at_the_target(grown):
    one, product = grown["sin(2 x1)"], grown["sin(3 x1) cos(2 x2)"]
    assert 1 <= one[0].units <= 3
    assert product[0].units > one[0].units
    for net, record, X, Y in (one, product):
        assert record.reached_at is not None
        assert np.mean((net.predict(X) - Y) ** 2) <= 1.05e-3  # the network handed back meets the target
        assert record.units[record.reached_at:].max() == net.units  # no unit after the target was reached


def test_a_unit_is_added_only_after_a_window_that_barely_improved(grown):
    net, record, _, _ = grown["sin(3 x1) cos(2 x2)"]
    window = net.window
    for epoch in record.added_at:
        start = record.loss[epoch + 1 - window]
        assert (start - record.loss[epoch]) / start < net.threshold
    # and the new unit, fitted to the residual, lowers the loss at once
    for epoch in record.added_at:
        assert record.loss[epoch + 1] < record.loss[epoch]


def test_the_skip_layer_backward_pass_matches_finite_differences():
    rng = np.random.default_rng(0)
    net = Network([InputAndTanh(3, 4), Dense(7, 2)], population=2, seed=1)
    for X in (rng.normal(size=(5, 3)), rng.normal(size=(2, 5, 3))):
        assert gradcheck(net, X, rng.normal(size=(5, 2))).max_rel_error < 1e-6
