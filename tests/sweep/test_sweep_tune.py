"""Sweeps through Ray Tune: trials of chunked runs give the in-process results; ASHA stops the runs
that fall behind, and they are recorded as stopped, never dropped or rerun."""

import json

import pytest

from annrl import progress as intermediate
from annrl.io import metrics_equal
from annrl.sweep import parse_sweep, run_sweep
from annrl.sweep.runner import run_command

pytest.importorskip("ray.tune")

LRS = [0.5, 0.0001, 0.2, 0.00001, 0.1, 0.001]
ASHA = {"command": "xor", "grid": {"lr": LRS}, "options": {"epochs": 1000, "extend": 0, "seeds": 20},
        "tune": {"scheduler": "asha", "metric": "loss", "mode": "min", "max_t": 1000, "grace_period": 200,
                 "reduction_factor": 2, "max_concurrent": 1}}
RUNGS = {200, 400, 800}


def reported_losses(argv, tmp_path):
    """The loss reports of one run of ``annrl ARGV`` in this process: {step: loss}."""
    reports = []
    with intermediate.listening(reports.append):
        code, err = run_command([*argv, "--out", str(tmp_path / "alone")])
    assert code == 0, err
    return {r["step"]: r["loss"] for r in reports}


def test_asha_stops_the_runs_that_fall_behind_and_records_them_as_stopped(tmp_path, local_ray):
    result = run_sweep(parse_sweep(ASHA), tmp_path / "sweep")
    rows = {row["param.lr"]: row for row in result.rows}
    assert len(rows) == len(LRS) and result.metrics["failed"] == []
    # one trial at a time: the first run (lr 0.5, the best) has nothing to lose against and finishes
    assert rows[0.5]["status"] == "done" and rows[0.5]["success_rate"] == 1.0
    stopped = [row for row in rows.values() if row["status"] == "stopped"]
    assert len(stopped) == result.metrics["stopped"] >= 3
    best = reported_losses(result.runs[0].argv, tmp_path)
    for row in stopped:
        # stopped at a rung, worse than the best run there, before its command wrote its metrics
        assert row["stopped_at.step"] in RUNGS
        assert row["stopped_at.loss"] > best[row["stopped_at.step"]]
        assert not (tmp_path / "sweep" / "runs" / row["id"] / "metrics.json").exists()
    assert result.ranked[0]["params"] == {"lr": 0.5}
    # a stopped run is a finished run: running the sweep again reruns nothing
    again = run_sweep(parse_sweep(ASHA), tmp_path / "sweep")
    assert again.metrics["timing"]["runs_skipped_as_finished"] == len(LRS)
    assert [row["status"] for row in again.rows] == [row["status"] for row in result.rows]
    assert "stopped_at.loss" in (tmp_path / "sweep" / "results.csv").read_text().splitlines()[0]


@pytest.mark.slow  # Tune trials cost about a second each here
def test_tune_trials_of_chunked_runs_give_the_in_process_results(tmp_path, local_ray):
    config = parse_sweep({"command": "xor", "grid": {"lr": [0.1, 0.5], "hidden": [2, 3]}, "seeds": 2,
                          "fold_seeds": False, "options": {"epochs": 150, "extend": 0}})
    here = run_sweep(config, tmp_path / "here")
    there = run_sweep(config, tmp_path / "tune", tune=True)
    assert there.metrics["done"] == 8 and there.metrics["timing"]["tune"] == "none"
    for run in here.runs:
        assert metrics_equal(*(json.loads((tmp_path / where / "runs" / run.id / "metrics.json").read_text())
                               for where in ("here", "tune"))), run.id


@pytest.mark.slow
def test_a_failed_run_under_tune_is_retried_then_listed(tmp_path, local_ray):
    config = parse_sweep({"command": "xor", "grid": {"loss": ["mse", "hinge"]}, "retries": 1,
                          "options": {"epochs": 20, "extend": 0}, "tune": {}})
    result = run_sweep(config, tmp_path)
    [failed] = result.metrics["failed"]
    assert failed["attempts"] == 2 and "invalid choice: 'hinge'" in failed["error"]


@pytest.mark.slow
def test_a_metric_the_command_does_not_report_fails_the_run_with_its_name(tmp_path, local_ray):
    config = parse_sweep({**ASHA, "grid": {"lr": [0.5]}, "retries": 0,
                          "tune": {**ASHA["tune"], "metric": "eval_return", "mode": "max"}})
    [failed] = run_sweep(config, tmp_path).metrics["failed"]
    assert "tune.metric 'eval_return' is not among the values this command reports (step, loss)" in failed["error"]
