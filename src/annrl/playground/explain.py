"""The explain panel: what a trained playground network computes, in symbols.

- Boolean datasets: :func:`annrl.symbolic.extract_logic` reads the network on its truth table as a
  minimal Boolean formula (with its margin), and each first-layer neuron as a formula of its own;
  the panel says whether the formula is the expression the network was trained on.
- Everything else: :func:`annrl.symbolic.fit_formula` finds a short closed form of the network's
  output as a function of the raw inputs (x, y in display units, or a lab function's own units).
  Whatever it returns is checked here against the network on points it never saw (so the panel
  is honest whichever extractor runs): a formula counts as *found* when its RMS error is within
  :data:`RELATIVE_TOLERANCE` of the output's spread, or, for a classifier, when its sign agrees with
  the network's class on :data:`AGREEMENT` of the points (the accuracy of both on the test data is
  given too); otherwise the page says "no simple formula found" and shows the best one with its error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.playground.session import Session

SAMPLES = 600
#: a closed form is reported as found when its RMS error, against the network on held-out points, is at most
#: this fraction of the spread (standard deviation) of the network's output there...
RELATIVE_TOLERANCE = 0.1
#: ...or, for a classifier, when its sign agrees with the network's class on at least this fraction of them
AGREEMENT = 0.95
#: CPU seconds after which the formula search splits the problem no further (fit_formula's max_seconds: its
#: default of 40 is a batch job's; the page waits for this answer)
SEARCH_SECONDS = 10.0


def explain(session: Session, index: int = 0) -> dict[str, Any]:
    """A JSON-ready explanation of network ``index`` (see the module docstring)."""
    if session.data.view == "boolean":
        return _logic(session, index)
    return _closed_form(session, index)


def _logic(session: Session, index: int) -> dict[str, Any]:
    from annrl.symbolic import extract_logic
    from annrl.symbolic.boolean import truth_inputs

    net = session.network(index)
    names = list(session.data.inputs)
    result = extract_logic(net, inputs=names, outputs=["y"], reading="symmetric")
    rows = truth_inputs(len(names))
    network_bits = np.asarray(net.predict(rows), dtype=float)[0, :, 0] > 0
    target_bits = _target_bits(session)
    output = result.outputs[0]
    return {"type": "explain", "kind": "logic", "formula": str(output.formula), "margin": round(output.margin, 3),
            "consistent": result.consistent, "matches_target": bool(np.array_equal(network_bits, target_bits)),
            "wrong_rows": int(np.sum(network_bits != target_bits)), "rows": len(rows),
            "neurons": [{"unit": n.unit, "formula": n.formula, "margin": round(n.margin, 3)} for n in result.neurons]}


def _target_bits(session: Session) -> np.ndarray:
    from annrl.symbolic.boolean import parse_function

    return parse_function(session.setup.expression).table[:, 0]


def _closed_form(session: Session, index: int) -> dict[str, Any]:
    from annrl.symbolic import fit_formula

    data = session.data
    rng = np.random.default_rng(0)
    fit_at, check_at = (rng.uniform(-5.0, 5.0, size=(SAMPLES, len(data.inputs))) for _ in range(2))
    result = fit_formula(data.to_original(fit_at), _values(session, fit_at, index), inputs=list(data.inputs),
                         max_seconds=SEARCH_SECONDS, rng=rng)
    formula = str(result.expression)
    made = _formula_values(result.expression, list(data.inputs), data.to_original(check_at))
    network = _values(session, check_at, index)
    answer = {"type": "explain", "kind": "formula", "formula": formula, "latex": result.latex(),
              "complexity": result.complexity, "checked_on": SAMPLES,
              "units": "the function's own units" if data.domain is not None else "display units"}
    if data.task == "classification":
        return {**answer, **_classification(session, result.expression, made, network, index)}
    error = float(np.sqrt(np.mean((made - network) ** 2)))
    spread = float(np.std(network)) or 1.0
    worst = np.max(np.abs(made - network))
    return {**answer, "what": "fitted function", "error": _round(error), "max_error": _round(worst),
            "relative_error": _round(error / spread), "tolerance": RELATIVE_TOLERANCE,
            "found": bool(error <= RELATIVE_TOLERANCE * spread)}


def _values(session: Session, raw: np.ndarray, index: int) -> np.ndarray:
    """Network ``index``'s outputs at display points ``raw``, in the lab function's own values if it has them."""
    values = session.predict_one(raw, index)
    if session.data.value_range is not None:
        low, high = session.data.value_range
        values = low + (values + 1.0) / 2.0 * (high - low)
    return values


def _formula_values(expression: Any, names: list[str], X: np.ndarray) -> np.ndarray:
    """The formula at points ``X`` ``(N, d)``; NaN where it is undefined (counted as wrong)."""
    from annrl.expr import lambdify_numpy

    with np.errstate(all="ignore"):
        values = np.asarray(lambdify_numpy(expression, names)(*X.T), dtype=float)
    return np.nan_to_num(np.broadcast_to(values, (len(X),)), nan=np.inf)


def _classification(session: Session, expression: Any, made: np.ndarray, network: np.ndarray,
                    index: int) -> dict[str, Any]:
    """The decision function's agreement with the network's classes, and both accuracies on the test data."""
    data = session.data
    agreement = float(np.mean((made > 0) == (network > 0)))
    truth = data.test_y[:, 0] > 0
    formula_test = _formula_values(expression, list(data.inputs), data.to_original(data.test_x))
    return {"what": "decision function (> 0: blue)", "agreement": _round(agreement),
            "accuracy": _round(np.mean((formula_test > 0) == truth)),
            "network_accuracy": _round(np.mean((session.predict_one(data.test_x, index) > 0) == truth)),
            "tolerance": AGREEMENT, "found": bool(agreement >= AGREEMENT)}


def _round(value: float) -> float:
    return round(float(value), 4) if np.isfinite(value) else None
