"""``annrl rl train --algo udrl|hebbian|rl2``, ``--continual-backprop`` and ``annrl rl compare`` with them."""

from __future__ import annotations

import json

import pytest

from annrl.cli import main


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("algo, flags", [
    ("udrl", ["--updates-per-iter", "5", "--batch-size", "32"]),
    ("hebbian", ["--env", "CartPole-v1", "--population", "4", "--hidden", "4"]),
    ("rl2", ["--lifetimes", "4", "--lifetime", "10", "--hidden", "8"]),
])
def test_train_each_new_algorithm(tmp_path, algo, flags):
    code = main(["rl", "train", "--algo", algo, "--steps", "400", "--eval-every", "200", "--eval-episodes", "2",
                 "--final-eval-episodes", "2", "--no-progress", "--no-figures", "--json", "--out", str(tmp_path),
                 *flags])
    assert code == 0
    m = _metrics(tmp_path)
    assert m["algo"] == algo and m["env_steps"] >= 400 and (tmp_path / "agent.safetensors").exists()


def test_continual_backprop_flag_reaches_dqn(tmp_path):
    code = main(["rl", "train", "--algo", "dqn", "--steps", "600", "--learning-starts", "100", "--continual-backprop",
                 "--cbp-replacement-rate", "0.01", "--cbp-maturity", "5", "--no-progress", "--no-figures",
                 "--json", "--out", str(tmp_path)])
    assert code == 0
    m = _metrics(tmp_path)
    assert m["config"]["continual_backprop"] is True and m["continual_backprop"]["replaced_units"] > 0


def test_a_flag_of_another_algorithm_is_refused(tmp_path, capsys):
    code = main(["rl", "train", "--algo", "udrl", "--lifetime", "10", "--out", str(tmp_path)])
    assert code != 0
    assert "--lifetime does not apply to --algo udrl" in capsys.readouterr().err


def test_compare_includes_the_new_algorithms(tmp_path):
    code = main(["rl", "compare", "--algos", "udrl,hebbian", "--seeds", "1", "--steps", "300", "--json",
                 "--out", str(tmp_path)])
    assert code == 0
    rows = _metrics(tmp_path)["rows"]
    assert [r["algo"] for r in rows] == ["udrl", "hebbian"]


def test_ppo_with_continual_backprop_resumes_bit_for_bit(tmp_path):
    from rl_helpers import StopAfter

    from annrl.agents import make_rng, ppo
    from annrl.errors import Stopped

    config = ppo.Config(total_steps=512, num_envs=2, num_steps=64, update_epochs=2, eval_every=256, eval_episodes=2,
                        final_eval_episodes=2, continual_backprop=True, cbp_replacement_rate=0.05, cbp_maturity=3,
                        seed=4)
    whole = ppo.train(config, make_rng(4))
    assert whole.metrics["continual_backprop"]["replaced_units"] > 0
    with pytest.raises(Stopped):
        ppo.train(config, make_rng(4), out=tmp_path, stop=StopAfter(2))
    resumed = ppo.train(config, make_rng(4), out=tmp_path, resume=True)
    assert resumed.metrics["continual_backprop"] == whole.metrics["continual_backprop"]
    assert (resumed.policy.flat_ == whole.policy.flat_).all()
