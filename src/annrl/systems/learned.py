"""A trained network as a vector field in the state's own units.

The network never sees raw states. With ``m`` and ``s`` the mean and standard deviation of each
state variable over the observations, it reads ``z = (x - m) / s``, and its output ``u`` is the
derivative of ``z`` in units of ``r``:

    f_theta(x) = s * r * net((x - m) / s)        i.e.   dz/dt = r * u

``r`` ``(d,)`` is the root-mean-square of the central-difference derivative of the standardised
observations, so that inputs and targets are of order one whatever the system's units and time
scale. The dynamics lab (``annrl dynamics``) learns such fields; :mod:`annrl.symbolic.law` reads
them back as equations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.calculus import CentralDifference
from annrl.nn import Network


@dataclass
class Standardiser:
    """The affine change of units between states and the network (see the module docstring).

    Attributes
    ----------
    mean, std : ndarray, shape (d,)
        ``m`` and ``s``: per state variable, over the observations.
    rate : ndarray, shape (d,)
        ``r``: RMS of the central-difference derivative of the standardised observations.
    """

    mean: np.ndarray
    std: np.ndarray
    rate: np.ndarray

    @classmethod
    def from_observations(cls, x: np.ndarray, t: np.ndarray) -> Standardiser:
        """From observed states ``x`` ``(n, d)`` at times ``t`` ``(n,)``."""
        mean, std = x.mean(axis=0), x.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        rate = np.sqrt(np.mean(CentralDifference()((x - mean) / std, t) ** 2, axis=0))
        return cls(mean, std, np.where(rate > 0, rate, 1.0))

    def to_z(self, x: np.ndarray) -> np.ndarray:
        """Standardised states ``(x - m) / s``, same shape as ``x`` ``(..., d)``."""
        return (x - self.mean) / self.std

    def to_u(self, dxdt: np.ndarray) -> np.ndarray:
        """Network targets ``dxdt / (s r)``, same shape as ``dxdt`` ``(..., d)``."""
        return dxdt / (self.std * self.rate)


@dataclass
class LearnedField:
    """``f_theta(x) = s r net((x - m) / s)``: a trained network as a vector field in the state's units.

    Call it on states of shape ``(d,)`` or ``(..., d)``; the result has the same shape. Only the
    first network of the population is used.
    """

    net: Network
    scaler: Standardiser

    def __call__(self, states: Any) -> np.ndarray:
        x = np.asarray(states, dtype=float)
        flat = x.reshape(-1, x.shape[-1])
        u = self.net.forward(self.scaler.to_z(flat))[0][0]
        return (u * (self.scaler.std * self.scaler.rate)).reshape(x.shape)
