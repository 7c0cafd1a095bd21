"""Law extraction: the equations of a vector field, recovered, with uncertainty, and re-simulated."""

import json

import numpy as np
import pytest

from annrl.cli import main
from annrl.errors import InputError
from annrl.labs.dynamics.lab import DynamicsConfig, train
from annrl.symbolic.law import coefficient_errors, extract_law, resimulate
from annrl.systems import DampedPendulum, LotkaVolterra
from annrl.systems.lotka_volterra import lotka_volterra_benchmark

LV_TRUTH = {"x": {"x": 1.1, "x*y": -0.4}, "y": {"y": -0.4, "x*y": 0.1}}


def true_field(system):
    return lambda X: np.stack(system.field(*X.T), axis=-1)


def test_an_exact_polynomial_field_gives_its_coefficients_and_no_other_term():
    trajectory = lotka_volterra_benchmark()
    law = extract_law(true_field(LotkaVolterra()), trajectory.x, variables=["x", "y"])
    errors = coefficient_errors(law, LV_TRUTH)
    assert errors["max_relative"] < 1e-10 and errors["largest_spurious"] == 0.0
    assert law.equation_text() == ["dx/dt = -0.4*x*y + 1.1*x", "dy/dt = 0.1*x*y - 0.4*y"]
    np.testing.assert_allclose(law(trajectory.x), true_field(LotkaVolterra())(trajectory.x), atol=1e-10)


def test_the_pendulum_needs_and_finds_a_sine_term():
    pendulum = DampedPendulum()
    trajectory = pendulum.simulate((2.5, 0.0), (0.0, 20.0), 0.02)
    law = extract_law(true_field(pendulum), trajectory.x, variables=list(pendulum.names), trig=True)
    truth = {name: {factor.replace(" ", "*"): c for c, factor in terms}
             for name, terms in zip(pendulum.names, pendulum.equation_terms(), strict=True)}
    errors = coefficient_errors(law, truth)
    assert errors["max_relative"] < 1e-8 and errors["largest_spurious"] < 1e-8


def test_bootstrap_standard_errors_cover_the_truth_of_a_noisy_field():
    trajectory = lotka_volterra_benchmark()
    rng = np.random.default_rng(1)
    noisy = true_field(LotkaVolterra())(trajectory.x) + rng.normal(0.0, 0.05, size=trajectory.x.shape)
    law = extract_law(lambda X: noisy, trajectory.x, variables=["x", "y"], rng=np.random.default_rng(2))
    index = {t.name: j for j, t in enumerate(law.terms)}
    for k, (variable, terms) in enumerate(LV_TRUTH.items()):
        for name, value in terms.items():
            c, se = law.coefficients[k, index[name]], law.stderr[k, index[name]]
            assert 0 < se < 0.05 * abs(value)
            assert abs(c - value) < 4 * se, (variable, name, c, se)


def test_lotka_volterra_coefficients_within_two_percent_from_a_field_learned_at_one_percent_noise():
    result = train(DynamicsConfig(noise=0.01, approach="derivative", epochs=300))
    trajectory = result.trajectory
    law = extract_law(result.fields["derivative"].field, trajectory.x, variables=["x", "y"])
    errors = coefficient_errors(law, LV_TRUTH)
    assert errors["max_relative"] < 0.02, errors  # measured: 0.85%
    assert errors["largest_spurious"] == 0.0
    simulated = resimulate(law, trajectory.x[0], trajectory.t)
    assert np.sqrt(np.mean((simulated - trajectory.x_clean) ** 2)) < 0.05 * np.std(trajectory.x_clean)


def test_bad_states_are_refused_with_the_shape():
    with pytest.raises(InputError, match="shape"):
        extract_law(true_field(LotkaVolterra()), np.ones(50), variables=["x", "y"])
    with pytest.raises(InputError, match="variable names"):
        extract_law(true_field(LotkaVolterra()), np.ones((50, 2)), variables=["x"])


def test_cli_reads_the_law_of_a_field_saved_by_the_dynamics_lab(tmp_path, capsys):
    run = tmp_path / "dyn"
    assert main(["dynamics", "lotka-volterra", "--approach", "derivative", "--epochs", "150", "--hidden", "16",
                 "--out", str(run), "--json"]) == 0
    capsys.readouterr()
    assert main(["extract", str(run / "model-derivative.safetensors"), "--kind", "law", "--out",
                 str(tmp_path / "law"), "--json"]) == 0
    metrics = json.loads((tmp_path / "law" / "metrics.json").read_text())
    assert set(metrics["coefficients"]["x'"]) == {"x", "x*y"}
    assert metrics["coefficient_errors"]["max_relative"] < 0.05
    assert (tmp_path / "law" / "law.png").exists() and (tmp_path / "law" / "coefficients.png").exists()


def test_cli_refuses_a_network_that_is_not_a_vector_field(tmp_path, capsys):
    xor = tmp_path / "xor"
    assert main(["xor", "--seeds", "4", "--epochs", "50", "--out", str(xor), "--json", "--no-figures"]) == 0
    capsys.readouterr()
    assert main(["extract", str(xor / "model.safetensors"), "--kind", "law", "--out", str(tmp_path / "x")]) == 2
    assert "needs a vector field saved by `annrl dynamics`" in capsys.readouterr().err
