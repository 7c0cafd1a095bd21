"""``annrl report DIR``: two real runs of the XOR lab gathered on one page."""

from __future__ import annotations

import argparse
import json

import pytest

from annrl.errors import InputError
from annrl.report_cli import flatten, register, write_runs_report


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from annrl.cli import main
    from annrl.viz.training import bar_table

    root = tmp_path_factory.mktemp("runs")
    code = main(["xor", "--seeds", "8", "--epochs", "300", "--hidden", "2", "--extend", "0",
                 "--checkpoint-every", "off", "--out", str(root / "lab" / "xor-h2"), "--json"])
    assert code == 0
    # a second run written by hand: its own metrics and a figure in annrl's style
    other = root / "lab" / "xor-h3"
    other.mkdir(parents=True)
    (other / "metrics.json").write_text(json.dumps({"success_rate": 0.875, "config": {"hidden": 3}}))
    bar_table(["solved", "failed"], [87.5, 12.5], other / "outcome.png", xlabel="% of seeds", title="XOR, 3 hidden")
    return root


def parser():
    top = argparse.ArgumentParser()
    register(top.add_subparsers())
    return top


def test_report_lists_both_runs_with_figures_and_metrics(runs, capsys):
    args = parser().parse_args(["report", str(runs)])
    assert args.handler(args) == 0
    page = (runs / "report.html").read_text()
    assert "report.html" in capsys.readouterr().out
    for name in ("xor-h2", "xor-h3"):
        assert f"<h2>lab/{name}</h2>" in page
        figures = sorted(p.name for p in (runs / "lab" / name).glob("*.png"))
        assert figures, f"the XOR lab wrote no figure in {name}"
        for figure in figures:
            assert f"src='lab/{name}/{figure}'" in page  # relative to the page
        metrics = json.loads((runs / "lab" / name / "metrics.json").read_text())
        success = next(v for k, v in flatten(metrics) if k.endswith("success_rate"))
        assert f"{success:.4g}" in page


def test_report_written_elsewhere_links_back_relatively(runs, tmp_path):
    page = write_runs_report(runs / "lab", tmp_path / "pages" / "all.html", title="two runs")
    text = page.read_text()
    assert "<title>two runs</title>" in text and "2 runs found" in text
    assert "src='../../" in text and (page.parent / text.split("src='")[1].split("'")[0]).resolve().is_file()


def test_flatten_summarises_long_lists():
    rows = dict(flatten({"a": {"b": 1.5}, "curve": list(range(20)), "names": ["x"] * 9, "short": [1, 2]}))
    assert rows == {"a.b": 1.5, "curve": "20 values, min 0, max 19, last 19", "names": "list of 9 items",
                    "short": "[1, 2]"}


def test_bad_folders_get_clear_errors(tmp_path):
    with pytest.raises(InputError, match="DIR must be an existing folder"):
        write_runs_report(tmp_path / "missing")
    with pytest.raises(InputError, match="no runs under"):
        write_runs_report(tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text("{oops")
    assert "could not be read" in write_runs_report(tmp_path).read_text()
