"""A sampled trajectory: times, observed (noisy) states, clean states and the true derivative."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annrl.errors import InputError


@dataclass(frozen=True, eq=False)
class Trajectory:
    """States of a dynamical system sampled at increasing times.

    Parameters
    ----------
    t : ndarray, shape (n,)
        Sample times, strictly increasing.
    x : ndarray, shape (n, d)
        Observed states: ``x_clean`` plus measurement noise (equal to it when ``noise == 0``).
    x_clean : ndarray, shape (n, d)
        States of the integrated system, before noise.
    dxdt_clean : ndarray, shape (n, d)
        The system's vector field at the clean states: the exact derivative, to score
        derivative estimates against.
    names : tuple of str
        One name per state variable, e.g. ``("x", "y")``.
    noise : float, default=0.0
        Noise level: the standard deviation of the added Gaussian noise, as a fraction of each
        state's standard deviation over the trajectory.
    system : str, default=""
        How the system prints itself, e.g. ``"LotkaVolterra(alpha=1.1, ...)"``.
    """

    t: np.ndarray
    x: np.ndarray
    x_clean: np.ndarray
    dxdt_clean: np.ndarray
    names: tuple[str, ...]
    noise: float = 0.0
    system: str = ""

    def __post_init__(self):
        n, d = len(self.t), len(self.names)
        for field in ("x", "x_clean", "dxdt_clean"):
            shape = np.shape(getattr(self, field))
            if shape != (n, d):
                raise InputError(f"{field} must have shape (n, d) = ({n}, {d}), got {shape}")

    @property
    def dim(self) -> int:
        """Number of state variables d."""
        return len(self.names)

    def __len__(self) -> int:
        return len(self.t)

    def differentiate(self, method) -> np.ndarray:
        """Estimate dx/dt from the observed states, shape ``(n, d)``.

        Parameters
        ----------
        method : annrl.calculus.Differentiator
            Any callable ``method(x, t) -> dxdt``, e.g. ``SmoothingSpline()``.
        """
        return method(self.x, self.t)

    def __repr__(self) -> str:
        dt = (self.t[-1] - self.t[0]) / max(len(self.t) - 1, 1)
        return (f"Trajectory({self.system or 'unnamed system'}, n={len(self)}, "
                f"t=[{self.t[0]:g}, {self.t[-1]:g}], dt~{dt:g}, names={self.names}, noise={self.noise:g})")
