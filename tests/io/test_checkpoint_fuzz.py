"""Hypothesis: every corruption of a checkpoint is a CheckpointError, and nothing else ever is."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annrl.errors import CheckpointError
from annrl.io import checkpoint_bytes, decode_checkpoint, load_checkpoint

TENSORS = {
    "0.weight": np.linspace(-1, 1, 24).reshape(2, 3, 4),
    "0.bias": np.zeros((2, 1, 4), np.float32),
    "mask": np.array([True, False]),
    "count": np.array(7, np.int64),
    "empty": np.zeros((0, 3), np.uint8),
}
METADATA = {"config": {"lr": 0.1, "hidden": [3]}, "seed": 0, "rng": {"bit_generator": "PCG64"}}
GOOD = checkpoint_bytes(TENSORS, METADATA, step=5)
HEADER_END = 8 + int.from_bytes(GOOD[:8], "little")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_detected(data: bytes) -> None:
    if data == GOOD:
        return  # not a corruption
    try:
        decode_checkpoint(data, source="fuzzed.safetensors")
    except CheckpointError as err:
        assert str(err).startswith("fuzzed.safetensors: ")
        assert "\n" not in str(err)
    else:
        raise AssertionError("a corrupted checkpoint was accepted")


def test_the_pristine_bytes_decode():
    checkpoint = decode_checkpoint(GOOD)
    assert checkpoint.step == 5 and checkpoint.metadata == METADATA
    np.testing.assert_array_equal(checkpoint.tensors["0.weight"], TENSORS["0.weight"])


@FUZZ
@given(st.data())
def test_bit_flips_anywhere_are_detected(data):
    position = data.draw(st.integers(0, len(GOOD) - 1))
    mask = data.draw(st.integers(1, 255))
    corrupted = bytearray(GOOD)
    corrupted[position] ^= mask
    assert_detected(bytes(corrupted))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_overwritten_bytes_are_detected(writes):
    corrupted = bytearray(GOOD)
    for position, value in writes:
        corrupted[position] = value
    assert_detected(bytes(corrupted))


@FUZZ
@given(st.integers(0, len(GOOD) - 1))
def test_truncations_are_detected(length):
    assert_detected(GOOD[:length])


@FUZZ
@given(st.integers(0, len(GOOD)), st.binary(min_size=1, max_size=64))
def test_insertions_and_appended_bytes_are_detected(position, extra):
    assert_detected(GOOD[:position] + extra + GOOD[position:])


@FUZZ
@given(st.integers(0, len(GOOD) - 1), st.integers(1, 64))
def test_deleted_ranges_are_detected(position, count):
    assert_detected(GOOD[:position] + GOOD[position + count :])


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_are_refused(blob):
    assert_detected(blob)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@FUZZ
@given(st.sampled_from(sorted(TENSORS) + ["__metadata__"]), st.text(max_size=12), JSON_VALUES)
def test_edited_headers_with_a_consistent_length_are_detected(entry, key, value):
    header = json.loads(GOOD[8:HEADER_END])
    header[entry][key] = value
    raw = json.dumps(header).encode("utf-8")
    assert_detected(len(raw).to_bytes(8, "little") + raw + GOOD[HEADER_END:])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, len(GOOD) - 1), st.integers(1, 255))
def test_corrupted_files_on_disk_are_detected(tmp_path_factory, position, mask):
    path = tmp_path_factory.mktemp("fuzz") / "c.safetensors"
    corrupted = bytearray(GOOD)
    corrupted[position] ^= mask
    path.write_bytes(bytes(corrupted))
    try:
        load_checkpoint(path)
    except CheckpointError as err:
        assert str(err).startswith(str(path))
    else:
        raise AssertionError("a corrupted checkpoint file was accepted")
