"""scikit-learn estimators on annrl's engine: :class:`MLPRegressor` and :class:`MLPClassifier`.

They follow scikit-learn's estimator contract (``fit``, ``predict``, ``partial_fit``, ``score``,
``get_params``/``set_params``, ``clone``, pickling) and pass
``sklearn.utils.estimator_checks.check_estimator``, so they drop into pipelines, grid searches
and cross-validation. Parameter names follow ``sklearn.neural_network``'s where the meaning is
the same. Training runs on annrl's engine: the :class:`~annrl.nn.Trainer` loop (Adam or SGD) or
L-BFGS through SciPy on the network's flat parameters.

scikit-learn is an optional dependency: ``pip install 'annrl[sklearn]'``.

>>> import numpy as np
>>> X = np.linspace(-np.pi, np.pi, 128)[:, None]
>>> model = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", solver="lbfgs", random_state=0)
>>> model.fit(X, np.sin(X).ravel()).score(X, np.sin(X).ravel()) > 0.999
True
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "annrl.sklearn needs scikit-learn: pip install 'annrl[sklearn]' (or pip install scikit-learn)"
    ) from err

from annrl.errors import InputError
from annrl.nn import MLP, SGD, Adam, Trainer
from annrl.nn.lbfgs import fit_lbfgs
from annrl.validate import Boolean, InstanceOf, Interval, ListOf, Options, check

#: scikit-learn's activation names, mapped to the engine's; the engine's own names work too
ACTIVATION_NAMES = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                    "sigmoid": "sigmoid", "softplus": "softplus", "leaky_relu": "leaky_relu", "sin": "sin"}
SOLVERS = ("adam", "lbfgs", "sgd")

PARAMETER_TABLE = {
    "hidden_layer_sizes": [ListOf(Interval(int, 1, None), min_length=1), Interval(int, 1, None)],
    "activation": [Options(ACTIVATION_NAMES)],
    "solver": [Options(SOLVERS)],
    "alpha": [Interval(float, 0, None)],
    "batch_size": [Interval(int, 1, None), Options({"auto"})],
    "learning_rate_init": [Interval(float, 0, None, closed="neither")],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "n_iter_no_change": [Interval(int, 1, None)],
    "momentum": [Interval(float, 0, 1)],
    "init": [Options({"xavier", "torch", "he", "normal", "uniform"})],
    "random_state": [Interval(int, 0, 2**32 - 1), InstanceOf(np.random.RandomState, "a RandomState"), None],
    "warm_start": [Boolean()],
}


def _stochastic(estimator: Any) -> bool:
    """``partial_fit`` exists for the stochastic solvers only (as in scikit-learn)."""
    if estimator.solver == "lbfgs":
        raise AttributeError(f"partial_fit is only available for solver 'adam' or 'sgd', not {estimator.solver!r}")
    return True


class _BaseMLP(BaseEstimator):
    """What the regressor and the classifier share: parameters, the engine network, the loops."""

    _loss = "mse"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate_init=1e-3, max_iter=200, tol=1e-4, n_iter_no_change=10,
                 momentum=0.9, init="torch", random_state=None, warm_start=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.momentum = momentum
        self.init = init
        self.random_state = random_state
        self.warm_start = warm_start

    # -- learned state, as scikit-learn names it --------------------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices ``(in, out)`` of every layer (views into the engine's parameters)."""
        check_is_fitted(self, "net_")
        return [self.net_.params_[f"{2 * i}.weight"][0] for i in range(len(self.net_.sizes) - 1)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors ``(out,)`` of every layer."""
        check_is_fitted(self, "net_")
        return [self.net_.params_[f"{2 * i}.bias"][0, 0] for i in range(len(self.net_.sizes) - 1)]

    # -- fitting ------------------------------------------------------------------------------
    def _hidden(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        return (int(sizes),) if isinstance(sizes, (int, np.integer)) else tuple(int(s) for s in sizes)

    def _check_parameters(self) -> None:
        params = self.get_params()
        if isinstance(params["hidden_layer_sizes"], np.ndarray):
            params["hidden_layer_sizes"] = params["hidden_layer_sizes"].tolist()
        check(PARAMETER_TABLE, params)

    def _build(self, n_features: int, n_outputs: int) -> None:
        rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31 - 1))
        self.net_ = MLP([n_features, *self._hidden(), n_outputs], hidden=ACTIVATION_NAMES[self.activation],
                        output="identity", init=self.init, rng=rng)
        self._rng = rng
        self._optimizer = None
        self.n_iter_, self.t_, self.loss_curve_ = 0, 0, []
        self.best_loss_ = np.inf

    def _make_optimizer(self, batch_size: int):
        # scikit-learn's penalty is alpha / (2 n) ||w||^2 per batch of n samples: a decay of alpha / n
        decay = self.alpha / batch_size
        if self.solver == "sgd":
            return SGD(lr=self.learning_rate_init, momentum=self.momentum, weight_decay=decay)
        return Adam(lr=self.learning_rate_init, weight_decay=decay)

    def _batch_size(self, n_samples: int) -> int:
        return min(200, n_samples) if self.batch_size == "auto" else min(int(self.batch_size), n_samples)

    def _train(self, X: np.ndarray, Y: np.ndarray, *, incremental: bool) -> None:
        """Fit the engine network ``net_`` on ``X`` ``(N, in)`` and ``Y`` ``(N, out)`` (encoded targets)."""
        if self.solver == "lbfgs":
            history = fit_lbfgs(self.net_, X, Y, loss=self._loss, max_iter=self.max_iter,
                                weight_decay=self.alpha / len(X),
                                gtol=self.tol, ftol=np.finfo(float).eps)
            self.n_iter_ = int(history.iterations[0])
            self.loss_ = float(history.loss[-1, 0])
            self.loss_curve_ = history.loss[:, 0].tolist()
            self.t_ = int(history.evaluations[0])
            if self.n_iter_ >= self.max_iter:
                warnings.warn(f"lbfgs did not converge within max_iter={self.max_iter} iterations",
                              ConvergenceWarning, stacklevel=3)
            return
        batch_size = self._batch_size(len(X))
        optimizer = self._optimizer or self._make_optimizer(batch_size)
        state = {k: v.copy() for k, v in optimizer.state_.items()}
        trainer = Trainer(self.net_, X, Y, loss=self._loss, optimizer=optimizer, batch_size=batch_size,
                          rng=self._rng)
        if state:  # a Trainer starts from zero optimizer state; keep the moments of earlier calls
            optimizer.state_ = state
        self._optimizer = optimizer
        epochs = 1 if incremental else self.max_iter
        stalled = 0
        for _ in range(epochs):
            trainer.run(1)
            if trainer.all_frozen():  # the loss stopped being finite: the last finite weights are kept
                raise InputError("training diverged (the loss became NaN or infinite); lower learning_rate_init")
            loss = float(np.asarray(trainer.losses[-1])[0])
            self.loss_curve_.append(loss)
            self.n_iter_ += 1
            self.t_ += len(X)
            self.loss_ = loss
            stalled = stalled + 1 if loss > self.best_loss_ - self.tol else 0
            self.best_loss_ = min(self.best_loss_, loss)
            if not incremental and stalled >= self.n_iter_no_change:
                return
        if not incremental:
            warnings.warn(f"{self.solver} did not converge within max_iter={self.max_iter} epochs",
                          ConvergenceWarning, stacklevel=3)

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "net_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.asarray(self.net_.predict(X))[0]

    # -- pickling: the network's named parameters are views into one flat array -----------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: the estimator itself keeps its network
        net = state.pop("net_", None)
        if net is not None:
            state["_net_sizes"] = list(net.sizes)
            state["_net_flat"] = np.array(net.flat_)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        sizes, flat = state.pop("_net_sizes", None), state.pop("_net_flat", None)
        super().__setstate__(state)
        if sizes is not None:
            self.net_ = MLP(sizes, hidden=ACTIVATION_NAMES[self.activation], output="identity", init=self.init,
                            seed=0)
            self.net_.set_flat(flat)


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor trained by annrl's engine (squared error).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"} or an engine name, default="relu"
        Hidden activation (``logistic`` is the engine's ``sigmoid``); the output is linear.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``adam`` and ``sgd`` run the engine's Trainer on mini-batches; ``lbfgs`` runs SciPy's
        L-BFGS-B on the flat parameters (full batch), usually the fastest for small data.
    alpha : float, default=1e-4
        L2 penalty, scaled as scikit-learn's: ``alpha / (2 n) ||w||^2`` for a batch of ``n``
        samples (a weight decay of ``alpha / n``), applied to biases too.
    batch_size : int or "auto", default="auto"
        ``min(200, n_samples)``, as scikit-learn's. Not used by lbfgs.
    learning_rate_init : float, default=1e-3
    max_iter : int, default=200
        Epochs (adam, sgd) or iterations (lbfgs).
    tol : float, default=1e-4
        Training stops when the loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs (lbfgs: the gradient tolerance).
    n_iter_no_change : int, default=10
    momentum : float, default=0.9
        Only used by sgd.
    init : {"torch", "xavier", "he", "normal", "uniform"}, default="torch"
        Initial weights. ``torch`` (PyTorch's ``nn.Linear`` default) draws the biases too;
        ``xavier`` zeroes them, which leaves a network fitted to an odd target on symmetric
        data odd forever (the bias gradients cancel), and slows it down.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights and the mini-batch order.
    warm_start : bool, default=False
        Continue from the previous fit's weights instead of drawing new ones.

    Attributes
    ----------
    net_ : annrl.nn.MLP
        The trained engine network (population 1).
    coefs_, intercepts_ : list of ndarray
        Weights ``(in, out)`` and biases ``(out,)`` of every layer.
    n_features_in_ : int
    n_outputs_ : int
    n_iter_ : int
        Epochs (or L-BFGS iterations) run.
    loss_ : float
        Training loss (mean squared error, without the penalty for adam/sgd) at the last epoch.
    loss_curve_ : list of float
        Training loss at every epoch.

    See Also
    --------
    annrl.labs.approx.lab : the function-approximation lab on the same engine.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train on ``X`` ``(n_samples, n_features)`` and ``y`` ``(n_samples,)`` or ``(n_samples, n_outputs)``."""
        return self._fit(X, y, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch of adam/sgd on ``(X, y)``, continuing from the current weights."""
        return self._fit(X, y, incremental=True)

    def _fit(self, X: Any, y: Any, *, incremental: bool) -> MLPRegressor:
        self._check_parameters()
        first = not hasattr(self, "net_") or (not incremental and not self.warm_start)
        X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True, dtype=np.float64)
        Y = y.reshape(len(y), -1).astype(np.float64)
        if first:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = Y.shape[1]
            self._build(X.shape[1], self.n_outputs_)
        elif Y.shape[1] != self.n_outputs_:
            raise InputError(f"y must have {self.n_outputs_} outputs, as in the first fit, got {Y.shape[1]}")
        self._train(X, Y, incremental=incremental)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``(n_samples,)``, or ``(n_samples, n_outputs)`` when fitted on 2D ``y``."""
        out = self._forward(X)
        return out[:, 0] if self._y_1d else out


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier trained by annrl's engine.

    Two classes: one logit output and binary cross-entropy; more: one output per class and
    softmax cross-entropy. Parameters and attributes are those of :class:`MLPRegressor`, plus:

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The class labels, sorted.
    """

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train on ``X`` ``(n_samples, n_features)`` and labels ``y`` ``(n_samples,)``."""
        return self._fit(X, y, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch of adam/sgd on ``(X, y)``; the first call needs ``classes`` (all labels)."""
        return self._fit(X, y, incremental=True, classes=classes)

    def _fit(self, X: Any, y: Any, *, incremental: bool, classes: Any = None) -> MLPClassifier:
        self._check_parameters()
        first = not hasattr(self, "net_") or (not incremental and not self.warm_start)
        X, y = validate_data(self, X, y, reset=first, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            labels = np.unique(y) if classes is None or not incremental else np.unique(np.asarray(classes))
            if len(labels) < 2:
                raise InputError(f"MLPClassifier needs samples of at least 2 classes, got 1 class ({labels[0]!r})")
            self.classes_ = labels
            self._binarizer = LabelBinarizer().fit(labels)
            self._loss = "bce" if len(labels) == 2 else "softmax_ce"
            self.n_outputs_ = 1 if len(labels) == 2 else len(labels)
            self._build(X.shape[1], self.n_outputs_)
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise InputError(f"y must hold labels among classes {self.classes_.tolist()}, got {unknown.tolist()}")
        Y = self._binarizer.transform(y).astype(np.float64)
        self._train(X, Y, incremental=incremental)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, in the order of ``classes_``."""
        z = self._forward(X)
        if self.n_outputs_ == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of every sample, ``(n_samples,)``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


__all__ = ["MLPClassifier", "MLPRegressor"]
