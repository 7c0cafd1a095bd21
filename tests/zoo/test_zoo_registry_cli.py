"""The registry's contract for every architecture, and `annrl zoo` (list, one demo, gallery, demo step)."""

import argparse
import inspect
import json

import pytest

from annrl.errors import InputError
from annrl.zoo import cli, registry


def zoo_command(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["zoo", *argv])
    return args.handler(args)


@pytest.mark.parametrize("path", registry.REGISTRY)
def test_every_registered_module_follows_the_contract(path):
    module = registry._import(path)
    assert isinstance(module.NAME, str) and module.NAME and " " not in module.NAME
    assert isinstance(module.SUMMARY, str) and "\n" not in module.SUMMARY and len(module.SUMMARY) < 120
    assert list(inspect.signature(module.build).parameters) == ["seed"]
    assert list(inspect.signature(module.demo).parameters) == ["out", "seed", "quick"]


def test_names_are_unique_and_loadable():
    names = registry.names()
    assert len(names) == len(set(names)) == len(registry.REGISTRY)
    assert registry.load("esn").NAME == "esn"


def test_listing_prints_one_line_per_architecture(capsys):
    assert zoo_command([]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(registry.REGISTRY)
    assert any(line.startswith("perceptron ") for line in lines)


def test_one_demo_writes_its_figure_diagram_and_metrics(tmp_path, capsys):
    assert zoo_command(["perceptron", "--out", str(tmp_path), "--quick", "--json"]) == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"perceptron.png", "diagram.png", "metrics.json"}
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["separable_accuracy"] == 1.0
    assert json.loads(capsys.readouterr().out) == metrics


def test_unknown_name_lists_the_names():
    with pytest.raises(InputError, match="architecture must be one of .*perceptron.*esn"):
        zoo_command(["perceptronn", "--out", "unused"])


def test_gallery_writes_one_page(tmp_path):
    metrics = cli.run_gallery(tmp_path, names=["perceptron", "rbf"], quick=True)
    page = (tmp_path / "index.html").read_text()
    assert "perceptron/diagram.png" in page and "rbf/rbf.png" in page
    assert set(metrics) == {"perceptron", "rbf"} and (tmp_path / "rbf" / "metrics.json").exists()


def test_demo_step_returns_a_section_and_numbers(tmp_path):
    section, numbers = cli.demo_step(tmp_path, quick=True)
    assert section.title == "The zoo" and "zoo/esn/diagram.png" in section.figures
    assert numbers["zoo_esn_one_step_nrmse"] < 0.01 and numbers["zoo_perceptron_separable_accuracy"] == 1.0
    assert all((tmp_path / f).exists() for f in section.figures)
