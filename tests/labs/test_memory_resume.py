"""The working-memory training stops on a signal, saves, and resumes to the same result bit for bit."""

import json
from dataclasses import asdict

import numpy as np
import pytest
from resume_helpers import sigterm_in_phase

from annrl.errors import Stopped
from annrl.io import StopRequest, metrics_equal
from annrl.io.resume import Checkpointer
from annrl.labs.memory.lab import MemoryConfig, WorkingMemoryConfig, train

WM = WorkingMemoryConfig(cells=("elman", "gru"), delays=(2, 6), hidden=4, seeds=3, steps=60, batch=16,
                         test_trials=100)
CONFIG = MemoryConfig(patterns="HT", cues=5, spurious_starts=20, letters_curve=False, working_memory=WM)


def checkpointer(out, **kwargs):
    return Checkpointer(out, json.loads(json.dumps(asdict(CONFIG))), every="25", **kwargs)


@pytest.mark.parametrize(("phase_to_stop", "at_step"), [("elman-2", 30), ("gru-6", 40)])
def test_stopped_and_resumed_working_memory_equals_an_uninterrupted_run(tmp_path, monkeypatch, phase_to_stop,
                                                                        at_step):
    straight = train(CONFIG, checkpointer=checkpointer(tmp_path / "straight"))
    stop = StopRequest()
    with (sigterm_in_phase(monkeypatch, stop, phase_to_stop, at_step),
          pytest.raises(Stopped, match="stopped by SIGTERM")):
        train(CONFIG, checkpointer=checkpointer(tmp_path / "run", stop=stop))
    resumed = train(CONFIG, checkpointer=checkpointer(tmp_path / "run", resume=True))

    assert resumed.memory_nets.keys() == straight.memory_nets.keys()
    for name, net in straight.memory_nets.items():
        np.testing.assert_array_equal(resumed.memory_nets[name].flat_, net.flat_, err_msg=name)
    assert metrics_equal(resumed.metrics, straight.metrics)
