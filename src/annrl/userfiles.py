"""Reading the files users hand to annrl (tracks, sweeps, metrics, playground JSON) without harm.

A user's file may be anything: a FIFO that never ends, a device, a folder named ``x.json``, a
binary, a gigabyte, JSON nested 100,000 deep, or a YAML "billion laughs" whose few lines of
aliases expand to gigabytes. Each of these is refused *before* it costs memory or time, with one
line that names the file and the fault:

* :func:`read_text` opens only regular files (checked by type before opening, so a FIFO never
  blocks), at most ``max_bytes`` of them, and names the file when it is not UTF-8;
* :func:`parse_json` counts the nesting depth with one vectorised pass before parsing;
* :func:`load_yaml` composes the YAML node graph (aliases still shared), counts the nodes the
  document would expand to and its depth, and only then builds Python objects.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from annrl.errors import InputError

MAX_FILE_BYTES = 64 * 2**20
MAX_DEPTH = 64
#: nodes a YAML document may expand to once its aliases are followed
MAX_YAML_NODES = 200_000
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def checked_regular_file(path: str | Path, what: str, *, max_bytes: int = MAX_FILE_BYTES) -> Path:
    """``path`` if it is a regular file of at most ``max_bytes``, else one :class:`InputError` line.

    ``what`` names the file's role in the message (``"track file"``, ``"sweep file"``).
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError as err:
        raise InputError(f"cannot read the {what} {str(path)!r}: {err.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {str(path)!r} is {_kind_of_file(info.st_mode)}, not a regular file")
    if info.st_size > max_bytes:
        raise InputError(f"{what} {str(path)!r} is {info.st_size:,} bytes; the limit is {max_bytes:,}")
    return path


def read_text(path: str | Path, what: str, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``; every fault one line naming it."""
    path = checked_regular_file(path, what, max_bytes=max_bytes)
    try:
        # O_NONBLOCK: should the file have been swapped for a FIFO since the check, open() still returns
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as err:
        raise InputError(f"cannot read the {what} {str(path)!r}: {err.strerror}") from None
    if len(data) > max_bytes:
        raise InputError(f"{what} {str(path)!r} is over {max_bytes:,} bytes, the limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{what} {str(path)!r} is not UTF-8 text (byte {err.start} is {data[err.start]:#04x}); "
                         "is it a binary file?") from None


def parse_json(text: str | bytes, what: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """JSON from ``text``, refused in one line when nested deeper than ``max_depth`` or malformed."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    depth = json_depth(raw)
    if depth > max_depth:
        raise InputError(f"{what} is nested {depth} levels deep; the limit is {max_depth}")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise InputError(f"{what} is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})") from None
    except (UnicodeDecodeError, RecursionError, ValueError) as err:
        raise InputError(f"{what} is not valid JSON: {err}") from None


def json_depth(raw: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text, strings skipped (one vectorised pass)."""
    codes = np.frombuffer(_JSON_STRING.sub(b'""', raw), np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int64) - np.isin(codes, _CLOSE)
    return int(np.cumsum(steps).max(initial=0))


def load_json(path: str | Path, what: str, *, max_bytes: int = MAX_FILE_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """:func:`parse_json` of :func:`read_text`: the file named in every message."""
    text = read_text(path, what, max_bytes=max_bytes)
    return parse_json(text, f"{what} {path}", max_depth=max_depth)


def load_yaml(path: str | Path, what: str, *, max_bytes: int = MAX_FILE_BYTES, max_depth: int = MAX_DEPTH,
              max_nodes: int = MAX_YAML_NODES) -> Any:
    """A YAML file read with PyYAML's safe loader, its expanded size and depth bounded first."""
    text = read_text(path, what, max_bytes=max_bytes)
    return parse_yaml(text, f"{what} {path}", max_depth=max_depth, max_nodes=max_nodes)


def parse_yaml(text: str, what: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_YAML_NODES) -> Any:
    """YAML from ``text`` (safe loader: no Python objects), refused when it would expand too far."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        nodes, depth = _expanded_size(node)
        if depth > max_depth:
            raise InputError(f"{what} is nested {depth} levels deep; the limit is {max_depth}")
        if nodes > max_nodes:
            raise InputError(f"{what} expands to {nodes:,} values once its aliases are followed; "
                             f"the limit is {max_nodes:,}")
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        where = err.problem_mark or err.context_mark
        place = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        raise InputError(f"{what} is not valid YAML: {err.problem or err.context}{place}") from None
    except yaml.YAMLError as err:
        raise InputError(f"{what} is not valid YAML: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply to read (the limit is {max_depth} levels)") from None
    finally:
        loader.dispose()


def _expanded_size(root: Any) -> tuple[int, int]:
    """(values, depth) of a composed YAML node graph as it would be built, aliases counted each time.

    Shared nodes are measured once (memoised by identity), so a bomb of nested aliases is sized
    in time linear in its text, never expanded; a node that contains itself counts as infinite.
    """
    import yaml

    sizes: dict[int, tuple[int, int]] = {}
    pending: set[int] = set()

    def measure(node: Any) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in pending:  # a recursive alias: the document would be infinite
            return (2**62, 2**31)
        pending.add(key)
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        measured = [measure(child) for child in children]
        size = (1 + sum(n for n, _ in measured), 1 + max((d for _, d in measured), default=0))
        pending.discard(key)
        sizes[key] = size
        return size

    return measure(root)


def _kind_of_file(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "a special file")
