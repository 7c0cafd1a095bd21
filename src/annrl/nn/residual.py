"""The residual block: ``y = x + F(x)``, where ``F`` is a short stack of layers (He et al., 2016).

The identity path is why a deep residual network trains where a plain one of the same depth does
not: the backward pass of ``y = x + F(x)`` is ``dL/dx = dL/dy + F'(x)^T dL/dy``, so the error
reaches the first layers through the sum of identities even when every ``F'`` is small.

Parameters of the inner layers keep their own names under the block's index, as a nested
``torch.nn.Sequential`` would: in ``Network([Dense(2, 8), Residual([Dense(8, 8), ActivationLayer("tanh")])])``
the block's weight is ``"1.0.weight"`` of shape ``(P, 8, 8)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annrl.errors import InputError
from annrl.nn.layers import Layer
from annrl.nn.params import ParamSpec


class Residual(Layer):
    """``y = x + F(x)`` with ``F`` the inner ``layers`` applied in order.

    Parameters
    ----------
    layers : sequence of Layer
        The branch ``F``; it must map ``n`` features to ``n`` (the sum needs equal widths).

    Notes
    -----
    Input ``(N, n)`` (shared by the ``P`` networks) or ``(P, N, n)``; output ``(P, N, n)``.

    Examples
    --------
    >>> from annrl.nn import ActivationLayer, Dense, Network
    >>> block = Residual([Dense(4, 4), ActivationLayer("tanh")])
    >>> net = Network([block], population=2, seed=0)
    >>> net.predict([[0.0, 0.0, 0.0, 0.0]]).shape
    (2, 1, 4)
    """

    def __init__(self, layers: Sequence[Layer]):
        self.layers = list(layers)
        widths = [layer for layer in self.layers if hasattr(layer, "n_in")]
        if not widths:
            raise InputError("a residual block needs at least one layer with weights (e.g. Dense)")
        self.n_in, self.n_out = widths[0].n_in, widths[-1].n_out
        if self.n_in != self.n_out:
            raise InputError(f"a residual block must map n features to n, got {self.n_in} -> {self.n_out}")

    def param_specs(self) -> dict[str, ParamSpec]:
        return {f"{i}.{name}": spec for i, layer in enumerate(self.layers)
                for name, spec in layer.param_specs().items()}

    def _inner(self, params: dict[str, Any], index: int) -> dict[str, Any]:
        prefix = f"{index}."
        return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}

    def forward(self, params, x):
        h, caches = x, []
        for i, layer in enumerate(self.layers):
            h, cache = layer.forward(self._inner(params, i), h)
            caches.append(cache)
        return x + h, caches

    def backward(self, params, grad_y, caches, input_grad=True):
        grad, grads = grad_y, {}
        for i in range(len(self.layers) - 1, -1, -1):
            grad, inner = self.layers[i].backward(self._inner(params, i), grad, caches[i], input_grad or i > 0)
            grads.update({f"{i}.{name}": value for name, value in inner.items()})
        # the identity path adds grad_y itself to what came back through the branch
        return (grad_y + grad if input_grad else None), grads

    def spec(self):
        return {"type": "Residual", "layers": [layer.spec() for layer in self.layers]}

    def __repr__(self):
        return f"Residual({', '.join(repr(layer) for layer in self.layers)})"
