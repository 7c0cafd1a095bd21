"""Run folders: pruning, fallback to the previous checkpoint, metrics.json, the save schedule."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from annrl.errors import CheckpointError, InputError
from annrl.io import CheckpointSchedule, RunDir, metrics_equal


def weights(step: int) -> dict[str, np.ndarray]:
    return {"w": np.full((2, 3), float(step)), "b": np.arange(3) + step}


def damage(path, offset: int = -1) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_save_names_files_by_step_and_keeps_the_newest(tmp_path):
    run = RunDir(tmp_path / "out")
    for step in (10, 20, 30, 40, 50):
        run.save(step, weights(step), {"step": step}, keep=3)
    assert [step for step, _ in run.saved_steps()] == [30, 40, 50]
    assert run.checkpoint_path(50).name == "ckpt-000000050.safetensors"
    checkpoint, skipped = run.latest()
    assert checkpoint.step == 50 and skipped == []
    np.testing.assert_array_equal(checkpoint.tensors["w"], weights(50)["w"])
    assert checkpoint.metadata == {"step": 50}


def test_latest_falls_back_to_the_previous_checkpoint_when_the_newest_is_damaged(tmp_path):
    run = RunDir(tmp_path)
    for step in (1, 2, 3):
        run.save(step, weights(step))
    damage(run.checkpoint_path(3))
    run.checkpoint_path(2).write_bytes(b"")  # an empty file, as a full disk might leave by other means
    checkpoint, skipped = run.latest()
    assert checkpoint.step == 1
    assert [e.path for e in skipped] == [str(run.checkpoint_path(3)), str(run.checkpoint_path(2))]
    assert "checksum mismatch" in skipped[0].fault and "too short" in skipped[1].fault


def test_a_checkpoint_of_another_architecture_counts_as_damaged(tmp_path):
    run = RunDir(tmp_path)
    run.save(1, weights(1))
    run.save(2, {"w": np.zeros((5, 5)), "b": np.arange(3)})
    checkpoint, skipped = run.latest(expect={"w": ((2, 3), "float64"), "b": ((3,), None)})
    assert checkpoint.step == 1
    assert "shape (5, 5), expected (2, 3)" in skipped[0].fault


def test_a_renamed_checkpoint_is_not_trusted(tmp_path):
    run = RunDir(tmp_path)
    run.save(1, weights(1))
    run.save(2, weights(2))
    run.checkpoint_path(2).rename(run.checkpoint_path(9))
    checkpoint, skipped = run.latest()
    assert checkpoint.step == 1 and "holds step 2" in skipped[0].fault


def test_no_checkpoint_means_a_fresh_start_and_only_damaged_ones_is_an_error(tmp_path):
    run = RunDir(tmp_path / "never-written")
    assert run.latest() == (None, [])
    run.save(5, weights(5))
    damage(run.checkpoint_path(5))
    with pytest.raises(CheckpointError, match=r"no valid checkpoint to resume from \(ckpt-000000005"):
        run.latest()


def test_saving_an_earlier_step_removes_the_abandoned_later_ones(tmp_path):
    run = RunDir(tmp_path)
    for step in (100, 200, 300):
        run.save(step, weights(step))
    run.save(150, weights(150))  # resumed from 100 after 200 and 300 went bad, say
    assert [step for step, _ in run.saved_steps()] == [100, 150]


def test_stale_temp_files_from_a_killed_writer_are_removed(tmp_path):
    run = RunDir(tmp_path)
    run.save(1, weights(1))
    stale = run.checkpoints / ".ckpt-000000002.safetensors.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    assert run.latest()[0].step == 1  # never mistaken for a checkpoint
    run.save(2, weights(2))
    assert not stale.exists()


@pytest.mark.parametrize(("step", "keep"), [(-1, 3), (1.5, 3), (1, 0)])
def test_bad_step_or_keep_is_refused(tmp_path, step, keep):
    with pytest.raises(InputError, match="step must be an integer >= 0|keep must be an integer >= 1"):
        RunDir(tmp_path).save(step, weights(1), keep=keep)


# metrics -------------------------------------------------------------------------------------
def test_metrics_json_is_sorted_strict_and_keeps_timing_apart(tmp_path):
    run = RunDir(tmp_path)
    path = run.write_metrics(
        {"loss": np.float64(0.25), "accuracy": 1.0, "curve": np.array([0.5, np.nan]), "diverged": math.inf},
        timing={"seconds": 1.25},
    )
    text = path.read_text()
    assert list(json.loads(text)) == ["accuracy", "curve", "diverged", "loss", "timing"]
    assert "NaN" not in text and "Infinity" not in text
    assert run.read_metrics() == {"accuracy": 1.0, "curve": [0.5, None], "diverged": None, "loss": 0.25,
                                  "timing": {"seconds": 1.25}}


def test_metrics_equal_ignores_timing_only(tmp_path):
    a = RunDir(tmp_path / "a").write_metrics({"loss": 0.1, "timing": {"seconds": 3.0}})
    b = RunDir(tmp_path / "b").write_metrics({"loss": 0.1}, timing={"seconds": 9.0})
    assert metrics_equal(a, b)
    assert metrics_equal(a, {"loss": np.float64(0.1), "timing": {}})
    assert not metrics_equal(a, {"loss": np.nextafter(0.1, 1.0)})  # the next float: bit for bit
    assert not metrics_equal({"loss": 0.1}, {"loss": 0.1, "extra": 1})


# schedule ------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_step_schedule_saves_on_multiples_whether_resumed_or_not():
    schedule = CheckpointSchedule(every_steps=25)
    assert [s for s in range(0, 101) if schedule.due(s)] == [25, 50, 75, 100]
    resumed = CheckpointSchedule(every_steps=25)
    assert [s for s in range(51, 101) if resumed.due(s)] == [75, 100]


def test_time_schedule_is_the_default_and_restarts_after_each_save():
    clock = FakeClock()
    schedule = CheckpointSchedule(clock=clock)
    assert schedule.every_seconds == 300.0 and schedule.every_steps is None
    clock.now = 299.0
    assert not schedule.due(1)
    clock.now = 300.0
    assert schedule.due(2)
    schedule.mark_saved()
    clock.now = 599.0
    assert not schedule.due(3)


@pytest.mark.parametrize(
    ("text", "steps", "seconds"),
    [(None, None, 300.0), ("500", 500, None), (20, 20, None), ("90s", None, 90.0), ("10m", None, 600.0),
     ("1.5h", None, 5400.0), ("off", None, math.inf)],
)
def test_parse_checkpoint_every(text, steps, seconds):
    schedule = CheckpointSchedule.parse(text)
    assert (schedule.every_steps, schedule.every_seconds) == (steps, seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [("0", "--checkpoint-every must be an integer >= 1, got 0"),
     ("-5", "--checkpoint-every must be a number of steps (500), a duration (90s, 10m, 1h) or 'off', got '-5'"),
     ("soon", "got 'soon'"), ("0s", "must be > 0, got 0.0")],
)
def test_bad_checkpoint_every_is_refused_with_rule_and_value(text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CheckpointSchedule.parse(text)
