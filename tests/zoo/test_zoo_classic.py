"""Perceptron, MLP, RBF network, ELM, SOM and Hopfield: each demo's figure of merit, at a level a wrong model misses."""

import numpy as np
import pytest

from annrl.zoo import elm, hopfield, mlp, perceptron, rbf, som


def test_perceptron_separates_separable_data_within_novikoffs_bound(tmp_path):
    rng = np.random.default_rng(3)
    for _ in range(5):
        X, y = perceptron.separable_data(80, 0.08, rng)
        model = perceptron.Perceptron(2, max_epochs=1000).fit(X, y, rng)
        bound, R, gamma = perceptron.novikoff_bound(X, y)
        assert model.converged_ and np.all(model.predict(X) == y)
        assert 0 < model.mistakes_ <= bound
        # the margin found is at least the one the data were made with, for the normalised separator
        assert gamma > 0 and R >= 1.0


def test_perceptron_never_solves_xor_and_the_demo_says_so(tmp_path):
    metrics = perceptron.demo(tmp_path, quick=True)
    assert metrics["separable_accuracy"] == 1.0 and metrics["mistakes"] <= metrics["novikoff_bound"]
    assert metrics["xor_best_accuracy"] <= 0.75  # no line gets more than 3 of the 4 XOR points right
    assert (tmp_path / "perceptron.png").exists()
    with pytest.raises(ValueError, match="not linearly separable"):
        perceptron.novikoff_bound(perceptron.XOR_X, perceptron.XOR_Y)


def test_perceptron_runs_as_an_engine_network():
    model = perceptron.Perceptron(2).fit(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, -1.0]),
                                         np.random.default_rng(0))
    net = model.network()
    assert net.predict([[2.0, 5.0]])[0, 0, 0] == 1.0 and type(net.layers[1]).__name__ == "ActivationLayer"


def test_mlp_classifies_two_moons(tmp_path):
    # a linear boundary gets about 86% of noisy moons right; the hidden layers must do much better
    metrics = mlp.demo(tmp_path, quick=True)
    assert metrics["test_accuracy"] >= 0.93


def test_rbf_fit_is_well_below_the_noise(tmp_path):
    """200 samples with noise 0.1 and 21 weights: a good fit's error against the true curve is about
    0.1 sqrt(21 / 200) = 0.03; interpolating the noise would give about 0.1, a straight line 0.66."""
    metrics = rbf.demo(tmp_path, quick=True)
    assert metrics["test_rmse"] < 0.6 * metrics["noise"]
    assert metrics["linear_rmse"] > 0.5


def test_rbf_widths_follow_the_nearest_centres():
    widths = rbf.nearest_centre_widths(np.array([[0.0], [1.0], [3.0]]), 2)
    assert np.allclose(widths, np.sqrt([(1 + 9) / 2, (1 + 4) / 2, (9 + 4) / 2]))


def test_elm_beats_a_linear_readout_on_digits(tmp_path):
    metrics = elm.demo(tmp_path, quick=True)
    assert metrics["test_accuracy"] >= 0.96
    assert metrics["test_accuracy"] >= metrics["linear_test_accuracy"] + 0.02


def test_elm_hidden_layer_is_the_engine_and_untrained():
    model = elm.ExtremeLearningMachine(4, 2, 8, seed=1)
    before = model.hidden_layer.flat_.copy()
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(20, 4)), rng.normal(size=(20, 2)))
    assert np.array_equal(model.hidden_layer.flat_, before)
    assert model.W_out_.shape == (9, 2)


def test_som_errors_fall_and_the_map_is_ordered(tmp_path):
    metrics = som.demo(tmp_path, quick=True)
    assert metrics["quantisation_error"] < 0.4 * metrics["quantisation_error_start"]
    assert metrics["topographic_error_start"] > 0.5 and metrics["topographic_error"] < 0.1


def test_som_topographic_error_counts_non_neighbours():
    m = som.SelfOrganisingMap(1, 3, 1)
    m.prototypes = np.array([[0.0], [1.0], [0.1]])  # nodes 0 and 2 are close in data space, far on the grid
    assert m.topographic_error(np.array([[0.05]])) == 1.0
    m.prototypes = np.array([[0.0], [0.1], [1.0]])
    assert m.topographic_error(np.array([[0.05]])) == 0.0


def test_hopfield_recalls_letters_through_the_memory_lab(tmp_path):
    metrics = hopfield.demo(tmp_path, quick=True)
    assert metrics["recall_rate"] >= 0.9 and metrics["energy_never_rose"] == 1.0
    from annrl.labs.memory import lab as memory

    assert isinstance(hopfield.build().network, memory.Hopfield)  # one implementation, not two
