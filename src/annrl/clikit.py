"""What every ``annrl`` command shares: ``--out``/``--json`` options, metrics.json, a table."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn


def add_output_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    parser.add_argument("--out", default=default_out,
                        help=f"folder for metrics.json and figures (default: {default_out})")
    parser.add_argument("--json", action="store_true", help="print metrics.json on stdout instead of a table")


def positive_int(text: str) -> int:
    value = _parse(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _parse(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    value = _parse(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = _parse(text, float)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _parse(text: str, kind: type) -> Any:
    """``kind(text)``, or the error argparse shows as ``argument --x: must be a number, got 'abc'`` (without this,
    argparse names the converting function: ``invalid positive_float value``)."""
    try:
        value = kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {expected}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def add_checkpoint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint-every", default=None, metavar="EVERY",
                        help="save a checkpoint every EVERY epochs (500), or time (90s, 10m), or 'off' (default: 300s)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest valid checkpoint in --out")
    parser.add_argument("--log", default=None, metavar="SINKS", type=_log_sinks,
                        help="stream the training's numbers (loss, evaluation return, entropy, learning rate, ...) "
                             "while it runs: jsonl (<out>/log.jsonl), csv (<out>/log.csv), tensorboard "
                             "(<out>/tensorboard, needs tensorboardX), comma-separated")


def _log_sinks(text: str) -> tuple[str, ...]:
    from annrl.errors import InputError
    from annrl.runlog import parse_sinks

    try:
        return parse_sinks(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


@contextmanager
def logging_from_args(args: argparse.Namespace) -> Iterator[None]:
    """While a command runs, stream its reports to the ``--log`` sinks in ``--out`` (nothing without ``--log``)."""
    sinks = getattr(args, "log", None)
    if not sinks:
        yield
        return
    from annrl.progress import listening
    from annrl.runlog import RunLog

    with RunLog(args.out, sinks) as log, listening(log, records=True):
        yield


@contextmanager
def checkpointer_from_args(args: argparse.Namespace, config: dict[str, Any]) -> Iterator[Any]:
    """The :class:`~annrl.io.resume.Checkpointer` of a command's ``--out``, ``--checkpoint-every`` and
    ``--resume``, while SIGINT/SIGTERM are turned into a save and a clean stop."""
    from annrl.io import graceful_stop
    from annrl.io.resume import Checkpointer

    with graceful_stop() as stop, Checkpointer(Path(args.out), config, every=args.checkpoint_every,
                                               resume=args.resume, stop=stop) as checkpointer:
        yield checkpointer


def write_metrics(out: str | Path, metrics: dict[str, Any]) -> Path:
    """Write ``metrics`` atomically as ``<out>/metrics.json`` (sorted keys, so runs compare as text)."""
    from annrl.io import RunDir

    return RunDir(out).write_metrics(metrics)


def show(args: argparse.Namespace, metrics: dict[str, Any], title: str, rows: Sequence[tuple[str, Any]]) -> None:
    """Print ``metrics`` as JSON (``--json``) or ``rows`` as a rich table."""
    if getattr(args, "json", False):
        print(json.dumps(metrics, indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    Console().print(table)


class Parser(argparse.ArgumentParser):
    """argparse's parser whose errors are one line of usage, then the one line that matters.

    argparse prints the whole usage (10-15 lines for a lab) before the error; sub-command parsers
    inherit this class from the top-level one, so every ``annrl`` command answers the same way.
    The error stays the last line, where scripts (and ``annrl sweep``) look for it.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"usage: {self.prog} [options]  (`{self.prog} --help` lists them)\n"
                     f"{self.prog}: error: {message}\n")


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to every option's help that does not say its default already.

    Options without a meaningful default (None, a flag's False, suppressed) are left as they are.
    """

    _classes: dict[type, type] = {}

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if not text or "%(default)" in text or "(default" in text or "default:" in text:
            return text
        if action.default in (None, False, argparse.SUPPRESS) or isinstance(action.default, (list, tuple)) and \
                not action.default:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text

    @classmethod
    def wrapping(cls, base: type) -> type:
        """A formatter class that is ``base`` (e.g. RawDescriptionHelpFormatter) and shows defaults."""
        if issubclass(base, cls):
            return base
        if base not in cls._classes:
            cls._classes[base] = type(f"Defaults{base.__name__}", (cls, base), {})
        return cls._classes[base]
