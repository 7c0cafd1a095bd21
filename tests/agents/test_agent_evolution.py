"""GA and ES: operators with known answers, a short CartPole run, and bit-for-bit resume."""

from __future__ import annotations

import numpy as np
import pytest
from rl_helpers import StopAfter

from annrl.agents import es, ga, make_rng
from annrl.errors import Stopped


def test_centered_ranks_spread_evenly_over_minus_half_to_half():
    assert np.array_equal(es.centered_ranks(np.array([3.0, -1.0, 10.0, 0.0, 2.0])), [0.25, -0.5, 0.5, -0.25, 0.0])


def test_es_gradient_estimates_the_true_gradient_of_a_quadratic():
    rng = make_rng(0)
    a, c, mean, sigma = np.array([1.0, 2.0, 0.5]), np.array([0.3, -1.0, 2.0]), np.array([1.0, 1.0, 1.0]), 0.1

    def f(theta):  # (n, 3) -> (n,)
        return -np.sum(a * (theta - c) ** 2, axis=1)

    noise = rng.standard_normal((20000, 3))
    estimate = es.es_gradient(noise, f(mean + sigma * noise), f(mean - sigma * noise), sigma)
    true = -2.0 * a * (mean - c)  # [-1.4, -8.0, 1.0]
    np.testing.assert_allclose(estimate, true, atol=0.15)


def test_open_es_climbs_a_quadratic():
    strategy = es.OpenES(np.zeros(4), es.Config(population=20, sigma=0.1, lr=0.05, weight_decay=0.0))
    rng, target = make_rng(1), np.array([1.0, -2.0, 0.5, 3.0])
    for _ in range(300):
        strategy.tell(-np.sum((strategy.ask(rng) - target) ** 2, axis=1))
    np.testing.assert_allclose(strategy.solution()[0], target, atol=0.1)


def test_tournament_of_everyone_picks_the_best_and_rank_selection_favours_the_fit():
    fitness = np.array([1.0, 5.0, 3.0, -2.0])
    rng = make_rng(0)
    winners = ga.tournament_select(fitness, 500, 30, rng)
    assert np.mean(winners == 1) > 0.99
    picks = np.bincount(ga.rank_select(fitness, 20000, rng), minlength=4) / 20000
    np.testing.assert_allclose(picks, [0.2, 0.4, 0.3, 0.1], atol=0.015)  # ranks 2, 4, 3, 1 over 10


def test_crossovers_and_mutation():
    rng = make_rng(0)
    a, b = np.zeros((50, 6)), np.ones((50, 6))
    child = ga.uniform_crossover(a, b, rng)
    assert set(np.unique(child)) == {0.0, 1.0} and 0.4 < child.mean() < 0.6
    blend = ga.arithmetic_crossover(a, b, rng)
    assert np.all((blend >= 0) & (blend <= 1)) and np.allclose(blend.std(axis=1), 0.0)  # one weight per child
    assert np.array_equal(ga.gaussian_mutation(a, 1.0, 0.0, rng), a)
    moved = ga.gaussian_mutation(a, 0.5, 0.3, rng)
    assert 0.25 < np.mean(moved != 0) < 0.35 and 0.45 < moved[moved != 0].std() < 0.55
    assert ga.mutation_sigma(0.4, 0.5, 0.02, 1) == 0.2 and ga.mutation_sigma(0.4, 0.5, 0.02, 10) == 0.02


def test_ga_keeps_its_elite_unchanged():
    config = ga.Config(elite=2, population=6)
    algo = ga.GeneticAlgorithm(make_rng(0).standard_normal((6, 3)), config)
    first = algo.ask(make_rng(1)).copy()
    algo.tell(np.array([0.0, 9.0, 1.0, 8.0, 2.0, 3.0]))
    nxt = algo.ask(make_rng(2))
    assert np.array_equal(nxt[:2], first[[1, 3]]) and np.array_equal(algo.solution(), first[[1]])


def test_ga_clearly_beats_a_random_policy_on_cartpole():
    result = ga.train(ga.Config(total_steps=15_000, population=32, eval_every=5_000, final_eval_episodes=10),
                      make_rng(0))
    assert result.metrics["final_eval_return"] > 150  # a random policy scores about 22
    assert result.metrics["env_steps"] >= 15_000 and result.metrics["generations"] >= 3


@pytest.mark.parametrize("module", [ga, es])
def test_stop_and_resume_give_the_same_parameters_bit_for_bit(module, tmp_path):
    config = module.Config(total_steps=6_000, population=8, eval_every=3_000, eval_episodes=2,
                           final_eval_episodes=2, hidden="4")
    straight = module.train(config, make_rng(0))
    with pytest.raises(Stopped):
        module.train(config, make_rng(0), out=tmp_path, checkpoint_every="off", stop=StopAfter(3))
    resumed = module.train(config, make_rng(0), out=tmp_path, resume=True)
    assert resumed.metrics["generations"] == straight.metrics["generations"] > 3
    assert np.array_equal(resumed.policy.flat_, straight.policy.flat_)
    assert resumed.metrics["learning_curve"] == straight.metrics["learning_curve"]
