"""Continual backprop as an option of the gradient agents (DQN and PPO): its settings and helpers, once.

The algorithm itself is :mod:`annrl.nn.continual_backprop`; this module adds the flags
(``--continual-backprop``, ``--cbp-*``), their checks, and the report that goes into ``metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.config import setting
from annrl.nn import MLP
from annrl.nn.continual_backprop import ContinualBackprop, dead_fraction, hidden_activations
from annrl.validate import NON_NEGATIVE_INT, UNIT


@dataclass
class ContinualBackpropSettings:
    """The continual-backprop fields of an agent's ``Config`` (a base class of it)."""

    continual_backprop: bool = setting(False, "re-initialise low-utility hidden units after every gradient step "
                                              "(continual backprop, Dohare et al. 2024).")
    cbp_replacement_rate: float = setting(1e-4, "continual backprop: share of mature hidden units replaced a step.")
    cbp_maturity: int = setting(100, "continual backprop: gradient steps a fresh unit is protected from replacement.")
    cbp_decay: float = setting(0.99, "continual backprop: decay of the running utility of each unit.")


#: the rules of those fields, for the agent's config table
TABLE = {"cbp_replacement_rate": UNIT, "cbp_maturity": NON_NEGATIVE_INT, "cbp_decay": UNIT}


def continual_backprop(net: MLP, config: ContinualBackpropSettings) -> ContinualBackprop | None:
    """The network's continual backprop, when ``config.continual_backprop`` asks for it."""
    if not config.continual_backprop:
        return None
    return ContinualBackprop(net, replacement_rate=config.cbp_replacement_rate, decay_rate=config.cbp_decay,
                             maturity_threshold=config.cbp_maturity)


def hidden_unit_report(net: MLP, obs: np.ndarray, cbp: ContinualBackprop | None) -> dict[str, Any]:
    """Units replaced so far and the fraction of hidden units that no longer vary on ``obs`` ``(N, d)``."""
    dead = dead_fraction(hidden_activations(net, obs), tol=1e-6) if len(obs) > 1 else None
    return {"enabled": cbp is not None, "replaced_units": 0 if cbp is None else cbp.replaced_, "dead_fraction": dead}
