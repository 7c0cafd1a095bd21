"""Adaline and Madaline: Widrow and Hoff's adaptive linear neuron and its many-neuron vote.

An Adaline is a linear combiner ``y = x . w + b`` adapted, one sample at a time, by the
Widrow-Hoff LMS rule ``w <- w + mu e x`` with the a-priori error ``e = d - y``: stochastic gradient
descent on ``e^2 / 2``. Normalised LMS divides the step by the input's energy,
``w <- w + mu e x / (eps + |x|^2)``, which makes it stable for ``0 < mu < 2`` whatever the input's
power. The weights live in an :class:`annrl.nn.Network` (one ``Dense(n, 1)`` layer), so ``P``
Adalines with their own inputs and step sizes adapt at once: the ensemble of a learning curve, or
a sweep of step sizes, is the population axis.

A Madaline (Madaline Rule I, Widrow 1962) lets ``k`` Adalines vote through a fixed logic unit
(majority, AND, OR). When the vote is wrong, the Adalines that voted wrongly and were nearest to
changing their mind (smallest ``|net|``) are adapted, one by one, until the vote is right: the
principle of minimal disturbance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.errors import InputError
from annrl.nn import Dense, Network
from annrl.validate import POSITIVE, Interval, Options, check

RULES = ("lms", "nlms")
LOGICS = ("majority", "and", "or")

ADALINE_TABLE = {
    "n_inputs": [Interval(int, 1, None)],
    "population": [Interval(int, 1, None)],
    "rule": [Options(RULES)],
    "eps": POSITIVE,
}


class Adaline:
    """``P`` adaptive linear neurons ``y = x . w + b`` trained by LMS or normalised LMS.

    Parameters
    ----------
    n_inputs : int
        Inputs (taps of an adaptive filter).
    mu : float or array (P,), default=0.01
        Step size, one per network when an array.
    rule : {"lms", "nlms"}, default="lms"
    bias : bool, default=True
        Adapt the bias ``b`` (with a constant input 1). An FIR filter has none: ``bias=False``
        keeps it at zero.
    population : int, default=1
    eps : float, default=1e-8
        Regulariser of the normalised step (NLMS only).

    Attributes
    ----------
    net : Network
        The weights: ``net.params_["0.weight"]`` ``(P, n_inputs, 1)`` and ``"0.bias"`` ``(P, 1, 1)``,
        zero at the start (Widrow's ``w(0) = 0``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 3))
    >>> adaline = Adaline(3, mu=0.05, bias=False)
    >>> _ = adaline.adapt(X, X @ [0.5, -1.0, 2.0])
    >>> np.round(adaline.weights[0], 3)
    array([ 0.5, -1. ,  2. ])
    """

    def __init__(self, n_inputs: int, *, mu: Any = 0.01, rule: str = "lms", bias: bool = True,
                 population: int = 1, eps: float = 1e-8):
        check(ADALINE_TABLE, {"n_inputs": n_inputs, "population": population, "rule": rule, "eps": eps})
        self.mu = _step_sizes(mu, population)
        self.rule, self.bias, self.eps = rule, bool(bias), float(eps)
        self.net = Network([Dense(n_inputs, 1)], population=population, init="normal", seed=0)
        self.net.flat_[...] = 0.0

    @property
    def weights(self) -> np.ndarray:
        """``(P, n_inputs)``: the weight vectors (a view; writing to it changes the Adalines)."""
        return self.net.params_["0.weight"][:, :, 0]

    @property
    def biases(self) -> np.ndarray:
        """``(P,)``: the biases (a view)."""
        return self.net.params_["0.bias"][:, 0, 0]

    def output(self, X: Any) -> np.ndarray:
        """Linear outputs ``(P, N)`` for ``X`` ``(N, n_inputs)`` or ``(P, N, n_inputs)``."""
        return np.asarray(self.net.predict(X))[:, :, 0]

    def classify(self, X: Any) -> np.ndarray:
        """Quantised outputs ``sign(y)`` in {-1, +1}, ``(P, N)``."""
        return np.where(self.output(X) >= 0.0, 1.0, -1.0)

    def step(self, x: Any, d: Any) -> np.ndarray:
        """One LMS (or NLMS) update on one sample per network.

        ``x`` is ``(n_inputs,)`` (shared) or ``(P, n_inputs)``, ``d`` a number or ``(P,)``. Returns
        the a-priori error ``e = d - y`` ``(P,)``.
        """
        x = np.broadcast_to(np.asarray(x, dtype=float), self.weights.shape)
        error = np.asarray(d, dtype=float) - np.einsum("pi,pi->p", x, self.weights) - self.biases
        gain = self.mu * error
        if self.rule == "nlms":
            gain = gain / (self.eps + np.einsum("pi,pi->p", x, x) + float(self.bias))
        lms_update(self.weights, self.biases if self.bias else None, x, gain)
        return error

    def adapt(self, X: Any, d: Any) -> np.ndarray:
        """Adapt on a stream, sample by sample: ``X`` ``(T, n)`` or ``(P, T, n)``, ``d`` ``(T,)`` or ``(P, T)``.

        Returns the a-priori errors ``(P, T)`` (their square, averaged over the population, is the
        learning curve).
        """
        X, d = self._stream(X, d)
        errors = np.empty((self.net.population, X.shape[1]))
        for t in range(X.shape[1]):
            errors[:, t] = self.step(X[:, t], d[:, t])
        return errors

    def fit_classifier(self, X: Any, labels: Any, *, epochs: int = 20, rng: np.random.Generator) -> np.ndarray:
        """Train on labels in {-1, +1} by LMS on the linear output (Widrow's rule, not the perceptron's).

        Each epoch visits the samples ``X`` ``(N, n)`` in a new random order. Returns the
        fraction of samples misclassified after every epoch, ``(epochs, P)``.
        """
        X, labels = np.asarray(X, dtype=float), np.asarray(labels, dtype=float)
        if not np.all(np.isin(labels, (-1.0, 1.0))):
            raise InputError("labels must be -1 or +1")
        errors = np.empty((int(epochs), self.net.population))
        for epoch in range(int(epochs)):
            order = rng.permutation(len(X))
            self.adapt(X[order], labels[order])
            errors[epoch] = np.mean(self.classify(X) != labels, axis=1)
        return errors

    def _stream(self, X: Any, d: Any) -> tuple[np.ndarray, np.ndarray]:
        P, n = self.net.population, self.weights.shape[1]
        X, d = np.asarray(X, dtype=float), np.asarray(d, dtype=float)
        if X.ndim == 2:
            X = np.broadcast_to(X, (P, *X.shape))
        if X.ndim != 3 or X.shape[0] != P or X.shape[2] != n:
            raise InputError(f"X must have shape (T, {n}) or ({P}, T, {n}), got {X.shape}")
        d = np.broadcast_to(d, (P, X.shape[1])) if d.ndim == 1 else d
        if d.shape != X.shape[:2]:
            raise InputError(f"d must have shape ({X.shape[1]},) or ({P}, {X.shape[1]}), got {d.shape}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(d))):
            raise InputError("X and d must be finite")
        return X, d


def lms_update(weight: np.ndarray, bias: np.ndarray | None, x: np.ndarray, gain: np.ndarray) -> None:
    """The Widrow-Hoff update in place: ``w += gain x`` and ``b += gain`` (the bias input is 1).

    ``weight`` is ``(P, n)``, ``x`` ``(P, n)``, ``gain`` ``(P,)`` (``mu e``, or its normalised form).
    """
    weight += gain[:, None] * x
    if bias is not None:
        bias += gain


def _step_sizes(mu: Any, population: int) -> np.ndarray:
    values = np.broadcast_to(np.asarray(mu, dtype=float), (population,)).copy()
    if not np.all(np.isfinite(values) & (values > 0)):
        raise InputError(f"mu must be > 0, got {mu}")
    return values


class Madaline:
    """``k`` Adalines voting through a fixed logic unit, trained by Madaline Rule I.

    Parameters
    ----------
    n_inputs : int
    n_adalines : int
        Voting Adalines (odd for ``majority``).
    logic : {"majority", "and", "or"}, default="majority"
    alpha : float, default=0.5
        Normalised step of the adaptation, in (0, 2): the adapted Adaline's ``net`` moves the
        fraction ``alpha`` of the way to the desired response.
    seed : int, default=0
        Small random initial weights (identical Adalines would always vote alike).

    Attributes
    ----------
    net : Network
        The Adalines as one ``Dense(n_inputs, k)`` layer, ``"0.weight"`` ``(1, n_inputs, k)``.
    """

    def __init__(self, n_inputs: int, n_adalines: int = 3, *, logic: str = "majority", alpha: float = 0.5,
                 seed: int = 0):
        check({"logic": [Options(LOGICS)], "alpha": [Interval(float, 0, 2, closed="neither")],
               "n_adalines": [Interval(int, 1, None)]}, {"logic": logic, "alpha": alpha, "n_adalines": n_adalines})
        if logic == "majority" and n_adalines % 2 == 0:
            raise InputError(f"a majority vote needs an odd number of Adalines, got {n_adalines}")
        self.logic, self.alpha = logic, float(alpha)
        self.net = Network([Dense(n_inputs, n_adalines)], init="uniform", seed=seed)
        self.net.flat_[...] *= 0.1

    def nets(self, X: Any) -> np.ndarray:
        """Every Adaline's linear output ``(N, k)``."""
        return np.asarray(self.net.predict(X))[0]

    def predict(self, X: Any) -> np.ndarray:
        """The vote ``(N,)`` in {-1, +1}."""
        return vote(np.where(self.nets(X) >= 0.0, 1.0, -1.0), self.logic)

    def fit(self, X: Any, labels: Any, *, epochs: int = 50, rng: np.random.Generator) -> np.ndarray:
        """MRI on ``X`` ``(N, n)`` and labels in {-1, +1}; returns the error rate after every epoch."""
        X, labels = np.asarray(X, dtype=float), np.asarray(labels, dtype=float)
        errors = []
        for _ in range(int(epochs)):
            for i in rng.permutation(len(X)):
                self._adapt_one(X[i], labels[i])
            errors.append(float(np.mean(self.predict(X) != labels)))
            if errors[-1] == 0.0:
                break
        return np.asarray(errors)

    def _adapt_one(self, x: np.ndarray, d: float) -> None:
        weight, bias = self.net.params_["0.weight"][0], self.net.params_["0.bias"][0, 0]  # (n, k), (k,)
        s = x @ weight + bias
        votes = np.where(s >= 0.0, 1.0, -1.0)
        if vote(votes, self.logic) == d:
            return  # minimal disturbance: a right answer changes nothing
        # the wrong voters, least confident first, are adapted until the vote comes out right
        for j in sorted(np.flatnonzero(votes != d), key=lambda j: abs(s[j])):
            gain = self.alpha * (d - s[j]) / (1.0 + x @ x)
            column = weight[:, j : j + 1].T  # (1, n) view of Adaline j
            lms_update(column, bias[j : j + 1], x[None, :], np.array([gain]))
            votes[j] = 1.0 if x @ weight[:, j] + bias[j] >= 0.0 else -1.0
            if vote(votes, self.logic) == d:
                return


def vote(votes: np.ndarray, logic: str) -> np.ndarray | float:
    """The fixed logic unit on votes in {-1, +1} along the last axis.

    Parameters
    ----------
    votes : ndarray of shape (..., units)
        The Adalines' votes, each -1 or +1, e.g. ``(N, units)``.
    logic : {"and", "or", "majority"}
        ``and``: +1 when all vote +1; ``or``: +1 when any does; otherwise +1 when the sum is positive.

    Returns
    -------
    ndarray of shape (...,), or float for a single vote vector
        +1.0 or -1.0.
    """
    if logic == "and":
        return np.where(np.all(votes > 0, axis=-1), 1.0, -1.0)
    if logic == "or":
        return np.where(np.any(votes > 0, axis=-1), 1.0, -1.0)
    return np.where(np.sum(votes, axis=-1) > 0, 1.0, -1.0)
