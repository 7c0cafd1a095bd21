"""Fuzz the checkpoint reader: N corrupted checkpoints, how many are detected.

Target (issue #14): 100% of 10,000 corrupted checkpoints raise CheckpointError; none is
accepted, none raises anything else.

    python benchmarks/checkpoint_fuzz.py                 # 10,000 corruptions, seed 0
    python benchmarks/checkpoint_fuzz.py --n 100000 --seed 3 --json

The checkpoint is shaped like a real one: a population of 64 XOR networks (2-4-1), their Adam
moments, a replay-style int and bool buffer, and metadata with a config, a seed and an RNG
state. Each corruption is drawn from one of the kinds below; one in ten goes through a file
on disk (``load_checkpoint``), the rest through ``decode_checkpoint`` on bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from annrl.errors import CheckpointError
from annrl.io import checkpoint_bytes, decode_checkpoint, load_checkpoint, rng_state


def sample_checkpoint() -> bytes:
    rng = np.random.default_rng(0)
    P = 64
    params = {"0.weight": rng.normal(size=(P, 2, 4)), "0.bias": np.zeros((P, 1, 4)),
              "1.weight": rng.normal(size=(P, 4, 1)), "1.bias": np.zeros((P, 1, 1))}
    tensors = {**params, **{f"adam.m.{k}": v * 0.1 for k, v in params.items()},
               **{f"adam.v.{k}": v**2 for k, v in params.items()},
               "buffer.actions": rng.integers(0, 4, size=500).astype(np.int8),
               "buffer.done": rng.random(500) < 0.1, "mask": np.ones(P, bool), "epoch": np.array(1200)}
    metadata = {"config": {"lr": 0.5, "hidden": [4], "loss": "mse", "population": P}, "seed": 0,
                "rng": rng_state(rng), "annrl_command": "annrl xor --population 64"}
    return checkpoint_bytes(tensors, metadata, step=1200)


# corruption kinds: each takes (bytes, rng) and returns different bytes ------------------------
def bit_flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def byte_overwrite(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def burst(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    length = rng.randint(2, 256)
    noise = bytes(rng.randrange(256) for _ in range(length))
    return data[:start] + noise[: len(data) - start] + data[start + length :]


def zeroed_block(data: bytes, rng: random.Random) -> bytes:
    # what a lost disk block or an unflushed page looks like
    start = rng.randrange(0, len(data), 512)
    return data[:start] + b"\0" * min(4096, len(data) - start) + data[start + 4096 :]


def truncation(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def insertion(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[at:]


def deletion(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randint(1, 16) :]


def appended(data: bytes, rng: random.Random) -> bytes:
    return data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


def length_prefix(data: bytes, rng: random.Random) -> bytes:
    length = int.from_bytes(data[:8], "little") + rng.choice([-9, -8, -1, 1, 7, 8, 64, 2**32, 2**63])
    return (length % 2**64).to_bytes(8, "little") + data[8:]


def header_edit(data: bytes, rng: random.Random) -> bytes:
    """Edit one field of the header JSON and fix the length prefix, so that it still parses."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    names = [k for k in header if k != "__metadata__"]
    name = rng.choice(names)
    edit = rng.choice(["shape", "dtype", "offsets", "rename", "drop", "swap", "meta", "version", "spaces"])
    if edit == "shape":
        header[name]["shape"] = header[name]["shape"][::-1] + [1] if rng.random() < 0.5 else [0]
    elif edit == "dtype":
        header[name]["dtype"] = rng.choice(["F32", "F64", "I64", "U8", "BOOL", "F16", "BF16", "C64"])
    elif edit == "offsets":
        begin, end = header[name]["data_offsets"]
        header[name]["data_offsets"] = [begin + rng.choice([-8, 8]), end + rng.choice([-8, 0, 8])]
    elif edit == "rename":
        header[name + "_x"] = header.pop(name)
    elif edit == "drop":
        del header[name]
    elif edit == "swap":
        other = rng.choice(names)
        header[name]["data_offsets"], header[other]["data_offsets"] = (
            header[other]["data_offsets"], header[name]["data_offsets"])
    elif edit == "meta":
        header["__metadata__"]["annrl"] = header["__metadata__"]["annrl"].replace('"seed":0', '"seed":1')
        header["__metadata__"]["format"] = "pt"
    elif edit == "version":
        header["__metadata__"]["annrl"] = header["__metadata__"]["annrl"].replace(
            '"format_version":1', '"format_version":2')
    raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if edit == "spaces" or rng.random() < 0.3:
        raw = json.dumps(header, indent=rng.choice([None, 1])).encode()  # same content, other bytes
    raw += b" " * rng.randrange(0, 16)
    return len(raw).to_bytes(8, "little") + raw + data[8 + length :]


KINDS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    f.__name__: f for f in (bit_flip, byte_overwrite, burst, zeroed_block, truncation, insertion, deletion,
                            appended, length_prefix, header_edit)
}


def corrupt(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    while True:
        kind = rng.choice(list(KINDS))
        out = KINDS[kind](data, rng)
        if out != data:  # an edit that changes nothing is not a corruption
            return kind, out


def run(n: int, seed: int) -> dict:
    data = sample_checkpoint()
    decode_checkpoint(data)  # the pristine bytes must load
    rng = random.Random(seed)
    detected, missed, crashed = Counter(), Counter(), Counter()
    examples: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.safetensors"
        for i in range(n):
            kind, bad = corrupt(data, rng)
            try:
                if i % 10 == 0:
                    path.write_bytes(bad)
                    load_checkpoint(path)
                else:
                    decode_checkpoint(bad, source="fuzzed.safetensors")
                missed[kind] += 1
            except CheckpointError:
                detected[kind] += 1
            except Exception as err:  # noqa: BLE001 - counting exactly what must never happen
                crashed[kind] += 1
                examples.append(f"{kind}: {type(err).__name__}: {err}")
    seconds = time.perf_counter() - start
    total = sum(detected.values()) + sum(missed.values()) + sum(crashed.values())
    return {
        "checkpoint_bytes": len(data), "corrupted": total, "detected": sum(detected.values()),
        "missed": sum(missed.values()), "other_exceptions": sum(crashed.values()),
        "detection_rate": sum(detected.values()) / total,
        "by_kind": {k: {"detected": detected[k], "missed": missed[k], "other": crashed[k]} for k in KINDS},
        "examples_of_failures": examples[:5], "seed": seed,
        "timing": {"seconds": round(seconds, 3), "microseconds_per_check": round(1e6 * seconds / total, 1)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of corrupted checkpoints")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corruptions")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    result = run(args.n, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for kind, counts in result["by_kind"].items():
            print(f"  {kind:15s} detected {counts['detected']:6d}  missed {counts['missed']}  other {counts['other']}")
        print(f"detected {result['detected']}/{result['corrupted']} = {result['detection_rate']:.2%} "
              f"({result['checkpoint_bytes']}-byte checkpoint, {result['timing']['microseconds_per_check']} us each)")
    return 0 if result["detected"] == result["corrupted"] else 1


if __name__ == "__main__":
    sys.exit(main())
