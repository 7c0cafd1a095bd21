"""Run folders: numbered checkpoints with fallback on resume, ``metrics.json``, a save schedule.

Layout of ``--out DIR``::

    DIR/metrics.json                        the run's numbers; wall-clock figures under "timing"
    DIR/checkpoints/ckpt-000001200.safetensors
    DIR/checkpoints/ckpt-000001300.safetensors   the newest ``keep`` checkpoints
    DIR/.annrl.lock                         held (``flock``) by the one process writing DIR; its pid inside

Resuming takes the newest checkpoint that reads back and checks; a damaged one (a crash
cannot make one, but a disk can) is skipped in favour of the one before, and reported.
One process writes a folder at a time: the first write (or :meth:`RunDir.acquire`) takes an
exclusive lock on ``DIR/.annrl.lock``; a second process gets one line naming the folder and the
pid that holds it. The kernel drops the lock of a killed process, so a stale lock file (a pid that
no longer runs) is taken over with a warning.
The checkpoints of a folder form one timeline: saving step ``s`` removes any checkpoint of a
later step, left by a run that was resumed from an earlier point or started over.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import json
import math
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from annrl.errors import CheckpointError, InputError, WriteError
from annrl.io.atomic import TEMP_SUFFIX, atomic_write
from annrl.io.checkpoint import SUFFIX, Checkpoint, Expect, read_checkpoint, save_checkpoint
from annrl.validate import Interval, check_value, format_bytes

CHECKPOINT_FOLDER = "checkpoints"
METRICS_FILE = "metrics.json"
TIMING_KEY = "timing"
LOCK_FILE = ".annrl.lock"
#: the free space ``--out`` must have when a run starts (a first checkpoint, metrics, figures)
MIN_FREE_BYTES = 16 * 2**20
_NAME = re.compile(r"ckpt-(\d{9,})" + re.escape(SUFFIX))
#: the run folders this process holds: real path -> [open lock file, how many holders]
_HELD: dict[str, list[Any]] = {}
_GUARD = threading.RLock()


class RunDir:
    """The ``--out`` folder of one run.

    Parameters
    ----------
    path : str or path-like
        The folder; created when something is first written to it.
    option : str, default="--out"
        The option that named the folder, as messages name it.
    """

    def __init__(self, path: str | os.PathLike[str], *, option: str = "--out") -> None:
        self.path = Path(path)
        self.option = option
        self.checkpoints = self.path / CHECKPOINT_FOLDER
        self.metrics_path = self.path / METRICS_FILE

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # the folder itself ----------------------------------------------------------------------
    def acquire(self, *, free_bytes: int = MIN_FREE_BYTES) -> None:
        """Check the folder (created, writable, ``free_bytes`` free) and lock it for this process.

        Re-entrant within one process; each call is matched by a :meth:`release`.

        Raises
        ------
        InputError
            When ``--out`` is not a folder, cannot be created or written, has too little free
            space, or is locked by another running process (named by its pid).
        """
        with _GUARD:  # a background save thread takes the lock too
            self._acquire(free_bytes)

    def _acquire(self, free_bytes: int) -> None:
        key = os.path.realpath(self.path)
        if key in _HELD:
            _HELD[key][1] += 1
            return
        handle = self._open_lock()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise InputError(f"{self.option} {self.path} is in use by another annrl process (pid {owner}); wait for "
                             f"it to end or choose another {self.option}", field=self.option) from None
        previous = handle.read().strip()
        if previous and previous != str(os.getpid()):
            print(f"annrl: warning: taking over the lock of {self.path} left by pid {previous}, which is no longer "
                  "running", file=sys.stderr)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _HELD[key] = [handle, 1]
        try:
            check_free_space(self.path, free_bytes, self.option)
        except InputError:
            self.release()
            raise

    def release(self) -> None:
        """Undo one :meth:`acquire`; the last one empties the lock file and unlocks it."""
        with _GUARD:
            key = os.path.realpath(self.path)
            held = _HELD.get(key)
            if held is None:
                return
            held[1] -= 1
            if held[1] == 0:
                del _HELD[key]
                _unlock(held[0])

    def _open_lock(self) -> Any:
        with _out_errors(self.path, self.option):
            make_folder(self.path)
            fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        return os.fdopen(fd, "r+", encoding="utf-8")

    @contextmanager
    def held(self, *, free_bytes: int = MIN_FREE_BYTES) -> Iterator[RunDir]:
        """``with RunDir(out).held():`` checks and locks the folder at a command's start (:meth:`acquire`),
        and releases it at the end, so a bad ``--out`` costs one line before any work."""
        self.acquire(free_bytes=free_bytes)
        try:
            yield self
        finally:
            self.release()

    def _locked(self) -> Any:
        """``with self._locked():`` holds the lock for one write (or joins a holder of this process)."""
        return self.held(free_bytes=0)

    # checkpoints --------------------------------------------------------------------------
    def checkpoint_path(self, step: int) -> Path:
        """``<out>/checkpoints/ckpt-<step:09d>.safetensors``."""
        return self.checkpoints / f"ckpt-{step:09d}{SUFFIX}"

    def saved_steps(self) -> list[tuple[int, Path]]:
        """The checkpoint files present, as (step, path), oldest first (by name; not checked)."""
        if not self.checkpoints.is_dir():
            return []
        found = ((_NAME.fullmatch(p.name), p) for p in self.checkpoints.iterdir())
        return sorted((int(m.group(1)), p) for m, p in found if m)

    def save(
        self,
        step: int,
        tensors: Mapping[str, Any],
        metadata: Mapping[str, Any] | None = None,
        *,
        keep: int = 3,
    ) -> Path:
        """Write the checkpoint of ``step`` atomically, then prune.

        Parameters
        ----------
        step : int
            The number of steps (epochs, generations) completed, >= 0.
        tensors, metadata
            As for :func:`annrl.io.save_checkpoint`.
        keep : int, default=3
            How many checkpoints to keep (the newest); 2 or more lets a resume fall back.

        Returns
        -------
        Path
            The file written.
        """
        check_value("step", step, [Interval(int, 0, None, closed="left")])
        check_value("keep", keep, [Interval(int, 1, None, closed="left")])
        with self._locked():
            self._remove_stale_temp_files()
            path = save_checkpoint(self.checkpoint_path(step), tensors, metadata, step=step)
            self._prune(step, keep)
        return path

    def latest(self, *, expect: Expect | None = None,
               verify: Callable[[Checkpoint], None] | None = None) -> tuple[Checkpoint | None, list[CheckpointError]]:
        """The newest checkpoint that reads back and checks, and the newer ones skipped.

        Parameters
        ----------
        expect : mapping of str to (shape, dtype), optional
            Passed to :func:`annrl.io.read_checkpoint`: a checkpoint of another architecture
            counts as damaged.
        verify : callable, optional
            Checks the other files a checkpoint depends on (a loss journal's rows); a
            :class:`CheckpointError` it raises counts the checkpoint as damaged, so the one
            before is tried.

        Returns
        -------
        checkpoint : Checkpoint or None
            None when the folder holds no checkpoint (a fresh start).
        skipped : list of CheckpointError
            One per newer checkpoint that failed, each naming the file and the fault; the CLI
            prints them as warnings.

        Raises
        ------
        CheckpointError
            When checkpoints exist but none of them is valid.
        """
        skipped: list[CheckpointError] = []
        for step, path in reversed(self.saved_steps()):
            try:
                checkpoint = read_checkpoint(path, expect=expect)
                if checkpoint.step != step:
                    raise CheckpointError(path, f"it holds step {checkpoint.step}, not the step in its name")
                if verify is not None:
                    verify(checkpoint)
            except CheckpointError as err:
                skipped.append(err)
                continue
            return checkpoint, skipped
        if skipped:
            faults = "; ".join(f"{Path(e.path).name}: {e.fault}" for e in skipped)
            raise CheckpointError(self.checkpoints, f"no valid checkpoint to resume from ({faults})")
        return None, skipped

    def _prune(self, newest: int, keep: int) -> None:
        steps = self.saved_steps()
        older = [path for step, path in steps if step <= newest]
        later = [path for step, path in steps if step > newest]  # an abandoned timeline
        for path in later + older[:-keep]:
            with suppress(FileNotFoundError):
                path.unlink()

    def _remove_stale_temp_files(self) -> None:
        # Only a killed writer leaves these; one run writes to a folder at a time.
        if self.checkpoints.is_dir():
            for path in self.checkpoints.glob(f".ckpt-*{TEMP_SUFFIX}"):
                with suppress(OSError):
                    path.unlink()

    # metrics ------------------------------------------------------------------------------
    def write_metrics(self, metrics: Mapping[str, Any], *, timing: Mapping[str, Any] | None = None) -> Path:
        """Write ``metrics.json`` atomically: sorted keys, wall-clock figures under "timing".

        Parameters
        ----------
        metrics : mapping
            The run's numbers. They must not depend on wall-clock time, so that the same
            command and seed give the same file. NumPy scalars and arrays are converted;
            NaN and infinities are written as null (strict JSON).
        timing : mapping, optional
            Seconds, steps per second, dates: merged into ``metrics["timing"]``.

        Returns
        -------
        Path
            ``<out>/metrics.json``.
        """
        content = dict(metrics)
        if timing is not None:
            content[TIMING_KEY] = {**content.get(TIMING_KEY, {}), **timing}
        text = json.dumps(_strict_json(content), sort_keys=True, indent=2, allow_nan=False) + "\n"
        with self._locked():
            try:
                return atomic_write(self.metrics_path, text.encode("utf-8"))
            except OSError as err:
                raise WriteError(self.metrics_path, f"cannot write the metrics: {err.strerror or err}") from err

    def read_metrics(self) -> dict[str, Any]:
        """``metrics.json`` as a dict."""
        return json.loads(self.metrics_path.read_text(encoding="utf-8"))


def check_folder(path: str | os.PathLike[str], option: str, *, free_bytes: int = MIN_FREE_BYTES) -> Path:
    """The start check of a folder a command writes without owning it as a run (``annrl report``'s page):
    created if missing, a folder, writable, ``free_bytes`` free; no lock is taken.

    Raises
    ------
    InputError
        As :meth:`RunDir.acquire`, naming ``option``: "--output runs/x cannot be written: Read-only file system".
    """
    path = Path(path)
    with _out_errors(path, option):
        make_folder(path)
        if not os.access(path, os.W_OK | os.X_OK):  # EACCES, and EROFS: access() checks both
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    check_free_space(path, free_bytes, option)
    return path


def make_folder(path: Path) -> None:
    """Create ``path`` (and its parents) unless it is a folder already; a file there raises ``FileExistsError``."""
    path.mkdir(parents=True, exist_ok=True)
    if not path.is_dir():
        raise FileExistsError(errno.EEXIST, "it is a file, not a folder")


def check_free_space(path: Path, free_bytes: int, option: str) -> None:
    """Refuse a folder with less than ``free_bytes`` free, in one line naming ``option``."""
    free = shutil.disk_usage(path).free
    if free < free_bytes:
        raise InputError(f"{option} {path} has {format_bytes(free)} free, less than the "
                         f"{format_bytes(free_bytes)} a run needs to save its first checkpoint", field=option)


@contextmanager
def _out_errors(path: Path, option: str) -> Iterator[None]:
    """Turn the ``OSError`` of creating or writing ``path`` into one line naming ``option``."""
    try:
        yield
    except FileExistsError:
        raise InputError(f"{option} {path} is not a folder", field=option) from None
    except OSError as err:
        raise InputError(f"{option} {path} cannot be written: {err.strerror or err}", field=option) from None


def _unlock(handle: Any) -> None:
    with suppress(OSError, ValueError):
        handle.seek(0)
        handle.truncate()  # an empty lock file: no holder (a pid left inside means its holder was killed)
    with suppress(OSError, ValueError):
        handle.close()  # closing drops the flock


@atexit.register
def _release_all() -> None:
    while _HELD:
        _unlock(_HELD.popitem()[1][0])


MetricsSource = Mapping[str, Any] | str | os.PathLike[str]


def metrics_equal(a: MetricsSource, b: MetricsSource) -> bool:
    """True when two metrics (dicts or ``metrics.json`` paths) are identical except for "timing".

    Numbers must be equal exactly (bit for bit), as the reproducibility guarantee promises.
    """
    first, second = (_without_timing(_as_metrics(m)) for m in (a, b))
    return first == second


def _as_metrics(value: MetricsSource) -> dict[str, Any]:
    if isinstance(value, (str, os.PathLike)):
        return json.loads(Path(value).read_text(encoding="utf-8"))
    # Through JSON, so that a dict in memory compares like the file it would become.
    return json.loads(json.dumps(_strict_json(dict(value)), allow_nan=False))


def _without_timing(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != TIMING_KEY}


def _strict_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return _strict_json(value.tolist())
    if isinstance(value, np.generic):
        return _strict_json(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


# schedule -----------------------------------------------------------------------------------
DEFAULT_EVERY_SECONDS = 300.0
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass
class CheckpointSchedule:
    """When to save: every ``every_steps`` steps, or every ``every_seconds`` of wall-clock time.

    With neither given, every 300 seconds. Saving is a pure side effect: what a run computes
    never depends on when it saved, so a time-based schedule does not break bit-for-bit resume.

    Parameters
    ----------
    every_steps : int, optional
        Save when the step count is a multiple of it (the same steps, resumed or not).
    every_seconds : float, optional
        Save when this long has passed since the last save (or the start); ``inf`` = never.
    clock : callable, default=time.monotonic
        Seconds, for tests.

    Examples
    --------
    >>> schedule = CheckpointSchedule(every_steps=100)
    >>> [step for step in range(1, 350) if schedule.due(step)]
    [100, 200, 300]
    """

    every_steps: int | None = None
    every_seconds: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _last_save: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.every_steps is not None:
            check_value("--checkpoint-every", self.every_steps, [Interval(int, 1, None, closed="left")])
        elif self.every_seconds is None:
            self.every_seconds = DEFAULT_EVERY_SECONDS
        if self.every_seconds is not None:
            rule = [Interval(float, 0, None, closed="neither", allow_inf=True)]
            check_value("checkpoint interval (seconds)", self.every_seconds, rule)
        self._last_save = self.clock()

    @classmethod
    def parse(cls, text: str | int | None, **kwargs: Any) -> CheckpointSchedule:
        """From ``--checkpoint-every``: ``"500"`` steps, ``"90s"``, ``"10m"``, ``"1h"``, ``"off"``.

        None (the option not given) means the default, every 300 seconds.
        """
        if text is None:
            return cls(**kwargs)
        if isinstance(text, int) and not isinstance(text, bool):
            return cls(every_steps=text, **kwargs)
        value = str(text).strip().lower()
        if value in ("off", "never"):
            return cls(every_seconds=math.inf, **kwargs)
        if value.isdigit():
            return cls(every_steps=int(value), **kwargs)
        match = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([smh])", value)
        if not match:
            rule = "a number of steps (500), a duration (90s, 10m, 1h) or 'off'"
            raise InputError.invalid("--checkpoint-every", rule, text)
        return cls(every_seconds=float(match.group(1)) * _UNITS[match.group(2)], **kwargs)

    def due(self, step: int) -> bool:
        """Whether to save after ``step`` steps have been completed."""
        if self.every_steps is not None and step > 0 and step % self.every_steps == 0:
            return True
        return self.every_seconds is not None and self.clock() - self._last_save >= self.every_seconds

    def mark_saved(self) -> None:
        """Restart the clock after a save (of any cause: schedule, signal, end of run)."""
        self._last_save = self.clock()
