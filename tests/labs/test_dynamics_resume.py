"""The dynamics lab stops on a signal in either approach, saves, and resumes to the same result bit for bit."""

import json
from dataclasses import asdict

import numpy as np
import pytest

from annrl.errors import Stopped
from annrl.io import StopRequest, metrics_equal
from annrl.io.resume import Checkpointer, TrainerHooks
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
    original = TrainerHooks.after_epoch

    def after_epoch_with_trip(self, state):
        if self.phase == approach and state.epoch >= at_epoch:  # a SIGTERM arriving mid-phase
            stop.requested, stop.signal_name, stop.signal_number = True, "SIGTERM", 15
        return original(self, state)

    monkeypatch.setattr(TrainerHooks, "after_epoch", after_epoch_with_trip)
    with pytest.raises(Stopped, match="stopped by SIGTERM"):
        train(CONFIG, checkpointer=checkpointer(tmp_path, stop=stop))
    monkeypatch.setattr(TrainerHooks, "after_epoch", original)
    resumed = train(CONFIG, checkpointer=checkpointer(tmp_path, resume=True))

    for name, field in straight.fields.items():
        np.testing.assert_array_equal(resumed.fields[name].field.net.flat_, field.field.net.flat_, err_msg=name)
        np.testing.assert_array_equal(resumed.fields[name].loss, field.loss, err_msg=name)
    assert metrics_equal(resumed.metrics, straight.metrics)
    assert "train_s" in resumed.metrics["timing"]  # wall clock lives only under "timing"
