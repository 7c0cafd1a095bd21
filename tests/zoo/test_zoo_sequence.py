"""The zoo's recurrent cells on the adding problem: the task itself, and what each cell learns."""

import numpy as np
import pytest

from annrl.nn import LSTM, Network, TakeLast
from annrl.zoo import sequence


def test_the_contract_and_the_lstm_model():
    assert sequence.NAME == "sequence" and sequence.SUMMARY
    net = sequence.build(seed=0)
    assert isinstance(net, Network) and isinstance(net.layers[0], LSTM) and isinstance(net.layers[1], TakeLast)
    assert net.predict(np.zeros((3, 20, 2))).shape == (1, 3, 1)


def test_adding_problem_marks_one_value_in_each_half_and_sums_them():
    X, Y = sequence.adding_problem(500, 20, np.random.default_rng(0))
    markers = X[..., 1]
    np.testing.assert_array_equal(markers[:, :10].sum(axis=1), 1.0)
    np.testing.assert_array_equal(markers[:, 10:].sum(axis=1), 1.0)
    first, second = markers[:, :10].argmax(axis=1), 10 + markers[:, 10:].argmax(axis=1)
    rows = np.arange(500)
    np.testing.assert_allclose(Y[:, 0], X[rows, first, 0] + X[rows, second, 0])
    assert abs(Y.var() - sequence.MEAN_GUESS_MSE) < 0.03


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="at least 2 steps, got 1"):
        sequence.adding_problem(4, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"cell must be one of \['Elman', 'GRU', 'LSTM'\], got 'RNN'"):
        sequence.model("RNN")


def test_quick_demo_the_gru_remembers_where_the_elman_rnn_does_not(tmp_path):
    metrics = sequence.demo(tmp_path, seed=0, quick=True)
    assert metrics["gru_test_mse"] < 0.02  # predicting the mean: 1/6
    assert metrics["elman_test_mse"] > 5 * metrics["gru_test_mse"]
    assert (tmp_path / "sequence.png").stat().st_size > 10_000


@pytest.mark.slow
def test_full_demo_both_gated_cells_solve_20_steps_and_the_elman_rnn_lags(tmp_path):
    metrics = sequence.demo(tmp_path, seed=0)
    for cell in ("gru", "lstm"):
        assert metrics[f"{cell}_test_mse"] < 0.005, cell
        assert metrics[f"{cell}_accuracy"] > 0.5, cell  # answers within 0.04
    assert metrics["elman_test_mse"] > 10 * max(metrics["gru_test_mse"], metrics["lstm_test_mse"])
