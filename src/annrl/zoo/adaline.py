"""Adaline: Widrow and Hoff's adaptive linear neuron, trained sample by sample by the LMS rule.

The model is :class:`annrl.nn.lms.Adaline` (one implementation): a ``Dense(n, 1)`` network
whose weights follow ``w <- w + mu (d - x . w) x``.
"""

from __future__ import annotations

import pathlib

import numpy as np

from annrl.labs.adapt import figures, filters
from annrl.nn.lms import Adaline

NAME = "adaline"
SUMMARY = "Adaptive linear neuron (Widrow-Hoff LMS): an adaptive FIR filter and a linear classifier"


def two_blobs(rng: np.random.Generator, samples: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds in the plane, labels -1 and +1: ``X`` ``(samples, 2)``, ``labels`` ``(samples,)``."""
    half = samples // 2
    X = np.concatenate([rng.normal((1.0, 1.0), 0.6, (half, 2)), rng.normal((-1.0, -1.0), 0.6, (samples - half, 2))])
    return X, np.repeat([1.0, -1.0], [half, samples - half])


def build(seed: int = 0):
    """An Adaline trained by LMS on two Gaussian clouds; returns its ``annrl.nn.Network`` (Dense 2 -> 1)."""
    rng = np.random.default_rng(seed)
    X, labels = two_blobs(rng)
    adaline = Adaline(2, mu=0.01)
    adaline.fit_classifier(X, labels, epochs=10, rng=rng)
    return adaline.net


def demo(out: pathlib.Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Identify an unknown FIR filter by LMS (learning curve against theory) and classify two clouds."""
    out = pathlib.Path(out)
    runs = 30 if quick else 100
    results = [filters.identify_system(mu=mu, steps=1500, runs=runs, seed=seed) for mu in (0.01, 0.05)]
    figures.learning_curves(results, out / "adaline_learning_curves.png")
    rng = np.random.default_rng(seed)
    X, labels = two_blobs(rng)
    adaline = Adaline(2, mu=0.01)
    errors = adaline.fit_classifier(X, labels, epochs=10, rng=rng)
    best = results[-1]
    return {"final_mse": float(best.mse[-300:].mean()), "j_min": best.j_min,
            "theory_final_mse": float(best.theory[-1]),
            "weight_error_vs_wiener": float(np.abs(best.weights.mean(axis=0) - best.wiener).max()),
            "classifier_error": float(errors[-1, 0])}
