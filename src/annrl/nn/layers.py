"""Layers: the dense layer and the activation layer, each a forward with its backward below it.

Every layer has the same small interface:

- ``param_specs() -> {name: ParamSpec}``: its parameters, without the population axis;
- ``forward(params, x) -> (y, cache)``: ``params`` maps those names to ``(P, ...)`` arrays;
- ``backward(params, grad_y, cache, input_grad) -> (grad_x or None, {name: grad})``;
- ``backward_into(params, grad_y, cache, input_grad, out) -> grad_x or None``: the same backward,
  writing the parameter gradients into the arrays ``out`` (overwriting them). A training step calls
  it with views of the network's gradient buffer, so nothing has to be zeroed or added afterwards.

Layers hold settings only; the parameters live in the network's flat array and are passed in, so
one layer object serves a population of any size, a checkpoint, or a genetic algorithm.
Later layer kinds (recurrent cells, convolutions, plastic synapses) implement the same interface, and
every kind is listed in :mod:`annrl.nn.registry`, which builds it back from its ``spec()``.
"""

from __future__ import annotations

from typing import Any

from annrl.backend import array_namespace, is_numpy
from annrl.errors import InputError
from annrl.nn.activations import Activation, get_activation
from annrl.nn.params import LARGE_POPULATION, SMALL_FAN_IN, ParamSpec


class Layer:
    """Base class of every layer (see the module docstring for the interface)."""

    def param_specs(self) -> dict[str, ParamSpec]:
        """The layer's parameters, by name, each without the population axis.

        Returns
        -------
        dict of str to ParamSpec
            For a dense layer ``{"weight": (in, out), "bias": (1, out)}``; empty for a parameter-free layer.
        """
        return {}

    def spec(self) -> dict[str, Any]:
        """The layer's settings as JSON (``{"type": ..., ...}``), enough to build it again."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved yet")

    def forward(self, params: dict[str, Any], x: Any) -> tuple[Any, Any]:
        """The layer's output for input ``x``, and the cache its backward needs.

        Parameters
        ----------
        params : dict of str to ndarray
            The layer's parameters, each with the population axis first, e.g. ``weight`` ``(P, in, out)``.
        x : ndarray of shape (P, N, in) or (N, in)
            The inputs; ``(N, in)`` is shared by all ``P`` networks (sequence and image layers add their
            axes: ``(P, N, T, in)``, ``(P, N, H, W, C)``).

        Returns
        -------
        y : ndarray of shape (P, N, out)
            The output of every network.
        cache : object
            What :meth:`backward` reads (for a dense layer, ``x`` itself).
        """
        raise NotImplementedError

    def backward(
        self, params: dict[str, Any], grad_y: Any, cache: Any, input_grad: bool = True
    ) -> tuple[Any, dict[str, Any]]:
        """Gradients of the loss with respect to the input and to each parameter.

        Parameters
        ----------
        params : dict of str to ndarray
            The parameters :meth:`forward` used, each ``(P, ...)``.
        grad_y : ndarray of shape (P, N, out)
            Gradient of the loss with respect to this layer's output.
        cache : object
            What :meth:`forward` returned beside the output.
        input_grad : bool, default=True
            Whether to compute the gradient with respect to the input (the first layer does not need it).

        Returns
        -------
        grad_x : ndarray of shape (P, N, in) or None
            Gradient with respect to the input; ``None`` when ``input_grad`` is false.
        grads : dict of str to ndarray
            Gradient of every parameter, each with the shape of that parameter, e.g. ``(P, in, out)``.
        """
        raise NotImplementedError

    def backward_into(self, params: dict[str, Any], grad_y: Any, cache: Any, input_grad: bool,
                      out: dict[str, Any]) -> Any:
        """:meth:`backward` with the parameter gradients copied into ``out`` (``{name: array}``).

        Layers that can compute their gradients straight into ``out`` override this.

        Parameters
        ----------
        params : dict of str to ndarray
            The parameters :meth:`forward` used, each ``(P, ...)``.
        grad_y : ndarray of shape (P, N, out)
            Gradient of the loss with respect to this layer's output.
        cache : object
            What :meth:`forward` returned beside the output.
        input_grad : bool
            Whether to compute the gradient with respect to the input.
        out : dict of str to ndarray
            One array per parameter, with that parameter's shape (e.g. ``(P, in, out)``), overwritten.

        Returns
        -------
        ndarray of shape (P, N, in) or None
            Gradient with respect to the input; ``None`` when ``input_grad`` is false.
        """
        grad_x, grads = self.backward(params, grad_y, cache, input_grad)
        for name, value in grads.items():
            out[name][...] = value
        return grad_x


class Dense(Layer):
    """Fully connected layer ``z = x W + b``.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs and of units.

    Notes
    -----
    ``weight`` has shape ``(P, n_in, n_out)`` and ``bias`` ``(P, 1, n_out)``. The input ``x`` is
    ``(N, n_in)``, shared by all ``P`` networks, or ``(P, N, n_in)``; the output is ``(P, N, n_out)``.
    In Nielsen's notation ``weight[p, k, j]`` is ``w_jk`` of network ``p``.
    """

    def __init__(self, n_in: int, n_out: int):
        if n_in < 1 or n_out < 1:
            raise InputError(f"dense layer sizes must be >= 1, got n_in={n_in}, n_out={n_out}")
        self.n_in, self.n_out = int(n_in), int(n_out)

    def param_specs(self):
        return {
            "weight": ParamSpec((self.n_in, self.n_out), self.n_in, self.n_out, "weight"),
            "bias": ParamSpec((1, self.n_out), self.n_in, self.n_out, "bias"),
        }

    def forward(self, params, x):
        w, b = params["weight"], params["bias"]
        xp = array_namespace(w)
        if _small_contraction(xp, w):
            z = _population_matmul(xp, x, w)
            z += b  # in place: one (N, J, P) temporary less
        else:
            z = xp.matmul(x, w) + b  # on small arrays a new array is cheaper than an in-place update
        return z, x

    def backward(self, params, grad_z, x, input_grad=True):
        xp = array_namespace(grad_z)
        grads = {name: xp.empty_like(value) for name, value in params.items()}
        return self.backward_into(params, grad_z, x, input_grad, grads), grads

    def backward_into(self, params, grad_z, x, input_grad, out):
        # BP3: dC/db = sum over samples of dC/dz; BP4: dC/dw = x^T dC/dz; BP2: dC/dx = dC/dz w^T
        w = params["weight"]
        xp = array_namespace(w)
        if not is_numpy(xp):  # the array API has no out=: compute, then copy
            out["bias"][...] = xp.sum(grad_z, axis=1, keepdims=True)
            out["weight"][...] = xp.matmul(x.mT, grad_z)
            return xp.matmul(grad_z, w.mT) if input_grad else None
        xp.sum(grad_z, axis=1, keepdims=True, out=out["bias"])
        if _small_contraction(xp, w):
            _population_outer(xp, x, grad_z, out["weight"])
            return _population_matmul_t(xp, grad_z, w) if input_grad else None
        xp.matmul(x.mT, grad_z, out=out["weight"])
        return xp.matmul(grad_z, w.mT) if input_grad else None

    def spec(self):
        return {"type": "Dense", "n_in": self.n_in, "n_out": self.n_out}

    def __repr__(self):
        return f"Dense({self.n_in} -> {self.n_out})"


class ActivationLayer(Layer):
    """An elementwise activation as a parameter-free layer."""

    def __init__(self, activation: str | Activation):
        self.activation = get_activation(activation)

    def forward(self, params, x):
        return self.activation.forward(x)

    def backward(self, params, grad_y, cache, input_grad=True):
        return self.activation.backward(grad_y, cache), {}

    def backward_into(self, params, grad_y, cache, input_grad, out):
        return self.activation.backward(grad_y, cache)  # no parameters, nothing to write

    def spec(self):
        slope = getattr(self.activation, "negative_slope", None)
        settings = {"negative_slope": slope} if slope is not None else {}
        return {"type": "Activation", "name": self.activation.name, **settings}

    def __repr__(self):
        return f"Activation({self.activation!r})"


# -- small contractions along the population axis -------------------------------------------
# For thousands of tiny networks (2 inputs, 2 units), a batched matmul spends its time on
# per-matrix overhead. The parameters are stored population-innermost (annrl.nn.params), so the
# arrays have "physical" views (N, K, P) for activations and (K, J, P) for weights, in which every
# operation streams over P contiguous numbers. Inputs shared by all networks make the products one
# matrix product with the population folded into its columns, (N, K) @ (K, J*P); inputs of each
# network's own become sums over the few inputs of broadcast products.


def _small_contraction(xp: Any, w: Any) -> bool:
    return w.shape[0] >= LARGE_POPULATION and w.shape[1] <= SMALL_FAN_IN and is_numpy(xp) and _inner(xp, w)


def _inner(xp: Any, w: Any) -> bool:
    """Whether ``w`` ``(P, K, J)`` is stored population-innermost, as one ``(K, J, P)`` block."""
    return xp.permute_dims(w, (1, 2, 0)).flags.c_contiguous


def _physical(xp: Any, x: Any) -> Any:
    """(P, N, K) -> (N, K, P) view; a shared (N, K) input -> (N, K, 1)."""
    return x[..., None] if x.ndim == 2 else xp.permute_dims(x, (1, 2, 0))


def _population_matmul(xp: Any, x: Any, w: Any) -> Any:
    """``x @ w`` for x (N, K) or (P, N, K) and w (P, K, J) -> (P, N, J)."""
    P, K, J = w.shape
    wph = xp.permute_dims(w, (1, 2, 0))
    if x.ndim == 2:
        z = xp.reshape(xp.matmul(x, xp.reshape(wph, (K, J * P))), (x.shape[0], J, P))
    else:
        xph = _physical(xp, x)
        z = xph[:, 0:1, :] * wph[0]
        for k in range(1, K):
            z += xph[:, k : k + 1, :] * wph[k]
    return xp.permute_dims(z, (2, 0, 1))


def _population_matmul_t(xp: Any, g: Any, w: Any) -> Any:
    """``g @ w^T`` for g (P, N, J) and w (P, K, J) -> (P, N, K)."""
    gph, wph = xp.permute_dims(g, (1, 2, 0)), xp.permute_dims(w, (1, 2, 0))
    out = gph[:, 0:1, :] * wph[:, 0, :]
    for j in range(1, w.shape[2]):
        out += gph[:, j : j + 1, :] * wph[:, j, :]
    return xp.permute_dims(out, (2, 0, 1))


def _population_outer(xp: Any, x: Any, g: Any, out: Any) -> None:
    """``out = x^T @ g`` summed over samples: x (N, K) or (P, N, K), g (P, N, J), out (P, K, J)."""
    P, K, J = out.shape
    gph, oph = xp.permute_dims(g, (1, 2, 0)), xp.permute_dims(out, (1, 2, 0))
    if x.ndim == 2:
        N = x.shape[0]
        xp.matmul(x.mT, xp.reshape(gph, (N, J * P)), out=xp.reshape(oph, (K, J * P), copy=False))
        return
    xph = _physical(xp, x)
    for k in range(K):
        xp.sum(xph[:, k : k + 1, :] * gph, axis=0, out=oph[k])
