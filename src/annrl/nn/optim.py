"""Optimizers: SGD (momentum, Nesterov), Adam and RMSprop over the flat ``(P, D)`` parameters.

An optimizer object holds its settings; its state (``state_``: momentum, moments, step counts)
is a dict of arrays shaped like the parameters, created by :meth:`Optimizer.reset`. Because every
network's parameters are one row of the flat array, one update is a handful of array operations
for all ``P`` networks, whatever the number of layers.

``active`` (``(P,)`` booleans) freezes networks that reached their tolerance or diverged: their
parameters *and* state stay exactly as they are while the others go on.

Settings may be arrays of shape ``(P,)`` instead of numbers (one learning rate per network), so
that a grid of hyper-parameters can train as one population. The update rules follow PyTorch's
``torch.optim`` (L2 ``weight_decay`` added to the gradient), and tests check them against it.
:func:`clip_grad_norm` and :func:`clip_global_norm` clip gradients in place before a step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from annrl.backend import array_namespace, to_numpy
from annrl.errors import InputError


class Optimizer:
    """Base class: subclasses define ``_state_names`` and ``step``."""

    name = "optimizer"
    _state_names: tuple[str, ...] = ()

    def __init__(self, lr: Any, weight_decay: Any = 0.0):
        _check_positive("lr", lr)
        _check_non_negative("weight_decay", weight_decay)
        self.lr, self.weight_decay = lr, weight_decay
        self._decays = _nonzero(weight_decay)
        self.state_: dict[str, Any] = {}

    def state_arrays(self, prefix: str) -> dict[str, Any]:
        """The state as NumPy copies named ``prefix + name`` (e.g. ``"adam.m"``), for a checkpoint."""
        return {f"{prefix}{name}": np.array(to_numpy(value)) for name, value in self.state_.items()}

    def load_state_arrays(self, arrays: dict[str, Any], prefix: str) -> None:
        """Put back a state saved by :meth:`state_arrays` (on the parameters' backend and device)."""
        for name, value in self.state_.items():
            value[...] = array_namespace(value).asarray(arrays[f"{prefix}{name}"], dtype=value.dtype,
                                                        device=value.device)

    def reset(self, flat: Any) -> None:
        """Zero state shaped like ``flat`` ``(P, D)`` (step counts are ``(P, 1)``)."""
        xp = array_namespace(flat)
        self.state_ = {name: xp.zeros_like(flat) for name in self._state_names}
        if "steps" in self.state_:
            self.state_["steps"] = xp.zeros_like(flat[:, :1])

    def step(self, flat: Any, grad: Any, active: Any = None) -> None:
        """Update ``flat`` in place from ``grad`` (both ``(P, D)``); ``active`` is ``(P,)`` or None."""
        raise NotImplementedError

    def _gradient(self, flat: Any, grad: Any) -> Any:
        return grad + self._column(flat, self.weight_decay) * flat if self._decays else grad

    @staticmethod
    def _column(flat: Any, value: Any) -> Any:
        """A setting as a number, or as a ``(P, 1)`` column for per-network values."""
        if isinstance(value, (int, float)):
            return value
        xp = array_namespace(flat)
        return xp.reshape(xp.asarray(value, dtype=flat.dtype, device=flat.device), (-1, 1))

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in vars(self).items() if not k.endswith("_") and k[0] != "_")
        return f"{type(self).__name__}({settings})"


def _assign(target: Any, value: Any, active: Any) -> None:
    """``target[...] = value`` for the active networks only."""
    if active is None:
        target[...] = value
    else:
        target[...] = array_namespace(target).where(active[:, None], value, target)


def _descend(flat: Any, delta: Any, active: Any) -> None:
    """``flat -= delta`` for the active networks only."""
    if active is None:
        flat -= delta
    else:
        xp = array_namespace(flat)
        flat -= xp.where(active[:, None], delta, xp.zeros_like(delta))


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Parameters
    ----------
    lr : float or array (P,), default=0.01
    momentum : float or array (P,), default=0.0
        ``v <- momentum v + g``; the step is ``lr v`` (or ``lr (g + momentum v)`` with Nesterov).
    nesterov : bool, default=False
    weight_decay : float or array (P,), default=0.0
    """

    name = "sgd"

    def __init__(self, lr: Any = 0.01, momentum: Any = 0.0, nesterov: bool = False, weight_decay: Any = 0.0):
        super().__init__(lr, weight_decay)
        _check_non_negative("momentum", momentum)
        if nesterov and not _nonzero(momentum):
            raise InputError("nesterov momentum needs momentum > 0, got momentum=0")
        self.momentum, self.nesterov = momentum, bool(nesterov)
        self._state_names = ("momentum",) if _nonzero(momentum) else ()

    def step(self, flat, grad, active=None):
        g = self._gradient(flat, grad)
        if self._state_names:
            mu, v = self._column(flat, self.momentum), self.state_["momentum"]
            if active is None:  # in place: one pass less over (P, D) than _assign, the same numbers
                v *= mu
                v += g
            else:
                _assign(v, mu * v + g, active)
            g = g + mu * v if self.nesterov else v
        _descend(flat, self._column(flat, self.lr) * g, active)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments.

    Parameters
    ----------
    lr : float or array (P,), default=0.001
    betas : tuple of float, default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float or array (P,), default=0.0
    """

    name = "adam"
    _state_names = ("m", "v", "steps")

    def __init__(self, lr: Any = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: Any = 0.0):
        super().__init__(lr, weight_decay)
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise InputError(f"betas[{i}] must be in [0, 1), got {beta}")
        _check_positive("eps", eps)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), float(eps)

    def step(self, flat, grad, active=None):
        xp = array_namespace(flat)
        g = self._gradient(flat, grad)
        (b1, b2), s = self.betas, self.state_
        _assign(s["steps"], s["steps"] + 1.0, active)
        _assign(s["m"], b1 * s["m"] + (1.0 - b1) * g, active)
        _assign(s["v"], b2 * s["v"] + (1.0 - b2) * (g * g), active)
        # the first steps are rescaled for the zero-initialised moments (bias correction)
        correction1 = 1.0 - b1 ** s["steps"]
        correction2 = 1.0 - b2 ** s["steps"]
        denom = xp.sqrt(s["v"]) / xp.sqrt(correction2) + self.eps
        _descend(flat, (self._column(flat, self.lr) / correction1) * s["m"] / denom, active)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012): steps scaled by a running RMS of the gradient.

    Parameters
    ----------
    lr : float or array (P,), default=0.01
    alpha : float, default=0.99
        Decay of the running mean of squared gradients.
    eps : float, default=1e-8
    momentum : float, default=0.0
    weight_decay : float or array (P,), default=0.0
    """

    name = "rmsprop"

    def __init__(self, lr: Any = 1e-2, alpha: float = 0.99, eps: float = 1e-8, momentum: Any = 0.0,
                 weight_decay: Any = 0.0):
        super().__init__(lr, weight_decay)
        if not 0.0 <= alpha < 1.0:
            raise InputError(f"alpha must be in [0, 1), got {alpha}")
        _check_positive("eps", eps)
        _check_non_negative("momentum", momentum)
        self.alpha, self.eps, self.momentum = float(alpha), float(eps), momentum
        self._state_names = ("square_avg", "momentum") if _nonzero(momentum) else ("square_avg",)

    def step(self, flat, grad, active=None):
        xp = array_namespace(flat)
        g, s = self._gradient(flat, grad), self.state_
        _assign(s["square_avg"], self.alpha * s["square_avg"] + (1.0 - self.alpha) * (g * g), active)
        direction = g / (xp.sqrt(s["square_avg"]) + self.eps)
        if "momentum" in s:
            _assign(s["momentum"], self._column(flat, self.momentum) * s["momentum"] + direction, active)
            direction = s["momentum"]
        _descend(flat, self._column(flat, self.lr) * direction, active)


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, RMSprop)}


def get_optimizer(spec: str | Optimizer, **settings: Any) -> Optimizer:
    """An optimizer from its name (``"sgd"``, ``"adam"``, ``"rmsprop"``) and settings, or an instance."""
    if isinstance(spec, Optimizer):
        return spec
    if spec not in OPTIMIZERS:
        raise InputError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {spec!r}")
    return OPTIMIZERS[spec](**settings)


def optimizer_with_momentum(name: str, lr: Any, momentum: Any = 0.0) -> Optimizer:
    """The optimizer ``name`` with learning rate ``lr``, and ``momentum`` where it has one (sgd, rmsprop).

    What a lab's ``--optimizer --lr --momentum`` options mean: momentum is ignored by Adam.
    """
    settings: dict[str, Any] = {"lr": lr}
    if name in ("sgd", "rmsprop"):
        settings["momentum"] = momentum
    return get_optimizer(name, **settings)


def _values(value: Any) -> list[float]:
    if isinstance(value, (int, float)):
        return [float(value)]
    import numpy as np

    return [float(v) for v in np.asarray(value).ravel()]


def _nonzero(value: Any) -> bool:
    return any(v != 0.0 for v in _values(value))


def _check_positive(name: str, value: Any) -> None:
    bad = [v for v in _values(value) if not v > 0.0]
    if bad:
        raise InputError(f"{name} must be > 0, got {bad[0]}")


def _check_non_negative(name: str, value: Any) -> None:
    bad = [v for v in _values(value) if not v >= 0.0]
    if bad:
        raise InputError(f"{name} must be >= 0, got {bad[0]}")


# -- gradient clipping ----------------------------------------------------------------------------
def clip_grad_norm(grad: Any, max_norm: float) -> float:
    """Scale ``grad`` in place so its norm (over all its entries) is at most ``max_norm``; returns
    the norm before."""
    norm = math.sqrt(float(array_namespace(grad).sum(grad * grad)))
    if norm > max_norm:
        grad *= max_norm / (norm + 1e-6)
    return norm


def clip_global_norm(grads: Sequence[Any], max_norm: float) -> float:
    """Scale the arrays ``grads`` (e.g. of two networks) in place so that their global norm, taken
    over all of them together, is at most ``max_norm``; returns that norm before.

    Each array is clipped by :func:`clip_grad_norm` to its share ``max_norm * |g| / |global|``, so
    every one is scaled by the same factor.
    """
    squares = [float(array_namespace(g).sum(g * g)) for g in grads]
    norm = math.sqrt(sum(squares))
    for g, square in zip(grads, squares, strict=True):
        clip_grad_norm(g, max_norm * math.sqrt(square) / max(norm, 1e-12))
    return norm
