"""Intermediate reports (what a Tune scheduler hears): the Trainer's mean loss every 100 epochs, an
agent's every evaluation, and nothing once the listener has left."""

import numpy as np
import pytest

from annrl import progress as intermediate
from annrl.agents import make_rng, ppo
from annrl.nn import MLP, SGD, Trainer

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)


def test_the_trainer_reports_the_mean_loss_of_its_networks_every_100_epochs():
    trainer = Trainer(MLP([2, 2, 1], population=5, seed=0), X, Y, loss="mse", optimizer=SGD(lr=0.1, momentum=0.9))
    reports = []
    with intermediate.listening(reports.append):
        trainer.run(250)
    trainer.run(100)  # nobody listens: nothing is reported
    losses = trainer.history().loss
    assert [r["step"] for r in reports] == [100, 200]
    for r in reports:
        assert r["loss"] == pytest.approx(losses[r["step"] - 1].mean(), rel=1e-12)


def test_a_diverged_network_is_left_out_of_the_reported_loss():
    inputs = np.stack([X, X * 1e3, X])  # the second network's own inputs make it diverge at lr 0.1
    trainer = Trainer(MLP([2, 1], population=3, seed=0), inputs, Y, loss="mse", optimizer=SGD(lr=0.1))
    reports = []
    with intermediate.listening(reports.append):
        trainer.run(100)
    assert list(trainer.diverged >= 0) == [False, True, False]
    last = trainer.history().loss[-1]
    assert last[1] > 1e300 and reports[-1]["loss"] == pytest.approx((last[0] + last[2]) / 2, rel=1e-12)


def test_an_agent_reports_every_evaluation_of_its_learning_curve():
    config = ppo.Config(total_steps=512, hidden="8", num_envs=2, num_steps=64, minibatch_size=64, update_epochs=2,
                        eval_every=256, eval_episodes=2, final_eval_episodes=2)
    reports = []
    with intermediate.listening(reports.append):
        result = ppo.train(config, make_rng(0))
    curve = result.metrics["learning_curve"]
    assert len(curve) >= 2
    assert [[r["step"], r["eval_return"]] for r in reports] == curve
