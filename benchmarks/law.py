"""Laws from data: Lotka-Volterra's coefficients by annrl (network field -> sparse law) and by PySINDy.

    python benchmarks/law.py [--seeds 5] [--noise 0.01 0.05] [--json results.json]

The task (issue #8): Lotka-Volterra with alpha=1.1, beta=0.4, gamma=0.4, delta=0.1, x0=y0=10,
t in [0, 50] sampled every 0.1, observed with Gaussian noise of 1% and 5% of each state's standard
deviation (the dynamics lab's noise model). Every contestant sees the same noisy trajectory.

- annrl, each approach of the dynamics lab (``derivative``: fit to smoothed derivatives;
  ``rollout``: fit through RK4 rollouts): train the field with the lab's defaults, then
  :func:`annrl.symbolic.law.extract_law` on the field at the observed states (degree-2 monomials);
- PySINDy: ``SINDy(PolynomialLibrary(degree=2), STLSQ(threshold))`` on the noisy data with its own
  finite differences, at its default threshold (0.1) and at the best threshold of a grid chosen
  *with the truth* (an oracle: the best PySINDy could do with this library).

The figure of merit is the largest relative error of the four true coefficients, and the number of
spurious terms (nonzero coefficients the system does not have); medians over seeds.
PySINDy is a benchmark-only dependency: ``pip install pysindy``.

Coverage of the law's intervals (issue #26):

    python benchmarks/law.py --coverage 100 [--noise 0.01] [--json coverage.json]

trains the derivative approach (or ``--approach rollout``) on ``--coverage`` noisy datasets of the
Lotka-Volterra system of the issue (x' = 1.3 x - 0.5 x y, y' = 0.2 x y - 0.7 y from (4, 2), t in
[0, 25] every 0.05, seeds 0, 1, ...), extracts the law of each and counts how often each 95%
interval holds the true coefficient: with the data's derivative estimates (the default of
``annrl extract --kind law``) and with the field's own bootstrap only (what the intervals were
before). No PySINDy needed.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from annrl.labs.dynamics.lab import DynamicsConfig, train
from annrl.symbolic.law import coefficient_errors, extract_law

TRUTH = {"x": {"x": 1.1, "x*y": -0.4}, "y": {"y": -0.4, "x*y": 0.1}}
ORACLE_THRESHOLDS = (0.01, 0.02, 0.05, 0.1, 0.2)


def sindy_errors(x: np.ndarray, t: np.ndarray, threshold: float) -> dict[str, float]:
    import pysindy as ps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ps.SINDy(feature_library=ps.PolynomialLibrary(degree=2), optimizer=ps.STLSQ(threshold=threshold))
        model.fit(x, t=t)
    names = [name.replace(" ", "*").replace("x0", "x").replace("x1", "y") for name in model.get_feature_names()]
    coefficients = model.coefficients()
    relative, spurious = [], 0
    for k, variable in enumerate(("x", "y")):
        for j, name in enumerate(names):
            value = TRUTH[variable].get(name)
            if value is not None:
                relative.append(abs(coefficients[k, j] - value) / abs(value))
            elif coefficients[k, j] != 0:
                spurious += 1
    return {"max_relative": float(max(relative)), "spurious_terms": spurious}


def annrl_errors(field, x: np.ndarray) -> dict[str, float]:
    law = extract_law(field, x, variables=["x", "y"])
    errors = coefficient_errors(law, TRUTH)
    return {"max_relative": float(errors["max_relative"]),
            "spurious_terms": int(np.count_nonzero(law.coefficients)) - 4}


def run(noise: float, seeds: int) -> dict[str, dict[str, float]]:
    rows: dict[str, list[dict[str, float]]] = {}
    for seed in range(seeds):
        start = time.perf_counter()
        result = train(DynamicsConfig(noise=noise, seed=seed))
        x, t = result.trajectory.x, result.trajectory.t
        for approach, fitted in result.fields.items():
            rows.setdefault(f"annrl {approach}", []).append(annrl_errors(fitted.field, x))
        rows.setdefault("PySINDy STLSQ default (0.1)", []).append(sindy_errors(x, t, 0.1))
        oracle = min((sindy_errors(x, t, th) for th in ORACLE_THRESHOLDS), key=lambda r: r["max_relative"])
        rows.setdefault("PySINDy STLSQ oracle threshold", []).append(oracle)
        print(f"  noise {noise:.0%} seed {seed}: {time.perf_counter() - start:.1f} s", flush=True)
    return {name: {"median_max_relative": float(np.median([r["max_relative"] for r in runs])),
                   "worst_max_relative": float(np.max([r["max_relative"] for r in runs])),
                   "median_spurious_terms": float(np.median([r["spurious_terms"] for r in runs]))}
            for name, runs in rows.items()}


COVERAGE_SYSTEM = "x' = a*x - b*x*y; y' = d*x*y - c*y"
COVERAGE_PARAMS = {"a": 1.3, "b": 0.5, "c": 0.7, "d": 0.2}
COVERAGE_TRUTH = {"x": {"x": 1.3, "x*y": -0.5}, "y": {"x*y": 0.2, "y": -0.7}}


def coverage(noise: float, datasets: int, approach: str = "derivative") -> dict[str, float]:
    """How often the 95% intervals hold the truth over ``datasets`` noisy datasets (see the module docstring)."""
    from annrl.symbolic.law import INTERVAL_Z

    hits: dict[str, list[bool]] = {"data": [], "field": []}
    wrong_support = 0
    for seed in range(datasets):
        start = time.perf_counter()
        result = train(DynamicsConfig(system=COVERAGE_SYSTEM, params=COVERAGE_PARAMS, x0=(4.0, 2.0), t_end=25.0,
                                      dt=0.05, noise=noise, approach=approach, seed=seed))
        field, x = result.fields[approach].field, result.trajectory.x
        for kind, derivatives in (("data", result.derivative), ("field", None)):
            law = extract_law(field, x, variables=["x", "y"], derivatives=derivatives, rng=np.random.default_rng(seed))
            index = {t.name: j for j, t in enumerate(law.terms)}
            if kind == "data" and np.count_nonzero(law.coefficients) != 4:
                wrong_support += 1
            for k, variable in enumerate(("x", "y")):
                for name, value in COVERAGE_TRUTH[variable].items():
                    c, s = law.coefficients[k, index[name]], law.stderr[k, index[name]]
                    hits[kind].append(bool(s > 0 and abs(c - value) <= INTERVAL_Z * s))
        print(f"  dataset {seed}: {time.perf_counter() - start:.1f} s", flush=True)
    return {"datasets": datasets, "noise": noise, "approach": approach, "coefficients": len(hits["data"]),
            "wrong_support": wrong_support,
            "coverage_data": float(np.mean(hits["data"])), "coverage_field_only": float(np.mean(hits["field"]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.01, 0.05])
    parser.add_argument("--json", default=None)
    parser.add_argument("--coverage", type=int, default=0, metavar="N",
                        help="measure the coverage of the law's 95%% intervals over N noisy datasets instead")
    parser.add_argument("--approach", choices=["derivative", "rollout"], default="derivative",
                        help="with --coverage: the dynamics lab's approach that learns the field")
    args = parser.parse_args()
    results = {}
    if args.coverage:
        for noise in args.noise:
            results[f"{noise:g}"] = row = coverage(noise, args.coverage, args.approach)
            print(f"noise {noise:.0%}: 95% intervals hold the truth {100 * row['coverage_data']:.1f}% of "
                  f"{row['coefficients']} times (field bootstrap only: {100 * row['coverage_field_only']:.1f}%), "
                  f"{row['wrong_support']} datasets with a wrong set of terms")
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(results, handle, indent=2)
        return
    for noise in args.noise:
        results[f"{noise:g}"] = run(noise, args.seeds)
        print(f"\nnoise {noise:.0%} (medians over {args.seeds} seeds)")
        print(f"{'method':34s} {'max rel. error':>15s} {'worst':>8s} {'spurious':>9s}")
        for name, r in results[f"{noise:g}"].items():
            print(f"{name:34s} {100 * r['median_max_relative']:14.2f}% {100 * r['worst_max_relative']:7.2f}% "
                  f"{r['median_spurious_terms']:9.0f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
