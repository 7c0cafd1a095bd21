"""The fused training loop: every epoch of a block of networks in one compiled call, blocks in parallel.

Arrays are networks-innermost: parameters ``theta`` ``(D, P)``, data ``X`` ``(N, in, Px)`` and ``Y``
``(N, out, Py)`` with ``Px``, ``Py`` either 1 (shared by all networks) or ``P``. A block of ``nb``
networks keeps one sample's activations at a time, ``(units, nb)``: the gradient of every loss here is a
sum over samples, so a sample is run forward, scored and run backward before the next, and only the
accumulated gradient ``(D, nb)`` lives through the step.

Both kernels fuse multiply-adds (``fastmath={"contract"}``, see :mod:`annrl.nn.compiled.elementwise`).

The bookkeeping is the NumPy ``Trainer``'s, network by network: the loss of the step is checked for
divergence (a non-finite loss puts back the weights of the last finite one and freezes the network),
then, with full batches, for the tolerance ``until``; the frozen networks keep their parameters and
optimizer state, and still have their loss recorded every epoch.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from annrl.nn.compiled.cache import drop_stale
from annrl.nn.compiled.elementwise import SOFTMAX_CE, activate, activation_backward, sample_loss
from annrl.nn.compiled.updates import update_block


@njit(cache=True, inline="always")
def forward_sample(theta, p0, nb, a, z, units, w_off, b_off, acts, slopes, one, tmp, bits, scale):
    """Run the sample in ``a[:units[0]]`` through every layer; layer ``l``'s outputs go to rows
    ``offset[l+1]:...`` of ``z`` (before the activation) and ``a`` (after)."""
    first = 0
    for layer in range(units.shape[0] - 1):
        n_in, n_out = units[layer], units[layer + 1]
        out = first + n_in
        for j in range(n_out):
            q, b = out + j, b_off[layer] + j
            for i in range(nb):
                z[q, i] = theta[b, p0 + i]
            for k in range(n_in):
                r, w = first + k, w_off[layer] + k * n_out + j
                for i in range(nb):
                    z[q, i] += a[r, i] * theta[w, p0 + i]
        activate(acts[layer], slopes[layer], z, a, out, n_out, nb, one, tmp, bits, scale)
        first = out


@njit(cache=True, inline="always")
def backward_sample(theta, p0, nb, a, z, grad, units, w_off, b_off, acts, slopes, delta, spare, one):
    """Add the sample's parameter gradients to ``grad`` ``(D, nb)``; ``delta[:out]`` holds dC/d(output)."""
    n_layers = units.shape[0] - 1
    first = 0
    for layer in range(n_layers):
        first += units[layer]
    # first: row of the last layer's outputs; walk back layer by layer
    for layer in range(n_layers - 1, -1, -1):
        n_in, n_out = units[layer], units[layer + 1]
        activation_backward(acts[layer], slopes[layer], z, a, first, delta, n_out, nb, one)
        first -= n_in
        for j in range(n_out):
            b = b_off[layer] + j
            for i in range(nb):
                grad[b, i] += delta[j, i]
        for k in range(n_in):
            r = first + k
            for j in range(n_out):
                w = w_off[layer] + k * n_out + j
                for i in range(nb):
                    grad[w, i] += a[r, i] * delta[j, i]
        if layer == 0:
            break
        for k in range(n_in):
            for i in range(nb):
                spare[k, i] = one - one
            for j in range(n_out):
                w = w_off[layer] + k * n_out + j
                for i in range(nb):
                    spare[k, i] += delta[j, i] * theta[w, p0 + i]
        delta, spare = spare, delta


@njit(cache=True, fastmath={"contract"})
def train_block(theta, s1, s2, steps, last, X, Y, order, batch, n_epochs, first_epoch, units, w_off, b_off,
                acts, slopes, loss_code, huber_delta, opt, hyper, flags, betas, active, reached, diverged,
                losses, until, threshold, solved, p0, nb):
    """Train networks ``p0:p0+nb`` for ``n_epochs`` epochs (see :func:`train`)."""
    dtype = theta.dtype
    consts = np.empty(4, dtype)  # numbers rounded to the dtype, as NumPy rounds Python floats
    consts[0] = 1.0
    one = consts[0]
    n_samples, n_in, n_out, D = X.shape[0], units[0], units[-1], theta.shape[0]
    rows = 0
    for u in units:
        rows += u
    width = 0
    for u in units:
        width = max(width, u)
    a, z = np.zeros((rows, nb), dtype), np.zeros((rows, nb), dtype)
    grad, y = np.zeros((D, nb), dtype), np.zeros((n_out, nb), dtype)
    delta, spare = np.zeros((width, nb), dtype), np.zeros((width, nb), dtype)
    value, total = np.zeros(nb, dtype), np.zeros(nb, dtype)
    tmp, bits = np.zeros((2, nb)), np.zeros(nb, np.int64)
    scale = bits.view(np.float64)
    finite, right = np.zeros(nb, np.bool_), np.zeros(nb, np.bool_)
    # the block works on its own copies, (rows, nb), indexed from 0: its loops then vectorise without the
    # index arithmetic (and negative-index checks) of p0 + i
    theta_b, last_b, s1_b, s2_b, hyper_b = (_take(theta, p0, nb), _take(last, p0, nb), _take(s1, p0, nb),
                                            _take(s2, p0, nb), _take(hyper, p0, nb))
    steps_b, active_b = steps[p0:p0 + nb].copy(), active[p0:p0 + nb].copy()
    reached_b, diverged_b = reached[p0:p0 + nb].copy(), diverged[p0:p0 + nb].copy()
    solved_b = solved[p0:p0 + nb].copy()
    use_until, decays, momentum, nesterov = flags[0], flags[1], flags[2], flags[3]
    full = batch >= n_samples
    track = flags[4] and full  # the first epoch whose prediction is right everywhere (full batches only)
    for e in range(n_epochs):
        epoch = first_epoch + e
        row = e if order.shape[0] > 1 else 0
        total[:] = 0
        batches = 0
        for start in range(0, n_samples, batch):
            stop = min(start + batch, n_samples)
            count = (stop - start) * (1 if loss_code == SOFTMAX_CE else n_out)
            consts[1] = 1.0 / count
            consts[2] = (2.0 if loss_code == 0 else 1.0) / count
            busy = False
            for i in range(nb):
                busy = busy or active_b[i]
            grad[:, :] = 0
            value[:] = 0
            right[:] = True
            for r in range(start, stop):
                n = order[row, r]
                _load(X, n, a, n_in, p0, nb)
                _load(Y, n, y, n_out, p0, nb)
                forward_sample(theta_b, 0, nb, a, z, units, w_off, b_off, acts, slopes, one, tmp, bits, scale)
                if track:
                    _check_sides(a, y, rows - n_out, n_out, nb, threshold, right)
                sample_loss(loss_code, huber_delta, a, y, rows - n_out, n_out, nb, value, delta, consts[2], one)
                if busy:  # a block whose networks are all frozen only has its loss recorded
                    backward_sample(theta_b, 0, nb, a, z, grad, units, w_off, b_off, acts, slopes, delta, spare, one)
            for i in range(nb):
                value[i] = value[i] * consts[1]
            _guard_divergence(theta_b, last_b, value, active_b, diverged_b, epoch, nb, finite)
            if full and use_until:
                _check_tolerance(value, until, active_b, reached_b, epoch, 0, nb)
            if busy:  # the step writes into last_b, and the weights it started from become the last finite ones
                update_block(opt, theta_b, last_b, s1_b, s2_b, steps_b, grad, hyper_b, active_b, 0, nb, decays,
                             momentum, nesterov, betas[0], betas[1], betas[2], betas[3], betas[4], one)
                theta_b, last_b = last_b, theta_b
            else:
                last_b[:, :] = theta_b
            for i in range(nb):
                total[i] += value[i]
            batches += 1
        if full:
            for i in range(nb):
                losses[e, p0 + i] = value[i]
                if track and right[i] and solved_b[i] < 0:
                    solved_b[i] = epoch
        else:
            consts[3] = batches
            for i in range(nb):
                total[i] = total[i] / consts[3]
                losses[e, p0 + i] = total[i]
            if use_until:
                _check_tolerance(total, until, active_b, reached_b, epoch, 0, nb)
    for source, target in ((theta_b, theta), (last_b, last), (s1_b, s1), (s2_b, s2)):
        for d in range(source.shape[0]):
            for i in range(nb):
                target[d, p0 + i] = source[d, i]
    steps[p0:p0 + nb], active[p0:p0 + nb] = steps_b, active_b
    reached[p0:p0 + nb], diverged[p0:p0 + nb] = reached_b, diverged_b
    solved[p0:p0 + nb] = solved_b


@njit(cache=True, inline="always")
def _check_sides(a, y, first, n_out, nb, threshold, right):
    """``right[i]`` stays True while every output ``a[first:first+n_out]`` is on the side of ``threshold``
    its target ``y`` is on (a target > 0.5 is positive): ``Trainer``'s ``solved_epoch`` rule."""
    for j in range(n_out):
        for i in range(nb):
            right[i] = right[i] and (a[first + j, i] > threshold) == (y[j, i] > 0.5)


@njit(cache=True, inline="always")
def _take(values, p0, nb):
    """Columns ``p0:p0+nb`` of ``values`` as a new contiguous array."""
    block = np.empty((values.shape[0], nb), values.dtype)
    for d in range(values.shape[0]):
        for i in range(nb):
            block[d, i] = values[d, p0 + i]
    return block


@njit(cache=True, inline="always")
def _load(data, n, buffer, width, p0, nb):
    """Sample ``n`` of ``data`` ``(N, width, 1 or P)`` into ``buffer[:width, :nb]``."""
    shared = data.shape[2] == 1
    for k in range(width):
        if shared:
            v = data[n, k, 0]
            for i in range(nb):
                buffer[k, i] = v
        else:
            for i in range(nb):
                buffer[k, i] = data[n, k, p0 + i]


@njit(cache=True, inline="always")
def _guard_divergence(theta, last, value, active, diverged, epoch, nb, finite):
    """Where the loss is not finite, put back the weights ``last`` (those of the last finite loss) and freeze."""
    every = True
    for i in range(nb):  # one branch-free pass decides the usual case
        every = every & np.isfinite(value[i])
    if every:
        return
    for i in range(nb):
        finite[i] = np.isfinite(value[i])
        if not finite[i]:
            if active[i] and diverged[i] < 0:
                diverged[i] = epoch
            active[i] = False
    for d in range(theta.shape[0]):
        for i in range(nb):
            if not finite[i]:
                theta[d, i] = last[d, i]


@njit(cache=True, inline="always")
def _check_tolerance(value, until, active, reached, epoch, p0, nb):
    for i in range(nb):
        if active[p0 + i] and value[i] <= until:
            reached[p0 + i] = epoch
            active[p0 + i] = False


@njit(cache=True, parallel=True, fastmath={"contract"})
def train(theta, s1, s2, steps, last, X, Y, order, batch, n_epochs, first_epoch, units, w_off, b_off, acts, slopes,
          loss_code, huber_delta, opt, hyper, flags, betas, active, reached, diverged, losses, until, threshold, solved,
          block):
    """Train every network ``n_epochs`` epochs, blocks of ``block`` networks in parallel.

    Parameters
    ----------
    theta, last : ndarray, shape (D, P)
        Parameters (updated in place) and the last ones with a finite loss.
    s1, s2 : ndarray, shape (D, P)
        Optimizer state: momentum; Adam's m and v; RMSprop's square average and momentum.
    steps : ndarray, shape (P,)
        Adam's step counts.
    X, Y : ndarray, shape (N, in, 1 or P), (N, out, 1 or P)
    order : ndarray of int, shape (n_epochs or 1, N)
        The samples of each epoch in order (one row for full batches).
    batch : int
        Mini-batch size (>= N: full batch).
    units, w_off, b_off : ndarray of int
        Layer widths ``(L+1,)``; rows of each layer's weight and bias in ``theta`` ``(L,)``.
    acts, slopes : ndarray, shape (L,)
        Activation code after each layer and its leaky slope.
    hyper : ndarray, shape (3, P)
        Learning rate, weight decay and momentum of every network.
    flags : ndarray of bool, shape (5,)
        ``until`` given, weight decay, momentum, Nesterov, ``solved`` recorded.
    betas : ndarray, shape (5,)
        ``b1, b2, eps, 1 - b1, 1 - b2`` (RMSprop: ``alpha, -, eps, 1 - alpha, -``).
    active : ndarray of bool, shape (P,)
    reached, diverged : ndarray of int, shape (P,)
    losses : ndarray, shape (n_epochs, P)
        Filled with every epoch's loss.
    threshold : float
        Decision threshold of the outputs, for ``solved``.
    solved : ndarray of int, shape (P,)
        First epoch whose full-batch prediction is right everywhere (:func:`_check_sides`); -1 while none.
    """
    P = theta.shape[1]
    n_blocks = (P + block - 1) // block
    for index in prange(n_blocks):
        p0 = index * block
        train_block(theta, s1, s2, steps, last, X, Y, order, batch, n_epochs, first_epoch, units, w_off, b_off,
                    acts, slopes, loss_code, huber_delta, opt, hyper, flags, betas, active, reached, diverged,
                    losses, until, threshold, solved, p0, min(block, P - p0))


drop_stale([train_block, train])  # before the first call loads them from Numba's cache (see cache.py)
