"""Formula extraction: a closed-form expression for a network of 1-3 inputs, by sparse regression.

:func:`extract_formula` samples the network on its domain and hands the points to
:func:`fit_formula`, which also works on data directly:

1. **Library** (:func:`annrl.symbolic.library.build_library`): monomials, exponentials, a Gaussian,
   logarithms, and sines/cosines (alone and times ``x``) at fitted frequencies.
2. **Supports**: forward stepwise selection (the best term added at each size, up to ``max_terms``)
   and sequentially thresholded least squares (STLSQ, as SINDy) over a sweep of thresholds, and
   every one of those with one term left out.
3. **Pareto front** of complexity (sum of the terms' complexities) against RMSE on held-out points;
   the chosen model is the simplest on the front whose error is under ``tolerance x std(y)`` (or
   within 1.5x of the best when none is).
4. **Constants** are refitted by least squares, then each is rounded to the simplest value (0,
   an integer, a half, one or two decimals) that keeps the held-out error within 10% (plus
   ``0.1 x tolerance x std(y)``), the others refitted after each rounding.
5. ``sympy.simplify`` when every constant is exact (see :mod:`annrl.symbolic.exact` for why not otherwise).

The result is evidence (STYLE.md example 14): the expression, its errors against the network and
the data on held-out points, its complexity, the front and the rejected candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from annrl.errors import InputError
from annrl.expr import lambdify_numpy
from annrl.nn import Network
from annrl.symbolic.exact import _try_simplify
from annrl.symbolic.library import Term, build_library
from annrl.symbolic.logic import default_inputs

MAX_INPUTS = 3


@dataclass
class Candidate:
    """One sparse model: its terms, fitted coefficients, complexity and held-out RMSE."""

    terms: list[str]
    coefficients: list[float]
    complexity: int
    error: float

    def to_dict(self) -> dict[str, Any]:
        return {"terms": self.terms, "coefficients": self.coefficients, "complexity": self.complexity,
                "error": self.error}


@dataclass
class FormulaExtraction:
    """What :func:`fit_formula` / :func:`extract_formula` found.

    Attributes
    ----------
    inputs : list of str
    expression : sympy.Expr
        Rounded and simplified.
    complexity : int
        ``sympy.count_ops(expression)`` (the front uses the terms' table complexities).
    error : float
        RMSE of ``expression`` on held-out points, against the fitted target (the network).
    max_error : float
        Largest absolute difference there.
    data_error : float or None
        RMSE against the original data, when given.
    chosen : Candidate
        The selected model before rounding.
    front : list of Candidate
        The Pareto front, simplest first.
    rejected : list of Candidate
        Every other model evaluated.
    rounded : list of dict
        Each constant rounded: from, to.
    """

    inputs: list[str]
    expression: Any
    complexity: int
    error: float
    max_error: float
    data_error: float | None
    chosen: Candidate
    front: list[Candidate]
    rejected: list[Candidate] = field(default_factory=list)
    rounded: list[dict[str, float]] = field(default_factory=list)

    def function(self) -> Any:
        """``f(X) -> (N,)`` in NumPy."""
        f = lambdify_numpy(self.expression, self.inputs)
        return lambda X: f(*np.atleast_2d(np.asarray(X, dtype=float)).T)

    def latex(self) -> str:
        return sympy.latex(self.expression)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "formula", "inputs": self.inputs, "expression": str(self.expression), "latex": self.latex(),
                "complexity": self.complexity, "error": self.error, "max_error": self.max_error,
                "data_error": self.data_error, "chosen": self.chosen.to_dict(),
                "front": [c.to_dict() for c in self.front], "rejected": [c.to_dict() for c in self.rejected],
                "rounded": self.rounded}


def _lstsq(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    return np.linalg.lstsq(A / scale, y, rcond=None)[0] / scale


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def forward_supports(A: np.ndarray, y: np.ndarray, max_terms: int) -> list[tuple[int, ...]]:
    """Forward stepwise selection: for each size, the support after adding the best column."""
    support: list[int] = []
    supports = []
    for _ in range(min(max_terms, A.shape[1])):
        best, best_res = None, np.inf
        for j in range(A.shape[1]):
            if j in support:
                continue
            cols = support + [j]
            coef = _lstsq(A[:, cols], y)
            res = float(np.sum((A[:, cols] @ coef - y) ** 2))
            if res < best_res:
                best, best_res = j, res
        support.append(best)
        supports.append(tuple(sorted(support)))
    return supports


def stlsq_supports(A: np.ndarray, y: np.ndarray, thresholds: np.ndarray, iterations: int = 10) -> list[tuple]:
    """Sequentially thresholded least squares on unit-norm columns, one support per threshold."""
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


def pareto_front(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates no other is both simpler (or as simple) and more accurate than, simplest first."""
    front: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: (c.complexity, c.error)):
        if not front or c.error < front[-1].error:
            front.append(c)
    return front


def _simple_values(c: float) -> list[float]:
    return [0.0, float(round(c)), round(2 * c) / 2, round(c, 1), round(c, 2)]


def fit_formula(
    X: Any, y: Any, *, inputs: list[str] | None = None, max_terms: int = 6, degree: int = 3,
    tolerance: float = 0.01, holdout: float = 0.25, X_data: Any = None, y_data: Any = None,
    rng: np.random.Generator | None = None,
) -> FormulaExtraction:
    """A closed-form ``y = f(X)`` for samples ``X`` ``(N, n)``, ``y`` ``(N,)``, n <= 3 (see the module docstring).

    ``X_data, y_data``: original data, reported as ``data_error`` (not used to fit).
    """
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    y = np.asarray(y, dtype=float).reshape(-1)
    n = X.shape[1]
    names = list(inputs) if inputs is not None else default_inputs(n)
    if not 1 <= n <= MAX_INPUTS:
        raise InputError.invalid("number of inputs", f"between 1 and {MAX_INPUTS}", n)
    if len(names) != n or len(y) != len(X):
        raise InputError(f"X has {n} columns and {len(X)} rows, inputs {len(names)} names, y {len(y)} values")
    rng = rng if rng is not None else np.random.default_rng(0)
    order = rng.permutation(len(X))
    cut = int(len(X) * (1 - holdout))
    train, test = order[:cut], order[cut:]
    library = build_library(names, X[train], y[train], degree=degree)
    A = np.column_stack([t.values for t in library])
    A_test = _term_values(library, names, X[test])
    supports = set(forward_supports(A, y[train], max_terms))
    supports |= set(stlsq_supports(A, y[train], np.logspace(-3, -0.3, 25)))
    supports |= {s[:i] + s[i + 1:] for s in supports for i in range(len(s)) if len(s) > 1}  # one term fewer
    supports = {s for s in supports if len(s) <= max_terms}
    candidates = []
    for s in supports:
        coef = _lstsq(A[:, s], y[train])
        err = _rmse(A_test[:, s] @ coef, y[test])
        candidates.append(Candidate([library[j].name for j in s], [float(c) for c in coef],
                                    sum(library[j].complexity for j in s), err))
    front = pareto_front(candidates)
    limit = max(tolerance * float(np.std(y)), 1.5 * min(c.error for c in front))
    chosen = next(c for c in front if c.error <= limit)
    rejected = [c for c in candidates if c is not chosen]

    index = {t.name: j for j, t in enumerate(library)}
    cols = [index[name] for name in chosen.terms]
    coef = np.array(chosen.coefficients)
    fixed = np.zeros(len(cols), dtype=bool)
    err = chosen.error
    allowed = 1.1 * chosen.error + 0.1 * tolerance * float(np.std(y))
    rounded = []
    for k in np.argsort(np.abs(coef)):
        for value in _simple_values(coef[k]):
            trial, trial_fixed = coef.copy(), fixed.copy()
            trial[k], trial_fixed[k] = value, True
            free = ~trial_fixed
            if free.any():
                rest = y[train] - A[:, cols][:, trial_fixed] @ trial[trial_fixed]
                trial[free] = _lstsq(A[:, cols][:, free], rest)
            trial_err = _rmse(A_test[:, cols] @ trial, y[test])
            if trial_err <= allowed:
                rounded.append({"term": library[cols[k]].name, "from": float(coef[k]), "to": value})
                coef, fixed, err = trial, trial_fixed, trial_err
                break
    expr = sympy.Add(*[_number(c) * library[j].expr for c, j in zip(coef, cols, strict=True) if c != 0])
    simpler, _ = _try_simplify(expr)
    if simpler is not None and sympy.count_ops(simpler) <= sympy.count_ops(expr):
        expr = simpler
    f = lambdify_numpy(expr, names)
    values = np.asarray(f(*X[test].T), dtype=float)
    data_error = None
    if X_data is not None and y_data is not None:
        Xd = np.asarray(X_data, dtype=float)
        Xd = Xd[:, None] if Xd.ndim == 1 else Xd
        data_error = _rmse(np.asarray(f(*Xd.T), dtype=float), np.asarray(y_data, dtype=float).reshape(-1))
    return FormulaExtraction(names, expr, int(sympy.count_ops(expr)), _rmse(values, y[test]),
                             float(np.max(np.abs(values - y[test]))), data_error, chosen, front, rejected, rounded)


def _number(c: float) -> Any:
    if c == round(c * 2) / 2:
        return sympy.Rational(round(c * 2), 2)
    return sympy.Float(float(f"{c:.6g}"))


def _term_values(library: list[Term], names: list[str], X: np.ndarray) -> np.ndarray:
    columns = []
    for t in library:
        columns.append(np.broadcast_to(np.asarray(lambdify_numpy(t.expr, names)(*X.T), dtype=float), (len(X),)))
    return np.column_stack(columns)


def network_function(net: Network, index: int = 0, output: int = 0,
                     scaling: dict[str, Any] | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """``X (N, n) -> y (N,)``: output ``output`` of network ``index``, in the units of the problem.

    ``scaling`` is the affine map a lab trained the network through (``annrl approx`` writes it to
    its model file): inputs ``u = 2 (x - low) / (high - low) - 1``, output ``y = v y_scale + y_mean``.
    """
    if scaling is None:
        return lambda X: np.asarray(net.predict(X))[index][:, output]
    try:
        low, high = np.asarray(scaling["low"], dtype=float), np.asarray(scaling["high"], dtype=float)
        y_mean, y_scale = float(scaling["y_mean"]), float(scaling["y_scale"])
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"the model file's scaling is malformed ({error})") from None
    if low.shape != (net.n_inputs,) or high.shape != low.shape or not np.all(high > low):
        raise InputError(f"the model file's scaling does not fit a network of {net.n_inputs} inputs: {scaling}")
    slope = 2.0 / (high - low)
    return lambda X: np.asarray(net.predict((np.asarray(X, dtype=float) - low) * slope - 1.0))[index][:, output] \
        * y_scale + y_mean


def extract_formula(
    net: Network, *, domain: list[tuple[float, float]] | None = None, inputs: list[str] | None = None,
    index: int = 0, output: int = 0, points: int = 600, X_data: Any = None, y_data: Any = None,
    scaling: dict[str, Any] | None = None, rng: np.random.Generator | None = None, **options: Any,
) -> FormulaExtraction:
    """A closed form of output ``output`` of network ``index``, sampled at ``points`` random inputs of
    ``domain`` (default: the scaling's box, else ``[-1, 1]`` per input); ``scaling`` maps the problem's
    units to the network's (see :func:`network_function`); ``options`` go to :func:`fit_formula`.
    The network is only read."""
    n = net.n_inputs
    if domain is None and scaling is not None:
        domain = list(zip(scaling["low"], scaling["high"], strict=True))
    domain = list(domain) if domain is not None else [(-1.0, 1.0)] * n
    if len(domain) != n:
        raise InputError.invalid("domain", f"{n} (low, high) pairs", domain)
    if not 0 <= index < net.population:
        raise InputError.invalid("index", f"in [0, {net.population})", index)
    if not 0 <= output < net.n_outputs:
        raise InputError.invalid("output", f"in [0, {net.n_outputs})", output)
    rng = rng if rng is not None else np.random.default_rng(0)
    low, high = np.array(domain, dtype=float).T
    X = rng.uniform(low, high, size=(points, n))
    y = network_function(net, index, output, scaling)(X)
    return fit_formula(X, y, inputs=inputs, X_data=X_data, y_data=y_data, rng=rng, **options)
