"""The zoo's registry: every architecture is one module, listed here in order and imported lazily.

The contract every zoo module follows::

    NAME = "rbm"                # CLI name
    SUMMARY = "one line: what the architecture is for"
    def build(seed: int = 0):   # the model object the diagram is drawn from (an annrl.nn.Network or a zoo model)
    def demo(out: pathlib.Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
        # trains/runs the demo, writes its figure PNG(s) into out, returns metrics incl. the figure of merit;
        # < 60 s on 2 cores (quick=True: a few seconds, used by tests and `annrl demo`)

A zoo model that is not an ``annrl.nn.Network`` provides ``zoo_layers() -> list[ZooLayer]``
(:class:`annrl.zoo.diagram.ZooLayer`) so that :func:`annrl.zoo.diagram.draw_diagram` can draw it.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from types import ModuleType

from annrl.errors import InputError

#: every architecture's module, roughly in the order the ideas appeared
REGISTRY: list[str] = [
    "annrl.zoo.perceptron",
    "annrl.zoo.mlp",
    "annrl.zoo.rbf",
    "annrl.zoo.hopfield",
    "annrl.zoo.rbm",
    "annrl.zoo.autoencoder",
    "annrl.zoo.som",
    "annrl.zoo.elm",
    "annrl.zoo.esn",
    "annrl.zoo.resnet",
    "annrl.zoo.adaline",
    "annrl.zoo.cnn",
    "annrl.zoo.sequence",
]

#: what a module must define to be a zoo architecture
CONTRACT = ("NAME", "SUMMARY", "build", "demo")


@cache
def _import(path: str) -> ModuleType:
    try:
        module = import_module(path)
    except ModuleNotFoundError as err:
        if err.name != path:
            raise  # the module exists but something it imports is missing
        raise ImportError(f"zoo module {path} is registered but not installed") from err
    missing = [attr for attr in CONTRACT if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"zoo module {path} lacks {', '.join(missing)} (see annrl.zoo.registry)")
    return module


def modules() -> list[ModuleType]:
    """Every registered architecture's module, imported (in :data:`REGISTRY` order)."""
    return [_import(path) for path in REGISTRY]


def names() -> list[str]:
    """The CLI names of the architectures, in order."""
    return [module.NAME for module in modules()]


def load(name: str) -> ModuleType:
    """The module of architecture ``name`` (its CLI ``NAME``); InputError listing the names otherwise."""
    # most modules are named as their architecture: try that one first, importing nothing else
    guess = next((path for path in REGISTRY if path.rsplit(".", 1)[1] == name), None)
    if guess is not None and _import(guess).NAME == name:
        return _import(guess)
    for module in modules():
        if module.NAME == name:
            return module
    raise InputError.invalid("architecture", f"one of {', '.join(names())} (or all)", name)
