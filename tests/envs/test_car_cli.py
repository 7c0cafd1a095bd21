"""``annrl car``: drive writes metrics.json and a GIF, tracks lists, show draws; bad input is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from annrl.cli import main
from annrl.envs.core import CarSimulator
from annrl.envs.render import ASPHALT, GRASS, AnimationRecorder, TrackRenderer, save_animation


def run(argv: list[str]) -> int:
    return main(argv)


def test_drive_writes_metrics_and_a_gif(tmp_path, capsys):
    out = tmp_path / "run"
    code = run(["car", "drive", "--track", "oval", "--policy", "heuristic", "--episodes", "1", "--cars", "2",
                "--laps", "1", "--frame-every", "20", "--out", str(out), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    stored = json.loads((out / "metrics.json").read_text())
    assert printed == stored
    assert stored["episodes"] == 2 and stored["laps"] == 1.0 and stored["crash_rate"] == 0.0
    assert stored["mean_return"] == pytest.approx(100.0, abs=1.0)  # one lap is worth 100
    gif = Image.open(out / "episode.gif")
    assert gif.n_frames > 10 and gif.size[0] == 640


def test_random_policy_crashes_sometimes(tmp_path):
    out = tmp_path / "random"
    assert run(["car", "drive", "--policy", "random", "--cars", "16", "--episodes", "1", "--max-steps", "200",
                "--video", "none", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["laps"] == 0.0 and 0.0 <= metrics["crash_rate"] <= 1.0 and "video" not in metrics


def test_drive_allows_what_the_laps_take_at_2_m_s_as_the_benchmark_does(tmp_path):
    """The hairpins' 3 laps take the heuristic ~3300 steps: a fixed 3000-step limit cut it off after 2."""
    out = tmp_path / "hairpins"
    assert run(["car", "drive", "--track", "hairpins", "--video", "none", "--episodes", "1", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["success_rate"] == 1.0 and metrics["laps"] == 3.0 and metrics["mean_steps"] > 3000
    assert metrics["settings"]["max_episode_steps"] == 15855  # ceil(3 x 528.5 m / (2 m/s x 0.05 s))


def test_drive_refuses_laps_past_the_default_limit_unless_max_steps_allows_them(tmp_path, capsys):
    assert run(["car", "drive", "--laps", "1000", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "annrl: error: --laps 1000 of oval (361 m) take 3610394 steps at 2 m/s, more than the "
        "default limit of 1000000; give --max-steps to allow them")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--policy", "checkpoint"], "--policy checkpoint needs --checkpoint FILE"),
        (["--policy", "keyboard"], "--policy keyboard needs an interactive terminal"),
        (["--track", "moon"], "track must be one of"),
        (["--episodes", "0"], "--episodes must be >= 1, got 0"),
        (["--video", "film.avi"], "--video must name a .gif or .mp4 file (or be 'none'), got 'film.avi'"),
    ],
)
def test_drive_refuses_bad_input_with_one_message(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115 - not a terminal
    code = run(["car", "drive", "--max-steps", "5", "--out", str(tmp_path), *argv])
    assert code == 2
    assert message in capsys.readouterr().err


def test_tracks_lists_four_tracks(capsys):
    assert run(["car", "tracks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["oval", "rounded_rectangle", "s_bends", "hairpins"]
    assert rows[0]["length_m"] == pytest.approx(361.0, abs=1.0)


def test_show_draws_a_png(tmp_path, capsys):
    path = tmp_path / "hairpins.png"
    assert run(["car", "show", "hairpins", "--out", str(path)]) == 0
    assert Image.open(path).size[0] > 400
    assert run(["car", "show", "nowhere", "--out", str(path)]) == 2


def test_frames_show_the_car_where_it_is():
    sim = CarSimulator("oval", 1)
    sim.reset([np.random.default_rng(0)])
    renderer = TrackRenderer(sim.track)
    frame = renderer.frame(sim)
    assert frame.shape == (renderer.size[1], renderer.size[0], 3) and frame.dtype == np.uint8
    col, row = renderer.to_pixels(np.array([sim.state.x[0], sim.state.y[0]])).astype(int)
    assert tuple(frame[row, col]) == (60, 140, 240)  # the car's colour at its centre
    assert tuple(renderer.frame(sim, cars=np.array([], dtype=int))[row, col]) != (60, 140, 240)


def test_animations_keep_every_kth_frame(tmp_path):
    recorder = AnimationRecorder(every=3, max_frames=4)
    for k in range(20):
        frame = np.full((20, 30, 3), (GRASS, ASPHALT)[k % 2], dtype=np.uint8)  # GIF merges repeated frames
        recorder.add(frame if recorder.wants_frame() else None)
    assert len(recorder.frames) == 4
    assert Image.open(recorder.save(tmp_path / "a.gif")).n_frames == 4
    with pytest.raises(ValueError, match="at least one frame"):
        save_animation([], tmp_path / "b.gif")


def test_keyboard_keys_map_to_actions():
    import os
    import pty

    from annrl.envs.policies import KeyboardPolicy

    master, slave = pty.openpty()
    with os.fdopen(slave, "r", buffering=1) as terminal:
        keyboard = KeyboardPolicy(stream=terminal, step_seconds=0.01)
        obs = np.zeros((1, 6))
        pressed = []
        for key in (b"w", b"\x1b[D", b"d", b""):
            os.write(master, key)
            pressed.append(int(keyboard(obs)[0]))
        os.write(master, b"q")
        with pytest.raises(KeyboardInterrupt):
            keyboard(obs)
        keyboard.close()
    os.close(master)
    assert pressed == [3, 0, 1, 2]  # faster, left, right, straight when no key is down
