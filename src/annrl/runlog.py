"""``--log jsonl,csv,tensorboard``: a training's intermediate numbers streamed to ``<out>`` while it runs.

What :mod:`annrl.progress` reports and records (loss, evaluation return, the training episodes'
return, entropy, learning rate, ...) is written as it arrives: ``<out>/log.jsonl`` (one JSON object
per step), ``<out>/log.csv`` (long form, ``step,name,value``: the columns need not be known in advance)
and TensorBoard event files under ``<out>/tensorboard`` (through tensorboardX: ``pip install "annrl[tensorboard]"``).
Numbers of the same step are merged into one JSON line, written when a later step arrives.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from annrl.errors import InputError

SINKS = ("jsonl", "csv", "tensorboard")


def parse_sinks(text: str) -> tuple[str, ...]:
    """``"jsonl,csv"`` -> ``("jsonl", "csv")``; an unknown name is an :class:`InputError`."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in SINKS]
    if unknown or not names:
        raise InputError.invalid("--log", f"a comma-separated list of {', '.join(SINKS)}", text)
    return names


class RunLog:
    """A listener (``annrl.progress.listening(log, records=True)``) writing every report to ``out``."""

    def __init__(self, out: str | Path, sinks: tuple[str, ...]):
        self.out, self.sinks = Path(out), sinks
        self.pending: dict[str, Any] | None = None
        self.files: list[Any] = []

    def __enter__(self) -> RunLog:
        self.out.mkdir(parents=True, exist_ok=True)
        self.jsonl = self._open("log.jsonl") if "jsonl" in self.sinks else None
        self.csv = None
        if "csv" in self.sinks:
            self.csv = csv.writer(self._open("log.csv"))
            self.csv.writerow(["step", "name", "value"])
        self.board = None
        if "tensorboard" in self.sinks:
            from tensorboardX import SummaryWriter

            self.board = SummaryWriter(logdir=str(self.out / "tensorboard"))
        return self

    def _open(self, name: str) -> Any:
        handle = open(self.out / name, "w", newline="", buffering=1)  # line-buffered: readable while it runs
        self.files.append(handle)
        return handle

    def __call__(self, result: dict[str, float]) -> None:
        step = int(result["step"])
        values = {k: v for k, v in result.items() if k != "step"}
        if self.csv is not None:
            for name, value in values.items():
                self.csv.writerow([step, name, repr(value)])
        if self.board is not None:
            for name, value in values.items():
                self.board.add_scalar(name, value, step)
        if self.jsonl is not None:
            if self.pending is not None and self.pending["step"] != step:
                self._flush()
            self.pending = {**(self.pending or {"step": step}), **values}

    def _flush(self) -> None:
        if self.pending is not None and self.jsonl is not None:
            row = {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in self.pending.items()}
            self.jsonl.write(json.dumps(row) + "\n")
        self.pending = None

    def __exit__(self, *exc: Any) -> None:
        self._flush()
        for handle in self.files:
            handle.close()
        if self.board is not None:
            self.board.close()
