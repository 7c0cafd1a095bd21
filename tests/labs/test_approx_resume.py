"""The approximation lab stops on a signal, saves, and resumes to the same result bit for bit."""

from dataclasses import asdict

import numpy as np
import pytest

from annrl.errors import Stopped
from annrl.io import StopRequest, metrics_equal
from annrl.io.resume import Checkpointer
from annrl.labs.approx.lab import ApproxConfig, train

CONFIG = ApproxConfig(target="sin", hidden=(8,), seeds=4, epochs=1200, tol=0.03, lr=0.01)  # 3 of 4 seeds reach tol


def checkpointer(out, **kwargs):
    return Checkpointer(out, asdict(CONFIG), every="200", **kwargs)


def test_stopped_and_resumed_run_equals_an_uninterrupted_one(tmp_path):
    straight = train(CONFIG, checkpointer=checkpointer(tmp_path / "straight"))

    stop = StopRequest()

    def trip(done, total):  # a SIGTERM arriving mid-run
        if done >= 500:
            stop.requested, stop.signal_name, stop.signal_number = True, "SIGTERM", 15

    with pytest.raises(Stopped, match="stopped by SIGTERM; checkpoint saved to"):
        train(CONFIG, progress=trip, checkpointer=checkpointer(tmp_path / "run", stop=stop))
    resumed = train(CONFIG, checkpointer=checkpointer(tmp_path / "run", resume=True))

    np.testing.assert_array_equal(resumed.net.flat_, straight.net.flat_)
    np.testing.assert_array_equal(resumed.reached_epoch, straight.reached_epoch)
    a, b = dict(resumed.metrics), dict(straight.metrics)
    assert metrics_equal(a, b)
    assert np.sum(straight.reached_epoch > 500) >= 2  # seeds froze at tol after the stop: resumed state
