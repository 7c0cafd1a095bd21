"""Scheduled checkpoints are written beside the training: they must still hold the state of their own step,
and a fault while writing must reach the caller."""

import threading

import numpy as np
import pytest

from annrl.io import RunDir, read_checkpoint
from annrl.io.resume import Checkpointer
from annrl.nn import MLP, SGD, Trainer

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def trainer() -> Trainer:
    net = MLP([2, 3, 1], population=8, seed=0)
    return Trainer(net, X, Y, optimizer=SGD(lr=0.1, momentum=0.9))


def train_through(checkpointer: Checkpointer, run: Trainer) -> None:
    """30 epochs of ``run`` with the checkpointer's hooks."""
    with checkpointer.hooks(run, 30, phase="main") as hooks:
        run.run(hooks.epochs_left, callbacks=[hooks])


def test_a_slow_background_save_holds_the_weights_of_its_step_not_later_ones(tmp_path, monkeypatch):
    write, started = RunDir.save, threading.Event()

    def slow_save(self, step, *args, **kwargs):
        started.set()
        threading.Event().wait(0.3)  # training goes on meanwhile and changes the live weights
        return write(self, step, *args, **kwargs)

    monkeypatch.setattr(RunDir, "save", slow_save)
    weights = {}
    run = trainer()

    def record(state):
        weights[state.epoch + 1] = np.array(run.net.flat_)

    with Checkpointer(tmp_path, {"case": 1}, every="10") as checkpointer:
        with checkpointer.hooks(run, 30, phase="main") as hooks:
            run.run(hooks.epochs_left, callbacks=[record, hooks])
    assert started.is_set()
    for step in (10, 20, 30):
        saved = read_checkpoint(tmp_path / "checkpoints" / f"ckpt-{step:09d}.safetensors")
        np.testing.assert_array_equal(saved.tensors["main/fit/params"], weights[step])
    assert not np.array_equal(weights[10], weights[30])


def test_a_fault_in_a_background_save_is_raised_in_the_training_thread(tmp_path, monkeypatch):
    def failing_save(self, step, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunDir, "save", failing_save)
    with pytest.raises(OSError, match="No space left"), Checkpointer(tmp_path, {"case": 2}, every="10") as checkpointer:
        train_through(checkpointer, trainer())


def test_the_last_save_of_a_phase_is_on_disk_once_the_checkpointer_is_closed(tmp_path):
    with Checkpointer(tmp_path, {"case": 3}, every="10") as checkpointer:
        train_through(checkpointer, trainer())
    assert read_checkpoint(tmp_path / "checkpoints" / "ckpt-000000030.safetensors").metadata["phases"]["main"]
