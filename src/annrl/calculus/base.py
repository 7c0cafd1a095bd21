"""The differentiator interface: estimate dx/dt from samples x(t_0), ..., x(t_{n-1}).

Every method in this folder is a small callable object, ``method(x, t) -> dxdt``, so that
methods are swapped in one line::

    dxdt = CentralDifference()(x, t)
    dxdt = SmoothingSpline()(x, t)

A method only writes ``_differentiate`` on a checked ``(n, d)`` array; ``__call__`` does the
checking and gives the result back in the shape of ``x``.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike

from annrl.errors import InputError

# Relative spread of the time steps below which a grid counts as uniform (rounding in t).
UNIFORM_RTOL = 1e-6


class Differentiator(ABC):
    """Estimate the first time derivative of sampled signals.

    Subclasses set ``supports_nonuniform`` and ``min_samples`` and implement
    ``_differentiate(x, t)`` for ``x`` of shape ``(n, d)`` and ``t`` of shape ``(n,)``.
    """

    #: False for methods that need equally spaced samples (Savitzky-Golay).
    supports_nonuniform: bool = True

    @property
    def min_samples(self) -> int:
        """Fewest samples the method works with."""
        return 2

    def __call__(self, x: ArrayLike, t: ArrayLike | float) -> np.ndarray:
        """Differentiate ``x`` with respect to ``t``, column by column.

        Parameters
        ----------
        x : array_like, shape (n,) or (n, d)
            Samples of one signal, or of ``d`` signals (one per column), at the times ``t``.
        t : array_like of shape (n,), or float
            Sample times, strictly increasing (uniform or not), or the uniform step ``dt``.

        Returns
        -------
        dxdt : ndarray, same shape as ``x``
            The estimated derivative at every sample, edges included.
        """
        x = np.asarray(x, dtype=float)
        if x.ndim not in (1, 2):
            raise InputError(f"x must have shape (n,) or (n, d), got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("x must be finite, got NaN or inf")
        n = x.shape[0]
        if n < self.min_samples:
            raise InputError(f"x must have at least {self.min_samples} samples for {self!r}, got {n}")
        t = sample_times(t, n)
        if not self.supports_nonuniform and not is_uniform(t):
            raise InputError(f"t must be uniformly spaced for {self!r}, got steps from "
                             f"{np.diff(t).min():g} to {np.diff(t).max():g}")
        dxdt = self._differentiate(x.reshape(n, -1), t)
        return dxdt.reshape(x.shape)

    @abstractmethod
    def _differentiate(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The derivative of ``x`` ``(n, d)`` at the times ``t`` ``(n,)``, shape ``(n, d)``."""

    def __repr__(self) -> str:
        # The constructor's arguments, read back from the attributes of the same name.
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({args})"


def sample_times(t: ArrayLike | float, n: int) -> np.ndarray:
    """Checked sample times, shape ``(n,)``: ``t`` itself, or ``dt * arange(n)`` for a step ``dt``."""
    t = np.asarray(t, dtype=float)
    if t.ndim == 0:
        if not (np.isfinite(t) and t > 0):
            raise InputError(f"dt must be > 0, got {float(t):g}")
        return float(t) * np.arange(n)
    if t.shape != (n,):
        raise InputError(f"t must have shape ({n},) to match x, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise InputError("t must be finite, got NaN or inf")
    steps = np.diff(t)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise InputError(f"t must be strictly increasing, got t[{i}]={t[i]:g} then t[{i + 1}]={t[i + 1]:g}")
    return t


def is_uniform(t: np.ndarray) -> bool:
    """True when the steps of ``t`` ``(n,)`` agree to ``UNIFORM_RTOL`` of their mean."""
    steps = np.diff(t)
    return bool(np.ptp(steps) <= UNIFORM_RTOL * steps.mean())
