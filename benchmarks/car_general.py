"""Drivers on courses they have never seen: the held-out suite (issue #25). Numbers, not pass/fail.

    python benchmarks/car_general.py drivers                 # the pretrained driver and the heuristic
    python benchmarks/car_general.py gap --steps 2000000     # GA, ES, PPO: family:hard vs s_bends alone
    python benchmarks/car_general.py gap --algos ga --limit 20 --out runs/car_general

``drivers`` drives the 54 held-out tracks (the hard family's 50 held-out seeds and the 4 shipped
tracks, 3 laps each; ``annrl car benchmark``) with the pretrained driver (``--policy pretrained``)
and with the heuristic, continuous and discrete. ``gap`` trains each algorithm twice with the same
budget of environment steps, once over ``--tracks family:hard`` and once on ``--track s_bends``
alone, continuous steering, and drives the suite with both: the difference of their success rates
is the generalisation gap. Wall and CPU seconds of every training are reported (the machine may be
shared: CPU seconds are the fairer figure). Results go to ``--out``/car_general.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from annrl.agents import get_algorithm, load_policy
from annrl.agents.cli import run_training
from annrl.envs import benchmark
from annrl.envs.policies import HeuristicDriver

# Per algorithm: the options of its budgeted run (the same on both sides of the gap).
RECIPES = {
    "ga": {"population": 32, "episodes_per_member": 4, "hidden": "8"},
    "es": {"population": 32, "episodes_per_member": 4, "hidden": "8"},
    "ppo": {"num_envs": 8},
}


def suite(make_driver, continuous: bool, limit: int | None) -> dict[str, Any]:
    """The suite's success rate and the per-track records of one driver."""
    tracks = benchmark.suite_tracks("heldout", limit)
    metrics, _ = benchmark.run_suite(make_driver, continuous=continuous, tracks=tracks)
    shipped = [r for r in metrics["per_track"] if not r["track"].startswith("family:")]
    return {"success_rate": metrics["success_rate"], "tracks": len(metrics["per_track"]),
            "shipped_success": [r["track"] for r in shipped if r["success"]]}


def drivers(args) -> dict[str, Any]:
    out = {}
    pretrained = load_policy("pretrained")
    out["pretrained"] = {**suite(lambda env: pretrained, not pretrained.shape.discrete, args.limit),
                         "command": pretrained.metadata.get("command")}
    for continuous in (True, False):
        name = f"heuristic ({'continuous' if continuous else 'discrete'})"
        out[name] = suite(lambda env: HeuristicDriver(env.settings, continuous=env.continuous), continuous,
                          args.limit)
    return out


def gap(args) -> dict[str, Any]:
    out = {}
    for algo in args.algos.split(","):
        module = get_algorithm(algo)
        for side, where in (("family:hard", {"tracks": "family:hard"}), ("s_bends", {"track": "s_bends"})):
            values = {"env": "annrl/CarTrack-v0", "continuous": True, "total_steps": args.steps, "seed": args.seed,
                      "eval_every": args.steps, "eval_episodes": 4, "final_eval_episodes": 4,
                      **RECIPES.get(algo, {}), **where}
            config = module.Config(**values)
            folder = Path(args.out) / f"{algo}-{side.replace(':', '-')}"
            wall, cpu = time.perf_counter(), time.process_time()
            run_training(algo, config, out=folder, figures=False)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            agent = load_policy(folder)
            result = suite(lambda env, agent=agent: agent, True, args.limit)
            out[f"{algo} on {side}"] = {**result, "steps": args.steps, "train_wall_s": wall, "train_cpu_s": cpu}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", default=["drivers"], choices=("drivers", "gap"), help="what to measure.")
    parser.add_argument("--algos", default="ga,es,ppo", help="gap: algorithms, comma-separated.")
    parser.add_argument("--steps", type=int, default=2_000_000, help="gap: environment steps of every training.")
    parser.add_argument("--seed", type=int, default=0, help="gap: training seed.")
    parser.add_argument("--limit", type=int, default=None, help="drive only the suite's first LIMIT tracks.")
    parser.add_argument("--out", default="runs/car_general", help="folder of the trainings and car_general.json.")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    for part in args.parts:
        results.update(drivers(args) if part == "drivers" else gap(args))
    table = Table(title="3 clean laps on the held-out suite (hard family's held-out seeds + shipped tracks)")
    for column in ("driver", "success", "tracks", "shipped tracks driven", "train CPU s"):
        table.add_column(column)
    for name, r in results.items():
        cpu = f"{r['train_cpu_s']:.0f}" if "train_cpu_s" in r else ""
        table.add_row(name, f"{r['success_rate']:.0%}", str(r["tracks"]), ", ".join(r["shipped_success"]), cpu)
    Console(width=140).print(table)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "car_general.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
