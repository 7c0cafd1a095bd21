"""The zoo's demos in full mode: does each finish within a minute on this machine?

    python benchmarks/zoo.py [--names perceptron,esn] [--out runs/bench-zoo] [--json results.json]

Each demo runs through ``annrl zoo NAME`` (its figure, diagram and metrics.json written to --out),
one after the other in this process, after a warm-up of the imports. The issue's target is absolute
(under 60 s on 2 cores), so the load average is printed next to the times: on a shared machine a
demo's wall time grows with the load, and a time taken at load 8 on 2 cores is about four times the
quiet one. The CNN and LSTM against PyTorch are measured by their own benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from annrl.zoo import cli, registry

#: the architectures this benchmark times by default (the CNN and sequence models have their own)
DEFAULT = ["perceptron", "mlp", "rbf", "hopfield", "rbm", "autoencoder", "som", "elm", "esn", "resnet"]
LIMIT_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", default=",".join(DEFAULT), help="comma-separated architectures")
    parser.add_argument("--out", default="runs/bench-zoo", help="folder for the demos' outputs")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    names = [n for n in args.names.split(",") if n]
    modules = [registry.load(n) for n in names]
    import annrl.viz.style  # noqa: F401  (the first figure would otherwise pay for importing matplotlib)
    from annrl.zoo.datasets import digits

    digits()  # and the first digits demo for reading scikit-learn's data
    rows = []
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'demo':<12} {'wall s':>7}  {'< 60 s':>6}  metrics")
    for module in modules:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        metrics = cli.run_one(module, Path(args.out) / module.NAME, quick=False)
        wall = time.perf_counter() - start
        rows.append({"name": module.NAME, "wall_s": round(wall, 2), "load_avg": round(load, 1), "metrics": metrics})
        shown = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "seconds" and isinstance(v, float))
        print(f"{module.NAME:<12} {wall:>7.1f}  {'yes' if wall < LIMIT_S else 'NO':>6}  {shown}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}; total {sum(r['wall_s'] for r in rows):.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
