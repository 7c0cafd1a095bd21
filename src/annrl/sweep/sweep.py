"""``run_sweep``: plan the runs, skip the finished ones, run the rest, collect one table.

Layout of the sweep's folder::

    OUT/sweep.json            the checked sweep file and every run's argv (a resume must match it)
    OUT/runs/run-00007/       each run's own --out: metrics.json, then run.json (status, attempts)
    OUT/results.csv           one row per run, failed ones included
    OUT/results.parquet
    OUT/best_settings.png     the best settings by the sweep's metric
    OUT/metrics.json          the summary: counts, failed runs with their errors, the best settings
    OUT/tune/                 Ray Tune's own experiment folder, when run through Tune (scratch)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from annrl.errors import InputError
from annrl.io import RunDir
from annrl.progress import phase
from annrl.sweep.config import DEFAULT_METRICS, Run, SweepConfig, TuneSettings
from annrl.sweep.plan import command_info, plan
from annrl.sweep.runner import FINISHED, is_finished, record, run_in_process, run_on_ray
from annrl.sweep.table import best_figure, collect, rank_settings, write_tables

PLAN_FILE = "sweep.json"
TOP_SETTINGS = 10


@dataclass
class SweepResult:
    """What a sweep produced: one row per run, the ranked settings and the summary metrics."""

    runs: list[Run]
    rows: list[dict[str, Any]]
    ranked: list[dict[str, Any]]
    metrics: dict[str, Any]


def _check_plan(folder: Path, config: SweepConfig, runs: list[Run]) -> None:
    """Write ``sweep.json``, or check that the one already there describes the same runs."""
    from annrl.io import atomic_write

    content = {"config": config.to_dict(), "runs": [run.argv for run in runs]}
    path = folder / PLAN_FILE
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("runs") != content["runs"]:
            raise InputError(f"{folder} holds another sweep (its {PLAN_FILE} lists other runs): "
                             "use another --out, or delete that folder to start over", field="--out")
    atomic_write(path, (json.dumps(content, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def metric_of(config: SweepConfig) -> tuple[str | None, str]:
    if config.metric is not None:
        return config.metric, config.mode
    return DEFAULT_METRICS.get(config.command, (None, config.mode))


def run_sweep(config: SweepConfig, out: str | Path, *, ray: str | None = None, num_cpus: int | None = None,
              tune: bool = False, progress: bool = False, log: tuple[str, ...] = ()) -> SweepResult:
    """Run every run of ``config`` not yet finished in ``out``; in-process, or on Ray (``"local"`` or an address).

    ``tune=True``, or a ``tune`` section in ``config``, runs them as Ray Tune trials (on a local
    Ray unless ``ray`` names a cluster; see :mod:`annrl.sweep.tune`). ``progress`` shows how many
    runs are done (:func:`annrl.progress.phase`); ``log`` (``("jsonl", "csv")``, ...) streams each run's
    numbers into its own folder, as ``--log`` does for the command alone. Returns the
    :class:`SweepResult`; the table, figure and summary are written to ``out``.
    """
    settings = config.tune if config.tune is not None else (TuneSettings() if tune else None)
    if settings is not None and ray is None:
        ray = "local"
    folder = Path(out)
    runs = plan(config)
    extra = log_args(config, log)
    RunDir(folder).acquire()  # created, checked and locked: one sweep per folder (released when the process ends)
    _check_plan(folder, config, runs)
    pending = [run for run in runs if not is_finished(folder, run)]
    planned = {run.id: run for run in pending}  # recorded as planned: a resume need not repeat --log
    pending = [replace(run, argv=[*run.argv, *extra]) for run in pending]
    failed = [0]
    with phase("sweep", len(pending), show=progress and bool(pending), failed="0") as bar:
        def done(run: Run, outcome) -> None:
            record(folder, planned[run.id], outcome)
            failed[0] += outcome.status not in FINISHED  # a run a scheduler stopped early has not failed
            bar.update(bar.completed + 1, failed=str(failed[0]))

        start = time.perf_counter()
        _run_all(pending, folder, config, done, ray, num_cpus, settings)
        wall = time.perf_counter() - start
    return summarize(config, folder, runs, len(runs) - len(pending), wall, ray, settings)


def log_args(config: SweepConfig, log: tuple[str, ...]) -> list[str]:
    """``["--log", "jsonl,csv"]`` added to every run's argv (none for no ``log``); the command must have ``--log``."""
    if not log:
        return []
    if not command_info(config.command).has("--log"):
        raise InputError(f"command {config.command!r} has no --log option, so its runs cannot stream their "
                         f"numbers, got --log {','.join(log)}", field="--log")
    return ["--log", ",".join(log)]


def _run_all(pending: list[Run], folder: Path, config: SweepConfig, done, ray: str | None, num_cpus: int | None,
             settings: TuneSettings | None) -> None:
    """Run ``pending``, calling ``done(run, outcome)`` as each ends: here, on Ray, or as Tune trials."""
    if ray is None:
        run_in_process(pending, folder, config.retries, done)
        return
    from annrl.backend import connect_ray

    started = connect_ray(ray, num_cpus)
    try:
        if settings is None:
            run_on_ray(pending, folder, config.retries, done, chunk=config.chunk)
        else:
            try:
                from annrl.sweep.tune import run_on_tune
            except ImportError as err:  # Ray without its Tune extras
                raise InputError(f"Ray Tune cannot be imported ({err}): pip install 'annrl[ray]'",
                                 field="tune") from err
            run_on_tune(pending, folder, config.retries, done, settings=settings, chunk=config.chunk)
    finally:
        if started:
            import ray as ray_module

            ray_module.shutdown()


def summarize(config: SweepConfig, folder: Path, runs: list[Run], skipped: int, wall: float,
              ray: str | None, tune: TuneSettings | None = None) -> SweepResult:
    """Collect the table, rank the settings, draw the figure, write the summary metrics.json."""

    rows = collect(folder, runs)
    write_tables(rows, folder)
    metric, mode = metric_of(config)
    ranked = rank_settings(rows, metric, mode) if metric else []
    if ranked:
        best_figure(ranked, metric, mode, folder / "best_settings.png")
    failed = [{k: row[k] for k in ("id", "error", "attempts", "seed")} | {"argv": run.argv}
              for row, run in zip(rows, runs, strict=True) if row["status"] not in FINISHED]
    metrics = {
        "command": config.command,
        "runs": len(runs),
        "done": sum(row["status"] == "done" for row in rows),
        "stopped": sum(row["status"] == "stopped" for row in rows),
        "failed": failed,
        "metric": metric,
        "mode": mode,
        "best": ranked[:TOP_SETTINGS],
        "timing": {"wall_s": round(wall, 3), "runs_skipped_as_finished": skipped, "ray": ray,
                   "tune": None if tune is None else tune.scheduler},
    }
    RunDir(folder).write_metrics(metrics)
    return SweepResult(runs, rows, ranked, metrics)

