"""What periodic checkpointing costs a 10,000-network XOR run (target: under 5%).

    python benchmarks/checkpoint_overhead.py [--seeds 10000] [--epochs 2000] [--repeat 3]

Times the XOR lab's training (no extension phase) without checkpoints, with the default schedule
(every 300 s) and with a checkpoint every 500 and every 100 epochs, in the same run; each figure is
the best of ``--repeat`` runs, interleaved so that machine noise hits all settings alike. Scheduled
saves are written by a background thread, so the seconds the *training thread* spends on them
(copying the state, waiting for the previous save, the final wait) are reported too, as a share of
the training: on a busy machine the end-to-end differences can drown in noise.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict

from annrl.io.resume import Checkpointer
from annrl.labs.xor.lab import XorConfig, train

#: seconds the training thread spent in checkpointing calls during the current run
SAVING = [0.0]
_DEPTH = [0]


def _timed(method):
    def timed_method(self, *args, **kwargs):
        # calls nest (a save waits for the one in flight): only the outermost one is counted
        _DEPTH[0] += 1
        start = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0:
                SAVING[0] += time.perf_counter() - start
    return timed_method


for _name in ("save", "close", "wait", "_save_in_background"):
    setattr(Checkpointer, _name, _timed(getattr(Checkpointer, _name)))


def timed(config: XorConfig, every: str | None) -> tuple[float, float]:
    """Seconds of the whole run, and of them the seconds the training thread spent on checkpoints."""
    SAVING[0] = 0.0
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        with Checkpointer(out if every else None, asdict(config), every=every) as checkpointer:
            train(config, checkpointer=checkpointer)  # closing waits for the last save: it is timed too
        return time.perf_counter() - start, SAVING[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10000, help="networks in the population")
    parser.add_argument("--epochs", type=int, default=2000, help="epochs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting; the best is kept")
    args = parser.parse_args()
    config = XorConfig(seeds=args.seeds, epochs=args.epochs, extend=0)
    settings = {"none": None, "default (300s)": "300s", "every 500 epochs": "500", "every 100 epochs": "100"}
    best = {name: (float("inf"), 0.0) for name in settings}
    for _ in range(args.repeat):
        for name, every in settings.items():
            best[name] = min(best[name], timed(config, every))
    base = best["none"][0]
    print(f"{'checkpoints':>18} {'seconds':>8} {'overhead':>9} {'blocked s':>9} {'blocked/training':>16}")
    for name, (seconds, saving) in best.items():
        print(f"{name:>18} {seconds:>8.3f} {100 * (seconds / base - 1):>8.1f}% {saving:>9.3f} "
              f"{100 * saving / (seconds - saving):>15.1f}%")


if __name__ == "__main__":
    main()
