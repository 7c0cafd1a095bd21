"""``annrl rl``: train writes metrics, agent and figures; eval reads the agent; car drive uses it."""

from __future__ import annotations

import json

import pytest
from rl_helpers import run


def test_train_then_eval_on_cartpole(tmp_path, capsys):
    out = tmp_path / "cp"
    assert run(["rl", "train", "--env", "CartPole-v1", "--algo", "ga", "--steps", "3000", "--population", "16",
                "--eval-every", "1500", "--eval-episodes", "2", "--out", str(out), "--json"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("algo", "env", "env_steps", "final_eval_return", "steps_to_threshold", "learning_curve"):
        assert key in metrics
    assert metrics["algo"] == "ga" and metrics["env_steps"] >= 3000 and "wall_s" in metrics["timing"]
    assert (out / "learning_curve.png").stat().st_size > 1000 and (out / "agent.safetensors").exists()
    assert list((out / "checkpoints").iterdir())
    capsys.readouterr()
    assert run(["rl", "eval", str(out), "--episodes", "3", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["episodes"] == 3 and evaluated["algo"] == "ga" and len(evaluated["returns"]) == 3


def test_a_flag_of_another_algorithm_is_refused(tmp_path):
    from annrl.errors import InputError

    with pytest.raises(InputError, match="--sigma does not apply to --algo dqn"):
        run(["rl", "train", "--algo", "dqn", "--sigma", "0.1", "--out", str(tmp_path)])


def test_a_car_agent_trains_writes_a_gif_and_drives_in_annrl_car(tmp_path):
    out = tmp_path / "car"
    assert run(["rl", "train", "--env", "annrl/CarTrack-v0", "--track", "oval", "--continuous", "--algo", "es",
                "--steps", "2000", "--population", "8", "--eval-episodes", "1", "--final-eval-episodes", "2",
                "--no-progress", "--out", str(out), "--json"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "final_eval_laps" in metrics and (out / "policy.gif").stat().st_size > 1000
    drive = tmp_path / "drive"
    assert run(["car", "drive", "--track", "oval", "--continuous", "--policy", "checkpoint", "--checkpoint",
                str(out), "--episodes", "1", "--max-steps", "100", "--video", "none", "--out", str(drive)]) == 0
    assert json.loads((drive / "metrics.json").read_text())["policy"] == "checkpoint"


def test_a_grip_schedule_reports_how_many_changes_were_regained(tmp_path, capsys):
    out = tmp_path / "grip"
    assert run(["rl", "train", "--algo", "ppo", "--env", "annrl/CarTrack-v0", "--track", "oval", "--continuous",
                "--steps", "4096", "--num-envs", "4", "--num-steps", "64", "--eval-every", "512",
                "--eval-episodes", "2", "--grip-every", "1024", "--grips", "9,2", "--out", str(out),
                "--no-progress", "--no-figures"]) == 0
    recovery = json.loads((out / "metrics.json").read_text())["grip_recovery"]
    # changes at 1024, 2048, 3072 and 4096 (the last evaluation, at 4096, already drives on the new grip)
    assert [c["change"] for c in recovery["changes"]] == [1, 2, 3, 4] and recovery["window"] == 256
    met = sum(c["met"] for c in recovery["changes"])
    printed = capsys.readouterr().out
    assert "grip changes regained within 256 steps" in printed and f"{met}/4" in printed
