"""The candidate terms of formula extraction: a table of primitives, and a library built from it.

:data:`PRIMITIVES` lists, for each primitive, its NumPy function, its SymPy function and its
complexity (the layout of pykan's ``SYMBOLIC_LIB``). :func:`build_library` turns the inputs of a
problem into candidate columns (:class:`Term`): monomials up to ``degree`` (cross terms included),
and per variable ``exp(x)``, ``exp(-x)``, ``exp(-x^2)``, ``log(x)`` (when every ``x > 0``), and
``sin(w x)``, ``cos(w x)``, ``x sin(w x)``, ``x cos(w x)`` with frequencies ``w`` fitted to the
target (:func:`fit_frequency`, with and without a cubic beside the wave) and rounded to a simple
value when that costs under 1% of the fit.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

#: name -> (NumPy function, SymPy function, complexity)
PRIMITIVES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[Any], Any], int]] = {
    "x": (lambda x: x, lambda x: x, 1),
    "x^2": (lambda x: x**2, lambda x: x**2, 2),
    "x^3": (lambda x: x**3, lambda x: x**3, 3),
    "exp": (np.exp, sympy.exp, 2),
    "exp(-x)": (lambda x: np.exp(-x), lambda x: sympy.exp(-x), 3),
    "gauss": (lambda x: np.exp(-(x**2)), lambda x: sympy.exp(-(x**2)), 3),
    "log": (np.log, sympy.log, 2),
    "sin": (np.sin, sympy.sin, 2),
    "cos": (np.cos, sympy.cos, 2),
}

#: frequencies tried by :func:`fit_frequency`
FREQUENCIES = np.round(np.arange(0.2, 6.0001, 0.02), 2)


@dataclass(frozen=True)
class Term:
    """One candidate column: its SymPy expression, its values on the sample points, its complexity.

    Attributes
    ----------
    name : str
        The term as text, e.g. ``"x*y"``.
    expr : sympy.Expr
        The term as a SymPy expression.
    values : ndarray of shape (N,)
        The term on the ``N`` sample points.
    complexity : int
        Its cost on the Pareto front.
    """

    name: str
    expr: Any
    values: np.ndarray
    complexity: int


def fit_frequency(x: np.ndarray, y: np.ndarray, *, times_x: bool = False, polynomial: bool = False,
                  ) -> tuple[float, float]:
    """The frequency ``w`` whose basis ``1, sin(wx), cos(wx)`` (``times_x``: ``x sin(wx), x cos(wx)``;
    ``polynomial``: with ``x, x^2, x^3`` too) fits ``y`` best, and that fit's residual; ``w`` is rounded
    to an integer, a half or one decimal when the residual grows by less than 1%.

    Parameters
    ----------
    x : ndarray of shape (N,)
        The input on the sample points.
    y : ndarray of shape (N,)
        The values fitted.
    times_x : bool, default=False
        Use the basis ``x sin(wx), x cos(wx)`` instead of ``sin(wx), cos(wx)``.
    polynomial : bool, default=False
        Add ``x, x^2, x^3`` to the basis.

    Returns
    -------
    w : float
        The frequency, rounded where that costs less than 1% of residual.
    residual : float
        The sum of squared residuals of the fit at ``w``.
    """

    def residual(w: float) -> float:
        s, c = np.sin(w * x), np.cos(w * x)
        base = [np.ones_like(x), x, x**2, x**3] if polynomial else [np.ones_like(x)]
        A = np.column_stack(base + ([x * s, x * c] if times_x else [s, c]))
        coef = np.linalg.lstsq(A, y, rcond=None)[0]
        return float(np.sum((A @ coef - y) ** 2))

    errors = np.array([residual(w) for w in FREQUENCIES])
    best = float(FREQUENCIES[int(np.argmin(errors))])
    # refine on a finer grid around the best
    fine = np.linspace(max(best - 0.02, 1e-3), best + 0.02, 21)
    fine_errors = np.array([residual(w) for w in fine])
    best, best_error = float(fine[int(np.argmin(fine_errors))]), float(fine_errors.min())
    for simple in (round(best), round(2 * best) / 2, round(best, 1)):
        if simple > 0 and residual(simple) <= 1.01 * best_error + 1e-12 * len(x):
            return float(simple), residual(simple)
    return best, best_error


def _constant(value: float) -> Any:
    return sympy.Rational(round(value * 2), 2) if value == round(value * 2) / 2 else sympy.Float(value)


def build_library(
    names: list[str], X: np.ndarray, y: np.ndarray | None = None, *, degree: int = 3,
    trigonometric: bool = True, exponential: bool = True,
) -> list[Term]:
    """Candidate terms for inputs ``X`` ``(N, n)`` named ``names`` (``y``: the target, to fit frequencies)."""
    X = np.asarray(X, dtype=float)
    symbols = [sympy.Symbol(s, real=True) for s in names]
    terms = [Term("1", sympy.Integer(1), np.ones(len(X)), 1)]
    n = len(names)
    for d in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(range(n), d):
            expr = sympy.Mul(*[symbols[i] for i in combo])
            values = np.prod(X[:, list(combo)], axis=1)
            terms.append(Term(str(expr), expr, values, d))
    for s, x in zip(symbols, X.T, strict=True):
        if exponential:
            for key in ("exp", "exp(-x)", "gauss"):
                np_fn, sp_fn, c = PRIMITIVES[key]
                terms.append(Term(str(sp_fn(s)), sp_fn(s), np_fn(x), c))
            if np.all(x > 0):
                np_fn, sp_fn, c = PRIMITIVES["log"]
                terms.append(Term(str(sp_fn(s)), sp_fn(s), np_fn(x), c))
        if trigonometric and y is not None:
            frequencies = sorted({(times_x, fit_frequency(x, y, times_x=times_x, polynomial=p)[0])
                                  for times_x in (False, True) for p in (False, True)})
            for times_x, w in frequencies:
                wc, extra = _constant(w), 0 if w == 1 else 1
                for key in ("sin", "cos"):
                    np_fn, sp_fn, c = PRIMITIVES[key]
                    expr = sp_fn(wc * s)
                    if times_x:
                        terms.append(Term(str(s * expr), s * expr, x * np_fn(w * x), c + extra + 2))
                    else:
                        terms.append(Term(str(expr), expr, np_fn(w * x), c + extra))
    return terms
