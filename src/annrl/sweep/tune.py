"""Sweeps through Ray Tune (``annrl sweep FILE --tune``, or a ``tune:`` section in the file).

Tune is used in the two shapes in which it earns its cost:

- no scheduler: a trial is a chunk of runs, the same chunks as on the plain Ray path. One trial
  per tiny run would pay Tune's cost per trial (about a second here) for a tenth of that in work;
- ``scheduler: asha``: one run per trial. The run's command reports its intermediate results
  (:mod:`annrl.progress`: ``eval_return`` at every evaluation of an RL agent, ``loss``
  every 100 epochs of the engine's Trainer) to Tune, and ASHA stops the runs that fall behind the
  others at a rung. A run stopped so is recorded as "stopped" with its last report: not failed, not
  dropped, and not run again when the sweep resumes.

A callback in the driver records every trial as it ends, as the plain Ray path does, so an
interrupted sweep resumes from annrl's own run records; Tune's experiment folder
(``OUT/tune``) is scratch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ray import tune  # this module is imported only when a sweep runs through Tune

from annrl import progress
from annrl.errors import InputError
from annrl.sweep.config import Run, TuneSettings
from annrl.sweep.runner import Outcome, chunk_size, chunks, last_line, run_chunk

#: the key of a trial's last report that carries its runs' outcomes (as JSON text: Tune's loggers
#: write every result to disk, and one string is logged as it is)
OUTCOMES = "annrl_outcomes"
Done = Callable[[Run, Outcome], None]


def trial(config: dict[str, Any], *, parts: list[list[Run]], folder: str, retries: int, metric: str | None) -> None:
    """The body of one Tune trial: run its chunk of runs, forwarding intermediate reports under ASHA."""
    part, last = parts[config["chunk"]], {}
    if metric is None:
        outcomes = run_chunk(part, folder, retries)
    else:
        def forward(result: dict[str, float]) -> None:
            if metric not in result:
                raise InputError(f"tune.metric {metric!r} is not among the values this command reports "
                                 f"({', '.join(result)})", field="tune.metric")
            last.update(result)
            tune.report(dict(result))

        with progress.listening(forward):
            outcomes = run_chunk(part, folder, retries)
    # a run that reported nothing still needs the keys the scheduler reads (NaN never passes a rung)
    final = {"step": 0, metric: math.nan} if metric else {}
    tune.report({**final, **last, OUTCOMES: json.dumps([asdict(o) for o in outcomes])})


class Recorder(tune.Callback):
    """In the driver: hands each trial's outcomes to ``done`` as the trial ends; ``recorded`` are its chunks."""

    def __init__(self, parts: list[list[Run]], done: Done, retries: int, metric: str | None):
        self.parts, self.done, self.retries, self.metric = parts, done, retries, metric
        self.recorded: set[int] = set()

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks for Tuner.restore, which annrl does not use (it resumes from its
        # own run records), and ``done`` may hold a progress bar, which cannot be pickled
        return {}

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        part, result = self._chunk(trial), trial.last_result or {}
        if OUTCOMES in result:
            outcomes = [Outcome(**o) for o in json.loads(result[OUTCOMES])]
        else:  # the scheduler stopped it before its command finished
            last = {k: result[k] for k in ("step", self.metric) if k in result}
            outcomes = [Outcome(run.id, "stopped", 1, None, float(result.get("time_total_s", 0.0)), last_report=last)
                        for run in part]
        for run, outcome in zip(part, outcomes, strict=True):
            self.done(run, outcome)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        error = last_line(Path(trial.error_file).read_text()) if trial.error_file else "no error message"
        for run in self._chunk(trial):
            self.done(run, Outcome(run.id, "failed", self.retries + 1, f"Tune trial failed: {error}", 0.0))

    def _chunk(self, trial: Any) -> list[Run]:
        self.recorded.add(trial.config["chunk"])
        return self.parts[trial.config["chunk"]]


def run_on_tune(runs: list[Run], folder: Path, retries: int, done: Done, *, settings: TuneSettings,
                chunk: int | None = None) -> None:
    """Run ``runs`` as Tune trials on the connected Ray; ``done(run, outcome)`` as each trial ends."""
    asha = settings.scheduler == "asha"
    parts = [[run] for run in runs] if asha else list(chunks(runs, chunk_size(runs, chunk)))
    if not parts:
        return
    metric = settings.metric if asha else None
    recorder = Recorder(parts, done, retries, metric)
    scheduler = None
    if asha:
        from ray.tune.schedulers import ASHAScheduler

        # stop_last_trials=False: a run that reaches max_t is left to finish and write its metrics
        scheduler = ASHAScheduler(time_attr="step", metric=metric, mode=settings.mode, max_t=settings.max_t,
                                  grace_period=settings.grace_period, reduction_factor=settings.reduction_factor,
                                  stop_last_trials=False)
    body = tune.with_parameters(trial, parts=parts, folder=str(folder.resolve()), retries=retries, metric=metric)
    tuner = tune.Tuner(
        tune.with_resources(body, {"cpu": 1}),
        param_space={"chunk": tune.grid_search(list(range(len(parts))))},
        # reuse_actors: a new trial skips the worker's start and imports (seconds each here)
        tune_config=tune.TuneConfig(scheduler=scheduler, max_concurrent_trials=settings.max_concurrent,
                                    reuse_actors=True,
                                    trial_name_creator=lambda t: parts[t.config["chunk"]][0].id,
                                    trial_dirname_creator=lambda t: parts[t.config["chunk"]][0].id),
        run_config=tune.RunConfig(name="tune", storage_path=str(folder.resolve()), verbose=0,
                                  callbacks=[recorder], failure_config=tune.FailureConfig(max_failures=retries)),
    )
    tune_logger = logging.getLogger("ray.tune")
    level = tune_logger.level
    tune_logger.setLevel(logging.CRITICAL)  # failed runs are recorded and reported by the sweep itself
    try:  # Tune prints its tables on stdout, where --json puts the sweep's metrics
        with contextlib.redirect_stdout(sys.stderr):
            tuner.fit()
    finally:
        tune_logger.setLevel(level)
    if len(recorder.recorded) < len(parts):  # Tune ends its experiment early on Ctrl-C, and returns
        raise KeyboardInterrupt
