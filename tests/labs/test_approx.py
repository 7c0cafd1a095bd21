"""The approximation lab: accuracy control on a held-out grid, per-seed freezing, derivatives, errors."""

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.labs.approx.lab import ApproxConfig, Approximant, HeldOutTrainer, Scaling, train
from annrl.nn import MLP, Adam
from annrl.nn.lbfgs import fit_lbfgs


@pytest.fixture(scope="module")
def sin16():
    """The issue's example: sin on [-pi, pi], one hidden layer of 16 tanh units, max error 1e-2 (Adam)."""
    return train(ApproxConfig(target="sin", hidden=(16,), activation="tanh", tol=1e-2, metric="max"))


def test_sin_reaches_max_error_below_1e_2_with_16_tanh_units(sin16):
    m = sin16.metrics
    assert m["reached"] is True and m["error"] < 1e-2
    # checked independently on a 5x denser grid than the held-out one
    X = np.linspace(-np.pi, np.pi, 5001)[:, None]
    assert np.max(np.abs(sin16.approximant(X)[0] - np.sin(X[:, 0]))) < 1.05e-2
    # the epochs reported are those of the first held-out check at tolerance
    epoch = m["epochs"]
    assert epoch % 50 == 0 and 0 < epoch < 5000
    row = int(np.flatnonzero(sin16.check_epochs == epoch)[0])
    assert sin16.check_errors[row, 0] <= 1e-2 < sin16.check_errors[row - 1, 0]
    assert m["epochs_run"] == epoch  # it stopped there


def test_metrics_have_the_issue_keys(sin16):
    m = sin16.metrics
    assert {"target", "tol", "metric", "reached", "epochs", "error", "hidden"} <= set(m)
    assert (m["target"], m["tol"], m["metric"], m["hidden"]) == ("sin", 0.01, "max", [16])
    assert m["parameters"] == 16 + 16 + 16 + 1
    assert "met by 1 of 1 seeds; first after" in m["message"]


def test_a_surface_reaches_its_tolerance():
    result = train(ApproxConfig(target="sin_cos", hidden=(16,), tol=0.05, metric="max", optimizer="lbfgs",
                                epochs=2000))
    assert result.metrics["reached"] and result.metrics["error"] <= 0.05
    X = np.random.default_rng(1).uniform(-np.pi, np.pi, size=(4000, 2))  # off both grids
    gap = np.abs(result.approximant(X)[0] - np.sin(X[:, 0]) * np.cos(X[:, 1]))
    assert gap.max() < 0.06


def test_each_seed_stops_at_its_own_epoch_and_stays_frozen():
    result = train(ApproxConfig(target="sin", hidden=(8,), seeds=6, tol=2e-2, epochs=4000, lr=0.02))
    reached = result.reached_epoch
    assert np.all(reached > 0) and len(set(reached.tolist())) > 1  # a spread, not one number
    for p in range(6):
        after = result.check_epochs >= reached[p]
        frozen = result.check_errors[after, p]
        assert frozen[0] <= 2e-2 and np.all(frozen == frozen[0])  # weights untouched after the stop
        assert result.error[p] == frozen[0]
    m = result.metrics
    assert m["epochs"] == reached.min() and m["epochs_median"] == np.median(reached)
    assert m["reached_seeds"] == 6 and m["epochs_per_seed"] == reached.tolist()


def test_an_unmet_tolerance_is_reported_with_the_best_error_reached():
    result = train(ApproxConfig(target="sign", hidden=(8,), tol=1e-3, epochs=200, optimizer="lbfgs", check_every=10))
    m = result.metrics
    assert m["reached"] is False and m["epochs"] is None and m["epochs_per_seed"] == [-1]
    assert "NOT met within 200 iterations" in m["message"] and "best error reached" in m["message"]
    # the network handed back holds its best held-out weights, and its error is that best
    assert result.error[0] == pytest.approx(result.check_errors[:, 0].min())
    X, y = result.data.X_test, result.data.y_test
    assert np.max(np.abs(result.approximant(X)[0] - y)) == pytest.approx(m["error"], rel=1e-12)
    # a jump: the error near it dwarfs the error elsewhere
    assert m["error_near_singular"] > 5 * m["error_away_from_singular"]


def test_held_out_trainer_freezes_on_the_held_out_error_not_the_training_loss():
    net = MLP([1, 4, 1], hidden="tanh", population=3, seed=0)
    X = np.linspace(-1, 1, 16)[:, None]
    trainer = HeldOutTrainer(net, X, X**2, optimizer=Adam(lr=0.01), until=0.5)
    trainer.run(5)
    assert trainer.active.all()  # the training loss is not compared with until
    before = net.flat_.copy()
    trainer.check_held_out(np.array([0.4, 0.6, 0.5]))
    assert trainer.active.tolist() == [False, True, False] and trainer.reached.tolist() == [5, -1, 5]
    trainer.run(3)
    assert np.array_equal(net.flat_[[0, 2]], before[[0, 2]]) and not np.array_equal(net.flat_[1], before[1])


@pytest.mark.parametrize("domain", [((-3.0, 3.0),), ((-np.pi, np.pi), (0.0, 2.0))])
def test_the_network_derivative_matches_finite_differences(domain):
    dim = len(domain)
    net = MLP([dim, 12, 12, 1], hidden="tanh", population=2, seed=3)
    approximant = Approximant(net, Scaling.fit(domain, np.array([-2.0, 5.0])))
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, dim)) * 2.0
    engine = approximant.gradient(X)  # (P, N, dim), from the backward pass w.r.t. the input
    h = 1e-6
    for axis in range(dim):
        step = np.zeros(dim)
        step[axis] = h
        numeric = (approximant(X + step) - approximant(X - step)) / (2 * h)
        assert np.allclose(engine[:, :, axis], numeric, rtol=1e-6, atol=1e-7)


def test_relative_errors_divide_by_the_targets_range():
    absolute = train(ApproxConfig(target="exp", hidden=(8,), tol=None, epochs=100, optimizer="lbfgs"))
    relative = train(ApproxConfig(target="exp", hidden=(8,), tol=None, epochs=100, optimizer="lbfgs",
                                  relative=True))
    spread = np.exp(2.0) - np.exp(-2.0)
    assert relative.metrics["error"] == pytest.approx(absolute.metrics["error"] / spread, rel=1e-9)


def test_same_seed_same_numbers_and_seeds_differ():
    config = ApproxConfig(target="gaussian", hidden=(6,), seeds=3, tol=None, epochs=150, check_every=50)
    a, b = train(config).metrics, train(config).metrics
    a.pop("timing"), b.pop("timing")
    assert a == b
    assert len(set(a["error_per_seed"])) == 3


def test_lbfgs_stops_at_its_loss_target_and_reports_iterations():
    X = np.linspace(-1, 1, 64)[:, None]
    net = MLP([1, 16, 1], hidden="tanh", init="torch", population=2, seed=0)
    history = fit_lbfgs(net, X, np.sin(3 * X), until=1e-4, max_iter=500)
    assert np.all(history.final_loss <= 1e-4)
    assert np.array_equal(history.reached_epoch, history.iterations) and np.all(history.iterations < 500)
    assert history.messages == ["tolerance reached"] * 2
    assert np.allclose(history.loss[history.iterations, [0, 1]], history.final_loss)


def test_a_volume_target_trains():
    result = train(ApproxConfig(target="gaussian3d", hidden=(16,), tol=None, optimizer="lbfgs", epochs=300,
                                points=10, held_out_points=13, metric="rmse"))
    errors = result.check_errors[:, 0]
    assert result.target.dim == 3 and len(result.data.X_test) == 13**3
    assert errors[0] > 0.1 and errors[-1] < 0.05  # RMS error of a bump of height 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"target": "x**"}, r"expression 'x\*\*': invalid syntax"),
    ({"target": "log(x)"}, r"target 'log\(x\)' must be finite on its domain \[-1, 1\], got nan at x=-1"),
    ({"target": "sin", "domain": "3:1"}, "domain must be LOW:HIGH with LOW < HIGH, got 3:1"),
])
def test_bad_targets_fail_before_training(changes, message):
    with pytest.raises(InputError, match=message):
        train(ApproxConfig(**changes))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("seeds", 0, r"seeds must be an integer in \[1, 100000\], got 0"),
    ("lr", -0.1, "lr must be > 0, got -0.1"),
    ("metric", "mae", "metric must be one of 'max', 'rmse', got 'mae'"),
    ("hidden", (16, 0), r"hidden must be a list of 1 to 16 items"),
    ("activation", "step", "activation must be one of"),
    ("optimizer", "newton", "optimizer must be one of 'adam', 'lbfgs', 'rmsprop', 'sgd', got 'newton'"),
])
def test_bad_config_values_are_refused_on_creation(field, value, message):
    with pytest.raises(ValueError, match=message):
        ApproxConfig(**{field: value})
