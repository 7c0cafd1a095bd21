"""Boolean functions as truth tables: named gates, parsed expressions and minimal formulas.

A :class:`BooleanFunction` is defined by its truth table; its formulas are for display. Truth tables
list rows in binary counting order with the first variable as the most significant bit: for
``(a, b)`` the rows are 00, 01, 10, 11.

Gates (:data:`GATES`): ``and or nand nor xor xnor implies not``, ``parity<n>``, ``majority<n>``,
``mux`` (``s ? b : a``), ``mux4``, ``half_adder`` and ``full_adder`` (two outputs). Expressions use
:func:`annrl.expr.parse_expression` (``& | ~ ^ >>``, ``==``, ``Xor(...)``...; several outputs are
separated by ``;``); nothing the user types is evaluated.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import sympy
from sympy.logic import POSform, SOPform, boolalg

from annrl.errors import InputError

#: the most variables a function may have (a truth table of 256 rows)
MAX_VARIABLES = 8
#: named functions and what they compute
GATES: dict[str, str] = {
    "and": "a & b", "or": "a | b", "nand": "~(a & b)", "nor": "~(a | b)", "xor": "a ^ b",
    "xnor": "~(a ^ b)", "implies": "a >> b (not a, or b)", "not": "~a",
    "parity<n>": "odd number of n inputs true (parity = parity3)",
    "majority<n>": "more than half of n inputs true (majority = majority3)",
    "mux": "2-to-1 multiplexer: s ? b : a", "mux4": "4-to-1 multiplexer: data d0..d3 selected by s1 s0",
    "half_adder": "sum = a ^ b, carry = a & b", "full_adder": "sum = a ^ b ^ cin, cout = majority(a, b, cin)",
}

def truth_inputs(n: int) -> np.ndarray:
    """All ``2**n`` input rows ``(2**n, n)`` of 0/1 floats, first variable the most significant bit."""
    rows = np.arange(2**n)[:, None]
    return ((rows >> np.arange(n - 1, -1, -1)[None, :]) & 1).astype(float)


@dataclass(frozen=True)
class BooleanFunction:
    """A Boolean function with named inputs and outputs, held as its truth table.

    Parameters
    ----------
    inputs : tuple of str
        Variable names, in column order.
    outputs : tuple of str
        Output names.
    table : ndarray of bool, shape (2**n, m)
        ``table[k, j]``: output ``j`` on input row ``k`` of :func:`truth_inputs`.
    formulas : tuple of sympy Boolean
        One formula per output (for display; the table is the definition).
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    table: np.ndarray
    formulas: tuple[Any, ...]

    @property
    def X(self) -> np.ndarray:
        """Input rows ``(2**n, n)``, 0/1 floats."""
        return truth_inputs(len(self.inputs))

    @property
    def Y(self) -> np.ndarray:
        """Targets ``(2**n, m)``, 0/1 floats."""
        return self.table.astype(float)

    def formula_text(self) -> dict[str, str]:
        """Each output's formula as text, ``{output name: formula}``."""
        return {name: str(f) for name, f in zip(self.outputs, self.formulas, strict=True)}


def from_formulas(formulas: Sequence[Any], outputs: Sequence[str] | None = None,
                  inputs: Sequence[str] | None = None) -> BooleanFunction:
    """A :class:`BooleanFunction` from SymPy formulas (variables sorted by name unless ``inputs`` given)."""
    from annrl.expr import lambdify_numpy

    formulas = [sympy.sympify(f) if isinstance(f, bool) else f for f in formulas]
    names = list(inputs) if inputs is not None else sorted({str(s) for f in formulas for s in f.free_symbols})
    if not names:
        values = ", ".join(str(f) for f in formulas)
        raise InputError(f"expression is constant ({values}) once simplified; it must depend on a variable",
                         field="expression")
    if len(names) > MAX_VARIABLES:
        raise InputError.invalid("number of variables", f"<= {MAX_VARIABLES}", len(names))
    X = truth_inputs(len(names)).astype(bool)
    columns = [lambdify_numpy(f, names)(*X.T) for f in formulas]
    table = np.column_stack([np.broadcast_to(np.asarray(c, dtype=bool), (len(X),)) for c in columns])
    outputs = list(outputs) if outputs is not None else (["y"] if len(formulas) == 1 else
                                                          [f"y{i + 1}" for i in range(len(formulas))])
    return BooleanFunction(tuple(names), tuple(outputs), table, tuple(formulas))


def from_table(inputs: Sequence[str], table: Any, outputs: Sequence[str] | None = None) -> BooleanFunction:
    """A :class:`BooleanFunction` from a truth table ``(2**n,)`` or ``(2**n, m)``; formulas are minimised."""
    table = np.asarray(table, dtype=bool)
    table = table[:, None] if table.ndim == 1 else table
    if table.shape[0] != 2 ** len(inputs):
        raise InputError.invalid("table rows", f"2**{len(inputs)} = {2 ** len(inputs)}", table.shape[0])
    outputs = tuple(outputs) if outputs is not None else (("y",) if table.shape[1] == 1 else
                                                          tuple(f"y{i + 1}" for i in range(table.shape[1])))
    formulas = tuple(minimal_formula(inputs, table[:, j]) for j in range(table.shape[1]))
    return BooleanFunction(tuple(inputs), outputs, table, formulas)


def minimal_formula(inputs: Sequence[str], column: Any) -> Any:
    """The shorter of the minimal sum of products and product of sums of a truth-table column."""
    column = np.asarray(column, dtype=bool)
    if column.all():
        return sympy.true
    if not column.any():
        return sympy.false
    symbols = [sympy.Symbol(n) for n in inputs]
    rows = truth_inputs(len(inputs)).astype(int)
    minterms = rows[column].tolist()
    sop = SOPform(symbols, minterms)
    pos = POSform(symbols, minterms)
    return min((sop, pos), key=lambda f: (sympy.count_ops(f), len(str(f))))


def describe(inputs: Sequence[str], column: Any) -> str:
    """A truth-table column as a short formula: ``"a & ~b"``, or ``"at least 2 of (a, b, c)"`` for a
    count of literals that neither AND (all of them) nor OR (one of them) says as briefly."""
    column = np.asarray(column, dtype=bool)
    counted = at_least_label(inputs, column)
    return counted if counted is not None else str(minimal_formula(inputs, column))


def at_least_label(inputs: Sequence[str], column: Any) -> str | None:
    """``"at least k of (x, ~y, z)"`` when ``column`` is exactly that, for some ``1 < k < r`` (the ``r``
    variables it depends on, each as ``x`` or ``~x``); None otherwise."""
    column = np.asarray(column, dtype=bool)
    n = len(inputs)
    rows = np.arange(2**n)
    relevant = [i for i in range(n) if np.any(column != column[rows ^ (1 << (n - 1 - i))])]
    if len(relevant) < 3:
        return None
    X = truth_inputs(n)
    for signs in itertools.product([True, False], repeat=len(relevant)):
        count = sum(X[:, v] if pos else 1 - X[:, v] for v, pos in zip(relevant, signs, strict=True))
        for k in range(2, len(relevant)):
            if np.array_equal(count >= k, column):
                names = ", ".join(("" if pos else "~") + inputs[v] for v, pos in zip(relevant, signs, strict=True))
                return f"at least {k} of ({names})"
    return None


def _symbols(names: str) -> list[sympy.Symbol]:
    return [sympy.Symbol(n) for n in names.split()]


def _majority(variables: list[sympy.Symbol]) -> Any:
    need = len(variables) // 2 + 1
    return sympy.Or(*(sympy.And(*group) for group in combinations(variables, need)))


def gate(name: str) -> BooleanFunction:
    """The named function ``name`` (see :data:`GATES`; case-insensitive) as a truth table.

    Examples
    --------
    >>> gate("half_adder").outputs
    ('sum', 'carry')
    >>> gate("parity4").table[:, 0].astype(int).tolist()[:4]
    [0, 1, 1, 0]
    """
    key = name.strip().lower().replace("-", "_")
    a, b = _symbols("a b")
    simple = {"and": a & b, "or": a | b, "nand": boolalg.Nand(a, b), "nor": boolalg.Nor(a, b), "xor": a ^ b,
              "xnor": boolalg.Equivalent(a, b), "implies": boolalg.Implies(a, b)}
    if key in simple:
        return from_formulas([simple[key]], inputs=["a", "b"])
    if key == "not":
        return from_formulas([~a], inputs=["a"])
    if key in ("mux", "mux2"):
        s, a, b = _symbols("s a b")
        return from_formulas([(~s & a) | (s & b)], inputs=["s", "a", "b"])
    if key == "mux4":
        s1, s0, *d = _symbols("s1 s0 d0 d1 d2 d3")
        picks = [~s1 & ~s0 & d[0], ~s1 & s0 & d[1], s1 & ~s0 & d[2], s1 & s0 & d[3]]
        return from_formulas([sympy.Or(*picks)], inputs=["s1", "s0", "d0", "d1", "d2", "d3"])
    if key == "half_adder":
        return from_formulas([a ^ b, a & b], outputs=["sum", "carry"], inputs=["a", "b"])
    if key == "full_adder":
        a, b, c = _symbols("a b cin")
        return from_formulas([boolalg.Xor(a, b, c), _majority([a, b, c])], outputs=["sum", "cout"],
                             inputs=["a", "b", "cin"])
    match = re.fullmatch(r"(parity|majority)(\d*)", key)
    if match:
        n = int(match.group(2) or 3)
        if not 2 <= n <= MAX_VARIABLES:
            raise InputError.invalid(f"{match.group(1)} size", f"between 2 and {MAX_VARIABLES}", n)
        variables = [sympy.Symbol(f"x{i + 1}") for i in range(n)]
        formula = boolalg.Xor(*variables) if match.group(1) == "parity" else _majority(variables)
        return from_formulas([formula], inputs=[str(v) for v in variables])
    raise KeyError(name)


def parse_function(text: str) -> BooleanFunction:
    """A gate name or Boolean expression(s) as a :class:`BooleanFunction`.

    Parameters
    ----------
    text : str
        ``"xor"``, ``"full_adder"``, ``"(a & ~b) | (c ^ d)"``, or several expressions separated by
        ``;`` for several outputs (``"a ^ b; a & b"``). Variables are sorted by name.

    Raises
    ------
    InputError
        For an expression outside the grammar of :func:`annrl.expr.parse_expression`, with no
        variable, or with more than :data:`MAX_VARIABLES` variables.
    """
    from annrl.expr import parse_expression

    if not isinstance(text, str) or not text.strip():
        raise InputError.invalid("expression", "a gate name or a Boolean expression", text)
    try:
        return gate(text)
    except KeyError:
        pass
    parts = text.split(";")
    if any(not part.strip() for part in parts):
        raise InputError(f"expression {text!r} has an empty part between ';'", field="expression")
    formulas = [parse_expression(part, boolean=True) for part in parts]
    return from_formulas(formulas)
