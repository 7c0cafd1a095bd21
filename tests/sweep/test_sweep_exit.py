"""``annrl sweep`` says by its exit status whether every run finished; a file asking for too many runs is refused."""

import json

import pytest

from annrl.cli import main
from annrl.errors import InputError
from annrl.sweep import parse_sweep


@pytest.mark.parametrize(("losses", "status"), [(["mse"], 0), (["hinge"], 1), (["mse", "hinge"], 1)])
def test_the_exit_status_is_one_when_any_run_failed(tmp_path, losses, status):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"command: xor\ngrid: {{loss: [{', '.join(losses)}]}}\nretries: 0\n"
                     "options: {epochs: 5, extend: 0}\n")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--no-progress"]) == status
    failed = json.loads((tmp_path / "out" / "metrics.json").read_text())["failed"]
    assert ["hinge" in f["argv"] for f in failed] == [True] * ("hinge" in losses)


def test_a_sweep_of_a_trillion_samples_is_refused_before_any_setting_is_drawn():
    with pytest.raises(InputError, match=r"the sweep asks for 1,000,000,000,000 runs .* the limit is 100,000"):
        parse_sweep({"command": "xor", "random": {"lr": {"uniform": [0.1, 1.0]}}, "samples": 10**12})
