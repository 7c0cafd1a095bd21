"""Losses: each returns the loss of every network and the gradient with respect to the prediction.

``loss(pred, target) -> (value, grad)`` with ``pred`` of shape ``(P, N, out)``, ``target`` of shape
``(N, out)`` (shared by all networks) or ``(P, N, out)``; ``value`` has shape ``(P,)`` and ``grad``
the shape of ``pred``. Reductions are means over samples and outputs, as PyTorch's default
``reduction="mean"``, so that losses and gradients agree with ``torch.nn`` to rounding.
"""

from __future__ import annotations

import math
from typing import Any

from annrl.backend import array_namespace
from annrl.errors import InputError


def _mean_per_network(xp: Any, values: Any) -> Any:
    # a sum and one scaling: cheaper than xp.mean for the tiny arrays of a single network
    return xp.sum(values, axis=_ALL_BUT_FIRST[values.ndim]) * (1.0 / _count_per_network(values))


def _count_per_network(pred: Any) -> int:
    return math.prod(pred.shape[1:])


#: the axes every network's loss is summed over, by rank (built once: the loss runs every step)
_ALL_BUT_FIRST = {ndim: tuple(range(1, ndim)) for ndim in range(1, 9)}


class Loss:
    """Base class; ``name`` is what ``get_loss`` and the CLI accept."""

    name = "loss"

    def __call__(self, pred: Any, target: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def gradient(self, pred: Any, target: Any) -> Any:
        """The gradient alone, for a loop that does not record the loss at every step.

        Parameters
        ----------
        pred : ndarray of shape (P, N, out)
            Predictions of every network.
        target : ndarray of shape (N, out) or (P, N, out)
            Targets, shared by all networks or one set per network.

        Returns
        -------
        ndarray of shape (P, N, out)
            Gradient of the loss with respect to ``pred``.
        """
        return self(pred, target)[1]

    def __repr__(self) -> str:
        return self.name


class MSE(Loss):
    """Mean squared error, ``mean((pred - target)^2)`` per network."""

    name = "mse"

    def __call__(self, pred, target):
        xp = array_namespace(pred)
        diff = pred - target
        return _mean_per_network(xp, diff * diff), self._scaled(diff)

    def gradient(self, pred, target):
        return self._scaled(pred - target)

    @staticmethod
    def _scaled(diff: Any) -> Any:
        # d mean(diff^2) / d pred = 2 diff / (samples x outputs)
        return diff * (2.0 / _count_per_network(diff))


class BCEWithLogits(Loss):
    """Binary cross-entropy on logits ``z``: ``mean(max(z, 0) - z y + log(1 + e^-|z|))``.

    The output layer stays linear; this form never takes the log of a rounded-off sigmoid.
    """

    name = "bce"

    def __call__(self, z, target):
        xp = array_namespace(z)
        value = (z + xp.abs(z)) * 0.5 - z * target + xp.log1p(xp.exp(-xp.abs(z)))
        grad = (1.0 / (1.0 + xp.exp(-z)) - target) * (1.0 / _count_per_network(z))
        return _mean_per_network(xp, value), grad


class SoftmaxCrossEntropy(Loss):
    """Cross-entropy of ``softmax(z)`` over the last axis against one-hot (or soft) targets.

    Averaged over samples (``N``), as ``torch.nn.CrossEntropyLoss`` with probability targets.
    """

    name = "softmax_ce"

    def __call__(self, z, target):
        xp = array_namespace(z)
        shifted = z - xp.max(z, axis=-1, keepdims=True)
        log_norm = xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
        log_prob = shifted - log_norm
        per_sample = -xp.sum(target * log_prob, axis=-1)
        samples = _count_per_network(z) // z.shape[-1]
        grad = (xp.exp(log_prob) * xp.sum(target, axis=-1, keepdims=True) - target) * (1.0 / samples)
        return _mean_per_network(xp, per_sample), grad


class Huber(Loss):
    """Huber loss: quadratic within ``delta`` of the target, linear beyond (``torch.nn.HuberLoss``)."""

    name = "huber"

    def __init__(self, delta: float = 1.0):
        if not delta > 0:
            raise InputError(f"huber delta must be > 0, got {delta}")
        self.delta = float(delta)

    def __call__(self, pred, target):
        xp = array_namespace(pred)
        diff = pred - target
        small = xp.abs(diff) <= self.delta
        value = xp.where(small, 0.5 * diff * diff, self.delta * (xp.abs(diff) - 0.5 * self.delta))
        slope = xp.where(small, diff, self.delta * xp.sign(diff))
        return _mean_per_network(xp, value), slope * (1.0 / _count_per_network(pred))

    def __repr__(self):
        return f"huber(delta={self.delta})"


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (MSE, BCEWithLogits, SoftmaxCrossEntropy, Huber)}


def get_loss(spec: str | Loss) -> Loss:
    """A loss from its name (``"mse"``, ``"bce"``, ``"softmax_ce"``, ``"huber"``) or an instance."""
    if isinstance(spec, Loss):
        return spec
    if spec not in LOSSES:
        raise InputError(f"loss must be one of {sorted(LOSSES)}, got {spec!r}")
    return LOSSES[spec]()
