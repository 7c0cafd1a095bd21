"""The held-out benchmark command, the heuristic driver on generated tracks, and car drive's per-car records."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from annrl.cli import main
from annrl.envs.benchmark import drive_track
from annrl.envs.policies import HeuristicDriver
from annrl.envs.render import OUTLINE


def run(argv: list[str]) -> int:
    return main(argv)


def heuristic(env):
    return HeuristicDriver(env.settings, continuous=env.continuous)


@pytest.mark.parametrize("continuous", [False, True])
def test_the_heuristic_drives_an_easy_generated_track_three_laps(continuous):
    record = drive_track("family:easy:0", heuristic, continuous=continuous)
    assert record["success"] and record["laps"] == 3 and not record["crashed"]
    assert record["mean_speed"] > 8.0  # m/s: not a crawl


def test_the_heuristic_drives_a_narrow_hard_track_with_hairpins():
    record = drive_track("family:hard:2", heuristic, continuous=True, laps=1)
    assert record["success"] and record["laps"] == 1


def test_benchmark_writes_metrics_a_table_and_a_figure(tmp_path, capsys):
    out = tmp_path / "bench"
    assert run(["car", "benchmark", "--policy", "heuristic", "--continuous", "--limit", "2", "--out", str(out),
                "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    stored = json.loads((out / "metrics.json").read_text())
    assert printed == stored
    assert {"success_rate", "crash_rate", "mean_progress", "per_track", "tracks", "policy", "suite"} <= set(stored)
    assert stored["tracks"] == 2 and stored["laps_required"] == 3
    rows = stored["per_track"]
    assert [r["track"] for r in rows] == ["family:hard:1000000", "family:hard:1000001"]  # held-out seeds
    for r in rows:
        assert {"laps", "crashed", "progress", "steps"} <= set(r)
        # the steps match the distance driven at the reported mean speed (dt = 0.05 s)
        assert r["steps"] * 0.05 * r["mean_speed"] == pytest.approx(r["progress"] * 3 * r["length_m"], rel=0.01)
    assert stored["success_rate"] == sum(r["laps"] == 3 and not r["crashed"] for r in rows) / 2 == 1.0
    assert all(4.0 < r["mean_speed"] < 20.0 for r in rows)
    assert Image.open(out / "trajectories.png").size[0] > 300


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--policy", "checkpoint"], "--policy checkpoint needs --checkpoint FILE"),
        (["--limit", "0"], "--limit must be an integer >= 1, got 0"),
        (["--laps", "0"], "--laps must be >= 1, got 0"),
    ],
)
def test_benchmark_refuses_bad_input_with_one_line(tmp_path, capsys, argv, message):
    assert run(["car", "benchmark", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_drive_gives_each_car_its_own_step_count(tmp_path):
    out = tmp_path / "cars"
    assert run(["car", "drive", "--cars", "4", "--episodes", "1", "--laps", "1", "--video", "none",
                "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    steps = [r["steps"] for r in metrics["per_episode"]]
    assert all(r["laps"] == 1 for r in metrics["per_episode"])
    assert len(set(steps)) > 1  # the start jitter makes each car finish its lap at its own step
    assert metrics["mean_steps"] == pytest.approx(sum(steps) / len(steps))
    assert metrics["mean_steps"] < max(steps)


def test_the_animation_shows_the_numbers_and_says_when_it_is_cut_short(tmp_path):
    out = tmp_path / "gif"
    assert run(["car", "drive", "--episodes", "1", "--laps", "1", "--frame-every", "2", "--max-frames", "5",
                "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["video_complete"] is False and metrics["video_steps"] == 8  # frames at steps 0, 2, 4, 6, 8
    gif = Image.open(out / "episode.gif")
    assert gif.n_frames == 6  # five frames, then the last state with the note
    gif.seek(5)
    assert gif.convert("RGB").getpixel((2, 2)) == OUTLINE  # the caption's box
    full = tmp_path / "full"
    assert run(["car", "drive", "--episodes", "1", "--laps", "1", "--frame-every", "50", "--out", str(full)]) == 0
    metrics = json.loads((full / "metrics.json").read_text())
    assert metrics["video_complete"] is True and metrics["video_steps"] == metrics["per_episode"][0]["steps"]


def test_a_checkpoint_drives_the_benchmark_with_the_actions_it_was_trained_on(tmp_path):
    from annrl.agents.envs import EnvShape
    from annrl.agents.policy_file import save_policy
    from annrl.nn import MLP

    shape = EnvShape(6, True, 5)  # five rays and the speed in, Discrete(5) out
    save_policy(tmp_path / "agent.safetensors", MLP([6, 6, 5], hidden="tanh", population=1, seed=0), algo="ga",
                env_id="annrl/CarTrack-v0", shape=shape, mode="argmax", track="oval")
    out = tmp_path / "bench"
    assert run(["car", "benchmark", "--policy", "checkpoint", "--checkpoint", str(tmp_path / "agent.safetensors"),
                "--continuous", "--limit", "1", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["policy"] == "checkpoint" and metrics["continuous"] is False  # as trained, whatever the flag
    record = metrics["per_track"][0]
    # an untrained network makes no lap: it crashes, or stops for 30 s (600 steps) without a new checkpoint
    assert metrics["success_rate"] == 0.0 and record["laps"] == 0
    assert record["crashed"] or record["steps"] <= 600 + 1
