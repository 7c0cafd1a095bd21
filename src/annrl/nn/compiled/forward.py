"""The population forward pass, compiled: ``net.predict`` for Dense stacks, parallel over blocks of networks.

What a genetic algorithm or an evolution strategy spends its time on between two generations: every
network of the population scores its own observations, ``(P, E, obs) -> (P, E, actions)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from annrl.nn.compiled.cache import drop_stale
from annrl.nn.compiled.loop import forward_sample

#: networks per block
BLOCK = 64
#: below this many network-sample-parameter products one thread does the work: waking the others costs
#: more (tens of milliseconds on a loaded machine)
PARALLEL_WORK = 2_000_000


@njit(cache=True, parallel=True)
def forward(theta, X, out, units, w_off, b_off, acts, slopes, block):
    """``out[n, :, p]`` = network ``p``'s output for sample ``n`` of ``X`` ``(N, in, 1 or P)``.

    ``theta`` is ``(D, P)``, ``out`` ``(N, out, P)``; ``units, w_off, b_off, acts, slopes`` as in
    :func:`annrl.nn.compiled.loop.train`. Blocks of ``block`` networks run in parallel.
    """
    P = theta.shape[1]
    for index in prange((P + block - 1) // block):
        forward_block(theta, X, out, units, w_off, b_off, acts, slopes, index * block, min(block, P - index * block))


@njit(cache=True)
def forward_block(theta, X, out, units, w_off, b_off, acts, slopes, p0, nb):
    """:func:`forward` for networks ``p0:p0+nb`` only (called alone: no threads to wake)."""
    n_out, rows = units[-1], 0
    for u in units:
        rows += u
    a, z = np.zeros((rows, nb), theta.dtype), np.zeros((rows, nb), theta.dtype)
    tmp, bits = np.zeros((2, nb)), np.zeros(nb, np.int64)
    scale = bits.view(np.float64)
    one = np.ones(1, theta.dtype)[0]  # a number of theta's dtype (a literal 1.0 is float64)
    shared = X.shape[2] == 1
    theta_b = np.empty((theta.shape[0], nb), theta.dtype)  # the block's parameters, indexed from 0
    for d in range(theta.shape[0]):
        for i in range(nb):
            theta_b[d, i] = theta[d, p0 + i]
    for n in range(X.shape[0]):
        for k in range(units[0]):
            for i in range(nb):
                a[k, i] = X[n, k, 0] if shared else X[n, k, p0 + i]
        forward_sample(theta_b, 0, nb, a, z, units, w_off, b_off, acts, slopes, one, tmp, bits, scale)
        for j in range(n_out):
            for i in range(nb):
                out[n, j, p0 + i] = a[rows - n_out + j, i]


def predict(net: Any, x: Any) -> Any:
    """``net.predict(x)``: outputs ``(P, N, out)`` for ``x`` ``(N, in)`` or ``(P, N, in)``, compiled when the
    network is a NumPy Dense stack (``net.predict`` itself otherwise)."""
    from annrl.nn.compiled.rules import dense_plan

    plan = dense_plan(net) if isinstance(net.flat_, np.ndarray) else "not NumPy"
    if isinstance(plan, str):
        return net.predict(x)
    x = net.check_input(x)
    data = x[:, :, None] if x.ndim == 2 else np.transpose(x, (1, 2, 0))
    theta = net.flat_.T
    P, N = net.population, data.shape[0]
    out = np.empty((N, plan.units[-1], P), dtype=theta.dtype)
    arguments = (np.ascontiguousarray(theta), np.ascontiguousarray(data), out, plan.units, plan.w_off, plan.b_off,
                 plan.acts, plan.slopes.astype(theta.dtype))
    if P * N * theta.shape[0] < PARALLEL_WORK:
        forward_block(*arguments, 0, P)
    else:
        import numba

        with numba.parallel_chunksize(1):  # blocks to threads as they come free (see compiled.driver)
            forward(*arguments, _block_size(P))
    return np.transpose(out, (2, 0, 1))


def _block_size(P: int) -> int:
    import numba

    return max(1, min(BLOCK, -(-P // numba.get_num_threads())))


drop_stale([forward, forward_block])  # before the first call loads them from Numba's cache (see cache.py)
