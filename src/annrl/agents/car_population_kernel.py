"""The Numba kernel of :mod:`annrl.agents.car_population`: networks driving cars, one car per thread task."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numba import njit, prange

from annrl.envs.car_kernels import SOURCES, step_car
from annrl.envs.compiled import LAP_LENGTH, PROGRESS
from annrl.nn.compiled.cache import drop_stale

TANH = 2  # annrl.nn.compiled.rules.ACTIVATION_CODES[Tanh]


@njit(cache=True, inline="always", _nrt=False)
def _forward(thetas, p, obs, i, units, w_off, b_off, acts, buf):
    """Network ``p``'s outputs for car ``i``'s observation: Dense layers, ``sum_k x_k w_kj`` then ``+ b_j``
    (the engine's ``x @ w + b``), tanh or identity after each. ``buf`` ``(2, width)`` is car ``i``'s scratch;
    returns the row of it that holds the outputs."""
    for k in range(units[0]):
        buf[0, k] = np.float64(obs[i, k])
    src = 0
    for layer in range(units.shape[0] - 1):
        n_in, n_out = units[layer], units[layer + 1]
        for j in range(n_out):
            z = 0.0
            for k in range(n_in):
                z += buf[src, k] * thetas[p, w_off[layer] + k * n_out + j]
            z = z + thetas[p, b_off[layer] + j]
            buf[1 - src, j] = math.tanh(z) if acts[layer] == TANH else z
        src = 1 - src
    return src


@njit(cache=True, inline="always", _nrt=False)
def _scaled(v, low, high):
    """One output in [-1, 1] mapped onto the action box in float32 (to_actions' "scale"), then read back as
    the simulator reads a continuous action (float64, clipped to [-1, 1])."""
    v = low + (min(max(v, -1.0), 1.0) + 1.0) * 0.5 * (high - low)
    return min(max(np.float64(np.float32(v)), -1.0), 1.0)


@njit(cache=True, inline="always", _nrt=False)
def _controls(buf, row, n_out, controls, box, flags):
    """Steer and throttle from the outputs: as annrl.agents.envs.to_actions, then CarSimulator._controls."""
    if flags[1] > 0.0:  # continuous
        steer, throttle = _scaled(buf[row, 0], box[0, 0], box[1, 0]), _scaled(buf[row, 1], box[0, 1], box[1, 1])
    else:
        best = 0
        for j in range(1, n_out):
            if buf[row, j] > buf[row, best]:  # the first of equals, as np.argmax
                best = j
        steer, throttle = controls[best, 0], controls[best, 1]
    if flags[0] != 0.0:  # steer bias
        steer = min(max(steer + flags[0], -1.0), 1.0)
    return steer, throttle


@njit(cache=True, parallel=True, _nrt=False)
def play(thetas, units, w_off, b_off, acts, episodes, controls, box, flags, floats, ints, crashed, obs, scratch,
         returns, lengths, laps, laps_target, max_steps, stations, wrapped, window, cell_info, lanes, crash, head, tail,
         per_car, where, far, fan, scalars):
    """Car ``i`` driven by network ``i // episodes`` until its first episode ends (or ``max_steps``).

    ``returns``, ``lengths`` and ``laps`` ``(n,)`` receive the episode's return, length and whole laps;
    the state arrays (``floats`` (7, n), ``ints`` (4, n), ``crashed``, ``obs``) are moved in place;
    ``scratch`` ``(n, 2, width)`` holds each car's layer values. No Numba runtime (``_nrt=False``): no array
    is made here, and none is reference-counted in the loop, which costs more than the car's arithmetic.
    """
    for i in prange(floats.shape[1]):
        p = i // episodes
        buf = scratch[i]
        for _ in range(max_steps):
            row = _forward(thetas, p, obs, i, units, w_off, b_off, acts, buf)
            steer, throttle = _controls(buf, row, units[-1], controls, box, flags)
            reward, terminated, truncated = step_car(
                i, floats, ints, floats, ints, crashed, steer, throttle, obs, stations, wrapped, window, cell_info,
                lanes, crash, head, tail, per_car, where, far, fan, scalars)
            returns[i] += reward
            lengths[i] += 1
            if terminated or truncated:
                whole = math.floor(floats[PROGRESS, i] / per_car[LAP_LENGTH, i])
                laps[i] = np.int64(min(max(whole, 0.0), laps_target))
                break


drop_stale([play], [*SOURCES, Path(__file__)])  # it inlines step_car: see annrl.nn.compiled.cache
