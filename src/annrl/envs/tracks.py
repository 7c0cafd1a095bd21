"""Tracks as data: JSON files with two walls, a centre line and a start pose, checked on load.

A track file (format ``annrl-track/1``, lengths in metres, see ``docs/car.md``)::

    {"name": "oval", "description": "...", "difficulty": 1, "width": 14.0,
     "start": {"x": 0.0, "y": 0.0, "heading_deg": 0.0},
     "centre": [[x, y], ...], "inner": [[x, y], ...], "outer": [[x, y], ...]}

Each polyline is closed (its last point joins the first). The car drives the way the centre
line runs. :meth:`Track.from_dict` rejects a track with one clear ``ValueError`` naming the
file, the field, the rule and the value received.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from annrl.envs import geometry
from annrl.errors import InputError

FORMAT = "annrl-track/1"
MIN_POINTS = 3


@dataclass(frozen=True, eq=False)
class Track:
    """A closed track: the corridor between an inner and an outer wall.

    Attributes
    ----------
    name : str
    inner, outer : arrays, shape (n, 2)
        Wall polylines in metres; stored with the outer wall counter-clockwise and the inner
        wall clockwise, so the corridor always lies to the left of every wall segment.
    centre : array, shape (m, 2)
        The centre line; its direction is the driving direction.
    start : tuple of float
        ``(x, y, heading)`` in metres and radians.
    """

    name: str
    inner: np.ndarray
    outer: np.ndarray
    centre: np.ndarray
    start: tuple[float, float, float]
    description: str = ""
    difficulty: int = 0
    width: float | None = None
    source: str = "<memory>"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    signed_area_of = staticmethod(geometry.signed_area)

    @property
    def length(self) -> float:
        """Length of the centre line in metres."""
        return geometry.length(self.centre)

    def wall_segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Every wall segment, inner wall first.

        Returns
        -------
        starts, ends : arrays, shape (n_inner + n_outer, 2)
            The corridor lies to the left of ``ends - starts``.
        """
        a_in, b_in = geometry.segments(self.inner)
        a_out, b_out = geometry.segments(self.outer)
        return np.vstack([a_in, a_out]), np.vstack([b_in, b_out])

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Which points ``(p, 2)`` lie strictly between the walls; bool array ``(p,)``."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        return geometry.inside(points, self.outer) & ~geometry.inside(points, self.inner)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form read back by :meth:`from_dict`."""
        x, y, heading = self.start
        return {
            "format": FORMAT,
            "name": self.name,
            "description": self.description,
            "difficulty": self.difficulty,
            **({"width": self.width} if self.width is not None else {}),
            "start": {"x": round(x, 6), "y": round(y, 6), "heading_deg": round(math.degrees(heading), 6)},
            "centre": self.centre.round(6).tolist(),
            "inner": self.inner.round(6).tolist(),
            "outer": self.outer.round(6).tolist(),
        }

    def save(self, path: str | Path) -> Path:
        """Write the track as JSON (folders created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<memory>") -> Track:
        """Check a track's fields and build it; raises ``ValueError`` naming the broken rule."""
        check = _Checker(source)
        if not isinstance(data, dict):
            check.fail(f"a track must be a JSON object, got {type(data).__name__}")
        if data.get("format", FORMAT) != FORMAT:
            check.fail(f"format must be {FORMAT!r}, got {data.get('format')!r}")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            check.fail(f"name must be a non-empty string, got {name!r}")
        inner = check.polyline(data, "inner", "inner wall")
        outer = check.polyline(data, "outer", "outer wall")
        centre = check.polyline(data, "centre", "centre line")
        start = check.start(data.get("start"))
        check.layout(inner, outer, centre, start)
        # Outer counter-clockwise and inner clockwise put the corridor on the left of both walls.
        outer = outer if geometry.signed_area(outer) > 0 else outer[::-1].copy()
        inner = inner if geometry.signed_area(inner) < 0 else inner[::-1].copy()
        width = data.get("width")
        return cls(
            name=name,
            inner=inner,
            outer=outer,
            centre=centre,
            start=start,
            description=str(data.get("description", "")),
            difficulty=int(data.get("difficulty", 0)),
            width=None if width is None else float(width),
            source=source,
        )


class _Checker:
    """The validation rules of a track file, each raising one ``ValueError`` on failure."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, message: str):
        raise InputError(f"track {self.source!r}: {message}")

    def polyline(self, data: dict, key: str, label: str) -> np.ndarray:
        raw = data.get(key)
        if raw is None:
            self.fail(f"{label} ({key!r}) is missing")
        try:
            poly = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            self.fail(f"{label} must be a list of [x, y] pairs of numbers, got {str(raw)[:60]}")
        if poly.ndim != 2 or poly.shape[1] != 2:
            self.fail(f"{label} must be a list of [x, y] pairs, got an array of shape {poly.shape}")
        if not np.all(np.isfinite(poly)):
            self.fail(f"{label} must hold finite numbers, got {poly[~np.isfinite(poly).all(1)][0].tolist()}")
        if len(poly) > 1 and np.array_equal(poly[0], poly[-1]):
            poly = poly[:-1]  # a repeated closing point adds nothing: polylines are closed anyway
        if len(poly) < MIN_POINTS:
            self.fail(f"{label} needs at least {MIN_POINTS} points, got {len(poly)}")
        a, b = geometry.segments(poly)
        zero = np.nonzero(np.all(a == b, axis=1))[0]
        if len(zero):
            self.fail(f"{label} repeats point {int(zero[0])} {poly[zero[0]].tolist()} (zero-length segment)")
        crossing = geometry.self_crossing(poly)
        if crossing is not None:
            i, j = crossing
            self.fail(f"{label} must not cross itself, segment {i} meets segment {j} near {poly[i].tolist()}")
        return poly

    def start(self, raw: Any) -> tuple[float, float, float]:
        if not isinstance(raw, dict):
            self.fail(f"start must be an object with x, y and heading_deg, got {raw!r}")
        values = []
        for key in ("x", "y", "heading_deg"):
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                self.fail(f"start.{key} must be a finite number, got {value!r}")
            values.append(float(value))
        return values[0], values[1], math.radians(values[2])

    def layout(self, inner, outer, centre, start) -> None:
        """The walls nest without touching; centre line and start lie between them."""
        hits = geometry.crossing_pairs(*geometry.segments(inner), *geometry.segments(outer))
        if hits.any():
            i, j = (int(k[0]) for k in np.nonzero(hits))
            self.fail(f"inner and outer walls must not meet, inner segment {i} meets outer segment {j}")
        out = ~geometry.inside(inner, outer)
        if out.any():
            self.fail(f"inner wall must lie inside the outer wall, point {inner[out][0].tolist()} is outside")
        corridor = geometry.inside(centre, outer) & ~geometry.inside(centre, inner)
        if not corridor.all():
            k = int(np.argmin(corridor))
            self.fail(f"centre line must lie between the walls, point {k} {centre[k].tolist()} does not")
        for wall, label in ((inner, "inner"), (outer, "outer")):
            hits = geometry.crossing_pairs(*geometry.segments(centre), *geometry.segments(wall))
            if hits.any():
                self.fail(f"centre line must not touch the {label} wall, centre segment "
                          f"{int(np.nonzero(hits)[0][0])} does")
        x, y, heading = start
        point = np.array([[x, y]])
        if not (geometry.inside(point, outer) & ~geometry.inside(point, inner))[0]:
            self.fail(f"start must lie between the walls, got ({x:g}, {y:g})")
        a, b = geometry.segments(centre)
        k = int(np.argmin(geometry.distance_to_segments(point, a, b)[0]))
        tangent = b[k] - a[k]
        if tangent[0] * math.cos(heading) + tangent[1] * math.sin(heading) <= 0:
            self.fail(f"start.heading_deg must point the way the centre line runs (within 90 degrees), "
                      f"got {math.degrees(heading):g}")


def tracks_folder() -> Path:
    """The folder of the shipped track files."""
    return Path(str(resources.files("annrl") / "data" / "tracks"))


def list_tracks() -> list[str]:
    """Names of the shipped tracks, easiest first."""
    names = [p.stem for p in sorted(tracks_folder().glob("*.json"))]
    return sorted(names, key=lambda name: (load_track(name).difficulty, name))


def load_track(track: str | Path | Track) -> Track:
    """A track from a shipped name, a JSON path, ``"random:SEED"`` or an existing :class:`Track`.

    Raises
    ------
    ValueError
        For an unknown name, an unreadable file or a track that breaks a rule.
    """
    if isinstance(track, Track):
        return track
    text = str(track)
    if text.startswith("random:"):
        return _random_track(text)
    path = Path(text)
    if path.suffix == ".json" or path.exists():
        return _load_file(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)
    shipped = tracks_folder() / f"{text}.json"
    if not shipped.exists():
        names = sorted(p.stem for p in tracks_folder().glob("*.json"))
        raise InputError(f"track must be one of {names}, a .json path or 'random:SEED', got {text!r}")
    return _load_file(str(shipped), shipped.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _load_file(path: str, mtime_ns: int) -> Track:
    """Parse and check a track file once per (path, modification time)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"track {path!r}: file not found") from None
    except json.JSONDecodeError as err:
        raise InputError(f"track {path!r}: not valid JSON ({err})") from None
    return Track.from_dict(data, source=Path(path).name)


@functools.lru_cache(maxsize=16)
def _random_track(spec: str) -> Track:
    from annrl.envs.track_designs import random_track

    try:
        seed = int(spec.split(":", 1)[1])
    except ValueError:
        raise InputError(f"track 'random:SEED' needs an integer seed, got {spec!r}") from None
    return random_track(np.random.default_rng(seed))
