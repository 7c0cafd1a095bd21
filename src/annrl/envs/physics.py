"""The car physics, written once: elementwise formulas that step a batch of cars or a single one.

Every formula is an elementwise *kernel* (``advance``, :func:`project`, :func:`segment_d2`,
:func:`ray_direction`, :func:`ray_miss`, :func:`score`, ...) that takes its namespace ``xp`` and
works on arrays of any shape or on Python floats. The batch functions below (:func:`locate`,
:func:`wall_clearance`, :func:`cast_rays`) gather each car's candidates from the lookup tables
and apply the kernels to arrays with a leading car axis, using only the Python array API, so the
same lines step NumPy arrays on a CPU or PyTorch tensors on a GPU.
:mod:`annrl.envs.fast_single` applies the same kernels to one car's Python floats with
:data:`SCALAR` as namespace, which is how a single car steps 10x faster than a batch of one.
IEEE arithmetic makes both give the same numbers to the last bit (tests check it).

Nothing here draws random numbers, loops over cars in Python, or knows about Gymnasium:
:mod:`annrl.envs.core` orchestrates, the environments wrap.

Units: metres, seconds, radians; headings are counter-clockwise from +x.
"""

from __future__ import annotations

import math
import operator
import types
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from annrl.backend import array_namespace

TWO_PI = 2.0 * math.pi
FAR_T = 1.0e9  # metres: the distance a ray reports for a wall it misses
TINY = 1.0e-30  # keeps t = num / (denom + TINY) finite for rays parallel to a wall

#: The namespace of the kernels on Python floats. Each function gives exactly the number NumPy's
#: gives for float64 (``max``/``min`` keep the first argument on ties, as ``np.maximum`` does).
SCALAR = types.SimpleNamespace(
    maximum=max,
    minimum=min,
    clip=lambda v, lo, hi: min(max(v, lo), hi),
    cos=math.cos,
    sin=math.sin,
    sqrt=math.sqrt,
    floor=math.floor,
    remainder=operator.mod,
    astype=lambda v, dtype: dtype(v),
    logical_not=operator.not_,
)


def namespace(x):
    """:data:`SCALAR` for a Python float, else the array namespace of ``x``.

    Parameters
    ----------
    x : float or ndarray of shape (n,)
        One car's value as a Python float, or the values of ``n`` cars (NumPy or PyTorch).
    """
    return SCALAR if type(x) is float else array_namespace(x)


@dataclass
class Dynamics:
    """Per-car physical parameters, each an array of shape ``(n,)`` (see :class:`CarSettings`)."""

    max_speed: Any  # m/s
    accel: Any  # m/s^2 at full throttle
    brake: Any  # m/s^2 at full brake
    drag: Any  # 1/s, speed lost per second per m/s of speed
    steer_gain: Any  # 1/m: path curvature at full steering, tan(max_steer) / wheelbase
    grip: Any  # m/s^2: the largest sideways acceleration the tyres hold


# ------------------------------------------------------------------------------------ kernels
def advance(x, y, heading, speed, steer, throttle, dyn: Dynamics, dt: float):
    """One time step of a kinematic bicycle whose turning is limited by tyre grip.

    Speed follows throttle (accelerate) or its negative part (brake), less a linear drag, kept in
    ``[0, max_speed]``. The path curvature is ``steer * steer_gain``, capped so that the
    sideways acceleration ``speed**2 * curvature`` never exceeds ``grip``: fast cars turn wide.
    Position moves along the mid-step heading.

    Parameters
    ----------
    x, y, heading, speed : arrays, shape (n,), or floats
    steer, throttle : arrays, shape (n,), or floats
        In [-1, 1]; steer > 0 turns left (counter-clockwise).
    dyn : Dynamics
        Arrays ``(n,)``, or floats for one car.

    Returns
    -------
    x, y, heading, speed : arrays, shape (n,), or floats
        Heading wrapped to [-pi, pi).
    """
    xp = namespace(x)
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
    """Angles mapped into [-pi, pi] (floor, not NumPy's slow floating-point remainder)."""
    xp = namespace(angle)
    return angle - TWO_PI * xp.floor((angle + math.pi) / TWO_PI)


def project(x, y, sx, sy, dx, dy, len2, xp):
    """Point ``(x, y)`` on segment ``s -> s + d``: fraction along, offset ``r = p - s``, squared distance."""
    rx, ry = x - sx, y - sy
    t = xp.minimum(xp.maximum((rx * dx + ry * dy) / len2, 0.0), 1.0)
    ex, ey = rx - t * dx, ry - t * dy
    return t, rx, ry, ex * ex + ey * ey


def lateral_offset(rx, ry, dx, dy, length):
    """Signed distance of the point at offset ``r`` to the left of a segment of direction ``d``."""
    return (dx * ry - dy * rx) / length


def lane_index(lateral, lane_lo, lane_width, n_lanes: int, xp):
    """Which strip across the corridor a car is in, as a whole float in ``[0, n_lanes - 1]``."""
    return xp.minimum(xp.maximum(xp.floor((lateral - lane_lo) / lane_width), 0.0), n_lanes - 1.0)


def segment_d2(x, y, ax, ay, dx, dy, inv_len2, xp):
    """Squared distance from point ``(x, y)`` to the segment ``a -> a + d``."""
    rx, ry = x - ax, y - ay
    t = xp.clip((rx * dx + ry * dy) * inv_len2, 0.0, 1.0)
    ex, ey = rx - t * dx, ry - t * dy
    return ex * ex + ey * ey


def ray_sector(heading, angle, n_sectors: int):
    """Compass sector of a ray, before truncation: a float in ``[0, 2 n_sectors]``.

    ``int(...) % n_sectors`` of it is the sector. Headings and sensor angles both lie within
    ``[-pi, pi]``, so their sum needs no (slow) floating-point remainder: shifting by a full
    turn makes it non-negative, and truncation then floors.
    """
    return (heading + angle) * (n_sectors / TWO_PI) + n_sectors


def ray_direction(cos_heading, sin_heading, cos_angle, sin_angle):
    """Unit direction of a sensor at ``angle`` from a car's heading: the fan turned by the heading."""
    return cos_heading * cos_angle - sin_heading * sin_angle, sin_heading * cos_angle + cos_heading * sin_angle


def ray_miss(px, py, ux, uy, ax, ay, dx, dy):
    """Ray ``p + t u`` against wall ``a + s d``: whether it misses, and ``t``.

    ``t = (q x d) / (u x d)``, ``s = (q x u) / (u x d)`` with ``q = a - p``. Walls keep the
    corridor on their left, so a ray meets one from the front, ``u x d > 0``; then the tests
    ``t >= 0`` and ``0 <= s <= 1`` need no division, and ``0 <= q x u <= u x d`` already
    excludes walls seen from behind. A ray parallel to a wall (``u x d == 0``) gets a ``t``
    beyond any range (the tiny shift keeps the quotient finite) unless it starts on the wall.
    """
    qx, qy = ax - px, ay - py
    denom = ux * dy - uy * dx
    num_t = qx * dy - qy * dx
    num_s = qx * uy - qy * ux
    miss = (num_t < 0.0) | (num_s < 0.0) | (num_s > denom)
    return miss, num_t / (denom + TINY)


def score(old_arc, new_arc, old_progress, old_checkpoint, old_stall, crashed, steps, c: dict, xp, int_dtype):
    """Progress along the centre line, checkpoints, reward and episode ends for one step.

    Parameters
    ----------
    old_arc, new_arc, old_progress, old_stall : arrays (n,) or floats
        Arc length of the projection before and after the step, distance driven and seconds
        since the last new checkpoint, before the step.
    old_checkpoint, steps : int arrays (n,) or ints
        Furthest checkpoint reached before the step; steps taken including this one.
    crashed : bool array (n,) or bool
    c : dict
        Constants from :func:`score_constants`.
    int_dtype
        The integer type of checkpoints: ``old_checkpoint.dtype``, or ``int`` for Python numbers.

    Returns
    -------
    progress, checkpoint, stall_clock, reward, terminated, truncated
    """
    length = c["length"]
    # The arc length wraps at the start line; a step never moves half a lap.
    moved = new_arc - old_arc + 0.5 * length
    delta = moved - length * xp.floor(moved / length) - 0.5 * length
    progress = old_progress + delta
    checkpoint = xp.maximum(old_checkpoint, xp.astype(xp.floor(progress / c["checkpoint_length"]), int_dtype))
    stall = (old_stall + c["dt"]) * (checkpoint == old_checkpoint)
    success = progress >= c["course_length"]
    reward = c["lap_reward"] * delta / length - c["crash_penalty"] * crashed
    terminated = crashed | success
    if c["stall_time"] is not None:
        terminated = terminated | (stall >= c["stall_time"])
    truncated = (steps >= c["max_episode_steps"]) & xp.logical_not(terminated)
    return progress, checkpoint, stall, reward, terminated, truncated


def episode_info(progress, lap_length: float, laps_target: int, xp):
    """Laps completed (a whole number, at most ``laps_target``), fraction of the course driven, success."""
    fraction = progress / (laps_target * lap_length)
    laps = xp.clip(xp.floor(progress / lap_length), 0, laps_target)
    return laps, fraction, fraction >= 1.0


def score_constants(settings, lap_length: float) -> dict:
    """The numbers :func:`score` needs, from a :class:`CarSettings` and the lap length in metres."""
    return {
        "length": lap_length,
        "checkpoint_length": lap_length / settings.n_checkpoints,
        "course_length": settings.laps * lap_length,
        "lap_reward": settings.lap_reward,
        "crash_penalty": settings.crash_penalty,
        "max_episode_steps": settings.max_episode_steps,
        "dt": settings.dt,
        # The stall clock sums dt step by step (140 * 0.05 falls a rounding error short of 7 s).
        "stall_time": None if settings.stall_time is None else settings.stall_time - 1e-9,
    }


# ------------------------------------------------------------------------------ batch functions
class StepTables(TypedDict):
    """The lookup tables the batch kernels read, one track's worth (built by ``annrl.envs.core``).

    ``M`` stations, ``w`` the tracking window, ``Kc`` crash and ``K1`` (+ ``K - K1``) ray candidates,
    ``cells = M * n_lanes * n_sectors``. Arrays are NumPy's, or another array-API namespace's.
    """

    stations: Any  #: (M, 7) float: columns SX, SY, DX, DY, LEN2, LENGTH, ARC (below)
    offsets: Any  #: (2 w + 1,) int: -w .. w, the stations a car may move by in one step
    wrapped_x: Any  #: (M + 2 w,) float, and the four below: station columns wrapped round the lap
    wrapped_y: Any
    wrapped_dx: Any
    wrapped_dy: Any
    wrapped_len2: Any
    window_rows: Any  #: (2 w + 1,) int: offsets + w, the rows of the wrapped columns
    lane_lo: Any  #: (M,) float: left edge of the first lane at each station, metres
    lane_width: Any  #: (M,) float
    n_lanes: int
    n_sectors: int
    crash_ax: Any  #: (M, Kc) float, and the four below: the wall segments within reach of each station
    crash_ay: Any
    crash_dx: Any
    crash_dy: Any
    crash_inv_len2: Any
    ray_ax: Any  #: (cells, K1) float, and the three below: the first ray candidates of every cell
    ray_ay: Any
    ray_dx: Any
    ray_dy: Any
    ray_count: Any  #: (cells,) int: the length of each cell's candidate list
    tail_ax: NotRequired[Any]  #: (cells, K - K1) float, and the three below: the rest, when some list is longer
    tail_ay: NotRequired[Any]
    tail_dx: NotRequired[Any]
    tail_dy: NotRequired[Any]
    tail_row: NotRequired[Any]  #: (cells,) int: each cell's row in ``tail_*``, when those hold only the long lists


def locate(x, y, station, tab: StepTables, window: int, cars: dict | None = None):
    """Track each car to the nearest centre-line segment within ``window`` of its last one.

    Parameters
    ----------
    x, y : arrays, shape (n,)
    station : int array, shape (n,)
        The previous station of each car.
    tab : StepTables
        Read: ``stations``, ``offsets``, ``window_rows`` and the ``wrapped_*`` columns.
    cars : dict of arrays, optional
        For cars on several tracks stacked in ``tab`` (``annrl.envs.core.TrackStack``): ``base``
        and ``m`` ``(n,)``, each car's first station and its track's station count; ``row0``
        ``(n,)``, the shift from a station to its row in the wrapped columns; ``far``
        ``(2 w + 1, n)`` or None, infinite for the offsets beyond a car's own track's window.

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
    # Rows of the wrapped columns, whose first and last ``window`` rows repeat the other end: no remainder.
    rows = station if cars is None else station + cars["row0"]
    near = rows[None, :] + tab["window_rows"][:, None]  # (W, n)
    d2 = _project_on(x, y, near, tab, xp)[3]
    if cars is not None and cars["far"] is not None:
        d2 = d2 + cars["far"]  # adding 0.0 changes nothing: the other distances stay exact
    best = xp.argmin(d2, axis=0)
    if cars is None:
        station = xp.remainder(station + xp.take(tab["offsets"], best), m)
    else:
        station = cars["base"] + xp.remainder(station - cars["base"] + xp.take(tab["offsets"], best), cars["m"])
    row = xp.take(tab["stations"], station, axis=0)  # (n, 7): one gather; strided columns of n values are fast
    dx, dy, length = row[:, DX], row[:, DY], row[:, LENGTH]
    t, rx, ry, _ = project(x, y, row[:, SX], row[:, SY], dx, dy, row[:, LEN2], xp)
    return station, row[:, ARC] + t * length, lateral_offset(rx, ry, dx, dy, length)


# Columns of the packed station table ``tab["stations"]``, shape (M, 7).
SX, SY, DX, DY, LEN2, LENGTH, ARC = range(7)


def _project_on(x, y, idx, tab, xp):
    """:func:`project` of the cars on the station segments ``idx``, ``(W, n)``."""
    flat = xp.reshape(idx, (-1,))

    def column(name):
        return xp.reshape(xp.take(tab[name], flat), idx.shape)

    return project(x, y, *(column(f"wrapped_{c}") for c in ("x", "y", "dx", "dy", "len2")), xp)


def lane_of(station, lateral, tab: StepTables):
    """Which of the ``n_lanes`` strips across the corridor each car is in; int array ``(n,)``."""
    xp = array_namespace(lateral)
    lane = lane_index(lateral, xp.take(tab["lane_lo"], station), xp.take(tab["lane_width"], station),
                      tab["n_lanes"], xp)
    return xp.astype(lane, station.dtype)


def wall_clearance(x, y, station, tab: StepTables):
    """Distance from each car's centre to the nearest wall, in metres.

    Only the wall segments listed for the car's station are examined; the tables guarantee
    that they include every segment within the car's reach.

    Returns
    -------
    array, shape (n,)
    """
    xp = array_namespace(x)
    k = tab["crash_ax"].shape[1]
    walls = (xp.take(tab[f"crash_{c}"], station, axis=0) for c in ("ax", "ay", "dx", "dy", "inv_len2"))
    d2 = segment_d2(_per_pair(x, k, xp), _per_pair(y, k, xp), *walls, xp)  # (n, Kc)
    return xp.sqrt(min_over_last_axis(d2))


def cast_rays(x, y, heading, station, lane, cos_angles, sin_angles, angles, max_range, tab: StepTables):
    """Distance from each car along each sensor ray to the first wall, capped at ``max_range``.

    Parameters
    ----------
    x, y, heading : arrays, shape (n,)
    station, lane : int arrays, shape (n,)
    cos_angles, sin_angles, angles : arrays, shape (n, r)
        Sensor directions relative to the heading (radians) and their cosines and sines.
    max_range : array, shape (n, 1)
        Longest distance each car's sensors report, in metres.
    tab : StepTables
        Read: ``ray_*`` (the first ``K1`` candidates of every (station, lane, sector) cell),
        ``tail_*`` when present, ``ray_count``, ``n_lanes``, ``n_sectors``.

    Returns
    -------
    array, shape (n, r)
        Distances in metres, in ``[0, max_range]``.
    """
    xp = array_namespace(x)
    n, r = angles.shape
    n_sectors = tab["n_sectors"]

    def per_ray(values):  # one row per ray, car-major: contiguous arrays broadcast fast
        return xp.repeat(values, r)

    def flat(values):
        return xp.reshape(values, (-1,))

    sector = xp.astype(ray_sector(per_ray(heading), flat(angles), n_sectors), station.dtype) % n_sectors
    cell = per_ray((station * tab["n_lanes"] + lane) * n_sectors) + sector
    dtype = tab["ray_ax"].dtype
    ux, uy = ray_direction(per_ray(xp.cos(heading)), per_ray(xp.sin(heading)), flat(cos_angles), flat(sin_angles))
    rays = tuple(xp.astype(v, dtype, copy=False) for v in (per_ray(x), per_ray(y), ux, uy))  # tables' precision
    dist = _nearest_hit(*rays, cell, tab["ray_ax"], tab["ray_ay"], tab["ray_dx"], tab["ray_dy"])
    if "tail_ax" in tab:
        dist = _with_tails(dist, rays, cell, tab)
    dist = xp.minimum(xp.astype(dist, max_range.dtype, copy=False), per_ray(flat(max_range)))
    return xp.reshape(dist, (n, r))


def _with_tails(dist, rays, cell, tab: StepTables):
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
    rows = xp.take(cell, picked)
    if "tail_row" in tab:  # stacked tracks keep only the rows of the cells that have a tail
        rows = xp.take(tab["tail_row"], rows)
    tail = _nearest_hit(*(xp.take(v, picked) for v in rays), rows,
                        tab["tail_ax"], tab["tail_ay"], tab["tail_dx"], tab["tail_dy"])
    tail = xp.concat([tail, xp.full((1,), FAR_T, dtype=tail.dtype)])
    rank = xp.cumulative_sum(xp.astype(long, picked.dtype)) - 1
    return xp.minimum(dist, xp.take(tail, xp.where(long, rank, picked.shape[0])))


def _nearest_hit(px, py, ux, uy, cell, ax, ay, dx, dy):
    """Distance along each ray to the nearest of its cell's candidate walls (``>= FAR_T`` when none).

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
    k = ax.shape[1]
    walls = (xp.take(v, cell, axis=0) for v in (ax, ay, dx, dy))
    miss, t = ray_miss(*(_per_pair(v, k, xp) for v in (px, py, ux, uy)), *walls)
    # A miss costs a distance beyond any range (maximum, not where: NumPy's where is slow here).
    return min_over_last_axis(xp.maximum(t, xp.astype(miss, t.dtype) * FAR_T))


def _per_pair(values, k: int, xp):
    """Each value of ``(m,)`` repeated along ``k`` candidates, ``(m, k)``: broadcasts are slow."""
    return xp.reshape(xp.repeat(values, k), (values.shape[0], k))


def min_over_last_axis(a):
    """Minimum over the last axis of a 2-D array ``(n, k)``; returns ``(n,)``.

    Reducing over a short last axis costs NumPy a loop per row, so the array is first copied
    transposed (reshaping a transposed view forces the copy) and reduced over its first axis.
    """
    xp = array_namespace(a)
    n, k = a.shape
    return xp.min(xp.reshape(xp.reshape(xp.permute_dims(a, (1, 0)), (-1,)), (k, n)), axis=0)


def wrapped_stations(stations, offsets) -> dict:
    """Derived tables for :func:`locate`: the station columns, wrapped round the lap.

    Parameters
    ----------
    stations : array, shape (M, 7)
        Start x, y, direction x, y, squared length, length, arc length of each station segment.
    offsets : int array, shape (2 w + 1,)
        ``-w .. w``.

    Returns
    -------
    dict of arrays
        ``wrapped_x``, ``wrapped_y``, ``wrapped_dx``, ``wrapped_dy``, ``wrapped_len2``, each
        ``(M + 2 w,)``: row ``w + i`` is station ``i``, and the ``w`` rows at either end repeat
        the stations across the start line, so station ``i + offset`` is row ``i + w + offset``;
        ``window_rows`` = ``offsets + w``.
    """
    xp = array_namespace(stations)
    w = (offsets.shape[0] - 1) // 2
    wrapped = xp.concat([stations[stations.shape[0] - w:, :], stations, stations[:w, :]], axis=0)
    out = {f"wrapped_{name}": xp.asarray(wrapped[:, i], copy=True) for i, name in enumerate(("x", "y", "dx", "dy",
                                                                                           "len2"))}
    out["window_rows"] = offsets + w
    return out
