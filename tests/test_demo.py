"""``annrl demo --quick``: every step of the tour runs and lands in one HTML report."""

import json
import re

from annrl.cli import main
from annrl.demo import STEPS


def test_quick_demo_writes_a_report_with_every_step(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    html = (tmp_path / "index.html").read_text()
    assert len(re.findall("<h2>", html)) == len(STEPS)
    for image in re.findall(r"<img src='([^']+)'", html):
        assert (tmp_path / image).stat().st_size > 1000, image
    assert metrics["xor_single_neuron_success_rate"] == 0.0
    assert 0.5 < metrics["xor_success_rate"] < 0.95
    assert set(metrics["timing"]) == {name for name, _ in STEPS}
