"""``annrl extract --kind law``: a field saved by the dynamics lab, back to its equations, checked.

A file written by ``annrl dynamics`` (``model-<approach>.safetensors``) holds the network, the
standardisation that maps states to its inputs, the observed trajectory and, for reference only,
the true equations of the simulated system. :func:`extract_saved_law` reads the field at the
observed states, recovers the law, integrates it from the first observation and measures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annrl.errors import InputError
from annrl.nn import Network
from annrl.symbolic.law import Law, coefficient_errors, extract_law, resimulate


@dataclass
class SavedLaw:
    """A law recovered from a saved field, with the data it is checked against."""

    law: Law
    t: np.ndarray
    observed: np.ndarray
    simulated: np.ndarray
    truth: dict[str, dict[str, float]] | None

    def to_dict(self) -> dict[str, Any]:
        scale = np.std(self.observed, axis=0)
        error = np.sqrt(np.mean(((self.simulated - self.observed) / scale) ** 2))
        out = {**self.law.to_dict(), "resimulation_rmse_standardised": float(error)}
        if self.truth:
            out["truth"] = self.truth
            out["coefficient_errors"] = coefficient_errors(self.law, self.truth)
        return out


def extract_saved_law(net: Network, metadata: dict[str, Any], *, degree: int = 2, trig: bool = False) -> SavedLaw:
    """The law of a network saved by ``annrl dynamics`` (its file's ``metadata``)."""
    if metadata.get("lab") != "dynamics":
        raise InputError("--kind law needs a vector field saved by `annrl dynamics` (model-<approach>.safetensors); "
                         f"this file comes from {metadata.get('lab') or 'an unknown source'}")
    from annrl.systems.learned import LearnedField, Standardiser

    try:
        scaler = Standardiser(*(np.asarray(metadata["scaler"][k], dtype=float) for k in ("mean", "std", "rate")))
        t = np.asarray(metadata["trajectory"]["t"], dtype=float)
        x = np.asarray(metadata["trajectory"]["x"], dtype=float)
        variables = [str(v) for v in metadata["variables"]]
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"the dynamics metadata of this file is incomplete or malformed ({error})") from None
    if x.ndim != 2 or x.shape != (len(t), len(variables)) or net.n_inputs != len(variables):
        raise InputError(f"the saved trajectory {x.shape} does not match {len(t)} times, variables {variables} "
                         f"and a network of {net.n_inputs} inputs")
    law = extract_law(LearnedField(net, scaler), x, variables=variables, degree=degree, trig=trig)
    return SavedLaw(law, t, x, resimulate(law, x[0], t), metadata.get("truth"))


def law_rows(result: SavedLaw) -> list[tuple[str, Any]]:
    law = result.law
    rows: list[tuple[str, Any]] = [(f"equation {v}", text) for v, text in
                                   zip(law.variables, law.equation_text(), strict=True)]
    for k, v in enumerate(law.variables):
        for term, c, s in zip(law.terms, law.coefficients[k], law.stderr[k], strict=True):
            if c:
                rows.append((f"  d{v}/dt: {term.name}", f"{c:.5g} +- {s:.2g}"))
    metrics = result.to_dict()
    rows.append(("re-simulation RMSE (in std units)", f"{metrics['resimulation_rmse_standardised']:.3g}"))
    if "coefficient_errors" in metrics:
        errors = metrics["coefficient_errors"]
        rows.append(("largest coefficient error", f"{100 * errors['max_relative']:.2f}% "
                     f"(largest spurious term {errors['largest_spurious']:.2g})"))
    return rows


def law_figures(result: SavedLaw, out: Path) -> list[str]:
    """``law.png`` (the data and the recovered law integrated from the first observation) and
    ``coefficients.png`` (each recovered coefficient with its standard error, the truth beside it)."""
    from annrl.viz.style import figure, new_figure, save

    law = result.law
    fig = new_figure(size=(7, 2.2 * len(law.variables)))
    axes = fig.subplots(len(law.variables), 1, sharex=True, squeeze=False)
    for k, (ax, v) in enumerate(zip(axes[:, 0], law.variables, strict=True)):
        ax.plot(result.t, result.observed[:, k], ".", ms=2, color="0.5", label="data")
        ax.plot(result.t, result.simulated[:, k], "C3", label="recovered law, integrated")
        ax.set(ylabel=v)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    axes[-1, 0].set(xlabel="time")
    fig.suptitle("; ".join(law.equation_text()), fontsize=9)
    save(fig, out / "law.png")

    labels, values, errors, true_values = [], [], [], []
    for k, v in enumerate(law.variables):
        for term, c, s in zip(law.terms, law.coefficients[k], law.stderr[k], strict=True):
            truth = (result.truth or {}).get(v, {}).get(term.name)
            if c or truth is not None:
                labels.append(f"d{v}/dt\n{term.name}")
                values.append(c)
                errors.append(s)
                true_values.append(np.nan if truth is None else truth)
    fig, ax = figure(size=(max(4, 1.1 * len(labels)), 3.2))
    positions = np.arange(len(labels))
    ax.bar(positions, values, yerr=errors, capsize=4, color="C0", label="recovered (+- std error)")
    if result.truth:
        ax.plot(positions, true_values, "k_", ms=24, mew=2, label="true")
    ax.set_xticks(positions, labels, fontsize=8)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set(ylabel="coefficient", title="Recovered coefficients")
    ax.legend(fontsize=8)
    save(fig, out / "coefficients.png")
    return ["law.png", "coefficients.png"]
