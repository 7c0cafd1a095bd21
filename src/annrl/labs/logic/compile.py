"""Boolean functions as truth tables, and their compilation into exact threshold networks.

A threshold unit (McCulloch & Pitts, 1943) outputs ``step(w . x + b)``: 1 when ``w . x + b >= 0``,
else 0 (annrl's ``"step"`` activation). :func:`compile_function` builds, by construction, a network of
such units that computes a given function exactly on every row of its truth table:

- **Depth 1** when every output is *linearly separable*: one unit per output. Separability is an
  LP feasibility problem (``w . x + b >= 0`` on the rows where the output is 1, ``<= -1`` where it
  is 0), solved exactly by HiGHS; the smallest integer weights are then found by an integer program.
- **Depth 2** otherwise (a single unit cannot; two layers always can). Hidden units come from these
  constructions, the smallest kept: the minimal sum of products (one AND unit per product term, an OR
  output); the minimal product of sums (OR units, an AND output); for functions of the number of
  true *literals* (parity, majority, XNOR...), one "at least k" unit per change of the function's
  value along that count, read by an output with alternating weights (parity of n bits: n units
  instead of 2^(n-1) terms); and, when those need more than 2 units and there are at most
  :data:`COVER_MAX_VARIABLES` inputs, a *threshold cover*: a sum of products whose terms may be any
  threshold unit, chosen greedily by an integer program (:func:`cover_units`). Every unit is then
  dropped in turn if every output can still be computed from the others (an LP per output), and the
  output weights are the smallest integers that work.

Width is justified as far as it can be cheaply: a non-separable function needs at least 2 hidden
units in a layered network (one unit gives ``step(v h + c)``, which is ``h``, ``not h`` or a
constant: separable again), so a width of 2 is proved minimal; larger widths are upper bounds,
reported with that lower bound next to them.

Truth tables list rows in binary counting order with the first variable as the most significant
bit: for ``(a, b)`` the rows are 00, 01, 10, 11.
"""

from __future__ import annotations

import itertools
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
from sympy.logic import POSform, SOPform

from annrl.nn import ActivationLayer, Dense, Network
from annrl.symbolic.boolean import BooleanFunction, describe

#: integer weights are searched in [-WEIGHT_BOUND, WEIGHT_BOUND]
WEIGHT_BOUND = 10_000
#: at most this many combinations of per-output constructions are tried (else the smallest of each)
MAX_COMBINATIONS = 27
#: weights of the units found by the threshold cover are searched in [-COVER_WEIGHT, COVER_WEIGHT]
COVER_WEIGHT = 64.0
#: the threshold cover (one integer program per unit, a binary per row) is tried up to this many variables
COVER_MAX_VARIABLES = 6


# -- one threshold unit ---------------------------------------------------------------------


def separable(features: np.ndarray, target: np.ndarray) -> bool:
    """Whether one threshold unit ``step(w . h + b)`` computes ``target`` exactly on these rows.

    Parameters
    ----------
    features : ndarray, shape (R, k)
        The unit's inputs on each row (0/1).
    target : ndarray of bool, shape (R,)
    """
    return _threshold_lp(features, target) is not None


def _constraints(features: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A [w, b] <= c``: ``-(w.h + b) <= 0`` where the target is 1, ``w.h + b <= -1`` where it is 0."""
    target = np.asarray(target, dtype=bool)
    rows = np.column_stack([features, np.ones(len(features))])
    A = np.where(target[:, None], -rows, rows)
    c = np.where(target, 0.0, -1.0)
    return A, c


def _threshold_lp(features: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    from scipy.optimize import linprog

    A, c = _constraints(features, target)
    result = linprog(np.zeros(A.shape[1]), A_ub=A, b_ub=c, bounds=[(None, None)] * A.shape[1], method="highs")
    return result.x if result.status == 0 else None


def threshold_unit(features: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The smallest integer weights ``(w (k,), b)`` (least ``sum |w| + |b|``) of a unit computing
    ``target`` from ``features`` ``(R, k)``; None when no unit can (not linearly separable)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    features = np.asarray(features, dtype=float)
    lp = _threshold_lp(features, target)
    if lp is None:
        return None
    A, c = _constraints(features, target)
    k1 = A.shape[1]
    # variables [u (k+1), v (k+1)] >= 0 with [w, b] = u - v; minimise sum(u + v)
    result = milp(np.ones(2 * k1), integrality=np.ones(2 * k1),
                  constraints=LinearConstraint(np.hstack([A, -A]), -np.inf, c),
                  bounds=Bounds(0, WEIGHT_BOUND), options={"time_limit": 10.0})
    if result.x is None:  # no integer solution in the bounds or time: the exact LP weights still work
        return lp[:-1], float(lp[-1])
    wb = np.round(result.x[:k1] - result.x[k1:])
    return wb[:-1], float(wb[-1])


# -- hidden units from constructions --------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A hidden threshold unit: weights ``(n,)``, bias, and the column it computes on the table."""

    weight: tuple[float, ...]
    bias: float
    column: tuple[bool, ...]


def _unit(weight: np.ndarray, bias: float, X: np.ndarray) -> Unit:
    column = X @ weight + bias >= 0
    return Unit(tuple(float(w) for w in weight), float(bias), tuple(bool(v) for v in column))


def literal_unit(n: int, literals: dict[int, bool], at_least: int, X: np.ndarray) -> Unit:
    """``[number of true literals >= at_least]``; ``literals`` maps a variable to True (x) or False (~x).

    With weights +1 (x) and -1 (~x), ``sum = true literals - (negated ones)``, so the bias is
    ``negated - at_least``. AND of all literals is ``at_least = len``, OR is ``at_least = 1``.
    """
    weight = np.zeros(n)
    for var, positive in literals.items():
        weight[var] = 1.0 if positive else -1.0
    negated = sum(1 for positive in literals.values() if not positive)
    return _unit(weight, float(negated - at_least), X)


def _term_literals(term: Any, index: dict[str, int]) -> dict[int, bool]:
    parts = term.args if isinstance(term, (sympy.And, sympy.Or)) else (term,)
    return {index[str(p.args[0] if isinstance(p, sympy.Not) else p)]: not isinstance(p, sympy.Not) for p in parts}


def sop_units(fn: BooleanFunction, j: int) -> list[Unit]:
    """One AND unit per term of output ``j``'s minimal sum of products (read by an OR output)."""
    X, n, index = fn.X, len(fn.inputs), {name: i for i, name in enumerate(fn.inputs)}
    rows = X.astype(int)
    sop = SOPform([sympy.Symbol(v) for v in fn.inputs], rows[fn.table[:, j]].tolist())
    terms = sop.args if isinstance(sop, sympy.Or) else (sop,)
    units = []
    for term in terms:
        literals = _term_literals(term, index)
        units.append(literal_unit(n, literals, len(literals), X))
    return units


def pos_units(fn: BooleanFunction, j: int) -> list[Unit]:
    """One OR unit per clause of output ``j``'s minimal product of sums (read by an AND output)."""
    X, n, index = fn.X, len(fn.inputs), {name: i for i, name in enumerate(fn.inputs)}
    rows = X.astype(int)
    pos = POSform([sympy.Symbol(v) for v in fn.inputs], rows[fn.table[:, j]].tolist())
    clauses = pos.args if isinstance(pos, sympy.And) else (pos,)
    return [literal_unit(n, _term_literals(clause, index), 1, X) for clause in clauses]


def relevant_variables(fn: BooleanFunction, j: int) -> list[int]:
    """The variables output ``j`` depends on (flipping one changes the output on some row)."""
    n, column, rows = len(fn.inputs), fn.table[:, j], np.arange(2 ** len(fn.inputs))
    return [i for i in range(n) if np.any(column != column[rows ^ (1 << (n - 1 - i))])]


def count_units(fn: BooleanFunction, j: int) -> list[Unit] | None:
    """Units ``[true literals >= k]`` when output ``j`` depends only on how many literals are true.

    Tries every polarity of the relevant variables (``x`` or ``~x``) and keeps the one needing fewest
    units: one per count ``k`` where the output changes between ``k - 1`` and ``k``. None if none works.
    """
    X, n, column = fn.X, len(fn.inputs), fn.table[:, j]
    relevant = relevant_variables(fn, j)
    if not relevant:
        return None
    best = None
    for signs in itertools.product([True, False], repeat=len(relevant) - 1):
        polarity = dict(zip(relevant, (True, *signs), strict=True))  # a polarity and its flip are the same
        literal_values = np.column_stack([X[:, v] if pos else 1 - X[:, v] for v, pos in polarity.items()])
        count = literal_values.sum(axis=1).astype(int)
        # every count 0..r occurs (the table has every row), so the output is a function of the
        # count exactly when no count has both values
        value = np.full(len(relevant) + 1, -1)
        value[count[~column]] = 0
        if np.any(column[value[count] == 0]):
            continue
        value[count[column]] = 1
        changes = [k for k in range(1, len(value)) if value[k] != value[k - 1]]
        units = [literal_unit(n, polarity, k, X) for k in changes]
        if best is None or len(units) < len(best):
            best = units
    return best


def cover_units(fn: BooleanFunction, j: int, *, complement: bool = False, limit: int | None = None,
                ) -> list[Unit] | None:
    """Threshold units whose OR is output ``j`` (AND of units, with ``complement``), chosen greedily.

    Like a sum of products whose terms may be any threshold function, not only conjunctions: each
    step finds (an integer program) the threshold unit that is 1 on no row where the output is 0 and
    on as many not yet covered rows where it is 1 as it can. With ``complement`` the same is done for
    the negated output and the units are negated: ``f = AND(not t_i)``. Gives up (None) when it
    needs more than ``limit`` units.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    X, n = fn.X, len(fn.inputs)
    target = fn.table[:, j] != complement
    ones, zeros = np.flatnonzero(target), np.flatnonzero(~target)
    big = (n + 1) * COVER_WEIGHT + 1.0
    covered = np.zeros(len(X), dtype=bool)
    units: list[Unit] = []
    while not covered[ones].all():
        if limit is not None and len(units) >= limit:
            return None
        # variables [w (n), b, s (ones)]: s_r = 1 forces w.x_r + b >= 0; zeros need w.x + b <= -1
        gain = np.where(covered[ones], -1e-3, -1.0)  # prefer new rows; old ones only break ties
        cost = np.concatenate([np.zeros(n + 1), gain])
        rows_one = np.column_stack([X[ones], np.ones(len(ones))])
        rows_zero = np.column_stack([X[zeros], np.ones(len(zeros))])
        A = np.vstack([np.hstack([-rows_one, big * np.eye(len(ones))]),
                       np.hstack([rows_zero, np.zeros((len(zeros), len(ones)))])])
        upper = np.concatenate([np.full(len(ones), big), np.full(len(zeros), -1.0)])
        lower = np.concatenate([np.full(len(ones), -np.inf), np.full(len(zeros), -np.inf)])
        bounds = Bounds(np.concatenate([np.full(n + 1, -COVER_WEIGHT), np.zeros(len(ones))]),
                        np.concatenate([np.full(n + 1, COVER_WEIGHT), np.ones(len(ones))]))
        integrality = np.concatenate([np.zeros(n + 1), np.ones(len(ones))])
        with _quiet_stdout():
            result = milp(cost, integrality=integrality, constraints=LinearConstraint(A, lower, upper),
                          bounds=bounds, options={"time_limit": 1.0})
        column = None
        if result.x is not None:
            column = (X @ result.x[:n] + result.x[n] >= -0.5) & target
        if column is None or not column[ones][~covered[ones]].any():
            column = np.zeros(len(X), dtype=bool)  # solver gave up: cover one row by its own AND unit
            column[ones[~covered[ones]][0]] = True
        unit = threshold_unit(X, column)
        if unit is None:  # numerically borderline: fall back to the row's AND unit
            column = np.zeros(len(X), dtype=bool)
            column[ones[~covered[ones]][0]] = True
            unit = threshold_unit(X, column)
        w, b = unit
        covered |= column
        units.append(_unit(-w, -b - 1.0, X) if complement else _unit(w, b, X))  # not(z >= 0) is (-z - 1 >= 0)
    return units


# -- the compiled network -------------------------------------------------------------------


@dataclass
class CompiledNetwork:
    """An exact threshold network for a :class:`BooleanFunction`, and the evidence for it.

    Attributes
    ----------
    net : Network
        ``P = 1``; ``Dense`` + ``step`` layers (one pair for depth 1, two for depth 2).
    function : BooleanFunction
    depth : int
        Layers of threshold units: 1 (every output separable) or 2.
    hidden : int
        Hidden units (0 at depth 1).
    hidden_lower_bound : int
        Proven least width: 0 at depth 1, else 2.
    construction : str
        Where the hidden units came from: "single neuron", "sum of products", "product of sums",
        "literal count", or several joined by "+" for several outputs.
    hidden_labels : list of str
        The function each hidden unit computes on the table, as a formula.
    exact : bool
        The network's output equals the table on every row.
    errors : int
        Rows x outputs where it does not (0 when exact).
    separable : list of bool
        Per output: one threshold unit suffices.
    """

    net: Network
    function: BooleanFunction
    depth: int
    hidden: int
    hidden_lower_bound: int
    construction: str
    hidden_labels: list[str]
    exact: bool
    errors: int
    separable: list[bool] = field(default_factory=list)

    @property
    def minimal(self) -> bool:
        """True when the width is proved minimal (it equals the lower bound)."""
        return self.hidden == self.hidden_lower_bound


def compile_function(fn: BooleanFunction) -> CompiledNetwork:
    """Build an exact threshold network for ``fn`` by construction (see the module docstring).

    Parameters
    ----------
    fn : BooleanFunction
        ``n`` inputs, ``m`` outputs.

    Returns
    -------
    CompiledNetwork
        Its ``net`` maps ``(N, n)`` 0/1 inputs to ``(1, N, m)`` 0/1 outputs.

    Examples
    --------
    >>> from annrl.symbolic.boolean import gate
    >>> compiled = compile_function(gate("xor"))
    >>> compiled.depth, compiled.hidden, compiled.exact, compiled.minimal
    (2, 2, True, True)
    """
    X, table, m = fn.X, fn.table, len(fn.outputs)
    singles = [threshold_unit(X, table[:, j]) for j in range(m)]
    is_separable = [s is not None for s in singles]
    if all(is_separable):
        weight = np.column_stack([s[0] for s in singles])
        bias = np.array([[s[1] for s in singles]])
        net = _network([(weight, bias)])
        return _finish(net, fn, 1, 0, "single neuron", [], is_separable)

    # per output, its candidate constructions; a separable output's own unit is its only candidate
    options: list[dict[str, list[Unit]]] = []
    for j in range(m):
        if is_separable[j]:
            w, b = singles[j]
            options.append({"single neuron": [_unit(w, b, X)]})
            continue
        candidates = {"sum of products": sop_units(fn, j), "product of sums": pos_units(fn, j)}
        counted = count_units(fn, j)
        if counted is not None:
            candidates["literal count"] = counted
        known = min(len(units) for units in candidates.values())
        if known > 2 and len(fn.inputs) <= COVER_MAX_VARIABLES:  # 2 is proved minimal; else try (slower)
            for name, complement in (("threshold cover (OR)", False), ("threshold cover (AND)", True)):
                covered = cover_units(fn, j, complement=complement, limit=known)
                if covered is not None:
                    candidates[name] = covered
        options.append(candidates)
    # every combination of choices (a few), each pruned; outputs share the hidden layer
    best: tuple[list[Unit], list[str]] | None = None
    choices = list(itertools.product(*(list(o) for o in options)))
    if len(choices) > MAX_COMBINATIONS:
        choices = [tuple(min(o, key=lambda key, o=o: len(o[key])) for o in options)]
    for choice in choices:
        pool = _unique([u for o, key in zip(options, choice, strict=True) for u in o[key]])
        units = _prune(pool, table)
        if best is None or len(units) < len(best[0]):
            best = (units, list(choice))
    units, names = best
    H = np.array([u.column for u in units], dtype=float).T  # (rows, k)
    readout = [threshold_unit(H, table[:, j]) for j in range(m)]
    hidden_w = np.array([u.weight for u in units]).T  # (n, k)
    hidden_b = np.array([[u.bias for u in units]])
    out_w = np.column_stack([r[0] for r in readout])
    out_b = np.array([[r[1] for r in readout]])
    net = _network([(hidden_w, hidden_b), (out_w, out_b)])
    labels = [describe(fn.inputs, u.column) for u in units]
    construction = " + ".join(dict.fromkeys(names))
    return _finish(net, fn, 2, len(units), construction, labels, is_separable)


def _unique(units: list[Unit]) -> list[Unit]:
    """Drop constant units and units computing a column already computed."""
    seen, kept = set(), []
    for u in units:
        if u.column in seen or all(u.column) or not any(u.column):
            continue
        seen.add(u.column)
        kept.append(u)
    return kept


def _prune(units: list[Unit], table: np.ndarray) -> list[Unit]:
    """Drop each unit in turn (widest fan-in first) if every output stays separable from the rest.

    One pass suffices: a unit that cannot be dropped now cannot be dropped from any subset either.
    """
    kept = list(units)
    order = sorted(range(len(units)), key=lambda i: -sum(w != 0 for w in units[i].weight))
    for i in order:
        trial = [u for u in kept if u is not units[i]]
        if len(trial) < 2:
            break
        H = np.array([u.column for u in trial], dtype=float).T
        if all(separable(H, table[:, j]) for j in range(table.shape[1])):
            kept = trial
    return kept


@contextmanager
def _quiet_stdout():
    """Silence file descriptor 1: HiGHS's MIP solver prints debugging lines from C++ on some problems."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _network(layers: list[tuple[np.ndarray, np.ndarray]]) -> Network:
    stack = []
    for weight, _ in layers:
        stack += [Dense(weight.shape[0], weight.shape[1]), ActivationLayer("step")]
    net = Network(stack, population=1, seed=0)
    for i, (weight, bias) in enumerate(layers):
        net.params_[f"{2 * i}.weight"][0] = weight
        net.params_[f"{2 * i}.bias"][0] = bias
    return net


def _finish(net, fn, depth, hidden, construction, labels, is_separable) -> CompiledNetwork:
    out = np.asarray(net.predict(fn.X))[0] > 0.5
    errors = int((out != fn.table).sum())
    return CompiledNetwork(net, fn, depth, hidden, 0 if depth == 1 else 2, construction, labels, errors == 0,
                           errors, is_separable)
