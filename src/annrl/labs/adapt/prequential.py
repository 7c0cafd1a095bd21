"""Learning from a stream, and measuring it prequentially (test, then train, on every batch).

Three learners share one network recipe and one warm-up: a batch-trained network that is then
**frozen**; the same network trained **continually** by :func:`annrl.nn.fit.partial_fit` on every
batch after predicting it; and a continual one with a **drift detector** on its own 0/1 errors
that multiplies its learning rate by ``boost`` when it detects a change (decaying back over
``boost_samples``), so it unlearns the old concept faster.

:func:`prequential` runs any object with ``predict(X)`` and ``partial_fit(X, y)`` over a
:class:`~annrl.labs.adapt.streams.Stream` (scikit-learn's streaming API, so
``annrl.sklearn.MLPClassifier`` runs too) and :func:`recovery` turns the per-sample hits into
accuracy before and after every drift and the samples it took to recover.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from annrl.errors import InputError
from annrl.labs.adapt.drift import ADWIN, PageHinkley
from annrl.labs.adapt.streams import Stream
from annrl.nn import MLP, SGD, fit
from annrl.nn.fit import partial_fit
from annrl.validate import POSITIVE, Interval, Options, check

MODES = ("frozen", "continual", "adaptive")
DETECTORS = ("page-hinkley", "adwin")

LEARNER_TABLE = {
    "mode": [Options(MODES)],
    "detector": [Options(DETECTORS)],
    "hidden": [Interval(int, 1, None)],
    "lr": POSITIVE,
    "boost": [Interval(float, 1, None)],
    "boost_samples": [Interval(int, 1, None)],
    "pretrain_epochs": [Interval(int, 0, None)],
}


class StreamingModel(Protocol):
    def predict(self, X: Any) -> np.ndarray: ...

    def partial_fit(self, X: Any, y: Any) -> Any: ...


class StreamLearner:
    """A one-hidden-layer tanh classifier (softmax outputs) on the engine that learns from a stream.

    Parameters
    ----------
    n_features, n_classes : int
    mode : {"frozen", "continual", "adaptive"}, default="continual"
    hidden : int, default=16
    lr : float, default=0.05
        SGD learning rate (momentum 0.9) of the stream updates.
    detector : {"page-hinkley", "adwin"}, default="page-hinkley"
        The adaptive learner's drift detector, fed its 0/1 prequential errors.
    boost : float, default=3.0
        Learning-rate factor right after a detection.
    boost_samples : int, default=300
        Time constant (samples) of the boost's exponential decay back to ``lr``.
    pretrain_epochs : int, default=200
        Full-batch Adam epochs of :meth:`pretrain` on the warm-up data.
    seed : int or numpy.random.Generator, default=0

    Attributes
    ----------
    net : MLP
    detections_ : list of int
        Samples seen when the detector fired (adaptive mode).
    """

    def __init__(self, n_features: int, n_classes: int, *, mode: str = "continual", hidden: int = 16,
                 lr: float = 0.05, detector: str = "page-hinkley", boost: float = 3.0, boost_samples: int = 300,
                 pretrain_epochs: int = 200, seed: int | np.random.Generator = 0):
        check(LEARNER_TABLE, {"mode": mode, "detector": detector, "hidden": hidden, "lr": lr, "boost": boost,
                              "boost_samples": boost_samples, "pretrain_epochs": pretrain_epochs})
        self.mode, self.n_classes, self.lr, self.boost = mode, int(n_classes), float(lr), float(boost)
        self.boost_samples, self.pretrain_epochs = int(boost_samples), int(pretrain_epochs)
        self.net = MLP([n_features, hidden, n_classes], hidden="tanh", init="xavier", seed=seed)
        self.optimizer = SGD(lr=lr, momentum=0.9)
        self.detector = (PageHinkley(delta=0.05, threshold=15.0) if detector == "page-hinkley"
                         else ADWIN(delta=0.002))
        self.detections_: list[int] = []
        self._seen, self._since_detection = 0, math.inf
        self._center, self._scale = np.zeros(n_features), np.ones(n_features)

    def pretrain(self, X: np.ndarray, y: np.ndarray) -> None:
        """Batch training on the warm-up data (which also fixes the input standardisation)."""
        from annrl.nn import Adam

        self._center, self._scale = X.mean(axis=0), X.std(axis=0) + 1e-8
        fit(self.net, self._standard(X), self._one_hot(y), loss="softmax_ce", optimizer=Adam(lr=0.02),
            epochs=self.pretrain_epochs)

    def predict(self, X: Any) -> np.ndarray:
        """Class indices ``(N,)``."""
        return np.argmax(np.asarray(self.net.predict(self._standard(X)))[0], axis=1)

    def partial_fit(self, X: Any, y: Any) -> StreamLearner:
        """Learn from one batch (nothing when frozen); the adaptive learner first feeds its errors on
        the batch to its detector."""
        X, y = np.asarray(X, dtype=float), np.asarray(y)
        if self.mode == "frozen":
            return self
        if self.mode == "adaptive":
            self._watch(self.predict(X) != y)
        self.optimizer.lr = self.current_lr()
        partial_fit(self.net, self._standard(X), self._one_hot(y), optimizer=self.optimizer, loss="softmax_ce")
        self._seen += len(y)
        self._since_detection += len(y)
        return self

    def current_lr(self) -> float:
        """``lr (1 + (boost - 1) exp(-samples since detection / boost_samples))``."""
        if not math.isfinite(self._since_detection):
            return self.lr
        return self.lr * (1.0 + (self.boost - 1.0) * math.exp(-self._since_detection / self.boost_samples))

    def _watch(self, errors: np.ndarray) -> None:
        for k, error in enumerate(errors):
            if self.detector.update(float(error)):
                self.detections_.append(self._seen + k)
                self._since_detection = 0

    def _standard(self, X: Any) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self._center) / self._scale

    def _one_hot(self, y: np.ndarray) -> np.ndarray:
        return np.eye(self.n_classes)[np.asarray(y, dtype=int)]


def prequential(model: StreamingModel, X: np.ndarray, y: np.ndarray, *, batch: int = 10) -> np.ndarray:
    """Test-then-train over the stream in batches of ``batch``: returns hits ``(T,)`` (1 right, 0 wrong).

    Every sample is predicted before the model has learned from it, so the hits are an honest
    estimate of accuracy over time, with no held-out set.
    """
    if int(batch) < 1:
        raise InputError(f"batch must be >= 1, got {batch}")
    hits = np.zeros(len(y))
    for start in range(0, len(y), int(batch)):
        part = slice(start, start + int(batch))
        hits[part] = model.predict(X[part]) == y[part]
        model.partial_fit(X[part], y[part])
    return hits


def rolling_accuracy(hits: np.ndarray, window: int) -> np.ndarray:
    """Accuracy over the last ``window`` samples at every sample (shorter at the start), ``(T,)``."""
    sums = np.cumsum(np.concatenate([[0.0], hits]))
    t = np.arange(1, len(hits) + 1)
    start = np.maximum(t - int(window), 0)
    return (sums[t] - sums[start]) / (t - start)


@dataclass
class DriftRecovery:
    """Accuracy around one drift.

    Attributes
    ----------
    drift : int
    before : float
        Accuracy over the ``window`` samples before the drift (before the change began).
    lowest : float
        Lowest rolling accuracy (``window`` samples, all after the drift) before the next drift.
    after : float
        Accuracy over the last ``window`` samples before the next drift (or the end).
    recovery : int or None
        Samples from the drift to the end of the first post-drift window whose accuracy is within
        ``tolerance`` of ``before``; None if that never happens before the next drift.
    """

    drift: int
    before: float
    lowest: float
    after: float
    recovery: int | None


def recovery(hits: np.ndarray, drifts: list[int], *, window: int = 300, tolerance: float = 0.05,
             settle: int = 0) -> list[DriftRecovery]:
    """Accuracy before and after every drift, and the recovery time (see :class:`DriftRecovery`).

    ``settle`` moves the windows ``settle`` samples away from the drift on both sides: half the
    width of a gradual drift, whose samples around the drift point mix the two concepts.
    """
    rolling = rolling_accuracy(hits, window)
    ends = [*drifts[1:], len(hits)]
    rows = []
    for drift, end in zip(drifts, ends, strict=True):
        before = float(np.mean(hits[max(drift - settle - window, 0) : drift - settle]))
        first = drift + settle + window - 1  # the first window lying wholly after the drift
        after_drift = rolling[first:end]
        within = np.flatnonzero(after_drift >= before - tolerance)
        rows.append(DriftRecovery(drift, before, float(after_drift.min()) if len(after_drift) else float("nan"),
                                  float(np.mean(hits[max(end - window, drift) : end])),
                                  int(first + within[0] + 1 - drift) if len(within) else None))
    return rows


@dataclass
class StreamComparison:
    """Prequential hits ``(T,)`` of each learner on one stream, and their recovery after each drift."""

    stream: Stream
    hits: dict[str, np.ndarray]
    recoveries: dict[str, list[DriftRecovery]]
    detections: list[int]
    window: int


def compare_learners(stream: Stream, *, warmup: int = 1000, hidden: int = 16, lr: float = 0.05, batch: int = 10,
                     detector: str = "page-hinkley", window: int = 300,
                     seed: int | np.random.Generator = 0) -> StreamComparison:
    """Frozen, continual and adaptive learners, pre-trained alike on the first ``warmup`` samples,
    then run prequentially over the rest of ``stream`` (their hits over the warm-up are those of the
    pre-trained network, measured on data it was trained on, and only drawn for reference)."""
    n_features = stream.X.shape[1]
    hits, recoveries, detections = {}, {}, []
    settle = stream.width // 2
    for mode in MODES:
        # every learner starts from the same weights: a generator given as the seed is copied, not shared
        learner = StreamLearner(n_features, stream.n_classes, mode=mode, hidden=hidden, lr=lr, detector=detector,
                                seed=copy.deepcopy(seed))
        learner.pretrain(stream.X[:warmup], stream.y[:warmup])
        warm = (learner.predict(stream.X[:warmup]) == stream.y[:warmup]).astype(float)
        rest = prequential(learner, stream.X[warmup:], stream.y[warmup:], batch=batch)
        hits[mode] = np.concatenate([warm, rest])
        recoveries[mode] = recovery(hits[mode], stream.drifts, window=window, settle=settle)
        if mode == "adaptive":
            detections = [warmup + d for d in learner.detections_]
    return StreamComparison(stream, hits, recoveries, detections, window)


def comparison_metrics(result: StreamComparison) -> dict[str, Any]:
    """The numbers of a comparison, as metrics.json holds them."""
    metrics: dict[str, Any] = {"stream": result.stream.name, "samples": len(result.stream.y),
                               "drifts": result.stream.drifts, "detections": result.detections,
                               "window": result.window}
    for mode, hits in result.hits.items():
        metrics[mode] = {
            "accuracy_after_first_drift": float(np.mean(hits[result.stream.drifts[0]:])),
            "drifts": [vars(row) for row in result.recoveries[mode]],
        }
    return metrics
