"""annrl.sklearn: scikit-learn's estimator contract, on annrl's engine."""

import importlib
import pickle
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from annrl.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

X_SIN = np.linspace(-np.pi, np.pi, 128)[:, None]
Y_SIN = np.sin(X_SIN).ravel()


pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = {"hidden_layer_sizes": (16,), "max_iter": 60, "learning_rate_init": 0.01}


def failed_checks(estimator):
    results = check_estimator(estimator, on_fail=None)
    assert len(results) > 50
    return [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]


@pytest.mark.parametrize("estimator", [MLPRegressor(**SMALL), MLPClassifier(**SMALL)], ids=["regressor", "classifier"])
def test_small_networks_pass_check_estimator(estimator):
    assert failed_checks(estimator) == []


@pytest.mark.slow
@pytest.mark.parametrize("estimator", [MLPRegressor(), MLPClassifier(), MLPRegressor(solver="lbfgs"),
                                       MLPClassifier(solver="lbfgs"), MLPRegressor(solver="sgd")],
                         ids=["regressor", "classifier", "regressor-lbfgs", "classifier-lbfgs", "regressor-sgd"])
def test_defaults_and_every_solver_pass_check_estimator(estimator):
    assert failed_checks(estimator) == []


def test_regressor_fits_sin_with_lbfgs():
    model = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", solver="lbfgs", random_state=0, tol=1e-9,
                         max_iter=500)
    model.fit(X_SIN, Y_SIN)
    assert np.mean((model.predict(X_SIN) - Y_SIN) ** 2) < 1e-5
    assert model.score(X_SIN, Y_SIN) > 0.9999
    assert [w.shape for w in model.coefs_] == [(1, 16), (16, 1)] and model.intercepts_[1].shape == (1,)
    assert model.n_iter_ == len(model.loss_curve_) - 1 and model.loss_ == model.loss_curve_[-1]


def test_partial_fit_continues_exactly_where_fit_would():
    settings = {"hidden_layer_sizes": (8,), "activation": "tanh", "random_state": 3, "batch_size": 32,
                "learning_rate_init": 0.01, "n_iter_no_change": 1000}
    whole = MLPRegressor(max_iter=6, **settings)
    whole.fit(X_SIN, Y_SIN)
    pieces = MLPRegressor(**settings)
    for _ in range(6):  # same shuffles, same Adam moments: the same weights
        pieces.partial_fit(X_SIN, Y_SIN)
    assert pieces.n_iter_ == 6
    assert np.allclose(pieces.net_.flat_, whole.net_.flat_, rtol=0, atol=1e-12)
    assert pieces.loss_curve_ == pytest.approx(whole.loss_curve_, rel=1e-12)


def test_classifier_separates_blobs_with_string_labels():
    X, y = make_blobs(n_samples=300, centers=3, random_state=0)
    labels = np.array(["ant", "bee", "cat"])[y]
    model = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0, max_iter=300)
    model.fit(X, labels)
    assert model.classes_.tolist() == ["ant", "bee", "cat"]
    assert model.score(X, labels) > 0.9
    proba = model.predict_proba(X)
    assert proba.shape == (300, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))


def test_binary_classifier_uses_one_logit_and_partial_fit_needs_classes():
    X, y = make_blobs(n_samples=200, centers=2, random_state=1)
    model = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, learning_rate_init=0.02)
    for _ in range(40):
        model.partial_fit(X, y, classes=[0, 1])
    assert model.n_outputs_ == 1 and model.score(X, y) > 0.95
    with pytest.raises(ValueError, match=r"y must hold labels among classes \[0, 1\], got \[2\]"):
        model.partial_fit(X[:3], [0, 1, 2])


def test_params_clone_and_pickle():
    model = MLPRegressor(hidden_layer_sizes=(4, 4), alpha=0.0, random_state=1, max_iter=20)
    assert model.get_params()["hidden_layer_sizes"] == (4, 4)
    assert clone(model).set_params(alpha=0.5).get_params()["alpha"] == 0.5 and model.alpha == 0.0
    model.fit(X_SIN, Y_SIN)
    copy = pickle.loads(pickle.dumps(model))
    assert np.array_equal(copy.predict(X_SIN), model.predict(X_SIN))
    copy.partial_fit(X_SIN, Y_SIN)  # the rebuilt network still trains: its parameters are views again
    assert not np.array_equal(copy.predict(X_SIN), model.predict(X_SIN))
    assert copy.coefs_[0] is not None and np.shares_memory(copy.coefs_[0], copy.net_.flat_)


@pytest.mark.parametrize(("params", "message"), [
    ({"alpha": -1.0}, "alpha must be >= 0, got -1.0"),
    ({"solver": "newton"}, "solver must be one of 'adam', 'lbfgs', 'sgd', got 'newton'"),
    ({"hidden_layer_sizes": (3, 0)}, "hidden_layer_sizes must be"),
])
def test_bad_parameters_are_refused_on_fit(params, message):
    with pytest.raises(ValueError, match=message):
        MLPRegressor(**params).fit(X_SIN, Y_SIN)


def test_partial_fit_is_hidden_for_lbfgs():
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPRegressor(solver="adam"), "partial_fit")


def test_missing_scikit_learn_gives_an_install_hint(monkeypatch):
    for name in [n for n in sys.modules if n == "sklearn" or n.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "annrl.sklearn")
    with pytest.raises(ImportError, match=r"pip install 'annrl\[sklearn\]'"):
        importlib.import_module("annrl.sklearn")
