"""How closely the compiled training loop agrees with the NumPy engine, against how much training itself
amplifies rounding.

    python benchmarks/compiled_agreement.py [--cases 150] [--seed 1]

Random networks, activations, losses, optimizers and batch sizes (the space of the hypothesis test in
``tests/nn/test_compiled.py``), 12 epochs each in float64, trained twice: ``kernel="numpy"`` and
``kernel="compiled"``. For each case it prints the largest parameter difference between the two, and the
*spread*: how far one ulp more on every starting weight moves the NumPy path's own trained weights. The
test allows ``max(1e-10, 100 x spread)``; this script shows the worst cases and the largest ratio.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "nn"))

from test_compiled import ACTIVATIONS, OPTIMIZERS, both, data, rounding_spread  # noqa: E402

from annrl.nn import MLP  # noqa: E402


def random_case(rng: np.random.Generator) -> dict:
    sizes = [int(k) for k in rng.integers(1, 6, rng.integers(2, 5))]
    case = {"sizes": sizes, "hidden": ACTIVATIONS[rng.integers(len(ACTIVATIONS))],
            "output": ["identity", "tanh", "sigmoid"][rng.integers(3)],
            "loss": ["mse", "bce", "softmax_ce", "huber"][rng.integers(4)],
            "optimizer": sorted(OPTIMIZERS)[rng.integers(len(OPTIMIZERS))],
            "population": [1, 3, 70][rng.integers(3)], "batch": [None, 1, 3, 5][rng.integers(4)],
            "seed": int(rng.integers(2**16))}
    if case["loss"] == "softmax_ce":
        sizes[-1], case["output"] = max(2, sizes[-1]), "identity"
    return case


def measure(case: dict) -> tuple[float, float] | None:
    """(largest compiled-vs-NumPy difference, spread), or None for a run that blows up (losses past 1e30)."""
    X, Y = data(case["loss"], case["sizes"][0], case["sizes"][-1], 7, case["seed"])

    def make():
        return MLP(case["sizes"], hidden=case["hidden"], output=case["output"], population=case["population"],
                   seed=case["seed"])

    options = {"loss": case["loss"], "optimizer": OPTIMIZERS[case["optimizer"]], "epochs": 12,
               "batch_size": case["batch"]}
    a, ha, b, _ = both(make, X, Y, **options)
    if not np.all(np.abs(ha.loss[np.isfinite(ha.loss)]) < 1e30):
        return None
    return float(np.nanmax(np.abs(b.flat_ - a.flat_))), rounding_spread(make, X, Y, a, **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # overflow warnings of the cases that blow up (they are left out)
    rng, rows = np.random.default_rng(args.seed), []
    for _ in range(args.cases):
        case = random_case(rng)
        result = measure(case)
        if result is not None:
            rows.append((*result, case))
    rows.sort(key=lambda row: -row[0])
    for diff, spread, case in rows[:8]:
        print(f"difference {diff:.2e}  spread {spread:.2e}  {case}")
    ratios = [diff / spread for diff, spread, _ in rows if spread > 0]
    allowed = sum(diff <= max(1e-10, 100 * spread) for diff, spread, _ in rows)
    print(f"{len(rows)} cases (of {args.cases}; the rest blew up): median difference "
          f"{np.median([r[0] for r in rows]):.1e}, largest ratio to the spread {max(ratios):.1f}, "
          f"within the test's tolerance {allowed}/{len(rows)}")


if __name__ == "__main__":
    main()
