"""What every formula search shares: the primitive table, expression trees, and candidates.

A generated expression is a tree of nested tuples built from :data:`OPS` (``("var", 0)``,
``("const", 2)``, ``("sin", child)``, ``("mul", left, right)``); it is evaluated with the table's
NumPy functions and turned into SymPy with the table's SymPy functions, never read back from text.
Every search returns :class:`Candidate` models ``y = sum_k c_k term_k(X)``: a list of exact terms
(SymPy expressions without fitted constants) whose coefficients are fitted by least squares, so
that all methods are scored, rounded and compared the same way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy


@dataclass(frozen=True)
class Op:
    """One primitive: arity, NumPy function, SymPy function, complexity, and the inputs it accepts."""

    arity: int
    numpy: Callable[..., np.ndarray]
    sympy: Callable[..., Any]
    complexity: int
    accepts: Callable[[np.ndarray], np.ndarray] | None = None  # per row of inputs: True where defined


def _positive(v: np.ndarray) -> np.ndarray:
    return np.all(v > 0, axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return np.all(np.abs(v) < 1, axis=-1)


def _nonzero(v: np.ndarray) -> np.ndarray:
    return np.all(np.abs(v) > 1e-3, axis=-1)


#: name -> Op (the layout of pykan's SYMBOLIC_LIB: NumPy function, SymPy function, complexity)
OPS: dict[str, Op] = {
    "add": Op(2, np.add, operator.add, 1),
    "sub": Op(2, np.subtract, operator.sub, 1),
    "mul": Op(2, np.multiply, operator.mul, 1),
    "div": Op(2, np.divide, operator.truediv, 1),
    "pow": Op(2, np.power, sympy.Pow, 2, _positive),  # checked on the base
    "neg": Op(1, np.negative, operator.neg, 1),
    "square": Op(1, np.square, lambda a: a**2, 1),
    "inv": Op(1, lambda a: 1.0 / a, lambda a: 1 / a, 1, _nonzero),
    "sqrt": Op(1, np.sqrt, sympy.sqrt, 2, _positive),
    "exp": Op(1, np.exp, sympy.exp, 2),
    "log": Op(1, np.log, sympy.log, 2, _positive),
    "sin": Op(1, np.sin, sympy.sin, 2),
    "cos": Op(1, np.cos, sympy.cos, 2),
    "asin": Op(1, np.arcsin, sympy.asin, 3, _unit),
}

Tree = tuple


def evaluate(tree: Tree, X: np.ndarray) -> np.ndarray:
    """The values ``(N,)`` of ``tree`` at inputs ``X`` ``(N, n)``."""
    kind = tree[0]
    if kind == "var":
        return X[:, tree[1]]
    if kind == "const":
        return np.full(len(X), float(tree[1]))
    with np.errstate(all="ignore"):
        return OPS[kind].numpy(*(evaluate(child, X) for child in tree[1:]))


def to_sympy(tree: Tree, symbols: list[Any]) -> Any:
    """``tree`` as a SymPy expression of ``symbols`` (constants stay exact)."""
    kind = tree[0]
    if kind == "var":
        return symbols[tree[1]]
    if kind == "const":
        return sympy.Integer(tree[1])
    return OPS[kind].sympy(*(to_sympy(child, symbols) for child in tree[1:]))


@dataclass
class Candidate:
    """One model ``sum_k coefficients[k] * terms[k]``, its complexity and held-out RMSE.

    ``method`` says which search proposed it (``sparse``, ``tree``, ``pair``, ``power law``,
    ``separable``); ``exprs`` holds the terms as SymPy expressions (not serialised).
    """

    terms: list[str]
    coefficients: list[float]
    complexity: int
    error: float
    method: str = ""
    exprs: list[Any] = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The candidate as JSON: terms, coefficients, complexity, held-out error and method."""
        return {"terms": self.terms, "coefficients": self.coefficients, "complexity": self.complexity,
                "error": self.error, "method": self.method}


def lstsq(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares on columns scaled to unit norm (the same solution, better conditioned).

    Parameters
    ----------
    A : ndarray of shape (N, K)
        One column per term.
    y : ndarray of shape (N,)
        The values fitted.

    Returns
    -------
    ndarray of shape (K,)
        The coefficients minimising ``|A c - y|``.
    """
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    return np.linalg.lstsq(A / scale, y, rcond=None)[0] / scale


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean squared difference of ``a`` and ``b``.

    Parameters
    ----------
    a, b : ndarray of shape (N,)
        Arrays of the same shape (any shape).

    Returns
    -------
    float
    """
    return float(np.sqrt(np.mean((a - b) ** 2)))


def pareto_front(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates no other is both simpler (or as simple) and more accurate than, simplest first."""
    front: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: (c.complexity, c.error)):
        if not front or c.error < front[-1].error:
            front.append(c)
    return front


def node_count(expr: Any) -> int:
    """The complexity of a SymPy expression: its number of nodes (as SRBench counts model size)."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


def split_terms(expr: Any) -> list[Any]:
    """The additive terms of ``expand(expr)`` stripped of their numeric factors, constant as ``1``."""
    terms = []
    for part in sympy.Add.make_args(sympy.expand(expr)):
        _, rest = part.as_coeff_Mul()
        if rest not in terms:
            terms.append(rest)
    return terms


@dataclass
class Problem:
    """The samples a search fits (``X, y``) and scores (``X_test, y_test``), with the inputs' symbols.

    Attributes
    ----------
    X : ndarray of shape (N, d)
        Training inputs.
    y : ndarray of shape (N,)
        Training values.
    X_test : ndarray of shape (M, d)
        Held-out inputs that score every candidate.
    y_test : ndarray of shape (M,)
        Held-out values.
    symbols : list of sympy.Symbol
        One symbol per input column.
    """

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    symbols: list[Any]
    _cache: dict[str, tuple[np.ndarray, np.ndarray] | None] = field(default_factory=dict, repr=False)

    def candidate(self, exprs: list[Any], method: str, complexity: int | None = None) -> Candidate | None:
        """Fit the coefficients of terms ``exprs`` on the training points and score them held out; None where
        a term is undefined (not finite) on some point."""
        pairs = [self.values(e) for e in exprs]
        if any(p is None for p in pairs):
            return None
        A = np.column_stack([p[0] for p in pairs])
        A_test = np.column_stack([p[1] for p in pairs])
        coef = lstsq(A, self.y)
        error = rmse(A_test @ coef, self.y_test)
        if not np.isfinite(error):
            return None
        if complexity is None:
            complexity = node_count(sympy.Add(*[sympy.Symbol("c") * e for e in exprs]))
        return Candidate([str(e) for e in exprs], [float(c) for c in coef], complexity, error, method, list(exprs))

    def values(self, expr: Any) -> tuple[np.ndarray, np.ndarray] | None:
        """``expr`` on the training and the held-out points (None where not finite), computed once."""
        key = sympy.srepr(expr)
        if key not in self._cache:
            f = function(expr, self.symbols)
            train, test = f(self.X), f(self.X_test)
            finite = np.all(np.isfinite(train)) and np.all(np.isfinite(test))
            self._cache[key] = (train, test) if finite else None
        return self._cache[key]


def function(expr: Any, symbols: list[Any]) -> Callable[[np.ndarray], np.ndarray]:
    """``f(X (N, n)) -> (N,)`` computing ``expr`` of ``symbols`` in NumPy."""
    from annrl.expr import lambdify_numpy

    f = lambdify_numpy(expr, [str(s) for s in symbols])
    return lambda X: np.broadcast_to(f(*np.asarray(X, dtype=float).T), (len(X),)).astype(float)
