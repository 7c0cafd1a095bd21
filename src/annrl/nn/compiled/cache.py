"""Numba's on-disk cache, made safe for kernels that call kernels of other files.

Numba keys a cached kernel on the file that defines it (its time stamp and size) only: ``loop.train``
inlines ``elementwise`` and ``updates``, so after an edit of those files alone Numba would load the old
machine code (a documented limit of ``cache=True``). :func:`drop_stale` closes that gap: beside each
kernel's cache index it keeps a digest of every source of this package, and deletes the index (Numba then
compiles afresh, once) when the digest no longer matches.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: the sources every compiled kernel may be built from: this package's files that define kernels
SOURCES = sorted(path for path in Path(__file__).parent.glob("*.py")
                 if re.search(r"^from numba import", path.read_text(), re.MULTILINE))


def digest(sources: Iterable[Path] = SOURCES) -> str:
    """SHA-256 of the sources' names and bytes, in order."""
    hasher = hashlib.sha256()
    for path in sources:
        hasher.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()


def drop_stale(kernels: Iterable[Any], sources: Iterable[Path] = SOURCES) -> list[str]:
    """Delete the cache index of every kernel built from sources other than today's; returns their paths.

    A kernel whose index has no digest beside it yet is treated as stale (one compile more, never an old
    kernel). Where the cache cannot be read or written (Numba's layout changed, a read-only folder), the
    kernels are left to Numba.
    """
    now, dropped = digest(sources), []
    for kernel in kernels:
        index = getattr(getattr(getattr(kernel, "_cache", None), "_cache_file", None), "_index_path", None)
        if index is None:
            continue
        stamp = Path(f"{index}.sources")
        try:
            if stamp.exists() and stamp.read_text() == now:
                continue
            if os.path.exists(index):
                os.remove(index)
                dropped.append(str(index))
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(now)
        except OSError:
            continue
    return dropped
