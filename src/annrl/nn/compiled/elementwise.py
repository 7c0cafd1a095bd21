"""Compiled activations and losses on one block of networks: the rules of :mod:`annrl.nn.activations` and
:mod:`annrl.nn.losses`, written out element by element.

A block holds ``nb`` networks side by side: a buffer row ``buf[r, :nb]`` is one unit (or one output) of one
sample for every network of the block, so each loop below runs over contiguous networks and vectorises.
Every formula is the NumPy engine's, operation for operation; numbers of the network's dtype (``one``,
``half``) are passed in, because a literal ``1.0`` would turn float32 arithmetic into float64. The training
loop (:mod:`annrl.nn.compiled.loop`) compiles them with ``fastmath={"contract"}``: a multiply followed by an
add may become one fused multiply-add, rounded once instead of twice (no reassociation, no approximation).
That makes its exp's polynomial and its sums much faster (benchmarks/README.md), and it rounds a little
differently from NumPy, within what the tests allow (see ``tests/nn/test_compiled.py``). The population
forward pass (:mod:`annrl.nn.compiled.forward`) does not fuse: a GA ranks its networks by it, and keeps
NumPy's ranks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# activation codes (see rules.ACTIVATION_CODES)
IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTPLUS, SIN = range(7)
# loss codes (see rules.LOSS_CODES)
MSE, BCE, SOFTMAX_CE, HUBER = range(4)

# exp(x) = 2^k e^r with r = x - k ln 2 (ln 2 in two parts, so k ln 2 is exact), |r| <= ln(2)/2, and e^r by
# its Taylor series to r^13 (truncation below 1e-17): no library call, so the loops vectorise
LOG2E, LN2_HI, LN2_LO = 1.4426950408889634, 6.93147180369123816490e-01, 1.90821492927058770002e-10
EXP_OVER, EXP_UNDER = 709.782712893384, -708.0  # e^x overflows above; below, 0 (exp(-708) = 3e-308)


@njit(cache=True, inline="always")
def exp_row(tmp, bits, scale, nb):
    """``tmp[1, :nb] = exp(tmp[0, :nb])`` in float64, within 2 ulp of the library's; ``bits`` (int64) and
    ``scale`` (its float64 view) are scratch rows. Below -708 the result is 0 instead of a subnormal."""
    for i in range(nb):
        v = tmp[0, i]
        v = v if v > EXP_UNDER else EXP_UNDER
        v = v if v < EXP_OVER else EXP_OVER
        k = np.floor(v * LOG2E + 0.5)
        r = (v - k * LN2_HI) - k * LN2_LO
        p = 1.6059043836821613e-10
        p = p * r + 2.08767569878681e-09
        p = p * r + 2.505210838544172e-08
        p = p * r + 2.755731922398589e-07
        p = p * r + 2.7557319223985893e-06
        p = p * r + 2.48015873015873e-05
        p = p * r + 0.0001984126984126984
        p = p * r + 0.001388888888888889
        p = p * r + 0.008333333333333333
        p = p * r + 0.041666666666666664
        p = p * r + 0.16666666666666666
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        tmp[1, i] = p
        bits[i] = (np.int64(k) + 1022) << 52  # 2^(k-1): k may be 1024 near the overflow
    for i in range(nb):
        v, y = tmp[0, i], tmp[1, i] * scale[i] * 2.0
        y = np.inf if v > EXP_OVER else y
        y = 0.0 if v < EXP_UNDER else y
        tmp[1, i] = v if v != v else y  # NaN stays NaN


@njit(cache=True, inline="always")
def activate(code, slope, z, a, first, count, nb, one, tmp, bits, scale):
    """``a[first:first+count] = f(z[...])`` over ``nb`` networks (ActivationLayer.forward); ``tmp``
    ``(2, nb)``, ``bits``, ``scale`` are scratch for :func:`exp_row`.

    Rows are indexed in place, never sliced out: a slice is a new array whose reference count is touched
    atomically, which costs more than the arithmetic of a small network.
    """
    zero = one - one
    for r in range(first, first + count):
        if code == SIGMOID:
            for i in range(nb):
                tmp[0, i] = -z[r, i]
            exp_row(tmp, bits, scale, nb)
            for i in range(nb):
                a[r, i] = 1.0 / (1.0 + tmp[1, i])
        elif code == TANH:
            # tanh z = sign(z) (1 - 2 / (e^{2|z|} + 1)): within 3e-16 of np.tanh, absolutely
            for i in range(nb):
                tmp[0, i] = 2.0 * np.abs(z[r, i])
            exp_row(tmp, bits, scale, nb)
            for i in range(nb):
                t = 1.0 - 2.0 / (tmp[1, i] + 1.0)
                a[r, i] = t if z[r, i] >= zero else -t
        elif code == RELU:
            for i in range(nb):
                a[r, i] = z[r, i] if z[r, i] > zero else zero
        elif code == LEAKY_RELU:
            for i in range(nb):
                a[r, i] = z[r, i] if z[r, i] > zero else slope * z[r, i]
        elif code == SOFTPLUS:
            for i in range(nb):
                v = z[r, i]
                a[r, i] = (v if v > zero else zero) + np.log1p(np.exp(-np.abs(v)))
        elif code == SIN:
            for i in range(nb):
                a[r, i] = np.sin(z[r, i])
        else:
            for i in range(nb):
                a[r, i] = z[r, i]


@njit(cache=True, inline="always")
def activation_backward(code, slope, z, a, first, grad, count, nb, one):
    """``grad[:count] *= f'`` in place: dC/da of rows ``first:first+count`` becomes dC/dz."""
    zero = one - one
    for r in range(count):
        q = first + r
        if code == SIGMOID:
            for i in range(nb):
                grad[r, i] = grad[r, i] * (a[q, i] - a[q, i] * a[q, i])
        elif code == TANH:
            for i in range(nb):
                grad[r, i] = grad[r, i] * (one - a[q, i] * a[q, i])
        elif code == RELU:
            for i in range(nb):
                grad[r, i] = grad[r, i] if z[q, i] > zero else zero
        elif code == LEAKY_RELU:
            for i in range(nb):
                grad[r, i] = grad[r, i] if z[q, i] > zero else slope * grad[r, i]
        elif code == SOFTPLUS:
            for i in range(nb):
                grad[r, i] = grad[r, i] / (one + np.exp(-z[q, i]))
        elif code == SIN:
            for i in range(nb):
                grad[r, i] = grad[r, i] * np.cos(z[q, i])


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
        q = first + j
        if code == MSE:
            for i in range(nb):
                diff = out[q, i] - y[j, i]
                total[i] += diff * diff
                grad[j, i] = diff * scale
        elif code == BCE:
            for i in range(nb):
                v = out[q, i]
                total[i] += (v + np.abs(v)) * half - v * y[j, i] + np.log1p(np.exp(-np.abs(v)))
                grad[j, i] = (one / (one + np.exp(-v)) - y[j, i]) * scale
        else:
            for i in range(nb):
                diff = out[q, i] - y[j, i]
                size = np.abs(diff)
                if size <= delta:
                    total[i] += half * diff * diff
                    grad[j, i] = diff * scale
                else:
                    total[i] += delta * (size - half * delta)
                    grad[j, i] = delta * np.sign(diff) * scale
