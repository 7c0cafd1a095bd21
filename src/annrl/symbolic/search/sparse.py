"""Sparse regression over a library of candidate terms (:mod:`annrl.symbolic.library`), as SINDy does.

Supports come from forward stepwise selection (the best term added at each size) and sequentially
thresholded least squares (STLSQ) over a sweep of thresholds, and every one of those with one term
left out; each support is one :class:`~annrl.symbolic.search.base.Candidate`. The law extractor
(:mod:`annrl.symbolic.law`) uses the same two support finders.
"""

from __future__ import annotations

import numpy as np

from annrl.symbolic.library import build_library
from annrl.symbolic.search.base import Candidate, Problem, lstsq


def forward_supports(A: np.ndarray, y: np.ndarray, max_terms: int) -> list[tuple[int, ...]]:
    """Forward stepwise selection: for each size, the support after adding the best column.

    Parameters
    ----------
    A : ndarray of shape (N, K)
        One column per term.
    y : ndarray of shape (N,)
        The values fitted.
    max_terms : int
        The largest support.

    Returns
    -------
    list of tuple of int
        Column indices, one support per size 1, 2, ... up to ``min(max_terms, K)``.
    """
    support: list[int] = []
    supports = []
    for _ in range(min(max_terms, A.shape[1])):
        best, best_res = None, np.inf
        for j in range(A.shape[1]):
            if j in support:
                continue
            cols = support + [j]
            coef = lstsq(A[:, cols], y)
            res = float(np.sum((A[:, cols] @ coef - y) ** 2))
            if res < best_res:
                best, best_res = j, res
        support.append(best)
        supports.append(tuple(sorted(support)))
    return supports


def stlsq_supports(A: np.ndarray, y: np.ndarray, thresholds: np.ndarray, iterations: int = 10) -> list[tuple]:
    """Sequentially thresholded least squares on unit-norm columns, one support per threshold.

    Parameters
    ----------
    A : ndarray of shape (N, K)
        One column per term.
    y : ndarray of shape (N,)
        The values fitted.
    thresholds : ndarray of shape (n_thresholds,)
        Coefficients below a threshold (on unit-norm columns) are dropped.
    iterations : int, default=10
        Fit-and-threshold rounds per threshold.

    Returns
    -------
    list of tuple
        The column indices kept, one support per threshold.
    """
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    An = A / scale
    supports = []
    for t in thresholds:
        active = np.ones(A.shape[1], dtype=bool)
        coef = np.zeros(A.shape[1])
        for _ in range(iterations):
            coef[:] = 0.0
            if not active.any():
                break
            coef[active] = np.linalg.lstsq(An[:, active], y, rcond=None)[0]
            new = np.abs(coef) >= t * np.max(np.abs(coef))
            if np.array_equal(new, active):
                break
            active = new
        if active.any():
            supports.append(tuple(np.flatnonzero(active)))
    return supports


def sparse_candidates(problem: Problem, *, degree: int, max_terms: int,
                      trigonometric: bool = True) -> list[Candidate]:
    """Every support found on the library of ``problem``'s inputs, fitted and scored."""
    names = [str(s) for s in problem.symbols]
    library = build_library(names, problem.X, problem.y, degree=degree, trigonometric=trigonometric)
    A = np.column_stack([t.values for t in library])
    supports = set(forward_supports(A, problem.y, max_terms))
    supports |= set(stlsq_supports(A, problem.y, np.logspace(-3, -0.3, 25)))
    supports |= {s[:i] + s[i + 1:] for s in supports for i in range(len(s)) if len(s) > 1}  # one term fewer
    out = []
    for s in sorted(supports):
        if len(s) <= max_terms:
            c = problem.candidate([library[j].expr for j in s], "sparse",
                                  sum(library[j].complexity + 2 for j in s) - 1)
            if c is not None:
                out.append(c)
    return out
