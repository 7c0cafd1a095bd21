"""Frozen vs continual vs drift-detecting learners over seeds: accuracy after each drift and recovery time.

    python benchmarks/adapt.py [--seeds 5] [--kinds sudden,activity,recurring,gradual]

Prints one row per stream and learner: accuracy over the last window before the next drift (mean
over seeds), samples to recover within 5 points of the pre-drift accuracy (median over the
recoveries that happened; "never" counts those that did not), and the drift detections of the
adaptive learner's Page-Hinkley test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from annrl.labs.adapt.prequential import MODES, compare_learners
from annrl.labs.adapt.streams import KINDS, make_stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    print("| stream | learner | last-window accuracy after drift (mean of seeds) | recovery, samples (median) "
          "| never recovered |")
    print("|---|---|---:|---:|---:|")
    start = time.perf_counter()
    for kind in args.kinds.split(","):
        rows = {mode: [] for mode in MODES}
        for seed in range(args.seeds):
            result = compare_learners(make_stream(kind, seed=seed), seed=seed)
            for mode in MODES:
                rows[mode] += result.recoveries[mode]
        for mode in MODES:
            after = np.mean([r.after for r in rows[mode]])
            times = [r.recovery for r in rows[mode] if r.recovery is not None]
            never = sum(r.recovery is None for r in rows[mode])
            median = f"{np.median(times):.0f}" if times else "-"
            print(f"| {kind} | {mode} | {100 * after:.1f}% | {median} | {never} of {len(rows[mode])} |")
    print(f"\n{args.seeds} seeds, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
