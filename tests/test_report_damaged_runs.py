"""``annrl report``: a hostile metrics.json costs only its own run's section."""

import json

from annrl.report_cli import write_runs_report


def test_one_deeply_nested_metrics_file_does_not_kill_the_report(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "metrics.json").write_text(json.dumps({"success_rate": 0.75}))
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    page = write_runs_report(tmp_path).read_text()
    assert "0.75" in page
    assert "is nested 100000 levels deep; the limit is 64" in page
