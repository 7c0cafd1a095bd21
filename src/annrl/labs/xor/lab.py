"""The XOR lab: why the classic 2-2-1 network "fails on some seeds", answered with numbers.

The default recipe is the classic tutorial's: 2 inputs, 2 sigmoid hidden units, one *linear*
output, weights and biases from N(0, 1), MSE, SGD with lr 0.02 and momentum 0.9, 2000 full-batch
epochs. All seeds train at once as one population. Every network that fails is classified by its
state at the end of the budget:

- ``still_learning``: its loss still falls (by more than 1% over the last tenth of training);
- ``plateau``: it outputs (nearly) the same value for all four inputs, the mean of the targets:
  MSE 0.25, the flat region around the constant network;
- ``saturated``: a hidden unit's activation is pinned on every input (slope below 0.05), so its
  gradient vanishes and the network has lost a unit it needs;
- ``local_minimum``: the loss has stopped falling at another value (about 0.13 or 0.167 here).

Then the failures train on, alone, for ``extend`` times as many epochs: those that solve XOR
then were slow, not stuck, and the lab reports how many of each kind escape.

>>> result = train(XorConfig(seeds=50, epochs=300), rng=None)
>>> 0.0 <= result.metrics["success_rate"] <= 1.0
True
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from annrl.backend import is_numpy, to_numpy
from annrl.config import check_config, setting
from annrl.htmlrepr import MetricsHTML
from annrl.io.resume import Checkpointer, Phases
from annrl.nn import ACTIVATIONS, INITS, MLP, OPTIMIZERS, Network, Trainer, compiled
from annrl.nn.optim import optimizer_with_momentum
from annrl.progress import track
from annrl.validate import (
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    Interval,
    Options,
    array_nbytes,
    check_sizes,
    dense_parameters,
)

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)

#: a loss that fell by more than this fraction over the last tenth of training is still learning
STILL_LEARNING_DROP = 0.01
#: outputs spread less than this over the four inputs: the network predicts a constant
PLATEAU_SPREAD = 0.1
#: hidden slope (sigmoid a (1 - a), tanh 1 - a^2) below this on all four inputs: saturated
SATURATED_SLOPE = 0.05
FAILURE_KINDS = ("still_learning", "plateau", "saturated", "local_minimum")


#: the rules of every XorConfig field, checked on entry (and by the CLI, naming them --lr, ...)
XOR_TABLE = {
    "seeds": POSITIVE_INT,
    "seed": NON_NEGATIVE_INT,
    "epochs": POSITIVE_INT,
    "hidden": NON_NEGATIVE_INT,
    "activation": [Options({n for n, a in ACTIVATIONS.items() if a.differentiable})],
    "output": [Options({n for n, a in ACTIVATIONS.items() if a.differentiable})],
    "init": [Options(set(INITS))],
    "loss": [Options({"mse", "bce"})],
    "optimizer": [Options(set(OPTIMIZERS))],
    "lr": POSITIVE,
    "momentum": [Interval(float, 0, 1, closed="left")],
    "dtype": [Options({"float64", "float32"})],
    "extend": NON_NEGATIVE_INT,
    "kernel": [Options(set(compiled.KERNELS))],
}


@dataclass
class XorConfig:
    """Settings of one XOR experiment (defaults: the classic tutorial's recipe).

    Parameters
    ----------
    seeds : int, default=1000
        Networks trained at once (the population); network ``i`` is "seed i".
    seed : int, default=0
        Seed of the generator that draws every network's initial weights.
    epochs : int, default=2000
    hidden : int, default=2
        Hidden units; 0 builds a single neuron (no hidden layer), which can never solve XOR.
    activation : str, default="sigmoid"
        Hidden activation.
    output : str, default="identity"
        Output activation (the tutorial's output is linear).
    init : str, default="normal"
        ``normal`` is N(0, 1) for weights and biases, as the tutorial draws them.
    loss : {"mse", "bce"}, default="mse"
        ``bce`` treats the output as a logit (binary cross-entropy on logits).
    optimizer : {"sgd", "adam", "rmsprop"}, default="sgd"
    lr : float, default=0.02
    momentum : float, default=0.9
        Only used by ``sgd`` (and ``rmsprop``).
    dtype : {"float64", "float32"}, default="float64"
    extend : int, default=5
        Failed networks train on for ``extend * epochs`` more epochs to tell slow ones from
        stuck ones; 0 skips that.
    kernel : {"auto", "numpy", "compiled"}, default="auto"
        Training loop (see :func:`annrl.nn.fit`); ``metrics["kernel"]`` says which ran and why.
    """

    seeds: int = setting(1000, "networks trained at once")
    seed: int = setting(0, "seed of the initial weights")
    epochs: int = setting(2000, "full-batch epochs")
    hidden: int = setting(2, "hidden units (0: a single neuron, no hidden layer)")
    activation: str = setting("sigmoid", "hidden activation", choices=sorted(ACTIVATIONS))
    output: str = setting("identity", "output activation (the tutorial's output is linear: identity)",
                          choices=sorted(ACTIVATIONS))
    init: str = setting("normal", "initial weights: normal is N(0, 1), as the tutorial's", choices=sorted(INITS))
    loss: str = setting("mse", "mse, or bce on a logit output", choices=["mse", "bce"])
    optimizer: str = setting("sgd", "update rule", choices=sorted(OPTIMIZERS))
    lr: float = setting(0.02, "learning rate")
    momentum: float = setting(0.9, "momentum (sgd, rmsprop)")
    dtype: str = setting("float64", "float precision", choices=["float64", "float32"])
    extend: int = setting(5, "train failures EXTEND x epochs longer to tell slow from stuck (0: skip)")
    kernel: str = setting("auto", compiled.KERNEL_HELP, choices=list(compiled.KERNELS))

    def __post_init__(self):
        check_config(XOR_TABLE, self)
        # the loss history, (epochs, P) for the run and again for the extension; the networks with
        # their gradients, optimizer state and activations (about 8 copies of the weights)
        history = array_nbytes((self.epochs * (1 + self.extend), self.seeds))
        weights = array_nbytes((self.seeds, dense_parameters(self.sizes()) + 4 * (self.hidden + 1)))
        check_sizes({f"the loss history of {self.seeds} networks x {self.epochs} epochs": 2 * history,
                     f"{self.seeds} networks of --hidden {self.hidden}": 8 * weights})

    def sizes(self) -> list[int]:
        return [2, self.hidden, 1] if self.hidden else [2, 1]


@dataclass
class XorResult(MetricsHTML):
    """What an XOR experiment produced: the trained population, its history and the metrics."""

    config: XorConfig
    net: Network
    loss: np.ndarray  # (epochs, P)
    solved: np.ndarray  # (P,) bool, at the end
    solved_epoch: np.ndarray  # (P,) first epoch with all four outputs right, -1 if never
    kinds: np.ndarray  # (P,) failure kind, "" for solved networks
    escaped: np.ndarray  # (P,) failed, but solved with extend x more epochs
    metrics: dict[str, Any]


def build_network(config: XorConfig, rng: np.random.Generator) -> MLP:
    return MLP(config.sizes(), hidden=config.activation, output=config.output, population=config.seeds,
               init=config.init, rng=rng, dtype=config.dtype)


def make_optimizer(config: XorConfig):
    return optimizer_with_momentum(config.optimizer, config.lr, config.momentum)


def threshold(config: XorConfig) -> float:
    """The decision threshold of the output: 0.5, or 0 for ``bce``, whose outputs are logits."""
    return 0.0 if config.loss == "bce" else 0.5


def correct(config: XorConfig, prediction: Any) -> Any:
    """``(P,)`` True where all four outputs are on the right side of the decision threshold."""
    return ((prediction > threshold(config)) == (Y > 0.5)).all(axis=(1, 2))


def train(config: XorConfig, rng: np.random.Generator | None = None, *, progress: bool = False,
          checkpointer: Checkpointer | None = None, backend: str = "numpy", device: str | None = None) -> XorResult:
    """Train ``config.seeds`` XOR networks at once and explain every failure.

    With a ``checkpointer`` (``--out``, ``--checkpoint-every``, ``--resume``) the run saves its
    state as it goes and resumes from it, ending bit for bit as an uninterrupted run.
    ``backend="torch"`` with ``device="cpu"`` or ``"cuda"`` trains on PyTorch tensors (the same
    numbers as NumPy in float64); the weights are drawn with NumPy first, so a seed means the same
    networks on every backend.
    """
    rng = rng if rng is not None else np.random.default_rng(config.seed)
    checkpointer = checkpointer or Checkpointer(None, asdict(config))
    net = build_network(config, rng)
    inputs, targets = X, Y
    if backend != "numpy":
        net.to(backend, device)
        inputs, targets = net.asarray(X), net.asarray(Y)
    trainer = Trainer(net, inputs, targets, loss=config.loss, optimizer=make_optimizer(config), kernel=config.kernel,
                      threshold=threshold(config))  # the trainer notes the epoch each network first solves XOR
    start = time.perf_counter()
    with checkpointer.hooks(trainer, config.epochs, phase="main", progress=progress) as hooks:
        trainer.run(hooks.epochs_left, callbacks=[hooks])
    done = hooks.phases()
    wall = time.perf_counter() - start
    history = trainer.history()
    solved, solved_epoch = correct(config, to_numpy(net.predict(X))), trainer.solved_epoch
    solved_epoch[solved & (solved_epoch < 0)] = config.epochs  # solved by the very last update
    kinds = classify_failures(config, net, history.loss, solved)
    escaped, longer = train_failures_longer(config, net, solved, checkpointer, done)
    metrics = summarize(config, history.final_loss, solved, solved_epoch, kinds, escaped, wall)
    metrics["kernel"] = compiled.summary(config.kernel, {"main": trainer, "extend": longer})
    if backend != "numpy":
        metrics["timing"]["backend"] = f"{backend}:{net.flat_.device}"
        net.to("numpy")  # figures and the model file read NumPy arrays
    return XorResult(config, net, history.loss, solved, solved_epoch, kinds, escaped, metrics)


def classify_failures(config: XorConfig, net: Network, loss: np.ndarray, solved: np.ndarray) -> np.ndarray:
    """One of :data:`FAILURE_KINDS` for every unsolved network, "" for solved ones.

    ``loss`` is the training history ``(epochs, P)``; the first test that holds names the kind.
    """
    tail = max(1, len(loss) // 10)
    drop = (loss[-tail - 1] - loss[-1]) / np.maximum(np.abs(loss[-tail - 1]), 1e-12) if len(loss) > 1 else 0 * solved
    out = to_numpy(net.predict(X))[:, :, 0]
    if config.loss == "bce":
        out = 1.0 / (1.0 + np.exp(-out))
    constant = out.max(axis=1) - out.min(axis=1) < PLATEAU_SPREAD
    saturated = _saturated_hidden_unit(net) if config.hidden else np.zeros(net.population, bool)
    kinds = np.full(net.population, "local_minimum", dtype=object)
    kinds[saturated] = "saturated"
    kinds[constant] = "plateau"
    kinds[drop > STILL_LEARNING_DROP] = "still_learning"
    kinds[solved] = ""
    return kinds


def train_failures_longer(config: XorConfig, net: Network, solved: np.ndarray, checkpointer: Checkpointer,
                          done: Phases) -> tuple[np.ndarray, Trainer | None]:
    """``(P,)`` True for failed networks that solve XOR within ``extend * epochs`` more epochs, and
    the trainer of that phase (None when it is skipped).

    The failures are copied (``net`` is not changed), so "would more epochs have helped?" is
    measured, not guessed.
    """
    escaped = np.zeros(len(solved), bool)
    failed = np.flatnonzero(~solved)
    if len(failed) == 0 or config.extend == 0:
        return escaped, None
    failures = net.select(failed)
    inputs, targets = (X, Y) if is_numpy(failures.xp) else (failures.asarray(X), failures.asarray(Y))
    longer = Trainer(failures, inputs, targets, loss=config.loss, optimizer=make_optimizer(config),
                     kernel=config.kernel)
    with checkpointer.hooks(longer, config.epochs * config.extend, phase="extend", step_offset=config.epochs,
                            done=done) as hooks:
        longer.run(hooks.epochs_left, callbacks=[hooks])
    escaped[failed] = correct(config, to_numpy(longer.net.predict(X)))
    return escaped, longer


def _saturated_hidden_unit(net: Network) -> np.ndarray:
    """``(P,)`` True where some hidden unit has a vanishing slope on all four inputs."""
    a = to_numpy(net.layer_outputs(X)[1])  # hidden activations (P, 4, H)
    slope = a * (1.0 - a) if net.layers[1].activation.name == "sigmoid" else 1.0 - a * a
    return (slope.max(axis=1) < SATURATED_SLOPE).any(axis=1)


def summarize(config, final_loss, solved, solved_epoch, kinds, escaped, wall) -> dict[str, Any]:
    """The numbers of ``metrics.json`` (wall-clock figures only under ``timing``)."""
    solve_epochs = solved_epoch[solved]
    failed = np.flatnonzero(~solved)
    quantile = (lambda q: float(np.quantile(solve_epochs, q))) if len(solve_epochs) else (lambda q: None)
    return {
        "config": asdict(config),
        "seeds": config.seeds,
        "epochs": config.epochs,
        "success_rate": float(solved.mean()),
        "solved": int(solved.sum()),
        "epochs_to_solve_median": quantile(0.5),
        "epochs_to_solve_quartiles": [quantile(0.25), quantile(0.75)],
        "final_loss_quantiles": {q: float(np.quantile(final_loss, float(q))) for q in ("0.1", "0.5", "0.9")},
        "failed_seeds": failed.tolist(),
        "failure_kinds": {kind: int((kinds == kind).sum()) for kind in FAILURE_KINDS},
        "extended_epochs": config.epochs * config.extend,
        "solved_when_extended": {kind: int(((kinds == kind) & escaped).sum()) for kind in FAILURE_KINDS},
        "failed_seed_kinds": {int(p): str(kinds[p]) for p in failed[:200]},
        "timing": {"train_s": round(wall, 4), "net_epochs_per_s": round(config.seeds * config.epochs / wall)},
    }


#: the --compare grid: which changes to the classic recipe make XOR reliable?
COMPARE_RECIPES: dict[str, dict[str, Any]] = {
    "tutorial (2 sigmoid, SGD 0.02 m0.9)": {},
    "3 hidden units": {"hidden": 3},
    "4 hidden units": {"hidden": 4},
    "lr 0.1": {"lr": 0.1},
    "tanh hidden": {"activation": "tanh"},
    "xavier init": {"init": "xavier"},
    "bce loss": {"loss": "bce"},
    "adam lr 0.05": {"optimizer": "adam", "lr": 0.05},
    "single neuron (no hidden layer)": {"hidden": 0},
    "single neuron, bce, adam (Keras one-liner)": {"hidden": 0, "loss": "bce", "optimizer": "adam", "lr": 0.05},
}


def compare(base: XorConfig) -> list[dict[str, Any]]:
    """Train every recipe of :data:`COMPARE_RECIPES` on the same seeds; one row per recipe."""
    rows = []
    for name, changes in track(COMPARE_RECIPES.items(), "xor: recipes"):
        config = XorConfig(**{**asdict(base), **changes})
        metrics = train(config).metrics
        rows.append({"recipe": name, "success_rate": metrics["success_rate"],
                     "epochs_to_solve_median": metrics["epochs_to_solve_median"],
                     "failure_kinds": metrics["failure_kinds"]})
    return rows
