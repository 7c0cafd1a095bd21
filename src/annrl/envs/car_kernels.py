"""The Numba kernels of :mod:`annrl.envs.compiled`: one car's step, and the step of every car.

Each function is the NumPy kernel of :mod:`annrl.envs.physics` named in its docstring, on one car's
float64 numbers, with the same operations in the same order: ``a * b + c`` stays two roundings
(Numba fuses nothing without ``fastmath``), ``max``/``min`` keep NumPy's choice on finite values,
and a minimum over candidates keeps the first of equals, as ``argmin`` does. The arguments are the
arrays built by :func:`annrl.envs.compiled.pack`.

The kernels run without Numba's runtime (``_nrt=False``): they make no array, and with the runtime
every array handed to an inlined helper was reference-counted once per car (atomic increments and
decrements, 40% of the step's time).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numba import njit, prange

from annrl.envs.compiled import (
    ACCEL,
    ARC,
    BRAKE,
    CHECKPOINT,
    DRAG,
    FAR_T,
    GRIP,
    HEADING,
    LANE,
    LAP_LENGTH,
    MAX_RANGE,
    MAX_SPEED,
    PROGRESS,
    RADIUS,
    SENSE_SPEED,
    SPEED,
    STALL,
    STATION,
    STEER_GAIN,
    STEPS,
    TINY,
    TWO_PI,
    X,
    Y,
)
from annrl.nn.compiled.cache import drop_stale

PI = math.pi


@njit(cache=True, inline="always", _nrt=False)
def _project(x, y, sx, sy, dx, dy, len2):
    """physics.project: fraction along the segment, offset ``r``, squared distance."""
    rx, ry = x - sx, y - sy
    t = min(max((rx * dx + ry * dy) / len2, 0.0), 1.0)
    ex, ey = rx - t * dx, ry - t * dy
    return t, rx, ry, ex * ex + ey * ey


@njit(cache=True, inline="always", _nrt=False)
def _locate(i, x, y, station, stations, wrapped, window, where, far):
    """physics.locate for car ``i``: ``(station, arc, lateral)``."""
    base, m = where[0, i], where[1, i]
    rows = station + where[2, i]
    best, best_k = np.inf, 0
    for k in range(window.shape[1]):
        r = rows + window[1, k]
        d2 = _project(x, y, wrapped[r, 0], wrapped[r, 1], wrapped[r, 2], wrapped[r, 3], wrapped[r, 4])[3]
        if far.shape[1] > 0:
            d2 = d2 + far[k, i]
        if d2 < best:
            best, best_k = d2, k
    local = station - base + window[0, best_k]  # within a window of the lap: no (slow) integer remainder
    while local < 0:
        local += m
    while local >= m:
        local -= m
    station = base + local
    dx, dy, length = stations[station, 2], stations[station, 3], stations[station, 5]
    t, rx, ry, _ = _project(x, y, stations[station, 0], stations[station, 1], dx, dy, stations[station, 4])
    return station, stations[station, 6] + t * length, (dx * ry - dy * rx) / length


@njit(cache=True, inline="always", _nrt=False)
def _crashed(x, y, station, radius, crash):
    """physics.wall_clearance(...) <= radius for one car."""
    best = np.inf
    for k in range(crash.shape[1]):
        dx, dy = crash[station, k, 2], crash[station, k, 3]
        rx, ry = x - crash[station, k, 0], y - crash[station, k, 1]
        t = min(max((rx * dx + ry * dy) * crash[station, k, 4], 0.0), 1.0)
        ex, ey = rx - t * dx, ry - t * dy
        d2 = ex * ex + ey * ey
        if d2 < best:
            best = d2
    return math.sqrt(best) <= radius


@njit(cache=True, inline="always", _nrt=False)
def _nearest(px, py, ux, uy, row, walls):
    """physics._nearest_hit for one ray against the candidates in row ``row`` of ``walls``."""
    best = np.inf
    for k in range(walls.shape[1]):
        dx, dy = walls[row, k, 2], walls[row, k, 3]
        qx, qy = walls[row, k, 0] - px, walls[row, k, 1] - py
        denom = ux * dy - uy * dx
        num_t = qx * dy - qy * dx
        num_s = qx * uy - qy * ux
        t = num_t / (denom + TINY)
        floor = FAR_T if (num_t < 0.0) | (num_s < 0.0) | (num_s > denom) else 0.0
        v = t if t > floor else floor  # np.maximum(t, miss * FAR_T)
        if v < best:
            best = v
    return best


@njit(cache=True, inline="always", _nrt=False)
def _sense_into(row, i, x, y, heading, speed, cell0, obs, cell_info, head, tail, per_car, fan, n_sectors, has_tail):
    """physics.cast_rays and the observation (distances / max_range, speed / max_speed) of a car with car
    ``i``'s sensors, into ``obs[row]``; ``cell0`` is the first ray cell of its station and lane."""
    max_range = per_car[MAX_RANGE, i]
    ch, sh = math.cos(heading), math.sin(heading)
    per_radian = n_sectors / TWO_PI
    r = fan.shape[2]
    for j in range(r):
        sector = np.int64((heading + fan[2, i, j]) * per_radian + n_sectors)  # in [0, 2 n_sectors]
        while sector >= n_sectors:  # the remainder, without an integer division
            sector -= n_sectors
        cell = cell0 + sector
        ca, sa = fan[0, i, j], fan[1, i, j]
        ux, uy = ch * ca - sh * sa, sh * ca + ch * sa
        dist = _nearest(x, y, ux, uy, cell, head)
        if has_tail and cell_info[0, cell] > head.shape[1]:
            dist = min(dist, _nearest(x, y, ux, uy, cell_info[1, cell], tail))
        obs[row, j] = np.float32(min(dist, max_range) / max_range)
    obs[row, r] = np.float32(speed / per_car[SENSE_SPEED, i])


@njit(cache=True, inline="always", _nrt=False)
def step_car(i, floats, ints, new_f, new_i, crashed, steer, throttle, obs, stations, wrapped, window, cell_info,
             lanes, crash, head, tail, per_car, where, far, fan, scalars):
    """Car ``i`` one step on: physics.advance, locate, lane_of, wall_clearance, cast_rays and score.

    Reads the old state from ``floats`` (7, n) / ``ints`` (4, n) before writing ``new_f`` / ``new_i`` /
    ``crashed`` (which may be the same arrays) and ``obs[i]``. Returns ``(reward, terminated, truncated)``.
    """
    dt, lap_reward, crash_penalty, stall_time, max_steps, n_checkpoints, laps, n_lanes, n_sectors, has_tail = scalars
    x, y, heading, speed = floats[X, i], floats[Y, i], floats[HEADING, i], floats[SPEED, i]
    old_arc, old_progress, old_stall = floats[ARC, i], floats[PROGRESS, i], floats[STALL, i]
    old_station, old_checkpoint, steps = ints[STATION, i], ints[CHECKPOINT, i], ints[STEPS, i] + 1
    # physics.advance
    push = per_car[ACCEL, i] * max(throttle, 0.0) + per_car[BRAKE, i] * min(throttle, 0.0)
    speed = min(max(speed + dt * (push - per_car[DRAG, i] * speed), 0.0), per_car[MAX_SPEED, i])
    limit = per_car[GRIP, i] / max(speed * speed, 1e-6)
    curvature = max(min(steer * per_car[STEER_GAIN, i], limit), -limit)
    turn = dt * speed * curvature
    mid = heading + 0.5 * turn
    x = x + dt * speed * math.cos(mid)
    y = y + dt * speed * math.sin(mid)
    heading = heading + turn
    heading = heading - TWO_PI * math.floor((heading + PI) / TWO_PI)
    station, arc, lateral = _locate(i, x, y, old_station, stations, wrapped, window, where, far)
    lane = np.int64(min(max(math.floor((lateral - lanes[station, 0]) / lanes[station, 1]), 0.0), n_lanes - 1.0))
    hit = _crashed(x, y, station, per_car[RADIUS, i], crash)
    # physics.score
    length = per_car[LAP_LENGTH, i]
    moved = arc - old_arc + 0.5 * length
    delta = moved - length * math.floor(moved / length) - 0.5 * length
    progress = old_progress + delta
    checkpoint = max(old_checkpoint, np.int64(math.floor(progress / (length / n_checkpoints))))
    stall = (old_stall + dt) * (1.0 if checkpoint == old_checkpoint else 0.0)
    reward = lap_reward * delta / length - crash_penalty * (1.0 if hit else 0.0)
    terminated = hit or progress >= laps * length or stall >= stall_time
    truncated = steps >= max_steps and not terminated
    new_f[X, i], new_f[Y, i], new_f[HEADING, i], new_f[SPEED, i] = x, y, heading, speed
    new_f[ARC, i], new_f[PROGRESS, i], new_f[STALL, i] = arc, progress, stall
    new_i[STATION, i], new_i[CHECKPOINT, i], new_i[STEPS, i], new_i[LANE, i] = station, checkpoint, steps, lane
    crashed[i] = hit
    _sense_into(i, i, x, y, heading, speed, (station * n_lanes + lane) * n_sectors, obs, cell_info, head, tail,
                per_car, fan, n_sectors, has_tail)
    return reward, terminated, truncated


@njit(cache=True, _nrt=False)
def step_cars(floats, ints, new_f, new_i, crashed, controls, obs, reward, terminated, truncated, stations, wrapped,
              window, cell_info, lanes, crash, head, tail, per_car, where, far, fan, scalars):
    """Every car one step on (:func:`step_car`), into the ``new_*`` arrays, ``obs``, ``reward`` and the ends;
    ``controls`` is ``(2, n)``: steer, throttle."""
    for i in range(controls.shape[1]):
        reward[i], terminated[i], truncated[i] = step_car(
            i, floats, ints, new_f, new_i, crashed, controls[0, i], controls[1, i], obs, stations, wrapped, window,
            cell_info, lanes, crash, head, tail, per_car, where, far, fan, scalars)


@njit(cache=True, parallel=True, _nrt=False)
def step_cars_parallel(floats, ints, new_f, new_i, crashed, controls, obs, reward, terminated, truncated, stations,
                       wrapped, window, cell_info, lanes, crash, head, tail, per_car, where, far, fan, scalars):
    """:func:`step_cars` with the cars split over Numba's threads (cars are independent: same numbers)."""
    for i in prange(controls.shape[1]):
        reward[i], terminated[i], truncated[i] = step_car(
            i, floats, ints, new_f, new_i, crashed, controls[0, i], controls[1, i], obs, stations, wrapped, window,
            cell_info, lanes, crash, head, tail, per_car, where, far, fan, scalars)


@njit(cache=True, _nrt=False)
def sense_cars(x, y, heading, speed, station, lane, cars, obs, stations, wrapped, window, cell_info, lanes, crash,
               head, tail, per_car, where, far, fan, scalars):
    """``obs[k]``: the observation of a car at ``x[k], y[k], ...`` with the sensors of car ``cars[k]``."""
    n_lanes, n_sectors, has_tail = scalars[7], scalars[8], scalars[9]
    for k in range(cars.shape[0]):
        i = cars[k]
        _sense_into(k, i, x[k], y[k], heading[k], speed[k], (station[k] * n_lanes + lane[k]) * n_sectors, obs,
                    cell_info, head, tail, per_car, fan, n_sectors, has_tail)


@njit(cache=True, _nrt=False)
def locate_cars(x, y, station, cars, out_station, out_arc, out_lane, stations, wrapped, window, cell_info, lanes,
                crash, head, tail, per_car, where, far, fan, scalars):
    """physics.locate and lane_of for cars placed at ``x[k], y[k]`` near ``station[k]`` (car ``cars[k]``'s
    track): their station, arc length and lane, into the ``out_*`` arrays."""
    n_lanes = scalars[7]
    for k in range(cars.shape[0]):
        s, arc, lateral = _locate(cars[k], x[k], y[k], station[k], stations, wrapped, window, where, far)
        out_station[k], out_arc[k] = s, arc
        out_lane[k] = np.int64(min(max(math.floor((lateral - lanes[s, 0]) / lanes[s, 1]), 0.0), n_lanes - 1.0))


#: the files these kernels are built from (the constants of envs/compiled.py are frozen into them)
SOURCES = [Path(__file__), Path(__file__).with_name("compiled.py")]
drop_stale([step_cars, step_cars_parallel, sense_cars, locate_cars], SOURCES)  # see annrl.nn.compiled.cache
