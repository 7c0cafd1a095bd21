"""Dynamical systems simulated with SciPy: the user's own (:meth:`System.from_equations`), and
three built in: Lotka-Volterra, a damped pendulum, Van der Pol.

Every system is a :class:`DynamicalSystem` (see ``base.py``): named parameters, a vector field
written once for NumPy and SymPy, a vectorised ``rhs(t, state)``, ``simulate(...) ->
Trajectory`` and equations that print as a person writes them.
"""

from .base import DynamicalSystem, integrate, sample_grid
from .equations import EquationSystem
from .lotka_volterra import LotkaVolterra, lotka_volterra_benchmark
from .pendulum import DampedPendulum
from .trajectory import Trajectory
from .van_der_pol import VanDerPol

#: every system, built in or typed, is a DynamicalSystem; ``System.from_equations(...)`` reads the user's
System = DynamicalSystem

__all__ = [
    "DampedPendulum",
    "DynamicalSystem",
    "EquationSystem",
    "LotkaVolterra",
    "System",
    "Trajectory",
    "VanDerPol",
    "integrate",
    "lotka_volterra_benchmark",
    "sample_grid",
]
