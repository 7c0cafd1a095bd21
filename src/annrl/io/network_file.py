"""Trained networks on disk: the parameters as a checkpoint, the architecture as JSON in it.

``save_network(path, net)`` writes one safetensors-layout file (atomically, checksummed, never
pickled) holding every named parameter ``(P, ...)`` and ``net.spec()``; ``load_network(path)``
rebuilds the network from that spec and checks every tensor's shape and dtype against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from annrl.backend import to_numpy
from annrl.errors import CheckpointError
from annrl.io.checkpoint import read_checkpoint, save_checkpoint
from annrl.nn.model import Network


def save_network(path: str | Path, net: Network, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``net``'s parameters and architecture (plus JSON ``metadata``) to ``path``."""
    tensors = {name: np.array(to_numpy(value)) for name, value in net.params_.items()}
    return save_checkpoint(path, tensors, {"network": net.spec(), **(metadata or {})})


def load_network(path: str | Path) -> tuple[Network, dict[str, Any]]:
    """The network saved at ``path`` and the file's metadata; ``CheckpointError`` if anything is off."""
    checkpoint = read_checkpoint(path)
    spec = checkpoint.metadata.get("network")
    if not isinstance(spec, dict):
        raise CheckpointError(path, "not a network file: no 'network' architecture in its metadata")
    try:
        net = Network.from_spec(spec)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(path, f"invalid network architecture: {err}") from err
    expected = {name: (tuple(v.shape), str(v.dtype)) for name, v in net.params_.items()}
    found = {name: (tuple(v.shape), str(v.dtype)) for name, v in checkpoint.tensors.items()}
    if expected != found:
        missing = sorted(set(expected) - set(found)) or sorted(k for k in expected if expected[k] != found.get(k))
        raise CheckpointError(path, f"tensors do not match the architecture (first mismatch: {missing[:3]})")
    for name, value in checkpoint.tensors.items():
        net.params_[name][...] = value
    return net, checkpoint.metadata
