"""Exact form: any dense network as its closed formula, a composition of its activations.

``exact_form(net)`` writes each output of one network of the population as a SymPy expression of
named inputs: every ``Dense`` layer is ``x W + b`` with the stored float64 weights (exact binary
values; whole numbers print as integers, exact zeros are dropped) and every activation is its
formula (:data:`ACTIVATION_FORMULAS`). The expression is simplified with ``sympy.simplify`` when it
is small enough, and the simplified form is kept only when it is no longer and still agrees with the
network; the evidence (the largest difference from ``net.predict`` on random points, the complexity
of each candidate, the rejected one) comes with it. Exports: SymPy, LaTeX, a NumPy function, and the
source of a Python function.

>>> from annrl.nn import MLP
>>> net = MLP([1, 1], output="identity", seed=0)
>>> net.params_["0.weight"][0] = [[2.0]]; net.params_["0.bias"][0] = [[-1.0]]
>>> str(exact_form(net, inputs=["x"]).expressions[0])
'2*x - 1'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from annrl.errors import InputError
from annrl.expr import lambdify_numpy
from annrl.nn import ActivationLayer, Dense, Network
from annrl.symbolic.logic import io_names

#: the most operations an expression may have for ``sympy.simplify`` to be tried on it
SIMPLIFY_MAX_OPS = 400


def _leaky(z: Any, slope: float) -> Any:
    return sympy.Piecewise((z, z > 0), (sympy.Float(slope) * z, True))


#: activation name -> f(sympy expression, activation object) -> sympy expression
ACTIVATION_FORMULAS: dict[str, Callable[[Any, Any], Any]] = {
    "identity": lambda z, a: z,
    "sigmoid": lambda z, a: 1 / (1 + sympy.exp(-z)),
    "tanh": lambda z, a: sympy.tanh(z),
    "relu": lambda z, a: sympy.Max(0, z),
    "leaky_relu": lambda z, a: _leaky(z, a.negative_slope),
    "softplus": lambda z, a: sympy.log(1 + sympy.exp(z)),
    "sin": lambda z, a: sympy.sin(z),
    "step": lambda z, a: sympy.Heaviside(z, 1),  # 1 at z = 0, as the engine's step
    "sign": lambda z, a: 2 * sympy.Heaviside(z, 1) - 1,
}


@dataclass
class ExactForm:
    """One network as closed formulas, one per output, with the evidence.

    Attributes
    ----------
    inputs, outputs : list of str
    expressions : list of sympy.Expr
        The chosen form of each output (simplified when that was shorter and still exact).
    raw : list of sympy.Expr
        The plain composition, before simplification.
    complexity : list of int
        ``sympy.count_ops`` of each chosen expression.
    max_error : float
        Largest absolute difference between the expressions and the network on ``check_points``
        random inputs in [-1, 1] (rounding only, unless ``digits`` rounded the constants).
    rejected : list of dict
        Candidates not kept: the other form of each output, its complexity and why.
    """

    inputs: list[str]
    outputs: list[str]
    expressions: list[Any]
    raw: list[Any]
    complexity: list[int]
    max_error: float
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def symbols(self) -> list[sympy.Symbol]:
        return [sympy.Symbol(n, real=True) for n in self.inputs]

    def latex(self) -> dict[str, str]:
        """``{output: LaTeX}``."""
        return {name: sympy.latex(e) for name, e in zip(self.outputs, self.expressions, strict=True)}

    def function(self) -> Callable[[Any], np.ndarray]:
        """``f(X) -> (N, outputs)`` for inputs ``X`` of shape ``(N, inputs)``, in NumPy."""
        parts = [lambdify_numpy(e, self.inputs) for e in self.expressions]

        def f(X: Any) -> np.ndarray:
            X = np.atleast_2d(np.asarray(X, dtype=float))
            return np.column_stack([p(*X.T) for p in parts])

        return f

    def python_source(self, name: str = "network") -> str:
        """The source of a standalone Python function ``name(a, b, ...)`` returning a tuple of outputs."""
        printer = NumPyPrinter()
        body = ", ".join(printer.doprint(e) for e in self.expressions)
        return (f"import functools\nimport numpy\n\n\ndef {name}({', '.join(self.inputs)}):\n"
                f"    return ({body},)\n")

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON: inputs, each output's expression, LaTeX and complexity, the check's error."""
        return {"kind": "exact", "inputs": self.inputs,
                "outputs": [{"name": n, "expression": str(e), "latex": sympy.latex(e), "complexity": c}
                            for n, e, c in zip(self.outputs, self.expressions, self.complexity, strict=True)],
                "max_error": self.max_error, "rejected": self.rejected}


def _constant(value: float, digits: int | None) -> Any:
    if digits is not None and value != 0.0:
        value = float(f"{value:.{digits}g}")
    if value == int(value) and abs(value) < 2**53:
        return sympy.Integer(int(value))
    return sympy.Float(value)


def network_expressions(net: Network, symbols: list[Any], *, index: int = 0, digits: int | None = None) -> list[Any]:
    """The outputs of network ``index`` as SymPy expressions of ``symbols`` (no simplification)."""
    values = list(symbols)
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            w = np.asarray(net.params_[f"{i}.weight"])[index]
            b = np.asarray(net.params_[f"{i}.bias"])[index].reshape(-1)
            values = [sympy.Add(*[_constant(w[k, j], digits) * values[k] for k in range(w.shape[0]) if w[k, j] != 0],
                                _constant(b[j], digits)) for j in range(w.shape[1])]
        elif isinstance(layer, ActivationLayer):
            name = layer.activation.name
            if name not in ACTIVATION_FORMULAS:
                raise InputError(f"activation {name!r} has no formula yet", field="network")
            values = [ACTIVATION_FORMULAS[name](v, layer.activation) for v in values]
        else:
            raise InputError(f"exact form covers Dense and activation layers, not {type(layer).__name__}",
                             field="network")
    return values


def exact_form(
    net: Network,
    *,
    inputs: list[str] | None = None,
    outputs: list[str] | None = None,
    index: int = 0,
    simplify: bool = True,
    digits: int | None = None,
    check_points: int = 256,
    rng: np.random.Generator | None = None,
) -> ExactForm:
    """Network ``index`` of ``net`` as its exact closed formula (see the module docstring).

    Parameters
    ----------
    net : Network
        Dense and activation layers (any activation of :data:`ACTIVATION_FORMULAS`); not modified.
    inputs, outputs : list of str, optional
        Names (default ``a, b, ...`` and ``y`` or ``y1, y2, ...``).
    index : int, default=0
        Which network of the population.
    simplify : bool, default=True
        Try ``sympy.simplify`` on each output of at most :data:`SIMPLIFY_MAX_OPS` operations.
    digits : int, optional
        Round every weight to this many significant digits (readable, no longer exact: the
        reported ``max_error`` says by how much).
    check_points : int, default=256
        Random inputs in [-1, 1] on which the formula is compared with the network.
    rng : numpy.random.Generator, optional
        Draws those points (default: seed 0).
    """
    n = net.n_inputs
    names, out_names = io_names(net, inputs, outputs, index)
    if digits is not None and digits < 1:
        raise InputError.invalid("digits", ">= 1", digits)
    raw = network_expressions(net, [sympy.Symbol(s, real=True) for s in names], index=index, digits=digits)
    rng = rng if rng is not None else np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, size=(check_points, n))
    target = np.asarray(net.predict(X))[index]
    scale = 1.0 + float(np.max(np.abs(target))) if target.size else 1.0

    chosen, rejected, errors = [], [], []
    for j, expr in enumerate(raw):
        raw_error = _error(expr, names, X, target[:, j])
        best, best_error = expr, raw_error
        simpler, skipped = _try_simplify(expr) if simplify else (None, "not asked")
        if simpler is None:
            if simplify:
                rejected.append({"output": out_names[j], "form": "simplified", "expression": None,
                                 "complexity": None, "why": skipped})
        else:
            simpler_error = _error(simpler, names, X, target[:, j])
            shorter = sympy.count_ops(simpler) < sympy.count_ops(expr)
            if shorter and simpler_error <= max(raw_error, 1e-9 * scale):
                rejected.append({"output": out_names[j], "form": "raw", "expression": str(expr),
                                 "complexity": int(sympy.count_ops(expr)), "why": "longer"})
                best, best_error = simpler, simpler_error
            else:
                rejected.append({"output": out_names[j], "form": "simplified", "expression": str(simpler),
                                 "complexity": int(sympy.count_ops(simpler)),
                                 "why": "not shorter" if not shorter else f"error {simpler_error:.3g}"})
        chosen.append(best)
        errors.append(best_error)
    return ExactForm(names, out_names, chosen, raw, [int(sympy.count_ops(e)) for e in chosen],
                     float(max(errors, default=0.0)), rejected)


def _try_simplify(expr: Any) -> tuple[Any, str]:
    """``(sympy.simplify(expr), "")``, or ``(None, why)`` where it is not tried or fails."""
    if sympy.count_ops(expr) > SIMPLIFY_MAX_OPS:
        return None, f"over {SIMPLIFY_MAX_OPS} operations: simplify not tried"
    try:
        if not expr.atoms(sympy.Float):
            return sympy.simplify(expr), ""
        if expr.is_polynomial():
            return sympy.expand(expr), ""
    except (RecursionError, ValueError, TypeError) as err:
        return None, f"simplify failed ({type(err).__name__})"
    # sympy.simplify on float constants inside tanh, exp, Max... can recurse without end or run for minutes
    return None, "float constants inside nonlinear functions: simplify not tried"


def _error(expr: Any, names: list[str], X: np.ndarray, y: np.ndarray) -> float:
    values = lambdify_numpy(expr, names)(*X.T)
    return float(np.max(np.abs(values.astype(float) - y))) if len(y) else 0.0
