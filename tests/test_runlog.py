"""--log: a training's numbers streamed to <out>/log.jsonl, log.csv and TensorBoard while it runs."""

import csv
import json
import subprocess
import sys
import time

import pytest

from annrl import progress
from annrl.errors import InputError
from annrl.nn import MLP, SGD, Trainer
from annrl.runlog import RunLog, parse_sinks

EPOCHS = 400_000


def test_a_training_command_has_logged_five_lines_before_it_is_half_done(tmp_path):
    log = tmp_path / "out" / "log.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "annrl", "xor", "--seeds", "50", "--epochs", str(EPOCHS),
                             "--extend", "0", "--out", str(tmp_path / "out"), "--log", "jsonl", "--quiet", "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, lines = time.monotonic() + 120, []
        while time.monotonic() < deadline and len(lines) < 5:
            assert proc.poll() is None, proc.stderr.read()
            lines = log.read_text().splitlines() if log.exists() else []
            time.sleep(0.2)
        assert proc.poll() is None  # still training
    finally:
        proc.kill()
        proc.wait()
    rows = [json.loads(line) for line in lines[:5]]
    assert [r["step"] for r in rows] == [100, 200, 300, 400, 500]  # a line per report, in order
    assert all(0 < r["loss"] < 1 and r["learning_rate"] == pytest.approx(0.02) for r in rows)


def test_jsonl_merges_a_step_and_csv_keeps_every_number(tmp_path):
    with RunLog(tmp_path, ("jsonl", "csv")) as log, progress.listening(log, records=True):
        progress.record(10, policy_loss=0.5, entropy=0.7)
        progress.report(10, eval_return=42.0)
        progress.record(20, policy_loss=0.25)
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert rows == [{"step": 10, "policy_loss": 0.5, "entropy": 0.7, "eval_return": 42.0},
                    {"step": 20, "policy_loss": 0.25}]
    with open(tmp_path / "log.csv") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["step", "name", "value"] and len(table) == 5
    assert table[3] == ["10", "eval_return", "42.0"]


def test_records_reach_only_the_listeners_that_asked_for_them():
    heard, logged = [], []
    with progress.listening(heard.append), progress.listening(logged.append, records=True):
        progress.record(1, loss=1.0)
        progress.report(2, eval_return=3.0)
    assert heard == [{"step": 2, "eval_return": 3.0}]
    assert logged == [{"step": 1, "loss": 1.0}, {"step": 2, "eval_return": 3.0}]


def test_the_trainer_logs_its_learning_rate(tmp_path):
    import numpy as np

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    trainer = Trainer(MLP([2, 2, 1], population=3, seed=0), X, X[:, :1], loss="mse", optimizer=SGD(lr=0.05))
    with RunLog(tmp_path, ("jsonl",)) as log, progress.listening(log, records=True):
        trainer.run(300)
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["learning_rate"]) for r in rows] == [(100, 0.05), (200, 0.05), (300, 0.05)]


def test_tensorboard_event_files_hold_the_scalars(tmp_path):
    pytest.importorskip("tensorboardX")
    with RunLog(tmp_path, ("tensorboard",)) as log, progress.listening(log, records=True):
        progress.report(5, loss=0.125)
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1 and b"loss" in events[0].read_bytes()


@pytest.mark.parametrize("text", ["", "jsonl,parquet", "txt"])
def test_an_unknown_sink_is_refused(text):
    with pytest.raises(InputError, match="--log must be a comma-separated list of jsonl, csv, tensorboard"):
        parse_sinks(text)
