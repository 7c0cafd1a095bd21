"""Drifting streams and the three learners: frozen, continual, drift-detecting."""

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.labs.adapt.prequential import StreamLearner, compare_learners, prequential, recovery, rolling_accuracy
from annrl.labs.adapt.streams import make_stream


@pytest.fixture(scope="module")
def sudden():
    return compare_learners(make_stream("sudden", samples=5000, warmup=1000, seed=0), warmup=1000)


def test_after_a_sudden_drift_the_continual_learner_recovers_and_the_frozen_one_does_not(sudden):
    frozen, continual = sudden.recoveries["frozen"][0], sudden.recoveries["continual"][0]
    assert continual.before > 0.9
    assert continual.after >= continual.before - 0.05  # back within 5% of its pre-drift accuracy
    assert continual.recovery is not None and continual.recovery < 1000
    assert frozen.before > 0.9
    assert frozen.after < frozen.before - 0.3  # the frozen model stays degraded
    assert frozen.recovery is None


def test_the_adaptive_learner_detects_the_drift_soon_after_it_and_recovers(sudden):
    drift = sudden.stream.drifts[0]
    assert any(drift <= d <= drift + 200 for d in sudden.detections)
    assert not any(d < drift for d in sudden.detections)
    adaptive = sudden.recoveries["adaptive"][0]
    assert adaptive.after >= adaptive.before - 0.05


def test_the_activity_stream_moves_its_class_boundaries():
    stream = make_stream("activity", samples=3000, warmup=800, seed=1)
    assert stream.X.shape == (3000, 8) and set(np.unique(stream.y)) == {0, 1, 2, 3}
    learner = StreamLearner(8, 4, mode="frozen")
    drift = stream.drifts[0]
    learner.pretrain(stream.X[:800], stream.y[:800])
    before = np.mean(learner.predict(stream.X[800:drift]) == stream.y[800:drift])
    after = np.mean(learner.predict(stream.X[drift:]) == stream.y[drift:])
    assert before > 0.95 and after < 0.6


def test_gradual_and_recurring_streams_change_concept_where_they_say():
    gradual = make_stream("gradual", samples=5000, warmup=1000, seed=2)
    recurring = make_stream("recurring", samples=5000, warmup=1000, seed=2)
    assert gradual.drifts == [3000] and gradual.width == 1000
    assert recurring.drifts == [2000, 3000, 4000]
    learner = StreamLearner(4, 2, mode="frozen")
    learner.pretrain(recurring.X[:1000], recurring.y[:1000])
    hits = learner.predict(recurring.X) == recurring.y
    # concept A, B, A, B: the frozen model of A is right on A's segments only
    assert hits[1000:2000].mean() > 0.9 and hits[3000:4000].mean() > 0.9
    assert hits[2000:3000].mean() < 0.65 and hits[4000:].mean() < 0.65


def test_recovery_is_measured_from_the_drift_to_the_first_good_window():
    hits = np.concatenate([np.ones(500), np.zeros(100), np.ones(400)])
    (row,) = recovery(hits, [500], window=50, tolerance=0.05)
    assert row.before == 1.0 and row.lowest == 0.0 and row.after == 1.0
    assert row.recovery == 100 + 48  # the first 50-sample window with at most 2 misses ends at 648
    np.testing.assert_allclose(rolling_accuracy(np.array([1.0, 0.0, 1.0, 1.0]), 2), [1.0, 0.5, 0.5, 1.0])


def test_prequential_tests_each_sample_before_learning_from_it():
    class Memoriser:
        seen: set = set()

        def predict(self, X):
            return np.array([1 if tuple(x) in self.seen else 0 for x in X])

        def partial_fit(self, X, y):
            self.seen.update(tuple(x) for x in X)

    X = np.arange(20.0)[:, None]
    hits = prequential(Memoriser(), X, np.ones(20, dtype=int), batch=5)
    assert hits.sum() == 0  # never credited for a sample it had already been trained on


def test_bad_stream_settings_are_refused():
    with pytest.raises(InputError, match="stream kind must be one of"):
        make_stream("abrupt")
    with pytest.raises(InputError, match="mode must be one of"):
        StreamLearner(2, 2, mode="lazy")
