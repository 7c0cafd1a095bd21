"""Splitting a problem where the function allows it, then solving the smaller ones on the data itself.

The tests of :mod:`~annrl.symbolic.search.separable` run on an oracle (the network, or a thin-plate
interpolant of the data). A multiplicatively (additively) separable part ``g(x_i)`` is solved on a
slice of the oracle; the rest is the data divided by ``g`` (less ``g``), a problem with one input
fewer. A symmetric pair of inputs becomes one variable of the data. Each smaller problem is handed to
``fit`` (:func:`annrl.symbolic.formula.fit_formula`, recursively) and the combined expression is
refitted on the original points, so a test passed by chance costs time, not a wrong answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from annrl.symbolic.search.base import Candidate, Problem, function, split_terms
from annrl.symbolic.search.run import Search
from annrl.symbolic.search.separable import Oracle, new_variable, separable, slice_oracle, symmetries

Fit = Callable[..., Any]


def split_by_separability(fit: Fit, X: np.ndarray, y: np.ndarray, problem: Problem, oracle: Oracle, search: Search,
                           rng: np.random.Generator, names: list[str]) -> list[Candidate]:
    """Where ``f = g(x_i) * h(rest)`` (or ``+``): ``g`` from a slice of the oracle, then ``h`` from the data
    divided by ``g`` (or less ``g``), an exact problem with one input fewer, searched afresh.

    ``X`` ``(N, d)`` and ``y`` ``(N,)`` are the training points; the returned candidates are scored on
    ``problem``'s held-out points.
    """
    out = []
    x0 = oracle.sample(1, rng)[0]
    for kind in ("mul", "add"):
        for i in range(len(names)):
            seconds = search.deadline - time.process_time()
            if seconds <= 0 or separable(oracle, [i], kind, rng) >= 1e-2:
                continue
            g = search.solve_slice(slice_oracle(oracle, [i], x0), [problem.symbols[i]])
            if g is None:
                continue
            for part in _without_constant(g) if kind == "mul" else [g]:
                c, how = _split_data(fit, X, y, problem, search, rng, names, i, kind, part)
                if c is not None:
                    out.append(c)
                    search.guidance += how
                    if search.solved([c], problem):
                        return out
    return out


def _without_constant(g: Any) -> list[Any]:
    """``g`` less its constant term, then ``g``: a slice read off an interpolant often carries a small spurious
    one, and ``y / g`` is exact only with the right factor."""
    constant, rest = sympy.expand(g).as_independent(*g.free_symbols, as_Add=True)
    return [rest, g] if constant != 0 and rest != 0 else [g]


def _split_data(fit: Fit, X: np.ndarray, y: np.ndarray, problem: Problem, search: Search, rng: np.random.Generator,
                names: list[str], i: int, kind: str, g: Any) -> tuple[Candidate | None, list[str]]:
    """The candidate ``g * h`` (or ``g + h``) with ``h`` searched on the data divided by ``g`` (or less ``g``)."""
    gi = function(g, [problem.symbols[i]])(X[:, [i]])
    if kind == "mul" and (not np.all(np.isfinite(gi)) or np.any(np.abs(gi) < 1e-12 * np.max(np.abs(gi)))):
        return None, []
    rest = [k for k in range(len(names)) if k != i]
    seconds = search.deadline - time.process_time()
    sub = fit(X[:, rest], y / gi if kind == "mul" else y - gi, inputs=[names[k] for k in rest],
                      tolerance=search.tolerance, max_seconds=max(seconds, 0.0), rng=rng)
    expr = g * sub.expression if kind == "mul" else g + sub.expression
    how = f"{'multiplicatively' if kind == 'mul' else 'additively'} separable in {names[i]}"
    return problem.candidate(split_terms(expr), "separable"), [how] + sub.guidance


def reduce_by_symmetry(fit: Fit, X: np.ndarray, y: np.ndarray, problem: Problem, oracle: Oracle, search: Search,
                        rng: np.random.Generator, names: list[str]) -> list[Candidate]:
    """Where ``f`` depends on two inputs through one symmetric variable only, the formula of the data with one
    input fewer (an exact change of variables, searched afresh), substituted back.

    ``X`` ``(N, d)`` and ``y`` ``(N,)`` are the training points; the returned candidates are scored on
    ``problem``'s held-out points.
    """
    for i, j, kind in symmetries(oracle, rng):
        seconds = search.deadline - time.process_time()
        if seconds <= 0:
            break
        U = np.delete(X, j, axis=1)
        U[:, i if i < j else i - 1] = new_variable(X, i, j, kind)
        reduced = [s for k, s in enumerate(names) if k != j]
        reduced[i if i < j else i - 1] = f"u_{names[i]}_{names[j]}"
        sub = fit(U, y, inputs=reduced, tolerance=search.tolerance, max_seconds=seconds, rng=rng)
        u = sympy.Symbol(f"u_{names[i]}_{names[j]}", real=True)
        expr = sub.expression.subs(u, new_variable(problem.symbols, i, j, kind))
        c = problem.candidate(split_terms(expr), "symmetry")
        if c is not None:
            search.guidance += [f"{kind} symmetric in {names[i]}, {names[j]}"] + sub.guidance
            return [c]
    return []


def interpolant(X: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A thin-plate spline through the points: the oracle separability is tested on when there is no network.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        The points, rescaled to the unit box before the fit.
    y : ndarray of shape (N,)
        The values.

    Returns
    -------
    callable
        ``f(Z)`` of ``Z`` ``(M, d)`` returning ``(M,)``.
    """
    from scipy.interpolate import RBFInterpolator

    low, high = X.min(0), X.max(0)
    span = np.where(high > low, high - low, 1.0)
    rbf = RBFInterpolator((X - low) / span, y, kernel="thin_plate_spline", degree=1)
    return lambda Z: rbf((np.asarray(Z, dtype=float) - low) / span)
