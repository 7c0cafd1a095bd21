"""Export to and import from PyTorch: ``to_torch(net)`` and ``from_torch(module)`` for P = 1.

Parameter names map one to one: annrl's ``"2.weight"`` of shape ``(1, in, out)`` is
``torch.nn.Sequential``'s ``"2.weight"`` of shape ``(out, in)``; ``"2.bias"`` ``(1, 1, out)`` is
``"2.bias"`` ``(out,)``. PyTorch is imported lazily and only here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.backend import require_torch, to_numpy
from annrl.nn.activations import LeakyReLU, get_activation
from annrl.nn.layers import ActivationLayer, Dense
from annrl.nn.model import Network


def _torch_activation(torch: Any, activation: Any) -> Any:
    nn = torch.nn
    simple = {"identity": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
              "softplus": nn.Softplus}
    if activation.name in simple:
        return simple[activation.name]()
    if isinstance(activation, LeakyReLU):
        return nn.LeakyReLU(activation.negative_slope)
    if activation.name == "sin":
        return _sin_module(torch)()
    raise ValueError(f"activation {activation.name!r} has no PyTorch counterpart in to_torch")


def _sin_module(torch: Any) -> type:
    class Sin(torch.nn.Module):
        """x -> sin(x), the activation annrl calls "sin"."""

        def forward(self, x):
            return torch.sin(x)

    return Sin


def to_torch(net: Network) -> Any:
    """An equivalent ``torch.nn.Sequential`` (float64 or float32 as ``net``) for a P = 1 network."""
    torch = require_torch()
    if net.population != 1:
        raise ValueError(f"to_torch exports one network; select one first (population is {net.population})")
    modules = []
    dtype = getattr(torch, net.dtype)
    for index, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.as_tensor(to_numpy(net.params_[f"{index}.weight"])[0].T))
                linear.bias.copy_(torch.as_tensor(to_numpy(net.params_[f"{index}.bias"])[0, 0]))
            modules.append(linear)
        elif isinstance(layer, ActivationLayer):
            modules.append(_torch_activation(torch, layer.activation))
        else:
            raise ValueError(f"to_torch does not know layer {layer!r}")
    return torch.nn.Sequential(*modules)


def from_torch(module: Any) -> Network:
    """A P = 1 annrl network equal to ``module``: a ``torch.nn.Sequential`` of ``Linear`` and activations."""
    torch = require_torch()
    if not isinstance(module, torch.nn.Sequential):
        raise ValueError(f"from_torch expects a torch.nn.Sequential, got {type(module).__name__}")
    names = {torch.nn.Identity: "identity", torch.nn.Sigmoid: "sigmoid", torch.nn.Tanh: "tanh",
             torch.nn.ReLU: "relu", torch.nn.Softplus: "softplus"}
    layers, weights = [], {}
    for index, child in enumerate(module):
        if isinstance(child, torch.nn.Linear):
            layers.append(Dense(child.in_features, child.out_features))
            weights[f"{index}.weight"] = child.weight.detach().cpu().numpy().T[None]
            bias = child.bias.detach().cpu().numpy() if child.bias is not None else np.zeros(child.out_features)
            weights[f"{index}.bias"] = bias[None, None]
        elif isinstance(child, torch.nn.LeakyReLU):
            layers.append(ActivationLayer(LeakyReLU(child.negative_slope)))
        elif type(child) in names:
            layers.append(ActivationLayer(get_activation(names[type(child)])))
        elif type(child).__name__ == "Sin":
            layers.append(ActivationLayer("sin"))
        else:
            raise ValueError(f"from_torch does not know module {index}: {type(child).__name__}")
    dtype = "float32" if module[0].weight.dtype == torch.float32 else "float64" if layers else "float64"
    net = Network(layers, population=1, init="normal", seed=0, dtype=dtype)
    for name, value in weights.items():
        net.params_[name][...] = value
    return net
