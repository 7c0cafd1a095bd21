"""Tracks as data: JSON files with two walls, a centre line and a start pose, checked on load.

A track file (format ``annrl-track/1``, lengths in metres, see ``docs/car.md``)::

    {"name": "oval", "description": "...", "difficulty": 1, "width": 14.0,
     "start": {"x": 0.0, "y": 0.0, "heading_deg": 0.0},
     "centre": [[x, y], ...], "inner": [[x, y], ...], "outer": [[x, y], ...]}

Each polyline is closed (its last point joins the first). The car drives the way the centre
line runs. :meth:`Track.from_dict` rejects a track with one clear
:class:`~annrl.errors.InputError` (a ``ValueError``) naming the file, the field or the place, the
rule and the value received, including a track the car cannot drive (see :func:`check_drivable`).
Every check is linear in memory, so a track file of 20,000 points loads in well under a second.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from annrl.envs import geometry
from annrl.envs.settings import CarSettings
from annrl.errors import InputError, show_value
from annrl.userfiles import checked_regular_file

FORMAT = "annrl-track/1"
MIN_POINTS = 3
CLEARANCE_MARGIN = 0.5  # metres the car's disc must keep from each wall while on the centre line
TURN_TOLERANCE = 0.98  # a polyline inscribed in an arc measures a hair tighter than the arc itself
CURVATURE_SPACING = 0.25  # metres between the samples of the centre line that measure its turns


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
        """Check a track's fields and that the car can drive it, then build it.

        Raises
        ------
        InputError
            Naming the broken rule, and the place for an undrivable track.
        """
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
        width = check.number(data, "width", None, "a number > 0", lambda w: w > 0)
        difficulty = check.number(data, "difficulty", 0, "an integer in [0, 1000]",
                                  lambda d: isinstance(d, numbers.Integral) and 0 <= d <= 1000)
        track = cls(
            name=name,
            inner=inner,
            outer=outer,
            centre=centre,
            start=start,
            description=str(data.get("description", "")),
            difficulty=int(difficulty),
            width=None if width is None else float(width),
            source=source,
        )
        check_drivable(track)
        return track


class _Checker:
    """The validation rules of a track file, each raising one ``ValueError`` on failure."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, message: str):
        raise InputError(f"track {self.source!r}: {message}", field="track")

    def polyline(self, data: dict, key: str, label: str) -> np.ndarray:
        raw = data.get(key)
        if raw is None:
            self.fail(f"{label} ({key!r}) is missing")
        # numbers only: NumPy would read "1.5" (a string) as 1.5
        if not isinstance(raw, list) or not all(isinstance(p, list) and all(_is_number(v) for v in p) for p in raw):
            self.fail(f"{label} must be a list of [x, y] pairs of numbers, got {show_value(raw)}")
        if len({len(p) for p in raw}) > 1:
            self.fail(f"{label} must be a list of [x, y] pairs, got points of {sorted({len(p) for p in raw})} numbers")
        poly = np.asarray(raw, dtype=float)
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
            self.fail(f"{label} must not cross itself, segment {i} meets segment {j} near {_at(poly[i])}")
        return poly

    def number(self, data: dict, key: str, default: Any, rule: str, accepts: Any) -> Any:
        """``data[key]`` (``default`` when absent) if it is a finite number that ``accepts``, else one line naming
        it; null is allowed only where the default is None."""
        value = data.get(key, default)
        finite = _is_number(value) and _finite(value)
        if not (value is None and default is None) and not (finite and accepts(value)):
            self.fail(f"{key} must be {rule}, got {show_value(value)}")
        return value

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
        """The walls nest without touching; centre line and start lie between them.

        Crossings are found on a grid (linear memory); with none, one point of a polyline tells
        on which side of a wall all of it lies.
        """
        hit = geometry.first_meeting(*geometry.segments(inner), *geometry.segments(outer))
        if hit is not None:
            i, j = hit
            self.fail(f"inner and outer walls must not meet, inner segment {i} meets outer segment {j} "
                      f"near {_at(inner[i])}")
        if not geometry.inside(inner[:1], outer)[0]:
            self.fail(f"inner wall must lie inside the outer wall, point {inner[0].tolist()} is outside")
        for wall, label in ((inner, "inner"), (outer, "outer")):
            hit = geometry.first_meeting(*geometry.segments(centre), *geometry.segments(wall))
            if hit is not None:
                self.fail(f"centre line must not touch the {label} wall, centre segment {hit[0]} does, "
                          f"near {_at(centre[hit[0]])}")
        if not (geometry.inside(centre[:1], outer) & ~geometry.inside(centre[:1], inner))[0]:
            self.fail(f"centre line must lie between the walls, point 0 {centre[0].tolist()} does not")
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


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def turning_radius(settings: CarSettings | None = None) -> float:
    """The car's tightest turn in metres, at a crawl: ``wheelbase / tan(max_steer)`` (4.33 m by default).

    Faster, grip limits the turn further (``speed**2 / grip``); a car that brakes can always get
    down to this radius, so it is the limit a track's turns are held to.
    """
    return 1.0 / (settings or CarSettings()).steer_gain


def check_drivable(track: Track, settings: CarSettings | None = None) -> None:
    """Refuse a track the car cannot drive along its centre line, naming the place.

    Two rules, for a car with ``settings`` (the defaults when omitted):

    * every point of the centre line keeps ``car_radius + CLEARANCE_MARGIN`` metres from both
      walls (1.5 m by default, so a centred track is at least 3 m wide);
    * the centre line turns no tighter than the car's :func:`turning_radius`, measured as
      ``window / (heading change over the window)`` along every stretch of length
      ``window = 2 * turning_radius``: an arc of radius r measures r, and a sharp polyline
      corner counts as the arc the car could cut through it.

    Raises
    ------
    InputError
        ``track 'x.json': turn at (12.0, 3.5) m has radius 2.1 m, tighter than ...``.
    """
    settings = settings or CarSettings()
    needed = settings.car_radius + CLEARANCE_MARGIN
    a, b = track.wall_segments()
    gap, i = geometry.closest_approach(*geometry.segments(track.centre), a, b, needed)
    if i >= 0:
        raise InputError(f"track {track.source!r}: the corridor at {_at(track.centre[i])} m leaves the centre line "
                         f"{gap:.2f} m from a wall, less than the car's radius {settings.car_radius:g} m plus a "
                         f"{CLEARANCE_MARGIN:g} m margin", field="track")
    limit = turning_radius(settings)
    radius, where = _tightest_turn(track.centre, 2.0 * limit)
    if radius < TURN_TOLERANCE * limit:
        raise InputError(f"track {track.source!r}: turn at {_at(where)} m has radius {radius:.2f} m, tighter than "
                         f"the car's turning radius {limit:.2f} m (wheelbase / tan(max_steer))", field="track")


def _tightest_turn(centre: np.ndarray, window: float) -> tuple[float, np.ndarray]:
    """Smallest ``window / heading change`` over stretches of the centre line, and where it is."""
    count = int(min(max(geometry.length(centre) / CURVATURE_SPACING, 16), 400_000))
    points = geometry.resample(centre, count)
    step = np.roll(points, -1, axis=0) - points
    raw = np.arctan2(step[:, 1], step[:, 0])
    turn = np.angle(np.exp(1j * (np.roll(raw, -1) - raw)))  # heading change at each sample, in (-pi, pi]
    heading = np.concatenate([[0.0], np.cumsum(turn)])  # closed loop: heading[count] is the total turning
    spacing = geometry.length(centre) / count
    k = max(1, min(count // 3, round(window / spacing)))
    # Headings averaged over half a window first: the vertices of a coarse arc then blur into the
    # arc's steady turn instead of counting 5 or 6 of them by where the window happens to fall.
    m = max(1, k // 2)
    heading = np.concatenate([heading[:-1], heading[: k + m + 1] + heading[-1]])
    sums = np.concatenate([[0.0], np.cumsum(heading)])
    smooth = (sums[m:] - sums[:-m]) / m
    turned = np.abs(smooth[k : k + count] - smooth[:count])
    j = int(np.argmax(turned))
    radius = k * spacing / turned[j] if turned[j] > 0 else np.inf
    return float(radius), points[(j + (k + m) // 2) % count]


def _at(point) -> str:
    return f"({float(point[0]):.1f}, {float(point[1]):.1f})"


def tracks_folder() -> Path:
    """The folder of the shipped track files."""
    return Path(str(resources.files("annrl") / "data" / "tracks"))


def list_tracks() -> list[str]:
    """Names of the shipped tracks, easiest first."""
    names = [p.stem for p in sorted(tracks_folder().glob("*.json"))]
    return sorted(names, key=lambda name: (load_track(name).difficulty, name))


def load_track(track: str | Path | Track) -> Track:
    """A track from a shipped name, a JSON path, ``"random:SEED"``, ``"family:NAME:SEED"`` (see
    :mod:`annrl.envs.track_families`) or an existing :class:`Track`.

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
    if text.startswith("family:"):
        return _family_track(text)
    path = Path(text)
    if path.suffix == ".json" or path.exists():
        return _load_file(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)
    shipped = tracks_folder() / f"{text}.json"
    if not shipped.exists():
        names = sorted(p.stem for p in tracks_folder().glob("*.json"))
        raise InputError(f"track must be one of {names}, a .json path, 'random:SEED' or 'family:NAME:SEED', "
                         f"got {text!r}", field="track")
    return _load_file(str(shipped), shipped.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _load_file(path: str, mtime_ns: int) -> Track:
    """Parse and check a track file once per (path, modification time)."""
    if Path(path).exists():  # a FIFO or a device (/dev/zero) is refused by type: reading it would never end
        checked_regular_file(path, "track file")
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"track {path!r}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"track {path!r}: not valid JSON ({err})") from None
    except RecursionError:
        raise InputError(f"track {path!r}: not valid JSON (nested too deeply)") from None
    return Track.from_dict(data, source=Path(path).name)


@functools.lru_cache(maxsize=16)
def _random_track(spec: str) -> Track:
    from annrl.envs.track_designs import random_track

    try:
        seed = int(spec.split(":", 1)[1])
    except ValueError:
        raise InputError(f"track 'random:SEED' needs an integer seed, got {spec!r}") from None
    return random_track(np.random.default_rng(seed))


@functools.lru_cache(maxsize=64)
def _family_track(spec: str) -> Track:
    from annrl.envs.track_families import parse_spec

    return parse_spec(spec)
