"""Issue #24, the gaps closed last: sizes and ``--out`` checked when a command starts, not when it writes.

car drive/benchmark, zoo, extract and report refuse an unwritable ``--out`` (or ``--output``) before any work,
and car drive/benchmark and extract refuse sizes that cannot fit before allocating, each in one line.
"""

from __future__ import annotations

import pytest

import annrl.envs.car_env
from annrl.cli import main
from annrl.errors import InputError, MemoryBudgetError
from annrl.io.network_file import save_network
from annrl.io.rundir import RunDir, check_folder
from annrl.nn import MLP

#: what a machine of this project has at most: estimates are compared with it, so the tests do not depend on it
AVAILABLE = 64 * 2**30


@pytest.fixture(autouse=True)
def _fixed_memory(monkeypatch):
    monkeypatch.setattr("annrl.validate.available_memory", lambda: AVAILABLE)


class CarsMade(Exception):
    """Raised instead of making cars: a refused command must stop before."""


@pytest.fixture
def no_cars(monkeypatch):
    def made(*args, **kwargs):
        raise CarsMade

    monkeypatch.setattr(annrl.envs.car_env.CarTrackVecEnv, "__init__", made)


def one_error(capsys, prefix: str = "annrl") -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(prefix), err
    return err[0]


def test_car_drive_refuses_too_many_cars_before_making_them(tmp_path, capsys, no_cars):
    assert main(["car", "drive", "--cars", "100000000", "--out", str(tmp_path / "o")]) == 2
    line = one_error(capsys, "annrl: error: this run (")
    # 3 episodes x 10^8 cars x 1 KiB of metrics rows = 286.1 GiB, and 512 B of state per car = 47.7 GiB
    assert "metrics of --episodes 3 x --cars 100000000: 286.1 GiB; --cars 100000000: 47.7 GiB" in line
    assert "needs about 333.9 GiB, over the memory limit of 48.0 GiB" in line
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_car_drive_counts_only_the_frames_its_steps_can_film(tmp_path, capsys, no_cars):
    argv = ["car", "drive", "--max-frames", "100000000", "--out", str(tmp_path / "o")]
    with pytest.raises(CarsMade):  # 3000 steps / 4 = 750 frames + 2: fits, so the cars are made
        main(argv)
    capsys.readouterr()
    assert main([*argv, "--max-steps", "10000000000", "--frame-every", "1"]) == 2
    line = one_error(capsys)
    assert "100000000 animation frames of 640x339 pixels: 19.7 TiB" in line  # the oval's frames, 1 byte a pixel


def test_car_benchmark_refuses_trajectories_that_cannot_fit(tmp_path, capsys, no_cars):
    assert main(["car", "benchmark", "--laps", "100000000", "--out", str(tmp_path / "o")]) == 2
    line = one_error(capsys, "annrl: error: this run (")
    assert "trajectories of --laps 100000000 on 54 tracks: 68.8 TiB" in line  # 125 points x 112 B per lap


@pytest.mark.parametrize("command", [["car", "drive", "--episodes", "1"], ["car", "benchmark", "--limit", "1"],
                                     ["car", "demo", "--generations", "1", "--population", "2"],
                                     ["zoo", "perceptron", "--quick"]])
def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys, no_cars, command):
    """car demo evolved, then ended in FileExistsError's traceback (found by the fuzz harness's --out values)."""
    afile = tmp_path / "afile"
    afile.write_text("mine")
    code = main([*command, "--out", str(afile)])
    assert code == 2
    assert one_error(capsys).endswith(f"--out {afile} is not a folder")
    assert afile.read_text() == "mine"


def test_a_second_process_on_the_zoo_out_is_refused(tmp_path, capsys):
    import subprocess
    import sys

    out = tmp_path / "o"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from annrl.io.rundir import RunDir; "
                               f"RunDir({str(out)!r}).acquire(); print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["zoo", "perceptron", "--quick", "--out", str(out)]) == 2
        line = one_error(capsys)
        assert line == (f"annrl: error: --out {out} is in use by another annrl process (pid {holder.pid}); "
                        "wait for it to end or choose another --out")
    finally:
        holder.kill()
        holder.wait()
    assert not (out / "metrics.json").exists()


@pytest.fixture
def deep_network(tmp_path):
    return save_network(tmp_path / "deep.safetensors", MLP([2, 32, 32, 1], output="identity", seed=0))


def test_extract_exact_refuses_a_formula_too_long_to_build(tmp_path, capsys, deep_network):
    # 32 first-layer units of 3 terms (2 inputs + bias), 32 of 32 x 3 + 1 = 97, then 32 x 97 + 1 = 3105 > 2000
    assert main(["extract", str(deep_network), "--kind", "exact", "--out", str(tmp_path / "o")]) == 2
    line = one_error(capsys)
    assert "network 0's formula would have over 3,104 terms after layer 2; the limit is 2,000" in line
    assert not (tmp_path / "o").exists()


def test_extract_estimates_the_rows_each_kind_reads(monkeypatch):
    from annrl.symbolic.cli import check_extract_sizes

    small = MLP([2, 3, 1], seed=0, population=4)
    check_extract_sizes(small, "logic", 0)  # 2 x 4 networks x 4 rows (2 inputs enumerated) x 6 units: fits
    with pytest.raises(InputError, match=r"--index must be a network of the file, in \[0, 4\), got 4"):
        check_extract_sizes(small, "exact", 4)
    monkeypatch.setattr("annrl.validate.available_memory", lambda: 2**20)
    wide = MLP([13, 3, 1], seed=0, population=4)  # over 12 inputs logic samples 2 x 2000 rows
    # 2 x 4 networks x 4000 rows x (13 + 3 + 1) units x 8 bytes = 4.2 MiB, over 75% of 1 MiB
    with pytest.raises(MemoryBudgetError, match=r"activations of 4 networks of widths \[13, 3, 1\] on 4000 rows: "
                                                r"4\.2 MiB\) needs about 4\.2 MiB"):
        check_extract_sizes(wide, "logic", 0)


def test_report_checks_its_output_folder_before_reading_the_runs(tmp_path, capsys):
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "metrics.json").write_text('{"loss": 0.5}')
    (tmp_path / "afile").write_text("mine")
    assert main(["report", str(tmp_path / "runs"), "--output", str(tmp_path / "afile" / "r.html")]) == 2
    assert one_error(capsys) == f"annrl: error: --output {tmp_path / 'afile'} is not a folder"


def test_check_folder_names_the_option_and_takes_no_lock(tmp_path, monkeypatch):
    import shutil

    folder = check_folder(tmp_path / "new" / "page", "--output")
    assert folder.is_dir() and not (folder / ".annrl.lock").exists()
    usage = shutil.disk_usage(folder)._replace(free=1024)
    monkeypatch.setattr("annrl.io.rundir.shutil.disk_usage", lambda path: usage)
    with pytest.raises(InputError, match=r"--output .*page has 1\.0 KiB free, less than the 16\.0 MiB"):
        check_folder(folder, "--output")
    with pytest.raises(InputError, match=r"^--output .*x has 1\.0 KiB free"):
        RunDir(tmp_path / "x", option="--output").acquire()


def test_approx_checks_its_sizes_once_when_its_config_is_made(tmp_path, capsys, monkeypatch):
    import annrl.labs.approx.lab as lab

    # 2 x 10000 seeds x 100000 points x 17 units x 8 bytes = 253.3 GiB
    with pytest.raises(MemoryBudgetError, match=r"activations of --seeds 10000 x --hidden \(16,\): 253\.3 GiB"):
        lab.ApproxConfig(target="sin", points=100000, seeds=10000)
    calls = []
    real = lab.check_size
    monkeypatch.setattr(lab, "check_size", lambda config, dim: calls.append(dim) or real(config, dim))
    assert main(["approx", "sin", "--seeds", "2", "--epochs", "20", "--json",
                 "--out", str(tmp_path / "o")]) == 0
    assert calls == [1]  # in ApproxConfig, not again in the CLI or in train
    capsys.readouterr()
    assert main(["approx", "sin", "--points", "100000", "--seeds", "10000", "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # one line: no progress line before it
    assert len(err) == 1 and err[0].startswith("annrl: error: this run (activations of --seeds 10000"), err
