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
    """Shoelace area of a closed polyline: positive when it turns counter-clockwise."""
    a, b = segments(poly)
    return 0.5 * float(np.sum(a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1]))


def length(poly: np.ndarray) -> float:
    """Perimeter of a closed polyline."""
    a, b = segments(poly)
    return float(np.sum(np.hypot(*(b - a).T)))


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def crossing_pairs(a0, a1, b0, b1) -> np.ndarray:
    """Which segments ``a0->a1`` (n) touch or cross which segments ``b0->b1`` (m).

    Returns
    -------
    hits : bool array, shape (n, m)
        True where the two closed segments share at least one point.
    """
    p, r = a0[:, None, :], (a1 - a0)[:, None, :]
    q, s = b0[None, :, :], (b1 - b0)[None, :, :]
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


def self_crossing(poly: np.ndarray) -> tuple[int, int] | None:
    """The first pair of non-neighbouring segments of a closed polyline that touch, or None."""
    a, b = segments(poly)
    hits = crossing_pairs(a, b, a, b)
    n = len(poly)
    idx = np.arange(n)
    hits[idx, idx] = False
    hits[idx, (idx + 1) % n] = False
    hits[(idx + 1) % n, idx] = False
    i, j = np.nonzero(np.triu(hits))
    return (int(i[0]), int(j[0])) if len(i) else None


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
    """``count`` points spaced evenly by arc length along a closed polyline, starting at point 0."""
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
