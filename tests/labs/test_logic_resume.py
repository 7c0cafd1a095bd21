"""The logic lab's width sweep stops on a signal, saves, and resumes to the same result bit for bit."""

import json
from dataclasses import asdict

import numpy as np
import pytest

from annrl.errors import Stopped
from annrl.io import StopRequest, metrics_equal
from annrl.io.resume import Checkpointer, TrainerHooks
from annrl.labs.logic.lab import LogicConfig, train

# xor: width 0 never solves it, width 1 rarely, width 2 mostly: the sweep runs three phases
CONFIG = LogicConfig(expression="xor", compile=False, seeds=40, max_hidden=3, epochs=600, reliable=0.9)


def checkpointer(out, **kwargs):
    return Checkpointer(out, asdict(CONFIG), every="100", **kwargs)


def stop_at(stop: StopRequest, phase_epochs: int, nth_phase: int):
    """A callback that requests a SIGTERM-like stop at epoch ``phase_epochs`` of the ``nth_phase``'th width."""
    seen = {"phase": 0, "last": 0}

    def callback(state) -> None:
        if state.epoch < seen["last"]:
            seen["phase"] += 1
        seen["last"] = state.epoch
        if seen["phase"] == nth_phase and state.epoch >= phase_epochs:
            stop.requested, stop.signal_name, stop.signal_number = True, "SIGTERM", 15

    return callback


@pytest.mark.parametrize("nth_phase", [0, 1])
def test_stopped_and_resumed_sweep_equals_an_uninterrupted_one(tmp_path, monkeypatch, nth_phase):
    straight = train(CONFIG, checkpointer=checkpointer(tmp_path / "straight"))
    assert len(straight.runs) >= 2

    stop = StopRequest()
    trip = stop_at(stop, 250, nth_phase)
    original = TrainerHooks.after_epoch

    def after_epoch_with_trip(self, state):
        trip(state)
        return original(self, state)

    monkeypatch.setattr(TrainerHooks, "after_epoch", after_epoch_with_trip)
    with pytest.raises(Stopped, match="stopped by SIGTERM; checkpoint saved to"):
        train(CONFIG, checkpointer=checkpointer(tmp_path / "run", stop=stop))
    monkeypatch.setattr(TrainerHooks, "after_epoch", original)
    resumed = train(CONFIG, checkpointer=checkpointer(tmp_path / "run", resume=True))

    assert [r.hidden for r in resumed.runs] == [r.hidden for r in straight.runs]
    for a, b in zip(resumed.runs, straight.runs, strict=True):
        np.testing.assert_array_equal(a.net.flat_, b.net.flat_)
        np.testing.assert_array_equal(a.solved_epoch, b.solved_epoch)
    assert metrics_equal(resumed.metrics, straight.metrics)


def test_logic_cli_resume_finishes_a_run(tmp_path):
    from annrl.cli import main

    args = ["logic", "xor", "--learn", "--seeds", "20", "--max-hidden", "2", "--epochs", "300",
            "--checkpoint-every", "100", "--json", "--out", str(tmp_path)]
    assert main(args) == 0
    assert sorted((tmp_path / "checkpoints").glob("ckpt-*.safetensors"))
    first = json.loads((tmp_path / "metrics.json").read_text())
    assert main([*args, "--resume"]) == 0  # resumed from the last checkpoint: nothing left to train
    assert metrics_equal(first, json.loads((tmp_path / "metrics.json").read_text()))
