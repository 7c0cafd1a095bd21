"""The Trainer's loss record: rows and blocks in order, blocks read without a copy."""

import numpy as np
import pytest

from annrl.nn import MLP, SGD, fit
from annrl.nn.fit import Trainer
from annrl.nn.losslog import LossLog

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)


def mixed_log():
    """Epochs 0-1 as rows, 2-4 as a block, 5 as a row: the loss of epoch e of network p is 10 e + p."""
    log = LossLog(2)
    values = 10.0 * np.arange(6)[:, None] + np.arange(2)
    log.append(values[0])
    log.append(values[1])
    log.add_block(values[2:5].copy())
    log.append(values[5])
    return log, values


def test_rows_and_blocks_read_back_in_order_whatever_the_slice():
    log, values = mixed_log()
    assert len(log) == 6
    np.testing.assert_array_equal(log.rows(), values)
    for start, stop in [(0, 6), (1, 4), (2, 5), (3, 4), (4, 6), (-2, None), (5, 2)]:
        np.testing.assert_array_equal(log[start:stop], values[start:stop], err_msg=f"{start}:{stop}")
    np.testing.assert_array_equal(log[::2], values[::2])
    for epoch in range(-6, 6):
        np.testing.assert_array_equal(log[epoch], values[epoch])
    with pytest.raises(IndexError):
        log[6]
    with pytest.raises(IndexError):
        log[-7]


def test_epochs_of_one_block_are_a_read_only_view_and_others_a_new_array():
    log, _ = mixed_log()
    inside = log[2:5]
    assert np.shares_memory(inside, log._pieces[2]) and not inside.flags.writeable
    across = log[1:4]
    assert not np.shares_memory(across, log._pieces[2]) and across.flags.writeable
    assert LossLog(3).rows().shape == (0, 3)


def test_a_compiled_run_hands_its_losses_over_without_a_copy():
    pytest.importorskip("numba")
    net = MLP([2, 2, 1], population=5, seed=0)
    trainer = Trainer(net, XOR_X, XOR_Y, optimizer=SGD(lr=0.02, momentum=0.9), kernel="compiled")
    trainer.run(300)
    history = trainer.history()
    assert history.loss.shape == (300, 5) and not history.loss.flags.writeable  # the block itself, read-only
    reference = fit(MLP([2, 2, 1], population=5, seed=0), XOR_X, XOR_Y, epochs=300, kernel="numpy")
    np.testing.assert_allclose(history.loss, reference.loss, rtol=1e-10, atol=1e-12)


def test_a_run_that_stops_early_keeps_only_its_rows():
    pytest.importorskip("numba")
    trainer = Trainer(MLP([2, 3, 1], population=4, seed=3), XOR_X, XOR_Y, optimizer=SGD(lr=0.1, momentum=0.9),
                      until=0.2, kernel="compiled")
    trainer.run(100_000)
    assert trainer.all_frozen() and len(trainer.losses) == trainer.epoch < 5000
    assert trainer.losses[-1].base.shape[0] == trainer.epoch  # a copy of the rows, not the 100,000-row block
