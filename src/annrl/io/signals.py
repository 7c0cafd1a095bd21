"""Graceful interruption: Ctrl-C (SIGINT) or SIGTERM asks a training loop to save and stop.

::

    with graceful_stop() as stop:
        for step in range(start, total):
            train_one_step()
            if schedule.due(step + 1) or stop.requested:
                path = run.save(step + 1, tensors, metadata)
                schedule.mark_saved()
            if stop.requested:
                print(stop.message(path), file=sys.stderr)
                return stop.exit_code

The first signal only sets ``stop.requested``, so the step in progress finishes and the
state saved is consistent. A second signal raises ``KeyboardInterrupt`` at once, for a loop
that does not check the flag or a save that takes too long. While no loop looks at the flag
(``stop.listening`` is False: a checkpoint being read at start, the figures after training),
the first signal raises at once too, so that it is never swallowed. The previous handlers
come back when the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from annrl.errors import Interrupted

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class StopRequest:
    """Set by :func:`graceful_stop` when a stop signal arrives.

    Attributes
    ----------
    requested : bool
        True once SIGINT or SIGTERM has been received.
    signal_name : str or None
        ``"SIGINT"`` or ``"SIGTERM"``.
    """

    requested: bool = False
    signal_name: str | None = None
    signal_number: int | None = None
    listening: bool = True

    @property
    def exit_code(self) -> int:
        """The shell's convention for a signal: 128 + its number (130 for SIGINT); 0 if none."""
        return 128 + self.signal_number if self.signal_number is not None else 0

    def message(self, checkpoint: str | Path | None = None) -> str:
        """The one line to print after stopping, e.g. "annrl: stopped by SIGINT; checkpoint saved to
        runs/x/checkpoints/ckpt-000000120.safetensors; continue with --resume"."""
        saved = f"checkpoint saved to {checkpoint}; continue with --resume" if checkpoint else "nothing saved"
        return f"annrl: stopped by {self.signal_name or 'request'}; {saved}"


@contextmanager
def graceful_stop(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[StopRequest]:
    """Turn ``signals`` into a flag for the duration of the block.

    Parameters
    ----------
    signals : tuple of signal.Signals, default=(SIGINT, SIGTERM)
        The signals to catch.

    Yields
    ------
    StopRequest
        Check ``.requested`` once per step. Outside the main thread, where Python cannot
        install handlers, the flag never trips and signals keep their usual effect.
    """
    stop = StopRequest()

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.requested or not stop.listening:  # a second signal (the user insists), or no loop to save
            raise Interrupted(signal.Signals(signum).name, 128 + signum)
        stop.requested = True
        stop.signal_number = signum
        stop.signal_name = signal.Signals(signum).name

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, handle) for sig in signals}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
