"""Agents that learn from reward alone, every learned part a network of annrl's own engine.

``ALGORITHMS`` maps a name to its module; each module has a ``Config`` dataclass (every field a
``--flag`` of ``annrl rl train``) and ``train(config, rng, **options) -> Result``, ``options`` being
those of :class:`annrl.agents.run.Run` (``out``, ``resume``, ``checkpoint_every``, ``stop``,
``progress``, ``on_eval``; GA and ES add ``ray``). Later agents add themselves with
:func:`register_algorithm`.

Where things are:

- one file per algorithm (``dqn``, ``ppo``, ``ga``, ``es``, ``udrl``, ``hebbian``, ``rl2``), read
  top to bottom as the algorithm; ``neuroevolution``: the ask/score/tell loop of GA, ES and Hebbian;
- ``run``: the plumbing every ``train`` shares (checkpoints, learning curve, progress bar, timing)
  and :class:`Result`;
- ``settings``: ``setting(default, help)``, :class:`BaseConfig` and its table, ``make_rng``;
- ``envs``: making environments, :class:`EnvShape`, actions from outputs, the on-line learners' pool;
- ``evaluation``: playing episodes, the learning curve, ``metrics.json``;
- ``policy_file``: saving and loading a trained policy (``agent.safetensors``);
- ``cli``: ``annrl rl``; ``grip``, ``cbp``, ``tasks``, ``ray_shards``, ``grow_actions``: options
  and experiments built on the above.
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
