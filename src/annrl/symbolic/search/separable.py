"""What a function reveals about its own form, read from its values at chosen points (as AI Feynman does).

Given an oracle (a trained network, or an interpolant of the data), these tests split a problem of
``n`` inputs into smaller ones:

- **multiplicative separability** in input ``i``: ``f(a) f(b) = f(a | b_i) f(b | a_i)`` for random
  points ``a, b`` (``a | b_i``: ``a`` with its ``i``-th coordinate taken from ``b``); then
  ``f = g(x_i) h(rest) / f(x0)`` with ``g, h`` the slices through a point ``x0``;
- **additive separability**: ``f(a) + f(b) = f(a | b_i) + f(b | a_i)``; then ``f = g + h - f(x0)``;
- **symmetry** in inputs ``i, j``: ``f`` unchanged when both are scaled by one factor (it depends
  on ``x_i / x_j`` only), or ``x_i`` scaled up and ``x_j`` down (``x_i x_j``), or both shifted by
  one amount (``x_i - x_j``); then one input fewer.

Each test passes when the two sides differ by under ``threshold`` (relative RMS). The caller
(:func:`annrl.symbolic.formula.fit_formula`) then solves the smaller problems on the data itself
and refits the combined expression there, so a test passed by chance costs time, not a wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Domain = list[tuple[float, float]]


@dataclass
class Oracle:
    """A function ``f(X (N, n)) -> (N,)`` that may be evaluated anywhere in ``domain``."""

    f: Callable[[np.ndarray], np.ndarray]
    domain: Domain

    def sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` points drawn uniformly in the domain, an array ``(k, n)``.

        Parameters
        ----------
        k : int
            Number of points.
        rng : numpy.random.Generator
            The source of the draws.
        """
        low, high = np.array(self.domain, dtype=float).T
        return rng.uniform(low, high, size=(k, len(self.domain)))


def _swap(a: np.ndarray, b: np.ndarray, cols: list[int]) -> np.ndarray:
    out = a.copy()
    out[:, cols] = b[:, cols]
    return out


def separable(oracle: Oracle, cols: list[int], kind: str, rng: np.random.Generator, *, points: int = 64) -> float:
    """The relative mismatch of the ``kind`` (``"mul"`` or ``"add"``) separability of inputs ``cols`` from the rest."""
    a, b = oracle.sample(points, rng), oracle.sample(points, rng)
    fa, fb, fab, fba = (oracle.f(z) for z in (a, b, _swap(a, b, cols), _swap(b, a, cols)))
    if kind == "mul":
        lhs, rhs = fa * fb, fab * fba
        return float(np.sqrt(np.mean((lhs - rhs) ** 2)) / max(np.sqrt(np.mean(lhs**2)), 1e-300))
    lhs, rhs = fa + fb, fab + fba
    return float(np.sqrt(np.mean((lhs - rhs) ** 2)) / max(np.std(np.concatenate([fa, fb])), 1e-300))


#: symmetry -> (move x_i, x_j by t, the new variable from x_i, x_j, its SymPy form)
SYMMETRIES: dict[str, tuple[Callable, Callable, Callable]] = {
    "ratio": (lambda xi, xj, t: (xi * t, xj * t), lambda xi, xj: xi / xj, lambda si, sj: si / sj),
    "product": (lambda xi, xj, t: (xi * t, xj / t), lambda xi, xj: xi * xj, lambda si, sj: si * sj),
    "difference": (lambda xi, xj, t: (xi + t - 1, xj + t - 1), lambda xi, xj: xi - xj, lambda si, sj: si - sj),
}


def symmetric(oracle: Oracle, i: int, j: int, kind: str, rng: np.random.Generator, *, points: int = 64) -> float:
    """The relative change of ``f`` under the ``kind`` move of inputs ``i, j`` (inside the domain)."""
    move = SYMMETRIES[kind][0]
    X = oracle.sample(4 * points, rng)
    t = rng.uniform(0.8, 1.25, size=len(X))
    Y = X.copy()
    Y[:, i], Y[:, j] = move(X[:, i], X[:, j], t)
    low, high = np.array(oracle.domain, dtype=float).T
    inside = np.all((Y >= low) & (Y <= high), axis=1)
    if inside.sum() < 8:
        return np.inf
    fx, fy = oracle.f(X[inside][:points]), oracle.f(Y[inside][:points])
    return float(np.sqrt(np.mean((fx - fy) ** 2)) / max(np.std(fx), 1e-300))


def symmetries(oracle: Oracle, rng: np.random.Generator, *, threshold: float = 1e-2) -> list[tuple[int, int, str]]:
    """Every ``(i, j, kind)`` whose symmetry test passes."""
    n = len(oracle.domain)
    found = []
    for i in range(n):
        for j in range(n):
            for kind in SYMMETRIES:
                if i == j or (kind != "ratio" and j < i):
                    continue  # product and difference: (i, j) as (j, i) up to a sign
                if symmetric(oracle, i, j, kind, rng) < threshold:
                    found.append((i, j, kind))
    return found


def new_variable(values: Any, i: int, j: int, kind: str) -> Any:
    """The symmetric variable of inputs ``i, j``: from a list of symbols, or from the columns of an array."""
    return SYMMETRIES[kind][2](values[i], values[j]) if isinstance(values, list) else \
        SYMMETRIES[kind][1](values[:, i], values[:, j])


def slice_oracle(oracle: Oracle, cols: list[int], x0: np.ndarray) -> Oracle:
    """``f`` as a function of inputs ``cols`` only, the others fixed at ``x0``.

    Parameters
    ----------
    oracle : Oracle
        The function of all ``d`` inputs.
    cols : list of int
        The inputs kept free.
    x0 : ndarray of shape (d,)
        The point the other inputs are fixed at.

    Returns
    -------
    Oracle
        A function of ``(N, len(cols))`` inputs on the domain of those columns.
    """

    def f(U: np.ndarray) -> np.ndarray:
        X = np.tile(x0, (len(U), 1))
        X[:, cols] = U
        return oracle.f(X)

    return Oracle(f, [oracle.domain[k] for k in cols])
