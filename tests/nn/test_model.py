"""Networks: flat parameters and their views, populations, initialisers."""

import numpy as np
import pytest

from annrl.nn import MLP, get_init
from annrl.nn.params import ParamSpec


@pytest.mark.parametrize("population", [1, 5, 100])
def test_named_parameters_are_views_of_the_flat_array(population):
    net = MLP([2, 3, 1], population=population, seed=0)
    assert net.flat_.shape == (population, 2 * 3 + 3 + 3 * 1 + 1)
    assert net.params_["0.weight"].shape == (population, 2, 3)
    assert net.params_["2.bias"].shape == (population, 1, 1)
    net.flat_[...] = 0.0
    net.params_["2.weight"][...] = 7.0
    assert net.flat_.sum() == 7.0 * 3 * population
    assert all(np.shares_memory(v, net.flat_) for v in net.params_.values())


def test_same_seed_same_networks_and_select_copies():
    a, b = MLP([2, 2, 1], population=4, seed=3), MLP([2, 2, 1], population=4, seed=3)
    np.testing.assert_array_equal(a.flat_, b.flat_)
    sub = a.select([2, 0])
    np.testing.assert_array_equal(sub.flat_, a.flat_[[2, 0]])
    sub.flat_[...] = 0.0
    assert np.all(a.flat_ != 0.0)


def test_select_shares_nothing_mutable_with_its_source():
    source = MLP([2, 3, 1], population=4, seed=3)
    before = source.flat_.copy()
    sub = source.select([1, 3])
    sub.flat_[...] = 5.0
    sub.grad[...] = 2.0
    sub.layers.append(sub.layers[-1])
    sub.layers[0].n_out = 99
    sub.sizes.append(7)
    sub.layout.specs.clear()
    np.testing.assert_array_equal(source.flat_, before)
    assert np.all(source.grad == 0.0)
    assert len(source.layers) == 4 and source.layers[0].n_out == 3
    assert source.sizes == [2, 3, 1] and "0.weight" in source.layout.specs
    source.flat_[...] = -1.0
    source.grad[...] = -1.0
    assert np.all(sub.flat_ == 5.0) and np.all(sub.grad == 2.0)
    assert not any(np.shares_memory(v, source.flat_) or np.shares_memory(v, source.grad)
                   for views in (sub.params_, sub.grads) for v in views.values())


def test_repr_shows_population_and_shapes():
    text = repr(MLP([2, 2, 1], population=7))
    assert "P=7" in text and "weight: (7, 2, 2)" in text and "Activation(identity)" in text


def test_predict_shapes_for_shared_and_per_network_inputs():
    net = MLP([3, 4, 2], population=5, seed=1)
    assert net.predict(np.zeros((6, 3))).shape == (5, 6, 2)
    assert net.predict(np.zeros((5, 6, 3))).shape == (5, 6, 2)


@pytest.mark.parametrize(
    ("name", "weight_std", "bias_std"),
    [
        ("normal", 1.0, 1.0),
        ("uniform", 2 / np.sqrt(12), 2 / np.sqrt(12)),
        ("xavier", np.sqrt(2 / (40 + 60)), 0.0),
        ("he", np.sqrt(2 / 40), 0.0),
        ("torch", 2 / np.sqrt(40) / np.sqrt(12), 2 / np.sqrt(40) / np.sqrt(12)),
    ],
)
def test_initialisers_draw_the_documented_spread(name, weight_std, bias_std):
    rng = np.random.default_rng(0)
    init = get_init(name)
    weight = init.sample(rng, ParamSpec((40, 60), 40, 60, "weight"), 50)
    bias = init.sample(rng, ParamSpec((1, 60), 40, 60, "bias"), 50)
    assert weight.std() == pytest.approx(weight_std, rel=0.02)
    assert bias.std() == pytest.approx(bias_std, rel=0.05, abs=1e-12)


def test_float32_parameters_and_outputs():
    net = MLP([2, 2, 1], population=3, dtype="float32")
    assert net.flat_.dtype == np.float32 and net.predict(np.zeros((1, 2))).dtype == np.float32
