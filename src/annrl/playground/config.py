"""The playground's setup: every field a page may send, its bounds, and its default.

One table (:data:`TABLE`) holds the rules, checked once when a setup arrives; an unknown field, a
value out of bounds or a name not offered is refused with one line naming the field, the rule and
the value received. The bounds follow the TensorFlow Playground where it has one (at most 6 hidden
layers of at most 8 neurons: every neuron stays visible as a heat map on the page).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from annrl.errors import InputError, show_value
from annrl.nn import ACTIVATIONS, OPTIMIZERS
from annrl.validate import Interval, ListOf, Options, check

#: the derived inputs a 2D dataset offers, as the TensorFlow Playground names them
FEATURES = ("x", "y", "x2", "y2", "xy", "sinx", "siny")
CLASSIFICATION = ("xor", "circle", "gauss", "spiral")
REGRESSION = ("plane", "bumps")
DATASETS = (*CLASSIFICATION, *REGRESSION, "boolean", "function", "custom")
#: activations that gradient descent can train (step and sign have zero gradient)
TRAINABLE = tuple(sorted(name for name, cls in ACTIVATIONS.items() if cls.differentiable))
REGULARIZATIONS = ("none", "l1", "l2")

MAX_LAYERS = 6
MAX_NEURONS = 8
MAX_POINTS = 2000
MAX_SEEDS = 200
MAX_TEXT = 200
MAX_EPOCHS_PER_UPDATE = 200


@dataclass(frozen=True)
class Text:
    """A non-empty string of at most ``max_length`` characters."""

    max_length: int

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and 0 < len(value.strip()) and len(value) <= self.max_length

    def describe(self) -> str:
        return f"a non-empty text of at most {self.max_length} characters"


TABLE = {
    "dataset": [Options(DATASETS)],
    "expression": [Text(MAX_TEXT)],
    "function": [Text(MAX_TEXT)],
    "noise": [Interval(float, 0, 50)],
    "ratio": [Interval(float, 10, 90)],
    "points": [Interval(int, 20, MAX_POINTS)],
    "batch": [Interval(int, 1, MAX_POINTS)],
    "features": [ListOf(Options(FEATURES), 1, len(FEATURES))],
    "layers": [ListOf(Interval(int, 1, MAX_NEURONS), 0, MAX_LAYERS)],
    "activation": [Options(TRAINABLE)],
    "optimizer": [Options(OPTIMIZERS)],
    "lr": [Interval(float, 0, 10, closed="right")],
    "regularization": [Options(REGULARIZATIONS)],
    "reg_rate": [Interval(float, 0, 10)],
    "epochs_per_update": [Interval(int, 1, MAX_EPOCHS_PER_UPDATE)],
    "seed": [Interval(int, 0, 2**31 - 1)],
    "data_seed": [Interval(int, 0, 2**31 - 1)],
    "seeds": [Interval(int, 1, MAX_SEEDS)],
    "goal": [Interval(float, 0, 10, closed="right")],
}


@dataclass(frozen=True)
class Setup:
    """One playground setup (what the page's URL encodes). Defaults: TensorFlow Playground's first page.

    ``seeds`` is the population size: 1 on the network view, 100 on the seeds view (every network
    the same setup, its own initial weights). A network *succeeds* when its test loss is below ``goal``.
    ``seed`` draws the initial weights, ``data_seed`` the data (points, noise, the train : test split);
    None, the default, is the seed itself, as on links made before there was a data seed.
    """

    dataset: str = "circle"
    expression: str = "a ^ b"
    function: str = "sin"
    noise: float = 0.0
    ratio: float = 50.0
    points: int = 500
    batch: int = 10
    features: tuple[str, ...] = ("x", "y")
    layers: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    optimizer: str = "sgd"
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    epochs_per_update: int = 10
    seed: int = 0
    data_seed: int | None = None
    seeds: int = 1
    goal: float = 0.05

    def __post_init__(self) -> None:
        if self.data_seed is None:
            object.__setattr__(self, "data_seed", self.seed)  # frozen: set once, here

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["features"], values["layers"] = list(self.features), list(self.layers)
        return values


def parse_setup(raw: Any, base: Setup | None = None) -> Setup:
    """A :class:`Setup` from the JSON object ``raw`` (fields not given keep ``base``'s values).

    Raises
    ------
    InputError
        ``"setup.lr must be a number in (0, 10], got -1"``, an unknown field, or features listed twice.
    """
    if not isinstance(raw, dict):
        raise InputError(f"setup must be a JSON object of fields, got {show_value(raw)}", field="setup")
    check(TABLE, raw, prefix="setup.")
    if "features" in raw and len(set(raw["features"])) != len(raw["features"]):
        raise InputError.invalid("setup.features", "a list without repeats", raw["features"])
    values = (base or Setup()).to_dict()
    values.update(raw)
    if "seed" in raw and "data_seed" not in raw:  # a seed alone (an old link, the seed box) draws its own data
        values["data_seed"] = raw["seed"]
    values["features"], values["layers"] = tuple(values["features"]), tuple(values["layers"])
    # JSON has one number type: an integer-valued float arriving for a float field is fine as is
    return Setup(**{f.name: values[f.name] for f in fields(Setup)})


#: each field in the page's words, and its rule as a student would say it: for the notice a link with a bad
#: field gets (the link is kept, that field falls back to its default)
PLAIN = {
    "dataset": ("data set", f"one of {', '.join(DATASETS)}"),
    "expression": ("Boolean expression", "a formula in a, b, c, ... such as a ^ b"),
    "function": ("function", "a function name from the list, or a formula in x and y"),
    "noise": ("noise", "a number from 0 to 50"),
    "ratio": ("train : test ratio", "a percentage from 10 to 90"),
    "points": ("number of points", f"a whole number from 20 to {MAX_POINTS}"),
    "batch": ("batch size", f"a whole number from 1 to {MAX_POINTS}"),
    "features": ("features", f"1 to {len(FEATURES)} different ones of {', '.join(FEATURES)}"),
    "layers": ("hidden layers", f"up to {MAX_LAYERS} layers of 1 to {MAX_NEURONS} neurons each"),
    "activation": ("activation", f"one of {', '.join(TRAINABLE)}"),
    "optimizer": ("optimizer", f"one of {', '.join(sorted(OPTIMIZERS))}"),
    "lr": ("learning rate", "a number above 0 and at most 10"),
    "regularization": ("regularisation", f"one of {', '.join(REGULARIZATIONS)}"),
    "reg_rate": ("regularisation rate", "a number from 0 to 10"),
    "epochs_per_update": ("epochs per update", f"a whole number from 1 to {MAX_EPOCHS_PER_UPDATE}"),
    "seed": ("seed", "a whole number from 0 to 2147483647"),
    "data_seed": ("data seed", "a whole number from 0 to 2147483647"),
    "seeds": ("number of networks", f"a whole number from 1 to {MAX_SEEDS}"),
    "goal": ("goal test loss", "a number above 0 and at most 10"),
}


def parse_link(raw: Any, base: Setup | None = None) -> tuple[Setup, list[str]]:
    """The setup of a shared link: like :func:`parse_setup`, but a field that fails its rule keeps
    ``base``'s value (the default) instead of refusing the whole link, and yields a notice.

    Returns
    -------
    setup : Setup
    notices : list of str
        One sentence per field dropped, e.g. ``"the link's learning rate -1 cannot be used (it must be
        a number above 0 and at most 10): using 0.03"``.
    """
    base = base or Setup()
    if not isinstance(raw, dict):
        return base, ["the link's setup could not be read: using the defaults"]
    kept, refused = {}, {}
    for name, value in raw.items():
        try:
            parse_setup({name: value}, base)
        except InputError:
            refused[name] = value
        else:
            kept[name] = value
    setup = parse_setup(kept, base)  # the values used instead: the base's (a data seed: the link's seed)
    return setup, [fallback_notice(name, value, setup) for name, value in refused.items()]


def fallback_notice(name: str, value: Any, base: Setup, reason: str | None = None) -> str:
    """The notice for link field ``name`` refused with ``value``: its plain name, rule (or ``reason``, when
    the data could not be built with it) and the value used instead."""
    if name not in PLAIN:
        return f"the link's field {show_value(name)} is not a playground setting: it was ignored"
    label, rule = PLAIN[name]
    shown = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    shown = "(empty)" if shown in ("", "None") else f'"{shown[:40]}"'
    why = reason.replace("setup.", "") if reason else f"it must be {rule}"
    return f"the link's {label} {shown} cannot be used ({why}): using {_plain(getattr(base, name))} instead"


def _plain(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def limits() -> dict[str, Any]:
    """The bounds and choices the page needs to build its controls."""
    return {"features": list(FEATURES), "datasets": list(DATASETS), "classification": list(CLASSIFICATION),
            "regression": list(REGRESSION), "activations": list(TRAINABLE), "optimizers": sorted(OPTIMIZERS),
            "regularizations": list(REGULARIZATIONS), "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS,
            "max_points": MAX_POINTS, "max_seeds": MAX_SEEDS, "max_text": MAX_TEXT,
            "max_epochs_per_update": MAX_EPOCHS_PER_UPDATE}
