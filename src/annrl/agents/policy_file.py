"""Saved policies: the network of a trained agent with what it takes to act (``agent.safetensors``)."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annrl.agents.envs import EnvShape, saved_sensors, to_actions
from annrl.errors import InputError

AGENT_FILE = "agent.safetensors"
#: The general driver shipped with annrl (``--policy pretrained``): how it was trained is in its metadata.
PRETRAINED_DRIVER = Path(__file__).resolve().parents[1] / "data" / "pretrained_driver.safetensors"


def launching_command() -> str | None:
    """The ``annrl ...`` command line of this process, or None when annrl's CLI did not start it."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if program not in ("annrl", "cli.py", "__main__.py"):
        return None
    return shlex.join(["annrl", *sys.argv[1:]])


def save_policy(path: str | Path, net: Any, *, algo: str, env_id: str, shape: EnvShape, mode: str,
                track: str = "s_bends", continuous: bool = False, extra: dict[str, Any] | None = None) -> Path:
    """Write the policy network of one agent (population of 1) with what it takes to act, annrl's
    version and the command that trained it (so that anyone can train it again)."""
    from annrl import __version__
    from annrl.io.network_file import save_network

    meta = {"annrl_version": __version__, "command": launching_command(),
            "algo": algo, "env": env_id, "track": track, "continuous": continuous, "action_mode": mode,
            "env_shape": {"obs_dim": shape.obs_dim, "discrete": shape.discrete, "n_outputs": shape.n_outputs,
                          "low": list(shape.low), "high": list(shape.high), "threshold": shape.threshold,
                          "sensors": shape.sensors},
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
    """The agent saved by :func:`save_policy` at ``path`` (a run folder means its ``agent.safetensors``;
    ``"pretrained"`` the general driver shipped with annrl)."""
    from annrl.io.network_file import load_network

    path = PRETRAINED_DRIVER if str(path) == "pretrained" else Path(path)
    if path.is_dir():
        path = path / AGENT_FILE
    if not path.exists():
        raise InputError(f"no agent file at {path}")
    from annrl.io.checkpoint import read_checkpoint

    saved = read_checkpoint(path)
    if saved.metadata.get("algo") == "hebbian" and "rules" in saved.tensors:  # rules, not a static network
        from annrl.agents.hebbian import load_rules

        return load_rules(saved.tensors, saved.metadata)
    net, meta = load_network(path)
    if "action_mode" not in meta:
        raise InputError(f"{path} is a network file but not an annrl agent (no action_mode)")
    s = meta["env_shape"]
    shape = EnvShape(s["obs_dim"], s["discrete"], s["n_outputs"], tuple(s["low"]), tuple(s["high"]), s["threshold"],
                     saved_sensors(meta["env"], s.get("sensors")))
    return Policy(net, shape, meta["action_mode"], meta)
