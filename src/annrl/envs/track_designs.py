"""How tracks are made: a centre line from straight and circular pieces, or a random closed curve.

The shipped tracks in ``annrl/data/tracks/*.json`` were written by :func:`shipped_tracks`
(``python -m annrl.envs.track_designs DIR`` writes them again); from then on the JSON files are
the source of truth. :func:`random_track` makes a fresh valid track from a seeded generator.

Walls are offsets of the centre line by half the track width along its normals, so a design
is only valid while its tightest centre-line radius exceeds that half width; :class:`Track`
checks the result anyway.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from annrl.envs.tracks import Track
from annrl.errors import InputError

ARC_STEP_DEG = 15.0  # heading change between wall vertices on curves: fewer vertices, faster rays
CENTRE_STEP_DEG = 3.0  # finer for the centre line, along which progress is measured


def centre_from_pieces(pieces: list[tuple], *, arc_step_deg: float | None = None) -> np.ndarray:
    """A closed centre line drawn like a turtle, starting at the origin heading along +x.

    Parameters
    ----------
    pieces : list of tuples
        ``("straight", length_m)`` or ``("arc", radius_m, angle_deg)``; a positive angle turns
        left (counter-clockwise).

    Returns
    -------
    array, shape (n, 2)
        The vertices (the polyline closes on itself; the last piece must end at the origin).
    """
    x, y, heading = 0.0, 0.0, 0.0
    points = []
    for piece in pieces:
        if piece[0] == "straight":
            points.append((x, y))
            x += piece[1] * math.cos(heading)
            y += piece[1] * math.sin(heading)
            continue
        _, radius, angle_deg = piece
        turn = math.radians(angle_deg)
        side = math.copysign(1.0, turn)
        cx, cy = x - side * radius * math.sin(heading), y + side * radius * math.cos(heading)
        n = max(1, math.ceil(abs(angle_deg) / (arc_step_deg or ARC_STEP_DEG)))
        for k in range(n):
            h = heading + turn * k / n
            points.append((cx + side * radius * math.sin(h), cy - side * radius * math.cos(h)))
        heading += turn
        x, y = cx + side * radius * math.sin(heading), cy - side * radius * math.cos(heading)
    if math.hypot(x, y) > 1e-6 or abs(math.remainder(heading, 2 * math.pi)) > 1e-9:
        raise InputError(f"pieces must close the loop, ended at ({x:.3f}, {y:.3f}) heading {heading:.3f} rad")
    return np.array(points)


def track_from_centre(name: str, centre: np.ndarray, width: float, *, coarse: np.ndarray | None = None,
                      **meta) -> Track:
    """Walls at ``width / 2`` either side of a closed centre line; the car starts at vertex 0.

    Parameters
    ----------
    centre : array, shape (n, 2)
        The centre line as stored (fine, for smooth progress).
    coarse : array, shape (m, 2), optional
        A coarser polyline of the same curve to offset into walls (fewer wall segments make
        faster rays); ``centre`` itself by default.
    """
    coarse = centre if coarse is None else coarse
    left, right = _offsets(coarse, 0.5 * width)
    ccw = Track.signed_area_of(centre) > 0
    inner, outer = (left, right) if ccw else (right, left)
    tangent = centre[1] - centre[-1]
    heading = math.atan2(tangent[1], tangent[0])
    return Track.from_dict(
        {
            "name": name,
            "width": width,
            **meta,
            "start": {"x": float(centre[0, 0]), "y": float(centre[0, 1]), "heading_deg": math.degrees(heading)},
            "centre": centre.round(3).tolist(),
            "inner": inner.round(3).tolist(),
            "outer": outer.round(3).tolist(),
        },
        source=f"<design {name}>",
    )


def _offsets(poly: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """The polyline moved ``distance`` to its left and to its right along its vertex normals."""
    tangent = np.roll(poly, -1, axis=0) - np.roll(poly, 1, axis=0)
    tangent /= np.hypot(*tangent.T)[:, None]
    # Vertices of a polyline inscribed in an arc have the arc's exact normal at the vertex.
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    return poly + distance * normal, poly - distance * normal


def _designed(name: str, pieces: list[tuple], width: float, **meta) -> Track:
    fine = centre_from_pieces(pieces, arc_step_deg=CENTRE_STEP_DEG)
    return track_from_centre(name, fine, width, coarse=centre_from_pieces(pieces), **meta)


def shipped_tracks() -> list[Track]:
    """The four tracks of rising difficulty that ship with annrl."""
    s, a = "straight", "arc"
    oval = [(s, 80), (a, 32, 180), (s, 80), (a, 32, 180)]
    rect = [(s, 90), (a, 14, 90), (s, 50), (a, 14, 90)] * 2
    s_bends = [(s, 40), (a, 20, 90), (a, 14, -90), (a, 14, 90), (a, 14, -90), (a, 14, 90), (a, 20, 90)] * 2
    hairpins = [(s, 100), (a, 10, 180), (s, 70), (a, 10, -180), (s, 70), (a, 10, 180), (s, 100), (a, 30, 180)]
    return [
        _designed("oval", oval, 14.0, difficulty=1, description="Two straights and two wide bends."),
        _designed("rounded_rectangle", rect, 12.0, difficulty=2,
                  description="Long straights into four tight 90 degree corners."),
        _designed("s_bends", s_bends, 10.0, difficulty=3, description="Left and right bends linked without straights."),
        _designed("hairpins", hairpins, 8.0, difficulty=4,
                  description="A narrow meander with three 180 degree hairpins; brake or crash."),
    ]


def random_track(rng: np.random.Generator, *, width: float | None = None, max_tries: int = 200) -> Track:
    """A valid closed track drawn from ``rng``: a wobbly loop of random size and width.

    The centre line is ``r(theta) = r0 (1 + sum_k a_k cos(k theta + phi_k))`` for k = 2..4,
    redrawn until its tightest radius leaves room for the walls and :class:`Track` accepts it.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same track.
    width : float, optional
        Track width in metres; drawn from [8, 14] when omitted.
    """
    for _ in range(max_tries):
        w = float(rng.uniform(8.0, 14.0)) if width is None else float(width)
        r0 = float(rng.uniform(45.0, 80.0))
        amps = rng.uniform(0.0, 0.12, size=3)
        phases = rng.uniform(0.0, 2 * math.pi, size=3)
        theta = np.linspace(0.0, 2 * math.pi, 1440, endpoint=False)
        k = np.arange(2, 5)[:, None]
        r = r0 * (1.0 + np.sum(amps[:, None] * np.cos(k * theta + phases[:, None]), axis=0))
        dense = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
        if _tightest_radius(dense) < 0.5 * w + 3.0:
            continue
        try:
            return track_from_centre("random", _thin(dense, CENTRE_STEP_DEG), w, coarse=_thin(dense), difficulty=0,
                                     description="Seeded random track.")
        except ValueError:
            continue
    raise InputError(f"random_track: no valid track after {max_tries} tries with width {width}")


def _thin(dense: np.ndarray, max_turn_deg: float = ARC_STEP_DEG, max_length: float = 30.0) -> np.ndarray:
    """Keep a vertex each time the curve has turned ``max_turn_deg`` or run ``max_length`` metres.

    Fewer, longer wall segments keep the ray candidate lists short.
    """
    step = np.roll(dense, -1, axis=0) - dense
    heading = np.unwrap(np.arctan2(step[:, 1], step[:, 0]))
    length = np.hypot(*step.T)
    keep, turned, run = [0], 0.0, 0.0
    for i in range(1, len(dense)):
        turned += abs(heading[i] - heading[i - 1])
        run += length[i - 1]
        if turned >= math.radians(max_turn_deg) or run >= max_length:
            keep.append(i)
            turned, run = 0.0, 0.0
    return dense[keep]


def _tightest_radius(centre: np.ndarray) -> float:
    """Smallest radius of the circles through three consecutive vertices."""
    a, b, c = np.roll(centre, 1, axis=0), centre, np.roll(centre, -1, axis=0)
    ab, bc, ca = np.hypot(*(b - a).T), np.hypot(*(c - b).T), np.hypot(*(a - c).T)
    twice_area = np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    with np.errstate(divide="ignore"):
        return float(np.min(ab * bc * ca / (2.0 * twice_area)))


def write_shipped_tracks(folder: str | Path) -> list[Path]:
    """Write every shipped track as ``folder/<name>.json``."""
    return [track.save(Path(folder) / f"{track.name}.json") for track in shipped_tracks()]


if __name__ == "__main__":  # pragma: no cover - regenerates the data files
    for path in write_shipped_tracks(sys.argv[1] if len(sys.argv) > 1 else "src/annrl/data/tracks"):
        print(path)
