"""Activation functions, each written as a forward rule with its derivative right below it.

``forward(z) -> (a, cache)`` and ``backward(grad_a, cache) -> grad_z`` work elementwise on arrays
of any shape, e.g. ``(P, N, units)``; only ``backward`` reads the cache. Every function gets its
array namespace from its argument, so the same code runs on NumPy and PyTorch.
"""

from __future__ import annotations

from typing import Any

from annrl.backend import array_namespace
from annrl.errors import InputError


class Activation:
    """Base class: a parameter-free elementwise function and its derivative."""

    name = "activation"
    differentiable = True

    def forward(self, z: Any) -> tuple[Any, Any]:
        """The activation of ``z``, elementwise, and what :meth:`backward` needs.

        Parameters
        ----------
        z : ndarray of any shape, e.g. (P, N, units)
            Pre-activations.

        Returns
        -------
        a : ndarray of the shape of z, e.g. (P, N, units)
            Activations.
        cache : object
            What :meth:`backward` reads: ``z``, ``a`` or the mask ``z > 0``, whichever the derivative needs.
        """
        raise NotImplementedError

    def backward(self, grad_a: Any, cache: Any) -> Any:
        """Gradient with respect to the pre-activation, ``grad_a * f'(z)``.

        Parameters
        ----------
        grad_a : ndarray of any shape, e.g. (P, N, units)
            Gradient of the loss with respect to the activation.
        cache : object
            What :meth:`forward` returned beside the activation.

        Returns
        -------
        ndarray of the shape of grad_a, e.g. (P, N, units)
            Gradient of the loss with respect to ``z``.

        Raises
        ------
        InputError
            For the piecewise-constant functions (``step``, ``sign``), which have no useful derivative.
        """
        raise NotImplementedError

    def __call__(self, z: Any) -> Any:
        return self.forward(z)[0]

    def __repr__(self) -> str:
        return self.name


class Identity(Activation):
    name = "identity"

    def forward(self, z):
        return z, None

    def backward(self, grad_a, cache):
        return grad_a


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, z):
        # exp(-z) overflows to inf for z < -709, and 1 / (1 + inf) is the correct limit 0.
        a = 1.0 / (1.0 + array_namespace(z).exp(-z))
        return a, a

    def backward(self, grad_a, a):
        # sigma' = sigma (1 - sigma), from the output kept in the cache
        return grad_a * (a - a * a)


class Tanh(Activation):
    name = "tanh"

    def forward(self, z):
        a = array_namespace(z).tanh(z)
        return a, a

    def backward(self, grad_a, a):
        return grad_a * (1.0 - a * a)


class ReLU(Activation):
    name = "relu"

    def forward(self, z):
        xp = array_namespace(z)
        positive = z > 0
        return xp.where(positive, z, xp.zeros_like(z)), positive

    def backward(self, grad_a, positive):
        xp = array_namespace(grad_a)
        return xp.where(positive, grad_a, xp.zeros_like(grad_a))


class LeakyReLU(Activation):
    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = float(negative_slope)

    def forward(self, z):
        xp = array_namespace(z)
        positive = z > 0
        return xp.where(positive, z, self.negative_slope * z), positive

    def backward(self, grad_a, positive):
        xp = array_namespace(grad_a)
        return xp.where(positive, grad_a, self.negative_slope * grad_a)

    def __repr__(self):
        return f"leaky_relu({self.negative_slope})"


class Softplus(Activation):
    name = "softplus"

    def forward(self, z):
        xp = array_namespace(z)
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large |z|
        return xp.maximum(z, 0.0 * z) + xp.log1p(xp.exp(-xp.abs(z))), z

    def backward(self, grad_a, z):
        # softplus' = sigmoid
        return grad_a / (1.0 + array_namespace(z).exp(-z))


class Sin(Activation):
    name = "sin"

    def forward(self, z):
        return array_namespace(z).sin(z), z

    def backward(self, grad_a, z):
        return grad_a * array_namespace(z).cos(z)


class _ForwardOnly(Activation):
    """Piecewise-constant functions: derivative 0 almost everywhere, so gradient training is
    impossible. They exist for hand-built (McCulloch-Pitts) logic networks."""

    differentiable = False

    def backward(self, grad_a, cache):
        raise InputError(
            f"activation {self.name!r} has zero gradient almost everywhere and cannot be trained "
            "by backpropagation; use it only in hand-built networks (or use sigmoid/tanh)"
        )


class Step(_ForwardOnly):
    name = "step"

    def forward(self, z):
        xp = array_namespace(z)
        return xp.where(z >= 0, xp.ones_like(z), xp.zeros_like(z)), None


class Sign(_ForwardOnly):
    name = "sign"

    def forward(self, z):
        xp = array_namespace(z)
        return xp.where(z >= 0, xp.ones_like(z), -xp.ones_like(z)), None


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Sin, Step, Sign)
}


def get_activation(spec: str | Activation) -> Activation:
    """An activation from its name (``"sigmoid"``, ``"leaky_relu"``, ...) or an instance."""
    if isinstance(spec, Activation):
        return spec
    if spec == "linear":
        spec = "identity"
    if spec not in ACTIVATIONS:
        raise InputError(f"activation must be one of {sorted(ACTIVATIONS)}, got {spec!r}")
    return ACTIVATIONS[spec]()
