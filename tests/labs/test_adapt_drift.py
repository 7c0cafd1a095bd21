"""Page-Hinkley and ADWIN: bounded detection delay, few false alarms."""

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.labs.adapt.drift import ADWIN, PageHinkley


def test_page_hinkley_detects_a_mean_shift_within_a_bounded_delay():
    # a shift of 1 (one standard deviation): the sum grows by about 1 - delta per sample, so the
    # delay is about threshold / (1 - delta) = 40; allow twice that
    delays = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        values = np.concatenate([rng.normal(0, 1, 1000), rng.normal(1, 1, 1000)])
        ph = PageHinkley(delta=0.25, threshold=30.0)
        alarms = [i for i, v in enumerate(values) if ph.update(v)]
        assert alarms and alarms[0] >= 1000, f"seed {seed}: false alarm at {alarms[:1]}"
        delays.append(alarms[0] - 1000)
    assert max(delays) <= 80
    assert 20 <= np.median(delays) <= 60


def test_page_hinkley_raises_few_false_alarms_on_a_stationary_stream():
    alarms = 0
    for seed in range(20):
        ph = PageHinkley(delta=0.25, threshold=30.0)
        alarms += sum(ph.update(v) for v in np.random.default_rng(100 + seed).normal(0, 1, 10_000))
    assert alarms <= 1  # at most one in 200,000 samples


def test_page_hinkley_ignores_a_decrease_of_the_mean():
    ph = PageHinkley(delta=0.25, threshold=30.0)
    values = np.concatenate([np.random.default_rng(0).normal(1, 1, 1000), np.random.default_rng(1).normal(0, 1, 2000)])
    assert not any(ph.update(v) for v in values)


def test_adwin_detects_an_error_rate_rise_and_shrinks_its_window():
    delays, false_alarms = [], 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        adwin = ADWIN()
        false_alarms += sum(adwin.update(v) for v in (rng.random(4000) < 0.2).astype(float))
        adwin = ADWIN()
        values = np.concatenate([rng.random(2000) < 0.2, rng.random(1000) < 0.5]).astype(float)
        alarms = [i for i, v in enumerate(values) if adwin.update(v)]
        assert alarms and alarms[0] >= 2000
        delays.append(alarms[0] - 2000)
        assert len(adwin.window) < 1100  # almost all of the 2000 old-concept values were dropped
        assert adwin.mean == pytest.approx(0.5, abs=0.1)
    assert false_alarms == 0
    assert max(delays) <= 200


def test_detectors_refuse_bad_settings():
    with pytest.raises(InputError, match="threshold must be > 0"):
        PageHinkley(threshold=0)
    with pytest.raises(InputError, match="delta must be"):
        ADWIN(delta=1.5)
