"""render() of cars on different tracks: each car drawn on its own track, one panel per track."""

from __future__ import annotations

import numpy as np

from annrl.envs import CarTrackVecEnv
from annrl.envs.render import CAR, GRASS, TrackRenderer


def _placed(tracks: list[str]) -> CarTrackVecEnv:
    env = CarTrackVecEnv(len(tracks), tracks, render_mode="rgb_array", autoreset_mode="Disabled")
    env.reset(seed=0)
    starts = np.array([t.start for t in env.sim.car_tracks])
    env.sim.place(starts[:, 0], starts[:, 1], starts[:, 2])
    return env


def _pixel(renderer: TrackRenderer, x: float, y: float) -> tuple[int, int]:
    col, row = renderer.to_pixels(np.array([x, y]))
    return int(row), int(col)


def test_each_car_is_drawn_on_its_own_tracks_panel():
    env = _placed(["oval", "hairpins", "oval"])
    frame = env.render()
    oval, hairpins = env.sim.car_tracks[0], env.sim.car_tracks[1]
    # Two tracks: two panels side by side, each half the renderer's 640 pixels wide.
    left, right = TrackRenderer(oval, width=320), TrackRenderer(hairpins, width=320)
    assert frame.shape == (max(left.size[1], right.size[1]), 640, 3)
    for k, (panel, offset) in enumerate([(left, 0), (right, 320), (left, 0)]):
        row, col = _pixel(panel, env.sim.state.x[k], env.sim.state.y[k])
        assert tuple(frame[row, col + offset]) == CAR, f"car {k}"
    # The right panel is the hairpins track itself, not the oval: it differs from the bare hairpins
    # picture only where car 1 and its rays are drawn.
    h, w = right.size[1], right.size[0]
    changed = np.any(frame[:h, 320:320 + w] != np.asarray(right.background()), axis=2)
    assert 0 < changed.mean() < 0.02
    assert tuple(frame[1, 321]) == GRASS


def test_cars_on_the_renderers_track_only_give_the_one_track_frame():
    env = _placed(["oval", "hairpins", "oval"])
    renderer = TrackRenderer(env.sim.car_tracks[0])
    frame = renderer.frame(env.sim, cars=np.array([0, 2]))
    assert frame.shape == (renderer.size[1], renderer.size[0], 3)
    row, col = _pixel(renderer, env.sim.state.x[0], env.sim.state.y[0])
    assert tuple(frame[row, col]) == CAR
    # and a car on another track alone is drawn on that track, full width
    alone = renderer.frame(env.sim, cars=np.array([1]))
    own = TrackRenderer(env.sim.car_tracks[1])
    assert alone.shape == (own.size[1], own.size[0], 3)
    row, col = _pixel(own, env.sim.state.x[1], env.sim.state.y[1])
    assert tuple(alone[row, col]) == CAR
