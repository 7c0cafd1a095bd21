"""``annrl sweep CONFIG.yaml``: a grid or random search over any command's options and seeds.

    annrl sweep xor_grid.yaml --out runs/xor-grid                 # in this process
    annrl sweep xor_grid.yaml --out runs/xor-grid --ray local     # a local Ray, one worker per core
    annrl sweep xor_grid.yaml --out runs/xor-grid --ray HOST:6379 # a Ray cluster
    annrl sweep ppo_asha.yaml --out runs/ppo-asha --tune          # Ray Tune (its file may name a scheduler)
    annrl sweep xor_grid.yaml --out runs/xor-grid --log jsonl     # each run streams runs/<id>/log.jsonl

Run it again with the same --out to resume: finished runs are skipped, failed ones retried.
Exit status: 0 when every run finished, 1 when any run failed (the table names them), 2 for a bad file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from annrl.clikit import add_output_options, positive_int, show

EXIT_RUNS_FAILED = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sweep", help="grid or random search over any command's options and seeds (in-process or on Ray)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="the sweep file (YAML): command, grid/random, options, seeds, ...")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="local|ADDRESS",
                        help="run on Ray: 'local' starts one on this machine, ADDRESS joins a cluster")
    parser.add_argument("--tune", action="store_true",
                        help="run the runs as Ray Tune trials (on a local Ray unless --ray names a cluster); "
                             "a 'tune:' section in the file implies it and can name a scheduler (asha)")
    parser.add_argument("--num-cpus", type=positive_int, default=None,
                        help="CPUs of the local Ray (default: all cores)")
    parser.add_argument("--log", default=None, metavar="SINKS", dest="run_log",
                        help="stream every run's numbers into its own folder, as the command's --log does: "
                             "jsonl, csv, tensorboard, comma-separated")
    parser.add_argument("--no-progress", action="store_true", dest="quiet", help=argparse.SUPPRESS)  # the old --quiet
    add_output_options(parser, "runs/sweep")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from annrl.runlog import parse_sinks
    from annrl.sweep.config import load_sweep
    from annrl.sweep.sweep import run_sweep
    from annrl.sweep.table import label

    log = parse_sinks(args.run_log) if args.run_log else ()
    config = load_sweep(args.config)
    result = run_sweep(config, Path(args.out), ray=args.ray, num_cpus=args.num_cpus, tune=args.tune,
                       progress=not args.json, log=log)
    m = result.metrics
    rows = [("command", m["command"]), ("runs", m["runs"]), ("finished", m["done"]),
            ("failed", len(m["failed"])), ("stopped early (scheduler)", m["stopped"]),
            ("skipped (finished before)", m["timing"]["runs_skipped_as_finished"]),
            ("wall s", m["timing"]["wall_s"])]
    for failure in m["failed"][:5]:
        rows.append((f"failed {failure['id']}", failure["error"]))
    for i, best in enumerate(m["best"][:5], 1):
        rows.append((f"best {i}", f"{label(best['params'])}: {m['metric']} {best['mean']:.4g} "
                                  f"(+- {best['std']:.2g}, {best['runs']} runs)"))
    rows.append(("table", str(Path(args.out) / "results.csv")))
    show(args, m, f"annrl sweep {args.config}", rows)
    return EXIT_RUNS_FAILED if m["failed"] else 0
