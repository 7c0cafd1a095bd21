"""Trained networks saved with their architecture and loaded back exactly."""

import numpy as np
import pytest

from annrl.errors import CheckpointError
from annrl.io import save_checkpoint
from annrl.io.network_file import load_network, save_network
from annrl.nn import GRU, MLP, Dense, Network, TakeLast


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLP([2, 3, 1], hidden="leaky_relu", output="sigmoid", population=4, seed=1),
        lambda: MLP([3, 2], population=70, seed=2, dtype="float32"),
        lambda: Network([GRU(2, 4), TakeLast(), Dense(4, 1)], population=3, seed=3),
    ],
)
def test_networks_round_trip_with_their_architecture(tmp_path, make):
    net = make()
    save_network(tmp_path / "net.safetensors", net, {"lab": "test"})
    loaded, metadata = load_network(tmp_path / "net.safetensors")
    assert metadata["lab"] == "test" and repr(loaded).split("\n")[1:] == repr(net).split("\n")[1:]
    np.testing.assert_array_equal(loaded.flat_, net.flat_)
    x = np.random.default_rng(0).normal(size=(5, 7, 2) if isinstance(net.layers[0], GRU) else (5, net.n_inputs))
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))


def test_a_checkpoint_that_is_not_a_network_is_refused(tmp_path):
    save_checkpoint(tmp_path / "x.safetensors", {"w": np.zeros(3)}, {"step": 1})
    with pytest.raises(CheckpointError, match="not a network file"):
        load_network(tmp_path / "x.safetensors")


def test_tensors_that_do_not_fit_the_architecture_are_refused(tmp_path):
    net = MLP([2, 3, 1], seed=0)
    other = MLP([2, 4, 1], seed=0)
    tensors = {name: np.asarray(v) for name, v in other.params_.items()}
    save_checkpoint(tmp_path / "bad.safetensors", tensors, {"network": net.spec()})
    with pytest.raises(CheckpointError, match="do not match the architecture"):
        load_network(tmp_path / "bad.safetensors")
