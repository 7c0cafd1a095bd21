"""Gradient checking: the engine's backward pass against central finite differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.backend import to_numpy
from annrl.nn.losses import Loss, get_loss
from annrl.nn.model import Network


@dataclass
class GradCheck:
    """Result of :func:`gradcheck`.

    Attributes
    ----------
    analytic, numeric : ndarray, shape (P, D)
        Backpropagated and finite-difference gradients of every network's loss.
    max_abs_error, max_rel_error : float
        Largest absolute error and largest error relative to ``max(|analytic|, |numeric|, 1e-8)``.
    worst_parameter : str
        Name of the parameter holding the largest absolute error.
    """

    analytic: np.ndarray
    numeric: np.ndarray
    max_abs_error: float
    max_rel_error: float
    worst_parameter: str

    def ok(self, tol: float = 1e-6) -> bool:
        """Whether the largest relative error is at most ``tol``.

        Parameters
        ----------
        tol : float, default=1e-6
            The largest relative error accepted.
        """
        return self.max_rel_error <= tol


def gradcheck(net: Network, X: Any, Y: Any, loss: str | Loss = "mse", *, eps: float = 1e-5) -> GradCheck:
    """Compare ``net``'s backward pass with central differences ``(L(w+eps) - L(w-eps)) / 2 eps``.

    All ``P`` networks are checked at once: each perturbation moves parameter ``d`` of every
    network, and the per-network losses ``(P,)`` give each network's own derivative. Use float64.

    Parameters
    ----------
    net : Network
    X : array, shape (N, in) or (P, N, in)
    Y : array, shape (N, out) or (P, N, out)
    loss : str or Loss, default="mse"
    eps : float, default=1e-5

    Returns
    -------
    GradCheck
    """
    loss_fn = get_loss(loss)
    X, Y = net.check_input(X), net.asarray(Y)
    prediction, caches = net.forward(X)
    _, grad_pred = loss_fn(prediction, Y)
    net.zero_grad()
    net.backward(grad_pred, caches)
    analytic = np.array(to_numpy(net.grad), dtype=np.float64)

    flat = net.flat_
    numeric = np.zeros_like(analytic)
    for d in range(net.n_params):
        original = flat[:, d : d + 1] * 1.0
        flat[:, d : d + 1] = original + eps
        plus = to_numpy(loss_fn(net.forward(X)[0], Y)[0])
        flat[:, d : d + 1] = original - eps
        minus = to_numpy(loss_fn(net.forward(X)[0], Y)[0])
        flat[:, d : d + 1] = original
        numeric[:, d] = (plus - minus) / (2.0 * eps)

    error = np.abs(analytic - numeric)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-8)
    worst = int(np.argmax(error.max(axis=0))) if error.size else 0
    name = next((n for n, s in net.layout.slices.items() if s.start <= worst < s.stop), "")
    return GradCheck(analytic, numeric, float(error.max(initial=0.0)), float((error / scale).max(initial=0.0)), name)
