"""Compiled optimizer steps on one block of networks: the rules of :mod:`annrl.nn.optim`, element by element.

``theta`` and the state arrays are ``(D, P)`` (networks innermost); the block is networks ``p0:p0+nb``.
``grad`` is the block's gradient ``(D, nb)``. A network whose ``active`` flag is off keeps its parameters
and its state exactly, as ``_assign`` and ``_descend`` do. ``hyper`` ``(4, P)`` holds the per-network
settings: learning rate, weight decay, momentum (SGD, RMSprop) and, for Adam, nothing more (its betas and
eps are the numbers ``b1``, ``b2``, ``eps``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

SGD, ADAM, RMSPROP = range(3)
LR, DECAY, MOMENTUM = range(3)


@njit(cache=True, inline="always")
def update_block(code, theta, s1, s2, steps, grad, hyper, active, p0, nb, decays, momentum, nesterov,
                 b1, b2, eps, ob1, ob2, one):
    """One optimizer step of networks ``p0:p0+nb`` (Optimizer.step with their ``active`` mask).

    ``b1``, ``b2`` are Adam's betas (``b1`` is RMSprop's alpha), ``ob1``, ``ob2`` the numbers ``1 - b``
    rounded once, as NumPy rounds the Python float ``1.0 - beta`` to the parameters' dtype.
    """
    if code == ADAM:
        for i in range(nb):
            if active[p0 + i]:
                steps[p0 + i] += one
    for d in range(theta.shape[0]):
        w, g_row, m_row, v_row = theta[d, p0:p0 + nb], grad[d], s1[d, p0:p0 + nb], s2[d, p0:p0 + nb]
        if decays:
            for i in range(nb):
                g_row[i] = g_row[i] + hyper[DECAY, p0 + i] * w[i]
        if code == SGD:
            _sgd(w, g_row, m_row, hyper[LR, p0:p0 + nb], hyper[MOMENTUM, p0:p0 + nb], active[p0:p0 + nb], nb,
                 momentum, nesterov)
        elif code == ADAM:
            _adam(w, g_row, m_row, v_row, hyper[LR, p0:p0 + nb], steps[p0:p0 + nb], active[p0:p0 + nb], nb,
                  b1, b2, eps, ob1, ob2, one)
        else:
            _rmsprop(w, g_row, m_row, v_row, hyper[LR, p0:p0 + nb], hyper[MOMENTUM, p0:p0 + nb],
                     active[p0:p0 + nb], nb, momentum, b1, eps, ob1)


@njit(cache=True, inline="always")
def _sgd(w, g_row, v_row, lr, mu, on, nb, momentum, nesterov):
    if not momentum:
        for i in range(nb):
            if on[i]:
                w[i] = w[i] - lr[i] * g_row[i]
        return
    for i in range(nb):
        v = mu[i] * v_row[i] + g_row[i]
        if on[i]:
            v_row[i] = v
            w[i] = w[i] - lr[i] * (g_row[i] + mu[i] * v if nesterov else v)


@njit(cache=True, inline="always")
def _adam(w, g_row, m_row, v_row, lr, steps, on, nb, b1, b2, eps, ob1, ob2, one):
    for i in range(nb):
        g = g_row[i]
        m = b1 * m_row[i] + ob1 * g
        v = b2 * v_row[i] + ob2 * (g * g)
        if on[i]:
            m_row[i], v_row[i] = m, v
            # the first steps are rescaled for the zero-initialised moments (bias correction)
            correction1 = one - b1 ** steps[i]
            correction2 = one - b2 ** steps[i]
            w[i] = w[i] - (lr[i] / correction1) * m / (np.sqrt(v) / np.sqrt(correction2) + eps)


@njit(cache=True, inline="always")
def _rmsprop(w, g_row, s_row, b_row, lr, mu, on, nb, momentum, alpha, eps, one_minus_alpha):
    for i in range(nb):
        g = g_row[i]
        square = alpha * s_row[i] + one_minus_alpha * (g * g)
        direction = g / (np.sqrt(square) + eps)
        if momentum:
            direction = mu[i] * b_row[i] + direction
        if on[i]:
            s_row[i] = square
            if momentum:
                b_row[i] = direction
            w[i] = w[i] - lr[i] * direction
