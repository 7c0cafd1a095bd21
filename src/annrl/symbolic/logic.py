"""Logic extraction: a network with Boolean inputs read back as a minimal Boolean formula.

The network is read, never changed: its outputs on 0/1 inputs are thresholded (the reading depends
on the output activation, see :func:`output_reading`), each row gets a margin of confidence in
[0, 1], and the thresholded table is minimised by
:func:`annrl.symbolic.boolean.minimal_formula` (the shorter of SymPy's ``SOPform`` and ``POSform``).

Up to ``max_enumerate`` inputs (12) every row is enumerated. Above that the function is sampled:
the inputs it depends on are found by flipping one bit of random rows (inputs whose first-layer
weights are all zero are skipped without a look), the relevant ones are enumerated with the others
held at 0, and the formula is checked on fresh random rows; with ``s`` rows and no disagreement the
disagreement rate is below ``1 - 0.05**(1/s)`` (about ``3/s``) with 95% confidence.

Hidden neurons of the first hidden layer are explained by :func:`explain`.

Examples
--------
>>> from annrl.nn import ActivationLayer, Dense, Network
>>> net = Network([Dense(2, 2), ActivationLayer("step"), Dense(2, 1), ActivationLayer("step")], seed=0)
>>> net.params_["0.weight"][0], net.params_["0.bias"][0] = [[1, -1], [-1, 1]], [-1, -1]  # a & ~b, b & ~a
>>> net.params_["2.weight"][0], net.params_["2.bias"][0] = [[1], [1]], [-1]  # either
>>> result = extract_logic(net, inputs=["a", "b"])
>>> str(result.outputs[0].formula), result.consistent
('(a & ~b) | (b & ~a)', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
from sympy.logic import POSform, SOPform

from annrl.errors import InputError
from annrl.expr import lambdify_numpy
from annrl.nn import ActivationLayer, Dense, Network
from annrl.symbolic.boolean import BooleanFunction, describe, minimal_formula, truth_inputs

READINGS = ("auto", "probability", "logit", "symmetric")
#: the most inputs whose every row is enumerated
MAX_ENUMERATE = 12
#: the most inputs for which each hidden neuron is explained (a formula of every neuron)
MAX_NEURON_INPUTS = 8


@dataclass
class NeuronExplanation:
    """What one hidden neuron of a learned network computes on the truth table.

    ``formula`` is the Boolean function of its thresholded output (sigmoid > 0.5, tanh > 0);
    ``margin`` is in [0, 1]: 1 when the neuron is fully saturated (binary) on every row.
    """

    unit: int
    formula: str
    column: list[int]
    margin: float


def explain(net: Network, fn: BooleanFunction, index: int = 0) -> list[NeuronExplanation]:
    """The Boolean function each hidden neuron of network ``index`` computes, in order."""
    outputs = net.layer_outputs(fn.X)
    if len(outputs) < 4:
        return []  # a single neuron: no hidden layer
    a = np.asarray(outputs[1])[index]  # (rows, hidden)
    name = net.layers[1].activation.name
    center, half = {"sigmoid": (0.5, 0.5), "tanh": (0.0, 1.0), "step": (0.5, 0.5)}.get(name, (0.0, 1.0))
    explanations = []
    for k in range(a.shape[1]):
        column = a[:, k] > center
        margin = float(np.min(np.abs(a[:, k] - center)) / half)
        explanations.append(NeuronExplanation(k, describe(fn.inputs, column), column.astype(int).tolist(), margin))
    return explanations


@dataclass
class OutputLogic:
    """One output of the network as a Boolean function, with the evidence for it.

    Attributes
    ----------
    name : str
    formula : sympy Boolean
        The shorter of the minimal sum of products and product of sums.
    sop, pos : sympy Boolean
        Both minimal forms (one of them is ``formula``; the other is the rejected candidate).
    relevant : list of str
        The inputs the output depends on.
    complexity : int
        ``sympy.count_ops(formula)``.
    margin : float
        Least confidence over the rows read, in [0, 1] (0: an output exactly on the threshold).
    uncertain_rows : int
        Rows read whose margin is below ``min_margin``.
    consistent : bool
        No row is uncertain.
    disagreements : int
        Rows (of those checked) where the formula and the thresholded network differ (0 when exact).
    """

    name: str
    formula: Any
    sop: Any
    pos: Any
    relevant: list[str]
    complexity: int
    margin: float
    uncertain_rows: int
    consistent: bool
    disagreements: int

    def to_dict(self) -> dict[str, Any]:
        """The output's formula as JSON: chosen, SOP and POS forms, relevant inputs, margin and disagreements."""
        rejected = self.pos if self.formula == self.sop else self.sop
        return {"name": self.name, "formula": str(self.formula), "sop": str(self.sop), "pos": str(self.pos),
                "rejected": [{"formula": str(rejected), "complexity": int(sympy.count_ops(rejected))}],
                "relevant": self.relevant, "complexity": self.complexity, "margin": self.margin,
                "uncertain_rows": self.uncertain_rows, "consistent": self.consistent,
                "disagreements": self.disagreements}


@dataclass
class LogicExtraction:
    """What :func:`extract_logic` found.

    Attributes
    ----------
    inputs : list of str
    outputs : list of OutputLogic
    neurons : list of NeuronExplanation
        First hidden layer, one per unit (empty without a hidden layer or above ``MAX_NEURON_INPUTS``).
    reading : str
        How outputs were thresholded: "probability" (> 0.5), "logit" (> 0) or "symmetric" (> 0).
    method : str
        "enumeration" (every row) or "sampling".
    rows_read : int
        Network evaluations on which the formulas rest.
    checked_rows : int
        Rows on which the formulas were compared with the network (all rows, or fresh samples).
    error_bound : float
        95% upper bound on the rate at which formula and network disagree (0 when every row was read).
    min_margin : float
    """

    inputs: list[str]
    outputs: list[OutputLogic]
    neurons: list[NeuronExplanation]
    reading: str
    method: str
    rows_read: int
    checked_rows: int
    error_bound: float
    min_margin: float
    notes: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """Every output is confidently on one side of the threshold on every row read."""
        return all(o.consistent for o in self.outputs)

    @property
    def exact(self) -> bool:
        """The formulas agree with the thresholded network on every row checked."""
        return all(o.disagreements == 0 for o in self.outputs)

    def formulas(self) -> dict[str, Any]:
        """The chosen SymPy formula of every output, ``{output name: formula}``."""
        return {o.name: o.formula for o in self.outputs}

    def to_dict(self) -> dict[str, Any]:
        """The extraction as JSON: inputs, every output's formula, each neuron's function, how outputs were read."""
        return {"kind": "logic", "inputs": self.inputs, "outputs": [o.to_dict() for o in self.outputs],
                "neurons": [{"unit": e.unit, "formula": e.formula, "margin": e.margin} for e in self.neurons],
                "reading": self.reading, "method": self.method, "rows_read": self.rows_read,
                "checked_rows": self.checked_rows, "error_bound": self.error_bound,
                "min_margin": self.min_margin, "consistent": self.consistent, "exact": self.exact,
                "notes": self.notes}


def io_names(net: Network, inputs: Any, outputs: Any, index: int) -> tuple[list[str], list[str]]:
    """The input and output names to print for network ``index`` of ``net``, checked against it."""
    n, m = net.n_inputs, net.n_outputs
    names = list(inputs) if inputs is not None else default_inputs(n)
    out_names = list(outputs) if outputs is not None else (["y"] if m == 1 else [f"y{j + 1}" for j in range(m)])
    if len(names) != n:
        raise InputError.invalid("inputs", f"{n} names (the network's inputs)", names)
    if len(out_names) != m:
        raise InputError.invalid("outputs", f"{m} names (the network's outputs)", out_names)
    if not 0 <= index < net.population:
        raise InputError.invalid("index", f"in [0, {net.population})", index)
    return names, out_names


def default_inputs(n: int) -> list[str]:
    """``a, b, c, ...`` up to 26 inputs, else ``x1 .. xn``."""
    return [chr(ord("a") + i) for i in range(n)] if n <= 26 else [f"x{i + 1}" for i in range(n)]


def output_reading(net: Network, y: np.ndarray, reading: str = "auto") -> str:
    """How to threshold outputs ``y``: by the output activation (step/sigmoid: probability, tanh/sign:
    symmetric); a linear output reads as probability when every value lies in [-0.5, 1.5], else logit.

    Parameters
    ----------
    net : Network
        The network whose last layer decides the reading.
    y : ndarray of shape (N, outputs)
        Outputs of one network on the rows read.
    reading : {"auto", "probability", "symmetric", "logit"}, default="auto"
        Anything other than ``"auto"`` is returned as given.

    Returns
    -------
    str
        ``"probability"`` (threshold 0.5), ``"symmetric"`` or ``"logit"`` (threshold 0).
    """
    if reading not in READINGS:
        raise InputError.invalid("reading", f"one of {READINGS}", reading)
    if reading != "auto":
        return reading
    last = net.layers[-1]
    name = last.activation.name if isinstance(last, ActivationLayer) else "identity"
    if name in ("step", "sigmoid"):
        return "probability"
    if name in ("tanh", "sign"):
        return "symmetric"
    return "probability" if y.size and y.min() >= -0.5 and y.max() <= 1.5 else "logit"


def threshold(y: np.ndarray, reading: str) -> tuple[np.ndarray, np.ndarray]:
    """``(bits, margin)`` of outputs ``y`` under ``reading``; margin in [0, 1] per value."""
    if reading == "probability":
        return y > 0.5, np.clip(np.abs(y - 0.5) / 0.5, 0.0, 1.0)
    if reading == "symmetric":
        return y > 0.0, np.clip(np.abs(y), 0.0, 1.0)
    return y > 0.0, np.tanh(np.abs(y) / 2.0)  # |2 sigmoid(z) - 1|


def structurally_unused(net: Network, index: int = 0) -> list[int]:
    """Inputs whose every weight in the first dense layer is zero (they cannot matter)."""
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            w = np.asarray(net.params_[f"{i}.weight"])[index]
            return [k for k in range(w.shape[0]) if not np.any(w[k])]
    return []


def extract_logic(
    net: Network,
    *,
    inputs: list[str] | None = None,
    outputs: list[str] | None = None,
    index: int = 0,
    reading: str = "auto",
    min_margin: float = 0.2,
    max_enumerate: int = MAX_ENUMERATE,
    samples: int = 2000,
    rng: np.random.Generator | None = None,
) -> LogicExtraction:
    """The Boolean function(s) network ``index`` of ``net`` computes on 0/1 inputs.

    Parameters
    ----------
    net : Network
        Any network of dense layers whose inputs are read as 0/1; it is not modified.
    inputs, outputs : list of str, optional
        Names (default ``a, b, ...`` and ``y`` or ``y1, y2, ...``).
    index : int, default=0
        Which network of the population.
    reading : {"auto", "probability", "logit", "symmetric"}
        How outputs are thresholded (see :func:`output_reading`).
    min_margin : float, default=0.2
        A row whose margin is below this makes the output inconsistent (0.2: a probability in (0.4, 0.6)).
    max_enumerate : int, default=12
        Enumerate every row up to this many inputs (and at most this many relevant ones when sampling).
    samples : int, default=2000
        Random rows to find relevant inputs, and as many fresh ones to check the formula, when sampling.
    rng : numpy.random.Generator, optional
        The generator for sampling (default: seed 0).
    """
    n, m = net.n_inputs, net.n_outputs
    names, out_names = io_names(net, inputs, outputs, index)
    if not 0.0 <= min_margin <= 1.0:
        raise InputError.invalid("min_margin", "in [0, 1]", min_margin)

    def evaluate(X: np.ndarray) -> np.ndarray:
        return np.asarray(net.predict(X))[index]

    notes: list[str] = []
    if n <= max_enumerate:
        X = truth_inputs(n)
        y = evaluate(X)
        read = output_reading(net, y, reading)
        bits, margin = threshold(y, read)
        method, rows_read, checked, bound = "enumeration", len(X), len(X), 0.0
        relevant_all = [_relevant_in_table(bits[:, j], n) for j in range(m)]
        sub_tables = [_restrict(bits[:, j], n, r) for j, r in enumerate(relevant_all)]
        X_check, bits_check = X, bits
    else:
        rng = rng if rng is not None else np.random.default_rng(0)
        unused = set(structurally_unused(net, index))
        if unused:
            notes.append(f"{len(unused)} inputs skipped: all their first-layer weights are zero")
        X = rng.integers(0, 2, size=(samples, n)).astype(float)
        y = evaluate(X)
        read = output_reading(net, y, reading)
        bits, margin = threshold(y, read)
        rows_read = samples
        flipped_bits = {}
        for k in range(n):
            if k in unused:
                continue
            Xf = X.copy()
            Xf[:, k] = 1.0 - Xf[:, k]
            fb, fm = threshold(evaluate(Xf), read)
            flipped_bits[k] = fb
            margin = np.minimum(margin, fm)
            rows_read += samples
        relevant_all = [[k for k, fb in flipped_bits.items() if np.any(fb[:, j] != bits[:, j])] for j in range(m)]
        union = sorted(set().union(*relevant_all))
        if len(union) > max_enumerate:
            raise InputError(f"the network depends on {len(union)} of its {n} inputs (found by sampling); "
                             f"at most max_enumerate={max_enumerate} can be minimised", field="max_enumerate")
        Xr = np.zeros((2 ** len(union), n))
        Xr[:, union] = truth_inputs(len(union))
        yr = evaluate(Xr)
        br, mr = threshold(yr, read)
        margin = np.concatenate([margin, mr])
        rows_read += len(Xr)
        sub_tables = [_embed(br[:, j], union, r) for j, r in enumerate(relevant_all)]
        X_check = rng.integers(0, 2, size=(samples, n)).astype(float)
        bits_check = threshold(evaluate(X_check), read)[0]
        checked, method = samples, "sampling"
        bound = float(1.0 - 0.05 ** (1.0 / samples))

    results = []
    for j in range(m):
        rel = [names[k] for k in relevant_all[j]]
        column = sub_tables[j]
        formula = minimal_formula(rel, column) if rel else (sympy.true if column.all() else sympy.false)
        sop, pos = _both_forms(rel, column)
        predicted = _evaluate_formula(formula, names, X_check)
        disagreements = int(np.sum(predicted != bits_check[:, j]))
        low = margin[:, j] < min_margin
        results.append(OutputLogic(out_names[j], formula, sop, pos, rel, int(sympy.count_ops(formula)),
                                   float(margin[:, j].min()), int(low.sum()), not low.any(), disagreements))
    neurons: list[NeuronExplanation] = []
    if method == "enumeration" and n <= MAX_NEURON_INPUTS:
        fn = BooleanFunction(tuple(names), tuple(out_names), bits, tuple(r.formula for r in results))
        neurons = explain(net, fn, index)
    elif any(isinstance(layer, ActivationLayer) for layer in net.layers[:-1]):
        notes.append(f"hidden neurons not explained above {MAX_NEURON_INPUTS} inputs")
    return LogicExtraction(names, results, neurons, read, method, rows_read, checked, bound, min_margin, notes)


def _relevant_in_table(column: np.ndarray, n: int) -> list[int]:
    rows = np.arange(2**n)
    return [i for i in range(n) if np.any(column != column[rows ^ (1 << (n - 1 - i))])]


def _restrict(column: np.ndarray, n: int, relevant: list[int]) -> np.ndarray:
    """The column over the ``relevant`` variables only (the others at 0), in truth-table order."""
    sub = truth_inputs(len(relevant)).astype(int)
    rows = np.zeros(len(sub), dtype=int)
    for position, k in enumerate(relevant):
        rows |= sub[:, position] << (n - 1 - k)
    return column[rows]


def _embed(column: np.ndarray, union: list[int], relevant: list[int]) -> np.ndarray:
    """A column over ``union`` (truth-table order) rearranged as a full table of ``len(relevant)``
    variables, the others of ``union`` at 0."""
    n = len(union)
    sub = truth_inputs(len(relevant)).astype(int)
    rows = np.zeros(len(sub), dtype=int)
    for position, k in enumerate(relevant):
        rows |= sub[:, position] << (n - 1 - union.index(k))
    return column[rows]


def _both_forms(names: list[str], column: np.ndarray) -> tuple[Any, Any]:
    if not names or column.all() or not column.any():
        constant = sympy.true if column.all() else sympy.false
        return constant, constant
    symbols = [sympy.Symbol(s) for s in names]
    minterms = truth_inputs(len(names)).astype(int)[column].tolist()
    return SOPform(symbols, minterms), POSform(symbols, minterms)


def _evaluate_formula(formula: Any, names: list[str], X: np.ndarray) -> np.ndarray:
    if formula in (sympy.true, sympy.false):
        return np.full(len(X), bool(formula))
    value = lambdify_numpy(formula, names)(*X.astype(bool).T)
    return np.broadcast_to(np.asarray(value, dtype=bool), (len(X),))
