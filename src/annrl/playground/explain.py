"""The explain panel: what a trained playground network computes, in symbols.

- Boolean datasets: :func:`annrl.symbolic.extract_logic` reads the network on its truth table as a
  minimal Boolean formula (with its margin), and each first-layer neuron as a formula of its own;
  the panel says whether the formula is the expression the network was trained on.
- Everything else: :func:`annrl.symbolic.fit_formula` finds a short closed form of the network's
  output as a function of the raw inputs (x, y in display units, or a lab function's own units),
  with its error on held-out points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.playground.session import Session

SAMPLES = 600


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
    raw = rng.uniform(-5.0, 5.0, size=(SAMPLES, len(data.inputs)))
    values = session.predict_one(raw, index)
    if data.value_range is not None:  # back to the lab function's own values
        low, high = data.value_range
        values = low + (values + 1.0) / 2.0 * (high - low)
    result = fit_formula(data.to_original(raw), values, inputs=list(data.inputs), rng=rng)
    what = "decision function (> 0: blue)" if data.task == "classification" else "fitted function"
    units = "the function's own units" if data.domain is not None else "display units"
    return {"type": "explain", "kind": "formula", "formula": str(result.expression), "latex": result.latex(),
            "error": round(result.error, 4), "max_error": round(result.max_error, 4),
            "complexity": result.complexity, "what": what, "units": units}
