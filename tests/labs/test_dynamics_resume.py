"""The dynamics lab stops on a signal in either approach, saves, and resumes to the same result bit for bit."""

import json
from dataclasses import asdict

import numpy as np
import pytest
from resume_helpers import sigterm_in_phase

from annrl.errors import Stopped
from annrl.io import StopRequest, metrics_equal
from annrl.io.resume import Checkpointer
from annrl.labs.dynamics.lab import DynamicsConfig, train

CONFIG = DynamicsConfig(system="lotka-volterra", epochs=60, rollout_epochs=30, hidden=(8,), grid=10, batch_size=64)


def checkpointer(out, **kwargs):
    return Checkpointer(out, json.loads(json.dumps(asdict(CONFIG))), every="10", **kwargs)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    return train(CONFIG, checkpointer=checkpointer(tmp_path_factory.mktemp("straight")))


@pytest.mark.parametrize(("approach", "at_epoch"), [("derivative", 25), ("rollout", 12)])
def test_stopped_and_resumed_run_equals_an_uninterrupted_one(tmp_path, monkeypatch, straight, approach, at_epoch):
    stop = StopRequest()
    with sigterm_in_phase(monkeypatch, stop, approach, at_epoch), pytest.raises(Stopped, match="stopped by SIGTERM"):
        train(CONFIG, checkpointer=checkpointer(tmp_path, stop=stop))
    resumed = train(CONFIG, checkpointer=checkpointer(tmp_path, resume=True))

    for name, field in straight.fields.items():
        np.testing.assert_array_equal(resumed.fields[name].field.net.flat_, field.field.net.flat_, err_msg=name)
        np.testing.assert_array_equal(resumed.fields[name].loss, field.loss, err_msg=name)
    assert metrics_equal(resumed.metrics, straight.metrics)
    assert "train_s" in resumed.metrics["timing"]  # wall clock lives only under "timing"
