"""The car physics for a batch of cars, written once against the Python array API standard.

Every function takes arrays with a leading car axis ``(n,)`` and gets its functions from them
(``xp = array_namespace(x)``), so the same lines step NumPy arrays on a CPU or, later, PyTorch
tensors on a GPU. Nothing here draws random numbers, allocates per car in Python, or knows
about Gymnasium: :mod:`annrl.envs.core` orchestrates, the environments wrap.

Units: metres, seconds, radians; headings are counter-clockwise from +x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from annrl.backend import array_namespace

TWO_PI = 2.0 * math.pi
FAR_T = 1.0e9  # metres: the distance a ray reports for a wall it misses
TINY = 1.0e-30  # keeps t = num / (denom + TINY) finite for rays parallel to a wall


@dataclass
class Dynamics:
    """Per-car physical parameters, each an array of shape ``(n,)`` (see :class:`CarSettings`)."""

    max_speed: Any  # m/s
    accel: Any  # m/s^2 at full throttle
    brake: Any  # m/s^2 at full brake
    drag: Any  # 1/s, speed lost per second per m/s of speed
    steer_gain: Any  # 1/m: path curvature at full steering, tan(max_steer) / wheelbase
    grip: Any  # m/s^2: the largest sideways acceleration the tyres hold


def advance(x, y, heading, speed, steer, throttle, dyn: Dynamics, dt: float):
    """One time step of a kinematic bicycle whose turning is limited by tyre grip.

    Speed follows throttle (accelerate) or its negative part (brake), less a linear drag, kept in
    ``[0, max_speed]``. The path curvature is ``steer * steer_gain``, capped so that the
    sideways acceleration ``speed**2 * curvature`` never exceeds ``grip``: fast cars turn wide.
    Position moves along the mid-step heading.

    Parameters
    ----------
    x, y, heading, speed : arrays, shape (n,)
    steer, throttle : arrays, shape (n,)
        In [-1, 1]; steer > 0 turns left (counter-clockwise).

    Returns
    -------
    x, y, heading, speed : arrays, shape (n,)
        Heading wrapped to [-pi, pi).
    """
    xp = array_namespace(x)
    # Controls arrive clipped to [-1, 1]; the positive part accelerates, the negative part brakes.
    push = dyn.accel * xp.maximum(throttle, 0.0) + dyn.brake * xp.minimum(throttle, 0.0)
    speed = xp.minimum(xp.maximum(speed + dt * (push - dyn.drag * speed), 0.0), dyn.max_speed)
    limit = dyn.grip / xp.maximum(speed * speed, 1e-6)
    curvature = xp.maximum(xp.minimum(steer * dyn.steer_gain, limit), -limit)
    turn = dt * speed * curvature
    mid = heading + 0.5 * turn
    x = x + dt * speed * xp.cos(mid)
    y = y + dt * speed * xp.sin(mid)
    heading = wrap_angle(heading + turn)
    return x, y, heading, speed


def wrap_angle(angle):
    """Angles mapped into [-pi, pi)."""
    xp = array_namespace(angle)
    return xp.remainder(angle + math.pi, TWO_PI) - math.pi


def locate(x, y, station, tab: dict, window: int):
    """Track each car to the nearest centre-line segment within ``window`` of its last one.

    Parameters
    ----------
    x, y : arrays, shape (n,)
    station : int array, shape (n,)
        The previous station of each car.
    tab : dict of arrays
        ``stations`` (``(M, 7)``: start x, y, direction x, y, squared length, length, arc length;
        see the column names below) and ``offsets`` (``(2 * window + 1,)``, ints).

    Returns
    -------
    station : int array, shape (n,)
    arc : array, shape (n,)
        Arc length along the centre line of each car's projection, in metres.
    lateral : array, shape (n,)
        Signed distance of each car to the left of its station segment, in metres.
    """
    xp = array_namespace(x)
    m = tab["stations"].shape[0]
    near = xp.remainder(station[None, :] + tab["offsets"][:, None], m)  # (W, n)
    d2 = _projection(x, y, xp.reshape(near, (-1,)), tab, near.shape)[3]
    best = xp.argmin(d2, axis=0)
    station = xp.remainder(station + xp.take(tab["offsets"], best), m)
    t, lateral, row, _ = _projection(x, y, station, tab, station.shape)
    arc = row[..., ARC] + t * row[..., LENGTH]
    return station, arc, lateral


# Columns of the packed station table ``tab["stations"]``, shape (M, 7).
SX, SY, DX, DY, LEN2, LENGTH, ARC = range(7)


def _projection(x, y, idx, tab, shape):
    """Projection on the station segments ``idx``: fraction along, signed offset, the table rows
    (reshaped to ``shape + (7,)``) and the squared distance."""
    xp = array_namespace(x)
    row = xp.reshape(xp.take(tab["stations"], idx, axis=0), (*shape, 7))
    dx, dy, len2 = row[..., DX], row[..., DY], row[..., LEN2]
    rx, ry = x - row[..., SX], y - row[..., SY]
    t = xp.minimum(xp.maximum((rx * dx + ry * dy) / len2, 0.0), 1.0)
    ex, ey = rx - t * dx, ry - t * dy
    lateral = (dx * ry - dy * rx) / row[..., LENGTH]
    return t, lateral, row, ex * ex + ey * ey


def lane_of(station, lateral, tab: dict):
    """Which of the ``n_lanes`` strips across the corridor each car is in; int array ``(n,)``."""
    xp = array_namespace(lateral)
    lo, width = xp.take(tab["lane_lo"], station), xp.take(tab["lane_width"], station)
    lane = xp.minimum(xp.maximum(xp.floor((lateral - lo) / width), 0.0), tab["n_lanes"] - 1.0)
    return xp.astype(lane, station.dtype)


def wall_clearance(x, y, station, tab: dict):
    """Distance from each car's centre to the nearest wall, in metres.

    Only the wall segments listed for the car's station are examined; the tables guarantee
    that they include every segment within the car's reach.

    Returns
    -------
    array, shape (n,)
    """
    xp = array_namespace(x)
    ax = xp.take(tab["crash_ax"], station, axis=0)  # (n, Kc)
    ay = xp.take(tab["crash_ay"], station, axis=0)
    dx = xp.take(tab["crash_dx"], station, axis=0)
    dy = xp.take(tab["crash_dy"], station, axis=0)
    inv_len2 = xp.take(tab["crash_inv_len2"], station, axis=0)
    rx, ry = x[:, None] - ax, y[:, None] - ay
    t = xp.clip((rx * dx + ry * dy) * inv_len2, 0.0, 1.0)
    ex, ey = rx - t * dx, ry - t * dy
    return xp.sqrt(min_over_last_axis(ex * ex + ey * ey))


def cast_rays(x, y, heading, station, lane, cos_angles, sin_angles, angles, max_range, tab: dict):
    """Distance from each car along each sensor ray to the first wall, capped at ``max_range``.

    Parameters
    ----------
    x, y, heading : arrays, shape (n,)
    station, lane : int arrays, shape (n,)
    cos_angles, sin_angles, angles : arrays, shape (n, r)
        Sensor directions relative to the heading (radians) and their cosines and sines.
    max_range : array, shape (n, 1)
        Longest distance each car's sensors report, in metres.
    tab : dict of arrays
        ``ray_ax``, ``ray_ay``, ``ray_dx``, ``ray_dy``: the first ``K1`` candidates of every
        (station, lane, sector) cell, ``(cells, K1)``; optionally ``tail_*`` with the rest
        ``(cells, K - K1)`` and ``ray_count`` ``(cells,)``, the length of each list.

    Returns
    -------
    array, shape (n, r)
        Distances in metres, in ``[0, max_range]``.
    """
    xp = array_namespace(x)
    n, r = angles.shape
    dtype = tab["ray_ax"].dtype
    ch, sh = xp.cos(heading)[:, None], xp.sin(heading)[:, None]
    world = xp.remainder(heading[:, None] + angles, TWO_PI)
    sector = xp.astype(world * (tab["n_sectors"] / TWO_PI), station.dtype)
    sector = xp.minimum(sector, tab["last_sector"])  # an angle that rounds up to 2 pi
    region = (station * tab["n_lanes"] + lane)[:, None] * tab["n_sectors"]
    cell = xp.reshape(region + sector, (-1,))  # (n * r,)
    rays = (  # one row per ray: origin and direction, in the tables' precision
        xp.repeat(xp.astype(x, dtype), r),
        xp.repeat(xp.astype(y, dtype), r),
        xp.reshape(xp.astype(ch * cos_angles - sh * sin_angles, dtype), (-1,)),  # the fan turned by heading
        xp.reshape(xp.astype(sh * cos_angles + ch * sin_angles, dtype), (-1,)),
    )
    dist = _first_hit(*rays, cell, tab["ray_ax"], tab["ray_ay"], tab["ray_dx"], tab["ray_dy"])
    if "tail_ax" in tab:
        dist = _with_tails(dist, rays, cell, tab)
    dist = xp.astype(xp.reshape(dist, (n, r)), max_range.dtype)
    return xp.minimum(dist, max_range)


def _with_tails(dist, rays, cell, tab: dict):
    """Rays whose candidate list is longer than the first table also try the rest of it.

    Most lists are short, so the first table holds ``K1`` candidates and only the few rays with
    longer lists pay for the tail. Their results come back through a gather (the array API has
    no scatter): ray ``i`` reads tail result ``rank(i)``, or a miss when it had no tail.
    """
    xp = array_namespace(dist)
    long = xp.take(tab["ray_count"], cell) > tab["ray_ax"].shape[1]
    picked = xp.nonzero(long)[0]
    if picked.shape[0] == 0:
        return dist
    tail = _first_hit(*(xp.take(v, picked) for v in rays), xp.take(cell, picked),
                      tab["tail_ax"], tab["tail_ay"], tab["tail_dx"], tab["tail_dy"])
    tail = xp.concat([tail, xp.full((1,), FAR_T, dtype=tail.dtype)])
    rank = xp.cumulative_sum(xp.astype(long, picked.dtype)) - 1
    return xp.minimum(dist, xp.take(tail, xp.where(long, rank, picked.shape[0])))


def _first_hit(px, py, ux, uy, cell, ax, ay, dx, dy):
    """Distance along each ray to the nearest of its cell's candidate walls (FAR_T when none).

    Parameters
    ----------
    px, py, ux, uy : arrays, shape (m,)
        Ray origins and unit directions.
    cell : int array, shape (m,)
        Each ray's row in the tables.
    ax, ay, dx, dy : arrays, shape (cells, K)
        Candidate wall starts and directions.

    Returns
    -------
    array, shape (m,)
    """
    xp = array_namespace(px)
    m, k = cell.shape[0], ax.shape[1]

    def per_pair(values):  # each ray's value repeated along its K candidates: broadcasts are slow
        return xp.reshape(xp.repeat(values, k), (m, k))

    ux, uy = per_pair(ux), per_pair(uy)
    qx = xp.take(ax, cell, axis=0) - per_pair(px)  # (m, K): wall start relative to the ray origin
    qy = xp.take(ay, cell, axis=0) - per_pair(py)
    dx = xp.take(dx, cell, axis=0)
    dy = xp.take(dy, cell, axis=0)
    # Ray p + t u meets wall a + s d at t = (q x d) / (u x d), s = (q x u) / (u x d), q = a - p.
    # Walls keep the corridor on their left, so a ray meets one from the front when u x d > 0;
    # requiring that, with t >= 0 and 0 <= s <= 1, needs no division.
    denom = ux * dy - uy * dx
    num_t = qx * dy - qy * dx
    num_s = qx * uy - qy * ux
    hit = (denom > 0.0) & (num_t >= 0.0) & (num_s >= 0.0) & (num_s <= denom)
    # A parallel ray (denom == 0) is a miss; the tiny shift keeps its quotient finite.
    t = num_t / (denom + TINY)
    # A miss costs a distance beyond any range (maximum, not where: NumPy's where is slow here).
    t = xp.maximum(t, xp.astype(~hit, t.dtype) * FAR_T)
    return min_over_last_axis(t)


def min_over_last_axis(a):
    """Minimum over the last axis of a 2-D array ``(n, k)``; returns ``(n,)``.

    Reducing over a short last axis costs NumPy a loop per row, so the array is first copied
    transposed (reshaping a transposed view forces the copy) and reduced over its first axis.
    """
    xp = array_namespace(a)
    n, k = a.shape
    return xp.min(xp.reshape(xp.reshape(xp.permute_dims(a, (1, 0)), (-1,)), (k, n)), axis=0)
