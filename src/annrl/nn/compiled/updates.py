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
    rounded once, as NumPy rounds the Python float ``1.0 - beta`` to the parameters' dtype. Arrays are
    indexed in place, never sliced (see :func:`annrl.nn.compiled.elementwise.activate`).
    """
    if code == ADAM:
        for i in range(nb):
            if active[p0 + i]:
                steps[p0 + i] += one
    for d in range(theta.shape[0]):
        if decays:
            for i in range(nb):
                grad[d, i] = grad[d, i] + hyper[DECAY, p0 + i] * theta[d, p0 + i]
        if code == SGD:
            _sgd(theta, grad, s1, hyper, active, d, p0, nb, momentum, nesterov)
        elif code == ADAM:
            _adam(theta, grad, s1, s2, hyper, steps, active, d, p0, nb, b1, b2, eps, ob1, ob2, one)
        else:
            _rmsprop(theta, grad, s1, s2, hyper, active, d, p0, nb, momentum, b1, eps, ob1)


@njit(cache=True, inline="always")
def _sgd(theta, grad, velocity, hyper, on, d, p0, nb, momentum, nesterov):
    if not momentum:
        for i in range(nb):
            p = p0 + i
            if on[p]:
                theta[d, p] = theta[d, p] - hyper[LR, p] * grad[d, i]
        return
    for i in range(nb):
        p = p0 + i
        mu, g = hyper[MOMENTUM, p], grad[d, i]
        v = mu * velocity[d, p] + g
        if on[p]:
            velocity[d, p] = v
            theta[d, p] = theta[d, p] - hyper[LR, p] * (g + mu * v if nesterov else v)


@njit(cache=True, inline="always")
def _adam(theta, grad, m_state, v_state, hyper, steps, on, d, p0, nb, b1, b2, eps, ob1, ob2, one):
    for i in range(nb):
        p = p0 + i
        g = grad[d, i]
        m = b1 * m_state[d, p] + ob1 * g
        v = b2 * v_state[d, p] + ob2 * (g * g)
        if on[p]:
            m_state[d, p], v_state[d, p] = m, v
            # the first steps are rescaled for the zero-initialised moments (bias correction)
            correction1 = one - b1 ** steps[p]
            correction2 = one - b2 ** steps[p]
            theta[d, p] = theta[d, p] - (hyper[LR, p] / correction1) * m / (np.sqrt(v) / np.sqrt(correction2) + eps)


@njit(cache=True, inline="always")
def _rmsprop(theta, grad, square_avg, buffer, hyper, on, d, p0, nb, momentum, alpha, eps, one_minus_alpha):
    for i in range(nb):
        p = p0 + i
        g = grad[d, i]
        square = alpha * square_avg[d, p] + one_minus_alpha * (g * g)
        direction = g / (np.sqrt(square) + eps)
        if momentum:
            direction = hyper[MOMENTUM, p] * buffer[d, p] + direction
        if on[p]:
            square_avg[d, p] = square
            if momentum:
                buffer[d, p] = direction
            theta[d, p] = theta[d, p] - hyper[LR, p] * direction
