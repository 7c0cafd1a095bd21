"""Fitted constants rounded to the simplest value the data allow: 0, integers, fractions, multiples of pi.

A model ``sum_k c_k term_k`` is refitted after each rounding: the constants are taken smallest
first, each is replaced by the first value of :func:`simple_values` that keeps the held-out error
within ``allowed``, and the constants not yet fixed are refitted by least squares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from annrl.symbolic.search.base import lstsq, rmse

_ROOT_2PI = sympy.sqrt(2 * sympy.pi)


def simple_values(c: float) -> list[Any]:
    """Exact numbers near ``c`` (within 5%), simplest first; the last ones are ``c`` to 2 and 4 digits."""
    values: list[Any] = [sympy.Integer(0), sympy.Integer(round(c))]
    for q in (2, 3, 4, 5, 6, 8, 10, 12):
        values.append(sympy.Rational(round(c * q), q))
    for factor in (sympy.pi, 1 / sympy.pi, _ROOT_2PI, 1 / _ROOT_2PI):
        for q in (1, 2, 3, 4, 8):
            p = round(c / float(factor) * q)
            if p:
                values.append(sympy.Rational(p, q) * factor)
    values += [sympy.Float(f"{c:.2g}"), sympy.Float(f"{c:.4g}")]
    out: list[Any] = []
    for v in values:
        if (v == 0 or abs(float(v) - c) <= 0.05 * abs(c)) and v not in out:
            out.append(v)
    return out


def round_constants(A: np.ndarray, y: np.ndarray, A_test: np.ndarray, y_test: np.ndarray, coef: np.ndarray,
                    allowed: float) -> tuple[list[Any], list[dict[str, float]]]:
    """Each coefficient of columns ``A`` rounded (see the module docstring): exact values and what changed.

    Parameters
    ----------
    A : ndarray of shape (N, K)
        The terms on the training points.
    y : ndarray of shape (N,)
        The training values.
    A_test : ndarray of shape (M, K)
        The terms on the held-out points.
    y_test : ndarray of shape (M,)
        The held-out values.
    coef : ndarray of shape (K,)
        The fitted coefficients.
    allowed : float
        The held-out error a rounding may reach.

    Returns
    -------
    values : list
        The coefficients, exact (SymPy) where rounding kept the error within ``allowed``.
    changes : list of dict
        What each rounding changed.
    """
    values: list[Any] = [sympy.Float(float(c)) for c in coef]
    fixed = np.zeros(len(coef), dtype=bool)
    coef = coef.copy()
    rounded = []
    for k in np.argsort(np.abs(coef)):
        for value in simple_values(float(coef[k])):
            trial, trial_fixed = coef.copy(), fixed.copy()
            trial[k], trial_fixed[k] = float(value), True
            free = ~trial_fixed
            if free.any():
                trial[free] = lstsq(A[:, free], y - A[:, trial_fixed] @ trial[trial_fixed])
            if rmse(A_test @ trial, y_test) <= allowed:
                rounded.append({"index": int(k), "from": float(coef[k]), "to": float(value)})
                values[k] = value
                coef, fixed = trial, trial_fixed
                break
    for k in np.flatnonzero(~fixed):
        values[k] = sympy.Float(float(f"{coef[k]:.6g}"))
    return values, rounded
