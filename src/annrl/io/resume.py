"""Checkpoints and ``--resume`` of a training run: one object, used the same way by labs and agents.

A command builds a :class:`Checkpointer` from its ``--out``, ``--checkpoint-every`` and
``--resume`` options and its config. The checkpointer restores and saves; the training loop stays
the caller's (or the :class:`~annrl.nn.Trainer`'s):

- on ``resume``, the newest valid checkpoint is read when the checkpointer is made (damaged ones
  skipped with a warning; one made with other settings refused); :meth:`Checkpointer.restore`
  gives its ``(step, tensors, state)``;
- after each step, the loop calls :meth:`Checkpointer.after` with the step and a function giving
  its state: it saves when the schedule says so, at the end (``final``), and on SIGINT/SIGTERM,
  then raises :class:`Stopped`;
- a lab's :class:`~annrl.nn.Trainer` phase runs its own loop, ``trainer.run(n, callbacks=...)``,
  with the hooks :meth:`Checkpointer.hooks` gives: the phase's saved state put back into the
  trainer, and a per-epoch callback that calls the schedule at the epochs the old chunked loop
  looked at; the loss history goes to an append-only journal (:class:`LossJournal`) instead of
  the checkpoint.

Saving is a pure side effect, so a resumed run ends bit for bit where an uninterrupted one does.
A checkpoint's metadata is ``{**identity, "config": config, **payload}``: an agent's identity is
``{"algo": name}`` and its payload ``{"state": ...}``; a lab's payload is ``{"phases": ...}``.

A lab's scheduled saves are written by a background thread while training goes on: the training
thread only copies the (small) weights and optimizer state; appending the loss history to its
journal, hashing and fsyncing run beside it (file I/O and hashlib release the GIL, so on two cores
they cost the training almost nothing). At most one save is in flight; an error in it is raised in
the training thread at the next save or at :meth:`Checkpointer.close` (use the checkpointer as a
context manager), never dropped. A crash while a save is in flight leaves the previous checkpoint
as the newest valid one. An agent's saves are written synchronously (``background=False``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from annrl.backend import to_numpy
from annrl.errors import CheckpointError, InputError, Stopped
from annrl.io.checkpoint import Checkpoint
from annrl.io.rundir import CheckpointSchedule, RunDir
from annrl.io.signals import StopRequest
from annrl.progress import progress_bar

#: with a time-based schedule, the clock is looked at every this many epochs
TIME_CHECK_EPOCHS = 50

State = tuple[dict[str, np.ndarray], dict[str, Any]]
ExtraState = Callable[[], State]
#: the saved state of each phase of a run: ``{phase: (arrays, info)}``, or a function giving it (a
#: finished phase whose last loss rows are written to its journal only if a later checkpoint needs them)
Phases = dict[str, State | Callable[[], State]]


class Checkpointer:
    """Periodic checkpoints of one run folder, and the state to resume from.

    Parameters
    ----------
    out : str or Path or None
        The command's ``--out`` folder (checkpoints go to ``out/checkpoints``); None never saves.
    config : dict
        The run's settings (JSON-able); a resume with different settings is refused.
    every : str, optional
        ``--checkpoint-every``: ``"500"`` steps, ``"90s"``, ``"10m"``, ``"off"``; default 300 s.
    resume : bool, default=False
        Start from the newest valid checkpoint in ``out`` (a fresh start if there is none).
    stop : StopRequest, optional
        From :func:`annrl.io.graceful_stop`; when it trips, the run saves and raises :class:`Stopped`.
    identity : dict, optional
        Metadata that names what made the checkpoints (an agent's ``{"algo": name}``); compared on
        resume as the settings are.

    Attributes
    ----------
    restored : Checkpoint or None
        The checkpoint resumed from.
    last_path : Path or None
        The checkpoint written last.
    """

    def __init__(self, out: str | Path | None, config: dict[str, Any], *, every: str | None = None,
                 resume: bool = False, stop: StopRequest | None = None, identity: dict[str, Any] | None = None):
        self.run = RunDir(out) if out is not None else None
        self.schedule = CheckpointSchedule.parse("off" if out is None else every)
        # as JSON reads it back (tuples become lists), so a resumed run compares equal settings
        self.config, self.stop = json.loads(json.dumps(config)), stop or StopRequest()
        self.identity = dict(identity or {})
        self.restored: Checkpoint | None = None
        self.last_path: Path | None = None
        self._in_flight: tuple[threading.Thread, list[BaseException]] | None = None
        self._holding = False
        if self.run is None:
            return
        self.run.acquire()  # --out checked (a writable folder, free space) and locked before anything is read
        self._holding = True
        if resume:
            # reading is no training step: a stop signal now ends the command at once
            self.stop.listening = False
            self.restored = self._latest()
            self.stop.listening = True
        elif self.run.saved_steps():
            print(f"annrl: warning: {self.run.path} holds checkpoints of an earlier run; starting over "
                  "(add --resume to continue it)", file=sys.stderr)

    def _latest(self) -> Checkpoint | None:
        checkpoint, skipped = self.run.latest(verify=self._verify_journals)
        for fault in skipped:
            print(f"annrl: warning: skipped damaged checkpoint {fault}", file=sys.stderr)
        if checkpoint is None:
            return None
        expected = {**self.identity, **self.config}
        saved = {**{k: checkpoint.metadata.get(k) for k in self.identity}, **(checkpoint.metadata.get("config") or {})}
        if saved != expected:
            changed = sorted(k for k in set(saved) | set(expected) if saved.get(k) != expected.get(k))
            raise InputError(f"--resume: the checkpoint in {self.run.path} was made with other settings "
                             f"({', '.join(changed)}); use the same options or another --out")
        return checkpoint

    def _verify_journals(self, checkpoint: Checkpoint) -> None:
        """A lab's checkpoint counts on the first rows of each phase's loss journal: check them too."""
        for phase, info in (checkpoint.metadata.get("phases") or {}).items():
            record = info.get("losses") if isinstance(info, dict) else None
            if isinstance(record, dict) and "bytes" in record:
                fault = journal_fault(self.run.checkpoints / f"{phase}-losses.f64", record)
                if fault is not None:
                    raise CheckpointError(checkpoint.path, fault)

    # -- any training loop --------------------------------------------------------------------------
    def restore(self) -> tuple[int, dict[str, np.ndarray], Any] | None:
        """``(step, tensors, state)`` of the checkpoint resumed from (``state``: the ``"state"`` given
        to :meth:`after`), or None for a fresh start."""
        ck = self.restored
        return None if ck is None else (int(ck.step), ck.tensors, ck.metadata["state"])

    def after(self, step: int, state: Callable[[], State], *, final: bool = False) -> None:
        """The loop has done ``step``: save ``state()`` (``(tensors, state)``) when due, or ``final``,
        or on a stop request; then raise :class:`Stopped` after a stop request."""
        requested = self.stop.requested
        if self.run is not None and (final or requested or self.schedule.due(step)):
            tensors, meta = state()
            self.last_path = self.save(step, lambda: (tensors, {"state": meta}))
        if requested and not final:
            raise Stopped(self.stop.message(self.last_path), self.stop.exit_code)

    def save(self, step: int, payload: Callable[[], State]) -> Path | None:
        """Write one checkpoint of ``payload()`` (``(tensors, metadata entries)``) now, after any
        save still in flight."""
        self.wait()
        self.schedule.mark_saved()
        return self._write(step, payload)

    def wait(self) -> None:
        """Block until the save in flight (if any) is on disk; re-raise its error."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            thread, fault = in_flight
            thread.join()
            if fault:
                raise fault[0]

    def close(self, *, quiet: bool = False) -> None:
        """Wait for the save in flight; ``quiet`` (the run is failing already) keeps its fault to itself.

        Training is over: a stop signal from now on ends the command at once, and one that came after
        the last look at the flag raises :class:`Stopped` here (it is not swallowed)."""
        self.stop.listening = False
        try:
            if not quiet:
                self.wait()
                if self.stop.requested:
                    raise Stopped(self.stop.message(self.last_path), self.stop.exit_code)
                return
            with contextlib.suppress(Exception):
                self.wait()
        finally:
            if self._holding:
                self._holding = False
                self.run.release()

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close(quiet=error is not None)

    def _save_in_background(self, step: int, state: Callable[[], Phases]) -> None:
        """Copy the run's phases now (in this thread); write them while the training goes on."""
        self.wait()
        self.schedule.mark_saved()
        payload = _phases_payload(state())
        fault: list[BaseException] = []

        def write() -> None:
            try:
                self._write(step, payload)
            except BaseException as error:  # handed to the training thread by wait()
                fault.append(error)

        thread = threading.Thread(target=write, name="annrl-checkpoint")
        thread.start()
        self._in_flight = (thread, fault)

    def _write(self, step: int, payload: Callable[[], State]) -> Path | None:
        if self.run is None:
            return None
        tensors, entries = payload()
        return self.run.save(step, tensors, {**self.identity, "config": self.config, **entries})

    # -- a lab's Trainer phases ---------------------------------------------------------------------
    def restored_state(self, phase: str) -> State | None:
        """The arrays and info saved for ``phase``, if the run resumed from that phase."""
        ck = self.restored
        if ck is None or phase not in ck.metadata.get("phases", {}):
            return None
        prefix = f"{phase}/"
        arrays = {k[len(prefix):]: v for k, v in ck.tensors.items() if k.startswith(prefix)}
        return arrays, ck.metadata["phases"][phase]

    def save_phases(self, step: int, phases: Phases) -> Path | None:
        """Write one checkpoint holding the state of every phase given (``{phase: (arrays, info)}``),
        after any save still in flight."""
        return self.save(step, _phases_payload(phases))

    def hooks(self, trainer: Any, epochs: int, *, phase: str, step_offset: int = 0, extra: ExtraState | None = None,
              done: Phases | None = None, progress: bool = False) -> TrainerHooks:
        """The checkpoints of one phase of a lab's training loop, which the lab runs itself::

            with checkpointer.hooks(trainer, epochs, phase="main") as hooks:
                trainer.run(hooks.epochs_left, callbacks=[*own_callbacks, hooks])
            done = hooks.phases()

        ``trainer`` is an :class:`annrl.nn.Trainer`, or any object with its ``run``, ``epoch``,
        ``losses`` (one ``(P,)`` row per epoch), ``state_dict`` and ``load_state_dict``; the phase's
        saved state is put back into it here. ``extra()`` adds the command's own state to this
        phase's checkpoint (e.g. the epoch each network first solved its task); ``done`` carries the
        saved state of earlier phases, so a checkpoint always holds everything needed to resume. The
        checkpoint step is ``step_offset + trainer.epoch``. See :class:`TrainerHooks`.
        """
        state = _PhaseState(self, trainer, phase, extra, done)
        return TrainerHooks(self, trainer, epochs, state, step_offset, progress)

    def _after_epoch(self, step: int, state: Callable[[], Phases]) -> None:
        if self.stop.requested:
            path = self.save_phases(step, state())
            raise Stopped(self.stop.message(path), self.stop.exit_code)
        if self.schedule.due(step):
            self._save_in_background(step, state)


class TrainerHooks:
    """The checkpoints of one phase of a lab's training loop (from :meth:`Checkpointer.hooks`).

    :meth:`after_epoch`, the last of the loop's callbacks, looks at the schedule and the stop flag
    after the epochs the old chunked loop looked at (a multiple of a step schedule, every
    :data:`TIME_CHECK_EPOCHS` epochs of a time schedule, the end): it saves in the background when
    due, and synchronously on a stop request, then raises :class:`Stopped`. Leaving the ``with``
    block looks once more if the loop ended early (all networks frozen, or a callback asked), and on
    an error releases the run folder (:meth:`Checkpointer.close`).

    Attributes
    ----------
    phase : str
        The phase's name in the checkpoints.
    epochs_left : int
        The epochs to run: ``epochs`` less those restored.
    """

    def __init__(self, checkpointer: Checkpointer, trainer: Any, epochs: int, state: _PhaseState, step_offset: int,
                 progress: bool):
        self.checkpointer, self.trainer, self.epochs, self.state = checkpointer, trainer, epochs, state
        self.phase, self.step_offset, self.progress = state.phase, step_offset, progress
        self.epochs_left = max(epochs - trainer.epoch, 0)
        self._next, self._last, self._shown = self._next_look(), trainer.epoch, trainer.epoch

    def __enter__(self) -> TrainerHooks:
        self._bar = progress_bar(self.progress and self.epochs_left > 0, self.epochs_left)
        self._advance = self._bar.__enter__()
        return self

    def __call__(self, state: Any) -> bool:
        """The loop's callback: pass the hooks themselves in ``trainer.run(..., callbacks=[..., hooks])``."""
        return self.after_epoch(state)

    def after_epoch(self, state: Any) -> bool:
        """Look at the schedule and the stop flag when due (``state``: what the loop hands its callbacks);
        never asks to stop. The NumPy loop calls it every epoch; the compiled loop, which cannot call
        Python between epochs, only after the epochs :meth:`next_look` names."""
        if self.trainer.epoch >= self._next:
            self._look()
        for _ in range(self.trainer.epoch - self._shown):
            self._advance()
        self._shown = self.trainer.epoch
        return False

    def next_look(self) -> int:
        """The epoch after which this callback must be called (a compiled loop runs up to it in one go)."""
        return self._next

    def __exit__(self, *exc: Any) -> None:
        try:
            if exc[1] is None and self._last != self.trainer.epoch:  # ended early: look after its last epoch
                self._look()
        except BaseException:
            self._close(*sys.exc_info())
            raise
        self._close(*exc)

    def _close(self, kind, error, traceback) -> None:
        self._bar.__exit__(kind, error, traceback)
        if error is not None:
            self.checkpointer.close(quiet=True)

    def phases(self) -> Phases:
        """The saved state of this phase and the earlier ones: the ``done`` of the next phase (a save
        may still be in flight: the next save, or :meth:`Checkpointer.close`, waits for it)."""
        return self.state()

    def _look(self) -> None:
        self._last = self.trainer.epoch
        self._next = self._next_look()
        self.checkpointer._after_epoch(self.step_offset + self.trainer.epoch, self.state)

    def _next_look(self) -> int:
        """The epoch after which to look at the schedule and the stop flag again."""
        epoch, offset, epochs = self.trainer.epoch, self.step_offset, self.epochs
        every = self.checkpointer.schedule.every_steps
        if every is not None:
            return epoch + min(every - (offset + epoch) % every, epochs - epoch)
        return epoch + min(TIME_CHECK_EPOCHS, epochs - epoch)


def _phases_payload(phases: Phases) -> Callable[[], State]:
    """The tensors (``phase/name``) and ``{"phases": infos}`` of a lab's checkpoint, read when called."""

    def payload() -> State:
        states = {phase: state() if callable(state) else state for phase, state in phases.items()}
        tensors = {f"{phase}/{name}": value for phase, (arrays, _) in states.items() for name, value in arrays.items()}
        return tensors, {"phases": {phase: info for phase, (_, info) in states.items()}}

    return payload


class _PhaseState:
    """The saved state of a lab's running phase: restores the trainer when made; called, it copies
    the phase's state now (its new loss rows go to the journal only when that copy is read)."""

    def __init__(self, checkpointer: Checkpointer, trainer: Any, phase: str, extra: ExtraState | None,
                 done: Phases | None):
        run = checkpointer.run
        self.journal = LossJournal(run.checkpoints / f"{phase}-losses.f64" if run else None, trainer.net.population)
        self.trainer, self.phase, self.extra, self.done = trainer, phase, extra or (lambda: ({}, {})), done or {}
        restored = checkpointer.restored_state(phase)
        if restored is not None:
            arrays, info = restored
            fit_arrays = {k[len("fit/"):]: v for k, v in arrays.items() if k.startswith("fit/")}
            fit_arrays["fit.losses"] = self.journal.restore(info["losses"], checkpointer.restored.path)
            trainer.load_state_dict(fit_arrays, info["fit"])
        else:
            self.journal.start()

    def __call__(self) -> Phases:
        return {**self.done, self.phase: self.snapshot()}

    def snapshot(self) -> Callable[[], State]:
        trainer, journal = self.trainer, self.journal
        arrays, info = trainer.state_dict(losses=False)
        more_arrays, more_info = self.extra()
        more_arrays = {k: np.array(v) for k, v in more_arrays.items()}  # the command may change them later
        end, read = trainer.epoch, []

        def phase_state() -> State:
            if not read:
                # the loss history grows with the run: it goes to an append-only journal, and the
                # checkpoint records how many of its rows are valid and their checksum
                losses = journal.append(trainer.losses[journal.rows:end])
                read.append(({**{f"fit/{k}": v for k, v in arrays.items()}, **more_arrays},
                             {"fit": info, "losses": losses, **more_info}))
            return read[0]

        return phase_state


class LossJournal:
    """An append-only file of loss rows ``(epochs, P)`` (float64), checksummed as it grows.

    A checkpoint stores only ``{"rows": n, "sha256": ...}``: saving costs the new rows, not the
    whole history. Rows beyond a checkpoint's count (written after it, before a crash) are cut off
    when resuming from it; a journal shorter than the count, or with other bytes, is a damaged run.
    """

    def __init__(self, path: Path | None, population: int):
        self.path, self.population = path, population
        self.rows = 0
        self._hash = hashlib.sha256()

    def start(self) -> None:
        """Begin an empty journal (a fresh run: what an earlier run left there is removed)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def append(self, rows: Sequence[Any]) -> dict[str, Any]:
        """Add ``rows`` (``k`` loss rows of shape ``(P,)``, or a ``(k, P)`` array), flushed to disk;
        returns what a checkpoint records."""
        # row by row through each row's own buffer: the history can be tens of MB a save, and
        # stacking it first would copy it all once more
        buffers = [memoryview(np.ascontiguousarray(to_numpy(row), dtype="<f8").reshape(-1)).cast("B") for row in rows]
        if self.path is not None and buffers:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as handle:
                for data in buffers:
                    handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for data in buffers:
            self._hash.update(data)
        self.rows += len(buffers)
        return {"rows": self.rows, "bytes": self.rows * self.population * 8, "sha256": self._hash.hexdigest()}

    def restore(self, record: dict[str, Any], checkpoint: Path) -> np.ndarray:
        """The first ``record["rows"]`` rows, checked against ``record["sha256"]``; the file is cut there."""
        rows, size = int(record["rows"]), int(record["rows"]) * self.population * 8
        fault = journal_fault(self.path, {**record, "bytes": size})
        if fault is not None:
            raise CheckpointError(checkpoint, fault)
        data = self.path.read_bytes()[:size] if size else b""
        with open(self.path, "r+b") as handle:
            handle.truncate(size)
        self.rows, self._hash = rows, hashlib.sha256(data)
        return np.frombuffer(data, dtype="<f8").reshape(rows, self.population).astype(np.float64)


def journal_fault(path: Path | None, record: dict[str, Any]) -> str | None:
    """What is wrong with the first ``record["bytes"]`` bytes of the loss journal at ``path`` (the
    rows a checkpoint counts on), or None when they are there and match ``record["sha256"]``."""
    rows, size = int(record["rows"]), int(record["bytes"])
    if size == 0:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(size)
    except (OSError, TypeError) as err:
        return f"cannot read the loss journal {path}: {getattr(err, 'strerror', None) or err}"
    if len(data) < size:
        return f"the loss journal {path} holds {len(data)} of the {size} bytes ({rows} rows) this checkpoint counts on"
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        return f"the first {rows} rows of the loss journal {path} fail their checksum: the file is corrupted"
    return None
