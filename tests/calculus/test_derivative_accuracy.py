"""The accuracy table: its numbers are the RMSE one would compute by hand."""

import json

import numpy as np
import pytest

from annrl.calculus import (
    CentralDifference,
    ForwardDifference,
    SavitzkyGolay,
    accuracy_table,
    analytic_signal,
    plot_accuracy,
)

METHODS = {"forward": ForwardDifference(), "central": CentralDifference(), "Savitzky-Golay": SavitzkyGolay()}


@pytest.fixture(scope="module")
def table():
    t, x, exact = analytic_signal(n=201)
    return accuracy_table(t, x, exact, rng=np.random.default_rng(0), methods=METHODS,
                          noise_levels=(0.0, 0.05), trials=3, signal="test")


def test_noise_free_column_is_the_plain_rmse(table):
    t, x, exact = analytic_signal(n=201)
    by_hand = np.sqrt(np.mean((CentralDifference()(x, t) - exact) ** 2))
    assert table.rmse[1, 0] == pytest.approx(by_hand, rel=1e-12)
    assert np.all(table.spread[:, 0] == 0)


def test_noisy_column_matches_the_same_noise_drawn_by_hand(table):
    t, x, exact = analytic_signal(n=201)
    rng = np.random.default_rng(0)
    rng.standard_normal(x.shape)  # the noise-free level draws once too
    errors = [np.sqrt(np.mean((SavitzkyGolay()(x + 0.05 * x.std() * rng.standard_normal(x.shape), t) - exact) ** 2))
              for _ in range(3)]
    assert table.rmse[2, 1] == pytest.approx(np.mean(errors), rel=1e-12)


def test_the_numbers_rank_the_methods_as_theory_says(table):
    assert table.rmse.shape == (3, 2)
    assert table.rmse[1, 0] < 0.1 * table.rmse[0, 0]  # O(h^2) against O(h) without noise
    assert table.best(0.05) == "Savitzky-Golay"
    assert table.derivative_rms == pytest.approx(1.06, abs=0.01)


def test_table_prints_and_serialises(table, tmp_path):
    text = table.to_markdown()
    assert "| central |" in text and "noise 5%" in text
    data = json.loads(json.dumps(table.to_dict()))
    assert data["rmse"]["central"]["0.05"] == pytest.approx(table.rmse[1, 1])
    drawn = plot_accuracy(table, tmp_path / "accuracy.png")
    assert len(drawn.axes[0].lines) > 0 and (tmp_path / "accuracy.png").stat().st_size > 10_000


def test_exact_derivative_must_match_the_signal():
    with pytest.raises(ValueError, match=r"dxdt must have the shape of x \(5,\), got \(4,\)"):
        accuracy_table(np.arange(5.0), np.ones(5), np.ones(4), rng=np.random.default_rng(0))
