"""The layer registry: every layer kind's ``spec()["type"]`` and how to build it back from its spec.

This is the one table that turns a saved architecture (``Network.spec()``, a checkpoint, a network
file) back into layers. To add a layer kind: give the class a ``spec()`` whose ``"type"`` is its name,
write a builder ``spec -> layer`` here and list it in :data:`LAYER_BUILDERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from annrl.errors import InputError
from annrl.nn.activations import get_activation
from annrl.nn.conv import AvgPool2D, Conv2D, Flatten, MaxPool2D
from annrl.nn.layers import ActivationLayer, Dense, Layer
from annrl.nn.recurrent import GRU, LSTM, ElmanRNN, PerStep, TakeLast
from annrl.nn.residual import Residual


def _activation(spec: dict[str, Any]) -> Layer:
    activation = get_activation(spec["name"])
    if "negative_slope" in spec:
        activation = type(activation)(float(spec["negative_slope"]))
    return ActivationLayer(activation)


def _window(spec: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """The kernel, stride and padding of a convolution or pooling spec."""
    return {key: tuple(spec[key]) for key in ("kernel_size", "stride", "padding")}


#: ``spec()["type"]`` -> builder of that layer from its spec
LAYER_BUILDERS: dict[str, Callable[[dict[str, Any]], Layer]] = {
    "Activation": _activation,
    "AvgPool2D": lambda spec: AvgPool2D(**_window(spec)),
    "Conv2D": lambda spec: Conv2D(int(spec["in_channels"]), int(spec["out_channels"]), **_window(spec)),
    "Dense": lambda spec: Dense(int(spec["n_in"]), int(spec["n_out"])),
    "ElmanRNN": lambda spec: ElmanRNN(int(spec["n_in"]), int(spec["hidden"]), spec.get("activation", "tanh")),
    "Flatten": lambda spec: Flatten(int(spec.get("ndim", 3))),
    "GRU": lambda spec: GRU(int(spec["n_in"]), int(spec["hidden"])),
    "LSTM": lambda spec: LSTM(int(spec["n_in"]), int(spec["hidden"])),
    "MaxPool2D": lambda spec: MaxPool2D(**_window(spec)),
    "PerStep": lambda spec: PerStep(layer_from_spec(spec["layer"])),
    "Residual": lambda spec: Residual([layer_from_spec(s) for s in spec["layers"]]),
    "TakeLast": lambda spec: TakeLast(),
}


def layer_from_spec(spec: dict[str, Any]) -> Layer:
    """Build a layer from :meth:`Layer.spec` output (the inverse of ``spec``)."""
    kind = spec.get("type")
    if kind not in LAYER_BUILDERS:
        raise InputError(f"layer type must be one of {sorted(LAYER_BUILDERS)}, got {kind!r}")
    return LAYER_BUILDERS[kind](spec)
