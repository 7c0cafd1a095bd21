"""Law extraction: the differential equations a learned vector field encodes, as SINDy finds them.

:func:`extract_law` takes a vector field ``f(x)`` (a network the dynamics lab trained, or any
callable) and the states to read it at, and for every equation ``dx_k/dt = f_k(x)``:

1. **Library**: the monomials of the state variables up to ``degree`` (a constant included), and,
   on request, ``sin`` and ``cos`` of each variable.
2. **Supports**: sequentially thresholded least squares (STLSQ, the SINDy algorithm) over a sweep of
   thresholds and forward stepwise selection, on unit-norm columns.
3. **Selection**: every support is refitted by least squares and scored on held-out states; the
   chosen equation is the simplest on the complexity/error Pareto front whose error is within
   ``tolerance x RMS(f_k)`` (or 1.5x the best error when none is).
4. **Uncertainty**. With the data's own derivative estimates (``derivatives``, as the dynamics lab
   computes them from the noisy states), the standard error of each coefficient is
   ``sqrt(se_HAC^2 + (c_field - c_data)^2)``: ``se_HAC`` is the heteroscedasticity- and
   autocorrelation-consistent (Newey-West) standard error of the regression of those estimates on
   the chosen terms (the errors of derivatives estimated from noisy states are correlated along the
   trajectory and vary with the state, which ordinary least-squares errors ignore), and
   ``c_field - c_data`` the difference between the coefficient read from the field and the one
   regressed on the data directly (what fitting the network added). Over 100 noisy Lotka-Volterra
   datasets (``benchmarks/law.py --coverage``) the 95% intervals held the truth 96% of the time at
   1% noise and 73% at 5% (too narrow there; ``docs/symbolic.md``). Without ``derivatives``, a block
   bootstrap over the states gives the spread of the field's fit only: it says how well the terms
   fit the *field*, not how far the field is from the truth, and ``interval_method`` says so.

The field is read where it was learned: the observed states, by default. A network is only
trusted near its data, and far from it (a grid over the data's hull) its errors bias the law.

:func:`resimulate` integrates the recovered equations from the first observed state, so that the
law is checked the way it will be used: as a model of the system, against the data.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from annrl.errors import InputError
from annrl.symbolic.search.base import Candidate, lstsq, pareto_front, rmse
from annrl.symbolic.search.sparse import forward_supports, stlsq_supports
from annrl.systems.base import integrate

#: thresholds (relative to the largest unit-norm coefficient) swept by STLSQ
#: the coverage the intervals of ``to_dict`` aim at, and the normal quantile that gives it
INTERVAL_LEVEL, INTERVAL_Z = 0.95, 1.959964
#: what the intervals mean, by how they were computed
INTERVAL_METHODS = {
    "data": "95% intervals from the data's own derivative regression (Newey-West errors) and the field-vs-data "
            "difference; measured to hold the truth 96% of the time at 1% noise but only 73% at 5% "
            "(benchmarks/law.py --coverage)",
    "field": "the spread of the field's own fit (block bootstrap over the states) only: it ignores the noise of "
             "the data the field was learned from and does NOT cover the truth at its stated rate",
}
THRESHOLDS = np.logspace(-3, -0.3, 25)


@dataclass(frozen=True)
class LawTerm:
    """One candidate term of an equation: its name, SymPy expression, NumPy function and complexity."""

    name: str
    expr: Any
    function: Callable[[np.ndarray], np.ndarray]
    complexity: int


@dataclass
class Law:
    """Recovered equations ``dx/dt = Theta(x) @ coefficients.T``.

    Attributes
    ----------
    variables : list of str
    terms : list of LawTerm
        The library, in column order.
    coefficients : ndarray, shape (d, n_terms)
        Zero for terms not in an equation.
    stderr : ndarray, shape (d, n_terms)
        Block-bootstrap standard errors of the coefficients (0 off the chosen terms).
    errors : list of float
        Held-out RMSE of each equation against the field.
    fronts : list of list of Candidate
        Each equation's Pareto front (complexity against held-out RMSE).
    uncertainty : {"data", "field"}
        How ``stderr`` was computed (see :data:`INTERVAL_METHODS`).
    """

    variables: list[str]
    terms: list[LawTerm]
    coefficients: np.ndarray
    stderr: np.ndarray
    errors: list[float]
    fronts: list[list[Candidate]]
    uncertainty: str = "field"

    def __call__(self, states: Any) -> np.ndarray:
        """The recovered field at ``states`` ``(d,)`` or ``(..., d)``."""
        x = np.asarray(states, dtype=float)
        flat = x.reshape(-1, x.shape[-1])
        return (library_matrix(self.terms, flat) @ self.coefficients.T).reshape(x.shape)

    @property
    def equations(self) -> list[Any]:
        """One SymPy expression per variable: the right-hand side of ``d var / dt``."""
        return [sympy.Add(*[sympy.Float(c, 6) * term.expr for c, term in zip(row, self.terms, strict=True) if c])
                for row in self.coefficients]

    def equation_text(self) -> list[str]:
        """One line per variable, ``dx/dt = ...``."""
        return [f"d{v}/dt = {sympy.sstr(e)}" for v, e in zip(self.variables, self.equations, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        """JSON: ``coefficients`` as ``{"x'": {"x": 1.3, "x*y": -0.5}, ...}``, ``stderr`` and ``intervals``
        (``[low, high]`` at ``interval_level``) keyed the same way."""
        def by_equation(values: Any) -> dict[str, dict[str, Any]]:
            return {f"{v}'": {t.name: values(k, j) for j, t in enumerate(self.terms) if self.coefficients[k, j]}
                    for k, v in enumerate(self.variables)}

        return {"variables": self.variables, "equations": self.equation_text(),
                "terms": [t.name for t in self.terms],
                "coefficients": by_equation(lambda k, j: float(self.coefficients[k, j])),
                "stderr": by_equation(lambda k, j: float(self.stderr[k, j])),
                "intervals": by_equation(lambda k, j: [float(v) for v in self.interval(k, j)]),
                "interval_level": INTERVAL_LEVEL, "interval_method": INTERVAL_METHODS[self.uncertainty],
                "held_out_rmse": self.errors,
                "fronts": [[c.to_dict() for c in front] for front in self.fronts]}

    def interval(self, k: int, j: int) -> tuple[float, float]:
        """The ``INTERVAL_LEVEL`` interval of coefficient ``j`` of equation ``k``: estimate +- z * stderr."""
        half = INTERVAL_Z * float(self.stderr[k, j])
        return float(self.coefficients[k, j]) - half, float(self.coefficients[k, j]) + half


def polynomial_terms(variables: list[str], degree: int, trig: bool = False) -> list[LawTerm]:
    """The constant, every monomial of ``variables`` up to ``degree``, and (``trig``) sin/cos of each."""
    symbols = sympy.symbols(variables)
    terms = [LawTerm("1", sympy.Integer(1), lambda X: np.ones(len(X)), 1)]
    for d in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(range(len(variables)), d):
            powers = {i: combo.count(i) for i in sorted(set(combo))}
            name = "*".join(variables[i] + (f"^{p}" if p > 1 else "") for i, p in powers.items())
            expr = sympy.Mul(*[symbols[i] ** p for i, p in powers.items()])
            terms.append(LawTerm(name, expr, _monomial(powers), d))
    if trig:
        for i, v in enumerate(variables):
            terms.append(LawTerm(f"sin({v})", sympy.sin(symbols[i]), lambda X, i=i: np.sin(X[:, i]), 2))
            terms.append(LawTerm(f"cos({v})", sympy.cos(symbols[i]), lambda X, i=i: np.cos(X[:, i]), 2))
    return terms


def _monomial(powers: dict[int, int]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda X: np.prod([X[:, i] ** p for i, p in powers.items()], axis=0)


def library_matrix(terms: list[LawTerm], X: np.ndarray) -> np.ndarray:
    """``Theta(X)``: one column per term, ``(n, n_terms)``."""
    return np.column_stack([t.function(X) for t in terms])


def extract_law(field: Callable[[np.ndarray], np.ndarray], states: Any, *, variables: list[str] | None = None,
                degree: int = 2, trig: bool = False, tolerance: float = 0.01, holdout: float = 0.25,
                bootstrap: int = 200, blocks: int = 10, rng: np.random.Generator | None = None,
                derivatives: Any = None) -> Law:
    """The sparse equations of ``field`` read at ``states`` ``(n, d)`` (see the module docstring).

    ``field`` maps ``(n, d)`` states to ``(n, d)`` derivatives: a learned field
    (:class:`annrl.systems.learned.LearnedField`) or any other. ``derivatives`` ``(n, d)``, the data's
    own derivative estimates at ``states`` in time order, give standard errors that account for the
    data's noise (without them, only the field's fit is measured).
    """
    X = np.asarray(states, dtype=float)
    if X.ndim != 2 or len(X) < 2 * blocks:
        raise InputError(f"states must have shape (n, d) with n >= {2 * blocks}, got {X.shape}")
    d = X.shape[1]
    variables = list(variables) if variables is not None else [f"x{i}" for i in range(d)]
    if len(variables) != d:
        raise InputError(f"{len(variables)} variable names for {d} state variables")
    if not 1 <= degree <= 5:
        raise InputError.invalid("degree", "between 1 and 5", degree)
    F = np.asarray(field(X), dtype=float).reshape(X.shape)
    if not np.all(np.isfinite(F)):
        raise InputError("the field is not finite at every state")
    rng = rng if rng is not None else np.random.default_rng(0)
    terms = polynomial_terms(variables, degree, trig)
    A = library_matrix(terms, X)
    order = rng.permutation(len(X))
    cut = int(len(X) * (1 - holdout))
    train, test = order[:cut], order[cut:]
    D = None if derivatives is None else np.asarray(derivatives, dtype=float)
    if D is not None and (D.shape != X.shape or not np.all(np.isfinite(D))):
        raise InputError(f"derivatives must be finite, of the states' shape {X.shape}, got {D.shape}")
    coefficients, stderr = np.zeros((d, len(terms))), np.zeros((d, len(terms)))
    errors, fronts = [], []
    for k in range(d):
        support, error, front = _select(A, F[:, k], train, test, terms, tolerance)
        coefficients[k, support] = lstsq(A[:, support], F[:, k])
        if D is None:
            stderr[k, support] = _bootstrap_stderr(A[:, support], F[:, k], bootstrap, blocks, rng)
        else:
            stderr[k, support] = data_stderr(A[:, support], D[:, k], coefficients[k, support])
        errors.append(error)
        fronts.append(front)
    return Law(variables, terms, coefficients, stderr, errors, fronts, "field" if D is None else "data")


def _select(A: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, terms: list[LawTerm],
            tolerance: float) -> tuple[list[int], float, list[Candidate]]:
    """The chosen support of one equation, its held-out RMSE and the Pareto front it was chosen from."""
    supports = set(stlsq_supports(A[train], y[train], THRESHOLDS))
    supports |= set(forward_supports(A[train], y[train], min(8, A.shape[1])))
    candidates, by_terms = [], {}
    for s in supports:
        coef = lstsq(A[train][:, s], y[train])
        names = [terms[j].name for j in s]
        candidate = Candidate(names, [float(c) for c in coef], sum(terms[j].complexity for j in s),
                              rmse(A[test][:, s] @ coef, y[test]))
        candidates.append(candidate)
        by_terms[tuple(names)] = list(s)
    front = pareto_front(candidates)
    limit = max(tolerance * float(np.sqrt(np.mean(y**2))), 1.5 * min(c.error for c in front))
    chosen = next(c for c in front if c.error <= limit)
    return by_terms[tuple(chosen.terms)], chosen.error, front


def _bootstrap_stderr(A: np.ndarray, y: np.ndarray, rounds: int, blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Standard deviation of the least-squares coefficients over block-bootstrap resamples of the rows."""
    pieces = np.array_split(np.arange(len(y)), blocks)
    fits = []
    for _ in range(rounds):
        rows = np.concatenate([pieces[b] for b in rng.integers(0, blocks, size=blocks)])
        fits.append(lstsq(A[rows], y[rows]))
    return np.std(fits, axis=0, ddof=1)


def data_stderr(A: np.ndarray, y: np.ndarray, from_field: np.ndarray, lags: int | None = None) -> np.ndarray:
    """``sqrt(se_HAC^2 + (from_field - c)^2)`` for the regression ``y ~ A c`` (see the module docstring).

    Parameters
    ----------
    A : ndarray, shape (n, m)
        The chosen terms at the states, in time order.
    y : ndarray, shape (n,)
        The data's derivative estimates of one variable.
    from_field : ndarray, shape (m,)
        The coefficients read from the field.
    lags : int, optional
        Bandwidth of the Bartlett kernel; default the Newey-West rule ``floor(4 (n / 100)^(2/9))``
        (Andrews' AR(1) plug-in rule was tried: it changed no coverage at 5% noise).

    Returns
    -------
    ndarray, shape (m,)
    """
    n = len(y)
    c = lstsq(A, y)
    scores = A * (y - A @ c)[:, None]
    lags = int(np.floor(4 * (n / 100) ** (2 / 9))) if lags is None else lags
    meat = scores.T @ scores
    for lag in range(1, min(lags, n - 1) + 1):
        cross = scores[lag:].T @ scores[:-lag]
        meat += (1 - lag / (lags + 1)) * (cross + cross.T)
    bread = np.linalg.pinv(A.T @ A)
    hac = np.sqrt(np.clip(np.diag(bread @ meat @ bread), 0.0, None))
    return np.sqrt(hac**2 + (np.asarray(from_field) - c) ** 2)


def resimulate(law: Law, x0: Any, t: np.ndarray) -> np.ndarray:
    """The recovered equations integrated from ``x0`` at times ``t``, ``(n, d)``; NaN after a blow-up."""
    try:
        return integrate(law, np.asarray(x0, dtype=float), np.asarray(t, dtype=float))
    except RuntimeError:
        return np.full((len(t), len(np.atleast_1d(x0))), np.nan)


def coefficient_errors(law: Law, truth: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Relative error of every true coefficient (``{variable: {term: value}}``) and the largest
    spurious coefficient (a term the truth does not have)."""
    index = {t.name: j for j, t in enumerate(law.terms)}
    relative, spurious = {}, 0.0
    for k, v in enumerate(law.variables):
        wanted = truth.get(v, {})
        for name, value in wanted.items():
            relative[f"{v}:{name}"] = abs(law.coefficients[k, index[name]] - value) / abs(value)
        for j, term in enumerate(law.terms):
            if term.name not in wanted:
                spurious = max(spurious, abs(float(law.coefficients[k, j])))
    return {"relative": relative, "max_relative": max(relative.values()), "largest_spurious": spurious}
