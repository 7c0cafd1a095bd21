"""The direct searches of one extraction, and how a model is chosen and finished.

:class:`Search` holds an extraction's settings, clock and random generator, and runs the direct
searches cheapest first (power laws, sparse regression, expression trees), stopping at a fit exact to
rounding. :func:`choose` picks a model from the Pareto front; :func:`finish` rounds its constants and
simplifies it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import sympy

from annrl.symbolic.exact import _try_simplify
from annrl.symbolic.search.base import Candidate, Problem, lstsq, pareto_front
from annrl.symbolic.search.constants import round_constants
from annrl.symbolic.search.powerlaw import power_law_candidates
from annrl.symbolic.search.separable import Oracle
from annrl.symbolic.search.sparse import sparse_candidates
from annrl.symbolic.search.trees import grow, tree_candidates

#: the largest tree enumerated, by number of inputs (the pool grows about 3x per step)
TREE_COMPLEXITY = {1: 10, 2: 8, 3: 7}
#: library degree, by number of inputs
DEGREE = {1: 6, 2: 4, 3: 3}
#: a model within the tolerance this short is not split further (splitting is for forms the searches cannot reach)
SHORT = 12
#: a more complex model is chosen when its error is smaller by this factor per unit of complexity
GAIN = 2.0


class Search:
    """One extraction's settings, clock and random generator, shared by its recursive parts."""

    def __init__(self, *, tolerance: float, max_terms: int, degree: int | None, seconds: float,
                 rng: np.random.Generator, per_level: int):
        self.tolerance, self.max_terms, self.degree, self.per_level = tolerance, max_terms, degree, per_level
        self.deadline = time.process_time() + seconds
        self.rng = rng
        self.guidance: list[str] = []

    def candidates(self, problem: Problem) -> list[Candidate]:
        """Every direct search on ``problem``: sparse regression, power laws, trees."""
        n = problem.X.shape[1]
        out = power_law_candidates(problem)  # the cheapest first: an exact fit ends the search
        if self.solved(out, problem):
            return out
        out += sparse_candidates(problem, degree=self.degree or DEGREE[n], max_terms=self.max_terms)
        if self.solved(out, problem):
            return out
        depth = TREE_COMPLEXITY[n]
        best = choose(out, self.limit(problem))
        if best is not None and best.error <= self.limit(problem):
            # a tree model costs its tree + 3: none much more complex than a model that fits can be chosen
            depth = min(depth, best.complexity + 1)
        k = min(len(problem.X), 48)  # trees are grown on a few points, then fitted on all
        pool = grow(problem.X[:k], problem.y[:k], max_complexity=depth, per_level=self.per_level, rng=self.rng)
        return out + tree_candidates(problem, pool)

    def limit(self, problem: Problem) -> float:
        """The error a formula may have: ``tolerance`` times the standard deviation of all of ``problem``'s values."""
        return self.tolerance * _scale(np.concatenate([problem.y, problem.y_test]))

    def solved(self, candidates: list[Candidate], problem: Problem) -> bool:
        """Some candidate is exact to rounding (no later search can do better)."""
        return any(c.error <= 1e-9 * self.limit(problem) / self.tolerance for c in candidates)

    def solve_slice(self, oracle: Oracle, symbols: list[Any]) -> Any:
        """A formula of the oracle on its domain within 10x the tolerance (the oracle is the network, or an
        interpolant: only its form matters, the constants are refitted on the data), or None."""
        X = oracle.sample(400, self.rng)
        y = oracle.f(X)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            return None
        problem = Problem(X[:300], y[:300], X[300:], y[300:], symbols)
        limit = 10 * self.limit(problem)
        chosen = choose(self.candidates(problem), limit)
        return finish(problem, chosen, limit)[0] if chosen is not None and chosen.error <= limit else None


def _scale(y: np.ndarray) -> float:
    s = float(np.std(y))
    return s if s > 0 else max(float(np.max(np.abs(y))), 1.0)


def choose(candidates: list[Candidate], limit: float) -> Candidate | None:
    """The simplest candidate within ``limit`` on the Pareto front, moving to a more complex one only when its
    error is over ``GAIN`` times smaller per unit of complexity; the most accurate when none is within."""
    if not candidates:
        return None
    front = pareto_front(candidates)
    within = [c for c in front if c.error <= limit]
    if not within:
        return front[-1]
    floor = 1e-9 * limit
    pick = within[0]
    for c in within[1:]:
        if max(c.error, floor) * GAIN ** (c.complexity - pick.complexity) < max(pick.error, floor):
            pick = c
    return pick


def finish(problem: Problem, chosen: Candidate, limit: float) -> tuple[Any, list[dict[str, float]]]:
    """The chosen model with rounded constants, simplified where safe."""
    A = np.column_stack([problem.values(e)[0] for e in chosen.exprs])
    A_test = np.column_stack([problem.values(e)[1] for e in chosen.exprs])
    coef = lstsq(A, problem.y)
    allowed = max(1.1 * chosen.error, min(limit, chosen.error + 0.1 * limit))
    values, rounded = round_constants(A, problem.y, A_test, problem.y_test, coef, allowed)
    rounded = [{"term": chosen.terms[r.pop("index")], **r} for r in rounded]
    expr = sympy.Add(*[v * e for v, e in zip(values, chosen.exprs, strict=True) if v != 0])
    simpler, _ = _try_simplify(expr)
    if simpler is not None and sympy.count_ops(simpler) < sympy.count_ops(expr):
        expr = simpler
    return expr, rounded
