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
from annrl.symbolic.law import INTERVAL_METHODS, INTERVAL_Z, Law, coefficient_errors, extract_law, resimulate

#: noise (fraction of each state's spread) above which the intervals were measured to be too narrow
NOISY = 0.02


def noise_level(x: np.ndarray) -> float:
    """The measurement noise of ``x`` ``(n, d)`` as a fraction of each column's standard deviation (the
    largest over columns), from second differences: for a smooth signal sampled finely, ``x[i+1] - 2 x[i] +
    x[i-1]`` is almost all noise, of variance 6 sigma^2. The signal's curvature makes it an upper bound."""
    second = x[2:] - 2 * x[1:-1] + x[:-2]
    return float(np.max(np.std(second, axis=0) / np.sqrt(6) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)))


@dataclass
class SavedLaw:
    """A law recovered from a saved field, with the data it is checked against.

    Attributes
    ----------
    law : Law
        The recovered differential equations.
    t : ndarray of shape (T,)
        The times of the saved trajectory.
    observed : ndarray of shape (T, V)
        The saved trajectory, one column per variable.
    simulated : ndarray of shape (T, V)
        The law integrated from the trajectory's first point over the same times.
    truth : dict of str to dict of str to float, or None
        The true coefficients ``{variable: {term: value}}`` where the file records them.
    """

    law: Law
    t: np.ndarray
    observed: np.ndarray
    simulated: np.ndarray
    truth: dict[str, dict[str, float]] | None

    def to_dict(self) -> dict[str, Any]:
        """The law as JSON (:meth:`Law.to_dict`), with the standardised error of its re-simulation.

        Where the file records the true law, its coefficients and the errors of the recovered ones are added.
        """
        scale = np.std(self.observed, axis=0)
        error = np.sqrt(np.mean(((self.simulated - self.observed) / scale) ** 2))
        out = {**self.law.to_dict(), "resimulation_rmse_standardised": float(error)}
        noise = noise_level(self.observed)
        out["noise_estimate"] = noise
        if self.law.uncertainty == "data" and noise > NOISY:
            out["interval_warning"] = (f"the data's noise is about {100 * noise:.0f}% of each state's spread: above "
                                       f"{100 * NOISY:.0f}% these intervals are too narrow (73% coverage at 5%)")
        if self.truth:
            out["truth"] = {f"{v}'": terms for v, terms in self.truth.items()}
            out["coefficient_errors"] = coefficient_errors(self.law, self.truth)
            out["truth_in_interval"] = {
                f"{v}'": {name: bool(low <= value <= high) for name, value in self.truth.get(v, {}).items()
                          for low, high in [out["intervals"].get(f"{v}'", {}).get(name, [np.nan, np.nan])]}
                for v in self.law.variables}
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
    law = extract_law(LearnedField(net, scaler), x, variables=variables, degree=degree, trig=trig,
                      derivatives=data_derivatives(metadata, t, x))
    return SavedLaw(law, t, x, resimulate(law, x[0], t), metadata.get("truth"))


def data_derivatives(metadata: dict[str, Any], t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The derivative estimates ``(T, d)`` of the saved observations ``x`` ``(T, d)`` at times ``t`` ``(T,)``,
    by the lab's own estimator (its ``method``)."""
    from annrl.calculus import METHODS

    method = (metadata.get("config") or {}).get("method", "spline")
    if method not in METHODS:
        raise InputError.invalid("the file's config.method", f"one of {', '.join(sorted(METHODS))}", method)
    return METHODS[method]()(x, t)


def law_rows(result: SavedLaw) -> list[tuple[str, Any]]:
    """The report's rows ``(label, value)``: each equation, each coefficient with its standard error, the metrics.

    Parameters
    ----------
    result : SavedLaw
        What the law was read from and checked against.
    """
    law = result.law
    metrics = result.to_dict()
    rows: list[tuple[str, Any]] = [(f"equation {v}", text) for v, text in
                                   zip(law.variables, law.equation_text(), strict=True)]
    for k, v in enumerate(law.variables):
        for j, (term, c) in enumerate(zip(law.terms, law.coefficients[k], strict=True)):
            if c:
                low, high = law.interval(k, j)
                rows.append((f"  d{v}/dt: {term.name}", f"{c:.5g}, 95% interval [{low:.5g}, {high:.5g}]"))
    rows.append(("intervals", INTERVAL_METHODS[law.uncertainty]))
    if "interval_warning" in metrics:
        rows.append(("warning", metrics["interval_warning"]))
    rows.append(("re-simulation RMSE (in std units)", f"{metrics['resimulation_rmse_standardised']:.3g}"))
    if "coefficient_errors" in metrics:
        errors = metrics["coefficient_errors"]
        rows.append(("largest coefficient error", f"{100 * errors['max_relative']:.2f}% "
                     f"(largest spurious term {errors['largest_spurious']:.2g})"))
    return rows


def law_figures(result: SavedLaw, out: Path) -> list[str]:
    """Write ``law.png`` and ``coefficients.png`` under ``out``; their names."""
    from annrl.viz.style import save_all

    figures = {"law.png": law_figure(result), "coefficients.png": coefficients_figure(result)}
    save_all(figures, out)
    return list(figures)


def law_figure(result: SavedLaw, path: str | Path | None = None, *, fig: Any = None) -> Any:
    """The data and the recovered law integrated from the first observation, one panel per variable;
    the Figure (written to ``path`` when given)."""
    from annrl.viz.style import finish, panels

    law = result.law
    n = len(law.variables)
    fig, axes = panels(fig, 1, n, size=(7, 2.2 * n), sharex=True)
    axes = np.asarray(axes).reshape(n, 1)
    for k, (ax, v) in enumerate(zip(axes[:, 0], law.variables, strict=True)):
        ax.plot(result.t, result.observed[:, k], ".", ms=2, color="0.5", label="data")
        ax.plot(result.t, result.simulated[:, k], "C3", label="recovered law, integrated")
        ax.set(ylabel=v)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    axes[-1, 0].set(xlabel="time")
    fig.suptitle("; ".join(law.equation_text()), fontsize=9)
    return finish(fig, path)


def coefficients_figure(result: SavedLaw, path: str | Path | None = None, *, ax: Any = None) -> Any:
    """Each recovered coefficient with its 95% interval, the truth beside it when known; the Figure
    (written to ``path`` when given)."""
    from annrl.viz.style import finish, panel

    law = result.law
    labels, values, errors, true_values = [], [], [], []
    for k, v in enumerate(law.variables):
        for term, c, s in zip(law.terms, law.coefficients[k], law.stderr[k], strict=True):
            truth = (result.truth or {}).get(v, {}).get(term.name)
            if c or truth is not None:
                labels.append(f"d{v}/dt\n{term.name}")
                values.append(c)
                errors.append(INTERVAL_Z * s)
                true_values.append(np.nan if truth is None else truth)
    fig, ax = panel(ax, size=(max(4, 1.1 * len(labels)), 3.2))
    positions = np.arange(len(labels))
    ax.bar(positions, values, yerr=errors, capsize=4, color="C0", label="recovered, 95% interval")
    if result.truth:
        ax.plot(positions, true_values, "k_", ms=24, mew=2, label="true")
    ax.set_xticks(positions, labels, fontsize=8)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set(ylabel="coefficient", title="Recovered coefficients")
    ax.legend(fontsize=8)
    return finish(fig, path)
