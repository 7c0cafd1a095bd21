"""Numerical and symbolic differentiation.

Numerical: every method is a small callable ``method(x, t) -> dxdt`` (see ``base.py``), one
file each: finite differences on any grid, Savitzky-Golay, smoothing spline, total variation.
``accuracy.py`` measures them against an exact derivative. Symbolic: gradients, Jacobians,
Hessians and the chain rule in time with SymPy, turned into NumPy functions (``symbolic.py``).
"""

from .accuracy import AccuracyTable, accuracy_table, analytic_signal, default_methods, plot_accuracy
from .base import Differentiator
from .finite_difference import (
    BackwardDifference,
    CentralDifference,
    FiniteDifference,
    FivePointStencil,
    ForwardDifference,
)
from .savgol import SavitzkyGolay
from .spline import SmoothingSpline
from .symbolic import gradient, hessian, jacobian, rate_symbol, time_derivative, to_numpy
from .total_variation import TotalVariation

#: every derivative estimator, by the name ``--method`` gives it
METHODS: dict[str, type[Differentiator]] = {
    "forward": ForwardDifference,
    "backward": BackwardDifference,
    "central": CentralDifference,
    "five-point": FivePointStencil,
    "savgol": SavitzkyGolay,
    "spline": SmoothingSpline,
    "tv": TotalVariation,
}

__all__ = [
    "METHODS",
    "AccuracyTable",
    "BackwardDifference",
    "CentralDifference",
    "Differentiator",
    "FiniteDifference",
    "FivePointStencil",
    "ForwardDifference",
    "SavitzkyGolay",
    "SmoothingSpline",
    "TotalVariation",
    "accuracy_table",
    "analytic_signal",
    "default_methods",
    "gradient",
    "hessian",
    "jacobian",
    "plot_accuracy",
    "rate_symbol",
    "time_derivative",
    "to_numpy",
]
