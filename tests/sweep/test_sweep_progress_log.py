"""``annrl sweep`` shows its progress as every command does (annrl.progress) and honours ``--log`` in each run."""

import json

import pytest

from annrl import progress
from annrl.cli import main
from annrl.errors import InputError
from annrl.sweep import parse_sweep, run_sweep

GRID = "command: xor\ngrid: {lr: [0.1, 0.5]}\nseeds: 3\noptions: {epochs: 300, extend: 0}\n"


def sweep_file(tmp_path, text=GRID):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return str(path)


def test_a_sweep_logged_to_a_file_prints_plain_progress_lines_and_no_run_of_its_own(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "PLAIN_EVERY", 0.0)
    assert main(["sweep", sweep_file(tmp_path), "--out", str(tmp_path / "out")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("annrl: ")]
    assert lines[0] == "annrl: sweep: started"
    assert lines[1].startswith("annrl: sweep: 50%, ") and lines[1].endswith(", failed 0")
    assert lines[2].startswith("annrl: sweep: 100%, 0s left, failed 0")
    assert lines[3].startswith("annrl: sweep: done in ") and len(lines) == 4  # the runs' own phases are silent


@pytest.mark.parametrize("flag", ["--quiet", "--no-progress"])
def test_quiet_sweeps_print_no_progress(tmp_path, capsys, monkeypatch, flag):
    assert main(["sweep", sweep_file(tmp_path), "--out", str(tmp_path / "out"), flag]) == 0
    assert "annrl: " not in capsys.readouterr().err
    # --quiet ends with the command: what the caller runs next in the same process shows its progress
    monkeypatch.setattr(progress, "PLAIN_EVERY", 0.0)
    with progress.phase("next", 1) as bar:
        bar.advance()
    assert capsys.readouterr().err.startswith("annrl: next: started")


def test_each_run_streams_the_log_it_would_write_alone(tmp_path, capsys):
    assert main(["sweep", sweep_file(tmp_path), "--out", str(tmp_path / "out"), "--log", "jsonl,csv"]) == 0
    sweep = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert all("--log" not in argv for argv in sweep["runs"])  # the plan is unchanged: a resume still matches
    argv = sweep["runs"][1]
    assert main([*argv, "--out", str(tmp_path / "alone"), "--log", "jsonl,csv"]) == 0
    in_sweep = (tmp_path / "out" / "runs" / "run-00001" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in in_sweep] == [100, 200, 300]
    assert in_sweep == (tmp_path / "alone" / "log.jsonl").read_text().splitlines()
    assert (tmp_path / "out" / "runs" / "run-00001" / "log.csv").read_text() == \
        (tmp_path / "alone" / "log.csv").read_text()
    assert not (tmp_path / "out" / "log.jsonl").exists()  # the sweep itself logs nothing of the runs'


def test_a_log_option_in_the_sweep_file_is_honoured_in_process(tmp_path):
    config = parse_sweep({"command": "xor", "seeds": 1, "options": {"epochs": 200, "extend": 0, "log": "jsonl"}})
    run_sweep(config, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "runs" / "run-00000" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [100, 200] and all(0 < r["loss"] < 1 for r in rows)


def test_log_for_a_command_without_it_is_refused_before_anything_runs(tmp_path):
    config = parse_sweep({"command": "adapt grow", "seeds": 1})
    with pytest.raises(InputError, match="command 'adapt grow' has no --log option.*got --log jsonl"):
        run_sweep(config, tmp_path / "out", log=("jsonl",))
    assert not (tmp_path / "out").exists()


def test_an_unknown_sink_ends_the_sweep_with_one_line(tmp_path, capsys):
    assert main(["sweep", sweep_file(tmp_path), "--out", str(tmp_path / "out"), "--log", "parquet"]) == 2
    assert "--log must be a comma-separated list of jsonl, csv, tensorboard, got 'parquet'" in capsys.readouterr().err
