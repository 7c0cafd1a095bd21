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
from annrl.symbolic.exact import _try_simplify
from annrl.symbolic.search.base import Candidate, Problem, function, lstsq, pareto_front, rmse, split_terms
from annrl.symbolic.search.constants import round_constants
from annrl.symbolic.search.powerlaw import power_law_candidates
from annrl.symbolic.search.separable import Oracle, new_variable, separable, slice_oracle, symmetries
from annrl.symbolic.search.sparse import forward_supports, sparse_candidates, stlsq_supports
from annrl.symbolic.search.trees import grow, tree_candidates

__all__ = ["Candidate", "FormulaExtraction", "extract_formula", "fit_formula", "forward_supports", "formula_inputs",
           "network_function", "pareto_front", "stlsq_supports"]

_lstsq, _rmse = lstsq, rmse  # the names the law extractor imports

MAX_INPUTS = 3
#: the largest tree enumerated, by number of inputs (the pool grows about 3x per step)
TREE_COMPLEXITY = {1: 10, 2: 8, 3: 7}
#: library degree, by number of inputs
DEGREE = {1: 6, 2: 4, 3: 3}
#: a model within the tolerance this short is not split further (splitting is for forms the searches cannot reach)
SHORT = 12
#: a more complex model is chosen when its error is smaller by this factor per unit of complexity
GAIN = 2.0


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
        return sympy.latex(self.expression)

    def summary(self) -> str:
        """One line: the formula found, or that none met the tolerance and the best approximation."""
        if self.recovered:
            return f"y = {self.expression} (held-out error {self.relative_error:.3g} x std(y))"
        return (f"no formula within {self.tolerance:g}; best approximation: {self.expression} "
                f"error {self.relative_error:.3g} x std(y)")

    def to_dict(self, most_rejected: int = 100) -> dict[str, Any]:
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


class _Search:
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
    search = _Search(tolerance=tolerance, max_terms=max_terms, degree=degree, seconds=max_seconds, rng=rng,
                     per_level=per_level)
    limit = search.limit(problem)
    found = search.candidates(problem)
    best = choose(found, limit)
    short = best is not None and best.error <= limit and best.complexity <= SHORT
    if n >= 2 and not short and not search.solved(found, problem):  # a long or inexact fit may hide an exact form
        oracle_ = Oracle(oracle or _interpolant(problem.X, problem.y), list(zip(X.min(0), X.max(0), strict=True)))
        found += _split_by_separability(X, y, problem, oracle_, search, rng, names)
        if not search.solved(found, problem):
            found += _reduce_by_symmetry(X, y, problem, oracle_, search, rng, names)
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


def _split_by_separability(X: np.ndarray, y: np.ndarray, problem: Problem, oracle: Oracle, search: _Search,
                           rng: np.random.Generator, names: list[str]) -> list[Candidate]:
    """Where ``f = g(x_i) * h(rest)`` (or ``+``): ``g`` from a slice of the oracle, then ``h`` from the data
    divided by ``g`` (or less ``g``), an exact problem with one input fewer, searched afresh."""
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
                c, how = _split_data(X, y, problem, search, rng, names, i, kind, part)
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


def _split_data(X: np.ndarray, y: np.ndarray, problem: Problem, search: _Search, rng: np.random.Generator,
                names: list[str], i: int, kind: str, g: Any) -> tuple[Candidate | None, list[str]]:
    """The candidate ``g * h`` (or ``g + h``) with ``h`` searched on the data divided by ``g`` (or less ``g``)."""
    gi = function(g, [problem.symbols[i]])(X[:, [i]])
    if kind == "mul" and (not np.all(np.isfinite(gi)) or np.any(np.abs(gi) < 1e-12 * np.max(np.abs(gi)))):
        return None, []
    rest = [k for k in range(len(names)) if k != i]
    seconds = search.deadline - time.process_time()
    sub = fit_formula(X[:, rest], y / gi if kind == "mul" else y - gi, inputs=[names[k] for k in rest],
                      tolerance=search.tolerance, max_seconds=max(seconds, 0.0), rng=rng)
    expr = g * sub.expression if kind == "mul" else g + sub.expression
    how = f"{'multiplicatively' if kind == 'mul' else 'additively'} separable in {names[i]}"
    return problem.candidate(split_terms(expr), "separable"), [how] + sub.guidance


def _reduce_by_symmetry(X: np.ndarray, y: np.ndarray, problem: Problem, oracle: Oracle, search: _Search,
                        rng: np.random.Generator, names: list[str]) -> list[Candidate]:
    """Where ``f`` depends on two inputs through one symmetric variable only, the formula of the data with one
    input fewer (an exact change of variables, searched afresh), substituted back."""
    for i, j, kind in symmetries(oracle, rng):
        seconds = search.deadline - time.process_time()
        if seconds <= 0:
            break
        U = np.delete(X, j, axis=1)
        U[:, i if i < j else i - 1] = new_variable(X, i, j, kind)
        reduced = [s for k, s in enumerate(names) if k != j]
        reduced[i if i < j else i - 1] = f"u_{names[i]}_{names[j]}"
        sub = fit_formula(U, y, inputs=reduced, tolerance=search.tolerance, max_seconds=seconds, rng=rng)
        u = sympy.Symbol(f"u_{names[i]}_{names[j]}", real=True)
        expr = sub.expression.subs(u, new_variable(problem.symbols, i, j, kind))
        c = problem.candidate(split_terms(expr), "symmetry")
        if c is not None:
            search.guidance += [f"{kind} symmetric in {names[i]}, {names[j]}"] + sub.guidance
            return [c]
    return []


def _interpolant(X: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A thin-plate spline through the points: the oracle separability is tested on when there is no network."""
    from scipy.interpolate import RBFInterpolator

    low, high = X.min(0), X.max(0)
    span = np.where(high > low, high - low, 1.0)
    rbf = RBFInterpolator((X - low) / span, y, kernel="thin_plate_spline", degree=1)
    return lambda Z: rbf((np.asarray(Z, dtype=float) - low) / span)


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
