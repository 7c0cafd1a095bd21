"""Every agent's evaluations report the mean episode length beside the return, so --log jsonl carries it (#28)."""

import json

import pytest

from annrl import progress
from annrl.agents import dqn, es, ga, hebbian, make_rng, ppo, rl2, udrl
from annrl.runlog import RunLog

EVAL = dict(eval_episodes=2, final_eval_episodes=2)
TINY = {
    "ppo": (ppo, dict(total_steps=512, hidden="8", num_envs=2, num_steps=64, minibatch_size=64, update_epochs=2,
                      eval_every=256)),
    "dqn": (dqn, dict(total_steps=600, hidden="8", learning_starts=100, train_frequency=50, gradient_steps=2,
                      buffer_size=1000, eval_every=300)),
    "ga": (ga, dict(total_steps=1500, population=8, hidden="4", eval_every=500)),
    "es": (es, dict(total_steps=1500, population=8, hidden="4", eval_every=500)),
    "hebbian": (hebbian, dict(env="CartPole-v1", continuous=False, total_steps=1500, population=8, hidden="4",
                              eval_every=500)),
    "udrl": (udrl, dict(total_steps=800, eval_every=300, updates_per_iter=5, batch_size=32)),
}


def logged_rows(module, config, tmp_path):
    with RunLog(tmp_path, ("jsonl",)) as log, progress.listening(log, records=True):
        result = module.train(config, make_rng(0))
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    return result, [row for row in rows if "eval_return" in row]


@pytest.mark.parametrize("name", list(TINY))
def test_cartpole_agents_log_the_mean_evaluation_episode_length(name, tmp_path):
    module, options = TINY[name]
    result, rows = logged_rows(module, module.Config(**options, **EVAL), tmp_path)
    assert [[row["step"], row["eval_return"]] for row in rows] == result.metrics["learning_curve"]
    # CartPole pays 1 per step, so an episode's length is its return: the logged length is measured, not made up
    assert len(rows) >= 2 and all(row["eval_episode_length"] == row["eval_return"] for row in rows)
    assert all(1 <= row["eval_episode_length"] <= 500 for row in rows)


def test_rl2_logs_its_lifetime_as_the_episode_length(tmp_path):
    config = rl2.Config(total_steps=8 * 10 * 4, lifetimes=8, lifetime=10, hidden="8", eval_every=160, **EVAL)
    _, rows = logged_rows(rl2, config, tmp_path)
    assert len(rows) >= 2 and [row["eval_episode_length"] for row in rows] == [10.0] * len(rows)
