"""Sweeps run every run, in this process or on a local Ray, keep failures and resume."""

import json

import pytest

from annrl.io import metrics_equal
from annrl.sweep import parse_sweep, run_sweep
from annrl.sweep import runner as sweep_runner

TWENTY = {"command": "xor", "grid": {"lr": [0.1, 0.5], "hidden": [2, 3]}, "seeds": 5, "fold_seeds": False,
          "options": {"epochs": 150, "extend": 0}}


def metrics_of(out, run_id):
    return json.loads((out / "runs" / run_id / "metrics.json").read_text())


@pytest.mark.slow  # a local Ray takes 10-20 s to start on two busy cores
def test_a_twenty_run_sweep_gives_the_same_metrics_in_process_and_on_ray(tmp_path, local_ray):
    config = parse_sweep(TWENTY)
    here = run_sweep(config, tmp_path / "here")
    there = run_sweep(config, tmp_path / "ray", ray="local")
    assert here.metrics["runs"] == here.metrics["done"] == there.metrics["done"] == 20
    for run in here.runs:
        assert metrics_equal(metrics_of(tmp_path / "here", run.id), metrics_of(tmp_path / "ray", run.id)), run.id
    assert _without_timing_columns(tmp_path / "ray") == _without_timing_columns(tmp_path / "here")


def _without_timing_columns(folder):
    lines = [line.split(",") for line in (folder / "results.csv").read_text().splitlines()]
    keep = [i for i, name in enumerate(lines[0]) if not name.startswith("timing.")]
    return [[cells[i] for i in keep] for cells in lines]


def test_a_twenty_run_sweep_collects_one_table_and_ranks_the_settings(tmp_path):
    here = run_sweep(parse_sweep(TWENTY), tmp_path / "here")
    assert here.metrics["runs"] == here.metrics["done"] == 20
    # the table holds one row per run, and the best setting is ranked by the mean over its 5 seeds
    lines = (tmp_path / "here" / "results.csv").read_text().splitlines()
    assert len(lines) == 21 and lines[0].startswith("id,status,attempts,error,seed,param.lr,param.hidden")
    best = here.ranked[0]
    rates = [metrics_of(tmp_path / "here", r.id)["success_rate"] for r in here.runs if r.params == best["params"]]
    assert best["runs"] == 5 and best["mean"] == pytest.approx(sum(rates) / 5)
    assert all(best["mean"] >= other["mean"] for other in here.ranked)
    assert (tmp_path / "here" / "best_settings.png").stat().st_size > 1000
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(tmp_path / "here" / "results.parquet")
    assert table.num_rows == 20 and table.column("success_rate").to_pylist() == \
        [metrics_of(tmp_path / "here", r.id)["success_rate"] for r in here.runs]


@pytest.mark.parametrize("where", [None, pytest.param("local", marks=pytest.mark.slow)])
def test_a_failed_run_is_retried_then_listed_never_dropped(tmp_path, where, request):
    if where:
        request.getfixturevalue("local_ray")
    config = parse_sweep({"command": "xor", "grid": {"loss": ["mse", "hinge"]}, "retries": 2, "seeds": 4,
                          "options": {"epochs": 20, "extend": 0}})
    result = run_sweep(config, tmp_path, ray=where)
    assert result.metrics["done"] == 1
    [failed] = result.metrics["failed"]
    assert failed["attempts"] == 3 and "invalid choice: 'hinge'" in failed["error"]
    assert "--loss" in failed["argv"] and "hinge" in failed["argv"]
    rows = {row["param.loss"]: row for row in result.rows}
    assert rows["hinge"]["status"] == "failed" and rows["mse"]["status"] == "done"
    assert "hinge" in (tmp_path / "results.csv").read_text()


def test_an_interrupted_sweep_resumes_without_rerunning_finished_runs(tmp_path, monkeypatch):
    config = parse_sweep({**TWENTY, "seeds": 2})  # 8 runs
    calls = []
    real = sweep_runner.run_command

    def interrupted_after_five(argv):
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append(argv)
        return real(argv)

    monkeypatch.setattr(sweep_runner, "run_command", interrupted_after_five)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(config, tmp_path)
    finished = {p.parent.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*/run.json")}
    assert len(finished) == 5
    monkeypatch.setattr(sweep_runner, "run_command", real)
    calls.clear()
    monkeypatch.setattr(sweep_runner, "run_command", lambda argv: calls.append(argv) or real(argv))
    result = run_sweep(config, tmp_path)
    assert len(calls) == 3 and result.metrics["done"] == 8
    assert result.metrics["timing"]["runs_skipped_as_finished"] == 5
    for run_id, mtime in finished.items():  # untouched
        assert (tmp_path / "runs" / run_id / "run.json").stat().st_mtime_ns == mtime
    run_sweep(config, tmp_path.parent / "fresh")
    for run in result.runs:
        assert metrics_equal(metrics_of(tmp_path, run.id), metrics_of(tmp_path.parent / "fresh", run.id))


def test_a_folder_of_another_sweep_is_not_mixed_in(tmp_path):
    run_sweep(parse_sweep({"command": "xor", "options": {"epochs": 10, "extend": 0}, "seeds": 2}), tmp_path)
    with pytest.raises(Exception, match="holds another sweep"):
        run_sweep(parse_sweep({"command": "xor", "options": {"epochs": 11, "extend": 0}, "seeds": 2}), tmp_path)
