"""Slow elementwise functions split over threads give NumPy's numbers to the last bit."""

import numpy as np
import pytest

from annrl import threads
from annrl.backend import NUMPY
from annrl.nn import MLP, SGD, fit, get_num_threads, set_num_threads


@pytest.fixture
def three_threads():
    before = get_num_threads()
    set_num_threads(3)
    yield
    set_num_threads(before)


@pytest.mark.parametrize("name", threads.SLOW_UFUNCS)
@pytest.mark.parametrize("layout", ["contiguous", "permuted", "strided", "small"])
def test_threaded_ufunc_equals_numpy_bit_for_bit(three_threads, monkeypatch, name, layout):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 3.0, size=(7, 3, 20001))
    x = {"contiguous": x, "permuted": x.transpose(2, 0, 1), "strided": x[:, :, ::2], "small": x[:1, :1, :100]}[layout]
    handed_out = []
    submit = threads._pool.submit
    monkeypatch.setattr(threads._pool, "submit", lambda *a, **k: handed_out.append(a) or submit(*a, **k))
    got = getattr(NUMPY, name)(x)
    assert got.shape == x.shape
    np.testing.assert_array_equal(got, getattr(np, name)(x))
    assert len(handed_out) == (2 if layout in ("contiguous", "permuted") else 0)


def test_a_population_trains_to_the_same_weights_with_one_or_three_threads(three_threads):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    weights = []
    for n in (1, 3):
        set_num_threads(n)
        net = MLP([2, 2, 1], population=5000, init="normal", seed=1)
        fit(net, X, Y, optimizer=SGD(lr=0.02, momentum=0.9), epochs=20)
        weights.append(net.flat_.copy())
    np.testing.assert_array_equal(weights[0], weights[1])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_the_number_of_threads_is_checked(bad):
    with pytest.raises(ValueError, match="whole number >= 1"):
        set_num_threads(bad)
