"""Intermediate results: what a command has reached so far, for whoever listens.

Long commands call :func:`report` at their natural checkpoints:

- every RL agent at each evaluation of its learning curve: ``step`` = environment steps,
  ``eval_return`` = the mean evaluation return;
- the engine's :class:`~annrl.nn.Trainer` every :data:`TRAINER_EVERY` epochs: ``step`` = epochs,
  ``loss`` = the mean loss of the networks still finite.

Nobody listens by default, and then a report costs one truth test. ``annrl sweep`` under Ray
Tune listens (:func:`listening`), so that a scheduler such as ASHA can stop a run whose
``eval_return`` falls behind the others' at the same step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[dict[str, float]], None]
#: epochs between two reports of the Trainer
TRAINER_EVERY = 100
_listeners: list[Listener] = []


def listened() -> bool:
    """Whether anyone listens (callers skip computing a report nobody reads)."""
    return bool(_listeners)


def report(step: int, **values: float) -> None:
    """Tell every listener ``{"step": step, **values}``."""
    result = {"step": int(step), **{name: float(value) for name, value in values.items()}}
    for listener in list(_listeners):
        listener(result)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call ``listener(result)`` for every report made inside the ``with`` block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
