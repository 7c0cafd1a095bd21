"""Kill the XOR lab at any moment, resume it, and get the same weights and metrics bit for bit."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from annrl.io import metrics_equal, read_checkpoint

ARGS = ["--seeds", "100", "--epochs", "2000", "--extend", "3", "--checkpoint-every", "250", "--json", "--no-figures"]


def command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "annrl.cli", "xor", *ARGS, "--out", str(out), *extra]


def newest_step(out: Path) -> int:
    steps = [int(p.stem.split("-")[1]) for p in (out / "checkpoints").glob("ckpt-*.safetensors")]
    return max(steps, default=-1)


def run_until_killed(out: Path, step: int, sig=signal.SIGKILL) -> subprocess.CompletedProcess:
    process = subprocess.Popen(command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while newest_step(out) < step and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    subprocess.run(command(out), check=True, capture_output=True, timeout=300)
    return out


def same_run(a: Path, b: Path) -> None:
    assert metrics_equal(a / "metrics.json", b / "metrics.json")
    model_a, model_b = read_checkpoint(a / "model.safetensors"), read_checkpoint(b / "model.safetensors")
    for name, value in model_a.tensors.items():
        np.testing.assert_array_equal(value, model_b.tensors[name], err_msg=name)


@pytest.mark.parametrize("kill_after_step", [500, 1750, 4750])  # two in training, one in the extension
def test_sigkill_then_resume_ends_bit_for_bit_like_an_uninterrupted_run(tmp_path, uninterrupted, kill_after_step):
    killed = run_until_killed(tmp_path, kill_after_step)
    assert killed.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (tmp_path / "metrics.json").exists()
    resumed = subprocess.run(command(tmp_path, "--resume"), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    same_run(tmp_path, uninterrupted)


def test_sigterm_saves_a_checkpoint_and_says_so_in_one_line(tmp_path, uninterrupted):
    stopped = run_until_killed(tmp_path, 750, signal.SIGTERM)
    assert stopped.returncode == 128 + signal.SIGTERM
    line = stopped.stderr.strip().splitlines()[-1]
    assert line.startswith("annrl: stopped by SIGTERM; checkpoint saved to") and "--resume" in line
    subprocess.run(command(tmp_path, "--resume"), check=True, capture_output=True, timeout=300)
    same_run(tmp_path, uninterrupted)


def test_resume_falls_back_past_a_damaged_newest_checkpoint(tmp_path, uninterrupted):
    killed = run_until_killed(tmp_path, 1000)
    assert killed.returncode == -signal.SIGKILL
    newest = max((tmp_path / "checkpoints").glob("ckpt-*.safetensors"))
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    newest.write_bytes(bytes(data))
    resumed = subprocess.run(command(tmp_path, "--resume"), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0 and "skipped damaged checkpoint" in resumed.stderr
    same_run(tmp_path, uninterrupted)


def test_resume_with_other_settings_is_refused(tmp_path):
    run_until_killed(tmp_path, 250)
    other = [a if a != "100" else "120" for a in command(tmp_path, "--resume")]
    refused = subprocess.run(other, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "other settings (seeds)" in refused.stderr


def test_same_command_twice_gives_identical_metrics(tmp_path, uninterrupted):
    again = tmp_path / "again"
    subprocess.run(command(again), check=True, capture_output=True, timeout=300)
    same_run(again, uninterrupted)
    assert json.loads((again / "metrics.json").read_text())["timing"]  # wall-clock lives only here


assert os.name == "posix"  # signals as used above


def test_a_fresh_run_in_an_old_folder_starts_over_cleanly(tmp_path, uninterrupted):
    run_until_killed(tmp_path, 1000)
    fresh = subprocess.run(command(tmp_path), capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0 and "starting over" in fresh.stderr
    same_run(tmp_path, uninterrupted)
