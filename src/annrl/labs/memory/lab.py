"""The memory lab: patterns stored in a Hopfield network, and a bit held by a trained recurrent net.

**Associative memory** (Hopfield, 1982). ``N`` binary neurons ``s_i = +-1`` with symmetric weights
``W`` (zero diagonal) and asynchronous updates ``s_i <- sign(sum_j W_ij s_j)`` (a zero field keeps
the state), one neuron at a time in a random order each sweep, until a sweep changes nothing. The
energy ``E = -1/2 s^T W s`` never rises, so every run ends in a fixed point. Patterns ``xi^mu``
(rows of a ``(p, N)`` matrix) are stored by one of two rules:

- ``hebbian``: ``W = (1/N) sum_mu xi^mu xi^mu^T``. Each pattern is a fixed point while the crosstalk
  of the others stays small: for random patterns, up to about ``0.138 N`` patterns (Amit, Gutfreund
  & Sompolinsky, 1985) with a few bits wrong, fewer for correlated ones such as letters.
- ``pseudoinverse`` (projection rule, Personnaz et al., 1985): ``W = Xi Xi^+``, the projection onto
  the span of the patterns, so every stored pattern is a fixed point up to ``p ~ N`` patterns,
  correlated or not; basins of attraction shrink as ``p`` grows.

A cue is a stored pattern with a fraction of its bits flipped; recall succeeds when the network
ends exactly on that pattern. Fixed points that are neither a pattern nor its negative are
*spurious* (mixtures and others); they are counted from random starts.

**Working memory.** A recurrent network (:mod:`annrl.nn.recurrent`, Elman RNN or GRU) sees a bit as
``+-1`` at ``t = 0``, then ``D`` steps of noise (``N(0, noise^2)``, or zeros), and must output the bit
at the end: nothing is stored by hand; the weights that hold the bit are found by backpropagation
through time. Accuracy is measured on fresh sequences for each delay.

>>> net = Hopfield("hebbian").store(letter_patterns("HT"))
>>> cue = corrupt(letter_patterns("H"), 0.1, np.random.default_rng(0))
>>> bool(np.array_equal(net.recall(cue, np.random.default_rng(1))[0], letter_patterns("H")))
True
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from annrl.clikit import non_negative_float, positive_int
from annrl.config import check_config, setting
from annrl.errors import InputError
from annrl.htmlrepr import MetricsHTML
from annrl.io.resume import Checkpointer, Phases
from annrl.nn import Adam, Dense, Network, get_loss
from annrl.nn.hopfield import (
    HEBBIAN_CAPACITY,
    RULES,
    Hopfield,
    corrupt,
    distinct_letters,
    hebbian_weights,
    letter_patterns,
    pseudoinverse_weights,
    recall,
)
from annrl.nn.recurrent import GRU, ElmanRNN, TakeLast
from annrl.progress import track
from annrl.validate import NON_NEGATIVE_INT, POSITIVE_INT, Interval, ListOf, Options, array_nbytes, check_sizes

CELLS = ("elman", "gru")


def spurious_states(net: Hopfield, starts: int, rng: np.random.Generator) -> dict[str, Any]:
    """Run ``starts`` random states to their fixed points and count what they end in.

    Returns ``{"stored": fraction, "reversed": fraction, "spurious": fraction, "distinct_spurious": int,
    "mixtures": int}``; a mixture is a spurious state equal to ``sign(+-xi^a +- xi^b +- xi^c)`` of three
    stored patterns (the classic spurious states of the Hebbian rule).
    """
    N = net.patterns_.shape[1]
    final, _ = net.recall(rng.choice([-1.0, 1.0], size=(starts, N)), rng)
    kind = net.classify(final)
    p = len(net.patterns_)
    spurious = np.unique(final[kind == p], axis=0)
    mixtures = _mixtures(net.patterns_)
    n_mixtures = sum(any(np.array_equal(s, m) for m in mixtures) for s in spurious)
    return {"stored": float(np.mean((kind >= 0) & (kind < p))), "reversed": float(np.mean(kind < 0)),
            "spurious": float(np.mean(kind == p)), "distinct_spurious": int(len(spurious)),
            "mixtures": int(n_mixtures)}


def _mixtures(patterns: np.ndarray) -> list[np.ndarray]:
    out = []
    p = len(patterns)
    for a in range(p):
        for b in range(a + 1, p):
            for c in range(b + 1, p):
                for sb in (1, -1):
                    for sc in (1, -1):
                        for sa in (1, -1):
                            out.append(np.sign(sa * patterns[a] + sb * patterns[b] + sc * patterns[c]))
    return out


def capacity_curve(rule: str, *, neurons: int = 100, loads: list[int] | None = None, trials: int = 10,
                   noise: float = 0.1, rng: np.random.Generator | None = None) -> list[dict[str, Any]]:
    """Recall of random patterns against their number ``p``, for ``trials`` pattern sets per load.

    Each of the ``p`` stored patterns is cued with ``noise`` of its bits flipped. Per load:
    ``recall_rate`` (the network ends exactly on the cued pattern), ``near_recall_rate`` (overlap
    >= 0.9: at most 5% of bits wrong, the retrieval the ``0.138 N`` limit speaks of), ``mean_overlap``,
    ``stable_rate`` (a stored pattern is itself a fixed point) and ``spurious_rate`` (the cue ends on a
    state that is neither a pattern nor its negative).

    Parameters
    ----------
    rule : {"hebbian", "pseudoinverse"}
    neurons : int, default=100
    loads : list of int, optional
        Numbers of patterns; default 1..0.3 N (hebbian) or 1..0.9 N (pseudoinverse), 12 values.
    trials : int, default=10
    noise : float, default=0.1
    rng : numpy.random.Generator, optional
    """
    if rule not in RULES:
        raise InputError.invalid("rule", f"one of {list(RULES)}", rule)
    rng = rng if rng is not None else np.random.default_rng(0)
    N = int(neurons)
    if loads is None:
        top = 0.3 if rule == "hebbian" else 0.9
        loads = sorted({max(1, int(round(x))) for x in np.linspace(1, top * N, 12)})
    weights = hebbian_weights if rule == "hebbian" else pseudoinverse_weights
    rows = []
    for p in loads:
        patterns = rng.choice([-1.0, 1.0], size=(trials, p, N))
        W = weights(patterns)  # (trials, N, N)
        cues = corrupt(patterns, noise, rng)
        final, _ = recall(W, cues, rng)
        overlap = np.sum(final * patterns, axis=-1) / N  # (trials, p)
        stable, _ = recall(W, patterns, rng, max_sweeps=1)
        all_overlaps = np.abs(np.einsum("tbn,tqn->tbq", final, patterns)) / N
        rows.append({
            "patterns": int(p), "load": p / N,
            "recall_rate": float(np.mean(overlap == 1.0)),
            "near_recall_rate": float(np.mean(overlap >= 0.9)),
            "mean_overlap": float(np.mean(overlap)),
            "stable_rate": float(np.mean(np.all(stable == patterns, axis=-1))),
            "spurious_rate": float(np.mean(~np.isclose(all_overlaps, 1.0).any(axis=-1))),
        })
    return rows


def capacity_estimate(rows: list[dict[str, Any]], key: str = "recall_rate", level: float = 0.5) -> float | None:
    """The number of patterns where ``key`` falls through ``level``, by linear interpolation (None if never)."""
    for before, after in zip(rows, rows[1:], strict=False):
        if before[key] >= level > after[key]:
            span = before[key] - after[key]
            return before["patterns"] + (before[key] - level) / span * (after["patterns"] - before["patterns"])
    return None


# -- working memory -----------------------------------------------------------------------------


def bit_sequences(n: int, delay: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` trials: inputs ``(n, delay + 1, 1)`` (the bit as +-1 at t = 0, then noise) and targets ``(n, 1)``."""
    bits = rng.integers(0, 2, size=n)
    X = noise * rng.normal(size=(n, delay + 1, 1)) if noise > 0 else np.zeros((n, delay + 1, 1))
    X[:, 0, 0] = 2.0 * bits - 1.0
    return X, bits[:, None].astype(float)


def build_memory_network(cell: str, hidden: int, seeds: int, rng: np.random.Generator, update_bias: float = 0.0,
                         ) -> Network:
    """``Network([ElmanRNN or GRU(1, hidden), TakeLast(), Dense(hidden, 1)])`` of ``seeds`` networks, PyTorch's
    initialisation; a GRU's update-gate biases start at ``+update_bias`` (positive: start by remembering)."""
    layer = ElmanRNN(1, hidden) if cell == "elman" else GRU(1, hidden)
    net = Network([layer, TakeLast(), Dense(hidden, 1)], population=seeds, init="torch", rng=rng)
    if cell == "gru":
        net.params_["0.bias_ih"][:, :, hidden : 2 * hidden] += update_bias  # the z block (order r, z, n)
    return net


def memory_accuracy(net: Network, delay: int, noise: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(P,)`` fraction of ``n`` fresh trials whose output has the sign of the bit."""
    X, Y = bit_sequences(n, delay, noise, rng)
    return ((np.asarray(net.predict(X)) > 0) == (Y > 0.5)).mean(axis=(1, 2))


def train_working_memory(cell: str, delay: int, config: WorkingMemoryConfig, rng: np.random.Generator,
                         checkpointer: Checkpointer | None = None, done: Phases | None = None,
                         ) -> tuple[Network, dict[str, Any], Phases]:
    """Train ``config.seeds`` networks at once (Adam, BCE on the last step's logit, a fresh batch of
    trials every step) to hold a bit over ``delay`` steps; returns the population, its numbers and
    ``done`` with this cell and delay added as a checkpoint phase (see :class:`WorkingMemoryTrainer`)."""
    net = build_memory_network(cell, config.hidden, config.seeds, rng, config.update_bias if cell == "gru" else 0.0)
    before = memory_accuracy(net, delay, config.noise, config.test_trials, rng)
    trainer = WorkingMemoryTrainer(net, delay, config, rng)
    checkpointer = checkpointer or Checkpointer(None, {})
    with checkpointer.hooks(trainer, config.steps, phase=f"{cell}-{delay}", done=done) as hooks:
        trainer.run(hooks.epochs_left, callbacks=[hooks])
    done = hooks.phases()
    after = memory_accuracy(net, delay, config.noise, config.test_trials, rng)
    losses = trainer.loss_rows()
    return net, {"cell": cell, "delay": int(delay), "accuracy": float(after.mean()),
                 "accuracy_per_seed": [round(float(a), 4) for a in after],
                 "solved_rate": float(np.mean(after >= 0.99)), "untrained_accuracy": float(before.mean()),
                 "final_loss": float(np.mean(losses[-1])), "loss": losses}, done


class WorkingMemoryTrainer:
    """The working-memory training loop, resumable like :class:`annrl.nn.Trainer` (one "epoch" is one
    Adam step on a fresh batch), so that :class:`~annrl.io.resume.Checkpointer` can save and resume it;
    its state holds the generator the batches are drawn from."""

    def __init__(self, net: Network, delay: int, config: WorkingMemoryConfig, rng: np.random.Generator):
        self.net, self.delay, self.config, self.rng = net, delay, config, rng
        self.optimizer, self.loss_fn = Adam(lr=config.lr), get_loss("bce")
        self.optimizer.reset(net.flat_)
        self.losses: list[np.ndarray] = []
        self.epoch = 0

    def run(self, steps: int, *, callbacks: Sequence[Callable[[Any], Any]] = ()) -> bool:
        net, config = self.net, self.config
        for _ in range(int(steps)):
            X, Y = bit_sequences(config.batch, self.delay, config.noise, self.rng)
            prediction, caches = net.forward(X)
            value, grad = self.loss_fn(prediction, Y)
            net.zero_grad()
            net.backward(grad, caches)  # backpropagation through time
            self.optimizer.step(net.flat_, net.grad)
            self.losses.append(np.asarray(value))
            self.epoch += 1
            for callback in callbacks:
                callback(self)
        return False

    def loss_rows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        rows = self.losses[start:stop]
        return np.stack(rows) if rows else np.zeros((0, self.net.population))

    def state_dict(self, *, losses: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"params": np.array(self.net.flat_),
                  **self.optimizer.state_arrays("optimizer.")}
        if losses:
            arrays["fit.losses"] = self.loss_rows()
        return arrays, {"epoch": self.epoch, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, arrays: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        self.net.set_flat(arrays["params"])
        self.optimizer.load_state_arrays(arrays, "optimizer.")
        self.losses = list(np.asarray(arrays["fit.losses"], dtype=float))
        self.epoch = int(info["epoch"])
        self.rng.bit_generator.state = info["rng"]


# -- the experiment -----------------------------------------------------------------------------


# -- the flags' types ---------------------------------------------------------------------


def delay_list(text: str) -> tuple[int, ...]:
    try:
        delays = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        delays = ()
    if not delays or min(delays) < 0:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers >= 0 (e.g. 1,5,10), got {text!r}")
    return delays


def fraction(text: str) -> float:
    value = non_negative_float(text)
    if not value <= 0.5:
        raise argparse.ArgumentTypeError(f"must be between 0 and 0.5, got {text}")
    return value


#: the rules of the WorkingMemoryConfig fields, checked on entry
WORKING_MEMORY_TABLE = {"cells": [ListOf(Options(CELLS))], "delays": [ListOf(Interval(int, 0, None), min_length=1)],
                        "noise": [Interval(float, 0, None)], "hidden": POSITIVE_INT, "seeds": POSITIVE_INT,
                        "steps": POSITIVE_INT, "batch": POSITIVE_INT,
                        "lr": [Interval(float, 0, None, closed="neither")], "test_trials": POSITIVE_INT}


@dataclass
class WorkingMemoryConfig:
    """Settings of the working-memory task (see the module docstring).

    Parameters
    ----------
    cells : tuple of str, default=("elman", "gru")
    delays : tuple of int, default=(1, 5, 10, 20, 40)
    noise : float, default=0.5
        Standard deviation of the input noise during the delay (0: zeros).
    hidden : int, default=8
    seeds : int, default=5
        Networks trained at once per cell and delay.
    steps : int, default=500
        Adam steps, each on ``batch`` fresh trials.
    batch : int, default=64
    lr : float, default=0.01
    update_bias : float, default=2.0
        Initial bias of the GRU's update gate (0 is PyTorch's initialisation).
    test_trials : int, default=1000
    """

    cells: tuple[str, ...] = CELLS
    delays: tuple[int, ...] = setting((1, 5, 10, 20, 40), "delays of --working-memory, e.g. 1,5,10", type=delay_list)
    noise: float = 0.5
    hidden: int = 8
    seeds: int = 5
    steps: int = setting(500, "Adam steps per cell and delay", type=positive_int)
    batch: int = 64
    lr: float = 0.01
    update_bias: float = setting(2.0, "initial GRU update-gate bias (0: PyTorch's initialisation)")
    test_trials: int = 1000

    def __post_init__(self):
        check_config(WORKING_MEMORY_TABLE, self)
        self.cells, self.delays = tuple(self.cells), tuple(int(d) for d in self.delays)
        # a batch of GRU/LSTM sequences of the longest delay, kept for backpropagation through time
        length = max(self.delays) + 2
        check_sizes({f"sequences of batch {self.batch} x delay {max(self.delays)} x hidden {self.hidden}": array_nbytes(
            (8 * max(self.batch, self.test_trials), length, self.hidden + 1))})


#: the rules of the MemoryConfig fields, checked on entry (``patterns`` is read by :meth:`MemoryConfig.letters`)
MEMORY_TABLE = {"rule": [Options(RULES)], "noise": [Interval(float, 0, 0.5)], "cues": POSITIVE_INT,
                "spurious_starts": NON_NEGATIVE_INT, "neurons": POSITIVE_INT, "trials": POSITIVE_INT,
                "seed": NON_NEGATIVE_INT}


@dataclass
class MemoryConfig:
    """Settings of one memory experiment.

    Parameters
    ----------
    rule : {"hebbian", "pseudoinverse"}, default="hebbian"
    patterns : str, default="5"
        Letters to store (``"HTLX"``) or how many of the most distinct letters (``"6"``).
    noise : float, default=0.1
        Fraction of bits flipped in each cue.
    cues : int, default=20
        Cues per letter (each a different random corruption).
    spurious_starts : int, default=500
        Random states run to a fixed point to count spurious states.
    capacity : bool, default=False
        Run the capacity experiment on random patterns (both rules).
    neurons : int, default=100
        Neurons of the capacity experiment.
    trials : int, default=10
        Pattern sets per load in the capacity experiment.
    letters_curve : bool, default=True
        Recall rate against the number of letters stored (1..26), both rules.
    working_memory : WorkingMemoryConfig, optional
        Run the working-memory task with these settings.
    seed : int, default=0
    """

    rule: str = setting("hebbian", "storage rule", choices=RULES)
    patterns: str = setting("5", "letters to store (e.g. HTLX) or how many of the most distinct letters (e.g. 5)")
    noise: float = setting(0.1, "fraction of bits flipped in each cue", type=fraction)
    cues: int = 20
    spurious_starts: int = 500
    capacity: bool = False
    neurons: int = setting(100, "neurons of --capacity", type=positive_int)
    trials: int = 10
    letters_curve: bool = True
    working_memory: WorkingMemoryConfig | None = None
    seed: int = setting(0, "seed of everything random")

    def __post_init__(self):
        check_config(MEMORY_TABLE, self)
        self.letters()  # checks the patterns field
        # the capacity experiment stores patterns in a (neurons, neurons) weight matrix, a few copies
        if self.capacity:
            check_sizes({f"--neurons {self.neurons} (weight matrices)": array_nbytes((4 * self.neurons, self.neurons))})

    def letters(self) -> str:
        text = str(self.patterns).strip()
        if text.isdigit():
            return distinct_letters(int(text))
        if len(set(text.upper())) != len(text):
            raise InputError.invalid("patterns", "distinct letters", text)
        letter_patterns(text.upper())
        return text.upper()


@dataclass
class MemoryResult(MetricsHTML):
    """What a memory experiment produced."""

    config: MemoryConfig
    letters: str
    net: Hopfield
    cues: np.ndarray  # (L, cues, N)
    recalled: np.ndarray  # (L, cues, N)
    recall_ok: np.ndarray  # (L, cues) bool
    spurious: dict[str, Any] = field(default_factory=dict)
    letters_curve: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    capacity: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    working_memory: list[dict[str, Any]] = field(default_factory=list)
    memory_nets: dict[str, Network] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def letters_recall_curve(rule: str, noise: float, cues: int, rng: np.random.Generator,
                         counts: list[int] | None = None) -> list[dict[str, Any]]:
    """Recall rate of letter cues against the number of letters stored (most distinct letters first)."""
    counts = counts if counts is not None else [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 26]
    rows = []
    for count in counts:
        net = Hopfield(rule).store(letter_patterns(distinct_letters(count)))
        targets = np.repeat(net.patterns_, cues, axis=0)
        final, _ = net.recall(corrupt(targets, noise, rng), rng)
        stable = net.recall(net.patterns_, rng, max_sweeps=1)[0]
        rows.append({"patterns": count, "load": count / targets.shape[1],
                     "recall_rate": float(np.mean(np.all(final == targets, axis=1))),
                     "stable_rate": float(np.mean(np.all(stable == net.patterns_, axis=1)))})
    return rows


def train(config: MemoryConfig, rng: np.random.Generator | None = None,
          checkpointer: Checkpointer | None = None) -> MemoryResult:
    """Store the letters, recall them from corrupted cues, count spurious states; optionally the
    capacity experiment and the working-memory task, whose training saves and resumes through
    ``checkpointer`` (one phase per cell and delay; the quick Hopfield parts are run again)."""
    rng = rng if rng is not None else np.random.default_rng(config.seed)
    start = time.perf_counter()
    letters = config.letters()
    net = Hopfield(config.rule).store(letter_patterns(letters))
    targets = np.repeat(net.patterns_[:, None, :], config.cues, axis=1)  # (L, cues, N)
    cues = corrupt(targets, config.noise, rng)
    final, _ = net.recall(cues.reshape(-1, cues.shape[-1]), rng)
    recalled = final.reshape(cues.shape)
    result = MemoryResult(config, letters, net, cues, recalled, np.all(recalled == targets, axis=-1))
    if config.spurious_starts:
        result.spurious = spurious_states(net, config.spurious_starts, rng)
    if config.letters_curve:
        result.letters_curve = {rule: letters_recall_curve(rule, config.noise, 5, rng)
                                for rule in track(RULES, "memory: letters curve")}
    hopfield_s = time.perf_counter() - start
    start = time.perf_counter()
    if config.capacity:
        result.capacity = {rule: capacity_curve(rule, neurons=config.neurons, trials=config.trials,
                                                noise=config.noise, rng=rng)
                           for rule in track(RULES, "memory: capacity")}
    capacity_s = time.perf_counter() - start
    start = time.perf_counter()
    if config.working_memory is not None:
        wm, done = config.working_memory, {}
        for cell, delay in track([(c, d) for c in wm.cells for d in wm.delays], "memory: working memory"):
            trained, row, done = train_working_memory(cell, delay, wm, rng, checkpointer, done)
            result.working_memory.append(row)
            result.memory_nets[f"{cell}_{delay}"] = trained
    memory_s = time.perf_counter() - start
    result.metrics = summarize(result, {"hopfield_s": round(hopfield_s, 3), "capacity_s": round(capacity_s, 3),
                                        "working_memory_s": round(memory_s, 3)})
    return result


def summarize(result: MemoryResult, timing: dict[str, float]) -> dict[str, Any]:
    """The numbers of ``metrics.json``."""
    config = result.config
    N = result.net.patterns_.shape[1]
    metrics: dict[str, Any] = {
        "config": asdict(config),
        "rule": config.rule,
        "letters": result.letters,
        "neurons": N,
        "noise": config.noise,
        "recall_rate": float(result.recall_ok.mean()),
        "recall_rate_per_letter": {c: float(r) for c, r in zip(result.letters, result.recall_ok.mean(axis=1),
                                                                strict=True)},
        "timing": timing,
    }
    if result.spurious:
        metrics["spurious"] = result.spurious
    if result.letters_curve:
        metrics["letters_curve"] = result.letters_curve
    if result.capacity:
        metrics["capacity"] = result.capacity
        metrics["capacity_theory_hebbian"] = HEBBIAN_CAPACITY * config.neurons
        metrics["capacity_measured"] = {
            rule: {"recall_rate_50": capacity_estimate(rows, "recall_rate"),
                   "near_recall_rate_50": capacity_estimate(rows, "near_recall_rate")}
            for rule, rows in result.capacity.items()}
    if result.working_memory:
        metrics["working_memory"] = [{k: v for k, v in row.items() if k != "loss"} for row in result.working_memory]
    return metrics
