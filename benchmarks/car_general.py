"""Drivers on courses they have never seen: the held-out suite (issue #25). Numbers, not pass/fail.

    python benchmarks/car_general.py drivers                 # the pretrained driver and the heuristic
    python benchmarks/car_general.py gap --steps 2000000     # GA, ES, PPO: family:hard vs s_bends alone
    python benchmarks/car_general.py gap --algos ga --limit 20 --out runs/car_general
    python benchmarks/car_general.py sensors --steps 300000 --seeds 0,1 --track-pool 16 --limit 30

``drivers`` drives the 54 held-out tracks (the hard family's 50 held-out seeds and the 4 shipped
tracks, 3 laps each; ``annrl car benchmark``) with the pretrained driver (``--policy pretrained``)
and with the heuristic, continuous and discrete. ``gap`` trains each algorithm twice with the same
budget of environment steps, once over ``--tracks family:hard`` and once on ``--track s_bends``
alone, continuous steering, and drives the suite with both: the difference of their success rates
is the generalisation gap. ``sensors`` trains the GA recipe over ``family:hard`` with the same budget
for each sensor layout of :data:`LAYOUTS` (rays, their spread and range, the turn rate; one change
from the defaults at a time) and seed, and drives the suite with the sensors each was trained with.
Wall and CPU seconds of every training are reported (the machine may be shared: CPU seconds are the
fairer figure). Results go to ``--out``/car_general.json (``sensors`` also writes each finished run
to ``--out``/sensors.json as it goes).
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
# Sensor layouts the ``sensors`` part compares: changes from the car's defaults (5 rays over 180 degrees,
# 30 m, no turn rate), one at a time; the Unity preset's 5 rays over 90 degrees is "spread90".
LAYOUTS = {
    "default": {},
    "rays7": {"n_rays": 7},
    "rays9": {"n_rays": 9},
    "spread90": {"ray_spread_deg": 90.0},
    "range20": {"max_range": 20.0},
    "range50": {"max_range": 50.0},
    "turn_rate": {"observe_turn_rate": True},
}


def suite(make_driver, continuous: bool, limit: int | None, sensors: dict[str, Any] | None = None) -> dict[str, Any]:
    """The suite's success rate and the per-track records of one driver (seeing with ``sensors``)."""
    tracks = benchmark.suite_tracks("heldout", limit)
    metrics, _ = benchmark.run_suite(make_driver, continuous=continuous, tracks=tracks, sensors=sensors)
    shipped = [r for r in metrics["per_track"] if not r["track"].startswith("family:")]
    return {"success_rate": metrics["success_rate"], "tracks": len(metrics["per_track"]),
            "shipped_success": [r["track"] for r in shipped if r["success"]]}


def drivers(args) -> dict[str, Any]:
    out = {}
    pretrained = load_policy("pretrained")
    out["pretrained"] = {**suite(lambda env: pretrained, not pretrained.shape.discrete, args.limit,
                                 pretrained.shape.sensors),
                         "command": pretrained.metadata.get("command")}
    for continuous in (True, False):
        name = f"heuristic ({'continuous' if continuous else 'discrete'})"
        out[name] = suite(lambda env: HeuristicDriver(env.settings, continuous=env.continuous), continuous,
                          args.limit)
    return out


def train_and_drive(algo: str, args, folder: Path, seed: int, **where: Any) -> dict[str, Any]:
    """Train ``algo``'s budgeted recipe (continuous steering) with ``where`` (tracks, sensors), then drive the
    suite with the sensors it was trained with; its suite record, budget and training seconds."""
    values = {"env": "annrl/CarTrack-v0", "continuous": True, "total_steps": args.steps, "seed": seed,
              "eval_every": args.steps, "eval_episodes": 4, "final_eval_episodes": 4, **RECIPES.get(algo, {}), **where}
    config = get_algorithm(algo).Config(**values)
    wall, cpu = time.perf_counter(), time.process_time()
    run_training(algo, config, out=folder, figures=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    agent = load_policy(folder)
    result = suite(lambda env: agent, True, args.limit, agent.shape.sensors)
    return {**result, "steps": args.steps, "seed": seed, "train_wall_s": wall, "train_cpu_s": cpu}


def gap(args) -> dict[str, Any]:
    out = {}
    for algo in args.algos.split(","):
        for side, where in (("family:hard", {"tracks": "family:hard"}), ("s_bends", {"track": "s_bends"})):
            folder = Path(args.out) / f"{algo}-{side.replace(':', '-')}"
            out[f"{algo} on {side}"] = train_and_drive(algo, args, folder, args.seed, **where)
    return out


def sensors(args) -> dict[str, Any]:
    """GA over family:hard for every layout of ``--layouts`` and seed of ``--seeds``: per run, then per layout
    (the mean success over the seeds)."""
    out: dict[str, Any] = {}
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in args.layouts.split(","):
        runs = []
        for seed in seeds:
            folder = Path(args.out) / f"sensors-{name}-seed{seed}"
            runs.append(train_and_drive("ga", args, folder, seed, tracks="family:hard", track_pool=args.track_pool,
                                        **LAYOUTS[name]))
            out[f"ga, {name}, seed {seed}"] = runs[-1]
            Path(args.out).mkdir(parents=True, exist_ok=True)
            (Path(args.out) / "sensors.json").write_text(json.dumps(out, indent=2))  # a partial run keeps its part
        rates = [r["success_rate"] for r in runs]
        out[f"ga, {name}, mean of {len(seeds)} seeds"] = {
            "success_rate": sum(rates) / len(rates), "per_seed": rates, "tracks": runs[0]["tracks"],
            "shipped_success": sorted(set.intersection(*(set(r["shipped_success"]) for r in runs))),
            "train_cpu_s": sum(r["train_cpu_s"] for r in runs) / len(runs), "layout": LAYOUTS[name]}
    return out


PARTS = {"drivers": drivers, "gap": gap, "sensors": sensors}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", default=["drivers"], choices=PARTS, help="what to measure.")
    parser.add_argument("--algos", default="ga,es,ppo", help="gap: algorithms, comma-separated.")
    parser.add_argument("--steps", type=int, default=2_000_000, help="gap, sensors: environment steps of every "
                                                                     "training.")
    parser.add_argument("--seed", type=int, default=0, help="gap: training seed.")
    parser.add_argument("--seeds", default="0,1", help="sensors: training seeds, comma-separated.")
    parser.add_argument("--track-pool", type=int, default=64, help="sensors: the hard family's training seeds "
                                                                   "drawn from (fewer: less table building).")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"sensors: layouts among {list(LAYOUTS)}.")
    parser.add_argument("--limit", type=int, default=None, help="drive only the suite's first LIMIT tracks.")
    parser.add_argument("--out", default="runs/car_general", help="folder of the trainings and car_general.json.")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    for part in args.parts:
        results.update(PARTS[part](args))
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
