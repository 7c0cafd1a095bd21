"""Progress of long commands: plain lines when stderr is a file (a log, a cluster job, CI), nothing under --quiet."""

import subprocess
import sys
import time

import pytest

from annrl import progress


def test_a_phase_in_a_log_file_says_its_percent_and_time_left(monkeypatch, capsys):
    monkeypatch.setattr(progress, "PLAIN_EVERY", 0.0)
    with progress.phase("study", 4) as bar:
        bar.advance()
        with progress.phase("training", 10) as inner:
            inner.update(5)
        bar.advance(3)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "annrl: study: started"
    assert lines[1].startswith("annrl: study: 25%, ") and lines[1].endswith(" left")
    # one line says where every open phase stands, the outer first
    assert lines[2].startswith("annrl: study: 25%, ") and "; training: 50%, " in lines[2]
    assert lines[3].startswith("annrl: study: 100%, 0s left")
    assert lines[4].startswith("annrl: study: done in ")
    assert len(lines) == 5


def test_quiet_silences_every_phase_and_announcement(capsys):
    with progress.quietly():
        with progress.phase("study", 2) as bar:
            bar.advance(2)
        progress.announce("a lab is done")
        assert list(progress.track([1, 2], "items")) == [1, 2]
    assert capsys.readouterr().err == ""


def test_plain_lines_come_at_most_every_ten_seconds(capsys):
    assert progress.PLAIN_EVERY == 10.0
    with progress.phase("fast", 1000) as bar:
        for _ in range(1000):
            bar.advance()
    assert capsys.readouterr().err.splitlines()[:1] == ["annrl: fast: started"]


def first_progress_line(argv, tmp_path, within=15.0):
    """Run ``annrl ARGV`` with stderr to a file; the first progress line it writes within ``within`` seconds."""
    log = tmp_path / "stderr.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "annrl", *argv, "--out", str(tmp_path / "out")],
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and proc.poll() is None:
            lines = [line for line in log.read_text().splitlines() if line.startswith("annrl: ")]
            if lines:
                return lines[0]
            time.sleep(0.2)
        return next((line for line in log.read_text().splitlines() if line.startswith("annrl: ")), None)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("argv", [
    ["approx", "sin", "--study", "capacity"],
    ["rl", "train", "--algo", "ppo"],
])
def test_a_long_command_logged_to_a_file_prints_progress_within_15_s(tmp_path, argv):
    line = first_progress_line(argv, tmp_path)
    assert line is not None and line.endswith(": started")


@pytest.mark.slow
@pytest.mark.parametrize("argv", [
    ["demo"], ["zoo", "all"], ["car", "demo"], ["memory", "--capacity"], ["dynamics", "van-der-pol"],
    ["logic", "xor"], ["adapt", "stream"], ["adapt", "lms"], ["adapt", "grow"], ["rl", "train", "--algo", "ga"],
    ["approx", "sin", "--study", "smoothness"], ["approx", "sin", "--study", "sophistication"],
])
def test_every_long_command_prints_progress_within_15_s(tmp_path, argv):
    line = first_progress_line(argv, tmp_path)
    assert line is not None and line.endswith(": started")


def test_quiet_command_prints_no_progress(tmp_path):
    assert first_progress_line(["approx", "sin", "--study", "capacity", "--quiet"], tmp_path, within=8.0) is None
