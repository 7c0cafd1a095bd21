"""Sweep throughput: a 200-run XOR sweep in-process, on a local Ray, and folded into populations;
and what Ray Tune's ASHA saves on a sweep of PPO runs.

    python benchmarks/sweep.py                    # 2 settings x 100 seeds x 2000 epochs, Ray on 2 CPUs
    python benchmarks/sweep.py --seeds 20 --epochs 500
    python benchmarks/sweep.py --asha             # PPO on CartPole, 6 learning rates x 2 seeds, with and without ASHA

Three ways to run the same 200 XOR trainings (``annrl xor --seeds 1 --seed k``, 2000 epochs, no
extension; settings lr 0.1 and 0.5):

1. serial: one run after another in this process (``annrl sweep`` without --ray, ``fold_seeds: false``);
2. Ray: the same runs on a local Ray with 2 CPUs, in chunks (``--ray local``). Target: at most 1.3x
   the ideal two-core time, serial / 2. Ray is started, and its workers warmed up by a 4-run
   sweep, before the clock starts (a cluster is started once, not per sweep); the start-up time is
   reported separately;
3. folded: the in-process sweep with the seeds folded into the population axis: one run of
   ``--seeds 100`` per setting. Target: at least 10x faster than serial. (A population draws its
   networks from one generator, so the folded networks are not the same draws as ``--seed k``;
   the work, 200 networks x 2000 epochs, is.)

``--asha``: 12 PPO runs on CartPole-v1 (learning rates 1e-5 .. 3e-3, 2 seeds, 30k steps, a greedy
evaluation every 3k) through Tune twice on the same local Ray: every run to its end (chunked trials),
then one trial per run under ASHA (metric eval_return, rungs at 6k and 18k steps, the best third
kept at each). Printed: wall time, environment steps spent, and the best learning rate each found.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from annrl.sweep import SweepResult, parse_sweep, run_sweep


def sweep_config(seeds: int, epochs: int, fold: bool) -> dict:
    return {"command": "xor", "grid": {"lr": [0.1, 0.5]}, "seeds": seeds, "fold_seeds": fold,
            "options": {"epochs": epochs, "extend": 0}}


def timed(config: dict, out: Path, ray: str | None = None) -> tuple[float, SweepResult]:
    start = time.perf_counter()
    result = run_sweep(parse_sweep(config), out, ray=ray)
    wall = time.perf_counter() - start
    finished = result.metrics["done"] + result.metrics["stopped"]
    assert finished == result.metrics["runs"], result.metrics["failed"][:3]
    return wall, result


ASHA_LRS = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3]


def asha_config(scheduler: bool) -> dict:
    config = {"command": "rl train", "grid": {"lr": ASHA_LRS}, "seeds": 2, "metric": "final_eval_return",
              "options": {"algo": "ppo", "env": "CartPole-v1", "steps": 30_000, "eval_every": 3000,
                          "eval_episodes": 5, "final_eval_episodes": 10},
              "tune": {}}
    if scheduler:
        config["tune"] = {"scheduler": "asha", "metric": "eval_return", "mode": "max", "max_t": 30_000,
                          "grace_period": 6000, "reduction_factor": 3}
    return config


def asha(folder: Path, cpus: int) -> None:
    """The same PPO sweep through Tune with every run to its end, then under ASHA."""
    import ray

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    for scheduler in (False, True):
        wall, result = timed(asha_config(scheduler), folder / f"asha-{scheduler}")
        metrics, best = result.metrics, result.metrics["best"][0]
        steps = sum(row["env_steps"] if row["status"] == "done" else row["stopped_at.step"] for row in result.rows)
        print(f"{'ASHA' if scheduler else 'every run to the end':22} {wall:7.1f} s  {steps:>7,} env steps  "
              f"{metrics['stopped']:2} of {metrics['runs']} runs stopped early  best lr {best['params']['lr']:g} "
              f"(final eval return {best['mean']:.1f} over {best['runs']} seeds)", flush=True)
    ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=100, help="seeds per setting (2 settings)")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--asha", action="store_true", help="measure ASHA on a PPO sweep instead")
    args = parser.parse_args()
    import ray

    folder = Path(tempfile.mkdtemp(prefix="annrl-sweep-bench-"))
    try:
        if args.asha:
            return asha(folder, args.cpus)
        runs = 2 * args.seeds
        print(f"{runs} XOR runs x {args.epochs} epochs; load average {os.getloadavg()[0]:.2f}, "
              f"{os.cpu_count()} cores")
        serial, _ = timed(sweep_config(args.seeds, args.epochs, False), folder / "serial")
        folded, _ = timed(sweep_config(args.seeds, args.epochs, True), folder / "folded")
        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        timed(sweep_config(2, 10, False), folder / "warm-up", ray="local")
        startup = time.perf_counter() - start
        on_ray, _ = timed(sweep_config(args.seeds, args.epochs, False), folder / "ray", ray="local")
        ray.shutdown()
        ideal = serial / args.cpus
        print(f"serial in-process      {serial:8.2f} s  ({runs / serial:.1f} runs/s)")
        print(f"Ray local, {args.cpus} CPUs      {on_ray:8.2f} s  = {on_ray / ideal:.2f} x the ideal {ideal:.2f} s "
              f"(target <= 1.3); Ray start + worker warm-up {startup:.1f} s, not included")
        print(f"folded into populations {folded:7.2f} s  = {serial / folded:.1f} x faster than serial (target >= 10)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
