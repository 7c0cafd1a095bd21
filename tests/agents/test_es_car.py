"""ES on the car: tied ranks, the training episodes' stall rule and progress fitness, and a drive."""

from __future__ import annotations

import numpy as np
import pytest

from annrl.agents import es, ga, make_rng
from annrl.agents.envs import EnvShape
from annrl.agents.neuroevolution import PopulationEvaluator, policy_network, training_settings
from annrl.errors import InputError

CAR = {"env": "annrl/CarTrack-v0", "track": "s_bends", "continuous": True}


def test_tied_fitness_shares_a_rank_so_a_tied_antithetic_pair_pushes_nowhere():
    np.testing.assert_allclose(es.centered_ranks(np.array([0.0, 0.0, 5.0, -1.0])), [0.0, 0.0, 0.5, -0.5])
    noise = make_rng(0).standard_normal((3, 4))
    shaped = es.centered_ranks(np.zeros(6))  # every car stood still
    assert np.array_equal(es.es_gradient(noise, shaped[:3], shaped[3:], 0.1), np.zeros(4))


@pytest.mark.parametrize("module", [es, ga])
def test_es_and_the_ga_train_the_car_with_a_stall_rule_and_progress_fitness(module):
    assert training_settings(module.Config(**CAR)) == {"stall_time": 7.0, "crash_penalty": 0.0}
    assert training_settings(module.Config()) == {}  # CartPole: car-only settings do nothing
    assert training_settings(module.Config(**CAR, stall_time=0.0, fitness="return")) == {}
    assert training_settings(module.Config(**CAR, stall_time=3.5, fitness="return")) == {"stall_time": 3.5}


@pytest.mark.parametrize("bad", [{"fitness": "speed"}, {"stall_time": -1.0}])
def test_bad_evolution_settings_are_refused(bad):
    with pytest.raises((InputError, ValueError), match=next(iter(bad))):
        es.train(es.Config(**CAR, **bad), make_rng(0))


def _evaluator(config: es.Config) -> tuple[PopulationEvaluator, np.ndarray]:
    shape = EnvShape.probe(config)
    net = policy_network(config, shape, config.population, make_rng(0))
    return PopulationEvaluator(config, net, shape), np.array(net.flat_)


def test_a_standing_car_is_ended_after_the_stall_time_with_nothing_earned():
    config = es.Config(**CAR, population=2)
    evaluator, thetas = _evaluator(config)
    try:
        returns, steps, _ = evaluator.fitness(np.zeros_like(thetas), seed=3)  # all outputs 0: no throttle
    finally:
        evaluator.close()
    assert np.array_equal(returns, [0.0, 0.0]) and steps == 2 * 140  # 7 s of 0.05 s steps, not 3,000


def test_progress_fitness_is_the_return_without_the_crash_penalty():
    scores = {}
    for fitness in ("return", "progress"):
        evaluator, thetas = _evaluator(es.Config(**CAR, population=8, fitness=fitness))
        try:
            scores[fitness] = evaluator.fitness(3.0 * thetas, seed=5)[0]  # bold random drivers: some crash
        finally:
            evaluator.close()
    gap = scores["progress"] - scores["return"]
    assert np.all(np.isclose(gap, 0.0) | np.isclose(gap, 10.0)) and np.isclose(gap, 10.0).any()


def test_es_gets_the_car_moving_within_a_few_generations():
    config = es.Config(**CAR, total_steps=60_000, eval_every=60_000, eval_episodes=2, final_eval_episodes=2)
    result = es.train(config, make_rng(0))
    fitness = [value for _, value in result.metrics["losses/mean_fitness"]]
    # A generation of standing cars scores 0; these drive a few checkpoints before crashing or stalling.
    assert result.metrics["generations"] >= 8 and np.mean(fitness[-3:]) > np.mean(fitness[:3]) + 2.0


@pytest.mark.slow
def test_es_drives_three_laps_of_the_s_bends():
    config = es.Config(**CAR, total_steps=3_000_000, eval_every=100_000, eval_episodes=5, final_eval_episodes=10,
                       stop_at_threshold=True)
    metrics = es.train(config, make_rng(0)).metrics
    assert metrics["final_eval_laps"] == 3.0 and metrics["final_eval_success_rate"] == 1.0
