"""Compiled activations and losses on one block of networks: the rules of :mod:`annrl.nn.activations` and
:mod:`annrl.nn.losses`, written out element by element.

A block holds ``nb`` networks side by side: a buffer row ``buf[r, :nb]`` is one unit (or one output) of one
sample for every network of the block, so each loop below runs over contiguous networks and vectorises.
Every formula is the NumPy engine's, operation for operation, so that the two paths round alike; numbers
of the network's dtype (``one``, ``half``) are passed in, because a literal ``1.0`` would turn float32
arithmetic into float64.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# activation codes (see rules.ACTIVATION_CODES)
IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTPLUS, SIN = range(7)
# loss codes (see rules.LOSS_CODES)
MSE, BCE, SOFTMAX_CE, HUBER = range(4)


@njit(cache=True, inline="always")
def activate(code, slope, z, a, first, count, nb, one):
    """``a[first:first+count] = f(z[...])`` over ``nb`` networks (ActivationLayer.forward)."""
    zero = one - one
    for r in range(first, first + count):
        zr, ar = z[r], a[r]
        if code == SIGMOID:
            for i in range(nb):
                ar[i] = one / (one + np.exp(-zr[i]))
        elif code == TANH:
            for i in range(nb):
                ar[i] = np.tanh(zr[i])
        elif code == RELU:
            for i in range(nb):
                ar[i] = zr[i] if zr[i] > zero else zero
        elif code == LEAKY_RELU:
            for i in range(nb):
                ar[i] = zr[i] if zr[i] > zero else slope * zr[i]
        elif code == SOFTPLUS:
            for i in range(nb):
                v = zr[i]
                ar[i] = (v if v > zero else zero) + np.log1p(np.exp(-np.abs(v)))
        elif code == SIN:
            for i in range(nb):
                ar[i] = np.sin(zr[i])
        else:
            for i in range(nb):
                ar[i] = zr[i]


@njit(cache=True, inline="always")
def activation_backward(code, slope, z, a, first, grad, count, nb, one):
    """``grad[:count] *= f'`` in place: dC/da of rows ``first:first+count`` becomes dC/dz."""
    zero = one - one
    for r in range(count):
        gr, zr, ar = grad[r], z[first + r], a[first + r]
        if code == SIGMOID:
            for i in range(nb):
                gr[i] = gr[i] * (ar[i] - ar[i] * ar[i])
        elif code == TANH:
            for i in range(nb):
                gr[i] = gr[i] * (one - ar[i] * ar[i])
        elif code == RELU:
            for i in range(nb):
                gr[i] = gr[i] if zr[i] > zero else zero
        elif code == LEAKY_RELU:
            for i in range(nb):
                gr[i] = gr[i] if zr[i] > zero else slope * gr[i]
        elif code == SOFTPLUS:
            for i in range(nb):
                gr[i] = gr[i] / (one + np.exp(-zr[i]))
        elif code == SIN:
            for i in range(nb):
                gr[i] = gr[i] * np.cos(zr[i])


@njit(cache=True, inline="always")
def sample_loss(code, delta, out, y, first, n_out, nb, total, grad, scale, one):
    """Add one sample's loss terms to ``total`` ``(nb,)`` and write dC/d(out) into ``grad[:n_out]``.

    ``out[first:first+n_out]`` is the prediction, ``y[:n_out]`` the target, ``scale`` the gradient's factor
    (``2/count`` for MSE, ``1/count`` for BCE and Huber, ``1/samples`` for softmax cross-entropy).
    """
    half, zero = one / (one + one), one - one
    if code == SOFTMAX_CE:
        for i in range(nb):
            top = out[first, i]
            for j in range(1, n_out):
                top = max(top, out[first + j, i])
            norm = zero
            for j in range(n_out):
                norm += np.exp(out[first + j, i] - top)
            log_norm = np.log(norm)
            mass = zero
            for j in range(n_out):
                log_prob = (out[first + j, i] - top) - log_norm
                total[i] -= y[j, i] * log_prob
                mass += y[j, i]
            for j in range(n_out):
                log_prob = (out[first + j, i] - top) - log_norm
                grad[j, i] = (np.exp(log_prob) * mass - y[j, i]) * scale
        return
    for j in range(n_out):
        oj, yj, gj = out[first + j], y[j], grad[j]
        if code == MSE:
            for i in range(nb):
                diff = oj[i] - yj[i]
                total[i] += diff * diff
                gj[i] = diff * scale
        elif code == BCE:
            for i in range(nb):
                v = oj[i]
                total[i] += (v + np.abs(v)) * half - v * yj[i] + np.log1p(np.exp(-np.abs(v)))
                gj[i] = (one / (one + np.exp(-v)) - yj[i]) * scale
        else:
            for i in range(nb):
                diff = oj[i] - yj[i]
                size = np.abs(diff)
                if size <= delta:
                    total[i] += half * diff * diff
                    gj[i] = diff * scale
                else:
                    total[i] += delta * (size - half * delta)
                    gj[i] = delta * np.sign(diff) * scale
