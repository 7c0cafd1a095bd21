"""Track families: seeded generators of drivable courses, and the one split of their seeds.

A family is a set of parameters (:class:`TrackFamily`): width, lap length, how many corners and
how tight, and how often a straight holds an S-bend, a chicane or a hairpin meander. A seed
picks one track of the family, always the same: ``load_track("family:hard:7")``.

How a track is drawn (:func:`generate`): ``K`` left corners whose angles add up to one turn
make the loop; between two corners runs a straight, which may hold a feature that turns as
much left as right (so the loop still closes). The straights' lengths are then corrected, by
least squares, so that the last piece ends where the first began; a plan that would need a
straight shorter than ``min_straight``, a lap outside ``length`` or walls that meet is drawn
again, at most :data:`MAX_TRIES` times. Every track is checked by
:class:`~annrl.envs.tracks.Track` like a file would be (walls apart, corridor wide enough, no
turn tighter than the car's turning radius), so a generated track is drivable by construction
of the check.

Seeds: :data:`HELDOUT_SEEDS` belong to the benchmark (``annrl car benchmark``) and
:data:`TRAINING_SEEDS` to training; they are disjoint, and :func:`training_track` refuses a
held-out seed.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from annrl.envs.settings import CarSettings
from annrl.envs.track_designs import CENTRE_STEP_DEG, centre_from_pieces, track_from_centre
from annrl.envs.tracks import CLEARANCE_MARGIN, Track, turning_radius
from annrl.errors import InputError

MAX_TRIES = 200  # plans drawn per seed before giving up (the shipped families need 1 to ~10)
TURN_MARGIN = 1.1  # corner radii at least this multiple of the car's turning radius
#: The seeds of the held-out benchmark suite: no training draws them.
HELDOUT_SEEDS = range(1_000_000, 1_000_050)
#: The seeds training draws from.
TRAINING_SEEDS = range(0, 1_000_000)
if set(HELDOUT_SEEDS) & set(TRAINING_SEEDS):  # pragma: no cover - guards an edit of the two lines above
    raise RuntimeError("HELDOUT_SEEDS and TRAINING_SEEDS must be disjoint")


@dataclass(frozen=True)
class TrackFamily:
    """Parameters of a family of generated tracks (metres and degrees).

    Parameters
    ----------
    name : str
    width : (float, float)
        Range of the corridor's width; at least ``2 * (car_radius + CLEARANCE_MARGIN)`` (3 m).
    length : (float, float)
        Range of the lap length (centre line); plans outside it are drawn again.
    corners : (int, int)
        Range of the number of main (left) corners; at least 4, so none turns over 180 degrees.
    corner_radius : (float, float)
        Range of the main corners' radius; at least 1.1 x the car's turning radius (4.8 m).
    hairpin_radius : (float, float)
        Range of the radius of hairpins and chicane bends (same floor).
    straight : (float, float)
        Range of a straight's drawn length before the loop is closed.
    min_straight : float
        Shortest straight piece allowed after closing (room to brake before a feature).
    s_bends, chicanes, hairpins : float
        Probability that a straight holds an S-bend, a chicane, or a hairpin meander (two
        opposite 180 degree turns); their sum is at most 1.
    """

    name: str
    width: tuple[float, float]
    length: tuple[float, float]
    corners: tuple[int, int]
    corner_radius: tuple[float, float]
    hairpin_radius: tuple[float, float]
    straight: tuple[float, float]
    min_straight: float
    s_bends: float = 0.0
    chicanes: float = 0.0
    hairpins: float = 0.0

    def __post_init__(self):
        check_family(self)

    def to_dict(self) -> dict:
        """Every parameter of the family by name (each range a pair ``(low, high)``), for a JSON report."""
        return asdict(self)


def check_family(family: TrackFamily) -> None:
    """Check every parameter of a family from one table; raises ``InputError`` naming the field."""
    settings = CarSettings()
    min_width = 2.0 * (settings.car_radius + CLEARANCE_MARGIN)
    min_radius = TURN_MARGIN * turning_radius(settings)

    def fail(field: str, rule: str, value) -> None:
        raise InputError.invalid(f"track family {family.name!r}: {field}", rule, value)

    if not isinstance(family.name, str) or not family.name or ":" in family.name:
        fail("name", "a non-empty string without ':'", family.name)
    ranges = {  # field -> lowest allowed value, and why
        "width": (min_width, f">= {min_width:g} m (the car's diameter plus {CLEARANCE_MARGIN:g} m each side)"),
        "length": (100.0, ">= 100 m"),
        "corners": (4, ">= 4 (so no corner turns over 180 degrees)"),
        "corner_radius": (min_radius, f">= {min_radius:.2f} m ({TURN_MARGIN:g} x the car's turning radius)"),
        "hairpin_radius": (min_radius, f">= {min_radius:.2f} m ({TURN_MARGIN:g} x the car's turning radius)"),
        "straight": (0.0, ">= 0 m"),
    }
    for field, (low, rule) in ranges.items():
        value = getattr(family, field)
        ok = isinstance(value, tuple) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        if not ok or value[0] > value[1]:
            fail(field, "a pair (low, high) of finite numbers with low <= high", value)
        if value[0] < low:
            fail(field, rule, value)
    for field in ("corner_radius", "hairpin_radius"):
        if getattr(family, field)[0] <= 0.5 * family.width[1] + settings.car_radius:
            fail(field, f"> half the widest width + the car's radius ({0.5 * family.width[1] + 1:g} m), "
                        "or the inner wall folds over itself", getattr(family, field))
    if not isinstance(family.min_straight, (int, float)) or not family.min_straight >= 0:
        fail("min_straight", ">= 0 m", family.min_straight)
    for field in ("s_bends", "chicanes", "hairpins"):
        value = getattr(family, field)
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            fail(field, "a probability in [0, 1]", value)
    if family.s_bends + family.chicanes + family.hairpins > 1.0 + 1e-12:
        fail("s_bends + chicanes + hairpins", "<= 1", family.s_bends + family.chicanes + family.hairpins)


FAMILIES = {
    family.name: family
    for family in (
        TrackFamily("easy", width=(10.0, 14.0), length=(350.0, 900.0), corners=(4, 6), corner_radius=(14.0, 30.0),
                    hairpin_radius=(14.0, 20.0), straight=(30.0, 110.0), min_straight=15.0, s_bends=0.3),
        TrackFamily("medium", width=(7.0, 10.0), length=(350.0, 950.0), corners=(4, 7), corner_radius=(8.0, 20.0),
                    hairpin_radius=(7.0, 10.0), straight=(25.0, 90.0), min_straight=12.0, s_bends=0.3,
                    chicanes=0.2, hairpins=0.15),
        TrackFamily("hard", width=(5.0, 7.0), length=(350.0, 1000.0), corners=(5, 8), corner_radius=(5.0, 14.0),
                    hairpin_radius=(5.0, 7.0), straight=(20.0, 80.0), min_straight=10.0, s_bends=0.3,
                    chicanes=0.3, hairpins=0.3),
    )
}


def get_family(name: str) -> TrackFamily:
    """A named family; an unknown name raises ``InputError`` listing the known ones."""
    if name not in FAMILIES:
        raise InputError.invalid("track family", f"one of {sorted(FAMILIES)}", name)
    return FAMILIES[name]


def generate(family: str | TrackFamily, seed: int) -> Track:
    """The track of ``family`` drawn by ``seed`` (always the same one), checked and drivable.

    Parameters
    ----------
    family : str or TrackFamily
        A name from :data:`FAMILIES` or parameters of your own.
    seed : int
        Any non-negative integer.

    Raises
    ------
    InputError
        For an unknown family, a bad seed, or a family none of whose :data:`MAX_TRIES` plans
        closed into a valid track.
    """
    family = get_family(family) if isinstance(family, str) else family
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError.invalid("track seed", "a non-negative integer", seed)
    name = f"family:{family.name}:{int(seed)}"
    rng = np.random.default_rng([int(seed), zlib.crc32(family.name.encode())])
    for _ in range(MAX_TRIES):
        pieces, width = _draw_plan(family, rng)
        if pieces is None:
            continue
        coarse = centre_from_pieces(pieces)
        fine = centre_from_pieces(pieces, arc_step_deg=CENTRE_STEP_DEG)
        if not family.length[0] <= _length(pieces) <= family.length[1]:
            continue
        try:
            return track_from_centre(name, fine, width, coarse=coarse, difficulty=0,
                                     description=f"Generated: family {family.name!r}, seed {seed}.")
        except InputError:  # walls meeting: draw another plan
            continue
    raise InputError(f"track family {family.name!r}: no valid track after {MAX_TRIES} plans for seed {seed}; "
                     "allow longer laps, wider straight ranges or fewer features")


def training_track(family: str | TrackFamily, seed: int) -> Track:
    """A track for training: as :func:`generate`, but a held-out (benchmark) seed raises ``InputError``."""
    if seed not in TRAINING_SEEDS:
        raise InputError.invalid("training track seed", f"in range({TRAINING_SEEDS.start}, {TRAINING_SEEDS.stop}) "
                                 f"(seeds {HELDOUT_SEEDS.start}..{HELDOUT_SEEDS.stop - 1} are the benchmark's)", seed)
    return generate(family, seed)


def heldout_tracks(family: str = "hard", limit: int | None = None) -> list[str]:
    """The benchmark's generated track names, ``family:<family>:<seed>`` for the held-out seeds."""
    seeds = HELDOUT_SEEDS if limit is None else HELDOUT_SEEDS[:limit]
    return [f"family:{family}:{seed}" for seed in seeds]


def parse_spec(spec: str) -> Track:
    """``"family:NAME:SEED"`` to its track; a malformed spec raises ``InputError`` quoting it."""
    parts = spec.split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        raise InputError.invalid("track", f"'family:NAME:SEED' with NAME one of {sorted(FAMILIES)} and SEED an "
                                 "integer >= 0", spec)
    return generate(parts[1], int(parts[2]))


# ------------------------------------------------------------------------------------ plans
def _draw_plan(family: TrackFamily, rng: np.random.Generator) -> tuple[list | None, float]:
    """Pieces of one closed loop (or None when closing it would need a too-short straight), and its width."""
    width = float(rng.uniform(*family.width))
    k = int(rng.integers(family.corners[0], family.corners[1] + 1))
    weights = rng.uniform(0.5, 1.5, size=k)
    angles = 360.0 * weights / weights.sum()
    radii = rng.uniform(*family.corner_radius, size=k)
    sections = []  # per section: (feature pieces, fraction of the straight before the feature)
    for _ in range(k):
        sections.append((_feature(family, rng), float(rng.uniform(0.3, 0.7))))
    drawn = rng.uniform(*family.straight, size=k)
    # Closing: straights of section j run along heading H_j; solve for lengths nearest the drawn ones.
    headings = np.radians(np.concatenate([[0.0], np.cumsum(angles)[:-1]]))
    gap = -_endpoint(_without_straights(sections, radii, angles))
    u = np.vstack([np.cos(headings), np.sin(headings)])  # (2, k)
    lengths = drawn + u.T @ np.linalg.solve(u @ u.T, gap - u @ drawn)
    if np.any(lengths < 2.0 * family.min_straight):
        return None, width
    pieces = []
    for j, (feature, before) in enumerate(sections):
        pieces += [("straight", before * lengths[j]), *feature, ("straight", (1.0 - before) * lengths[j]),
                   ("arc", radii[j], angles[j])]
    return pieces, width


def _without_straights(sections, radii, angles) -> list:
    """The loop's pieces with every section straight at length 0 (what the straights must make up)."""
    return [piece for j, (feature, _) in enumerate(sections) for piece in [*feature, ("arc", radii[j], angles[j])]]


def _feature(family: TrackFamily, rng: np.random.Generator) -> list:
    """Pieces that turn as much left as right: an S-bend, a chicane, a hairpin meander, or nothing."""
    roll = rng.random()
    side = float(rng.choice([-1.0, 1.0]))
    if roll < family.s_bends:
        angle, radius = float(rng.uniform(40.0, 90.0)), float(rng.uniform(*family.corner_radius))
        return [("arc", radius, side * angle), ("arc", radius, -side * angle)]
    roll -= family.s_bends
    if roll < family.chicanes:
        angle, radius = float(rng.uniform(30.0, 60.0)), float(rng.uniform(*family.hairpin_radius))
        return [("arc", radius, side * angle), ("arc", radius, -2.0 * side * angle), ("arc", radius, side * angle)]
    roll -= family.chicanes
    if roll < family.hairpins:
        radius = float(rng.uniform(*family.hairpin_radius))
        leg = float(rng.uniform(2.0 * family.min_straight, 4.0 * family.min_straight))
        return [("straight", family.min_straight), ("arc", radius, 180.0 * side), ("straight", leg),
                ("arc", radius, -180.0 * side), ("straight", family.min_straight)]
    return []


def _endpoint(pieces: list) -> np.ndarray:
    """Where a turtle ends after ``pieces``, starting at the origin heading along +x; ``(2,)``."""
    x, y, heading = 0.0, 0.0, 0.0
    for piece in pieces:
        if piece[0] == "straight":
            x, y = x + piece[1] * math.cos(heading), y + piece[1] * math.sin(heading)
            continue
        _, radius, angle_deg = piece
        turn = math.radians(angle_deg)
        side = math.copysign(1.0, turn)
        cx, cy = x - side * radius * math.sin(heading), y + side * radius * math.cos(heading)
        heading += turn
        x, y = cx + side * radius * math.sin(heading), cy - side * radius * math.cos(heading)
    return np.array([x, y])


def _length(pieces: list) -> float:
    """Lap length of a plan, metres."""
    return sum(p[1] if p[0] == "straight" else p[1] * math.radians(abs(p[2])) for p in pieces)
