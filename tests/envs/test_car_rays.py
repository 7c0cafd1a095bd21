"""Ray casting: distances against geometry worked out by hand, and culling that changes nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from car_helpers import corridor_track, ring_track

from annrl.envs import geometry
from annrl.envs.core import CarSimulator
from annrl.envs.settings import CarSettings
from annrl.envs.tracks import list_tracks, load_track

FLOAT32_TOL = 1e-4  # metres: rays are cast in float32 at coordinates of ~100 m


def line_distance(y0: float, heading: float, wall_y: float) -> float:
    """Distance along direction ``heading`` from height ``y0`` to the line ``y = wall_y`` (inf if never)."""
    s = math.sin(heading)
    d = (wall_y - y0) / s if s != 0 else math.inf
    return d if d > 0 else math.inf


@pytest.mark.parametrize("y0, heading_deg", [(-15.0, 0.0), (-12.5, 10.0), (-17.0, -25.0), (-14.0, 180.0)])
def test_corridor_distances_match_the_walls_lines(y0, heading_deg):
    settings = CarSettings(n_rays=5, ray_spread_deg=180.0, max_range=30.0)
    sim = CarSimulator(corridor_track(), 1, settings)
    heading = math.radians(heading_deg)
    sim.place([0.0], [y0], [heading])
    got = sim.sense()[0]
    for k, angle in enumerate(settings.ray_angles()):
        direction = heading + angle
        expected = min(line_distance(y0, direction, -20.0), line_distance(y0, direction, -10.0), 30.0)
        assert got[k] == pytest.approx(expected, abs=FLOAT32_TOL), f"ray {k} at {math.degrees(angle):.0f} deg"


def test_corridor_sees_the_end_wall_when_range_allows():
    sim = CarSimulator(corridor_track(), 1, CarSettings(n_rays=1, max_range=150.0))
    sim.place([10.0], [-15.0], [0.0])
    assert sim.sense()[0, 0] == pytest.approx(90.0, abs=FLOAT32_TOL)  # the outer wall at x = 100


def test_ring_rays_match_circle_chords():
    inner, outer, n = 20.0, 30.0, 240
    sim = CarSimulator(ring_track(inner, outer, n), 1, CarSettings(n_rays=3, ray_spread_deg=180.0, max_range=60.0))
    rho = 25.0
    sim.place([rho], [0.0], [math.pi / 2])  # heading along the ring, counter-clockwise
    right, ahead, left = sim.sense()[0]
    sag = outer * (1 - math.cos(math.pi / n))  # polygon versus circle
    assert right == pytest.approx(outer - rho, abs=sag + FLOAT32_TOL)  # straight out to the outer wall
    assert left == pytest.approx(rho - inner, abs=sag + FLOAT32_TOL)  # straight in to the inner wall
    # Ahead is tangent to the circle of radius rho: it meets the outer wall after a half chord.
    assert ahead == pytest.approx(math.sqrt(outer**2 - rho**2), abs=0.01)


@pytest.mark.parametrize("name", list_tracks() + ["random:3"])
def test_candidate_lists_agree_with_brute_force(name):
    """Casting against each station's short lists equals casting against every wall."""
    track = load_track(name)
    settings = CarSettings(n_rays=9, ray_spread_deg=360.0 - 40.0)
    n = 600
    sim = CarSimulator(track, n, settings)
    rng = np.random.default_rng(0)
    xy = _points_in_corridor(track, n, rng)
    heading = rng.uniform(-math.pi, math.pi, n)
    sim.place(xy[:, 0], xy[:, 1], heading)
    got = sim.sense()
    a, b = track.wall_segments()
    angles = heading[:, None] + np.array(settings.ray_angles())[None, :]
    origins = np.repeat(xy, settings.n_rays, axis=0)
    directions = np.column_stack([np.cos(angles).ravel(), np.sin(angles).ravel()])
    expected = np.minimum(geometry.first_hit(origins, directions, a, b), settings.max_range).reshape(n, -1)
    np.testing.assert_allclose(got, expected, atol=1e-3)


def _points_in_corridor(track, n, rng):
    lo, hi = track.outer.min(axis=0), track.outer.max(axis=0)
    points = rng.uniform(lo, hi, size=(20 * n, 2))
    points = points[track.contains(points)]
    return points[:n]
