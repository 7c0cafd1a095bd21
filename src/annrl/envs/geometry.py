"""Plane geometry on closed polylines, in NumPy: the offline half of the car environment.

Everything here runs once per track (validation, resampling, lookup tables), never inside
``step``, so it is plain NumPy. A closed polyline is an array ``(n, 2)`` whose last point joins
the first; segment ``i`` runs from point ``i`` to point ``i + 1 (mod n)``.
"""

from __future__ import annotations

import numpy as np


def segments(poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the segments of a closed polyline.

    Parameters
    ----------
    poly : array, shape (n, 2)

    Returns
    -------
    starts, ends : arrays, shape (n, 2)
    """
    return poly, np.roll(poly, -1, axis=0)


def signed_area(poly: np.ndarray) -> float:
    """Shoelace area of a closed polyline: positive when it turns counter-clockwise.

    Parameters
    ----------
    poly : ndarray of shape (n, 2)
        The points, the last joined back to the first.

    Returns
    -------
    float
        The area, in square units of ``poly``.
    """
    a, b = segments(poly)
    return 0.5 * float(np.sum(a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1]))


def length(poly: np.ndarray) -> float:
    """Perimeter of a closed polyline.

    Parameters
    ----------
    poly : ndarray of shape (n, 2)
        The points, the last joined back to the first.

    Returns
    -------
    float
    """
    a, b = segments(poly)
    return float(np.sum(np.hypot(*(b - a).T)))


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _meet(p, r, q, s) -> np.ndarray:
    """Elementwise: do the closed segments ``p -> p + r`` and ``q -> q + s`` share a point?

    Arrays ``(..., 2)`` that broadcast together; returns bool ``(...)``.
    """
    denom = _cross(r, s)
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = _cross(qp, s) / denom
        u = _cross(qp, r) / denom
    proper = (denom != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    # Parallel segments meet only when collinear and their projections overlap.
    collinear = (denom == 0) & (_cross(qp, r) == 0)
    rr = np.maximum(np.sum(r * r, axis=-1), 1e-300)
    t0 = np.sum(qp * r, axis=-1) / rr
    t1 = t0 + np.sum(s * r, axis=-1) / rr
    overlap = collinear & (np.maximum(t0, t1) >= 0) & (np.minimum(t0, t1) <= 1)
    return proper | overlap


def crossing_pairs(a0, a1, b0, b1) -> np.ndarray:
    """Which segments ``a0->a1`` (n) touch or cross which segments ``b0->b1`` (m).

    Builds ``(n, m)`` arrays: for short lists; :func:`first_meeting` scales to long ones.

    Returns
    -------
    hits : bool array, shape (n, m)
        True where the two closed segments share at least one point.
    """
    return _meet(a0[:, None, :], (a1 - a0)[:, None, :], b0[None, :, :], (b1 - b0)[None, :, :])


def point_segment_distance(points, a, b) -> np.ndarray:
    """Elementwise distance from ``points`` to the segments ``a -> b`` (arrays ``(..., 2)`` that broadcast)."""
    d = b - a
    t = np.clip(np.sum((points - a) * d, axis=-1) / np.maximum(np.sum(d * d, axis=-1), 1e-300), 0.0, 1.0)
    return np.hypot(*np.moveaxis(points - a - t[..., None] * d, -1, 0))


def near_pairs(a0, a1, b0, b1, pad: float = 0.0, *, chunk: int = 1 << 20):
    """Pairs ``(i, j)`` of segments ``a0->a1`` and ``b0->b1`` that may lie within ``pad`` of each other.

    A superset of the true pairs, found on a grid rather than by testing all ``n * m``: each
    segment is cut into pieces no longer than a cell, every piece is filed under the cells its
    box (grown by ``pad / 2``) covers, and segments sharing a cell are paired. Cells are at least
    as large as the median segment and as ``pad``, so a piece covers at most 3 x 3 cells and the
    memory stays linear in the segments plus the pairs of one chunk.

    Yields
    ------
    i, j : int arrays, shape (k,)
        At most about ``chunk`` pairs at a time; a pair may come twice.
    """
    lengths = np.hypot(*np.vstack([a1 - a0, b1 - b0]).T)
    points = np.vstack([a0, a1, b0, b1])
    extent = float(np.max(points.max(axis=0) - points.min(axis=0))) or 1.0
    cell = max(float(np.median(lengths)), pad, extent / 4096.0, 1e-9)
    origin = points.min(axis=0) - pad - cell
    keys_a, idx_a = _file_pieces(a0, a1, cell, 0.5 * pad, origin)
    keys_b, idx_b = _file_pieces(b0, b1, cell, 0.5 * pad, origin)
    order = np.argsort(keys_b, kind="stable")
    keys_b, idx_b = keys_b[order], idx_b[order]
    lo = np.searchsorted(keys_b, keys_a, "left")
    count = np.searchsorted(keys_b, keys_a, "right") - lo
    ends = np.cumsum(count)
    start = 0
    while start < len(keys_a):  # chunks of A-pieces whose pairs number about `chunk`
        stop = max(start + 1, int(np.searchsorted(ends, (ends[start - 1] if start else 0) + chunk, "right")))
        c = count[start:stop]
        rep = np.repeat(np.arange(start, stop), c)
        offset = np.arange(len(rep)) - np.repeat(np.cumsum(c) - c, c)
        pairs = np.sort(idx_a[rep].astype(np.int64) * (len(b0) + 1) + idx_b[lo[rep] + offset])
        pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])] if len(pairs) else pairs  # np.unique: slower
        yield pairs // (len(b0) + 1), pairs % (len(b0) + 1)
        start = stop


def _file_pieces(a, b, cell, grow, origin) -> tuple[np.ndarray, np.ndarray]:
    """Grid cells (as int64 keys) covered by the pieces of each segment, and the segment of each."""
    pieces = np.maximum(np.ceil(np.hypot(*(b - a).T) / cell).astype(np.int64), 1)
    seg = np.repeat(np.arange(len(a)), pieces)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    f0, f1 = (k / pieces[seg])[:, None], ((k + 1) / pieces[seg])[:, None]
    p, q = a[seg] + f0 * (b - a)[seg], a[seg] + f1 * (b - a)[seg]
    lo = np.floor((np.minimum(p, q) - grow - origin) / cell).astype(np.int64)
    hi = np.floor((np.maximum(p, q) + grow - origin) / cell).astype(np.int64)
    keys, owners = [], []
    for dx in range(3):  # a piece's grown box spans at most 3 cells per axis
        for dy in range(3):
            cx, cy = lo[:, 0] + dx, lo[:, 1] + dy
            ok = (cx <= hi[:, 0]) & (cy <= hi[:, 1])
            keys.append(cx[ok] * (1 << 31) + cy[ok])
            owners.append(seg[ok])
    return np.concatenate(keys), np.concatenate(owners)


def first_meeting(a0, a1, b0, b1, *, skip=None) -> tuple[int, int] | None:
    """The first pair ``(i, j)`` (smallest ``i``, then ``j``) of segments that touch or cross, or None.

    Memory linear in the number of segments (see :func:`near_pairs`). ``skip(i, j)`` may mark
    pairs to ignore (bool arrays), e.g. neighbours along one polyline.
    """
    best = None
    for i, j in near_pairs(a0, a1, b0, b1):
        hit = _meet(a0[i], a1[i] - a0[i], b0[j], b1[j] - b0[j])
        if skip is not None:
            hit &= ~skip(i, j)
        if hit.any():
            k = np.lexsort((j[hit], i[hit]))[0]
            pair = (int(i[hit][k]), int(j[hit][k]))
            best = pair if best is None else min(best, pair)
    return best


def self_crossing(poly: np.ndarray) -> tuple[int, int] | None:
    """The first pair ``i < j`` of non-neighbouring segments of a closed polyline that touch, or None.

    Parameters
    ----------
    poly : ndarray of shape (n, 2)
        The points; segment ``i`` joins point ``i`` to point ``i + 1`` (the last to point 0).

    Returns
    -------
    tuple of int, or None
        The indices ``(i, j)`` of the two segments, or None when the polyline is simple.
    """
    a, b = segments(poly)
    n = len(poly)

    def neighbours(i, j):
        return (i >= j) | (j == i + 1) | ((i == 0) & (j == n - 1))

    return first_meeting(a, b, a, b, skip=neighbours)


def closest_approach(points_a, points_b, wall_a, wall_b, pad: float) -> tuple[float, int]:
    """The shortest distance below ``pad`` from segments ``points_a -> points_b`` to wall segments.

    Assumes no segment crosses a wall. Returns ``(distance, i)`` with ``i`` the segment that comes
    closest, or ``(inf, -1)`` when none comes within ``pad``. Memory linear (see :func:`near_pairs`).
    """
    best, where = np.inf, -1
    for i, j in near_pairs(points_a, points_b, wall_a, wall_b, pad):
        p0, p1, q0, q1 = points_a[i], points_b[i], wall_a[j], wall_b[j]
        d = np.minimum.reduce([point_segment_distance(p0, q0, q1), point_segment_distance(p1, q0, q1),
                               point_segment_distance(q0, p0, p1), point_segment_distance(q1, p0, p1)])
        if len(d) and d.min() < best:
            best, where = float(d.min()), int(i[np.argmin(d)])
    return (best, where) if best < pad else (np.inf, -1)


def inside(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd test: which points lie strictly inside a closed polyline.

    Parameters
    ----------
    points : array, shape (p, 2)
    poly : array, shape (n, 2)

    Returns
    -------
    bool array, shape (p,)
    """
    a, b = segments(poly)
    rows = max(1, (1 << 22) // max(len(poly), 1))  # points per pass: memory bounded, not (p, n) at once
    if len(points) > rows:
        return np.concatenate([inside(points[k : k + rows], poly) for k in range(0, len(points), rows)])
    px, py = points[:, None, 0], points[:, None, 1]
    straddles = (a[None, :, 1] > py) != (b[None, :, 1] > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = a[None, :, 0] + (py - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / (
            b[None, :, 1] - a[None, :, 1]
        )
    return (np.count_nonzero(straddles & (px < x_cross), axis=1) % 2) == 1


def distance_to_segments(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance from each point to each segment ``a->b``.

    Returns
    -------
    array, shape (p, n)
    """
    d = b - a
    dd = np.maximum(np.sum(d * d, axis=1), 1e-300)
    rel = points[:, None, :] - a[None, :, :]
    t = np.clip(np.sum(rel * d[None], axis=2) / dd, 0.0, 1.0)
    nearest = a[None] + t[..., None] * d[None]
    return np.hypot(*(points[:, None, :] - nearest).transpose(2, 0, 1))


def resample(poly: np.ndarray, count: int) -> np.ndarray:
    """``count`` points spaced evenly by arc length along a closed polyline, starting at point 0.

    Parameters
    ----------
    poly : ndarray of shape (n, 2)
        The points, the last joined back to the first.
    count : int
        Number of points returned.

    Returns
    -------
    ndarray of shape (count, 2)
    """
    a, b = segments(poly)
    seg_len = np.hypot(*(b - a).T)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    s = np.linspace(0.0, cum[-1], count, endpoint=False)
    closed = np.vstack([poly, poly[:1]])
    return np.column_stack([np.interp(s, cum, closed[:, 0]), np.interp(s, cum, closed[:, 1])])


def first_hit(origins: np.ndarray, directions: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance along each unit ray to the nearest segment it meets (inf when none).

    A brute-force reference (every ray against every segment) used offline and by the tests.

    Parameters
    ----------
    origins, directions : arrays, shape (k, 2)
    a, b : arrays, shape (n, 2)
        Segment ends.

    Returns
    -------
    array, shape (k,)
    """
    d = (b - a)[None]
    q = a[None] - origins[:, None, :]
    u = directions[:, None, :]
    denom = _cross(u, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = _cross(q, d) / denom
        s = _cross(q, u) / denom
    hit = (t >= 0) & (s >= 0) & (s <= 1)
    return np.min(np.where(hit, t, np.inf), axis=1)
