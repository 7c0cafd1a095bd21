"""The zoo's CNN on load_digits: the data split, the architecture, and the held-out accuracy it reaches."""

import json

import numpy as np
import pytest

from annrl.nn import Conv2D, Dense, Flatten, MaxPool2D, Network
from annrl.zoo import cnn

pytest.importorskip("sklearn")  # the digits ship with scikit-learn (a test dependency)


def test_the_contract_and_the_architecture():
    assert cnn.NAME == "cnn" and cnn.SUMMARY
    net = cnn.build(seed=0)
    assert isinstance(net, Network)
    kinds = [type(layer) for layer in net.layers]
    assert kinds.count(Conv2D) == 2 and kinds.count(MaxPool2D) == 2 and Flatten in kinds and kinds[-1] is Dense
    assert net.predict(np.zeros((5, 8, 8, 1))).shape == (1, 5, 10)
    json.dumps(net.spec())  # the architecture saves as JSON


def test_the_split_is_stratified_disjoint_and_fixed_by_the_seed():
    data, again, other = cnn.load_data(0), cnn.load_data(0), cnn.load_data(1)
    assert data["X_train"].shape[1:] == (8, 8, 1) and len(data["y_train"]) + len(data["y_test"]) == 1797
    assert 0.0 <= data["X_train"].min() and data["X_train"].max() <= 1.0
    np.testing.assert_array_equal(data["y_test"], again["y_test"])
    assert not np.array_equal(data["X_test"], other["X_test"])
    counts = np.bincount(data["y_test"], minlength=10) / np.bincount(np.r_[data["y_train"], data["y_test"]])
    np.testing.assert_allclose(counts, 0.25, atol=0.01)  # a quarter of every digit held out
    train_rows = {row.tobytes() for row in data["X_train"]}
    assert sum(row.tobytes() in train_rows for row in data["X_test"]) < 5  # (load_digits has a few duplicates)


def test_quick_demo_learns_the_digits_and_writes_its_figures(tmp_path):
    metrics = cnn.demo(tmp_path, seed=0, quick=True)
    assert metrics["test_accuracy"] >= 0.90  # 3 epochs; chance is 0.10
    assert (tmp_path / "cnn.png").stat().st_size > 10_000 and (tmp_path / "cnn_errors.png").exists()


@pytest.mark.slow
def test_full_demo_reaches_97_percent_on_held_out_digits(tmp_path):
    metrics = cnn.demo(tmp_path, seed=0)
    assert metrics["test_accuracy"] >= 0.97
    assert metrics["train_accuracy"] >= metrics["test_accuracy"] - 0.01
