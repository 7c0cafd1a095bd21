"""Run a sweep's runs: in this process one after another, or in chunks on Ray workers.

Each run is the command itself, parsed by annrl's own parser and run by the same handler as on
the command line, with its output captured. A run that fails is tried again (``retries``
times), then recorded as failed with its error line; it is never dropped. Every finished run
leaves ``runs/<id>/run.json`` (written atomically, after its ``metrics.json``), so a sweep that
was interrupted starts again where it stopped: finished runs are skipped, failed ones retried.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from annrl.errors import EXIT_INTERRUPTED
from annrl.progress import quietly
from annrl.sweep.config import Run

RUN_FILE = "run.json"
#: how a run that will not run again ended: completed, or stopped early by a Tune scheduler
FINISHED = ("done", "stopped")
_parser_cache: list[Any] = []


@dataclass
class Outcome:
    """How one run ended: ``status`` is "done", "failed", or "stopped" (by a Tune scheduler, with
    ``last_report``, its last intermediate result); ``metrics`` is its metrics.json."""

    id: str
    status: str
    attempts: int
    error: str | None
    wall_s: float
    metrics: dict[str, Any] | None = None
    last_report: dict[str, float] | None = None


def _parser() -> Any:
    if not _parser_cache:  # building it imports every command: once per process
        from annrl.cli import build_parser

        _parser_cache.append(build_parser())
    return _parser_cache[0]


def run_command(argv: list[str]) -> tuple[int, str]:
    """Run ``annrl ARGV`` in this process; the exit code and what it printed on stderr.

    As on the command line, ``--log`` streams the run's numbers into its ``--out``; its progress is
    not shown (the sweep's bar counts runs, and a run's bar would draw into the captured stderr).
    """
    from annrl.backend import keep_freed_memory
    from annrl.errors import run_cli

    keep_freed_memory()  # as the annrl command does at its entry (a Tune worker enters here)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err), quietly():
        try:
            args = _parser().parse_args(argv)
        except SystemExit as stop:  # argparse refused an option value
            return (stop.code if isinstance(stop.code, int) else 2), err.getvalue()
        code = run_cli(_logged, args)
    return code, err.getvalue()


def _logged(args: Any) -> int | None:
    """The command's handler, with its ``--log`` sinks open (what ``annrl`` does around every command)."""
    from annrl.clikit import logging_from_args
    from annrl.extras import explain_missing

    with explain_missing(), logging_from_args(args):
        return args.handler(args)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no error message"


def attempt(run: Run, folder: Path, retries: int) -> Outcome:
    """Run ``run`` into ``folder`` until it succeeds or ``1 + retries`` attempts have failed."""
    start, error = time.perf_counter(), None
    for tries in range(1, retries + 2):
        code, stderr = run_command([*run.argv, "--out", str(folder)])
        if code == EXIT_INTERRUPTED:
            raise KeyboardInterrupt
        metrics_path = folder / "metrics.json"
        if code == 0 and metrics_path.is_file():
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
            return Outcome(run.id, "done", tries, None, time.perf_counter() - start, metrics)
        error = last_line(stderr) if code else "the command wrote no metrics.json"
    return Outcome(run.id, "failed", retries + 1, error, time.perf_counter() - start)


def run_chunk(runs: list[Run], sweep_folder: str, retries: int) -> list[Outcome]:
    """Runs one after another (the body of one Ray task, too).

    On a machine that does not see the sweep's folder (a cluster without a shared disk) the
    runs write into a temporary folder; their metrics come back in the outcomes either way.
    """
    root = Path(sweep_folder)
    scratch = None if root.is_dir() else Path(tempfile.mkdtemp(prefix="annrl-sweep-"))
    return [attempt(run, (scratch or root) / "runs" / run.id, retries) for run in runs]


def is_finished(folder: Path, run: Run) -> bool:
    """True when ``run`` has completed, or been stopped by a scheduler, in an earlier pass of the sweep."""
    path = folder / "runs" / run.id / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if record.get("argv") != run.argv:
        return False
    return record.get("status") == "stopped" or \
        (record.get("status") == "done" and (path.parent / "metrics.json").is_file())


def record(folder: Path, run: Run, outcome: Outcome) -> None:
    """Write the run's metrics.json (when it ran elsewhere) and then its run.json, atomically."""
    from annrl.io import RunDir, atomic_write

    run_dir = RunDir(folder / "runs" / run.id)
    if outcome.metrics is not None and not run_dir.metrics_path.is_file():
        run_dir.write_metrics(outcome.metrics)
    content = {**asdict(outcome), "argv": run.argv, "params": run.params, "seed": run.seed}
    content.pop("metrics")
    if content["last_report"] is None:
        content.pop("last_report")
    text = json.dumps(content, indent=2, sort_keys=True) + "\n"
    atomic_write(run_dir.path / RUN_FILE, text.encode("utf-8"))


def run_in_process(runs: list[Run], folder: Path, retries: int, done: Callable[[Run, Outcome], None]) -> None:
    for run in runs:
        done(run, run_chunk([run], str(folder), retries)[0])


def chunks(items: list[Run], size: int) -> Iterable[list[Run]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def chunk_size(runs: list[Run], chunk: int | None) -> int:
    """``chunk``, or by default about four chunks per CPU of the connected Ray."""
    import ray

    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return chunk or max(1, math.ceil(len(runs) / (4 * cpus)))


def run_on_ray(runs: list[Run], folder: Path, retries: int, done: Callable[[Run, Outcome], None], *,
               chunk: int | None = None) -> None:
    """Runs grouped into Ray tasks of ``chunk`` runs (default: about four tasks per CPU).

    One task per tiny run would pay Ray's scheduling cost per run; a chunk pays it once.
    A task that dies (a lost worker) is retried by Ray; if it still fails, its runs are failed.
    """
    import ray

    task = ray.remote(num_cpus=1, max_retries=retries)(run_chunk)
    pending = {task.remote(part, str(folder), retries): part for part in chunks(runs, chunk_size(runs, chunk))}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            part = pending.pop(ready[0])
            try:
                outcomes = ray.get(ready[0])
            except (ray.exceptions.RayError, KeyboardInterrupt) as err:
                if isinstance(err, KeyboardInterrupt):
                    raise
                outcomes = [Outcome(r.id, "failed", retries + 1, f"Ray task failed: {last_line(str(err))}", 0.0)
                            for r in part]
            for run, outcome in zip(part, outcomes, strict=True):
                done(run, outcome)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
