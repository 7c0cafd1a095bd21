"""``python -m annrl.systems --out runs/systems``: print each system and plot its trajectories.

Writes one PNG per system (time series and phase portrait over the vector field) and prints
the equations and, where there is one, the drift of the conserved quantity.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .lotka_volterra import LotkaVolterra, lotka_volterra_benchmark
from .pendulum import DampedPendulum
from .plots import plot_trajectory
from .van_der_pol import VanDerPol


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m annrl.systems", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/systems"), help="folder for the figures")
    parser.add_argument("--noise", type=float, default=0.01, help="noise on the Lotka-Volterra benchmark")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    runs = {
        "lotka_volterra": (LotkaVolterra(), lotka_volterra_benchmark(args.noise, rng)),
        "pendulum": (DampedPendulum(), DampedPendulum().simulate([2.5, 0.0], (0.0, 20.0), 0.02)),
        "pendulum_undamped": (DampedPendulum(damping=0.0),
                              DampedPendulum(damping=0.0).simulate([2.5, 0.0], (0.0, 20.0), 0.02)),
        "van_der_pol": (VanDerPol(mu=1.0), VanDerPol(mu=1.0).simulate([0.1, 0.0], (0.0, 40.0), 0.02)),
    }
    for key, (system, trajectory) in runs.items():
        print(f"{system!r}\n{system}")
        if system.has_invariant:
            drift = np.abs(system.invariant(trajectory.x_clean) - system.invariant(trajectory.x_clean[0])).max()
            print(f"  largest drift of the conserved quantity: {drift:.2e}")
        plot_trajectory(trajectory, system, args.out / f"{key}.png")
        print(f"  wrote {args.out / f'{key}.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
