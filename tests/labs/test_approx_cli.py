"""``annrl approx`` on the command line: metrics.json, figures, studies, one-line errors."""

import argparse
import json

import pytest

from annrl.errors import run_cli
from annrl.labs.approx import cli as approx_cli


def parse(argv):
    parser = argparse.ArgumentParser(prog="annrl")
    approx_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["approx", *argv])


def test_an_expression_on_a_negative_domain_writes_metrics_and_figures(tmp_path, capsys):
    out = tmp_path / "run"
    args = parse(["x*exp(-x**2)", "--domain", "-3:3", "--optimizer", "lbfgs", "--seeds", "3", "--out", str(out),
                  "--json"])
    assert run_cli(args.handler, args) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((out / "metrics.json").read_text())
    assert printed == written
    assert written["domain"] == [[-3.0, 3.0]] and written["expression"] == "x*exp(-x**2)"
    assert written["reached"] is True and written["error"] <= 1e-2 and written["reached_seeds"] == 3
    assert len(written["epochs_per_seed"]) == 3 and written["hidden"] == [16]
    assert (out / "fit.png").stat().st_size > 10_000 and (out / "error_curve.png").exists()


def test_negative_values_reach_the_options_as_values():
    args = parse(["-x**2", "--domain", "-pi:pi", "--tol", "none", "--hidden", "32,32"])
    assert (args.target, args.domain, args.tol, args.hidden) == ("-x**2", "-pi:pi", None, (32, 32))
    config = approx_cli.config_from_args(args)
    assert config.domain == ((-3.141592653589793, 3.141592653589793),)


def test_a_surface_run_draws_a_surface(tmp_path):
    out = tmp_path / "surface"
    args = parse(["paraboloid", "--optimizer", "lbfgs", "--epochs", "50", "--points", "10", "--out", str(out),
                  "--json"])
    assert run_cli(args.handler, args) == 0
    assert (out / "surface.png").exists() and json.loads((out / "metrics.json").read_text())["variables"] == ["x", "y"]


def test_a_study_writes_its_table(tmp_path, capsys):
    out = tmp_path / "capacity"
    args = parse(["sin", "--study", "capacity", "--widths", "1,4", "--depths", "1", "--optimizer", "lbfgs",
                  "--epochs", "200", "--out", str(out)])
    assert run_cli(args.handler, args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["study"] == "capacity" and [r["hidden"] for r in metrics["rows"]] == ["1", "4"]
    assert metrics["rows"][0]["error"] > metrics["rows"][1]["error"]
    assert (out / "capacity.png").exists() and "smallest_meeting_tol" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["sin", "--domain", "3:1"], "annrl: error: --domain must be LOW:HIGH with LOW < HIGH, got 3:1"),
    (["sin(x"], "annrl: error: expression 'sin(x': invalid syntax"),
    (["sin", "--momentum", "1.5"], r"annrl: error: --momentum must be a number in [0, 1), got 1.5"),
    (["sin", "--study", "capacity", "--widths", "4,x"], "annrl: error: --widths must be comma-separated positive"),
])
def test_bad_input_ends_with_one_line(argv, message, tmp_path, capsys):
    args = parse([*argv, "--out", str(tmp_path)])
    assert run_cli(args.handler, args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


@pytest.mark.slow
def test_the_demo_step_returns_a_section_with_figures(tmp_path):
    section, numbers = approx_cli.approx_step(tmp_path, quick=True)
    assert numbers["approx_sin_reached_seeds"] == 5 and numbers["approx_sin_error"] <= 1e-2
    assert numbers["approx_error_near_jump"] > numbers["approx_error_near_smooth"]
    assert all((tmp_path / figure).exists() for figure in section.figures) and len(section.tables) == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["sin", "--tol", "abc"], "argument --tol: must be a number, got 'abc'"),
    (["sin", "--tol", "inf"], "argument --tol: must be a finite number, got inf"),
    (["sin", "--tol", "-1"], "argument --tol: must be > 0, got -1"),
])
def test_bad_numbers_are_refused_by_argparse_with_the_rule(argv, message, capsys):
    # the message names the option and the rule, never the converting function (argparse's default)
    with pytest.raises(SystemExit):
        parse(argv)
    assert capsys.readouterr().err.rstrip().endswith(message)
