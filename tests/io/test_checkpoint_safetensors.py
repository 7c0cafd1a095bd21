"""A checkpoint re-saved by the ``safetensors`` library (keys in its own order) is still read."""

import numpy as np
import pytest

from annrl.errors import CheckpointError
from annrl.io.checkpoint import load_checkpoint, save_checkpoint

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def test_a_checkpoint_resaved_by_the_safetensors_library_loads_back(tmp_path):
    from safetensors import safe_open

    rng = np.random.default_rng(0)
    tensors = {"0.weight": rng.normal(size=(3, 2, 4)), "0.bias": rng.normal(size=(3, 1, 4)),
               "1.weight": rng.normal(size=(3, 4, 1)), "1.bias": rng.normal(size=(3, 1, 1))}
    ours = save_checkpoint(tmp_path / "ours.safetensors", tensors, {"config": {"lr": 0.1, "hidden": [4]}}, step=7)
    with safe_open(str(ours), "np") as handle:
        metadata = handle.metadata()
    theirs = tmp_path / "theirs.safetensors"
    safetensors_numpy.save_file(safetensors_numpy.load_file(str(ours)), str(theirs), metadata=metadata)
    # the library writes the same tensors, in its own header order: not annrl's bytes
    assert theirs.read_bytes() != ours.read_bytes()
    loaded, meta = load_checkpoint(theirs)
    assert meta == {"config": {"lr": 0.1, "hidden": [4]}}
    assert set(loaded) == set(tensors)
    for name, value in tensors.items():
        np.testing.assert_array_equal(loaded[name], value)


def test_a_space_slipped_into_the_header_is_still_caught(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", {"w": np.ones((1, 2))}, {})
    raw = bytearray(path.read_bytes())
    length = int.from_bytes(raw[:8], "little")
    header = raw[8:8 + length].rstrip(b" ")
    spaced = header.replace(b'":', b'": ', 1)[:length].ljust(length, b" ")  # same meaning, one more space
    assert len(spaced) == length and spaced != raw[8:8 + length]
    path.write_bytes(bytes(raw[:8]) + bytes(spaced) + bytes(raw[8 + length:]))
    with pytest.raises(CheckpointError, match="not compact JSON"):
        load_checkpoint(path)
