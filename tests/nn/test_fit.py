"""The training loop: tolerance, divergence, frozen networks, mini-batches, errors."""

import numpy as np
import pytest

from annrl.nn import MLP, SGD, Adam, fit

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)


def test_one_sgd_step_worked_by_hand():
    # z = w x + b with w = 0.5, b = 0.1; x = 2, y = 1: pred 1.1, MSE grad 2 (pred - y) = 0.2
    net = MLP([1, 1], output="identity")
    net.params_["0.weight"][...] = 0.5
    net.params_["0.bias"][...] = 0.1
    fit(net, [[2.0]], [[1.0]], optimizer=SGD(lr=0.1), epochs=1)
    assert net.params_["0.weight"][0, 0, 0] == pytest.approx(0.5 - 0.1 * 0.2 * 2.0, abs=1e-15)
    assert net.params_["0.bias"][0, 0, 0] == pytest.approx(0.1 - 0.1 * 0.2, abs=1e-15)


def test_networks_train_independently_of_their_population():
    alone = MLP([2, 3, 1], population=5, seed=0)
    expected = []
    for p in range(5):
        single = alone.select([p])
        fit(single, X, Y, epochs=50)
        expected.append(single.flat_[0])
    fit(alone, X, Y, epochs=50)
    np.testing.assert_allclose(alone.flat_, np.stack(expected), rtol=0, atol=1e-12)


def test_large_population_path_matches_small_population():
    big = MLP([2, 2, 1], population=100, seed=1)
    small = big.select(range(10))
    fit(big, X, Y, epochs=200)
    fit(small, X, Y, epochs=200)
    np.testing.assert_allclose(big.flat_[:10], small.flat_, rtol=0, atol=1e-11)


def test_networks_stop_at_tolerance_while_others_go_on():
    net = MLP([2, 4, 1], hidden="tanh", population=20, seed=2)
    history = fit(net, X, Y, optimizer=Adam(lr=0.05), epochs=1500, until=1e-3)
    reached = history.reached
    assert 0 < reached.sum() < 20 or reached.all()
    assert np.all(history.final_loss[reached] <= 1e-3 + 1e-12)
    # a network that reached the tolerance at epoch e keeps its loss from then on
    for p in np.flatnonzero(reached)[:5]:
        e = history.reached_epoch[p]
        assert np.all(history.loss[e:, p] == history.loss[e, p])


def test_training_stops_when_every_network_reached_tolerance():
    net = MLP([2, 8, 1], hidden="tanh", population=3, seed=3)
    history = fit(net, X, Y, optimizer=Adam(lr=0.05), epochs=5000, until=1e-2)
    assert history.reached.all()
    assert history.epochs_run == history.reached_epoch.max() + 1 < 5000


def test_a_diverging_network_is_frozen_with_finite_weights_and_the_others_are_untouched():
    lr = np.full(6, 0.02)
    lr[2] = 1e6  # network 2 blows up
    net = MLP([2, 2, 1], population=6, seed=4)
    reference = net.select(range(6))
    history = fit(net, X, Y, optimizer=SGD(lr=lr, momentum=0.9), epochs=300)
    assert history.diverged.tolist() == [False, False, True, False, False, False]
    assert np.all(np.isfinite(net.flat_))
    fit(reference, X, Y, optimizer=SGD(lr=0.02, momentum=0.9), epochs=300)
    keep = [0, 1, 3, 4, 5]
    np.testing.assert_array_equal(net.flat_[keep], reference.flat_[keep])


def test_minibatch_training_is_reproducible_from_the_rng():
    runs = []
    for _ in range(2):
        net = MLP([2, 3, 1], population=2, seed=5)
        fit(net, X, Y, epochs=20, batch_size=2, rng=np.random.default_rng(7))
        runs.append(net.flat_.copy())
    np.testing.assert_array_equal(*runs)
    other = MLP([2, 3, 1], population=2, seed=5)
    fit(other, X, Y, epochs=20, batch_size=2, rng=np.random.default_rng(8))
    assert not np.array_equal(runs[0], other.flat_)


def test_classic_xor_recipe_solves_most_seeds():
    net = MLP([2, 2, 1], hidden="sigmoid", output="identity", population=200, init="normal", seed=0)
    fit(net, X, Y, loss="mse", optimizer=SGD(lr=0.02, momentum=0.9), epochs=2000)
    solved = ((net.predict(X) > 0.5) == (Y > 0.5)).all(axis=(1, 2))
    assert 0.5 < solved.mean() < 1.0  # most seeds solve it, some do not: the lab's question


def test_float32_training():
    net = MLP([2, 4, 1], hidden="tanh", population=3, seed=6, dtype="float32")
    history = fit(net, X, Y, optimizer=Adam(lr=0.05), epochs=500)
    assert net.flat_.dtype == np.float32
    assert np.all(history.final_loss < 0.05)


def test_callback_sees_predictions_and_can_stop():
    seen = []

    def callback(state):
        seen.append(state.prediction.shape)
        return state.epoch == 4

    history = fit(MLP([2, 2, 1], population=3), X, Y, epochs=100, callbacks=[callback])
    assert history.epochs_run == 5 and seen[0] == (3, 4, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": np.zeros((4, 3))}, r"input must have shape \(N, 2\)"),
        ({"Y": np.zeros((4, 2))}, r"targets must have shape \(N, 1\)"),
        ({"Y": np.zeros((3, 1))}, "same number of samples"),
        ({"X": np.where(np.eye(4, 2) > 0, np.nan, 0.0)}, "inputs contain NaN"),
        ({"Y": np.full((4, 1), np.inf)}, "targets contain NaN"),
        ({"loss": "mae"}, "loss must be one of"),
        ({"epochs": -1}, "epochs must be >= 0, got -1"),
        ({"batch_size": 2}, "needs rng"),
        ({"batch_size": 0, "rng": np.random.default_rng()}, "batch_size must be >= 1, got 0"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, message):
    args = {"X": X, "Y": Y, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit(MLP([2, 2, 1]), args.pop("X"), args.pop("Y"), **args)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SGD(lr=-0.1), "lr must be > 0, got -0.1"),
        (lambda: SGD(lr=0.1, momentum=-1), "momentum must be >= 0, got -1"),
        (lambda: SGD(lr=0.1, nesterov=True), "nesterov momentum needs momentum > 0"),
        (lambda: Adam(betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\), got 1.0"),
        (lambda: MLP([2]), "at least 2 positive widths"),
        (lambda: MLP([2, 1], hidden="swish"), "activation must be one of"),
        (lambda: MLP([2, 1], init="zeros"), "init must be one of"),
        (lambda: MLP([2, 1], population=0), "population must be >= 1, got 0"),
        (lambda: MLP([2, 1], dtype="float16"), "dtype must be one of"),
    ],
)
def test_bad_settings_get_a_clear_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("setup", [
    {"optimizer": lambda: SGD(lr=0.02, momentum=0.9)},
    {"optimizer": lambda: Adam(lr=0.05), "until": 1e-3},
    {"optimizer": lambda: Adam(lr=0.01), "batch_size": 2},
])
def test_trainer_resumes_bit_for_bit_from_its_state(setup):
    from annrl.nn import Trainer

    def make(seed_rng):
        net = MLP([2, 3, 1], hidden="tanh", population=4, seed=9)
        kwargs = {k: v for k, v in setup.items() if k != "optimizer"}
        return Trainer(net, X, Y, optimizer=setup["optimizer"](), rng=np.random.default_rng(seed_rng), **kwargs)

    straight = make(1)
    straight.run(300)
    first = make(1)
    first.run(120)
    arrays, info = first.state_dict()
    resumed = make(999)  # a different rng: its state must come from the checkpoint
    resumed.load_state_dict({k: v.copy() for k, v in arrays.items()}, info)
    resumed.run(180)
    np.testing.assert_array_equal(resumed.net.flat_, straight.net.flat_)
    a, b = resumed.history(), straight.history()
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.reached_epoch, b.reached_epoch)


def test_fit_trains_sequence_networks_like_a_hand_written_loop():
    from annrl.nn import GRU, Dense, Network, TakeLast

    rng = np.random.default_rng(3)
    seqs = rng.normal(size=(12, 5, 2))  # 12 sequences of 5 steps
    target = seqs[:, 0, :1] > 0  # the sign of the first input, to be held over 5 steps
    def make():
        return Network([GRU(2, 4), TakeLast(), Dense(4, 1)], population=3, seed=4)

    net = make()
    history = fit(net, seqs, target.astype(float), optimizer=Adam(lr=0.05), epochs=40)
    by_hand, opt = make(), Adam(lr=0.05)
    opt.reset(by_hand.flat_)
    from annrl.nn import get_loss

    for _ in range(40):
        prediction, caches = by_hand.forward(seqs)
        _, grad = get_loss("mse")(prediction, target.astype(float))
        by_hand.zero_grad()
        by_hand.backward(grad, caches)
        opt.step(by_hand.flat_, by_hand.grad)
    np.testing.assert_array_equal(net.flat_, by_hand.flat_)
    assert np.all(history.final_loss < history.loss[0])
    # mini-batches draw whole sequences
    fit(make(), seqs, target.astype(float), epochs=3, batch_size=5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"targets must have shape \(N, 1\) or \(3, N, 1\), got \(12, 5, 1\)"):
        fit(make(), seqs, seqs[:, :, :1])
