"""What the compiled path can train, as numbers its kernels read: no Numba needed to ask.

:func:`why_not` says in a few words why a training does not qualify (None when it does); :func:`dense_plan`
describes a stack of Dense layers by arrays (widths, where each layer's parameters start in the flat
vector, activation codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.backend import is_numpy
from annrl.nn import activations, losses, optim
from annrl.nn.layers import ActivationLayer, Dense

#: the activations the kernels know, by code (annrl.nn.compiled.elementwise holds the same numbers)
ACTIVATION_CODES = {activations.Identity: 0, activations.Sigmoid: 1, activations.Tanh: 2, activations.ReLU: 3,
                    activations.LeakyReLU: 4, activations.Softplus: 5, activations.Sin: 6}
LOSS_CODES = {losses.MSE: 0, losses.BCEWithLogits: 1, losses.SoftmaxCrossEntropy: 2, losses.Huber: 3}
OPTIMIZER_CODES = {optim.SGD: 0, optim.Adam: 1, optim.RMSprop: 2}


@dataclass(frozen=True)
class DensePlan:
    """A stack of ``L`` Dense layers, each followed by at most one activation.

    Attributes
    ----------
    units : ndarray of int, shape (L + 1,)
        Widths from the input to the output.
    w_off, b_off : ndarray of int, shape (L,)
        First index of each layer's weight ``(in, out)`` and bias ``(out,)`` in a network's flat vector.
    acts : ndarray of int, shape (L,)
        Activation code after each layer (identity where none follows).
    slopes : ndarray of float, shape (L,)
        Negative slope of a leaky ReLU (0 otherwise).
    """

    units: np.ndarray
    w_off: np.ndarray
    b_off: np.ndarray
    acts: np.ndarray
    slopes: np.ndarray


def dense_plan(net: Any) -> DensePlan | str:
    """The plan of ``net``'s layers, or a few words on the first layer the kernels cannot run."""
    units, w_off, b_off, acts, slopes = [], [], [], [], []
    layers, index, slices, w_dense = list(net.layers), 0, net.layout.slices, []
    while index < len(layers):
        layer, dense = layers[index], index
        if type(layer) is not Dense:
            return f"layer {index} is {type(layer).__name__}, not Dense (compiled: Dense stacks only)"
        activation: Any = activations.Identity()
        if index + 1 < len(layers) and type(layers[index + 1]) is ActivationLayer:
            activation = layers[index + 1].activation
            index += 1
        if type(activation) not in ACTIVATION_CODES:
            return f"activation {activation!r} has no compiled kernel"
        if units and layers[w_dense[-1]].n_out != layer.n_in:
            return f"layer {dense} takes {layer.n_in} inputs after {layers[w_dense[-1]].n_out} outputs"
        units.append(layer.n_in)
        w_dense.append(dense)
        w_off.append(slices[f"{dense}.weight"].start)
        b_off.append(slices[f"{dense}.bias"].start)
        acts.append(ACTIVATION_CODES[type(activation)])
        slopes.append(getattr(activation, "negative_slope", 0.0))
        index += 1
    if not units:
        return "the network has no layers"
    units.append(layers[dense].n_out)
    return DensePlan(*(np.asarray(v, dtype=np.int64) for v in (units, w_off, b_off, acts)),
                     np.asarray(slopes, dtype=np.float64))


def why_not(net: Any, loss: Any, optimizer: Any) -> str | None:
    """Why the compiled path cannot train ``net`` with ``loss`` and ``optimizer`` (None: it can)."""
    if not is_numpy(net.xp):
        return "the network's parameters are not NumPy arrays (compiled: NumPy only)"
    plan = dense_plan(net)
    if isinstance(plan, str):
        return plan
    if type(loss) not in LOSS_CODES:
        return f"loss {loss!r} has no compiled kernel"
    if type(optimizer) not in OPTIMIZER_CODES:
        return f"optimizer {type(optimizer).__name__} has no compiled kernel"
    return None
