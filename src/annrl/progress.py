"""How far a run has got: progress bars on the terminal, and intermediate reports to whoever listens.

This module sits on the ground floor (it imports nothing of annrl), so the engine (``nn/``), the
I/O layer (``io/``), the labs and the agents can all use it without importing each other.

- :func:`progress_bar`: a context giving ``advance()``, one call per epoch (the Trainer's bar).
- :class:`ProgressBar`: a bar of environment steps that shows the latest return (the agents' bar).
- :func:`report` / :func:`listening`: long commands report what they have reached at their natural
  checkpoints, and a listener installed for a ``with`` block hears it:

  - every RL agent at each evaluation of its learning curve: ``step`` = environment steps,
    ``eval_return`` = the mean evaluation return;
  - the engine's :class:`~annrl.nn.Trainer` every :data:`TRAINER_EVERY` epochs: ``step`` = epochs,
    ``loss`` = the mean loss of the networks still finite (or its own ``report`` callback instead).

  Nobody listens by default, and then a report costs one truth test. ``annrl sweep`` under Ray
  Tune listens, so that a scheduler such as ASHA can stop a run whose ``eval_return`` falls behind
  the others' at the same step. The listeners live in a :class:`contextvars.ContextVar`: they are
  scoped to the ``with`` block (and its thread or task), not a module-wide list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar

Listener = Callable[[dict[str, float]], None]
#: epochs between two reports of the Trainer
TRAINER_EVERY = 100
_listeners: ContextVar[tuple[Listener, ...]] = ContextVar("annrl_listeners", default=())


# -- intermediate reports -------------------------------------------------------------------------
def listened() -> bool:
    """Whether anyone listens (callers skip computing a report nobody reads)."""
    return bool(_listeners.get())


def report(step: int, **values: float) -> None:
    """Tell every listener of the current scope ``{"step": step, **values}``."""
    result = {"step": int(step), **{name: float(value) for name, value in values.items()}}
    for listener in _listeners.get():
        listener(result)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call ``listener(result)`` for every report made inside the ``with`` block."""
    token = _listeners.set((*_listeners.get(), listener))
    try:
        yield
    finally:
        _listeners.reset(token)


# -- progress bars --------------------------------------------------------------------------------
def progress_bar(show: bool, total: int):
    """A context giving an ``advance()`` function: a rich progress bar, or nothing when not ``show``."""
    if not show:
        return nullcontext(lambda: None)
    return _RichProgress(total)


class _RichProgress:
    """A rich progress bar advanced once per epoch (redrawn at most ~100 times)."""

    def __init__(self, total: int):
        from rich.progress import Progress

        self.progress, self.total, self.count = Progress(transient=True), total, 0
        self.every = max(1, total // 100)

    def __enter__(self):
        self.progress.start()
        self.task = self.progress.add_task("training", total=self.total)
        return self.advance

    def advance(self) -> None:
        self.count += 1
        if self.count % self.every == 0:
            self.progress.update(self.task, completed=self.count)

    def __exit__(self, *exc):
        self.progress.stop()
        return False


class ProgressBar:
    """A rich progress bar showing the latest return; does nothing when ``enabled`` is False."""

    def __init__(self, total: int, label: str, enabled: bool):
        self.enabled = enabled
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total}"),
                                TextColumn("return {task.fields[ret]}"), TimeElapsedColumn(), transient=True)
            self.task = self.bar.add_task(label, total=total, ret="-")
            self.bar.start()

    def update(self, completed: int, ret: float | None) -> None:
        if self.enabled:
            self.bar.update(self.task, completed=completed, ret="-" if ret is None else f"{ret:.1f}")

    def close(self) -> None:
        if self.enabled:
            self.bar.stop()
