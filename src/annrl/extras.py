"""Optional parts of annrl and the extra that installs each: one table, read at the command line's boundary.

``pip install annrl`` brings the engine, the labs and symbols; RL environments, the playground's
server, Ray, PyTorch, numba and TensorBoard come with extras. A command that needs a missing one
ends with one line naming it, e.g. ``annrl: error: this command needs gymnasium: pip install "annrl[rl]"``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from annrl.errors import AnnrlError

#: top-level module -> the extra that installs it
EXTRA_OF: dict[str, str] = {
    "gymnasium": "rl",
    "starlette": "playground",
    "uvicorn": "playground",
    "websockets": "playground",
    "ray": "ray",
    "pyarrow": "ray",
    "torch": "torch",
    "numba": "fast",
    "tensorboardX": "tensorboard",
    "sklearn": "sklearn",
    "shtab": "completion",
}


class MissingExtra(AnnrlError):
    """An optional dependency is not installed; the message names the extra that brings it."""


def missing_extra(err: ModuleNotFoundError) -> MissingExtra | None:
    """The :class:`MissingExtra` that explains ``err``, or None when the module is no optional part of annrl."""
    root = (err.name or "").split(".")[0]
    extra = EXTRA_OF.get(root)
    if extra is None:
        return None
    return MissingExtra(f'this command needs {root}, which is not installed: pip install "annrl[{extra}]"')


@contextmanager
def explain_missing() -> Iterator[None]:
    """Turn a ModuleNotFoundError of an optional dependency into a :class:`MissingExtra` (one line, exit 2)."""
    try:
        yield
    except ModuleNotFoundError as err:
        explained = missing_extra(err)
        if explained is None:
            raise
        raise explained from err


def exit_if_missing(err: ModuleNotFoundError) -> None:
    """For code outside :func:`~annrl.errors.run_cli` (building a parser): print the line and exit 2."""
    explained = missing_extra(err)
    if explained is None:
        raise err
    print(f"annrl: error: {explained}", file=sys.stderr)
    raise SystemExit(2)
