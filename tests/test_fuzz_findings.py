"""What ``benchmarks/fuzz.py --cases 5000 --seed 1`` found (issue #24), each a named regression test.

Each case ended in a traceback where one line is promised; the fuzz case that found it is quoted.
"""

from __future__ import annotations

import pytest

from annrl.cli import main


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    """A GA agent's run folder, as ``annrl rl train`` writes it (a second or two)."""
    out = tmp_path_factory.mktemp("ga")
    code = main(["rl", "train", "--algo", "ga", "--steps", "200", "--population", "4", "--eval-episodes", "1",
                 "--final-eval-episodes", "1", "--no-figures", "--no-progress", "--json", "--out", str(out)])
    assert code == 0
    return out


def test_rl_eval_with_a_negative_seed_is_one_line(agent, capsys):
    # case 203: rl eval RUN --episodes 1 --seed -1 -> numpy's "expected non-negative integer" traceback
    capsys.readouterr()
    assert main(["rl", "eval", str(agent), "--episodes", "1", "--seed", "-1"]) == 2
    assert capsys.readouterr().err.strip() == "annrl: error: --seed must be >= 0, got -1"


@pytest.mark.parametrize("special", ["/dev/zero", "fifo.json"])
def test_a_track_that_is_a_device_or_fifo_is_refused_by_type(tmp_path, monkeypatch, capsys, special):
    # car drive --track /dev/zero read zeros until killed (a hang); a FIFO named x.json blocked forever
    import os

    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "fifo.json")
    assert main(["car", "show", special, "--out", "x.png"]) == 2
    kind = "a device" if special == "/dev/zero" else "a FIFO (named pipe)"
    assert capsys.readouterr().err.strip().endswith(f"track file '{os.path.abspath(special)}' is {kind}, "
                                                    "not a regular file")


@pytest.mark.parametrize("domain", ["1e308:inf", "-1e308:1e308", "nan:1"])
def test_extract_refuses_a_domain_whose_width_is_not_finite(tmp_path, capsys, domain):
    # extract MODEL --kind formula --domain=1e308:inf: numpy's "OverflowError: Range exceeds valid bounds"
    from annrl.io.network_file import save_network
    from annrl.nn import MLP

    model = save_network(tmp_path / "m.safetensors", MLP([2, 3, 1], seed=0))
    argv = ["extract", str(model), "--kind", "formula", f"--domain={domain}", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"annrl: error: --domain must be finite ranges with lo < hi, got '{domain}'"


@pytest.fixture
def runs(tmp_path):
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "metrics.json").write_text('{"loss": 0.5}')
    return tmp_path / "runs"


def test_report_refuses_a_page_name_too_long_for_the_file_system(runs, tmp_path, capsys, monkeypatch):
    # case 629: report RUNS --output xxx...(5000) -> "OSError: [Errno 36] File name too long" at the end
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(runs), "--output", "x" * 5000]) == 2
    assert capsys.readouterr().err.strip() == ("annrl: error: --output names a file of 5,000 bytes; the file system "
                                               "takes at most 255")


def test_report_refuses_a_page_that_is_a_folder(runs, capsys):
    assert main(["report", str(runs), "--output", str(runs)]) == 2
    assert capsys.readouterr().err.strip() == (f"annrl: error: --output {runs} is a folder; name the page's file, "
                                               f"such as {runs / 'report.html'}")


def test_a_report_that_cannot_be_written_is_one_line_and_exit_74(runs, capsys, monkeypatch):
    import errno

    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("annrl.report_cli.write_report", full)
    assert main(["report", str(runs)]) == 74  # run_cli's answer to a disk fault at any write
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"annrl: error: cannot write {runs / 'report.html'}: No space left "
                                                   "on device; ")


@pytest.mark.parametrize("experiment", [["lms", "--steps", "200", "--runs", "4", "--mus", "0.01"],
                                        ["grow", "--epochs", "200", "--max-units", "4"]])
def test_adapt_checks_its_out_before_the_experiment(tmp_path, capsys, experiment):
    # case 1018: adapt grow ... --out DIR/xxx...(300) ran the experiment, then "OSError: File name too long"
    out = tmp_path / ("x" * 300)
    assert main(["adapt", *experiment, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"annrl: error: --out {out} cannot be written: File name too long"


def test_car_show_bounds_the_checkpoints_it_marks(tmp_path, capsys):
    # case 1142: car show oval --checkpoints 100000000 drew markers past the 30 s limit (a hang)
    assert main(["car", "show", "oval", "--checkpoints", "100000000", "--out", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err.strip() == "annrl: error: --checkpoints must be in [1, 1000], got 100000000"
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("command", [["zoo", "perceptron", "--quick"], ["car", "drive"], ["car", "benchmark"],
                                     ["car", "demo"]])
def test_a_negative_seed_is_refused_by_the_parser(tmp_path, capsys, command):
    # zoo --seed -1 ended in numpy's "expected non-negative integer", car drive/benchmark in gymnasium's error
    with pytest.raises(SystemExit) as stop:
        main([*command, "--seed", "-1", "--out", str(tmp_path / "o")])
    assert stop.value.code == 2
    name = " ".join(command[:2]) if command[0] == "car" else "zoo"
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"annrl {name}: error: argument --seed: must be >= 0, " \
                                                              "got -1"


def test_report_of_a_folder_name_too_long_is_one_line(tmp_path, capsys, monkeypatch):
    # case 338 (second run): report xxx...(5000) -> is_dir()'s "OSError: [Errno 36] File name too long"
    monkeypatch.chdir(tmp_path)
    assert main(["report", "x" * 5000]) == 2
    assert capsys.readouterr().err.strip() == f"annrl: error: DIR must be an existing folder, got '{'x' * 5000}': " \
                                              "File name too long"


@pytest.mark.parametrize("command", [["rl", "eval", "X", "--episodes", "1"], ["car", "show", "X"],
                                     ["car", "drive", "--track", "X", "--episodes", "1", "--max-steps", "5"]])
def test_a_path_too_long_for_any_file_is_bad_input_in_one_line(tmp_path, capsys, monkeypatch, command):
    # Path.exists() and is_dir() raise ENAMETOOLONG rather than answer False: rl eval, car show and car drive
    # --track ended in its traceback; run_cli now answers any such OSError as bad input (exit 2)
    monkeypatch.chdir(tmp_path)
    argv = ["x" * 5000 if word == "X" else word for word in command]
    assert main([*argv, "--out", str(tmp_path / "o")] if command[0] == "car" else argv) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0] == f"annrl: error: '{'x' * 76}...: File name too long"


def test_extract_bounds_the_digits_it_keeps(tmp_path, capsys):
    # case 2840 (third run): extract MODEL --kind exact --digits 10000000000 -> "ValueError: precision too big"
    from annrl.io.network_file import save_network
    from annrl.nn import MLP

    model = save_network(tmp_path / "m.safetensors", MLP([2, 3, 1], seed=0))
    argv = ["extract", str(model), "--kind", "exact", "--digits", "10000000000", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == ("annrl: error: --digits must be an integer in [1, 17] (a float64 holds "
                                               "17), got 10000000000")
    assert main([*argv[:-4], "--digits", "17", "--out", str(tmp_path / "o")]) == 0


@pytest.mark.parametrize(("dt", "says"), [("1e-320", "dt is too small for t from 0 to"),
                                          ("1e-12", "samples")])
def test_dynamics_refuses_a_time_step_whose_grid_cannot_be_counted_or_held(tmp_path, capsys, dt, says):
    # --seed 3 case 603: dynamics --dt 1e-320 overflowed counting its samples (a traceback); 1e-12 would
    # have asked NumPy for 5e13 sample times
    assert main(["dynamics", "--epochs", "1", "--dt", dt, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("annrl: error: ") and says in err and "\n" not in err


def test_a_learned_field_that_blows_up_is_given_up_on_not_integrated_for_minutes():
    # --seed 3 case 798: dynamics --lr 1 --noise 2 learned a field whose solve_ivp steps shrank for
    # minutes (7 min, and SIGTERM waited for it); now an integration has a budget of field evaluations
    import time

    import numpy as np

    from annrl.labs.dynamics.lab import MAX_FIELD_EVALUATIONS, integrate_field
    from annrl.systems import integrate

    calls = []

    def stiff(x):  # so stiff and jumpy that DOP853 shrinks its steps without end
        calls.append(1)
        return -1e9 * (x - np.sin(1e3 * len(calls)))

    start = time.process_time()
    with pytest.raises(RuntimeError, match="integration stopped after 2000 evaluations"):
        integrate(stiff, [1.0], np.linspace(0, 50, 11), max_evaluations=2000)
    assert len(calls) == 2000  # the next evaluation is refused before the field runs
    moved = integrate_field(lambda x: -1e9 * (x - 1.0) * np.cos(x * 1e6), np.array([2.0, 0.5]),
                            np.linspace(0, 50, 11))
    assert np.isnan(moved).all() and time.process_time() - start < 30
    assert MAX_FIELD_EVALUATIONS >= 10 * 6_000  # well above what the built-in systems' learned fields take


def test_adapt_lms_with_a_step_size_far_past_stability_reports_divergence_not_a_traceback(tmp_path, capsys):
    # --seed 3 case 4985: adapt lms --mus 1e308 overflowed Python's float in the theoretical learning curve
    import numpy as np

    from annrl.labs.adapt.theory import learning_curve

    curve = learning_curve(np.eye(2), 1e308, 0.01, np.ones(2), 5)
    assert curve[0] == 2.01 and not np.isfinite(curve[-1])  # diverged, as LMS does at that step size
    assert main(["adapt", "lms", "--steps", "200", "--runs", "4", "--mus", "1e308", "--quiet", "--json",
                 "--out", str(tmp_path / "out")]) == 0
