"""The dynamics lab on the user's own system (typed equations or a measured CSV), and its law read back."""

import json

import numpy as np
import pytest

from annrl.cli import main
from annrl.errors import InputError
from annrl.labs.dynamics.lab import DynamicsConfig, train
from annrl.systems import System

LV = "x' = a*x - b*x*y; y' = d*x*y - c*y"
TRUTH = {"x'": {"x": 1.3, "x*y": -0.5}, "y'": {"x*y": 0.2, "y": -0.7}}


def test_cli_learns_the_users_system_and_extract_prints_its_law_in_the_users_names(tmp_path, capsys):
    run = tmp_path / "mine"
    assert main(["dynamics", "--system", LV, "--params", "a=1.3,b=0.5,c=0.7,d=0.2", "--x0", "4,2", "--t-end", "25",
                 "--dt", "0.05", "--noise", "0.01", "--approach", "derivative", "--epochs", "200", "--hidden", "16",
                 "--out", str(run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["equations"] == ["x' = 1.3 x - 0.5 x y", "y' = -0.7 y + 0.2 x y"]
    assert metrics["params"]["trajectory"]["samples"] == 501 and metrics["variables"] == ["x", "y"]
    assert main(["extract", str(run / "model-derivative.safetensors"), "--kind", "law", "--json",
                 "--out", str(tmp_path / "law"), "--no-figures"]) == 0
    law = json.loads(capsys.readouterr().out)
    assert set(law["coefficients"]) == {"x'", "y'"}
    for equation, terms in TRUTH.items():
        assert set(law["coefficients"][equation]) == set(terms)
        for name, value in terms.items():
            assert law["coefficients"][equation][name] == pytest.approx(value, rel=0.02)  # measured: < 0.3%
            low, high = law["intervals"][equation][name]
            assert low < law["coefficients"][equation][name] < high
    assert "96% of the time at 1% noise" in law["interval_method"]
    assert law["noise_estimate"] == pytest.approx(0.01, abs=0.002) and "interval_warning" not in law
    assert law == json.loads((tmp_path / "law" / "metrics.json").read_text()) | {"figures": []}


def test_measured_data_with_irregular_steps_trains_the_derivative_approach(tmp_path, capsys):
    system = System.from_equations("u' = -0.3*u + w; w' = -u - 0.3*w")
    fine = system.simulate((2.0, 0.0), (0.0, 12.0), 0.01)
    keep = np.sort(np.random.default_rng(0).choice(np.arange(1, len(fine.t) - 1), 240, replace=False))
    keep = np.r_[0, keep]
    lines = ["t,w,u"] + [f"{fine.t[i]:.4f},{fine.x[i, 1]:.8f},{fine.x[i, 0]:.8f}" for i in keep]
    (tmp_path / "m.csv").write_text("\n".join(lines))
    config = DynamicsConfig(data=str(tmp_path / "m.csv"), epochs=200, hidden=(16,), noise=0.0)
    result = train(config)
    assert list(result.fields) == ["derivative"] and result.system is None
    assert result.trajectory.names == ("w", "u") and result.metrics["params"]["trajectory"]["dt"] is None
    assert result.metrics["field_rmse"] is None and result.metrics["rollout_rmse"] < 0.1
    with pytest.raises(InputError, match="approach 'rollout' needs equally spaced times"):
        train(DynamicsConfig(data=str(tmp_path / "m.csv"), approach="rollout", rollout_epochs=1))


@pytest.mark.parametrize(("argv", "message"), [
    (["--system", "x' = a*x + q; y' = -y", "--params", "a=1", "--x0", "1,1"], "equation 1 (x'): expression"),
    (["--system", LV, "--params", "a=1.3,b=0.5,c=0.7,d=fast", "--x0", "4,2"],
     "parameter 'd' must be a number, got 'fast'"),
    (["--system", LV, "--params", "a=1.3,b=0.5,c=0.7,d=0.2", "--x0", "4,2,1"], "x0 must have 2 numbers (x, y)"),
    (["--system", LV, "--params", "a=1.3,b=0.5,c=0.7,d=0.2"], "x0 is needed"),
    (["pendulum", "--params", "mass=2"], "pendulum has no parameter 'mass'"),
    (["pendulum", "--system", LV], "give the system once"),
])
def test_bad_user_systems_are_refused_with_one_line(argv, message, tmp_path, capsys):
    assert main(["dynamics", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err


def test_built_in_systems_take_new_parameters_start_and_span():
    config = DynamicsConfig(system="van-der-pol", params={"mu": 0.5}, x0=(1.0, 0.0), t_end=5.0, dt=0.1,
                            approach="derivative", epochs=5, hidden=(8,))
    result = train(config)
    assert result.system.mu == 0.5 and len(result.trajectory.t) == 51
    np.testing.assert_allclose(result.trajectory.x_clean[0], [1.0, 0.0])
