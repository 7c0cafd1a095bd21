"""Studies of the approximation lab: what makes a function hard for a network, in tables.

Each study is one function ``study(config, ...) -> StudyResult`` that trains a few runs of
:func:`annrl.labs.approx.lab.train` (the network, optimizer, budget, tolerance and seeds of
``config``) and returns one table:

- :func:`capacity`: error reached against hidden units and depth; the smallest network that
  meets ``tol``;
- :func:`smoothness`: a smooth, a kinked and a discontinuous target: error overall, near the kink
  or jump and away from it;
- :func:`sophistication`: epochs to tolerance against the frequency ``k`` of ``sin(k x)``;
- :func:`extrapolation`: error inside the training box and in bands outside it;
- :func:`derivative`: the network's derivative (the engine's backward pass with respect to its
  input) against the exact derivative from SymPy, and against finite differences of the net.

>>> from annrl.labs.approx.lab import ApproxConfig
>>> study = capacity(ApproxConfig(target="sin", optimizer="lbfgs", epochs=300), widths=(1, 8), depths=(1,))
>>> study.rows[0]["error"] > study.rows[1]["error"]
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from annrl.calculus.targets import grid
from annrl.errors import InputError
from annrl.labs.approx.lab import NEAR_FRACTION, ApproxConfig, ApproxResult, error, error_scale, train
from annrl.progress import track

STUDIES = ("capacity", "smoothness", "sophistication", "extrapolation", "derivative")


@dataclass
class StudyResult:
    """One study: its table (``columns`` and ``rows``), headline numbers and the runs behind them.

    Attributes
    ----------
    name : str
        One of :data:`STUDIES`.
    question : str
        What the study asks, in one sentence.
    columns : list of str
        The keys of every row, in table order.
    rows : list of dict
        One per table row.
    summary : dict
        The answer in numbers (e.g. the smallest network that meets ``tol``).
    runs : dict of str to ApproxResult
        The trained runs, by row label (for figures).
    extra : dict
        Arrays a figure needs beyond the runs (e.g. an extended evaluation grid).
    """

    name: str
    question: str
    columns: list[str]
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    runs: dict[str, ApproxResult] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        """The study's part of ``metrics.json``."""
        return {"study": self.name, "question": self.question, "columns": self.columns, "rows": self.rows,
                **self.summary}

    def _repr_html_(self) -> str:
        """A notebook's summary: the question, the headline numbers, the size of the table."""
        from annrl.htmlrepr import metrics_rows, table

        rows = [("question", self.question), *metrics_rows(self.summary), ("table", f"{len(self.rows)} rows")]
        return table(f"{self.name} study", rows)


# -- capacity --------------------------------------------------------------------------------------
def capacity(config: ApproxConfig, *, widths: Sequence[int] = (1, 2, 4, 8, 16, 32),
             depths: Sequence[int] = (1, 2)) -> StudyResult:
    """Train every ``depth x width`` network on the target; the smallest one that meets ``tol``.

    Every network trains the whole budget (no early stop), so ``error`` is what that size can
    reach; the epochs at which it first met ``tol`` are read off the held-out checks.

    Parameters
    ----------
    config : ApproxConfig
        Target, optimizer, budget, tolerance, seeds; ``hidden`` is replaced.
    widths : sequence of int
        Units per hidden layer.
    depths : sequence of int
        Hidden layers.

    Returns
    -------
    StudyResult
        One row per network, sorted by depth then width: ``hidden``, ``parameters``,
        ``error`` (best seed), ``error_median``, ``reached_seeds``, ``epochs``.
        ``summary["smallest_meeting_tol"]`` is the ``hidden`` list with the fewest parameters
        among those that met ``tol`` (None if none did).
    """
    _check_sizes("widths", widths)
    _check_sizes("depths", depths)
    rows, runs = [], {}
    for depth, width in track([(d, w) for d in depths for w in widths], "capacity study"):
        hidden = (int(width),) * int(depth)
        result = train(replace(config, hidden=hidden, tol=None))
        m = result.metrics
        label = ",".join(map(str, hidden))
        runs[label] = result
        reached = _reached(result, config.tol)
        met = reached >= 0
        rows.append({"hidden": label, "depth": int(depth), "width": int(width), "parameters": m["parameters"],
                     "error": m["error"], "error_median": m["error_median"], "reached_seeds": int(met.sum()),
                     "epochs": int(reached[met].min()) if met.any() else None})
    meeting = [r for r in rows if r["reached_seeds"] > 0]
    smallest = min(meeting, key=lambda r: (r["parameters"], r["depth"])) if meeting else None
    summary = {"smallest_meeting_tol": smallest["hidden"] if smallest else None,
               "smallest_parameters": smallest["parameters"] if smallest else None,
               "tol": config.tol, "metric": config.metric}
    return StudyResult("capacity", "What is the smallest network that meets the tolerance?",
                       ["hidden", "parameters", "error", "error_median", "reached_seeds", "epochs"], rows, summary,
                       runs)


# -- smoothness -------------------------------------------------------------------------------------
#: the three targets of the smoothness study, all on [-1, 1] with their feature at 0
SMOOTHNESS_TARGETS = ("square", "abs", "sign")


def smoothness(config: ApproxConfig, *, targets: Sequence[str] = SMOOTHNESS_TARGETS) -> StudyResult:
    """The same network on a smooth, a kinked and a discontinuous target.

    Errors are measured overall, within :data:`~annrl.labs.approx.lab.NEAR_FRACTION` of the domain's
    width of the kink or jump, and away from it (for a smooth target: near and away from 0).
    Every target gets the whole budget (no early stop), so the errors compare like with like.

    Returns
    -------
    StudyResult
        One row per target: ``target``, ``kind``, ``error``, ``error_near``, ``error_away``,
        ``near_over_away`` (best seed, ``config.metric``), ``reached_seeds``.
    """
    rows, runs = [], {}
    for name in track(targets, "smoothness study"):
        result = train(replace(config, target=name, domain=None, tol=None))
        target, data = result.target, result.data
        singular = target.singular or (0.0,)
        low, high = target.domain[0]
        near = np.min(np.abs(data.X_test[:, :1] - np.asarray(singular)), axis=1) <= NEAR_FRACTION * (high - low)
        prediction = result.approximant(data.X_test)[result.best : result.best + 1]
        scale = error_scale(config, data.y_test)
        near_error = float(error(prediction[:, near], data.y_test[near], config.metric, scale)[0])
        away_error = float(error(prediction[:, ~near], data.y_test[~near], config.metric, scale)[0])
        runs[target.name] = result
        rows.append({"target": target.name, "kind": target.kind, "error": result.metrics["error"],
                     "error_near": near_error, "error_away": away_error,
                     "near_over_away": near_error / away_error if away_error > 0 else None,
                     "reached_seeds": int(np.sum(_reached(result, config.tol) >= 0))})
    summary = {f"error_near_{r['kind']}": r["error_near"] for r in rows}
    return StudyResult("smoothness", "How much harder are kinks and jumps, and where is the error?",
                       ["target", "kind", "error", "error_near", "error_away", "near_over_away", "reached_seeds"],
                       rows, summary, runs)


# -- sophistication -----------------------------------------------------------------------------------
def sophistication(config: ApproxConfig, *, frequencies: Sequence[float] = (1, 2, 4, 6, 8)) -> StudyResult:
    """Epochs to tolerance for ``sin(k x)`` on ``[-pi, pi]`` as the frequency ``k`` grows.

    Returns
    -------
    StudyResult
        One row per ``k``: ``k``, ``reached_seeds``, ``epochs`` (first seed to meet ``tol``),
        ``epochs_median`` (over the seeds that met it), ``error`` (best seed).
        ``summary["epochs_by_k"]`` lists the epochs (None where ``tol`` was not met).
    """
    if config.tol is None:
        raise InputError("tol must be set for the sophistication study (it counts epochs to tolerance), got None",
                         field="tol")
    _check_sizes("frequencies", frequencies, kind=float)
    rows, runs = [], {}
    for k in track(frequencies, "sophistication study"):
        result = train(replace(config, target="sin_k", frequency=float(k), domain=None))
        m = result.metrics
        runs[f"k={k:g}"] = result
        rows.append({"k": float(k), "reached_seeds": m["reached_seeds"], "epochs": m["epochs"],
                     "epochs_median": m["epochs_median"], "error": m["error"]})
    summary = {"epochs_by_k": [r["epochs"] for r in rows], "frequencies": [r["k"] for r in rows],
               "epochs_unit": "iterations" if config.optimizer == "lbfgs" else "epochs", "budget": config.epochs}
    return StudyResult("sophistication", "How many more epochs does a faster-varying function need?",
                       ["k", "reached_seeds", "epochs", "epochs_median", "error"], rows, summary, runs)


# -- extrapolation -----------------------------------------------------------------------------------
#: bands outside the training box, as fractions of its width (distance along the worst axis)
EXTRAPOLATION_BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 1.0))


def extrapolation(config: ApproxConfig, *, factor: float = 1.0) -> StudyResult:
    """Train on the box, then measure the error on a box ``1 + factor`` times as wide.

    Parameters
    ----------
    factor : float, default=1.0
        How far beyond the box to look: ``factor / 2`` of its width on each side (1.0 turns
        ``[-pi, pi]`` into ``[-2 pi, 2 pi]``).

    Returns
    -------
    StudyResult
        One row per region: ``inside`` and bands of distance outside the box (as a fraction of its
        width): ``region``, ``points``, ``error`` (best seed), ``error_median`` (over seeds).
    """
    if not factor > 0:
        raise InputError(f"factor must be > 0, got {factor}", field="factor")
    result = train(config)
    target, data = result.target, result.data
    wide = tuple((low - factor * (high - low) / 2, high + factor * (high - low) / 2) for low, high in target.domain)
    X = grid(wide, data.test_points if target.dim == 1 else min(data.test_points * 2, 121))
    truth = target(X)
    prediction = result.approximant(X)
    widths = np.array([high - low for low, high in target.domain])
    lows, highs = np.array([b[0] for b in target.domain]), np.array([b[1] for b in target.domain])
    outside = np.max(np.maximum(lows - X, X - highs) / widths, axis=1)  # <= 0 inside
    scale = error_scale(config, data.y_test)
    regions = [("inside", outside <= 0)]
    for lo, hi in EXTRAPOLATION_BANDS:
        if lo < factor / 2:
            regions.append((f"outside {lo:g}-{hi:g} of width", (outside > lo) & (outside <= hi)))
    rows = []
    for name, mask in regions:
        if not mask.any():
            continue
        errors = error(prediction[:, mask], truth[mask], config.metric, scale)
        rows.append({"region": name, "points": int(mask.sum()), "error": float(errors[result.best]),
                     "error_median": float(np.median(errors))})
    out = outside > 0
    inside_error = rows[0]["error"]
    outside_error = float(error(prediction[result.best : result.best + 1, out], truth[out], config.metric,
                                scale)[0])
    summary = {"error_inside": inside_error, "error_outside": outside_error,
               "outside_over_inside": outside_error / inside_error if inside_error > 0 else None,
               "extended_domain": [list(b) for b in wide]}
    return StudyResult("extrapolation", "How wrong is the network outside the box it was trained on?",
                       ["region", "points", "error", "error_median"], rows, summary, {"trained": result},
                       {"X": X, "truth": truth, "prediction": prediction, "wide": wide})


# -- derivative ------------------------------------------------------------------------------------
def derivative(config: ApproxConfig, *, step: float = 1e-5) -> StudyResult:
    """The network's derivative from the engine's backward pass, against SymPy and finite differences.

    On the held-out grid: ``d(net)/dx`` (:meth:`Approximant.gradient`, the backward pass with
    respect to the input, through the scaling) against the exact derivative of the target
    (:meth:`Target.gradient`), and against central differences of the network itself with a step
    of ``step`` times the domain's width (which checks the backward pass, not the fit).

    Returns
    -------
    StudyResult
        One row per quantity, best seed: the value error, the derivative error (max, RMS and
        relative to ``max |f'|``), and the largest gap between the engine's derivative and the
        finite differences. For a target with kinks or jumps, points near them are left out of
        the derivative errors (the derivative does not exist there).
    """
    result = train(config)
    target, data = result.target, result.data
    X = data.X_test
    best = result.best
    approximant = result.approximant
    engine = approximant.gradient(X)[best]  # (M, dim)
    exact = target.gradient(X)
    widths = np.array([high - low for low, high in target.domain])
    numeric = np.empty_like(engine)
    for axis in range(target.dim):
        h = np.zeros(target.dim)
        h[axis] = step * widths[axis]
        numeric[:, axis] = (approximant(X + h)[best] - approximant(X - h)[best]) / (2 * h[axis])
    keep = np.ones(len(X), bool)
    if target.kind != "smooth" and target.singular and target.dim == 1:
        low, high = target.domain[0]
        keep = np.min(np.abs(X[:, :1] - np.asarray(target.singular)), axis=1) > NEAR_FRACTION * (high - low)
    gap = np.abs(engine - exact)[keep]
    scale = float(np.max(np.abs(exact[keep]))) or 1.0
    value_error = result.metrics["error"]
    rows = [
        {"quantity": f"value error ({config.metric})", "value": value_error},
        {"quantity": "derivative error (max)", "value": float(gap.max())},
        {"quantity": "derivative error (rmse)", "value": float(np.sqrt(np.mean(gap**2)))},
        {"quantity": "derivative error / max |f'|", "value": float(gap.max()) / scale},
        {"quantity": "engine vs finite differences (max)", "value": float(np.max(np.abs(engine - numeric)))},
    ]
    summary = {"value_error": value_error, "derivative_error_max": rows[1]["value"],
               "derivative_error_rmse": rows[2]["value"], "derivative_error_relative": rows[3]["value"],
               "engine_vs_finite_difference": rows[4]["value"],
               "derivative_over_value_error": rows[1]["value"] / value_error if value_error else None}
    return StudyResult("derivative", "Does the network's derivative follow the target's?",
                       ["quantity", "value"], rows, summary, {"trained": result},
                       {"X": X, "engine": engine, "exact": exact, "numeric": numeric, "keep": keep})


STUDY_FUNCTIONS: dict[str, Callable[..., StudyResult]] = {
    "capacity": capacity, "smoothness": smoothness, "sophistication": sophistication,
    "extrapolation": extrapolation, "derivative": derivative,
}


def run_study(name: str, config: ApproxConfig, **options: Any) -> StudyResult:
    """Run the study ``name`` (one of :data:`STUDIES`) on ``config``."""
    if name not in STUDY_FUNCTIONS:
        raise InputError(f"study must be one of {', '.join(STUDIES)}, got {name!r}", field="study")
    return STUDY_FUNCTIONS[name](config, **options)


def _reached(result: ApproxResult, tol: float | None) -> np.ndarray:
    """``(P,)`` epochs at which each network first met ``tol`` on the held-out checks (-1: never)."""
    return np.full(result.config.seeds, -1) if tol is None else result.epochs_to(tol)


def _check_sizes(name: str, values: Sequence[Any], kind: type = int) -> None:
    if len(values) == 0 or any(not (kind(v) == v and v > 0) for v in values):
        raise InputError(f"{name} must be a non-empty list of positive {'integers' if kind is int else 'numbers'}, "
                         f"got {list(values)}", field=name)
