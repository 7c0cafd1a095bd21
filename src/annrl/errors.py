"""The errors annrl raises on purpose, and the one place that turns them into exit codes.

Every error a user can cause (a bad option, config value, expression, track file or
checkpoint) is an :class:`AnnrlError` whose message is one line: what is wrong, the rule it
breaks and the value received. The command line prints that line, ``annrl: error: ...``,
and exits with status 2; the traceback is shown only with ``--debug``. Bad input raises
:class:`InputError` (a ``ValueError`` too, for callers of the Python API); any other
exception is a bug in annrl and is shown as one, with its traceback.
"""

from __future__ import annotations

import errno
import reprlib
import sys
import traceback
from collections.abc import Callable
from os import PathLike
from typing import Any

EXIT_BAD_INPUT = 2
#: a write failed (disk full, read-only, I/O error): the last good checkpoint is kept (sysexits' EX_IOERR)
EXIT_CANNOT_WRITE = 74
#: the errors of a disk that refuses a write, reported as one line rather than as a bug
DISK_FAULTS = frozenset({errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM})
EXIT_INTERRUPTED = 130
_MAX_VALUE_CHARS = 80
_BOUNDED_REPR = reprlib.Repr()
_BOUNDED_REPR.maxlevel = 4
_BOUNDED_REPR.maxtuple = _BOUNDED_REPR.maxlist = _BOUNDED_REPR.maxarray = _BOUNDED_REPR.maxdict = 20
_BOUNDED_REPR.maxset = _BOUNDED_REPR.maxfrozenset = _BOUNDED_REPR.maxdeque = 20
_BOUNDED_REPR.maxstring = _BOUNDED_REPR.maxlong = _BOUNDED_REPR.maxother = _MAX_VALUE_CHARS


class AnnrlError(Exception):
    """Base class of every error annrl raises deliberately (never a bug)."""


class InputError(AnnrlError, ValueError):
    """Bad user input: an option, a config field, an expression, a file, an API argument.

    Parameters
    ----------
    message : str
        The whole one-line message. Use :meth:`invalid` to build the usual
        "``<field> must be <rule>, got <value>``" form.
    field : str, optional
        The name of the offending input (``"--lr"``, ``"config.hidden"``, ``"expression"``).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(one_line(message))
        self.field = field

    @classmethod
    def invalid(cls, field: str, rule: str, value: Any) -> InputError:
        """``InputError("lr must be > 0, got -0.1")`` from its three parts."""
        return cls(f"{field} must be {rule}, got {show_value(value)}", field=field)


class MemoryBudgetError(InputError):
    """A size that would exhaust memory, refused before anything is allocated.

    Attributes
    ----------
    needed : int
        The estimated size, in bytes.
    limit : int
        The budget it exceeds, in bytes.
    """

    def __init__(self, message: str, *, needed: int, limit: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.needed = needed
        self.limit = limit


class CheckpointError(AnnrlError):
    """A checkpoint that cannot be written, or read back exactly: ``"<file>: <fault>"``.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file (or run folder) concerned.
    fault : str
        What is wrong with it, in one line.
    """

    def __init__(self, path: str | PathLike[str], fault: str) -> None:
        self.path = str(path)
        self.fault = one_line(fault)
        super().__init__(f"{self.path}: {self.fault}")


class WriteError(CheckpointError):
    """A run-folder file (checkpoint, loss journal, metrics, figure) that could not be written:
    disk full, read-only, an I/O error. Earlier checkpoints are untouched; exit status 74."""


class Interrupted(KeyboardInterrupt):
    """A stop signal where no training loop can save first (or a second one): exit 128 + signal."""

    def __init__(self, signal_name: str, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name, self.exit_code = signal_name, exit_code


class Stopped(AnnrlError):
    """A run stopped by SIGINT/SIGTERM after saving a checkpoint; ``exit_code`` is 128 + signal."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(one_line(message))
        self.exit_code = exit_code


def show_value(value: Any) -> str:
    """``repr(value)`` shortened to one line of at most 80 characters, for error messages.

    The repr is bounded while it is built (a few levels, a few items of each container, a
    prefix of a long string), so a value of gigabytes, e.g. a YAML alias bomb, costs nothing.
    """
    if isinstance(value, (str, bytes)):
        text = one_line(repr(value[: _MAX_VALUE_CHARS * 2]))
    else:
        text = one_line(_BOUNDED_REPR.repr(value))
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


def one_line(text: str) -> str:
    """``text`` with line breaks escaped, so that an error message stays on one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def run_cli(handler: Callable[[Any], int | None], args: Any, *, debug: bool = False) -> int:
    """Run a command handler and turn deliberate errors into one line and an exit code.

    Parameters
    ----------
    handler : callable
        The sub-command, called as ``handler(args)``; it returns an exit code or None (0).
    args : argparse.Namespace or any
        Passed to ``handler`` unchanged.
    debug : bool, default=False
        Print the traceback before the one-line message.

    Returns
    -------
    int
        The handler's code; 2 after an :class:`AnnrlError` (bad input, a damaged checkpoint) or
        when memory runs out; 74 when a write fails (:class:`WriteError`, or an ``OSError`` of a
        full, read-only or failing disk: the checkpoints saved before are kept); 128 + the signal
        after a stop signal (130 for a second Ctrl-C). Any other exception is a bug in
        annrl, not the user's input: a line asking to report it is printed, and the exception
        propagates with its traceback.
    """
    try:
        return int(handler(args) or 0)
    except Stopped as err:
        print(str(err), file=sys.stderr)
        return err.exit_code
    except WriteError as err:
        return _report(f"error: {err}; {_after_failed_write(args)}", EXIT_CANNOT_WRITE, debug)
    except AnnrlError as err:
        return _report(f"error: {err}", EXIT_BAD_INPUT, debug)
    except KeyboardInterrupt as err:
        name = getattr(err, "signal_name", None)
        return _report(f"stopped by {name}" if name else "interrupted", getattr(err, "exit_code", EXIT_INTERRUPTED),
                       debug)
    except MemoryError as err:  # a last resort: every size a user sets is estimated before allocating
        return _report(f"error: out of memory ({err or 'an allocation failed'}); use smaller sizes", EXIT_BAD_INPUT,
                       debug)
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:  # a path typed by the user that no file can have: bad input
            return _report(f"error: {show_value(err.filename)}: {err.strerror}", EXIT_BAD_INPUT, debug)
        if err.errno not in DISK_FAULTS:
            if not isinstance(err, BrokenPipeError):  # the CLI stops quietly when its reader goes away
                _bug()
            raise
        where = f"cannot write {err.filename}" if err.filename else "a write failed"
        return _report(f"error: {where}: {err.strerror or err}; {_after_failed_write(args)}", EXIT_CANNOT_WRITE,
                       debug)
    except Exception:
        _bug()
        raise


def _after_failed_write(args: Any) -> str:
    """What to do after a failed write: a command that checkpoints continues with --resume, any other
    one is run again (``annrl report`` or ``car drive`` has nothing to resume)."""
    if hasattr(args, "resume"):
        return "the checkpoints saved before are kept: free space or fix the folder, then continue with --resume"
    return "free space or fix the folder, then run the command again"


def _bug() -> None:
    """Any other exception is a bug in annrl: say so; re-raised, Python prints its traceback (exit status 1)."""
    print("annrl: this is a bug in annrl, not in your input: please report it with the traceback below",
          file=sys.stderr)


def _report(line: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"annrl: {one_line(line)}", file=sys.stderr)
    return code
