"""Checkpoints: named NumPy arrays plus JSON metadata, in the safetensors layout, never pickled.

File layout (the safetensors format, readable by the ``safetensors`` package)::

    8 bytes      N, the header length, unsigned little-endian
    N bytes      the header: compact JSON (no spaces, ASCII; annrl sorts its keys, any order is read), padded with
                 spaces to a multiple of 8 bytes
                   {"<name>": {"dtype": "F32", "shape": [P, in, out], "data_offsets": [a, b]},
                    ...,
                    "__metadata__": {"annrl": "<envelope JSON>", "annrl_sha256": "<hex>"}}
    the rest     every tensor's bytes, C order, little-endian, back to back

The envelope (a JSON string inside ``__metadata__``) holds the format name and version, the
annrl version, the creation time, the step, every tensor's dtype, shape and offsets, the
SHA-256 of the tensor bytes, and the caller's metadata (config, seed, RNG states, ...).
``annrl_sha256`` is the SHA-256 of the envelope's UTF-8 bytes.

Reading checks everything, so that any change to any byte is caught: the length prefix, the
JSON, the envelope's checksum, the format and version, that the header is byte for byte the
compact encoding of what it says (its keys in any order), that the header's tensor table equals the envelope's,
the dtype whitelist, offsets that are contiguous and in bounds, sizes that match shapes,
the data checksum, and the shapes and dtypes the caller expects. Every fault raises
:class:`~annrl.errors.CheckpointError` ``"<file>: <fault>"``, and nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from annrl import __version__
from annrl.backend import to_numpy
from annrl.errors import CheckpointError, InputError, WriteError
from annrl.io.atomic import atomic_write

FORMAT_NAME = "annrl-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".safetensors"
MAX_HEADER_BYTES = 100 * 2**20  # the safetensors reference reader's limit too

# NumPy dtype name -> safetensors dtype code: the only element types a checkpoint may hold.
DTYPE_CODES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "uint16": "U16", "int16": "I16", "float16": "F16",
    "uint32": "U32", "int32": "I32", "float32": "F32", "uint64": "U64", "int64": "I64", "float64": "F64",
}
_DTYPE_NAMES = {code: name for name, code in DTYPE_CODES.items()}

Expect = Mapping[str, tuple[tuple[int | None, ...] | None, Any]]


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read back and checked.

    Attributes
    ----------
    tensors : dict of str to ndarray
        The arrays, with their saved dtypes and shapes (writable).
    metadata : dict
        The caller's metadata, as JSON gives it back (tuples become lists).
    step : int or None
        The step it was saved at, if given.
    annrl_version, created : str
        The annrl version that wrote it, and when (ISO 8601, UTC).
    path : Path or None
        The file it came from.
    """

    tensors: dict[str, np.ndarray]
    metadata: dict[str, Any]
    step: int | None
    annrl_version: str
    created: str
    path: Path | None = None


# writing ------------------------------------------------------------------------------------
def save_checkpoint(
    path: str | os.PathLike[str],
    tensors: Mapping[str, Any],
    metadata: Mapping[str, Any] | None = None,
    *,
    step: int | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file, fsync, rename, fsync of the folder).

    Parameters
    ----------
    path : str or path-like
        The file to write, conventionally ``*.safetensors``. An existing file is replaced only
        once the new one is complete.
    tensors : mapping of str to array
        Arrays of any shape (0-d and empty included) of a dtype in :data:`DTYPE_CODES`;
        NumPy arrays or anything :func:`annrl.backend.to_numpy` converts (torch tensors).
    metadata : mapping, optional
        JSON-serialisable values with string keys: config, seed, RNG states (see
        :func:`rng_state`), metrics so far. NumPy scalars and arrays become numbers and lists.
    step : int, optional
        The training step (epoch, generation) this checkpoint is taken at.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        For a tensor of an unsupported dtype, a bad name, or metadata that is not JSON.
    CheckpointError
        When the file cannot be written (disk full, no permission); the old file is kept.
    """
    chunks = encode_checkpoint(tensors, metadata, step=step)
    try:
        return atomic_write(path, chunks)
    except OSError as err:
        raise WriteError(path, f"cannot write the checkpoint: {err.strerror or err}") from err


def checkpoint_bytes(
    tensors: Mapping[str, Any], metadata: Mapping[str, Any] | None = None, *, step: int | None = None
) -> bytes:
    """The bytes of a checkpoint file, in memory (to send it, or to test the reader)."""
    return b"".join(bytes(chunk) for chunk in encode_checkpoint(tensors, metadata, step=step))


def encode_checkpoint(
    tensors: Mapping[str, Any], metadata: Mapping[str, Any] | None = None, *, step: int | None = None
) -> list[Any]:
    """The checkpoint as a list of chunks (length, header, then each array without a copy)."""
    arrays = _checked_tensors(tensors)
    order = sorted(arrays, key=lambda name: (-arrays[name].dtype.itemsize, name))  # keeps data aligned
    table, offset, digest = {}, 0, hashlib.sha256()
    for name in order:
        array = arrays[name]
        table[name] = {"dtype": array.dtype.name, "shape": list(array.shape),
                       "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        digest.update(_raw_bytes(array))
    envelope = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "annrl_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "step": _checked_step(step), "tensors": table, "data_sha256": digest.hexdigest(),
        "metadata": {} if metadata is None else metadata,
    }
    header = _header_bytes(_header_for(envelope, table))
    return [len(header).to_bytes(8, "little"), header, *(_raw_bytes(arrays[name]) for name in order)]


def _checked_tensors(tensors: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(tensors, Mapping):
        raise InputError(f"tensors must be a mapping of names to arrays, got {type(tensors).__name__}")
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            rule = "non-empty strings other than '__metadata__'"
            raise InputError(f"tensor names must be {rule}, got {name!r}")
        array = np.asarray(to_numpy(value))
        if array.dtype.name not in DTYPE_CODES:
            allowed = ", ".join(DTYPE_CODES)
            raise InputError(f"tensor {name!r} must have a dtype among {allowed}, got {array.dtype}")
        # order="C" keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d).
        arrays[name] = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")
    return arrays


def _checked_step(step: Any) -> int | None:
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise InputError(f"step must be an integer >= 0, got {step!r}")
    return int(step)


def _raw_bytes(array: np.ndarray) -> np.ndarray:
    """The array's bytes as a flat uint8 view (no copy; works for 0-d, empty and bool arrays)."""
    return array.reshape(-1).view(np.uint8)


def _header_for(envelope: dict[str, Any], table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    try:
        text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as err:
        raise InputError(f"checkpoint metadata must be JSON-serialisable with string keys: {err}") from None
    header: dict[str, Any] = {
        name: {**entry, "dtype": DTYPE_CODES[entry["dtype"]]} for name, entry in table.items()
    }
    header["__metadata__"] = {"annrl": text, "annrl_sha256": _sha256_text(text)}
    return header


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _header_bytes(header: Mapping[str, Any], *, sort_keys: bool = True) -> bytes:
    """The compact encoding (no spaces, ASCII), padded so the data starts 8-aligned; annrl writes its
    keys sorted, another writer (the ``safetensors`` library) in its own order."""
    text = json.dumps(header, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    raw = text.encode("ascii")
    return raw + b" " * (-len(raw) % 8)


def _is_compact(raw: bytes, header: Mapping[str, Any]) -> bool:
    """Whether ``raw`` is the compact encoding of ``header`` with its keys in the order they come:
    a file re-saved by the ``safetensors`` library (keys in another order) is read, while a byte
    that changes nothing the checksums see (a space or a line break slipped in) is still caught."""
    try:
        return raw == _header_bytes(header, sort_keys=False)
    except ValueError:  # NaN or infinity, which a header we wrote never holds
        return False


def _sha256_text(text: str) -> str:
    # surrogatepass: a JSON string may hold a lone surrogate ("\ud800"), which strict UTF-8 refuses.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# reading ------------------------------------------------------------------------------------
def load_checkpoint(
    path: str | os.PathLike[str], *, expect: Expect | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and check a checkpoint; return ``(tensors, metadata)``.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file.
    expect : mapping of str to (shape, dtype), optional
        The exact set of tensors required, e.g. ``{"0.weight": ((P, 2, 4), "float64")}``.
        A shape may hold ``None`` for any length, or be None for any shape; a dtype may be None.

    Raises
    ------
    CheckpointError
        ``"<file>: <fault>"`` for a missing, unreadable, truncated, corrupted, foreign,
        wrong-version or unexpected file; never any other exception.
    """
    checkpoint = read_checkpoint(path, expect=expect)
    return checkpoint.tensors, checkpoint.metadata


def read_checkpoint(path: str | os.PathLike[str], *, expect: Expect | None = None) -> Checkpoint:
    """Like :func:`load_checkpoint`, but returns the whole :class:`Checkpoint` (step, version...)."""
    try:
        # opened without blocking and refused by type: a FIFO would wait for a writer forever
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise CheckpointError(path, f"cannot read the file: it is {_file_kind(info.st_mode)}, "
                                      "not a regular file")
            os.set_blocking(fd, True)
            size = info.st_size
            buffer = bytearray(size)
            got = f.readinto(buffer)
    except IsADirectoryError:
        raise CheckpointError(path, "cannot read the file: it is a folder, not a regular file") from None
    except OSError as err:
        raise CheckpointError(path, f"cannot read the file: {err.strerror or err}") from None
    except (ValueError, TypeError) as err:  # e.g. a path with a NUL byte
        raise CheckpointError(path, f"cannot read the file: {err}") from None
    except MemoryError:
        raise CheckpointError(path, "the file is too large to read into memory") from None
    if got != size:
        raise CheckpointError(path, f"the file changed while being read ({got} of {size} bytes)")
    checkpoint = decode_checkpoint(buffer, source=str(path), expect=expect)
    return dataclasses.replace(checkpoint, path=Path(path))


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def decode_checkpoint(
    data: bytes | bytearray, *, source: str = "<bytes>", expect: Expect | None = None
) -> Checkpoint:
    """Check and decode checkpoint bytes; ``source`` names them in errors.

    Arrays are views of ``data`` when it is a ``bytearray`` (no copy), else copies.
    """
    try:
        return _decode(data if isinstance(data, bytearray) else bytearray(data), source, expect)
    except CheckpointError:
        raise
    except Exception as err:  # a safety net: a reader bug must still be a CheckpointError
        raise CheckpointError(source, f"unreadable checkpoint ({type(err).__name__}: {err})") from err


def _decode(buffer: bytearray, source: str, expect: Expect | None) -> Checkpoint:
    raw, header = _read_header(buffer, source)
    envelope = _read_envelope(header, source)
    if not _is_compact(raw, header):
        raise CheckpointError(source, "the header is not compact JSON padded with spaces: it was altered or corrupted")
    data = memoryview(buffer)[8 + len(raw):]
    layout = _check_layout(header, envelope, len(data), source)
    if hashlib.sha256(data).hexdigest() != envelope.get("data_sha256"):
        raise CheckpointError(source, "tensor data checksum mismatch: the data is corrupted")
    tensors = {name: _array(data, *spec) for name, spec in layout.items()}
    if expect is not None:
        _check_expected(tensors, expect, source)
    return Checkpoint(
        tensors=tensors,
        metadata=envelope.get("metadata", {}),
        step=envelope.get("step"),
        annrl_version=str(envelope.get("annrl_version")),
        created=str(envelope.get("created")),
    )


def _read_header(buffer: bytearray, source: str) -> tuple[bytes, dict[str, Any]]:
    size = len(buffer)
    if size < 8:
        raise CheckpointError(source, f"the file is too short to be a checkpoint ({size} bytes)")
    length = int.from_bytes(buffer[:8], "little")
    if length > size - 8:
        raise CheckpointError(
            source, f"the header length ({length} bytes) runs past the end of the file ({size} bytes): "
            "the file is truncated or is not a checkpoint")
    if length < 2 or length > MAX_HEADER_BYTES:
        raise CheckpointError(source, f"the header length ({length} bytes) is implausible: not a checkpoint")
    raw = bytes(buffer[8 : 8 + length])
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        fault = "the header is not valid JSON: the file is corrupted or not a checkpoint"
        raise CheckpointError(source, fault) from None
    if not isinstance(header, dict):
        raise CheckpointError(source, "the header is not a JSON object: not a checkpoint")
    return raw, header


def _read_envelope(header: dict[str, Any], source: str) -> dict[str, Any]:
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or not isinstance(meta.get("annrl"), str):
        raise CheckpointError(source, "no annrl metadata in the header: not an annrl checkpoint")
    text = meta["annrl"]
    if meta.get("annrl_sha256") != _sha256_text(text):
        raise CheckpointError(source, "metadata checksum mismatch: the header is corrupted")
    try:
        envelope = json.loads(text)
    except (ValueError, RecursionError):
        raise CheckpointError(source, "the metadata is not valid JSON: the header is corrupted") from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT_NAME:
        raise CheckpointError(source, "the metadata does not describe an annrl checkpoint")
    version = envelope.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            source, f"checkpoint format version {version!r} is not supported (this annrl reads version "
            f"{FORMAT_VERSION}; it was written by annrl {envelope.get('annrl_version')})")
    return envelope


def _check_layout(
    header: dict[str, Any], envelope: dict[str, Any], data_size: int, source: str
) -> dict[str, tuple[str, tuple[int, ...], int, int]]:
    """Return name -> (dtype name, shape, begin, end) after checking every entry and the bounds."""
    table = envelope.get("tensors")
    entries = {name: entry for name, entry in header.items() if name != "__metadata__"}
    if not isinstance(table, dict) or set(table) != set(entries):
        raise CheckpointError(source, "the header's tensors differ from those in the metadata: corrupted")
    layout = {}
    for name, entry in table.items():
        dtype, shape, begin, end = _checked_entry(name, entry, source)
        expected = {"dtype": DTYPE_CODES[dtype], "shape": list(shape), "data_offsets": [begin, end]}
        if entries[name] != expected:
            raise CheckpointError(source, f"tensor {name!r}: the header differs from the metadata: corrupted")
        layout[name] = (dtype, shape, begin, end)
    position = 0
    for name, (_, _, begin, end) in sorted(layout.items(), key=lambda item: item[1][2:]):
        if begin != position:
            raise CheckpointError(source, f"tensor {name!r} does not start where the previous one ends")
        position = end
    if position != data_size:
        state = "truncated" if data_size < position else "longer than it should be"
        raise CheckpointError(
            source, f"the tensor data is {data_size} bytes but the header describes {position}: "
            f"the file is {state}")
    return layout


def _checked_entry(name: str, entry: Any, source: str) -> tuple[str, tuple[int, ...], int, int]:
    def bad(what: str) -> CheckpointError:
        return CheckpointError(source, f"tensor {name!r} has {what}")

    if not isinstance(entry, dict):
        raise bad("no description")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_CODES:
        raise bad(f"an unsupported dtype {dtype!r} (allowed: {', '.join(DTYPE_CODES)})")
    if not isinstance(shape, list) or not all(_is_count(n) for n in shape):
        raise bad(f"an invalid shape {shape!r}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(n) for n in offsets):
        raise bad(f"invalid data offsets {offsets!r}")
    begin, end = offsets
    if end - begin != math.prod(shape) * np.dtype(dtype).itemsize:
        raise bad(f"{end - begin} bytes of data, but shape {tuple(shape)} of {dtype} needs "
                  f"{math.prod(shape) * np.dtype(dtype).itemsize}")
    return dtype, tuple(shape), begin, end


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _array(data: memoryview, dtype: str, shape: tuple[int, ...], begin: int, end: int) -> np.ndarray:
    array = np.frombuffer(data[begin:end], dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    if not array.flags.aligned or array.dtype != np.dtype(dtype):
        array = array.astype(np.dtype(dtype))  # native byte order and alignment, as a copy
    return array


def _check_expected(tensors: dict[str, np.ndarray], expect: Expect, source: str) -> None:
    for name in sorted(expect):
        if name not in tensors:
            found = ", ".join(sorted(tensors)) or "none"
            raise CheckpointError(source, f"missing tensor {name!r} (the checkpoint holds: {found})")
    for name in sorted(tensors):
        if name not in expect:
            wanted = ", ".join(sorted(expect)) or "none"
            raise CheckpointError(source, f"unexpected tensor {name!r} (expected: {wanted})")
        shape, dtype = expect[name]
        array = tensors[name]
        if shape is not None and not _shape_fits(array.shape, shape):
            wanted_shape = tuple("*" if n is None else n for n in shape)
            raise CheckpointError(source, f"tensor {name!r} has shape {array.shape}, expected {wanted_shape}")
        if dtype is not None and array.dtype != np.dtype(dtype):
            fault = f"tensor {name!r} has dtype {array.dtype}, expected {np.dtype(dtype)}"
            raise CheckpointError(source, fault)


def _shape_fits(shape: tuple[int, ...], wanted: tuple[int | None, ...]) -> bool:
    return len(shape) == len(wanted) and all(w is None or w == s for s, w in zip(shape, wanted, strict=True))


# random number generators -------------------------------------------------------------------
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The exact state of ``rng`` as JSON-able data (arrays become lists of integers).

    ``rng_from_state(rng_state(rng))`` draws the same numbers as ``rng`` from here on.
    """
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return _jsonable(rng.bit_generator.state)


def rng_from_state(state: Mapping[str, Any]) -> np.random.Generator:
    """A new Generator in exactly the state :func:`rng_state` recorded.

    Raises
    ------
    InputError
        For an unknown bit generator or a malformed state.
    """
    name = state.get("bit_generator") if isinstance(state, Mapping) else None
    if name not in _BIT_GENERATORS:
        allowed = ", ".join(_BIT_GENERATORS)
        raise InputError(f"rng state must name a bit generator among {allowed}, got {name!r}")
    bit_generator = getattr(np.random, name)()  # name is one of the whitelist above
    try:
        bit_generator.state = _like(state, bit_generator.state)
    except (TypeError, ValueError, KeyError, OverflowError, IndexError) as err:
        raise InputError(f"rng state for {name} is malformed: {err}") from None
    return np.random.Generator(bit_generator)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _like(value: Any, template: Any) -> Any:
    """``value`` with lists turned back into arrays wherever ``template`` has an array."""
    if isinstance(template, dict):
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a mapping, got {type(value).__name__}")
        return {k: _like(value[k], t) for k, t in template.items()}
    if isinstance(template, np.ndarray):
        array = np.asarray(value, dtype=template.dtype)
        if array.shape != template.shape:
            raise InputError(f"expected an array of shape {template.shape}, got {array.shape}")
        return array
    return value
