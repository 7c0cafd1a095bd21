"""Tracks: the shipped files load, bad files fail with a message naming the rule, the generator is valid."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from car_helpers import corridor_track, rectangle

from annrl.envs import geometry
from annrl.envs.track_designs import random_track, shipped_tracks
from annrl.envs.tracks import Track, list_tracks, load_track

GOOD = corridor_track().to_dict()


def test_four_shipped_tracks_easiest_first():
    names = list_tracks()
    assert names == ["oval", "rounded_rectangle", "s_bends", "hairpins"]
    assert [load_track(n).difficulty for n in names] == [1, 2, 3, 4]


@pytest.mark.parametrize("name", ["oval", "rounded_rectangle", "s_bends", "hairpins"])
def test_shipped_track_is_a_corridor_around_its_centre_line(name):
    track = load_track(name)
    assert track.contains(track.centre).all()
    assert track.contains(np.array([track.start[:2]])).all()
    assert geometry.signed_area(track.outer) > 0 > geometry.signed_area(track.inner)
    # The walls sit half a width either side of the centre line (up to chord sag on curves).
    a, b = track.wall_segments()
    clearance = geometry.distance_to_segments(track.centre, a, b).min(axis=1)
    assert clearance.max() == pytest.approx(track.width / 2, rel=0.01)
    assert clearance.min() > 0.45 * track.width


def test_shipped_files_match_their_designs():
    for design in shipped_tracks():
        stored = load_track(design.name)
        np.testing.assert_allclose(stored.inner, design.inner, atol=1e-6)
        np.testing.assert_allclose(stored.centre, design.centre, atol=1e-6)


def test_round_trip_through_json(tmp_path):
    track = load_track("s_bends")
    path = track.save(tmp_path / "copy.json")
    again = load_track(path)
    np.testing.assert_array_equal(again.outer, track.outer)
    assert again.start == pytest.approx(track.start)
    assert again.length == pytest.approx(track.length)


def broken(**changes):
    data = copy.deepcopy(GOOD)
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "data, message",
    [
        (broken(inner=[[0, 0], [1, 0]]), "inner wall needs at least 3 points, got 2"),
        (broken(outer=[[-100, -20], [100, 20], [100, -20], [-100, 20]]), "outer wall must not cross itself"),
        (broken(start={"x": 0.0, "y": 0.0, "heading_deg": 0.0}), "start must lie between the walls, got (0, 0)"),
        (broken(start={"x": 0.0, "y": -15.0, "heading_deg": 180.0}), "start.heading_deg must point the way"),
        (broken(start={"x": 0.0, "y": -15.0}), "start.heading_deg must be a finite number, got None"),
        (broken(inner=rectangle(-90, -10, 90, 30)), "inner and outer walls must not meet"),
        (broken(inner=rectangle(110, -10, 120, 10)), "inner wall must lie inside the outer wall"),
        (broken(centre=[[-95, -15], [95, -15], [95, 15], [0, 0], [-95, 15]]),
         "centre line must not touch the inner wall, centre segment 2 does, near (95.0, 15.0)"),
        (broken(centre=rectangle(-50, -5, 50, 5)), "centre line must lie between the walls, point 0 [-50.0, -5.0]"),
        (broken(centre=rectangle(-95, -15, 95, 5)), "centre line must not touch the inner wall"),
        (broken(centre=[[0, 0], [1, "a"], [2, 2]]), "centre line must be a list of [x, y] pairs of numbers"),
        (broken(outer=[[0, 0], [1, math.nan], [2, 2]]), "outer wall must hold finite numbers"),
        (broken(inner=[[0, 0], [0, 0], [1, 1], [1, 0]]), "inner wall repeats point 0"),
        ({k: v for k, v in GOOD.items() if k != "outer"}, "outer wall ('outer') is missing"),
        (broken(name=""), "name must be a non-empty string"),
        (broken(format="other/2"), "format must be 'annrl-track/1', got 'other/2'"),
    ],
)
def test_invalid_tracks_name_the_rule_and_value(data, message):
    with pytest.raises(ValueError) as err:
        Track.from_dict(data, source="bad.json")
    assert str(err.value).startswith("track 'bad.json': ")
    assert message in str(err.value)


def test_unknown_name_and_broken_files_are_clear(tmp_path):
    with pytest.raises(ValueError, match="track must be one of .* got 'moon'"):
        load_track("moon")
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json': not valid JSON"):
        load_track(path)
    with pytest.raises(ValueError, match="file not found"):
        load_track(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="needs an integer seed, got 'random:x'"):
        load_track("random:x")


def test_closing_point_may_be_repeated(tmp_path):
    data = copy.deepcopy(GOOD)
    data["outer"] = data["outer"] + [data["outer"][0]]
    path = tmp_path / "closed.json"
    path.write_text(json.dumps(data))
    assert len(load_track(path).outer) == 4


@pytest.mark.parametrize("seed", range(6))
def test_random_tracks_are_valid_and_seeded(seed):
    track = random_track(np.random.default_rng(seed))
    again = random_track(np.random.default_rng(seed))
    np.testing.assert_array_equal(track.outer, again.outer)
    assert 8.0 <= track.width <= 14.0
    assert geometry.self_crossing(track.inner) is None and geometry.self_crossing(track.outer) is None
    assert track.contains(track.centre).all()
    other = random_track(np.random.default_rng(seed + 100))
    assert track.length != pytest.approx(other.length)
