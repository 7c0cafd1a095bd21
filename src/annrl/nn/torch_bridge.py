"""Export to and import from PyTorch: ``to_torch(net)`` and ``from_torch(module)`` for P = 1.

Every layer kind crosses over. Parameter names map one to one with a ``torch.nn.Sequential``:
annrl's ``"2.weight"`` of shape ``(1, in, out)`` is the ``Linear``'s ``"2.weight"`` ``(out, in)``
(annrl stores the transposes), ``"2.bias"`` ``(1, 1, out)`` is ``"2.bias"`` ``(out,)``. Where the
two libraries lay data out differently, the exported model takes annrl's layout, so that
``to_torch(net)(x)`` equals ``net.predict(x)[0]`` for the same ``x``:

- images are channels-last ``(N, H, W, C)`` in annrl and channels-first in ``nn.Conv2d``: each
  convolution or pooling is wrapped in ``ChannelsLast``, which permutes around it;
- recurrent layers return their whole output sequence (``nn.GRU`` returns ``(output, h_n)``):
  ``SequenceOutput`` keeps the output, ``LastStep`` is annrl's ``TakeLast`` and ``EveryStep`` its
  ``PerStep``;
- a residual block ``x + F(x)`` is ``ResidualBlock`` around a ``Sequential`` ``F``.

Those wrappers are small ``torch.nn.Module`` classes defined on first use, so that importing annrl
never imports PyTorch (save an exported model with ``torch.save(model.state_dict(), ...)``).
"""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np

from annrl.backend import require_torch, to_numpy
from annrl.errors import InputError
from annrl.nn.activations import LeakyReLU, get_activation
from annrl.nn.conv import AvgPool2D, Conv2D, Flatten, MaxPool2D
from annrl.nn.layers import ActivationLayer, Dense, Layer
from annrl.nn.model import Network
from annrl.nn.recurrent import GRU, LSTM, ElmanRNN, PerStep, TakeLast
from annrl.nn.residual import Residual

RECURRENT = {ElmanRNN: "RNN", GRU: "GRU", LSTM: "LSTM"}
RECURRENT_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@functools.cache
def wrappers() -> types.SimpleNamespace:
    """The wrapper module classes, built once."""
    torch = require_torch()
    nn = torch.nn

    class ChannelsLast(nn.Module):
        """Run a channels-first image module on channels-last ``(N, H, W, C)`` images."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    class SequenceOutput(nn.Module):
        """A batch-first ``nn.RNN``/``nn.GRU``/``nn.LSTM`` giving only its output sequence."""

        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            return self.rnn(x)[0]

    class EveryStep(nn.Module):
        """A layer applied at every step of a sequence, annrl's ``PerStep`` (torch's act on the last axis)."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    class LastStep(nn.Module):
        """The last step of a batch-first sequence, annrl's ``TakeLast``."""

        def forward(self, x):
            return x[:, -1]

    class ResidualBlock(nn.Module):
        """``x + F(x)``, annrl's ``Residual``."""

        def __init__(self, branch):
            super().__init__()
            self.branch = branch

        def forward(self, x):
            return x + self.branch(x)

    class Sin(nn.Module):
        """x -> sin(x), the activation annrl calls "sin"."""

        def forward(self, x):
            return torch.sin(x)

    return types.SimpleNamespace(ChannelsLast=ChannelsLast, SequenceOutput=SequenceOutput, EveryStep=EveryStep,
                                 LastStep=LastStep, ResidualBlock=ResidualBlock, Sin=Sin)


# -- export ---------------------------------------------------------------------------------------
def to_torch(net: Network) -> Any:
    """An equivalent ``torch.nn.Sequential`` (float64 or float32 as ``net``) for a P = 1 network."""
    torch = require_torch()
    if net.population != 1:
        raise InputError(f"to_torch exports one network; select one first (population is {net.population})")
    params = {name: to_numpy(value)[0] for name, value in net.params_.items()}
    return _export_sequence(torch, net.layers, params, getattr(torch, net.dtype))


def _export_sequence(torch: Any, layers: list[Layer], params: dict[str, np.ndarray], dtype: Any) -> Any:
    modules = []
    for index, layer in enumerate(layers):
        prefix = f"{index}."
        own = {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}
        modules.append(_export_layer(torch, layer, own, dtype))
    return torch.nn.Sequential(*modules)


def _export_layer(torch: Any, layer: Layer, params: dict[str, np.ndarray], dtype: Any) -> Any:
    nn, w = torch.nn, wrappers()
    if isinstance(layer, Dense):
        return _filled(torch, nn.Linear(layer.n_in, layer.n_out, dtype=dtype),
                       weight=params["weight"].T, bias=params["bias"][0])
    if isinstance(layer, ActivationLayer):
        return _torch_activation(torch, layer.activation)
    if isinstance(layer, Conv2D):
        conv = nn.Conv2d(layer.n_in, layer.n_out, layer.kernel, stride=layer.stride, padding=layer.padding, dtype=dtype)
        # annrl's kernel is (k_h, k_w, C, F); PyTorch's (F, C, k_h, k_w)
        return w.ChannelsLast(_filled(torch, conv, weight=params["weight"].transpose(3, 2, 0, 1),
                                      bias=params["bias"][0]))
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        pool = nn.MaxPool2d if isinstance(layer, MaxPool2D) else nn.AvgPool2d
        return w.ChannelsLast(pool(layer.kernel, stride=layer.stride, padding=layer.padding))
    if isinstance(layer, Flatten):
        return nn.Flatten(start_dim=-layer.ndim)
    if type(layer) in RECURRENT:
        return w.SequenceOutput(_export_recurrent(torch, layer, params, dtype))
    if isinstance(layer, TakeLast):
        return w.LastStep()
    if isinstance(layer, PerStep):
        return w.EveryStep(_export_layer(torch, layer.layer, params, dtype))
    if isinstance(layer, Residual):
        return w.ResidualBlock(_export_sequence(torch, layer.layers, params, dtype))
    raise InputError(f"to_torch does not know layer {layer!r}")


def _export_recurrent(torch: Any, layer: Layer, params: dict[str, np.ndarray], dtype: Any) -> Any:
    kind = RECURRENT[type(layer)]
    extra = {"nonlinearity": layer.activation.name} if kind == "RNN" else {}
    rnn = getattr(torch.nn, kind)(layer.n_in, layer.hidden, batch_first=True, dtype=dtype, **extra)
    # annrl's (in, G H) matrices are the transposes of PyTorch's (G H, in); gate blocks in the same order
    return _filled(torch, rnn, **{f"{name}_l0": params[name].reshape(-1) if name.startswith("bias")
                                  else params[name].T for name in RECURRENT_PARAMS})


def _filled(torch: Any, module: Any, **values: np.ndarray) -> Any:
    with torch.no_grad():
        for name, value in values.items():
            getattr(module, name).copy_(torch.as_tensor(np.ascontiguousarray(value)))
    return module


def _torch_activation(torch: Any, activation: Any) -> Any:
    nn = torch.nn
    simple = {"identity": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
              "softplus": nn.Softplus}
    if activation.name in simple:
        return simple[activation.name]()
    if isinstance(activation, LeakyReLU):
        return nn.LeakyReLU(activation.negative_slope)
    if activation.name == "sin":
        return wrappers().Sin()
    raise InputError(f"activation {activation.name!r} has no PyTorch counterpart in to_torch")


# -- import ---------------------------------------------------------------------------------------
def from_torch(module: Any) -> Network:
    """A P = 1 annrl network equal to ``module``: a ``torch.nn.Sequential`` of ``Linear``, activations
    and the modules :func:`to_torch` writes (channels-last convolutions, recurrent layers, ...)."""
    torch = require_torch()
    if not isinstance(module, torch.nn.Sequential):
        raise InputError(f"from_torch expects a torch.nn.Sequential, got {type(module).__name__}")
    weights: dict[str, np.ndarray] = {}
    layers = _import_sequence(torch, module, "", weights)
    dtypes = {value.dtype for value in weights.values()}
    net = Network(layers, population=1, init="normal", seed=0,
                  dtype="float32" if dtypes == {np.dtype(np.float32)} else "float64")
    for name, value in weights.items():
        net.params_[name][...] = value[None]
    return net


def _import_sequence(torch: Any, module: Any, prefix: str, weights: dict[str, np.ndarray]) -> list[Layer]:
    return [_import_module(torch, child, f"{prefix}{index}.", weights, index) for index, child in enumerate(module)]


def _import_module(torch: Any, child: Any, prefix: str, weights: dict[str, np.ndarray], index: int) -> Layer:
    nn, w = torch.nn, wrappers()
    names = {nn.Identity: "identity", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu",
             nn.Softplus: "softplus", w.Sin: "sin"}
    if isinstance(child, nn.Linear):
        bias = _numpy(child.bias) if child.bias is not None else np.zeros(child.out_features)
        weights.update({f"{prefix}weight": _numpy(child.weight).T, f"{prefix}bias": bias[None]})
        return Dense(child.in_features, child.out_features)
    if isinstance(child, nn.LeakyReLU):
        return ActivationLayer(LeakyReLU(child.negative_slope))
    if type(child) in names:
        return ActivationLayer(get_activation(names[type(child)]))
    if isinstance(child, w.ChannelsLast):
        return _import_image_module(nn, child.inner, prefix, weights, index)
    if isinstance(child, nn.Flatten):
        if child.end_dim != -1 or child.start_dim >= 0:
            raise InputError(f"from_torch: module {index}: only a Flatten of the trailing axes "
                             f"(start_dim < 0, end_dim=-1) has an annrl counterpart")
        return Flatten(-child.start_dim)
    if isinstance(child, w.SequenceOutput):
        return _import_recurrent(child.rnn, prefix, weights, index)
    if isinstance(child, w.LastStep):
        return TakeLast()
    if isinstance(child, w.EveryStep):
        return PerStep(_import_module(torch, child.inner, prefix, weights, index))
    if isinstance(child, w.ResidualBlock):
        return Residual(_import_sequence(torch, child.branch, prefix, weights))
    raise InputError(f"from_torch does not know module {index}: {type(child).__name__}")


def _import_image_module(nn: Any, inner: Any, prefix: str, weights: dict[str, np.ndarray], index: int) -> Layer:
    if isinstance(inner, nn.Conv2d):
        if (inner.groups != 1 or inner.dilation != (1, 1) or inner.padding_mode != "zeros"
                or isinstance(inner.padding, str)):
            raise InputError(f"from_torch: module {index}: only plain convolutions (groups=1, dilation=1, "
                             "zero padding) have an annrl counterpart")
        bias = _numpy(inner.bias) if inner.bias is not None else np.zeros(inner.out_channels)
        weights.update({f"{prefix}weight": _numpy(inner.weight).transpose(2, 3, 1, 0), f"{prefix}bias": bias[None]})
        return Conv2D(inner.in_channels, inner.out_channels, inner.kernel_size, inner.stride, inner.padding)
    if isinstance(inner, nn.MaxPool2d) and inner.dilation in (1, (1, 1)) and not inner.ceil_mode:
        return MaxPool2D(inner.kernel_size, inner.stride, inner.padding)
    if (isinstance(inner, nn.AvgPool2d) and inner.count_include_pad and not inner.ceil_mode
            and inner.divisor_override is None):
        return AvgPool2D(inner.kernel_size, inner.stride, inner.padding)
    raise InputError(f"from_torch: module {index}: {type(inner).__name__} with these settings has no annrl counterpart")


def _import_recurrent(rnn: Any, prefix: str, weights: dict[str, np.ndarray], index: int) -> Layer:
    if rnn.num_layers != 1 or rnn.bidirectional or not rnn.batch_first or not rnn.bias or getattr(rnn, "proj_size", 0):
        raise InputError(f"from_torch: module {index}: only one-layer, one-direction, batch-first recurrent "
                         "layers with biases have an annrl counterpart")
    kind = type(rnn).__name__
    layer = {"RNN": lambda: ElmanRNN(rnn.input_size, rnn.hidden_size, getattr(rnn, "nonlinearity", "tanh")),
             "GRU": lambda: GRU(rnn.input_size, rnn.hidden_size),
             "LSTM": lambda: LSTM(rnn.input_size, rnn.hidden_size)}[kind]()
    for name in RECURRENT_PARAMS:
        value = _numpy(getattr(rnn, f"{name}_l0"))
        weights[f"{prefix}{name}"] = value[None] if name.startswith("bias") else value.T
    return layer


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy()
