"""Power laws ``y = C x_1^a_1 ... x_n^a_n``, found as a straight line in logarithms.

When ``y`` keeps one sign and every input is positive, ``log|y| = log|C| + sum_i a_i log x_i`` is
linear: one least-squares fit gives the exponents, which are rounded to the nearest integer, half
or third (the products, quotients and roots of physics formulas) and the constant refitted. A
multiplicatively separable function of this kind (AI Feynman's commonest case) needs no search.
"""

from __future__ import annotations

import numpy as np
import sympy

from annrl.symbolic.search.base import Candidate, Problem

#: denominators an exponent is rounded with
DENOMINATORS = (1, 2, 3)


def power_law_candidates(problem: Problem) -> list[Candidate]:
    """The power law through ``problem``'s points, with each rounding of its exponents; [] where none applies."""
    X, y = problem.X, problem.y
    if not (np.all(X > 0) and (np.all(y > 0) or np.all(y < 0))):
        return []
    A = np.column_stack([np.ones(len(X)), np.log(X)])
    exponents = np.linalg.lstsq(A, np.log(np.abs(y)), rcond=None)[0][1:]
    out = []
    for d in DENOMINATORS:
        rounded = [sympy.Rational(round(a * d), d) for a in exponents]
        term = sympy.Mul(*[s**a for s, a in zip(problem.symbols, rounded, strict=True)])
        if term.is_number:
            continue
        c = problem.candidate([term], "power law")
        if c is not None and c not in out:
            out.append(c)
    return out
