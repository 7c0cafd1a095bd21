"""The three experiments of ``annrl adapt``, each ``run_*(config, rng) -> Result`` (figures: :mod:`.figures`).

- :func:`run_lms`: Adaline as an adaptive filter (system identification against the Wiener
  solution and the theory's learning curve; step sizes against the stability bounds and the
  misadjustment; noise cancelling; tracking) and as a classifier, with a Madaline;
- :func:`run_stream`: frozen, continual and drift-detecting learners on a drifting stream;
- :func:`run_grow`: a constructive network on a linear and on two non-linear tasks.

``rng`` (a :class:`numpy.random.Generator` or a seed; default ``config.seed``) is where every random
draw of an experiment starts: each part draws from its own copy of it, so that the parts are
compared on the same draws (every step size on the same samples, every learner from the same
initial weights), as the experiments always did with one seed.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from annrl import progress
from annrl.clikit import positive_float, positive_int
from annrl.config import check_config, setting
from annrl.errors import InputError
from annrl.htmlrepr import MetricsHTML
from annrl.labs.adapt import filters
from annrl.labs.adapt.grow import GrowingNetwork
from annrl.labs.adapt.prequential import DETECTORS, compare_learners, comparison_metrics
from annrl.labs.adapt.streams import KINDS, MIN_AFTER_WARMUP, make_stream
from annrl.nn.lms import RULES, Adaline, Madaline
from annrl.validate import NON_NEGATIVE_INT, POSITIVE_INT, Interval, ListOf, Options, array_nbytes, check_sizes


def float_list(text: str) -> tuple[float, ...]:
    """``--mus``: comma-separated numbers > 0."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        values = ()
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers > 0 (e.g. 0.01,0.03), got {text!r}")
    return values


def kind_list(text: str) -> tuple[str, ...]:
    """``--kinds``: comma-separated stream kinds."""
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"must be comma-separated among {','.join(KINDS)}, got {text!r}")
    return kinds


@dataclass(frozen=True)
class LmsConfig:
    """``annrl adapt lms``: step sizes of the learning curves, rule, samples, ensemble runs."""

    mus: tuple[float, ...] = setting((0.01, 0.03, 0.06), "step sizes of the learning curves, e.g. 0.01,0.03",
                                     type=float_list)
    rule: str = setting("lms", "lms, or normalised lms", choices=RULES)
    steps: int = setting(2000, "samples per run", type=positive_int)
    runs: int = setting(100, "independent runs averaged (the population)", type=positive_int)
    seed: int = setting(0, "seed of everything random")

    def __post_init__(self):
        check_config(LMS_TABLE, self)
        # the runs' samples, weights and errors, one row per sample, for each step size
        check_sizes({f"--runs {self.runs} x --steps {self.steps} x {len(self.mus)} step sizes": array_nbytes(
            (8 * self.runs * len(self.mus), self.steps))})


LMS_TABLE = {"mus": [ListOf(Interval(float, 0, None, closed="neither"), min_length=1)], "rule": [Options(RULES)],
             "steps": [Interval(int, 100, None)], "runs": POSITIVE_INT, "seed": NON_NEGATIVE_INT}


@dataclass
class Result(MetricsHTML):
    """What one experiment of ``annrl adapt`` produced: its ``metrics`` (``metrics.json``) and, under
    ``parts``, what its figures draw (:func:`annrl.labs.adapt.figures.write_figures`)."""

    experiment: str
    config: Any
    metrics: dict[str, Any]
    parts: dict[str, Any]


Rng = np.random.Generator | int | None


def copies(rng: Rng, seed: int) -> Callable[[], np.random.Generator]:
    """A function giving a new copy of ``rng`` (a generator, or ``default_rng`` of a seed; None: of
    ``seed``) at each call: one for each part of an experiment, all starting from the same state."""
    start = np.random.default_rng(seed if rng is None else rng)
    return lambda: copy.deepcopy(start)


def run_lms(config: LmsConfig, rng: Rng = None) -> Result:
    """Adaptive filters and classifiers from one Adaline (``rng``: see the module docstring)."""
    c, fresh = config, copies(rng, config.seed)
    curves = [filters.identify_system(mu=mu, rule=c.rule, steps=c.steps, runs=c.runs, seed=fresh())
              for mu in progress.track(c.mus, "adapt lms: step sizes")]
    short = filters.identify_system(taps=3, mu=0.02, steps=4 * c.steps, runs=max(c.runs // 4, 1), seed=fresh())
    sweep = filters.step_size_sweep(steps=c.steps, runs=c.runs, seed=fresh())
    cancel = filters.cancel_noise(seed=fresh())
    track = filters.track_drift(seed=fresh())
    classifier = _classifiers(fresh)
    b = curves[0].bounds
    metrics = {
        "config": asdict(c),
        "system_identification": [
            {"mu": r.mu, "rule": r.rule, "final_mse": float(r.mse[-c.steps // 4 :].mean()), "j_min": r.j_min,
             "theory_final_mse": float(r.theory[-1]), "weight_error": float(np.abs(r.weights.mean(0) - r.wiener).max()),
             "time_constants": [float(t) for t in _time_constants(r)]} for r in curves],
        "bounds": {"mean_2_over_lambda_max": b.mean, "mean_square": b.mean_square, "two_over_trace": b.trace,
                   "safe_two_over_3trace": b.safe},
        "short_filter": {"wiener": short.wiener.tolist(), "lms_mean_weights": short.weights.mean(0).tolist(),
                         "truncated_unknown": short.unknown[:3].tolist()},
        "step_size_sweep": {"mu_over_mean_square_bound": (sweep.mus / sweep.bounds.mean_square).tolist(),
                            "misadjustment": [_finite(m) for m in sweep.misadjustment],
                            "misadjustment_theory": [_finite(m) for m in sweep.misadjustment_theory],
                            "misadjustment_small_step": sweep.misadjustment_small_step.tolist(),
                            "bounds": asdict(sweep.bounds)},
        "noise_cancellation": {"snr_in_db": cancel.snr_in_db, "snr_out_db": cancel.snr_out_db},
        "tracking": {"mus": track.mus.tolist(), "excess_mse": track.excess_mse.tolist(), "best_mu": track.best_mu},
        "classifier": classifier,
    }
    return Result("lms", c, metrics, {"curves": curves, "sweep": sweep, "cancel": cancel, "track": track})


def _time_constants(result: filters.SystemIdentification) -> np.ndarray:
    from annrl.labs.adapt import theory

    taps = len(result.wiener)
    return theory.time_constants(filters.ar1_correlation(taps, 0.6), result.mu)[[0, -1]]


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) and value < 1e6 else None


def band_task(rng: np.random.Generator, samples: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-1, 1]^2 labelled +1 inside the band |x1 + x2| < 0.7: not linearly separable."""
    X = rng.uniform(-1, 1, (samples, 2))
    return X, np.where(np.abs(X[:, 0] + X[:, 1]) < 0.7, 1.0, -1.0)


def _classifiers(fresh: Callable[[], np.random.Generator]) -> dict[str, float]:
    """One Adaline and a two-Adaline Madaline (AND) on the band task: error rates."""
    rng = fresh()
    X, labels = band_task(rng)
    adaline = Adaline(2, mu=0.01)
    adaline_error = float(adaline.fit_classifier(X, labels, epochs=20, rng=rng)[-1, 0])
    madaline = Madaline(2, 2, logic="and", seed=fresh())
    madaline_error = float(madaline.fit(X, labels, epochs=40, rng=rng)[-1])
    return {"band_adaline_error": adaline_error, "band_madaline_error": madaline_error}


@dataclass(frozen=True)
class StreamConfig:
    """``annrl adapt stream``: which drift, how long, the learners' settings."""

    kinds: tuple[str, ...] = setting(KINDS, f"streams, among {','.join(KINDS)}", type=kind_list)
    samples: int = setting(6000, "samples per stream", type=positive_int)
    warmup: int = setting(1000, "samples of batch pre-training", type=positive_int)
    hidden: int = setting(16, "hidden tanh units", type=positive_int)
    lr: float = setting(0.05, "SGD learning rate of the stream updates", type=positive_float)
    batch: int = setting(10, "samples per test-then-train step", type=positive_int)
    detector: str = setting("page-hinkley", "the adaptive learner's detector", choices=DETECTORS)
    window: int = setting(300, "samples of the rolling accuracy", type=positive_int)
    seed: int = setting(0, "seed of everything random")

    def __post_init__(self):
        check_config(STREAM_TABLE, self)
        if self.samples < self.warmup + MIN_AFTER_WARMUP:  # the one rule that ties two fields
            raise InputError.invalid("samples", f"at least warmup + {MIN_AFTER_WARMUP} = "
                                     f"{self.warmup + MIN_AFTER_WARMUP}", self.samples)
        check_sizes({f"streams of --samples {self.samples} x --hidden {self.hidden}": array_nbytes(
            (16 * self.samples, self.hidden + 8))})


STREAM_TABLE = {"kinds": [ListOf(Options(KINDS), min_length=1)], "samples": [Interval(int, 1000, None)],
                "warmup": [Interval(int, 50, None)], "hidden": POSITIVE_INT,
                "lr": [Interval(float, 0, None, closed="neither")], "batch": POSITIVE_INT,
                "detector": [Options(DETECTORS)], "window": [Interval(int, 20, None)], "seed": NON_NEGATIVE_INT}


def run_stream(config: StreamConfig, rng: Rng = None) -> Result:
    """Every stream kind of ``config``: metrics per learner and drift (``rng``: see the module docstring)."""
    c, fresh = config, copies(rng, config.seed)
    metrics: dict[str, Any] = {"config": asdict(c)}
    comparisons = {}
    for kind in progress.track(c.kinds, "adapt stream: kinds"):
        stream = make_stream(kind, samples=c.samples, warmup=c.warmup, seed=fresh())
        result = compare_learners(stream, warmup=c.warmup, hidden=c.hidden, lr=c.lr, batch=c.batch,
                                  detector=c.detector, window=c.window, seed=fresh())
        comparisons[kind] = result
        metrics[kind] = comparison_metrics(result)
    return Result("stream", c, metrics, {"comparisons": comparisons})


@dataclass(frozen=True)
class GrowConfig:
    """``annrl adapt grow``: the growth rule's settings."""

    window: int = setting(100, "epochs between growth decisions", type=positive_int)
    threshold: float = setting(0.05, "a window improving the loss by less than this fraction is a plateau")
    target: float = setting(1e-3, "MSE at which training stops", type=positive_float)
    max_units: int = setting(30, "hidden units at most")
    epochs: int = setting(5000, "epochs at most", type=positive_int)
    seed: int = setting(0, "seed of everything random")

    def __post_init__(self):
        check_config(GROW_CONFIG_TABLE, self)
        check_sizes({f"the loss history of --epochs {self.epochs} and up to {self.max_units} units": array_nbytes(
            (3 * 4, self.epochs + 200 * (self.max_units + 1)))})


GROW_CONFIG_TABLE = {"window": POSITIVE_INT, "threshold": [Interval(float, 0, 1)],
                     "target": [Interval(float, 0, None, closed="neither")],
                     "max_units": NON_NEGATIVE_INT, "epochs": POSITIVE_INT, "seed": NON_NEGATIVE_INT}


def growth_tasks(rng: np.random.Generator, samples: int = 200) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Three regression tasks on [-1, 1]^2: linear, one wave, a product of waves."""
    X = rng.uniform(-1, 1, (samples, 2))
    return {"linear": (X, (X @ [1.5, -0.7] + 0.3)[:, None]),
            "sin(2 x1)": (X, np.sin(2 * X[:, :1])),
            "sin(3 x1) cos(2 x2)": (X, (np.sin(3 * X[:, 0]) * np.cos(2 * X[:, 1]))[:, None])}


def run_grow(config: GrowConfig, rng: Rng = None) -> Result:
    """Grow a network on every task (``rng``: see the module docstring)."""
    c, fresh = config, copies(rng, config.seed)
    records, metrics = {}, {"config": asdict(c)}
    for name, (X, Y) in progress.track(growth_tasks(fresh()).items(), "adapt grow: tasks"):
        net = GrowingNetwork(X.shape[1], Y.shape[1], window=c.window, threshold=c.threshold, target=c.target,
                             max_units=c.max_units, seed=fresh())
        record = net.fit(X, Y, epochs=c.epochs)
        records[name] = record
        metrics[name] = {"units": net.units, "added_at": record.added_at, "reached_at": record.reached_at,
                         "final_loss": float(record.loss[-1]), "epochs": len(record.loss)}
    return Result("grow", c, metrics, {"records": records})
