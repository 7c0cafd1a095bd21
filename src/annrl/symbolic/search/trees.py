"""Enumeration of small expression trees, smallest first, with their outer constants fitted.

Trees are grown bottom-up by complexity from the inputs and the constants 1 and 2: every unary
primitive of :data:`~annrl.symbolic.search.base.OPS` on every tree ``k`` smaller than its cost, every
binary one on every pair whose sizes add up. Trees with the same values on the sample points are
one tree (observational equivalence: only the first, simplest, is kept), and a level holding more
than ``per_level`` trees keeps the half that best fits the target and a random half of the rest.
All values are computed as arrays ``(trees, points)`` at once.

Each tree ``f`` is then scored as ``y = a f + b`` (least squares, in closed form from the correlation),
and as a pair ``y = a f + b g + c`` with ``f`` among the best single trees and ``g`` any tree (the
best ``g`` for each ``f`` from one projection): sums of two unlike parts such as
``sin(x) + sin(x + x^2)`` need that second term.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from annrl.symbolic.search.base import OPS, Candidate, Problem, Tree, to_sympy

UNARY = ("neg", "square", "inv", "sqrt", "exp", "log", "sin", "cos", "asin")
BINARY = ("add", "sub", "mul", "div", "pow")
LEAF_CONSTANTS = (1, 2)
LIMIT = 1e8  # values beyond this are overflow in the making


class Pool:
    """Trees grown level by level: ``trees``, their ``values`` ``(K, N)`` and ``complexity`` ``(K,)``."""

    def __init__(self, X: np.ndarray, y: np.ndarray, *, per_level: int, rng: np.random.Generator):
        self.X, self.y, self.per_level, self.rng = X, y, per_level, rng
        self.trees: list[Tree] = []
        self.values: list[np.ndarray] = []
        self.complexity: list[int] = []
        self.levels: dict[int, list[int]] = {}
        self.seen = np.zeros(0)
        self._weights: np.ndarray | None = None
        self._staged: list[tuple[Tree, np.ndarray]] = []

    def offer(self, c: int, make_tree: Callable[[int], Tree], values: np.ndarray) -> None:
        """Stage the new trees of level ``c`` (``make_tree(k)`` builds row ``k``'s tree, for kept rows only).

        Parameters
        ----------
        c : int
            The complexity of the new trees.
        make_tree : callable
            ``make_tree(k)`` builds the tree of row ``k``.
        values : ndarray of shape (K, N)
            Each new tree's values on the ``N`` points; rows not finite, too large, constant or equal
            to a tree already seen are dropped.
        """
        if not len(values):
            return
        with np.errstate(all="ignore"):
            ok = np.all(np.isfinite(values), axis=1) & np.all(np.abs(values) < LIMIT, axis=1)
            if c > 1:  # constants are leaves only: inside a fit, a constant tree adds nothing
                ok &= np.ptp(values, axis=1) > 1e-12 * (1 + np.abs(values).max(axis=1))
        rows = np.flatnonzero(ok)
        # one number per row: equal rows give equal keys, different rows differ almost surely
        keys = (np.round(values[rows], 9) + 0.0) @ self._projection(values.shape[1])
        keys, first = np.unique(keys, return_index=True)
        fresh = ~np.isin(keys, self.seen)
        self.seen = np.union1d(self.seen, keys[fresh])
        for i in rows[first[fresh]]:
            self._staged.append((make_tree(int(i)), values[i]))
        if len(self._staged) > 4 * self.per_level:
            self._thin()

    def _projection(self, n: int) -> np.ndarray:
        if self._weights is None:
            self._weights = self.rng.uniform(0.5, 1.5, size=n)
        return self._weights

    def close(self, c: int) -> None:
        """Thin level ``c`` to ``per_level`` trees and add it to the pool."""
        if len(self._staged) > self.per_level:
            self._thin()
        start = len(self.trees)
        self.trees += [t for t, _ in self._staged]
        self.values += [v for _, v in self._staged]
        self.complexity += [c] * len(self._staged)
        self.levels[c] = list(range(start, start + len(self._staged)))
        self._staged = []

    def _thin(self) -> None:
        scores = correlation(np.array([v for _, v in self._staged]), self.y)
        order = np.argsort(-scores)
        keep = self.per_level // 2
        rest = self.rng.choice(order[keep:], self.per_level - keep, replace=False)
        self._staged = [self._staged[i] for i in sorted(np.concatenate([order[:keep], rest]).tolist())]

    def level(self, c: int) -> tuple[list[int], np.ndarray]:
        """The trees of complexity ``c``: their indices and their values ``(K_c, N)``."""
        idx = self.levels.get(c, [])
        return idx, (np.array([self.values[i] for i in idx]) if idx else np.zeros((0, len(self.y))))


def correlation(F: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``|corr(F_k, y)|`` for every row ``F_k`` of ``F`` ``(K, N)``: the fit of ``y = a F_k + b``."""
    with np.errstate(all="ignore"):
        Fc = F - F.mean(axis=1, keepdims=True)
        yc = y - y.mean()
        r = np.abs(Fc @ yc) / (np.linalg.norm(Fc, axis=1) * np.linalg.norm(yc))
    return np.nan_to_num(r, nan=0.0)


def grow(X: np.ndarray, y: np.ndarray, *, max_complexity: int, per_level: int, rng: np.random.Generator,
         unary: tuple[str, ...] = UNARY, binary: tuple[str, ...] = BINARY) -> Pool:
    """Every tree up to ``max_complexity`` (see the module docstring).

    Parameters
    ----------
    X : ndarray of shape (N, d)
        The points the trees are evaluated on.
    y : ndarray of shape (N,)
        The values the trees are ranked against.
    max_complexity : int
        The largest tree size.
    per_level : int
        How many trees each level keeps.
    rng : numpy.random.Generator
        Breaks ties and projects rows to detect duplicates.
    unary, binary : tuple of str
        The operators trees are built from.

    Returns
    -------
    Pool
        The trees kept, with their values ``(K, N)``.
    """
    pool = Pool(X, y, per_level=per_level, rng=rng)
    leaves = [("var", i) for i in range(X.shape[1])] + [("const", c) for c in LEAF_CONSTANTS]
    values = np.array([X[:, t[1]] if t[0] == "var" else np.full(len(X), float(t[1])) for t in leaves])
    pool.offer(1, lambda k: leaves[k], values)
    pool.close(1)
    for c in range(2, max_complexity + 1):
        for name in unary:
            _unary(pool, name, c)
        for name in binary:
            op = OPS[name]
            for a in range(1, c - op.complexity):
                _binary(pool, name, a, c - op.complexity - a, c)
        pool.close(c)
    return pool


def _unary(pool: Pool, name: str, c: int) -> None:
    op = OPS[name]
    idx, V = pool.level(c - op.complexity)
    if not idx:
        return
    idx = [i for i, good in zip(idx, op.accepts(V), strict=True) if good] if op.accepts else idx
    with np.errstate(all="ignore"):
        values = op.numpy(np.array([pool.values[i] for i in idx])) if idx else np.zeros((0, len(pool.y)))
    pool.offer(c, lambda k: (name, pool.trees[idx[k]]), values)


def _binary(pool: Pool, name: str, a: int, b: int, c: int, chunk: int = 20000) -> None:
    op = OPS[name]
    commutative = name in ("add", "mul")
    if commutative and a > b:
        return  # each unordered pair once
    ia, A = pool.level(a)
    ib, B = pool.level(b)
    if op.accepts is not None and ia:  # pow: positive bases only
        good = op.accepts(A)
        ia, A = [i for i, g in zip(ia, good, strict=True) if g], A[good]
    if not ia or not ib:
        return
    left, right = np.meshgrid(np.arange(len(ia)), np.arange(len(ib)), indexing="ij")
    left, right = left.ravel(), right.ravel()
    if commutative and a == b:
        keep = right >= left
        left, right = left[keep], right[keep]
    for s in range(0, len(left), chunk):
        li, ri = left[s:s + chunk], right[s:s + chunk]
        with np.errstate(all="ignore"):
            values = op.numpy(A[li], B[ri])
        pool.offer(c, lambda k, li=li, ri=ri: (name, pool.trees[ia[li[k]]], pool.trees[ib[ri[k]]]), values)


def tree_candidates(problem: Problem, pool: Pool, *, per_complexity: int = 4, firsts: int = 40,
                    pairs: int = 12, small: int = 6) -> list[Candidate]:
    """The best single trees of each complexity and the best pairs, fitted and scored on ``problem``.

    Pairs start from the ``firsts`` best single trees and from every tree of complexity up to ``small``."""
    V = np.array(pool.values)
    comp = np.array(pool.complexity)
    r = correlation(V, pool.y)
    chosen: list[int] = []
    for c in sorted(set(comp.tolist())):
        idx = np.flatnonzero(comp == c)
        chosen += idx[np.argsort(-r[idx])[:per_complexity]].tolist()
    out = [_fit(problem, pool, [i], "tree") for i in chosen]
    best = set(np.argsort(-r)[:firsts].tolist()) | set(np.flatnonzero(comp <= small).tolist())
    found = []
    squares = np.sum(V**2, axis=1)
    for i in best:
        j, score = _best_partner(V, squares, pool.y, i)
        if j is not None:
            found.append((score, int(i), j))
    found.sort(reverse=True)
    out += [_fit(problem, pool, [i, j], "pair") for _, i, j in found[:pairs]]
    return [c for c in out if c is not None]


def _best_partner(V: np.ndarray, squares: np.ndarray, y: np.ndarray, i: int) -> tuple[int | None, float]:
    """The tree ``g`` that best completes ``y = a f_i + b g + c``, and the share of the rest it explains.

    With ``Q`` an orthonormal basis of ``1, f_i``, the residual ``r`` of ``y`` is orthogonal to ``Q``,
    so ``g``'s part of it is ``(g . r) / |g - Q Q^T g|`` with ``|g - Q Q^T g|^2 = |g|^2 - |Q^T g|^2``
    (``squares``: every ``|g|^2``)."""
    Q, _ = np.linalg.qr(np.column_stack([np.ones(V.shape[1]), V[i]]))
    r = y - Q @ (Q.T @ y)
    size = np.linalg.norm(r)
    if size == 0:
        return None, 0.0
    with np.errstate(all="ignore"):
        rest = squares - np.sum((V @ Q) ** 2, axis=1)
        valid = rest > 1e-9 * (1 + squares)  # cancellation leaves about 1e-16 * squares
        score = np.where(valid, np.abs(V @ r) / np.sqrt(np.where(valid, rest, 1.0)) / size, 0.0)
    j = int(np.argmax(score))
    return j, float(score[j])


def _fit(problem: Problem, pool: Pool, idx: list[int], method: str) -> Candidate | None:
    import sympy

    exprs: list[Any] = [sympy.Integer(1)] + [to_sympy(pool.trees[i], problem.symbols) for i in idx]
    if any(e.is_number for e in exprs[1:]):
        return None
    complexity = sum(pool.complexity[i] for i in idx) + 2 * len(idx) + 1  # a coefficient and a sum per term
    return problem.candidate(exprs, method, complexity)
