"""``annrl extract``: saved networks read back on the command line."""

import argparse
import json

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.io.network_file import save_network
from annrl.labs.logic.compile import compile_function
from annrl.nn import MLP
from annrl.nn.lbfgs import fit_lbfgs
from annrl.symbolic import cli
from annrl.symbolic.boolean import gate


def run(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["extract", *argv])
    return args.handler(args)


@pytest.fixture
def xor_file(tmp_path):
    return save_network(tmp_path / "xor.safetensors", compile_function(gate("xor")).net, {"lab": "logic"})


def test_logic_json(xor_file, tmp_path, capsys):
    assert run([str(xor_file), "--kind", "logic", "--json", "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["outputs"][0]["formula"] == "(a & ~b) | (b & ~a)" and metrics["consistent"]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["kind"] == "logic"


def test_exact_json_has_latex_and_python(xor_file, tmp_path, capsys):
    run([str(xor_file), "--kind", "exact", "--json", "--out", str(tmp_path / "out")])
    metrics = json.loads(capsys.readouterr().out)
    assert "Heaviside" in metrics["outputs"][0]["expression"] and "def network(a, b)" in metrics["python"]
    assert metrics["max_error"] == 0.0


def test_formula_with_figures(tmp_path, capsys):
    X = np.linspace(-3, 3, 200)[:, None]
    net = MLP([1, 16, 1], hidden="tanh", init="torch", seed=0)
    fit_lbfgs(net, X, np.sin(X), until=1e-7, max_iter=1000)
    path = save_network(tmp_path / "sin.safetensors", net)
    out = tmp_path / "out"
    run([str(path), "--kind", "formula", "--domain=-3:3", "--inputs", "x", "--json", "--out", str(out)])
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["expression"] == "sin(x)" and metrics["figures"] == ["pareto.png", "formula.png"]
    assert (out / "pareto.png").stat().st_size > 0 and (out / "formula.png").stat().st_size > 0


def test_domain_parsing():
    assert cli.parse_domain("-3:3", 2) == [(-3.0, 3.0), (-3.0, 3.0)]
    assert cli.parse_domain(None, 1) == [(-1.0, 1.0)]
    with pytest.raises(InputError):
        cli.parse_domain("3:-3", 1)
    with pytest.raises(InputError):
        cli.parse_domain("0:1,0:1", 3)


def test_a_model_file_of_the_approximation_lab_is_read_in_the_targets_own_units(tmp_path, capsys):
    from annrl.cli import main

    lab = tmp_path / "approx"
    assert main(["approx", "x**2 + 1", "--domain=-3:3", "--seeds", "1", "--optimizer", "lbfgs", "--tol", "1e-4",
                 "--epochs", "500", "--out", str(lab), "--json"]) == 0
    capsys.readouterr()
    # the network saw inputs scaled to [-1, 1] and a standardised target: the formula must undo both
    run([str(lab / "model.safetensors"), "--kind", "formula", "--inputs", "x", "--json", "--out",
         str(tmp_path / "out")])
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["domain"] == [[-3.0, 3.0]]
    assert metrics["expression"] == "x**2 + 1", metrics["expression"]


def test_formula_plots_draw_into_a_given_axes_and_write_nothing(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from annrl.symbolic.cli import formula_figure, pareto_figure
    from annrl.symbolic.formula import fit_formula

    monkeypatch.chdir(tmp_path)
    X = np.linspace(-2, 2, 200)[:, None]
    result = fit_formula(X, 3 * X[:, 0] ** 2, inputs=["x"], max_seconds=5.0, rng=np.random.default_rng(0))
    mine = Figure()
    ax = mine.subplots()
    assert pareto_figure(result, ax=ax) is mine and ax.get_yscale() == "log"
    drawn = formula_figure(lambda x: 3 * x[:, 0] ** 2, result, [(-2.0, 2.0)], fig=Figure())
    assert len(drawn.axes) == 1 and len(drawn.axes[0].lines) == 2
    assert list(tmp_path.iterdir()) == []
