"""Compiled optimizer steps on one block of networks: the rules of :mod:`annrl.nn.optim`, element by element.

``theta`` and the state arrays are ``(D, P)`` (networks innermost); the block is networks ``p0:p0+nb``.
``grad`` is the block's gradient ``(D, nb)``. The step reads the parameters from ``source`` and writes the
new ones to ``theta`` (the same array, or another one: the training loop keeps the weights before the step,
see :mod:`annrl.nn.compiled.loop`). A network whose ``active`` flag is off keeps its parameters (copied
to ``theta``) and its state exactly, as ``_assign`` and ``_descend`` do. ``hyper`` ``(4, P)`` holds the per-network
settings: learning rate, weight decay, momentum (SGD, RMSprop) and, for Adam, nothing more (its betas and
eps are the numbers ``b1``, ``b2``, ``eps``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

SGD, ADAM, RMSPROP = range(3)
LR, DECAY, MOMENTUM = range(3)


@njit(cache=True, inline="always")
def update_block(code, source, theta, s1, s2, steps, grad, hyper, active, p0, nb, decays, momentum, nesterov,
                 b1, b2, eps, ob1, ob2, one):
    """One optimizer step of networks ``p0:p0+nb`` (Optimizer.step with their ``active`` mask), from the
    parameters ``source`` into ``theta``.

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
                grad[d, i] = grad[d, i] + hyper[DECAY, p0 + i] * source[d, p0 + i]
        if code == SGD:
            _sgd(source, theta, grad, s1, hyper, active, d, p0, nb, momentum, nesterov)
        elif code == ADAM:
            _adam(source, theta, grad, s1, s2, hyper, steps, active, d, p0, nb, b1, b2, eps, ob1, ob2, one)
        else:
            _rmsprop(source, theta, grad, s1, s2, hyper, active, d, p0, nb, momentum, b1, eps, ob1)


@njit(cache=True, inline="always")
def _sgd(source, theta, grad, velocity, hyper, on, d, p0, nb, momentum, nesterov):
    if not momentum:
        for i in range(nb):
            p = p0 + i
            theta[d, p] = source[d, p] - hyper[LR, p] * grad[d, i] if on[p] else source[d, p]
        return
    for i in range(nb):
        p = p0 + i
        mu, g = hyper[MOMENTUM, p], grad[d, i]
        v = mu * velocity[d, p] + g
        if on[p]:
            velocity[d, p] = v
        theta[d, p] = source[d, p] - hyper[LR, p] * (g + mu * v if nesterov else v) if on[p] else source[d, p]


@njit(cache=True, inline="always")
def _adam(source, theta, grad, m_state, v_state, hyper, steps, on, d, p0, nb, b1, b2, eps, ob1, ob2, one):
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
            theta[d, p] = source[d, p] - (hyper[LR, p] / correction1) * m / (np.sqrt(v) / np.sqrt(correction2) + eps)
        else:
            theta[d, p] = source[d, p]


@njit(cache=True, inline="always")
def _rmsprop(source, theta, grad, square_avg, buffer, hyper, on, d, p0, nb, momentum, alpha, eps, one_minus_alpha):
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
            theta[d, p] = source[d, p] - hyper[LR, p] * direction
        else:
            theta[d, p] = source[d, p]
