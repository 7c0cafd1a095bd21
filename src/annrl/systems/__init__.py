"""Dynamical systems simulated with SciPy: Lotka-Volterra, a damped pendulum, Van der Pol.

Every system is a :class:`DynamicalSystem` (see ``base.py``): named parameters, a vector field
written once for NumPy and SymPy, a vectorised ``rhs(t, state)``, ``simulate(...) ->
Trajectory`` and equations that print as a person writes them.
"""

from .base import DynamicalSystem, integrate, sample_grid
from .lotka_volterra import LotkaVolterra, lotka_volterra_benchmark
from .pendulum import DampedPendulum
from .trajectory import Trajectory
from .van_der_pol import VanDerPol

__all__ = [
    "DampedPendulum",
    "DynamicalSystem",
    "LotkaVolterra",
    "Trajectory",
    "VanDerPol",
    "integrate",
    "lotka_volterra_benchmark",
    "sample_grid",
]
