"""Symbolic derivatives with SymPy: gradient, Jacobian, Hessian, the chain rule in time, lambdify.

Every function takes SymPy expressions or text; text goes through
``annrl.expr.parse_expression``, so it is read by the same rules everywhere in annrl.

>>> import sympy
>>> x, y = sympy.symbols("x y")
>>> gradient(x**2 * y, [x, y]).T
Matrix([[2*x*y, x**2]])
>>> time_derivative(x**2 * y, [x, y])
x**2*y' + 2*x*x'*y
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy

from annrl.errors import InputError

Variables = str | Sequence[str | sympy.Symbol] | None
Expression = sympy.Expr | str


def gradient(expr: Expression, variables: Variables = None) -> sympy.Matrix:
    """Column of partial derivatives of one scalar expression, shape ``(k, 1)``.

    Parameters
    ----------
    expr : sympy.Expr or str
        The function f.
    variables : str or sequence of str or sympy.Symbol, default=None
        The k variables to differentiate by ("x y" or ["x", "y"]); ``None`` takes the free
        symbols of ``expr`` in alphabetical order. Other symbols are constants.
    """
    variables = as_symbols(variables, expr)
    f = as_expression(expr, variables)
    return sympy.Matrix([sympy.diff(f, v) for v in variables])


def jacobian(exprs: Sequence[Expression] | sympy.Matrix, variables: Variables = None) -> sympy.Matrix:
    """Matrix of partial derivatives ``J[i, j] = d f_i / d v_j``, shape ``(m, k)``.

    Parameters
    ----------
    exprs : sequence of sympy.Expr or str, or sympy.Matrix
        The m component functions f_1 .. f_m.
    variables : str or sequence of str or sympy.Symbol, default=None
        As in :func:`gradient`; ``None`` takes the free symbols of all components.
    """
    variables = as_symbols(variables, *_components(exprs))
    functions = sympy.Matrix([as_expression(f, variables) for f in _components(exprs)])
    return functions.jacobian(variables)


def hessian(expr: Expression, variables: Variables = None) -> sympy.Matrix:
    """Symmetric matrix of second partial derivatives ``H[i, j] = d2 f / dv_i dv_j``, shape ``(k, k)``."""
    variables = as_symbols(variables, expr)
    f = as_expression(expr, variables)
    return sympy.Matrix(len(variables), len(variables), lambda i, j: sympy.diff(f, variables[i], variables[j]))


def time_derivative(expr: Expression, variables: Variables = None, *, time: str = "t", order: int = 1) -> sympy.Expr:
    """d^order/dt^order of ``expr`` when every variable depends on time (the chain rule).

    Each variable v becomes a function v(t); the result is written back in plain symbols,
    with ``v'`` for dv/dt (``v''`` for the second derivative, ...). A ``time`` symbol that
    appears explicitly in ``expr`` is differentiated too.

    Parameters
    ----------
    expr : sympy.Expr or str
        f(x, y, ...).
    variables : str or sequence of str or sympy.Symbol, default=None
        The variables that depend on time; ``None`` takes the free symbols except ``time``.
    time : str, default="t"
        Name of the time symbol.
    order : int, default=1
        How many times to differentiate.

    Returns
    -------
    sympy.Expr
        The derivative in the variables and their rates (see :func:`rate_symbol`).

    Examples
    --------
    >>> time_derivative("sin(x*y)", "x y")  # doctest: +SKIP
    (x*y' + x'*y)*cos(x*y)
    """
    if order < 1:
        raise InputError(f"order must be >= 1, got {order}")
    t = sympy.Symbol(time)
    variables = as_symbols(variables, expr, exclude=t)
    if t in variables:
        raise InputError(f"variables must not contain the time symbol {time!r}")
    f = as_expression(expr, [*variables, t])
    moving = {v: sympy.Function(v.name)(t) for v in variables}
    derivative = sympy.diff(f.xreplace(moving), t, order)
    # Derivative nodes are replaced before the v(t) inside them, because xreplace works top-down.
    back = {fv: v for v, fv in moving.items()}
    for v, fv in moving.items():
        back.update({sympy.Derivative(fv, (t, k)): rate_symbol(v, k) for k in range(1, order + 1)})
    return derivative.xreplace(back)


def rate_symbol(variable: str | sympy.Symbol, order: int = 1) -> sympy.Symbol:
    """The symbol for the ``order``-th time derivative of ``variable``: ``x'``, ``x''``, ..."""
    name = variable if isinstance(variable, str) else variable.name
    return sympy.Symbol(name + "'" * order)


def to_numpy(exprs: Expression | Sequence[Expression] | sympy.Matrix, variables: Variables = None) -> Callable:
    """A fast NumPy function of the variables (SymPy's ``lambdify``), broadcasting over arrays.

    Parameters
    ----------
    exprs : sympy.Expr or str, sequence of them, or sympy.Matrix
        What to evaluate: a scalar, a vector of m components or an ``(m, k)`` matrix.
    variables : str or sequence of str or sympy.Symbol, default=None
        The arguments of the returned function, in order; ``None`` takes the free symbols in
        alphabetical order. Every free symbol must be one of them.

    Returns
    -------
    callable
        ``f(*arrays)``: the arrays broadcast to a common shape ``S``; the result has shape ``S``
        for a scalar, ``(*S, m)`` for a sequence and ``(*S, m, k)`` for a matrix.
    """
    components = _components(exprs)
    variables = as_symbols(variables, *components)
    values = [as_expression(f, variables) for f in components]
    extra = set().union(*(f.free_symbols for f in values)) - set(variables)
    if extra:
        names = ", ".join(sorted(s.name for s in extra))
        raise InputError(f"variables must include every free symbol, got {names} outside them")
    evaluate = sympy.lambdify(variables, values, modules="numpy")
    shape = exprs.shape if isinstance(exprs, sympy.MatrixBase) else (len(values),)
    scalar = not isinstance(exprs, (sympy.MatrixBase, list, tuple))

    def function(*arrays):
        if len(arrays) != len(variables):
            raise InputError(f"arguments must be {len(variables)} arrays, one per variable, got {len(arrays)}")
        arrays = [np.asarray(a, dtype=float) for a in arrays]
        batch = np.broadcast_shapes(*(a.shape for a in arrays))
        # Constant components come back as Python numbers: broadcast them to the batch.
        columns = [np.broadcast_to(np.asarray(v, dtype=float), batch) for v in evaluate(*arrays)]
        stacked = np.stack(columns, axis=-1)
        return stacked[..., 0] if scalar else stacked.reshape(*batch, *shape)

    function.__doc__ = f"{values if not scalar else values[0]} as a function of {tuple(variables)}"
    return function


def as_symbols(variables: Variables, *exprs: Expression, exclude: sympy.Symbol | None = None) -> list[sympy.Symbol]:
    """The variables as a list of SymPy symbols (``None``: the free symbols of ``exprs`` by name)."""
    if variables is None:
        found = set()
        for f in exprs:
            found |= as_expression(f).free_symbols
        found.discard(exclude)
        return sorted(found, key=lambda s: s.name)
    if isinstance(variables, str):
        return list(sympy.symbols(variables.replace(",", " "), seq=True))
    return [sympy.Symbol(v) if isinstance(v, str) else v for v in variables]


def as_expression(expr: Expression, variables: Sequence[sympy.Symbol] | None = None) -> sympy.Expr:
    """``expr`` as a SymPy expression; text is parsed by ``annrl.expr.parse_expression``.

    Any name is accepted (symbols other than the variables are constants, as in ``a*x**2``);
    parsed symbols are then matched to ``variables`` by name, so that assumptions attached to
    either side (e.g. real=True) do not make two different x's.
    """
    if not isinstance(expr, str):
        return sympy.sympify(expr)
    from annrl.expr import parse_expression  # imported here: SymPy objects never need the parser

    parsed = parse_expression(expr)
    by_name = {v.name: v for v in variables or ()}
    return parsed.xreplace({s: by_name[s.name] for s in parsed.free_symbols if s.name in by_name})


def _components(exprs) -> list:
    """The entries of a matrix (row by row) or sequence, or ``[expr]`` for a scalar."""
    if isinstance(exprs, sympy.MatrixBase):
        return list(exprs)
    if isinstance(exprs, (list, tuple)):
        return list(exprs)
    return [exprs]
