"""Tracks with known geometry for the car tests: a straight corridor and a ring."""

from __future__ import annotations

import math

import numpy as np

from annrl.envs.tracks import Track


def rectangle(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """Corners of an axis-aligned rectangle, counter-clockwise."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def corridor_track() -> Track:
    """A rectangular loop whose bottom leg is a straight corridor y in [-20, -10], x in [-90, 90].

    The car starts at (0, -15) heading east (+x); the outer wall's right side is at x = 100.
    """
    return Track.from_dict({
        "name": "corridor",
        "start": {"x": 0.0, "y": -15.0, "heading_deg": 0.0},
        "outer": rectangle(-100, -20, 100, 20),
        "inner": rectangle(-90, -10, 90, 10),
        "centre": rectangle(-95, -15, 95, 15),
    }, source="corridor")


def ring_track(inner_radius: float = 20.0, outer_radius: float = 30.0, n: int = 240) -> Track:
    """Two concentric regular polygons with ``n`` vertices: a ring, driven counter-clockwise.

    With many vertices the walls are circles to within ``R (1 - cos(pi / n))`` metres.
    """
    theta = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    circle = np.column_stack([np.cos(theta), np.sin(theta)])
    mid = 0.5 * (inner_radius + outer_radius)
    return Track.from_dict({
        "name": "ring",
        "start": {"x": mid, "y": 0.0, "heading_deg": 90.0},
        "outer": (outer_radius * circle).tolist(),
        "inner": (inner_radius * circle).tolist(),
        "centre": (mid * circle).tolist(),
    }, source="ring")
