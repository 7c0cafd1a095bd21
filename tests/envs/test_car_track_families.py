"""Track families: every seed gives a valid, drivable track; the seed split; undrivable tracks refused."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from car_helpers import ring_track

from annrl.envs import geometry
from annrl.envs import track_families as tf
from annrl.envs.benchmark import suite_tracks
from annrl.envs.settings import CarSettings
from annrl.envs.track_designs import _designed
from annrl.envs.tracks import CLEARANCE_MARGIN, Track, _tightest_turn, load_track, turning_radius
from annrl.errors import InputError


def assert_drivable(track: Track, family: tf.TrackFamily) -> None:
    """What the family promises, measured on the track itself."""
    radius = turning_radius()
    assert family.width[0] <= track.width <= family.width[1]
    assert family.length[0] <= track.length <= family.length[1]
    assert _tightest_turn(track.centre, 2 * radius)[0] >= 0.98 * tf.TURN_MARGIN * radius
    assert geometry.self_crossing(track.inner) is None and geometry.self_crossing(track.outer) is None
    assert geometry.first_meeting(*geometry.segments(track.inner), *geometry.segments(track.outer)) is None
    gap, _ = geometry.closest_approach(*geometry.segments(track.centre), *track.wall_segments(), track.width)
    # The walls sit half a width from the centre line, less the sag of their 15-degree chords on curves.
    assert 0.9 * track.width / 2 < gap <= 1.001 * track.width / 2


@pytest.mark.parametrize("family", sorted(tf.FAMILIES))
def test_a_hundred_seeds_of_each_family_give_drivable_tracks(family):
    for seed in range(100):
        assert_drivable(tf.generate(family, seed), tf.FAMILIES[family])


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(tf.FAMILIES))
def test_a_thousand_seeds_of_each_family_give_drivable_tracks(family):
    for seed in range(100, 1000):
        assert_drivable(tf.generate(family, seed), tf.FAMILIES[family])


def test_a_seed_always_gives_the_same_track_and_seeds_differ():
    one, again, other = tf.generate("hard", 7), load_track("family:hard:7"), tf.generate("hard", 8)
    np.testing.assert_array_equal(one.outer, again.outer)
    assert one.name == "family:hard:7" and other.length != pytest.approx(one.length)
    assert tf.generate("easy", 7).width > 10.0 > 7.0 >= one.width  # the families differ in kind


def test_the_hard_family_has_narrow_tracks_hairpins_and_chicanes():
    tracks = [tf.generate("hard", seed) for seed in range(20)]
    assert min(t.width for t in tracks) < 5.5
    turns = [_tightest_turn(t.centre, 2 * turning_radius())[0] for t in tracks]
    assert min(turns) < 6.0  # down to hairpins of about 5 m radius


def test_benchmark_and_training_seeds_are_disjoint():
    assert set(tf.HELDOUT_SEEDS).isdisjoint(tf.TRAINING_SEEDS)
    suite = suite_tracks("heldout")
    generated = [name for name in suite if name.startswith("family:")]
    assert len(suite) >= 50 and len(generated) == len(tf.HELDOUT_SEEDS)
    assert all(int(name.rsplit(":", 1)[1]) in tf.HELDOUT_SEEDS for name in generated)
    with pytest.raises(InputError, match=r"training track seed must be in range\(0, 1000000\).*got 1000003"):
        tf.training_track("hard", tf.HELDOUT_SEEDS[3])
    np.testing.assert_array_equal(tf.training_track("hard", 3).outer, tf.generate("hard", 3).outer)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"width": (2.5, 4.0)}, "track family 'custom': width must be >= 3 m"),
        ({"width": (8.0, 6.0)}, "width must be a pair (low, high) of finite numbers with low <= high, got (8.0, 6.0)"),
        ({"corner_radius": (3.0, 9.0)}, "corner_radius must be >= 4.76 m (1.1 x the car's turning radius)"),
        ({"hairpin_radius": (5.0, 6.0), "width": (9.0, 12.0), "corner_radius": (14.0, 20.0)},
         "hairpin_radius must be > half the widest width + the car's radius (7 m)"),
        ({"corners": (2, 5)}, "corners must be >= 4"),
        ({"hairpins": 1.5}, "hairpins must be a probability in [0, 1], got 1.5"),
        ({"s_bends": 0.6, "chicanes": 0.6}, "s_bends + chicanes + hairpins must be <= 1"),
        ({"name": "a:b"}, "name must be a non-empty string without ':'"),
    ],
)
def test_bad_family_parameters_name_the_field(changes, message):
    params = {**tf.FAMILIES["hard"].to_dict(), "name": "custom", **changes}
    with pytest.raises(InputError) as err:
        tf.TrackFamily(**params)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("family:moon:3", "track family must be one of ['easy', 'hard', 'medium'], got 'moon'"),
        ("family:hard:x", "track must be 'family:NAME:SEED'"),
        ("family:hard", "track must be 'family:NAME:SEED'"),
    ],
)
def test_bad_family_specs_are_one_line_errors(spec, message):
    with pytest.raises(InputError) as err:
        load_track(spec)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_turn_tighter_than_the_car_can_take_is_refused_where_it_is():
    s = "straight"
    with pytest.raises(InputError) as err:
        _designed("tight", [(s, 40), ("arc", 3.0, 180), (s, 40), ("arc", 3.0, 180)], 4.0)
    text = str(err.value)
    assert text.startswith("track '<design tight>': turn at (") and "\n" not in text
    # A 180-degree arc of 3 m is shorter than the measuring window, which blurs it a little wider.
    assert "has radius 3.2" in text and "tighter than the car's turning radius 4.33 m" in text
    x, y = (float(v) for v in text.split("turn at (")[1].split(")")[0].split(","))
    assert x > 39.0 or x < 1.0  # on one of the two hairpins, not on a straight
    _designed("just", [(s, 40), ("arc", 4.5, 180), (s, 40), ("arc", 4.5, 180)], 4.0)  # the car can take 4.5 m


def test_a_corridor_too_narrow_for_the_car_is_refused():
    needed = CarSettings().car_radius + CLEARANCE_MARGIN
    rule = rf"leaves the centre line 1.\d\d m from a wall, less than .* {CLEARANCE_MARGIN:g} m"
    with pytest.raises(InputError, match=rule):
        _designed("narrow", [("straight", 40), ("arc", 10.0, 180), ("straight", 40), ("arc", 10.0, 180)], 2.5)
    assert 2 * needed == pytest.approx(3.0)


def test_a_20000_point_track_is_checked_in_linear_memory():
    tracemalloc.start()
    track = ring_track(20.0, 30.0, n=20_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(track.outer) == 20_000
    assert peak < 150e6  # the old checks built 20,000 x 20,000 arrays: 400 MB for one bool array alone


def test_grid_crossing_search_agrees_with_all_pairs():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(3, 30))
        theta = np.sort(rng.uniform(0, 2 * math.pi, n))
        poly = rng.uniform(3, 10, n)[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
        if rng.random() < 0.5:
            poly = rng.normal(size=(n, 2)) * rng.uniform(0.1, 50)
        a, b = geometry.segments(poly)
        hits = geometry.crossing_pairs(a, b, a, b)
        i, j = np.nonzero(np.triu(hits, 2))
        brute = [(p, q) for p, q in zip(i.tolist(), j.tolist(), strict=True) if not (p == 0 and q == n - 1)]
        assert geometry.self_crossing(poly) == (brute[0] if brute else None)
