"""Checkpoints: exact round trips, atomic writes, and one named CheckpointError per fault."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from annrl.errors import CheckpointError, InputError
from annrl.io import checkpoint as checkpoint_module
from annrl.io import (
    checkpoint_bytes,
    load_checkpoint,
    read_checkpoint,
    rng_from_state,
    rng_state,
    save_checkpoint,
)
from annrl.io.atomic import atomic_write

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool"]
SHAPES = [(), (0,), (3,), (2, 0, 4), (2, 3, 4)]


def sample(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("float"):
        return rng.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"0.weight": rng.normal(size=(4, 2, 3)), "0.bias": np.zeros((4, 1, 3)),
            "step_count": np.array(12, dtype=np.int64)}


def rewrite_envelope(data: bytes, edit) -> bytes:
    """A checkpoint whose metadata ``edit`` changed, with valid checksums (a forged file)."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    envelope = json.loads(header["__metadata__"]["annrl"])
    edit(envelope, header)
    text = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
    header["__metadata__"] = {"annrl": text, "annrl_sha256": checkpoint_module._sha256_text(text)}
    raw = checkpoint_module._header_bytes(header)
    return len(raw).to_bytes(8, "little") + raw + data[8 + length :]


# round trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_round_trip_keeps_values_dtype_and_shape(tmp_path, dtype, shape):
    tensors = {"a": sample(dtype, shape), "b": sample(dtype, shape, seed=1)}
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "c.safetensors", tensors))
    for name, array in tensors.items():
        assert loaded[name].dtype == array.dtype
        assert loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)


def test_mixed_dtypes_nan_inf_and_non_native_layouts_round_trip(tmp_path):
    floats = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-310, 1.5])
    big_endian = np.arange(6, dtype=">i4").reshape(2, 3)
    strided = np.arange(20.0).reshape(4, 5)[:, ::2]  # not contiguous
    tensors = {"floats": floats, "big_endian": big_endian, "strided": strided, "flag": np.array(True),
               "bytes": np.arange(3, dtype=np.uint8), "half": np.ones(5, np.float16)}
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "c.safetensors", tensors))
    assert floats.tobytes() == loaded["floats"].tobytes()  # bit for bit, NaN payload and -0.0 included
    np.testing.assert_array_equal(loaded["big_endian"], big_endian)
    np.testing.assert_array_equal(loaded["strided"], strided)
    assert loaded["flag"].shape == () and loaded["flag"]
    assert all(a.flags.writeable for a in loaded.values())


def test_metadata_and_step_round_trip(tmp_path):
    metadata = {
        "config": {"lr": 0.1, "hidden": [4, 4], "loss": "mse", "nested": {"none": None, "flag": True}},
        "seed": 2**70,  # larger than any float: JSON integers are exact in Python
        "text": "é ∑ \u2028 \"quoted\"\n",
        "nan": math.nan,
        "numpy": {"scalar": np.float32(0.5), "int": np.int64(3), "array": np.arange(3)},
    }
    checkpoint = read_checkpoint(save_checkpoint(tmp_path / "c.safetensors", params(), metadata, step=42))
    assert checkpoint.step == 42
    assert checkpoint.annrl_version
    got = checkpoint.metadata
    assert got["config"] == metadata["config"] and got["seed"] == 2**70 and got["text"] == metadata["text"]
    assert math.isnan(got["nan"])
    assert got["numpy"] == {"scalar": 0.5, "int": 3, "array": [0, 1, 2]}


def test_rng_state_resumes_the_exact_stream_for_every_bit_generator():
    for name in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
        rng = np.random.Generator(getattr(np.random, name)(7))
        rng.normal(size=13)  # mid-stream, with a cached Gaussian or half-used word where it applies
        state = json.loads(json.dumps(rng_state(rng)))  # through JSON, as in a checkpoint
        twin = rng_from_state(state)
        np.testing.assert_array_equal(rng.random(50), twin.random(50))
        assert rng.integers(0, 2**63, size=5).tolist() == twin.integers(0, 2**63, size=5).tolist()


def test_rng_state_in_a_checkpoint_resumes_the_stream(tmp_path):
    rng = np.random.default_rng(3)
    rng.random(5)
    path = save_checkpoint(tmp_path / "c.safetensors", {}, {"rng": rng_state(rng)})
    _, metadata = load_checkpoint(path)
    assert rng_from_state(metadata["rng"]).random() == rng.random()


@pytest.mark.parametrize("state", [None, {}, {"bit_generator": "os.system"},
                                   {"bit_generator": "PCG64", "state": {"state": "x"}},
                                   {"bit_generator": "MT19937", "state": {"key": [1, 2], "pos": 0}}])
def test_malformed_rng_state_is_an_input_error(state):
    with pytest.raises(InputError, match="rng state"):
        rng_from_state(state)


def test_our_files_are_standard_safetensors(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    tensors = {**params(), "flag": np.array([True, False]), "half": np.ones((2, 2), np.float16)}
    path = save_checkpoint(tmp_path / "c.safetensors", tensors, {"seed": 1})
    loaded = safetensors_numpy.load_file(str(path))
    assert set(loaded) == set(tensors)
    for name, array in tensors.items():
        np.testing.assert_array_equal(loaded[name], array)
    assert (8 + int.from_bytes(path.read_bytes()[:8], "little")) % 8 == 0  # data 8-byte aligned


# atomic writes -------------------------------------------------------------------------------
def temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_write_that_fails_midway_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", params(), {"version": "old"})
    old = path.read_bytes()

    def chunks():
        yield b"partial new content"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(path, chunks())
    assert path.read_bytes() == old
    assert temp_files(tmp_path) == []


def test_a_full_disk_is_a_checkpoint_error_and_the_old_file_survives(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.safetensors", params(), {"version": "old"})

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(CheckpointError, match="No space left on device") as caught:
        save_checkpoint(path, {"x": np.zeros(3)}, {"version": "new"})
    assert str(path) in str(caught.value)
    monkeypatch.undo()
    assert load_checkpoint(path)[1] == {"version": "old"}
    assert temp_files(tmp_path) == []


def test_an_interrupt_during_the_write_leaves_no_temp(tmp_path):
    def chunks():
        yield b"abc"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "c.safetensors", chunks())
    assert list(tmp_path.iterdir()) == []


# every fault named ---------------------------------------------------------------------------
def test_each_fault_raises_a_checkpoint_error_naming_file_and_fault(tmp_path):
    good = checkpoint_bytes(params(), {"seed": 0}, step=1)
    n = len(good)
    cases = {
        "truncated.safetensors": (good[: n - 10], "truncated"),
        "short.safetensors": (good[:5], "too short"),
        "header-cut.safetensors": (good[:100], "runs past the end"),
        "bitflip.safetensors": (good[:-3] + bytes([good[-3] ^ 0x04]) + good[-2:], "data checksum mismatch"),
        "extended.safetensors": (good + b"\0" * 8, "longer than it should be"),
        "text.safetensors": (b"hello, this is not a checkpoint at all\n", "not a checkpoint"),
        "empty.safetensors": (b"", "too short"),
        "v2.safetensors": (rewrite_envelope(good, lambda e, h: e.update(format_version=2)),
                           "format version 2 is not supported"),
        "foreign.safetensors": (rewrite_envelope(good, lambda e, h: e.update(format="other")),
                                "does not describe an annrl checkpoint"),
    }
    for name, (content, fault) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: "), message
        assert fault in message, message
        assert "\n" not in message


def test_a_forged_header_that_disagrees_with_its_data_is_refused(tmp_path):
    good = checkpoint_bytes({"w": np.zeros((2, 3))}, step=1)

    def reshape(envelope, header):
        envelope["tensors"]["w"]["shape"] = [3, 3]
        header["w"]["shape"] = [3, 3]

    def drop(envelope, header):
        del envelope["tensors"]["w"]
        del header["w"]

    path = tmp_path / "c.safetensors"
    path.write_bytes(rewrite_envelope(good, reshape))
    with pytest.raises(CheckpointError, match="48 bytes of data, but shape"):
        load_checkpoint(path)
    path.write_bytes(rewrite_envelope(good, drop))
    with pytest.raises(CheckpointError, match="the tensor data is 48 bytes but the header describes 0"):
        load_checkpoint(path)


def test_files_that_are_not_annrl_checkpoints(tmp_path):
    npz = tmp_path / "weights.npz"
    np.savez(npz, w=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_checkpoint(npz)
    with pytest.raises(CheckpointError, match="No such file"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path)  # a folder
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    plain = tmp_path / "plain.safetensors"
    safetensors_numpy.save_file({"w": np.zeros(3)}, str(plain))
    with pytest.raises(CheckpointError, match="no annrl metadata in the header: not an annrl checkpoint"):
        load_checkpoint(plain)


def test_expect_names_missing_unexpected_wrong_shape_and_dtype(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", params())
    good = {"0.weight": ((4, 2, 3), "float64"), "0.bias": ((None, 1, 3), None), "step_count": (None, np.int64)}
    assert set(load_checkpoint(path, expect=good)[0]) == set(good)
    faults = {
        "missing tensor '1.weight'": {**good, "1.weight": ((3, 1), "float64")},
        "unexpected tensor 'step_count'": {k: v for k, v in good.items() if k != "step_count"},
        "tensor '0.weight' has shape (4, 2, 3), expected (4, 3, 2)": {**good, "0.weight": ((4, 3, 2), None)},
        "tensor '0.bias' has dtype float64, expected float32": {**good, "0.bias": (None, "float32")},
    }
    for fault, expect in faults.items():
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(path, expect=expect)
        assert str(caught.value).startswith(str(path)) and fault in str(caught.value)


@pytest.mark.parametrize(
    ("tensors", "metadata", "message"),
    [
        ({"x": np.array(["a", "b"])}, None, "tensor 'x' must have a dtype among"),
        ({"x": np.array([1 + 2j])}, None, "got complex128"),
        ({"x": np.array([object()])}, None, "got object"),
        ({"": np.zeros(1)}, None, "tensor names must be"),
        ({"__metadata__": np.zeros(1)}, None, "tensor names must be"),
        ([np.zeros(1)], None, "tensors must be a mapping"),
        ({"x": np.zeros(1)}, {"f": object()}, "JSON-serialisable"),
        ({"x": np.zeros(1)}, {1: "a", "b": 2}, "JSON-serialisable"),
    ],
)
def test_bad_arguments_to_save_are_input_errors(tmp_path, tensors, metadata, message):
    with pytest.raises(InputError, match=message):
        save_checkpoint(tmp_path / "c.safetensors", tensors, metadata)
    assert list(tmp_path.iterdir()) == []
