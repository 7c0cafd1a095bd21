"""Atomic file writes: a file is either its old self or its complete new self, never a part.

The bytes go to a temporary file in the same folder (so that the rename cannot cross file
systems), which is flushed and fsync'ed, then renamed over the final name with
``os.replace`` (atomic on POSIX and Windows), and the folder itself is fsync'ed so that the
rename survives a power cut. A crash at any moment leaves at worst a stray hidden
``.<name>.*.tmp`` file, never a truncated file under the final name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"


def atomic_write(path: str | os.PathLike[str], chunks: bytes | Iterable[Any]) -> Path:
    """Write ``chunks`` (bytes, or an iterable of bytes-like objects) to ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
        The final file. Its folder is created if needed.
    chunks : bytes or iterable of bytes-like
        The content, in order; arrays and memoryviews are written without copying.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        When the disk is full, the folder is not writable, ...; the old file (if any) is then
        untouched and the temporary file is removed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in [chunks] if isinstance(chunks, (bytes, bytearray, memoryview)) else chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it private (0600); a result file should be readable
        os.replace(temp, target)
    except BaseException:  # also on KeyboardInterrupt: never leave the temporary file behind
        with suppress(OSError):
            os.unlink(temp)
        raise
    fsync_folder(target.parent)
    return target


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
