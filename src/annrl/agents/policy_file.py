"""Saved policies: the network of a trained agent with what it takes to act (``agent.safetensors``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annrl.agents.envs import EnvShape, to_actions
from annrl.errors import InputError

AGENT_FILE = "agent.safetensors"


def save_policy(path: str | Path, net: Any, *, algo: str, env_id: str, shape: EnvShape, mode: str,
                track: str = "s_bends", continuous: bool = False, extra: dict[str, Any] | None = None) -> Path:
    """Write the policy network of one agent (population of 1) with what it takes to act."""
    from annrl.io.network_file import save_network

    meta = {"algo": algo, "env": env_id, "track": track, "continuous": continuous, "action_mode": mode,
            "env_shape": {"obs_dim": shape.obs_dim, "discrete": shape.discrete, "n_outputs": shape.n_outputs,
                          "low": list(shape.low), "high": list(shape.high), "threshold": shape.threshold},
            **(extra or {})}
    return save_network(path, net, meta)


@dataclass
class Policy:
    """A saved agent: ``policy(obs (n, d)) -> actions``, with its metadata."""

    net: Any
    shape: EnvShape
    mode: str
    metadata: dict[str, Any]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return to_actions(self.net.predict(np.asarray(obs, dtype=np.float64))[0], self.shape, self.mode)


def load_policy(path: str | Path) -> Policy:
    """The agent saved by :func:`save_policy` at ``path`` (a run folder means its ``agent.safetensors``)."""
    from annrl.io.network_file import load_network

    path = Path(path)
    if path.is_dir():
        path = path / AGENT_FILE
    if not path.exists():
        raise InputError(f"no agent file at {path}")
    net, meta = load_network(path)
    if "action_mode" not in meta:
        raise InputError(f"{path} is a network file but not an annrl agent (no action_mode)")
    s = meta["env_shape"]
    shape = EnvShape(s["obs_dim"], s["discrete"], s["n_outputs"], tuple(s["low"]), tuple(s["high"]), s["threshold"])
    return Policy(net, shape, meta["action_mode"], meta)
