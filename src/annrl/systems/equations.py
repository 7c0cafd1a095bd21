"""A dynamical system typed by its user: ``"x' = a*x - b*x*y; y' = d*x*y - c*y"`` and its parameters.

The equations are read by annrl's whitelist parser (:func:`annrl.expr.parse_expression`: nothing
is evaluated), one per state variable, separated by ``;`` or new lines, each written ``x' = ...``
or ``dx/dt = ...``. The left-hand sides name the state variables (1 to 6), in order. Every other
name on a right-hand side must be a parameter given a number; numbers may also be written inline.

>>> system = EquationSystem("x' = a*x - b*x*y; y' = d*x*y - c*y", {"a": 1.3, "b": 0.5, "c": 0.7, "d": 0.2})
>>> system.equations()
["x' = 1.3 x - 0.5 x y", "y' = 0.2 x y - 0.7 y"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from annrl.errors import InputError
from annrl.expr import lambdify_numpy, parse_expression

from .base import DynamicalSystem

#: the most state variables a typed system may have
MAX_STATES = 6
#: ``x' = ...`` or ``dx/dt = ...``
#: a term name that is a product of powers of state variables, e.g. "x*y^2"
_MONOMIAL = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\^\d+)?(\*[A-Za-z][A-Za-z0-9_]*(\^\d+)?)*$")
_LEFT = re.compile(r"^\s*(?:d\s*([A-Za-z][A-Za-z0-9_]*)\s*/\s*dt|([A-Za-z][A-Za-z0-9_]*)\s*')\s*$")


class EquationSystem(DynamicalSystem):
    """An autonomous ODE given as text, one equation per state variable.

    Parameters
    ----------
    equations : str or mapping of str to str
        ``"x' = a*x - b*x*y; y' = d*x*y - c*y"`` (``;`` or new lines between equations), or
        ``{"x": "a*x - b*x*y", "y": "d*x*y - c*y"}``.
    params : mapping of str to float, optional
        A number for every name of the right-hand sides that is not a state variable.
    variables : sequence of str, optional
        The state variables, in order; default: the left-hand sides, in order. Each needs an equation.

    Raises
    ------
    InputError
        One line naming the equation (its number and variable) and the problem: an unknown symbol, a
        state variable without an equation, a parameter without a number or with a non-numeric one.
    """

    def __init__(self, equations: str | Mapping[str, str], params: Mapping[str, Any] | None = None,
                 variables: Sequence[str] | None = None):
        sides = _split(equations)
        names = tuple(sides)
        if variables is not None:
            missing = [v for v in variables if v not in sides]
            if missing:
                raise InputError(f"state variable {missing[0]!r} has no equation (equations given for "
                                 f"{', '.join(names)})", field="system")
            extra = [v for v in names if v not in variables]
            if extra:
                raise InputError(f"equation for {extra[0]!r}, which is not a state variable "
                                 f"({', '.join(variables)})", field="system")
            names = tuple(variables)
        if not 1 <= len(names) <= MAX_STATES:
            raise InputError(f"system must have 1 to {MAX_STATES} state variables, got {len(names)}", field="system")
        self.names = names
        self._params = _checked_params(params or {}, names)
        self._text = {v: sides[v] for v in names}
        allowed = [*names, *self._params]
        self._raw = {}
        for number, v in enumerate(names, start=1):
            try:
                self._raw[v] = parse_expression(sides[v], allowed)
            except InputError as error:
                raise InputError(f"equation {number} ({v}'): {error}", field="system") from None
        used = set().union(*(e.free_symbols for e in self._raw.values()))
        unused = [p for p in self._params if sympy.Symbol(p) not in used]
        if unused:
            raise InputError(f"parameter {unused[0]!r} is not used by any equation", field="params")
        values = {sympy.Symbol(k): sympy.Float(v) for k, v in self._params.items()}
        self._rhs = tuple(sympy.expand(self._raw[v].subs(values)) for v in names)
        self._numeric = [lambdify_numpy(e, names) for e in self._rhs]

    @property
    def parameters(self) -> dict[str, float]:
        return dict(self._params)

    @property
    def source(self) -> dict[str, str]:
        """The right-hand sides as typed, by state variable."""
        return dict(self._text)

    def field(self, *state, lib=np) -> tuple:
        if lib is np:
            return tuple(f(*state) for f in self._numeric)
        mapping = dict(zip(self.symbols, state, strict=True))
        return tuple(e.subs(mapping, simultaneous=True) for e in self._rhs)

    def equation_terms(self) -> list[list[tuple[float, str]]]:
        return [[(c, "" if name == "1" else name.replace("*", " ") if _MONOMIAL.match(name) else name)
                 for name, c in row.items()] for row in self.terms().values()]

    def terms(self) -> dict[str, dict[str, float]]:
        """Each equation as ``{term: coefficient}`` in the names of :mod:`annrl.symbolic.law`
        (``"1"``, ``"x"``, ``"x*y"``, ``"x^2"``, ``"sin(x)"``), e.g. ``{"x": {"x": 1.3, "x*y": -0.5}}``."""
        return {v: _terms(e, self.names) for v, e in zip(self.names, self._rhs, strict=True)}

    def __repr__(self) -> str:
        text = "; ".join(f"{v}' = {self._text[v]}" for v in self.names)
        return f"EquationSystem({text!r}, {self._params!r})"


def _split(equations: str | Mapping[str, str]) -> dict[str, str]:
    """``{variable: right-hand side}`` from the text or mapping of :class:`EquationSystem`."""
    if isinstance(equations, Mapping):
        pairs = [(str(k), v) for k, v in equations.items()]
    elif isinstance(equations, str):
        pairs = []
        lines = [part for part in re.split(r"[;\n]", equations) if part.strip()]
        for number, line in enumerate(lines, start=1):
            left, sep, right = line.partition("=")
            match = _LEFT.match(left) if sep else None
            if match is None:
                raise InputError(f"equation {number} {line.strip()!r} must read \"x' = ...\" or \"dx/dt = ...\"",
                                 field="system")
            pairs.append((match.group(1) or match.group(2), right))
    else:
        raise InputError(f"equations must be a string or a mapping, got {type(equations).__name__}", field="system")
    sides: dict[str, str] = {}
    for number, (name, right) in enumerate(pairs, start=1):
        if not isinstance(right, str) or not right.strip():
            raise InputError(f"equation {number} ({name}') has no right-hand side", field="system")
        if name in sides:
            raise InputError(f"equation {number}: {name}' is given twice", field="system")
        sides[name] = right.strip()
    if not sides:
        raise InputError("system has no equation (write e.g. \"x' = -x\")", field="system")
    return sides


def _checked_params(params: Mapping[str, Any], names: Sequence[str]) -> dict[str, float]:
    out = {}
    for key, value in params.items():
        if key in names:
            raise InputError(f"parameter {key!r} is also a state variable", field="params")
        if isinstance(value, bool):
            value = str(value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"parameter {key!r} must be a number, got {value!r}", field="params") from None
        if not np.isfinite(number):
            raise InputError(f"parameter {key!r} must be finite, got {value!r}", field="params")
        out[str(key)] = number
    return out


def parse_params(text: str) -> dict[str, float]:
    """``"a=1.3,b=0.5"`` -> ``{"a": 1.3, "b": 0.5}`` (the CLI's ``--params``)."""
    out: dict[str, float] = {}
    for part in (p for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--params must read name=value,..., got {part.strip()!r}", field="params")
        out.update(_checked_params({key.strip(): value.strip()}, ()))
    return out


def _terms(expr: sympy.Expr, names: Sequence[str]) -> dict[str, float]:
    """``expr`` (expanded, numbers only as coefficients) as ``{term name: coefficient}``."""
    out: dict[str, float] = {}
    for term, coefficient in expr.as_coefficients_dict().items():
        name = _term_name(term, names)
        out[name] = out.get(name, 0.0) + float(coefficient)
    order = sorted(out, key=lambda name: (not _MONOMIAL.match(name), name.count("*") + name.count("^"), name))
    return {k: out[k] for k in order if out[k]}


def _term_name(term: sympy.Expr, names: Sequence[str]) -> str:
    """``x*y**2`` -> ``"x*y^2"`` (variables in state order), ``1`` -> ``"1"``, others as SymPy prints them."""
    if term == 1:
        return "1"
    powers = term.as_powers_dict()
    symbols = {sympy.Symbol(n): n for n in names}
    if all(base in symbols and exponent.is_Integer and exponent > 0 for base, exponent in powers.items()):
        order = sorted(powers, key=lambda base: names.index(symbols[base]))
        return "*".join(symbols[b] + (f"^{int(powers[b])}" if powers[b] > 1 else "") for b in order)
    return sympy.sstr(term)
