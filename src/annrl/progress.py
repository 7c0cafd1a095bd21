"""How far a run has got: progress bars on the terminal, and intermediate reports to whoever listens.

This module sits on the ground floor (it imports nothing of annrl), so the engine (``nn/``), the
I/O layer (``io/``), the labs and the agents can all use it without importing each other.

- :func:`phase` / :func:`track`: how far a phase of a long command has got: a rich bar with the time
  remaining on a terminal, a plain line every ten seconds in a log file, nothing under ``--quiet``.
- :func:`progress_bar`: a context giving ``advance()``, one call per epoch (the Trainer's bar).
- :class:`ProgressBar`: a bar of environment steps that shows the latest return (the agents' bar).
- :func:`record`: numbers only a training log keeps (``--log``): every PPO update's losses, entropy and
  learning rate, DQN's TD loss, ...
- :func:`report` / :func:`listening`: long commands report what they have reached at their natural
  checkpoints, and a listener installed for a ``with`` block hears it:

  - every RL agent at each evaluation of its learning curve: ``step`` = environment steps,
    ``eval_return`` = the mean evaluation return, ``eval_episode_length`` = the mean length of those
    evaluation episodes (RL^2: its lifetime);
  - the engine's :class:`~annrl.nn.Trainer` every :data:`TRAINER_EVERY` epochs: ``step`` = epochs,
    ``loss`` = the mean loss of the networks still finite (or its own ``report`` callback instead).

  Nobody listens by default, and then a report costs one truth test. ``annrl sweep`` under Ray
  Tune listens, so that a scheduler such as ASHA can stop a run whose ``eval_return`` falls behind
  the others' at the same step. The listeners live in a :class:`contextvars.ContextVar`: they are
  scoped to the ``with`` block (and its thread or task), not a module-wide list.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
Listener = Callable[[dict[str, float]], None]
#: epochs between two reports of the Trainer
TRAINER_EVERY = 100
_listeners: ContextVar[tuple[Listener, ...]] = ContextVar("annrl_listeners", default=())
_recorders: ContextVar[tuple[Listener, ...]] = ContextVar("annrl_recorders", default=())


# -- intermediate reports -------------------------------------------------------------------------
def listened() -> bool:
    """Whether anyone listens (callers skip computing a report nobody reads)."""
    return bool(_listeners.get())


def report(step: int, **values: float) -> None:
    """Tell every listener of the current scope ``{"step": step, **values}``."""
    listeners = _listeners.get()
    if listeners:
        result = {"step": int(step), **{name: float(value) for name, value in values.items()}}
        for listener in listeners:
            listener(result)


@contextmanager
def listening(listener: Listener, *, records: bool = False) -> Iterator[None]:
    """Call ``listener(result)`` for every report made inside the ``with`` block, and, with ``records``,
    for every :func:`record` too (a training log wants both; a Tune scheduler only the reports)."""
    token = _listeners.set((*_listeners.get(), listener))
    record_token = _recorders.set((*_recorders.get(), listener)) if records else None
    try:
        yield
    finally:
        _listeners.reset(token)
        if record_token is not None:
            _recorders.reset(record_token)


def recorded() -> bool:
    """Whether anyone listens to :func:`record` (callers skip computing what nobody reads)."""
    return bool(_recorders.get())


def record(step: int, **values: float) -> None:
    """Tell the listeners that asked for ``records`` ``{"step": step, **values}``: numbers a training
    log keeps (losses, entropy, learning rate) between two reports, which a scheduler does not judge."""
    recorders = _recorders.get()
    if recorders:
        result = {"step": int(step), **{name: float(value) for name, value in values.items()}}
        for listener in recorders:
            listener(result)


# -- progress ----------------------------------------------------------------------------------
#: seconds between two plain progress lines when stderr is not a terminal (a log file, a cluster job, CI)
PLAIN_EVERY = 10.0
_quiet: ContextVar[bool] = ContextVar("annrl_quiet", default=False)
_open: list[Phase] = []  # the phases open now, outermost first (plain lines)
_plain = [0.0]  # when the last plain line was printed
_live: list[Any] = []  # [the rich Progress shared by the phases open now, how many] (rich allows one live display)


@contextmanager
def quietly(quiet: bool = True) -> Iterator[None]:
    """No progress inside the ``with`` block when ``quiet`` (``--quiet``; a sweep's runs, whose sweep shows
    its own bar). The setting ends with the block, so a command run in-process leaves its caller as it was."""
    token = _quiet.set(bool(quiet))
    try:
        yield
    finally:
        _quiet.reset(token)


def phase(name: str, total: float, *, show: bool = True, **fields: str) -> Phase:
    """A context giving a :class:`Phase`: how far ``name`` has got out of ``total`` units of work.

    On a terminal (stderr), a rich bar with the time remaining, one per phase, kept when done; otherwise
    one plain line at the start, then every :data:`PLAIN_EVERY` seconds (phase, percent, time remaining);
    nothing when not ``show`` or under :func:`quietly`. ``fields`` are shown after the bar (updated
    by :meth:`Phase.update`).
    """
    return Phase(name, total, fields) if show and not _quiet.get() else _Silent(name, total, fields)


def announce(text: str) -> None:
    """Print ``text`` on stderr (above the bars on a terminal); nothing under :func:`quietly`."""
    if _quiet.get():
        return
    if _live:
        _live[0].console.print(text, highlight=False, markup=False)
    else:
        print(text, file=sys.stderr, flush=True)


def track(items: Iterable[T], name: str, total: int | None = None, *, show: bool = True) -> Iterator[T]:
    """``items``, one at a time, advancing a :func:`phase` called ``name`` after each."""
    items = list(items) if total is None else items
    with phase(name, len(items) if total is None else total, show=show) as bar:  # type: ignore[arg-type]
        for item in items:
            yield item
            bar.advance()


class Phase:
    """One phase of a long command: ``advance(n)`` or ``update(completed, **fields)`` as work is done."""

    def __init__(self, name: str, total: float, fields: dict[str, str]):
        self.name, self.total, self.fields, self.completed = name, max(float(total), 1e-12), dict(fields), 0.0
        self.terminal = sys.stderr.isatty()

    def __enter__(self) -> Phase:
        self.start = self.last_line = time.monotonic()
        self._last_draw = 0.0
        if self.terminal:
            if not _live:
                _live.extend([_rich_progress(), 0])
                _live[0].start()
            self.progress = _live[0]
            _live[1] += 1
            self.task = self.progress.add_task(self.name, total=self.total, fields=self._fields_text())
        else:
            _open.append(self)
            if len(_open) == 1:
                _plain[0] = self.start
                self._line("started")
        return self

    def advance(self, n: float = 1) -> None:
        self.update(self.completed + n)

    def update(self, completed: float, total: float | None = None, **fields: str) -> None:
        """``completed`` units done (of ``total``, when the total is learnt on the way)."""
        self.completed = float(completed)
        if total is not None:
            self.total = max(float(total), 1e-12)
        self.fields.update(fields)
        now = time.monotonic()
        if self.terminal:
            if now - self._last_draw >= 0.1 or self.completed >= self.total:  # rich redraws ~10 times a second
                self._last_draw = now
                self.progress.update(self.task, completed=self.completed, total=self.total,
                                     fields=self._fields_text())
        elif now - _plain[0] >= PLAIN_EVERY:  # one line for all the phases open, every PLAIN_EVERY seconds
            _plain[0] = now
            self._line(None)

    def __exit__(self, *exc: Any) -> None:
        if self.terminal:
            self.progress.update(self.task, completed=self.completed, fields=self._fields_text())
            if _live[1] > 1:  # a phase within another (one training of a study) leaves no bar behind
                self.progress.remove_task(self.task)
            _live[1] -= 1
            if _live[1] == 0:  # the last phase open: the bars stay on screen, the live display ends
                self.progress.stop()
                _live.clear()
        else:
            _open.remove(self)
            if not _open and exc[0] is None:
                self._line(f"done in {_duration(time.monotonic() - self.start)}")

    def _fields_text(self) -> str:
        return "  ".join(f"{key} {value}" for key, value in self.fields.items())

    def _line(self, word: str | None) -> None:
        """``annrl: <phase>: <word>``, or, for ``word=None``, where every open phase stands."""
        if word is not None:
            print(f"annrl: {self.name}: {word}", file=sys.stderr, flush=True)
            return
        print("annrl: " + "; ".join(bar._status() for bar in _open), file=sys.stderr, flush=True)

    def _status(self) -> str:
        fraction = min(self.completed / self.total, 1.0)
        elapsed = time.monotonic() - self.start
        left = f"{_duration(elapsed * (1 - fraction) / fraction)} left" if fraction > 0 else "time left unknown"
        extra = f", {self._fields_text()}" if self.fields else ""
        return f"{self.name}: {100 * fraction:.0f}%, {left}{extra}"


class _Silent(Phase):
    """A phase nobody sees (``--quiet``, ``--json`` or a library call without ``progress``)."""

    def __enter__(self) -> Phase:
        return self

    def update(self, completed: float, total: float | None = None, **fields: str) -> None:
        self.completed = float(completed)

    def __exit__(self, *exc: Any) -> None:
        return None


def _rich_progress() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                    TimeRemainingColumn(), TextColumn("{task.fields[fields]}"), console=Console(stderr=True))


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def progress_bar(show: bool, total: int):
    """A context giving an ``advance()`` function, one call per epoch (the Trainer's bar)."""
    return _Advance(phase("training", total, show=show))


class _Advance:
    def __init__(self, bar: Phase):
        self.bar = bar

    def __enter__(self) -> Callable[[], None]:
        self.bar.__enter__()
        return self.bar.advance

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)


class ProgressBar:
    """The agents' bar of environment steps, showing the latest evaluation return."""

    def __init__(self, total: int, label: str, enabled: bool):
        self.bar = phase(label, total, show=enabled, **{"return": "-"}).__enter__()

    def update(self, completed: int, ret: float | None = None) -> None:
        """``completed`` environment steps; ``ret`` the latest evaluation return (None: unchanged)."""
        if ret is None:
            self.bar.update(completed)
        else:
            self.bar.update(completed, **{"return": f"{ret:.1f}"})

    def close(self) -> None:
        self.bar.__exit__(None, None, None)
