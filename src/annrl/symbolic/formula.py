"""Formula extraction: a closed-form expression for a network, or data, of 1-3 inputs.

:func:`fit_formula` works on samples ``(X, y)``; :func:`extract_formula` takes a network (sampled
on its domain, and used as an oracle the searches may query anywhere) or a pair ``(X, y)``.

1. **Searches** (:mod:`annrl.symbolic.search`, each proposing models ``sum_k c_k term_k`` whose
   coefficients are fitted by least squares on 75% of the points): sparse regression over a library
   of terms, power laws in logarithms, and enumeration of expression trees from a primitive table
   (alone and in pairs).
2. **What the function reveals**: when no model meets the tolerance, separability (multiplicative,
   additive) and symmetry (ratio, product, difference of two inputs) are tested on the oracle (the
   network, or an interpolant of the data), and the parts are solved one at a time, recursively.
3. **Choice**: on the Pareto front of complexity against held-out RMSE, the simplest model within
   ``tolerance x std(y)``, unless a more complex one is more accurate by over 2x per unit of
   complexity (an exact formula against a series that merely fits).
4. **Constants** rounded to the simplest values (0, integers, fractions, multiples of pi) that keep
   the held-out error, then ``sympy.simplify`` where safe.
5. **Check**: the final expression on the held-out points; ``recovered`` is true only when its RMSE
   there is within ``tolerance x std(y)``. Otherwise the result is the best approximation found and
   says so.

The result is evidence (STYLE.md example 14): the expression, ``recovered``, its errors on held-out
points, its complexity, the Pareto front and every rejected candidate. The network is only read.
"""

from __future__ import annotations

import keyword
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from annrl.errors import InputError
from annrl.nn import Network
from annrl.symbolic.search.base import Candidate, Problem, function, pareto_front, rmse
from annrl.symbolic.search.guided import interpolant, reduce_by_symmetry, split_by_separability
from annrl.symbolic.search.run import SHORT, Search, choose, finish
from annrl.symbolic.search.separable import Oracle
from annrl.symbolic.search.sparse import forward_supports, stlsq_supports

__all__ = ["Candidate", "FormulaExtraction", "extract_formula", "fit_formula", "forward_supports", "formula_inputs",
           "network_function", "pareto_front", "stlsq_supports"]

MAX_INPUTS = 3
@dataclass
class FormulaExtraction:
    """What :func:`fit_formula` / :func:`extract_formula` found.

    Attributes
    ----------
    inputs : list of str
    expression : sympy.Expr
        Rounded and simplified: the formula when ``recovered``, else the best approximation.
    recovered : bool
        ``error <= tolerance * scale``: the expression meets its tolerance on held-out points.
    tolerance : float
        Relative: the RMSE allowed, as a fraction of ``scale``.
    scale : float
        ``std(y)`` of the fitted target.
    complexity : int
        ``sympy.count_ops(expression)`` (the candidates count the nodes of their trees).
    error : float
        RMSE of ``expression`` on held-out points, against the fitted target (the network, or the data).
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
    guidance : list of str
        What the function revealed (separability, symmetry) and was used.
    seconds : float
    """

    inputs: list[str]
    expression: Any
    recovered: bool
    tolerance: float
    scale: float
    complexity: int
    error: float
    max_error: float
    data_error: float | None
    chosen: Candidate
    front: list[Candidate]
    rejected: list[Candidate] = field(default_factory=list)
    rounded: list[dict[str, float]] = field(default_factory=list)
    guidance: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def relative_error(self) -> float:
        return self.error / self.scale

    def function(self) -> Callable[[Any], np.ndarray]:
        """``f(X) -> (N,)`` in NumPy."""
        f = function(self.expression, [sympy.Symbol(s, real=True) for s in self.inputs])
        return lambda X: f(np.atleast_2d(np.asarray(X, dtype=float)).reshape(-1, len(self.inputs)))

    def latex(self) -> str:
        """The chosen formula in LaTeX."""
        return sympy.latex(self.expression)

    def summary(self) -> str:
        """One line: the formula found, or that none met the tolerance and the best approximation."""
        if self.recovered:
            return f"y = {self.expression} (held-out error {self.relative_error:.3g} x std(y))"
        return (f"no formula within {self.tolerance:g}; best approximation: {self.expression} "
                f"error {self.relative_error:.3g} x std(y)")

    def to_dict(self, most_rejected: int = 100) -> dict[str, Any]:
        """The result as JSON: the formula, its errors, the Pareto front and the rejected candidates.

        Parameters
        ----------
        most_rejected : int, default=100
            How many rejected candidates to keep, the most accurate first (``rejected_total`` counts them all).
        """
        rejected = sorted(self.rejected, key=lambda c: c.error)[:most_rejected]
        return {"kind": "formula", "inputs": self.inputs, "expression": str(self.expression), "latex": self.latex(),
                "recovered": self.recovered, "tolerance": self.tolerance, "scale": self.scale,
                "relative_error": self.relative_error, "complexity": self.complexity, "error": self.error,
                "max_error": self.max_error, "data_error": self.data_error, "chosen": self.chosen.to_dict(),
                "front": [c.to_dict() for c in self.front], "rejected": [c.to_dict() for c in rejected],
                "rejected_total": len(self.rejected), "rounded": self.rounded, "guidance": self.guidance,
                "seconds": self.seconds}


def formula_inputs(n: int) -> list[str]:
    """Default input names: ``x``, ``x, y``, ``x, y, z``; beyond 3, ``x1 .. xn``."""
    return ["x", "y", "z"][:n] if n <= 3 else [f"x{i + 1}" for i in range(n)]


def check_inputs(names: list[str], n: int) -> list[str]:
    """``names`` if they are ``n`` distinct identifiers (not keywords, not starting with ``_``)."""
    names = [str(s).strip() for s in names]
    bad = [s for s in names if not s.isidentifier() or keyword.iskeyword(s) or s.startswith("_")]
    if bad or len(set(names)) != len(names) or len(names) != n:
        raise InputError.invalid("inputs", f"{n} distinct names made of letters, digits and _", ",".join(names))
    return names


def fit_formula(
    X: Any, y: Any, *, inputs: list[str] | None = None, tolerance: float = 1e-3, max_terms: int = 6,
    degree: int | None = None, holdout: float = 0.25, X_data: Any = None, y_data: Any = None,
    oracle: Callable[[np.ndarray], np.ndarray] | None = None, max_seconds: float = 40.0, per_level: int = 600,
    rng: np.random.Generator | None = None,
) -> FormulaExtraction:
    """A closed form ``y = f(X)`` for samples ``X`` ``(N, n)``, ``y`` ``(N,)``, n <= 3 (see the module docstring).

    Parameters
    ----------
    inputs : list of str, optional
        Names of the inputs (default :func:`formula_inputs`: x, y, z).
    tolerance : float, default=1e-3
        ``recovered`` needs the held-out RMSE within ``tolerance * std(y)``.
    max_terms, degree :
        Sparse regression: most terms in a model, highest monomial degree (default 6, 4, 3 for 1, 2, 3 inputs).
    oracle : callable, optional
        ``f(X (N, n)) -> (N,)`` that may be evaluated anywhere in the data's box (a network); separability is
        tested on it. Default: an interpolant of the training points (thin-plate RBF).
    X_data, y_data : array-like, optional
        Original data, reported as ``data_error`` (not used to fit).
    max_seconds : float, default=40
        CPU seconds after which the problem is not split further (the direct searches always run).
    per_level : int, default=600
        Trees kept per complexity in the enumeration.
    """
    start = time.monotonic()
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    y = np.asarray(y, dtype=float).reshape(-1)
    n = X.shape[1]
    if not 1 <= n <= MAX_INPUTS:
        raise InputError.invalid("number of inputs", f"between 1 and {MAX_INPUTS}", n)
    names = check_inputs(list(inputs) if inputs is not None else formula_inputs(n), n)
    if len(y) != len(X) or len(X) < 8:
        raise InputError(f"X has {len(X)} rows and y {len(y)} values: they must agree, and be at least 8")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise InputError("X and y must be finite (no NaN or infinity)")
    if not 0 < tolerance < 1:
        raise InputError.invalid("tolerance", "in (0, 1)", tolerance)
    rng = rng if rng is not None else np.random.default_rng(0)
    order = rng.permutation(len(X))
    cut = int(len(X) * (1 - holdout))
    train, test = order[:cut], order[cut:]
    symbols = [sympy.Symbol(s, real=True) for s in names]
    problem = Problem(X[train], y[train], X[test], y[test], symbols)
    search = Search(tolerance=tolerance, max_terms=max_terms, degree=degree, seconds=max_seconds, rng=rng,
                     per_level=per_level)
    limit = search.limit(problem)
    found = search.candidates(problem)
    best = choose(found, limit)
    short = best is not None and best.error <= limit and best.complexity <= SHORT
    if n >= 2 and not short and not search.solved(found, problem):  # a long or inexact fit may hide an exact form
        oracle_ = Oracle(oracle or interpolant(problem.X, problem.y), list(zip(X.min(0), X.max(0), strict=True)))
        found += split_by_separability(fit_formula, X, y, problem, oracle_, search, rng, names)
        if not search.solved(found, problem):
            found += reduce_by_symmetry(fit_formula, X, y, problem, oracle_, search, rng, names)
        best = choose(found, limit)
    expr, rounded = finish(problem, best, limit)
    f = function(expr, symbols)
    values = f(X[test])
    error = rmse(values, y[test]) if np.all(np.isfinite(values)) else float("inf")
    data_error = None
    if X_data is not None and y_data is not None:
        Xd = np.asarray(X_data, dtype=float)
        data_error = rmse(f(Xd[:, None] if Xd.ndim == 1 else Xd), np.asarray(y_data, dtype=float).reshape(-1))
    max_error = float(np.max(np.abs(values - y[test]))) if np.isfinite(error) else float("inf")
    return FormulaExtraction(names, expr, bool(error <= limit), tolerance, limit / tolerance,
                             int(sympy.count_ops(expr)), error, max_error, data_error, best, pareto_front(found),
                             [c for c in found if c is not best], rounded, search.guidance,
                             time.monotonic() - start)


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
    source: Network | tuple[Any, Any], *, domain: list[tuple[float, float]] | None = None,
    inputs: list[str] | None = None, index: int = 0, output: int = 0, points: int = 600, X_data: Any = None,
    y_data: Any = None, scaling: dict[str, Any] | None = None, tolerance: float | None = None,
    rng: np.random.Generator | None = None, **options: Any,
) -> FormulaExtraction:
    """A closed form of a network's output, or of data ``(X, y)``; the network is only read.

    Parameters
    ----------
    source : Network or (X, y)
        A network: output ``output`` of network ``index``, sampled at ``points`` random inputs of ``domain``
        (default: the scaling's box, else ``[-1, 1]`` per input) and used as the oracle of the separability
        tests; ``scaling`` maps the problem's units to the network's (see :func:`network_function`).
        Data: ``X`` ``(N, n)``, ``y`` ``(N,)``, passed to :func:`fit_formula`.
    tolerance : float, optional
        Relative held-out RMSE for ``recovered``: default 1e-3 on data, 1e-2 on a network (whose own fitting
        error limits how close any formula can come to it).
    options
        Passed to :func:`fit_formula`.
    """
    if isinstance(source, tuple):
        X, y = source
        return fit_formula(X, y, inputs=inputs, tolerance=tolerance or 1e-3, X_data=X_data, y_data=y_data,
                           rng=rng, **options)
    if not isinstance(source, Network):
        raise InputError(f"extract_formula takes a Network or a pair (X, y), got {type(source).__name__}")
    net = source
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
    f = network_function(net, index, output, scaling)
    return fit_formula(X, f(X), inputs=inputs, tolerance=tolerance or 1e-2, X_data=X_data, y_data=y_data,
                       oracle=f, rng=rng, **options)
