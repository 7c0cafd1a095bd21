"""One playground setup being trained: data, features, a population of networks, and its training loop.

The loop is the TensorFlow Playground's: an *epoch* is one pass over the shuffled training points in
mini-batches of ``batch``, each a forward pass, a backward pass, the regularisation gradient of the
weights (never the biases) and one optimizer step. All ``P = setup.seeds`` networks train at once
on the same batches (the population axis); a network whose loss stops being finite gets its last
finite weights back and is frozen, while the others go on.

The page asks for hundreds of mini-batch steps a second on networks of a few dozen weights, where
the cost of a step is the number of NumPy calls, not arithmetic. So an epoch gathers its shuffled
points once and hands the engine views of consecutive slices (no copy per step), the backward pass
writes the gradients in place (nothing to zero first), and a single network keeps its data as
``(1, N, in)``, the rank of its parameters, which broadcasts with less overhead.

Regularisation, per network: L1 adds ``reg_rate * sum |w|`` to the loss (gradient ``reg_rate *
sign(w)``), L2 adds ``reg_rate / 2 * sum w^2`` (gradient ``reg_rate * w``), summed over every weight.

>>> from annrl.playground.config import Setup
>>> session = Session(Setup(dataset="xor", layers=(4,), points=200, seed=1))
>>> before = session.losses()[1][0]
>>> session.train(30)
>>> bool(session.losses()[1][0] < before)
True
"""

from __future__ import annotations

import dataclasses

import numpy as np

from annrl.errors import InputError
from annrl.nn import MLP, get_loss, get_optimizer
from annrl.nn.fit import shuffled_batches
from annrl.playground.config import Setup
from annrl.playground.datasets import Dataset, make_dataset

#: the derived inputs, as functions of the raw points ``(N, 2)`` (or ``(N, 1)`` for x only)
FEATURE_FUNCTIONS = {
    "x": lambda p: p[:, 0], "y": lambda p: p[:, 1], "x2": lambda p: p[:, 0] ** 2, "y2": lambda p: p[:, 1] ** 2,
    "xy": lambda p: p[:, 0] * p[:, 1], "sinx": lambda p: np.sin(p[:, 0]), "siny": lambda p: np.sin(p[:, 1]),
}
X_ONLY = ("x", "x2", "sinx")


def active_features(setup: Setup, data: Dataset) -> tuple[str, ...]:
    """The features the network reads: the Boolean variables themselves, or the chosen features the
    data has (a function of x alone has no y)."""
    if data.view == "boolean":
        return data.inputs
    names = tuple(f for f in setup.features if len(data.inputs) == 2 or f in X_ONLY)
    if not names:
        raise InputError.invalid("setup.features", f"at least one of {list(X_ONLY)} for a function of x alone",
                                 list(setup.features))
    return names


def featurize(features: tuple[str, ...], raw: np.ndarray, boolean: bool) -> np.ndarray:
    """The network's inputs ``(N, len(features))`` for raw points ``(N, d)``."""
    if boolean:
        return np.asarray(raw, dtype=float)
    return np.column_stack([FEATURE_FUNCTIONS[f](raw) for f in features])


class Session:
    """A setup's data and networks, trained a few epochs at a time.

    Parameters
    ----------
    setup : Setup
    custom : ndarray, shape (N, 3), optional
        Points drawn or loaded by the user (rows x, y, label), for ``dataset="custom"``.

    Attributes
    ----------
    epoch : int
        Epochs trained since the setup was built.
    active : ndarray of bool, shape (P,)
        Networks still training (False once a network diverged).
    """

    def __init__(self, setup: Setup, custom: np.ndarray | None = None):
        self.rng = np.random.default_rng(setup.seed)
        # The weights are drawn after the seed's own data, whichever data is used: so the start depends on
        # the seed, not the data seed, and a link made before there was a data seed starts as it did.
        data = make_dataset(setup, self.rng, custom)
        if setup.data_seed != setup.seed:
            data = make_dataset(setup, np.random.default_rng(setup.data_seed), custom)
        self._use_data(setup, data)
        output = "tanh" if self.data.task == "classification" else "identity"
        sizes = [len(self.features), *setup.layers, 1]
        self.net = MLP(sizes, hidden=setup.activation, output=output, population=setup.seeds, init="xavier",
                       rng=self.rng, dtype=self.train_X.dtype.name)
        self.loss = get_loss("mse")
        self.optimizer = get_optimizer(setup.optimizer, lr=setup.lr)
        self.optimizer.reset(self.net.flat_)
        self.weight_names = [name for name in self.net.params_ if name.endswith(".weight")]
        self.active = np.ones(setup.seeds, dtype=bool)
        self.epoch = 0

    def _use_data(self, setup: Setup, data: Dataset) -> None:
        """Train and test on ``data`` (of ``setup``): the networks' inputs and targets, and no losses yet."""
        self.setup, self.data = setup, data
        self.features = active_features(setup, data)
        # a population trains in float32: NumPy's tanh and exp are several times faster there, and
        # the seeds view asks for many networks at once; one network keeps float64
        dtype = np.float64 if setup.seeds == 1 else np.float32
        boolean = data.view == "boolean"
        self.train_X = featurize(self.features, data.train_x, boolean).astype(dtype)
        self.test_X = featurize(self.features, data.test_x, boolean).astype(dtype)
        self.train_Y, self.test_Y = data.train_y.astype(dtype), data.test_y.astype(dtype)
        # the samples' axis of the arrays a step sees: (1, N, in) for one network, shared (N, in) for many
        self._axis = 1 if setup.seeds == 1 else 0
        self._X, self._Y = (self.train_X[None], self.train_Y[None]) if self._axis else (self.train_X, self.train_Y)
        self._losses: tuple[np.ndarray, np.ndarray] | None = None  # of the current weights, once computed

    def regenerate(self, data_seed: int) -> None:
        """New data of the same setup, drawn with ``data_seed`` (points, noise, train : test split); the
        networks keep their weights and the optimizer its state, so training goes on from them.

        Raises
        ------
        InputError
            For custom data: points drawn or loaded have nothing to draw anew.
        """
        if self.setup.dataset == "custom":
            raise InputError("regenerate draws new points of a generated data set; custom points (drawn or "
                             "loaded from a CSV) have no others", field="regenerate")
        setup = dataclasses.replace(self.setup, data_seed=data_seed)
        self._use_data(setup, make_dataset(setup, np.random.default_rng(data_seed)))

    def train(self, epochs: int) -> None:
        """Train every active network ``epochs`` more epochs (mini-batches of ``setup.batch``)."""
        batch = self.setup.batch  # a batch larger than the data set is the whole of it
        before = np.array(self.net.flat_, copy=True)
        active = None if self.active.all() else self.active  # only changes after the epochs, below
        self._losses = None
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(int(epochs)):
                for x, y in shuffled_batches(self._X, self._Y, batch, self.rng, x_axis=self._axis, y_axis=self._axis):
                    self._step(x, y, active)
                self.epoch += 1
        self._freeze_diverged(before)

    def _step(self, x: np.ndarray, y: np.ndarray, active: np.ndarray | None) -> None:
        net = self.net
        prediction, caches = net.forward(x)
        grad = self.loss.gradient(prediction, y)  # the losses are computed once an update, not a step
        net.backward(grad, caches, accumulate=False)  # overwrites net.grad: nothing to zero first
        self._add_regularization()
        self.optimizer.step(net.flat_, net.grad, active)

    def _add_regularization(self) -> None:
        kind, rate = self.setup.regularization, self.setup.reg_rate
        if kind == "none" or rate == 0:
            return
        for name in self.weight_names:
            w = self.net.params_[name]
            self.net.grads[name] += rate * (np.sign(w) if kind == "l1" else w)

    def _freeze_diverged(self, before: np.ndarray) -> None:
        train, _ = self.losses()
        finite = np.isfinite(train) & np.all(np.isfinite(self.net.flat_), axis=1)
        if finite.all():
            return
        self.net.flat_[~finite] = before[~finite]
        self.active &= finite
        self._losses = None

    def losses(self) -> tuple[np.ndarray, np.ndarray]:
        """Train and test loss of every network, each ``(P,)`` (mean squared error).

        Computed once per set of weights: the divergence check after training and the state sent
        to the page both ask for them.
        """
        if self._losses is None:
            with np.errstate(over="ignore", invalid="ignore"):
                train = self.loss(self.net.predict(self.train_X), self.train_Y)[0]
                test = self.loss(self.net.predict(self.test_X), self.test_Y)[0]
            self._losses = (np.asarray(train), np.asarray(test))
        return self._losses

    def network(self, index: int):
        """Network ``index`` alone (a copy, ``P = 1``), e.g. to draw or export it."""
        if not 0 <= index < self.net.population:
            raise InputError.invalid("index", f"in [0, {self.net.population})", index)
        return self.net if self.net.population == 1 else self.net.select([index])

    def predict_one(self, raw: np.ndarray, index: int) -> np.ndarray:
        """Outputs ``(N,)`` of network ``index`` at raw points ``(N, d)``."""
        X = featurize(self.features, raw, self.data.view == "boolean")
        return np.asarray(self.network(index).predict(X), dtype=float)[0, :, 0]

    def hidden_outputs(self, raw: np.ndarray, index: int) -> list[np.ndarray]:
        """What every neuron of network ``index`` outputs at raw points ``(N, d)``: one ``(units, N)``
        array per layer after its activation, the output layer last."""
        X = featurize(self.features, raw, self.data.view == "boolean")
        outputs = self.network(index).layer_outputs(X)
        return [np.asarray(out, dtype=float)[0].T for out in outputs[1::2]]

    def regularization_penalty(self) -> np.ndarray:
        """The regularisation term of every network ``(P,)`` (0 without regularisation)."""
        kind, rate, P = self.setup.regularization, self.setup.reg_rate, self.net.population
        if kind == "none" or rate == 0:
            return np.zeros(P)
        weights = [np.asarray(self.net.params_[n]).reshape(P, -1) for n in self.weight_names]
        if kind == "l1":
            return rate * sum(np.abs(w).sum(axis=1) for w in weights)
        return 0.5 * rate * sum((w * w).sum(axis=1) for w in weights)
