"""Agents that learn from reward alone, every learned part a network of annrl's own engine.

``ALGORITHMS`` maps a name to its module; each module has a ``Config`` dataclass (every field a
``--flag`` of ``annrl rl train``) and ``train(config, rng, **run) -> Result``. Later agents add
themselves with :func:`register_algorithm`.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from annrl.agents.policy_file import load_policy
from annrl.agents.run import Result
from annrl.agents.settings import linear_schedule, make_rng

#: name -> module path; modules are imported on first use
ALGORITHMS: dict[str, str] = {
    "dqn": "annrl.agents.dqn",
    "ppo": "annrl.agents.ppo",
    "ga": "annrl.agents.ga",
    "es": "annrl.agents.es",
    # learning rules that live inside the network
    "udrl": "annrl.agents.udrl",
    "hebbian": "annrl.agents.hebbian",
    "rl2": "annrl.agents.rl2",
}


def register_algorithm(name: str, module: str) -> None:
    """Make ``annrl rl train --algo NAME`` use ``module`` (with ``Config`` and ``train``)."""
    ALGORITHMS[name] = module


def get_algorithm(name: str) -> ModuleType:
    """The module of algorithm ``name``."""
    if name not in ALGORITHMS:
        from annrl.errors import InputError

        raise InputError(f"--algo must be one of {sorted(ALGORITHMS)}, got {name!r}", field="--algo")
    return import_module(ALGORITHMS[name])


__all__ = ["ALGORITHMS", "Result", "get_algorithm", "linear_schedule", "load_policy", "make_rng",
           "register_algorithm"]
