"""Networks: a stack of layers whose parameters are one flat ``(P, D)`` array of P networks.

``Network`` is the general stack (any layers with the :mod:`annrl.nn.layers` interface); ``MLP``
builds the usual dense stack from a list of sizes such as ``[2, 2, 1]``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from annrl.backend import array_namespace, to_backend, to_numpy
from annrl.errors import InputError
from annrl.nn.activations import Activation, get_activation
from annrl.nn.init import Init, get_init
from annrl.nn.layers import ActivationLayer, Dense, Layer
from annrl.nn.params import ParameterLayout, new_flat, population_inner
from annrl.nn.registry import layer_from_spec

DTYPES = ("float64", "float32")
#: the attributes holding parameter and gradient arrays or views of them (made by ``Network._allocate``)
_ARRAYS = ("flat_", "grad", "params_", "grads", "_layer_params", "_layer_grads")


class Network:
    """A population of ``P`` networks with the same layers and their own parameters.

    Parameters
    ----------
    layers : sequence of Layer
        Applied in order; parameter names are ``"<index>.<name>"`` (``"0.weight"``), as in
        ``torch.nn.Sequential``.
    population : int, default=1
        Number of independent networks ``P`` trained side by side.
    init : str or Init, default="normal"
        How the first parameters are drawn (see :mod:`annrl.nn.init`).
    seed : int, optional
        Seed of the generator that draws them, when ``rng`` is not given.
    rng : numpy.random.Generator, optional
        The generator to draw from (takes precedence over ``seed``).
    dtype : {"float64", "float32"}, default="float64"

    Attributes
    ----------
    flat_ : array, shape (P, D)
        Every learned parameter of every network, one row per network.
    params_ : dict of str to array
        Named views into ``flat_``, e.g. ``params_["0.weight"]`` of shape ``(P, in, out)``.
    grad : array, shape (P, D)
        Gradients accumulated by :meth:`backward` (``grads`` holds the named views).
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        *,
        population: int = 1,
        init: str | Init = "normal",
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype: str = "float64",
    ):
        if int(population) < 1:
            raise InputError(f"population must be >= 1, got {population}")
        if dtype not in DTYPES:
            raise InputError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self.layers = list(layers)
        self.population = int(population)
        self.dtype = dtype
        self.init = get_init(init)
        self.layout = ParameterLayout(
            {f"{i}.{n}": s for i, layer in enumerate(self.layers) for n, s in layer.param_specs().items()}
        )
        fan_ins = [s.fan_in for s in self.layout.specs.values()]
        self._inner = population_inner(self.population, fan_ins)
        self._allocate(np, None)
        self._draw(rng if rng is not None else np.random.default_rng(seed))

    # -- state -----------------------------------------------------------------------------
    def _allocate(self, xp: Any, device: Any) -> None:
        P, D = self.population, self.layout.size
        dtype = getattr(xp, self.dtype)
        self.flat_ = new_flat(xp, P, D, dtype=dtype, device=device, inner=self._inner)
        self.grad = new_flat(xp, P, D, dtype=dtype, device=device, inner=self._inner)
        self._bind()

    def _bind(self) -> None:
        xp = array_namespace(self.flat_)
        self.params_ = self.layout.views(self.flat_, xp)
        self.grads = self.layout.views(self.grad, xp)
        self._layer_params = [self._per_layer(self.params_, i) for i in range(len(self.layers))]
        self._layer_grads = [self._per_layer(self.grads, i) for i in range(len(self.layers))]

    @staticmethod
    def _per_layer(named: dict[str, Any], index: int) -> dict[str, Any]:
        prefix = f"{index}."
        return {k[len(prefix) :]: v for k, v in named.items() if k.startswith(prefix)}

    def _draw(self, rng: np.random.Generator) -> None:
        for name, spec in self.layout.specs.items():
            self.params_[name][...] = self.init.sample(rng, spec, self.population)

    @property
    def xp(self) -> Any:
        """The array namespace the parameters live in (NumPy unless moved with :meth:`to`)."""
        return array_namespace(self.flat_)

    @property
    def n_params(self) -> int:
        """Parameters per network, ``D``."""
        return self.layout.size

    def to(self, backend: str = "numpy", device: str | None = None) -> Network:
        """Move the parameters to ``backend`` ("numpy" or "torch") on ``device``, in place."""
        values = to_backend(to_numpy(self.flat_), backend, device)
        self._allocate(array_namespace(values), values.device)
        self.flat_[...] = values
        return self

    def set_flat(self, values: Any) -> None:
        """Copy ``values`` of shape ``(P, D)`` into the parameters."""
        values = self.asarray(values)
        if tuple(values.shape) != tuple(self.flat_.shape):
            raise InputError(f"parameters must have shape {tuple(self.flat_.shape)}, got {tuple(values.shape)}")
        self.flat_[...] = values

    def asarray(self, x: Any) -> Any:
        """``x`` in the parameters' namespace, dtype and device.

        Parameters
        ----------
        x : array_like of any shape, e.g. (N, in)
            Numbers, a NumPy array or a tensor.

        Returns
        -------
        ndarray or tensor of the same shape, e.g. (N, in)
            In the namespace, dtype and device of the network's parameters.
        """
        xp = self.xp
        return xp.asarray(x, dtype=self.flat_.dtype, device=self.flat_.device)

    # -- computation -----------------------------------------------------------------------
    def forward(self, x: Any) -> tuple[Any, list[Any]]:
        """Outputs ``(P, N, out)`` of every network for ``x`` ``(N, in)`` or ``(P, N, in)``, and caches."""
        caches = []
        for layer, params in zip(self.layers, self._layer_params, strict=True):
            x, cache = layer.forward(params, x)
            caches.append(cache)
        return x, caches

    def backward(self, grad_y: Any, caches: list[Any], *, input_grad: bool = False, accumulate: bool = True) -> Any:
        """Add the parameter gradients of ``grad_y`` (``(P, N, out)``) to ``grad``.

        With ``accumulate=False`` they replace what ``grad`` held instead, so that a training step
        needs no :meth:`zero_grad` first (each layer writes them straight into ``grads``).
        Returns the gradient with respect to the input, ``(P, N, in)``, when ``input_grad``.
        """
        grad = grad_y
        for index in range(len(self.layers) - 1, -1, -1):
            layer, params, cache = self.layers[index], self._layer_params[index], caches[index]
            need_input = input_grad or index > 0
            if not accumulate:
                grad = layer.backward_into(params, grad, cache, need_input, self._layer_grads[index])
                continue
            grad, param_grads = layer.backward(params, grad, cache, need_input)
            accumulators = self._layer_grads[index]
            for name, value in param_grads.items():
                accumulators[name] += value
        return grad

    def zero_grad(self) -> None:
        """Set the gradient buffer ``grad`` ``(P, D)`` to 0, in place."""
        self.grad[...] = 0.0

    def layer_outputs(self, x: Any) -> list[Any]:
        """The output of every layer, in order (each ``(P, N, units)``): what each neuron computes."""
        x, outputs = self.check_input(x), []
        for layer, params in zip(self.layers, self._layer_params, strict=True):
            x = layer.forward(params, x)[0]
            outputs.append(x)
        return outputs

    def predict(self, x: Any) -> Any:
        """Outputs ``(P, N, out)`` for ``x`` of shape ``(N, in)`` or ``(P, N, in)``."""
        return self.forward(self.check_input(x))[0]

    def input_gradient(self, x: Any) -> Any:
        """d(sum of outputs)/dx, shape ``(P, N, in)``: for one output, each sample's derivative."""
        y, caches = self.forward(self.check_input(x))
        return self.backward(self.xp.ones_like(y), caches, input_grad=True)

    def check_input(self, x: Any) -> Any:
        """``x`` as an array of this network's dtype, after checking its shape.

        Parameters
        ----------
        x : array_like of shape (N, in) or (P, N, in)
            Samples, shared by all ``P`` networks or one set per network; a recurrent first layer
            takes sequences ``(N, T, in)``, a convolution images ``(N, H, W, C)``.

        Returns
        -------
        ndarray
            ``x`` unchanged in shape, in the parameters' namespace and dtype.

        Raises
        ------
        InputError
            When the shape is none of the above, naming the shape expected and the one got.
        """
        x = self.asarray(x)
        n_in = self.n_inputs
        shape = tuple(x.shape)
        # a sample is an (in,) vector, or a (T, in) sequence for a recurrent first layer
        first = next(layer for layer in self.layers if hasattr(layer, "n_in"))
        rank = getattr(first, "sample_ndim", 1)
        if x.ndim == rank + 1 and shape[-1] == n_in:
            return x
        if x.ndim == rank + 2 and shape[0] == self.population and shape[-1] == n_in:
            return x
        sample = getattr(first, "sample_axes", "T, " * (rank - 1)) + str(n_in)  # images: "H, W, C"
        raise InputError(
            f"input must have shape (N, {sample}) or ({self.population}, N, {sample}), got {shape}"
        )

    @property
    def n_inputs(self) -> int:
        return next(layer.n_in for layer in self.layers if hasattr(layer, "n_in"))

    @property
    def n_outputs(self) -> int:
        return next(layer.n_out for layer in reversed(self.layers) if hasattr(layer, "n_out"))

    # -- population ------------------------------------------------------------------------
    def select(self, indices: Sequence[int]) -> Network:
        """A new network holding copies of the networks at ``indices`` (a sub-population).

        It shares nothing mutable with this one: its layers and settings are deep copies, its
        parameters and gradients fresh arrays (gradients zero).
        """
        idx = list(indices)
        clone = object.__new__(type(self))
        settings = {k: v for k, v in self.__dict__.items() if k not in _ARRAYS}  # the arrays are made anew below
        clone.__dict__.update(copy.deepcopy(settings))
        clone.population = len(idx)
        clone._inner = population_inner(clone.population, [s.fan_in for s in self.layout.specs.values()])
        values = to_numpy(self.flat_)[idx]
        xp = self.xp
        clone._allocate(xp, self.flat_.device)
        clone.flat_[...] = xp.asarray(values, device=clone.flat_.device)
        return clone

    def spec(self) -> dict[str, Any]:
        """The architecture as JSON: layers, population size and dtype (not the parameters)."""
        return {"layers": [layer.spec() for layer in self.layers], "population": self.population,
                "dtype": self.dtype}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Network:
        """A network of the architecture ``spec`` (from :meth:`spec`), with zero parameters."""
        layers = [layer_from_spec(s) for s in spec["layers"]]
        net = Network(layers, population=int(spec["population"]), dtype=spec["dtype"], init="normal", seed=0)
        net.flat_[...] = 0.0
        return net

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}(P={self.population}, D={self.n_params}, {self.dtype})"]
        for i, layer in enumerate(self.layers):
            shapes = ", ".join(
                f"{name}: {tuple(v.shape)}" for name, v in self._layer_params[i].items()
            )
            lines.append(f"  ({i}) {layer!r}" + (f"  [{shapes}]" if shapes else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """A notebook's summary: population, parameters, dtype, backend and one row per layer."""
        from annrl.htmlrepr import table

        rows: list[tuple[str, object]] = [("networks (P)", self.population), ("parameters each (D)", self.n_params),
                                          ("dtype", self.dtype), ("backend", self.xp.__name__.split(".")[-1])]
        rows += [(f"layer {i}", repr(layer)) for i, layer in enumerate(self.layers)]
        return table(type(self).__name__, rows)


class MLP(Network):
    """A multilayer perceptron: dense layers with one activation after the hidden ones.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, e.g. ``[2, 2, 1]``.
    hidden : str or Activation, default="sigmoid"
        Activation after every hidden layer.
    output : str or Activation, default="identity"
        Activation after the last layer (identity: a linear output, as the XOR tutorial's).
    **kwargs
        ``population``, ``init``, ``seed``, ``rng``, ``dtype`` as in :class:`Network`.

    Examples
    --------
    >>> net = MLP([2, 2, 1], population=3, seed=0)
    >>> net.predict([[0.0, 1.0]]).shape
    (3, 1, 1)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        hidden: str | Activation = "sigmoid",
        output: str | Activation = "identity",
        **kwargs: Any,
    ):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise InputError(f"sizes must list at least 2 positive widths, got {sizes}")
        self.sizes = sizes
        self.hidden, self.output = get_activation(hidden), get_activation(output)
        layers: list[Layer] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            last = i == len(sizes) - 2  # the one line that makes the output activation differ
            layers += [Dense(n_in, n_out), ActivationLayer(self.output if last else self.hidden)]
        super().__init__(layers, **kwargs)
