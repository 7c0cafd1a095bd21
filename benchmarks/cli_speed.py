"""How fast ``annrl`` answers: ``annrl --version`` and ``annrl --help`` against ``python -c "import annrl"``.

The target (issue 28): each answers within 0.5 s, or 3x the bare import, whichever is larger, measured
in the same run (a loaded machine slows all three alike). Prints the median of ``--repeat`` runs of each.

    python benchmarks/cli_speed.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c 'import annrl'": [sys.executable, "-c", "import annrl"],
    "annrl --version": [sys.executable, "-m", "annrl", "--version"],
    "annrl --help": [sys.executable, "-m", "annrl", "--help"],
    "annrl xor --help": [sys.executable, "-m", "annrl", "xor", "--help"],
}


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="runs of each command (default: 7)")
    args = parser.parse_args()
    medians = {name: statistics.median(seconds(cmd) for _ in range(args.repeat)) for name, cmd in CASES.items()}
    bound = max(0.5, 3 * medians["python -c 'import annrl'"])
    for name, value in medians.items():
        verdict = "" if name not in ("annrl --version", "annrl --help") else (
            "  ok" if value <= bound else f"  OVER the bound {bound:.2f} s")
        print(f"{name:28s} {value:6.3f} s{verdict}")
    return 0 if all(medians[n] <= bound for n in ("annrl --version", "annrl --help")) else 1


if __name__ == "__main__":
    sys.exit(main())
