"""``annrl adapt``: the three experiments through argparse, their metrics.json and figures; the zoo entry."""

import argparse
import json

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.labs.adapt import cli as adapt_cli
from annrl.labs.adapt.lab import StreamConfig, run_stream


def parse(argv):
    parser = argparse.ArgumentParser()
    adapt_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_adapt_grow_writes_metrics_and_the_size_figure(tmp_path, capsys):
    args = parse(["adapt", "grow", "--epochs", "2000", "--out", str(tmp_path), "--json"])
    assert args.handler(args) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["linear"]["units"] == 0 and metrics["sin(3 x1) cos(2 x2)"]["units"] >= 2
    assert json.loads(capsys.readouterr().out) == metrics
    assert (tmp_path / "grow_size.png").stat().st_size > 1000


def test_adapt_stream_compares_the_three_learners(tmp_path):
    args = parse(["adapt", "stream", "--kinds", "sudden", "--samples", "3000", "--warmup", "600",
                  "--out", str(tmp_path), "--json"])
    assert args.handler(args) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())["sudden"]
    assert m["drifts"] == [1800]
    assert m["continual"]["drifts"][0]["after"] > m["frozen"]["drifts"][0]["after"] + 0.3
    assert (tmp_path / "stream_sudden.png").exists()


def test_adapt_lms_reports_the_wiener_weights_and_the_bounds(tmp_path):
    args = parse(["adapt", "lms", "--steps", "600", "--runs", "10", "--out", str(tmp_path), "--json"])
    assert args.handler(args) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    np.testing.assert_allclose(m["short_filter"]["lms_mean_weights"], m["short_filter"]["wiener"], atol=0.05)
    assert m["bounds"]["mean_square"] < m["bounds"]["two_over_trace"] < m["bounds"]["mean_2_over_lambda_max"]
    assert m["noise_cancellation"]["snr_out_db"] > m["noise_cancellation"]["snr_in_db"] + 10
    assert m["classifier"]["band_madaline_error"] < m["classifier"]["band_adaline_error"]
    for name in ("learning_curves", "step_sizes", "noise_cancellation", "tracking"):
        assert (tmp_path / f"lms_{name}.png").exists()


def test_bad_options_are_refused(capsys):
    with pytest.raises(SystemExit):
        parse(["adapt", "stream", "--kinds", "sudden,abrupt"])
    assert "must be comma-separated among" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(["adapt", "lms", "--mus", "0.1,-1"])


@pytest.mark.slow
def test_demo_step_returns_a_section_and_numbers(tmp_path):
    section, numbers = adapt_cli.demo_step(tmp_path, quick=True)
    assert numbers["adapt_continual_accuracy_after_drift"] > numbers["adapt_frozen_accuracy_after_drift"] + 0.3
    for figure in section.figures:
        assert (tmp_path / figure).exists()


def test_zoo_adaline_builds_a_dense_network_and_its_demo_meets_the_theory(tmp_path):
    from annrl.nn import Dense, Network
    from annrl.zoo import adaline

    net = adaline.build(seed=0)
    assert isinstance(net, Network) and isinstance(net.layers[0], Dense) and len(net.layers) == 1
    w = np.asarray(net.params_["0.weight"])[0, :, 0]
    assert w[0] > 0 and w[1] > 0  # the clouds sit at (1, 1) and (-1, -1)
    metrics = adaline.demo(tmp_path, quick=True)
    assert metrics["final_mse"] == pytest.approx(metrics["theory_final_mse"], rel=0.3)
    assert metrics["weight_error_vs_wiener"] < 0.02 and metrics["classifier_error"] < 0.05
    assert (tmp_path / "adaline_learning_curves.png").exists()


def test_an_experiment_takes_a_generator_or_a_seed_and_a_seed_means_the_same_numbers():
    config = StreamConfig(kinds=("sudden",), samples=1500, warmup=300, seed=3)
    by_config = run_stream(config).metrics["sudden"]
    assert run_stream(config, np.random.default_rng(3)).metrics["sudden"] == by_config
    assert run_stream(config, 3).metrics["sudden"] == by_config
    other = run_stream(config, 4).metrics["sudden"]
    assert other["continual"]["accuracy_after_first_drift"] != by_config["continual"]["accuracy_after_first_drift"]


def test_a_stream_too_short_after_its_warm_up_is_refused_on_entry():
    with pytest.raises(InputError, match="samples must be at least warmup \\+ 400 = 1400, got 1200"):
        StreamConfig(samples=1200, warmup=1000)
