"""``python -m annrl.calculus --out runs/calculus``: the derivative accuracy tables and figures.

Measures every method of :func:`annrl.calculus.default_methods` on the analytic signal and on
the Lotka-Volterra benchmark at 0, 0.1, 1 and 5% noise, prints the tables in Markdown and
writes ``accuracy.json`` and PNG figures to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .accuracy import accuracy_table, analytic_signal, default_methods, plot_accuracy, plot_estimates

NOISE_LEVELS = (0.0, 0.001, 0.01, 0.05)
SHOWN_IN_ESTIMATES = ("central", "Savitzky-Golay", "smoothing spline", "total variation")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m annrl.calculus", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/calculus"), help="folder for the JSON and figures")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--trials", type=int, default=5, help="noise draws per noisy level")
    args = parser.parse_args(argv)

    from annrl.systems import lotka_volterra_benchmark  # only this command needs the systems

    rng = np.random.default_rng(args.seed)
    t, x, dxdt = analytic_signal()
    benchmark = lotka_volterra_benchmark()
    signals = {
        "analytic": (t, x, dxdt, "x = sin t + 0.5 cos 2.3t, n=401 on [0, 20]"),
        "lotka_volterra": (benchmark.t, benchmark.x_clean, benchmark.dxdt_clean,
                           "the Lotka-Volterra benchmark (x and y), n=501 on [0, 50]"),
    }
    results = {}
    for key, (times, clean, exact, caption) in signals.items():
        table = accuracy_table(times, clean, exact, rng=rng, noise_levels=NOISE_LEVELS,
                               trials=args.trials, signal=caption)
        print(table.to_markdown(), end="\n\n")
        results[key] = table.to_dict()
        plot_accuracy(table, args.out / f"accuracy_{key}.png")
        noisy = clean + 0.05 * clean.std(axis=0) * rng.standard_normal(clean.shape)
        shown = {name: method for name, method in default_methods().items() if name in SHOWN_IN_ESTIMATES}
        first = (slice(None),) + (0,) * (clean.ndim - 1)  # the first column (the prey, for LV)
        plot_estimates(times, noisy[first], exact[first], shown, args.out / f"estimates_{key}.png",
                       title=f"Derivative estimates at 5% noise: {key}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.json").write_text(json.dumps({"seed": args.seed, **results}, indent=2))
    print(f"wrote {args.out}/accuracy.json and figures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
