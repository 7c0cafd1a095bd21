"""The logic lab: gates and Boolean expressions, compiled into threshold networks and learned.

Three questions about one Boolean function (a named gate or an expression typed by the user):

- **Compile**: which exact network of threshold units computes it? Built by construction
  (:mod:`annrl.labs.logic.compile`) and checked on every row of the truth table.
- **Learn**: how reliably does gradient descent find a network for it? ``seeds`` networks (sigmoid
  or tanh hidden units, a logit output, binary cross-entropy, SGD with momentum) train on the truth
  table as one population, for every hidden width from 0 (a single neuron) up, until a width
  learns it in at least ``reliable`` of the seeds.
- **Explain**: what does each hidden neuron of a learned network compute? Its output on the truth
  table, thresholded, is a Boolean function of the inputs of its own, printed as a formula.

And one about single neurons: which of the 16 two-input functions can one threshold unit represent
(linear separability, decided by an LP), and does training a single neuron agree?

Gates (:data:`annrl.symbolic.boolean.GATES`): ``and or nand nor xor xnor implies not``, ``parity<n>``, ``majority<n>``,
``mux`` (``s ? b : a``), ``mux4``, ``half_adder`` and ``full_adder`` (two outputs). Expressions use
:func:`annrl.expr.parse_expression` (``& | ~ ^ >>``, ``==``, ``Xor(...)``...; several outputs are
separated by ``;``); nothing the user types is evaluated.

>>> result = train(LogicConfig(expression="xor", seeds=20, epochs=300, max_hidden=3), rng=None)
>>> result.metrics["compiled_exact"], result.metrics["inputs"]
(True, ['a', 'b'])
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from annrl.clikit import non_negative_int, positive_float, positive_int
from annrl.config import check_config, setting
from annrl.htmlrepr import MetricsHTML
from annrl.io.resume import Checkpointer, Phases
from annrl.labs.logic.compile import CompiledNetwork, compile_function, separable, threshold_unit
from annrl.nn import MLP, Network, Trainer, get_optimizer
from annrl.nn.compiled import KERNEL_HELP, KERNELS
from annrl.nn.compiled import summary as kernel_summary
from annrl.progress import track
from annrl.symbolic.boolean import BooleanFunction, from_table, parse_function, truth_inputs
from annrl.symbolic.logic import NeuronExplanation, explain
from annrl.validate import NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Interval, Options, array_nbytes, check_sizes

ACTIVATIONS = ("tanh", "sigmoid")
#: the rules of the LogicConfig fields, checked on entry
LOGIC_TABLE = {
    "seeds": POSITIVE_INT,
    "hidden": [*NON_NEGATIVE_INT, None],
    "max_hidden": NON_NEGATIVE_INT,
    "reliable": [Interval(float, 0, 1, closed="right")],
    "activation": [Options(ACTIVATIONS)],
    "epochs": POSITIVE_INT,
    "lr": POSITIVE,
    "momentum": [Interval(float, 0, None)],
    "seed": NON_NEGATIVE_INT,
    "kernel": [Options(KERNELS)],
}
#: the 16 functions of (a, b), named by their truth table on rows 00, 01, 10, 11
TWO_INPUT_NAMES: dict[tuple[int, int, int, int], str] = {
    (0, 0, 0, 0): "FALSE", (0, 0, 0, 1): "AND", (0, 0, 1, 0): "a AND NOT b", (0, 0, 1, 1): "a",
    (0, 1, 0, 0): "NOT a AND b", (0, 1, 0, 1): "b", (0, 1, 1, 0): "XOR", (0, 1, 1, 1): "OR",
    (1, 0, 0, 0): "NOR", (1, 0, 0, 1): "XNOR", (1, 0, 1, 0): "NOT b", (1, 0, 1, 1): "b IMPLIES a",
    (1, 1, 0, 0): "NOT a", (1, 1, 0, 1): "a IMPLIES b", (1, 1, 1, 0): "NAND", (1, 1, 1, 1): "TRUE",
}


def two_input_functions() -> list[tuple[str, BooleanFunction]]:
    """The 16 Boolean functions of two inputs, ``(name, function)``, in truth-table order."""
    return [(name, from_table(["a", "b"], np.array(bits, dtype=bool))) for bits, name in TWO_INPUT_NAMES.items()]


@dataclass
class LogicConfig:
    """Settings of one logic experiment.

    Parameters
    ----------
    expression : str, default="xor"
        A gate name (:data:`GATES`) or a Boolean expression.
    compile : bool, default=True
        Build the exact threshold network.
    learn : bool, default=True
        Train networks on the truth table.
    seeds : int, default=100
        Networks trained at once per hidden width.
    hidden : int, optional
        Train only this hidden width (0: a single neuron); default: sweep ``0..max_hidden``.
    max_hidden : int, default=8
        Widest hidden layer of the sweep.
    reliable : float, default=0.95
        A width learns the function "reliably" when at least this fraction of seeds succeeds.
    activation : {"tanh", "sigmoid"}, default="tanh"
    epochs : int, default=2000
        Full-batch epochs per width; a network stops once its loss guarantees every row is right
        (:func:`solved_tolerance`), and training ends when all have stopped.
    lr : float, default=0.1
    momentum : float, default=0.9
        SGD with momentum; the output is a logit trained with binary cross-entropy.
    seed : int, default=0
        Seed of the initial weights (N(0, 1)).
    limits : bool, default=False
        Also test the 16 two-input functions on a single neuron.
    kernel : {"auto", "numpy", "compiled"}, default="auto"
        Training loop (see :func:`annrl.nn.fit`); ``metrics["kernel"]`` says which ran and why.
    """

    expression: str = setting("xor", "a gate name or a Boolean expression (default: xor)", flags=("expression",),
                              nargs="?")
    compile: bool = True
    learn: bool = True
    seeds: int = setting(100, "networks trained per width", type=positive_int)
    hidden: int | None = setting(None, "train this hidden width only (0: a single neuron); default: sweep "
                                 "0..--max-hidden", type=non_negative_int)
    max_hidden: int = setting(8, "widest hidden layer of the sweep", type=non_negative_int)
    reliable: float = 0.95
    activation: str = setting("tanh", "hidden activation", choices=ACTIVATIONS)
    epochs: int = setting(2000, "full-batch epochs per width", type=positive_int)
    lr: float = setting(0.1, "SGD learning rate", type=positive_float)
    momentum: float = 0.9
    seed: int = setting(0, "seed of the initial weights")
    limits: bool = setting(False, "also test which of the 16 two-input functions a single neuron can represent")
    kernel: str = setting("auto", KERNEL_HELP, choices=list(KERNELS))

    def __post_init__(self):
        check_config(LOGIC_TABLE, self)
        width = self.max_hidden if self.hidden is None else self.hidden
        check_sizes({f"--seeds {self.seeds} networks of up to {width} hidden units": array_nbytes(
            (8 * int(self.seeds), 16 * (int(width) + 1)))})


@dataclass
class LearnRun:
    """``seeds`` networks of one hidden width trained on a truth table.

    Attributes
    ----------
    hidden : int
    net : MLP
        The trained population, ``P = seeds``.
    solved : ndarray of bool, shape (P,)
        Every output right on every row at the end.
    solved_epoch : ndarray of int, shape (P,)
        First epoch with every output right; -1 if never.
    kernel_ran, kernel_reason : str or None
        The training loop that ran and why it is not the compiled one (see ``Trainer``).
    """

    hidden: int
    net: MLP
    solved: np.ndarray
    solved_epoch: np.ndarray
    kernel_ran: str | None = None
    kernel_reason: str | None = None

    @property
    def success_rate(self) -> float:
        return float(self.solved.mean())

    def summary(self) -> dict[str, Any]:
        epochs = self.solved_epoch[self.solved]
        return {"hidden": self.hidden, "success_rate": self.success_rate,
                "epochs_median": float(np.median(epochs)) if len(epochs) else None}


def solved_tolerance(fn: BooleanFunction) -> float:
    """A mean BCE below which every output is right on every row: a wrong one alone costs at least
    ``ln 2`` out of ``rows x outputs`` terms. Networks are frozen there, so that a momentum step can
    never undo a solution before the end."""
    return 0.5 * float(np.log(2.0)) / fn.table.size


def correct(net: Network, fn: BooleanFunction) -> np.ndarray:
    """``(P,)`` True where every output logit is on the right side of 0 on every row."""
    return ((np.asarray(net.predict(fn.X)) > 0) == fn.table[None]).all(axis=(1, 2))


def learn(fn: BooleanFunction, hidden: int, config: LogicConfig, rng: np.random.Generator,
          checkpointer: Checkpointer | None = None, done: Phases | None = None) -> tuple[LearnRun, Phases]:
    """Train ``config.seeds`` networks ``n -> hidden -> m`` (``hidden = 0``: a single neuron) on ``fn``.

    Each width is one phase of the run's checkpoints (``done`` holds the widths before it); a
    resumed width continues from its saved state. Returns the run and ``done`` with it added.
    """
    n, m = len(fn.inputs), len(fn.outputs)
    sizes = [n, hidden, m] if hidden else [n, m]
    net = MLP(sizes, hidden=config.activation, output="identity", population=config.seeds, rng=rng)
    checkpointer = checkpointer or Checkpointer(None, {})
    optimizer = get_optimizer("sgd", lr=config.lr, momentum=config.momentum)
    # the trainer notes the first epoch at which each network's logits are right on every row
    trainer = Trainer(net, fn.X, fn.Y, loss="bce", optimizer=optimizer, until=solved_tolerance(fn),
                      kernel=config.kernel, threshold=0.0)
    with checkpointer.hooks(trainer, config.epochs, phase=f"hidden-{hidden}", done=done) as hooks:
        trainer.run(hooks.epochs_left, callbacks=[hooks])
    done = hooks.phases()
    solved, solved_epoch = correct(net, fn), trainer.solved_epoch
    solved_epoch[~solved] = -1
    return LearnRun(hidden, net, solved, solved_epoch, trainer.kernel_ran, trainer.kernel_reason), done


def single_neuron_limits(seeds: int = 50, epochs: int = 1000, rng: np.random.Generator | None = None,
                         ) -> list[dict[str, Any]]:
    """For each of the 16 two-input functions: linearly separable (LP), and the fraction of
    ``seeds`` single neurons (a logit unit, BCE, SGD) that learn it in ``epochs``."""
    rng = rng if rng is not None else np.random.default_rng(0)
    config = LogicConfig(seeds=seeds, epochs=epochs)
    rows = []
    for name, fn in two_input_functions():
        run, _ = learn(fn, 0, config, rng)
        rows.append({"function": name, "table": fn.table[:, 0].astype(int).tolist(),
                     "separable": separable(fn.X, fn.table[:, 0]), "learned_success_rate": run.success_rate})
    return rows


@dataclass
class LogicResult(MetricsHTML):
    """What a logic experiment produced."""

    config: LogicConfig
    function: BooleanFunction
    compiled: CompiledNetwork | None
    runs: list[LearnRun] = field(default_factory=list)
    chosen: LearnRun | None = None
    explanation: list[NeuronExplanation] = field(default_factory=list)
    explained_seed: int | None = None
    limits: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


def train(config: LogicConfig, rng: np.random.Generator | None = None,
          checkpointer: Checkpointer | None = None) -> LogicResult:
    """Compile, learn and explain ``config.expression`` (see the module docstring).

    With a ``checkpointer`` (``--out``, ``--checkpoint-every``, ``--resume``) the learning saves as it
    goes and resumes, ending bit for bit as an uninterrupted run.
    """
    rng = rng if rng is not None else np.random.default_rng(config.seed)
    fn = parse_function(config.expression)
    start = time.perf_counter()
    compiled = compile_function(fn) if config.compile else None
    compile_s = time.perf_counter() - start
    result = LogicResult(config, fn, compiled)
    start = time.perf_counter()
    if config.learn:
        widths = [config.hidden] if config.hidden is not None else range(config.max_hidden + 1)
        done: Phases = {}
        for width in track(widths, "logic: hidden widths"):
            run, done = learn(fn, int(width), config, rng, checkpointer, done)
            result.runs.append(run)
            if run.success_rate >= config.reliable:
                break
        reliable = [r for r in result.runs if r.success_rate >= config.reliable]
        result.chosen = reliable[0] if reliable else max(result.runs, key=lambda r: r.success_rate)
        solved = np.flatnonzero(result.chosen.solved)
        if len(solved):
            result.explained_seed = int(solved[0])
            result.explanation = explain(result.chosen.net, fn, result.explained_seed)
    learn_s = time.perf_counter() - start
    if config.limits:
        result.limits = single_neuron_limits(min(config.seeds, 100), min(config.epochs, 1000), rng)
    result.metrics = summarize(result, compile_s, learn_s)
    return result


def summarize(result: LogicResult, compile_s: float, learn_s: float) -> dict[str, Any]:
    """The numbers of ``metrics.json``."""
    fn, compiled, chosen, config = result.function, result.compiled, result.chosen, result.config
    metrics: dict[str, Any] = {
        "config": asdict(config),
        "expression": config.expression,
        "inputs": list(fn.inputs),
        "outputs": list(fn.outputs),
        "formulas": fn.formula_text(),
        "truth_table": fn.table.astype(int).tolist(),
        "compiled_exact": compiled.exact if compiled else None,
        "learned_success_rate": chosen.success_rate if chosen else None,
        "hidden": chosen.hidden if chosen else None,
        "learned_reliably": bool(chosen and chosen.success_rate >= config.reliable),
        "timing": {"compile_s": round(compile_s, 4), "learn_s": round(learn_s, 4)},
        "kernel": kernel_summary(config.kernel, {f"hidden-{r.hidden}": r for r in result.runs}),
    }
    if compiled:
        net = compiled.net
        metrics["compiled"] = {
            "depth": compiled.depth, "hidden": compiled.hidden, "hidden_lower_bound": compiled.hidden_lower_bound,
            "hidden_minimal": compiled.minimal, "construction": compiled.construction,
            "separable_outputs": compiled.separable, "hidden_units": compiled.hidden_labels,
            "errors": compiled.errors,
            "weights": {name: np.asarray(v)[0].tolist() for name, v in net.params_.items()},
        }
    if result.runs:
        metrics["sweep"] = [r.summary() for r in result.runs]
        metrics["epochs_median"] = chosen.summary()["epochs_median"]
        metrics["explained_seed"] = result.explained_seed
        metrics["hidden_neurons"] = [{"unit": e.unit, "formula": e.formula, "margin": round(e.margin, 4)}
                                     for e in result.explanation]
    if result.limits:
        metrics["single_neuron"] = result.limits
        metrics["single_neuron_separable"] = sum(r["separable"] for r in result.limits)
    return metrics


def truth_rows(fn: BooleanFunction) -> list[str]:
    """Row labels such as ``"a=0 b=1"`` (for figures)."""
    return [" ".join(f"{v}={int(x)}" for v, x in zip(fn.inputs, row, strict=True)) for row in truth_inputs(
        len(fn.inputs))]


def threshold_unit_line(table: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Two points ``(xs, ys)`` of the boundary ``w . x + b = -1/2`` of the smallest integer unit that
    computes the two-input ``table`` (rows 00, 01, 10, 11); None when none does or it is constant."""
    unit = threshold_unit(truth_inputs(2), np.asarray(table, dtype=bool))
    if unit is None:
        return None
    (w1, w2), b = unit
    if w2 != 0:
        xs = np.array([-0.5, 1.5])
        return xs, (-0.5 - b - w1 * xs) / w2
    if w1 != 0:
        x = (-0.5 - b) / w1
        return np.array([x, x]), np.array([-0.5, 1.5])
    return None
