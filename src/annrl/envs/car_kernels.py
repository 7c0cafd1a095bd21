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
    NEXT_STEP,
    PROGRESS,
    RADIUS,
    SAME_STEP,
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
        if sector < 0:  # a NaN heading: np.int64(NaN) is hugely negative, and must not index outside
            sector = 0
        cell = cell0 + sector
        ca, sa = fan[0, i, j], fan[1, i, j]
        ux, uy = ch * ca - sh * sa, sh * ca + ch * sa
        dist = _nearest(x, y, ux, uy, cell, head)
        if has_tail and cell_info[0, cell] > head.shape[1]:
            dist = min(dist, _nearest(x, y, ux, uy, cell_info[1, cell], tail))
        obs[row, j] = np.float32(min(dist, max_range) / max_range)
    obs[row, r] = np.float32(speed / per_car[SENSE_SPEED, i])


@njit(cache=True, inline="always", _nrt=False)
def _lane(lateral, station, lanes, n_lanes):
    """physics.lane_of for one car."""
    lane = np.int64(min(max(math.floor((lateral - lanes[station, 0]) / lanes[station, 1]), 0.0), n_lanes - 1.0))
    return lane if 0 <= lane < n_lanes else 0  # a NaN position (non-finite settings) must not index outside


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
    lane = _lane(lateral, station, lanes, n_lanes)
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


@njit(cache=True, inline="always", _nrt=False)
def _restart_car(i, new_f, new_i, crashed, obs, jitter, used, start, start_station, start_scale, stations, wrapped,
                 window, cell_info, lanes, head, tail, per_car, where, far, fan, scalars):
    """CarSimulator._start_states, _state_at and _observe for car ``i``: its track's start pose moved by its
    next jitter drawn ahead (``jitter[i, used[i]]``, three numbers in [-1, 1)), at rest, nothing driven yet."""
    n_lanes, n_sectors, has_tail = scalars[7], scalars[8], scalars[9]
    j = used[i]
    used[i] = j + 1
    along, across = start_scale[0] * jitter[i, j, 0], start_scale[0] * jitter[i, j, 1]
    x = start[0, i] + along * start[3, i] - across * start[4, i]
    y = start[1, i] + along * start[4, i] + across * start[3, i]
    heading = start[2, i] + start_scale[1] * jitter[i, j, 2]
    heading = heading - TWO_PI * math.floor((heading + PI) / TWO_PI)
    station, arc, lateral = _locate(i, x, y, start_station[i], stations, wrapped, window, where, far)
    lane = _lane(lateral, station, lanes, n_lanes)
    new_f[X, i], new_f[Y, i], new_f[HEADING, i], new_f[SPEED, i] = x, y, heading, 0.0
    new_f[ARC, i], new_f[PROGRESS, i], new_f[STALL, i] = arc, 0.0, 0.0
    new_i[STATION, i], new_i[CHECKPOINT, i], new_i[STEPS, i], new_i[LANE, i] = station, 0, 0, lane
    crashed[i] = False
    _sense_into(i, i, x, y, heading, 0.0, (station * n_lanes + lane) * n_sectors, obs, cell_info, head, tail,
                per_car, fan, n_sectors, has_tail)


@njit(cache=True, inline="always", _nrt=False)
def _info_into(i, progress, checkpoint, hit, laps_target, length, info_ints, info_fraction, info_flags):
    """CarSimulator.info for car ``i``: ``info_ints[:, i]`` = laps, checkpoints; ``info_fraction[i]``;
    ``info_flags[:, i]`` = success, crashed (physics.episode_info)."""
    course = progress / (laps_target * length)
    info_ints[0, i] = np.int64(min(max(math.floor(progress / length), 0.0), laps_target))
    info_ints[1, i] = checkpoint
    info_fraction[i] = course
    info_flags[0, i], info_flags[1, i] = course >= 1.0, hit


@njit(cache=True, inline="always", _nrt=False)
def _first_bad(choice, table):
    """The first car whose action indexes no row of ``table``, or -1."""
    for i in range(choice.shape[0]):
        if choice[i] < 0 or choice[i] >= table.shape[0]:
            return i
    return -1


@njit(cache=True, parallel=True, _nrt=False)
def step_cars(mode, floats, ints, new_f, new_i, crashed, table, choice, restart, jitter, used, start, start_station,
              start_scale, obs, reward, terminated, truncated, info_i, info_f, info_b, final_obs, final_i, final_f,
              final_b, stations, wrapped, window, cell_info, lanes, crash, head, tail, per_car, where, far, fan,
              scalars):
    """Every car one step on, from ``floats`` (7, n) / ``ints`` (4, n) into the ``new_*`` arrays, ``obs``, the
    rewards, ends and info arrays: restarted (mode NEXT_STEP, ``restart[i]``) or moved with the controls
    ``table[choice[i]]``; then, in mode SAME_STEP, its final observation and info kept and, if its episode
    ended, restarted; its info last. The cars are split over Numba's threads (they are independent: the same
    numbers on any number of threads; one thread runs as fast as a serial loop). Returns -1, or (touching
    nothing) the first car whose action ``choice[i]`` indexes no row of ``table``."""
    bad = _first_bad(choice, table)
    if bad >= 0:
        return bad
    laps_target = scalars[6]
    for i in prange(choice.shape[0]):
        if mode == NEXT_STEP and restart[i]:
            _restart_car(i, new_f, new_i, crashed, obs, jitter, used, start, start_station, start_scale, stations,
                         wrapped, window, cell_info, lanes, head, tail, per_car, where, far, fan, scalars)
            reward[i], terminated[i], truncated[i] = 0.0, False, False
        else:
            a = choice[i]
            r, ended, cut = step_car(i, floats, ints, new_f, new_i, crashed, table[a, 0], table[a, 1], obs, stations,
                                     wrapped, window, cell_info, lanes, crash, head, tail, per_car, where, far, fan,
                                     scalars)
            reward[i], terminated[i], truncated[i] = r, ended, cut
            if mode == SAME_STEP:
                _info_into(i, new_f[PROGRESS, i], new_i[CHECKPOINT, i], crashed[i], laps_target,
                           per_car[LAP_LENGTH, i], final_i, final_f, final_b)
                for j in range(obs.shape[1]):
                    final_obs[i, j] = obs[i, j]
                if ended or cut:
                    _restart_car(i, new_f, new_i, crashed, obs, jitter, used, start, start_station, start_scale,
                                 stations, wrapped, window, cell_info, lanes, head, tail, per_car, where, far, fan,
                                 scalars)
        _info_into(i, new_f[PROGRESS, i], new_i[CHECKPOINT, i], crashed[i], laps_target, per_car[LAP_LENGTH, i],
                   info_i, info_f, info_b)
    return -1


@njit(cache=True, _nrt=False)
def locate_cars(x, y, station, cars, out_station, out_arc, out_lane, stations, wrapped, window, cell_info, lanes,
                crash, head, tail, per_car, where, far, fan, scalars):
    """physics.locate and lane_of for cars placed at ``x[k], y[k]`` near ``station[k]`` (car ``cars[k]``'s
    track): their station, arc length and lane, into the ``out_*`` arrays."""
    n_lanes = scalars[7]
    for k in range(cars.shape[0]):
        s, arc, lateral = _locate(cars[k], x[k], y[k], station[k], stations, wrapped, window, where, far)
        out_station[k], out_arc[k] = s, arc
        out_lane[k] = _lane(lateral, s, lanes, n_lanes)


#: the files these kernels are built from (the constants of envs/compiled.py are frozen into them)
SOURCES = [Path(__file__), Path(__file__).with_name("compiled.py")]
drop_stale([step_cars, locate_cars], SOURCES)  # see annrl.nn.compiled.cache
