"""The layer registry: one table rebuilds every layer kind from its spec."""

import pytest

from annrl.nn import (
    GRU,
    LSTM,
    ActivationLayer,
    AvgPool2D,
    Conv2D,
    Dense,
    ElmanRNN,
    Flatten,
    Layer,
    MaxPool2D,
    PerStep,
    TakeLast,
)
from annrl.nn.activations import get_activation
from annrl.nn.registry import LAYER_BUILDERS, layer_from_spec
from annrl.nn.residual import Residual

ONE_OF_EACH = [
    Dense(3, 4), ActivationLayer(type(get_activation("leaky_relu"))(0.2)),
    Residual([Dense(4, 4), ActivationLayer("tanh")]),
    Conv2D(3, 5, 3, stride=2, padding=1), MaxPool2D(2), AvgPool2D(3, stride=1, padding=1), Flatten(),
    ElmanRNN(3, 6, "relu"), GRU(3, 4), LSTM(3, 4), TakeLast(), PerStep(Dense(4, 1)),
]


def _subclasses(cls):
    """``cls`` and the subclasses of it defined in ``annrl.nn`` (not those of labs or tests)."""
    below = {sub for child in cls.__subclasses__() for sub in _subclasses(child)}
    return {cls, *(sub for sub in below if sub.__module__.startswith("annrl.nn."))}


def test_every_layer_kind_is_in_the_table_and_round_trips():
    assert {type(layer) for layer in ONE_OF_EACH} == _subclasses(Layer) - {Layer} - _abstract()
    assert sorted(layer.spec()["type"] for layer in ONE_OF_EACH) == sorted(LAYER_BUILDERS)
    for layer in ONE_OF_EACH:
        rebuilt = layer_from_spec(layer.spec())
        assert type(rebuilt) is type(layer) and rebuilt.spec() == layer.spec()


def _abstract():
    """Layer bases that are never built themselves (they have no ``spec`` of their own)."""
    return {cls for cls in _subclasses(Layer) if "spec" not in vars(cls)}


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(ValueError, match=r"layer type must be one of \[.*'Residual'.*\], got 'Conv3D'"):
        layer_from_spec({"type": "Conv3D"})
