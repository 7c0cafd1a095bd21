"""Lookup tables that let thousands of cars cast rays against a few walls each, not all of them.

The centre line is resampled into ``M`` stations about ``station_spacing`` metres apart, and
the corridor beside each station is cut into ``n_lanes`` strips. Every car knows its station
(the centre-line segment nearest to it) and its lane, so the physics only ever looks at:

* the stations in a small window around the previous one, to track progress;
* the wall segments near its station, to detect a crash (``crash_*`` tables, ``(M, Kc)``);
* for each ray, the wall segments that a ray from this station and lane pointing into this
  compass sector could reach (``ray_*`` tables, ``(M * n_lanes * n_sectors, K)``).

Culling never changes a distance, because a segment is dropped only when (a) no ray of the
sector from any point of the region reaches it within ``max_range`` (a separating-axis test
against the Minkowski sum of the region and the sector), (b) it faces away from every direction
of the sector, or (c) the whole region lies behind it. A ray from inside the corridor always
meets the first wall from the front, so back faces never matter. Short lists are padded by
repeating a candidate (the minimum over the list does not change) or, when empty, with a
segment far beyond any range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from annrl.envs import geometry
from annrl.envs.tracks import Track

FAR = 1.0e6  # metres: where padding segments live, beyond any sensor range
REGION_MARGIN = 1.0  # metres added around each station's region, for safety
VERTEX_OVERLAP = 1e-4  # metres by which ray-test walls overlap at their shared vertices


@dataclass(frozen=True, eq=False)
class TrackTables:
    """Arrays derived from a :class:`Track` for the vectorised physics (NumPy, float64).

    Attributes
    ----------
    length : float
        Length of the resampled centre line in metres.
    station_xy, station_dir : arrays, shape (M, 2)
        Station points and the vector from each to the next.
    station_len2, station_arc : arrays, shape (M,)
        Squared segment lengths and the arc length at each station.
    lane_lo, lane_width : arrays, shape (M,)
        Where lane 0 starts (signed distance left of the station segment) and each lane's width.
    start_station : int
    start_arc : float
    window : int
        Stations searched either side of the previous one when tracking a car.
    n_lanes, n_sectors : int
    ray_ax, ray_ay, ray_dx, ray_dy : arrays, shape (M * n_lanes * n_sectors, K)
        Candidate wall segments (start and direction), row ``(station * n_lanes + lane) *
        n_sectors + sector``; each row lists its candidates first, then repeats them.
    ray_count : int array, shape (M * n_lanes * n_sectors,)
        Number of distinct candidates in each row.
    crash_ax, crash_ay, crash_dx, crash_dy, crash_inv_len2 : arrays, shape (M, Kc)
        Wall segments within reach of each station's region.
    """

    length: float
    station_xy: np.ndarray
    station_dir: np.ndarray
    station_len2: np.ndarray
    station_arc: np.ndarray
    lane_lo: np.ndarray
    lane_width: np.ndarray
    start_station: int
    start_arc: float
    window: int
    n_lanes: int
    n_sectors: int
    ray_ax: np.ndarray
    ray_ay: np.ndarray
    ray_dx: np.ndarray
    ray_dy: np.ndarray
    ray_count: np.ndarray
    crash_ax: np.ndarray
    crash_ay: np.ndarray
    crash_dx: np.ndarray
    crash_dy: np.ndarray
    crash_inv_len2: np.ndarray

    @property
    def n_stations(self) -> int:
        return len(self.station_xy)


def build_tables(
    track: Track,
    *,
    max_range: float,
    reach: float,
    max_step: float,
    station_spacing: float = 1.0,
    n_lanes: int = 3,
    n_sectors: int = 24,
) -> TrackTables:
    """Tables for cars whose rays reach ``max_range`` and whose bodies reach ``reach`` metres.

    Cached on the track per argument set, because every environment on a track shares them.

    Parameters
    ----------
    max_range : float
        Longest sensor ray in metres.
    reach : float
        Crash-test radius in metres (the car's radius).
    max_step : float
        Largest distance a car moves in one step; it sizes the tracking window.
    station_spacing : float, default=1.0
        Metres between stations.
    n_lanes, n_sectors : int, default=3, 24
        Strips across the corridor and compass sectors: more give shorter candidate lists.
    """
    key = (float(max_range), float(reach), float(max_step), float(station_spacing), n_lanes, n_sectors)
    if key not in track._cache:
        track._cache[key] = _build(track, *key)
    return track._cache[key]


def _build(track: Track, max_range, reach, max_step, spacing, n_lanes, n_sectors) -> TrackTables:
    m = max(16, round(track.length / spacing))
    xy = geometry.resample(track.centre, m)
    step = np.roll(xy, -1, axis=0) - xy
    seg_len = np.hypot(*step.T)
    arc = np.concatenate([[0.0], np.cumsum(seg_len)[:-1]])
    a, b = track.wall_segments()
    frame = _Frames(xy, step, a, b)
    boxes = frame.lane_boxes(n_lanes, REGION_MARGIN)
    near = _SeparatingAxes(*boxes, a, b, pairs=_near(boxes[0], a, b, max_range))
    lanes = _SeparatingAxes(*boxes, a, b, pairs=near.dense(near.in_front()))
    keep = np.stack([lanes.dense(_ray_candidates(lanes, max_range, n_sectors, s)) for s in range(n_sectors)], axis=1)
    # Rays meet walls lengthened by a hair, so no rounding error lets one slip between two.
    hair = VERTEX_OVERLAP * (b - a) / np.hypot(*(b - a).T)[:, None]
    ray_tab = _pad(keep.reshape(-1, len(a)), a - hair, b + hair)  # rows: station, lane, sector
    boxes = frame.lane_boxes(1, REGION_MARGIN + reach + max_step)
    crash = _SeparatingAxes(*boxes, a, b, pairs=_near(boxes[0], a, b, 0.0))
    crash_tab = _pad(crash.dense(crash.meets(np.zeros((1, 2)), np.zeros((0, 2)))), a, b)
    start_station, start_arc = _project(np.array(track.start[:2]), xy, step, arc)
    return TrackTables(
        length=float(seg_len.sum()),
        station_xy=xy,
        station_dir=step,
        station_len2=seg_len**2,
        station_arc=arc,
        lane_lo=-frame.right,
        lane_width=(frame.left + frame.right) / n_lanes,
        start_station=start_station,
        start_arc=start_arc,
        window=int(math.ceil(max_step / seg_len.min())) + 1,
        n_lanes=n_lanes,
        n_sectors=n_sectors,
        ray_ax=ray_tab[0],
        ray_ay=ray_tab[1],
        ray_dx=ray_tab[2],
        ray_dy=ray_tab[3],
        ray_count=keep.reshape(-1, len(a)).sum(axis=1),
        crash_ax=crash_tab[0],
        crash_ay=crash_tab[1],
        crash_dx=crash_tab[2],
        crash_dy=crash_tab[3],
        crash_inv_len2=1.0 / (crash_tab[2] ** 2 + crash_tab[3] ** 2),
    )


def _project(point: np.ndarray, xy: np.ndarray, step: np.ndarray, arc: np.ndarray) -> tuple[int, float]:
    """Nearest station segment to a point and the arc length of its projection."""
    t = np.clip(((point - xy) * step).sum(1) / (step * step).sum(1), 0.0, 1.0)
    d = np.hypot(*(xy + t[:, None] * step - point).T)
    j = int(np.argmin(d))
    return j, float(arc[j] + t[j] * math.hypot(*step[j]))


class _Frames:
    """Each station's frame and the extent of its region: the cars whose nearest segment it is.

    The region spans the segment lengthwise and the corridor crosswise (half widths measured
    along the normals at both ends), plus the fan at each end where a car sits beside the
    vertex rather than beside the segment.
    """

    def __init__(self, xy, step, a, b):
        seg_len = np.hypot(*step.T)
        self.xy = xy
        self.t = step / seg_len[:, None]
        self.n = np.column_stack([-self.t[:, 1], self.t[:, 0]])
        half_left = geometry.first_hit(xy, self.n, a, b)
        half_right = geometry.first_hit(xy, -self.n, a, b)
        self.left = np.maximum(half_left, np.roll(half_left, -1))
        self.right = np.maximum(half_right, np.roll(half_right, -1))
        prev = np.roll(self.t, 1, axis=0)
        turn = np.abs(np.arctan2(prev[:, 0] * self.t[:, 1] - prev[:, 1] * self.t[:, 0], np.sum(prev * self.t, axis=1)))
        self.fan = np.maximum(self.left, self.right) * np.maximum(turn, np.roll(turn, -1))
        self.seg_len = seg_len

    def lane_boxes(self, n_lanes: int, grow: float) -> tuple[np.ndarray, np.ndarray]:
        """Rectangles around the lanes of every station, widened by ``grow`` metres.

        Returns
        -------
        corners : array, shape (M * n_lanes, 4, 2)
        axes : array, shape (M * n_lanes, 2, 2)
            The rectangles' edge directions.
        """
        g = self.fan + grow
        along = np.stack([-g, self.seg_len + g], axis=1)  # (M, 2)
        edges = -self.right[:, None] + (self.left + self.right)[:, None] * np.arange(n_lanes + 1) / n_lanes
        across = np.stack([edges[:, :-1] - g[:, None], edges[:, 1:] + g[:, None]], axis=2)  # (M, L, 2)
        corners = (
            self.xy[:, None, None, None, :]
            + along[:, None, :, None, None] * self.t[:, None, None, None, :]
            + across[:, :, None, :, None] * self.n[:, None, None, None, :]
        )  # (M, L, along, across, 2)
        axes = np.repeat(np.stack([self.t, self.n], axis=1), n_lanes, axis=0)
        return corners.reshape(-1, 4, 2), axes


class _SeparatingAxes:
    """Which wall segments meet the Minkowski sum of each region rectangle and a small shape.

    The separating-axis theorem decides it exactly for convex shapes once the axes include every
    edge normal of both shapes and the segment's normal. The support of a Minkowski sum along an
    axis is the sum of the supports, so the rectangle-versus-segment projections are computed
    once per track and only the small shape changes from one sector to the next. Only the
    (region, segment) pairs in ``pairs`` are examined; the others count as apart.
    """

    def __init__(self, corners: np.ndarray, axes: np.ndarray, a: np.ndarray, b: np.ndarray, pairs: np.ndarray):
        # Reductions run over region or segment arrays, then are gathered per pair: NumPy reduces
        # short axes slowly, so per-pair arrays are kept one-dimensional, one per column.
        self.shape = (len(corners), len(a))
        self.reg, self.seg = reg, seg = np.nonzero(pairs)
        self.corners, self.axes, self.a, self.b = corners, axes, a, b
        self.normal = _inward_normals(a, b)
        self.level = np.sum(self.normal * a, axis=1)[seg]  # (P,)
        c, n = corners[reg], self.normal[seg]
        on_normal = [c[:, i, 0] * n[:, 0] + c[:, i, 1] * n[:, 1] for i in range(4)]
        self.corner_lo_n, self.corner_hi_n = _fold(np.minimum, on_normal), _fold(np.maximum, on_normal)
        on_rect = np.einsum("mck,mak->mac", corners, axes)
        self.corner_lo_r, self.corner_hi_r = on_rect.min(axis=2), on_rect.max(axis=2)  # (R, 2)
        self.seg_lo_r, self.seg_hi_r = [], []
        for i in range(2):  # the rectangles' two edge directions
            ax = axes[reg, i]
            pa, pb = ax[:, 0] * a[seg, 0] + ax[:, 1] * a[seg, 1], ax[:, 0] * b[seg, 0] + ax[:, 1] * b[seg, 1]
            self.seg_lo_r.append(np.minimum(pa, pb))
            self.seg_hi_r.append(np.maximum(pa, pb))

    def dense(self, values: np.ndarray) -> np.ndarray:
        """Per-pair booleans ``(P,)`` as a ``(regions, segments)`` array, False elsewhere."""
        out = np.zeros(self.shape, dtype=bool)
        out[self.reg, self.seg] = values
        return out

    def in_front(self) -> np.ndarray:
        """Some point of the region lies on the corridor side of the wall line; bool (P,)."""
        return self.corner_hi_n > self.level

    def meets(self, shape: np.ndarray, shape_axes: np.ndarray) -> np.ndarray:
        """Pairs whose segment meets region (+) ``shape`` (F, 2), edge normals ``shape_axes`` (Q, 2).

        Returns
        -------
        bool array, shape (P,)
        """
        reg, seg = self.reg, self.seg
        on_rect = np.einsum("fk,mak->maf", shape, self.axes)  # (R, 2, F)
        lo = self.corner_lo_r + on_rect.min(axis=2)
        hi = self.corner_hi_r + on_rect.max(axis=2)
        apart = np.zeros(len(reg), dtype=bool)
        for i in range(2):
            apart |= (self.seg_hi_r[i] < lo[reg, i]) | (self.seg_lo_r[i] > hi[reg, i])
        shape_n = shape @ self.normal.T  # (F, S)
        apart |= self.corner_hi_n + shape_n.max(axis=0)[seg] < self.level
        apart |= self.corner_lo_n + shape_n.min(axis=0)[seg] > self.level
        if len(shape_axes):
            seg_a, seg_b = self.a @ shape_axes.T, self.b @ shape_axes.T  # (S, Q)
            seg_lo, seg_hi = np.minimum(seg_a, seg_b), np.maximum(seg_a, seg_b)
            hull = np.einsum("mck,qk->mqc", self.corners, shape_axes)  # (R, Q, 4)
            own = shape @ shape_axes.T  # (F, Q)
            lo = hull.min(axis=2) + own.min(axis=0)
            hi = hull.max(axis=2) + own.max(axis=0)
            for q in range(len(shape_axes)):
                apart |= (seg_hi[seg, q] < lo[reg, q]) | (seg_lo[seg, q] > hi[reg, q])
        return ~apart


def _fold(op, arrays: list[np.ndarray]) -> np.ndarray:
    out = arrays[0]
    for x in arrays[1:]:
        out = op(out, x)
    return out


def _near(corners: np.ndarray, a: np.ndarray, b: np.ndarray, distance: float) -> np.ndarray:
    """Segments within ``distance`` of a disc around each rectangle: a cheap first cut; (R, S)."""
    centre = corners.mean(axis=1)
    radius = np.max(np.hypot(*(corners - centre[:, None, :]).transpose(2, 0, 1)), axis=1)
    return geometry.distance_to_segments(centre, a, b) <= (radius + distance)[:, None]


def _ray_candidates(regions: _SeparatingAxes, max_range: float, n_sectors: int, sector: int) -> np.ndarray:
    """For one compass sector: which (region, segment) pairs a ray could join; bool (P,)."""
    lo = 2 * math.pi * sector / n_sectors
    hi = 2 * math.pi * (sector + 1) / n_sectors
    # The sector of a disc, enclosed by a polygon whose chords touch the arc from outside.
    n_chords = 4
    half = (hi - lo) / (2 * n_chords)
    angles = np.linspace(lo, hi, n_chords + 1)
    rim = (max_range / math.cos(half)) * np.column_stack([np.cos(angles), np.sin(angles)])
    fan = np.vstack([[0.0, 0.0], rim])
    mids = lo + half * (2 * np.arange(n_chords) + 1)
    fan_axes = np.vstack([
        np.column_stack([np.cos(mids), np.sin(mids)]),
        [[-math.sin(lo), math.cos(lo)], [-math.sin(hi), math.cos(hi)]],
    ])
    facing = _min_cos_over_sector(np.arctan2(regions.normal[:, 1], regions.normal[:, 0]), lo, hi) < 0
    return regions.meets(fan, fan_axes) & facing[regions.seg]


def _inward_normals(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unit normals pointing into the corridor (walls keep the corridor on their left)."""
    d = b - a
    return np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(*d.T)[:, None]


def _min_cos_over_sector(normal_angle: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Smallest ``cos(angle - normal_angle)`` over ray angles in ``[lo, hi]``, per segment."""
    opposite = np.mod(normal_angle + math.pi - lo, 2 * math.pi) <= hi - lo
    edge = np.minimum(np.cos(lo - normal_angle), np.cos(hi - normal_angle))
    return np.where(opposite, -1.0, edge)


def _pad(keep: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """Candidate lists as four ``(rows, K)`` tables: start x, start y, direction x, direction y.

    Row ``i`` lists the segments where ``keep[i]`` is True, repeated cyclically up to the longest
    list's length ``K``; an empty row gets a segment far beyond any range.
    """
    rows, cols = np.nonzero(keep)  # row-major: each row's candidates are contiguous in cols
    count = np.bincount(rows, minlength=len(keep))
    k = max(1, int(count.max()))
    first = np.cumsum(count) - count
    slot = first[:, None] + np.arange(k)[None, :] % np.maximum(count, 1)[:, None]
    idx = cols[np.minimum(slot, max(len(cols) - 1, 0))] if len(cols) else np.zeros((len(keep), k), dtype=int)
    starts, dirs = a[idx], b[idx] - a[idx]
    empty = count == 0
    starts[empty] = FAR
    dirs[empty] = (1.0, 0.0)
    return starts[..., 0].copy(), starts[..., 1].copy(), dirs[..., 0].copy(), dirs[..., 1].copy()
