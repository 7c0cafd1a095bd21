"""GA and ES on the car with the compiled population kernel: the same fitness and weights as NumPy."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import annrl.nn.compiled
from annrl.agents import es, ga, make_rng
from annrl.agents.envs import EnvShape
from annrl.agents.neuroevolution import PopulationEvaluator, policy_network
from annrl.errors import InputError

needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="annrl[fast] not installed")

CAR = {"env": "annrl/CarTrack-v0", "track": "s_bends"}


def fitness_both(module, thetas_scale: float, seed: int, **settings):
    """``evaluator.fitness`` of one random population with kernel numpy, then compiled."""
    out = []
    for kernel in ("numpy", "compiled"):
        config = module.Config(**CAR, kernel=kernel, **settings)
        shape = EnvShape.probe(config)
        net = policy_network(config, shape, config.population, make_rng(0))
        evaluator = PopulationEvaluator(config, net, shape)
        assert evaluator.kernel == kernel
        try:
            out.append(evaluator.fitness(thetas_scale * np.array(net.flat_), seed))
        finally:
            evaluator.close()
    return out


@needs_numba
@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_compiled_population_scores_like_numpy_discrete(scale):
    (f_np, steps_np, laps_np), (f_c, steps_c, laps_c) = fitness_both(ga, scale, seed=4, population=24,
                                                                       episodes_per_member=2)
    np.testing.assert_allclose(f_c, f_np, rtol=0, atol=1e-10)
    assert steps_c == steps_np and np.array_equal(laps_c, laps_np)
    assert np.ptp(f_np) > 1.0  # the networks drove differently: equal fitness means something


@needs_numba
def test_compiled_population_scores_like_numpy_continuous_with_the_crash_penalty():
    (f_np, steps_np, _), (f_c, steps_c, _) = fitness_both(es, 3.0, seed=9, population=16, continuous=True,
                                                          fitness="return")
    np.testing.assert_allclose(f_c, f_np, rtol=0, atol=1e-10)
    assert steps_c == steps_np
    assert np.any(f_np < -5.0)  # some crashed and paid the penalty: both paths charged it alike


@needs_numba
def test_ga_on_the_car_gives_the_same_run_with_either_kernel():
    runs = {}
    for kernel in ("numpy", "compiled"):
        config = ga.Config(**CAR, kernel=kernel, population=16, total_steps=40_000, eval_every=20_000,
                           eval_episodes=2, final_eval_episodes=2, seed=3)
        runs[kernel] = ga.train(config, make_rng(config.seed))
    numpy_run, compiled_run = runs["numpy"], runs["compiled"]
    assert compiled_run.metrics["kernel"] == "compiled" and numpy_run.metrics["kernel"] == "numpy"
    assert compiled_run.metrics["generations"] == numpy_run.metrics["generations"] >= 3
    curve_np, curve_c = (np.array(r.metrics["charts/episodic_return"]) for r in (numpy_run, compiled_run))
    np.testing.assert_allclose(curve_c, curve_np, rtol=0, atol=1e-10)
    np.testing.assert_allclose(compiled_run.policy.flat_, numpy_run.policy.flat_, rtol=0, atol=1e-10)
    population = [r.extra["strategy"].population_ for r in (numpy_run, compiled_run)]
    np.testing.assert_allclose(population[1], population[0], rtol=0, atol=1e-10)


def test_kernel_compiled_without_numba_names_the_extra(monkeypatch):
    monkeypatch.setattr(annrl.nn.compiled, "available", lambda: False)
    with pytest.raises(InputError, match=r'kernel="compiled" needs Numba.*pip install "annrl\[fast\]"'):
        ga.train(ga.Config(**CAR, kernel="compiled", population=4, total_steps=100), make_rng(0))


@needs_numba
def test_kernel_compiled_refuses_what_it_cannot_play_and_auto_says_why_it_took_numpy():
    with pytest.raises(InputError, match=r'kernel="compiled" cannot play this: the environment is not the car'):
        ga.train(ga.Config(kernel="compiled", population=4, total_steps=100), make_rng(0))  # CartPole
    with pytest.raises(InputError, match="kernel must be one of 'auto', 'compiled', 'numpy', got 'jit'"):
        ga.train(ga.Config(**CAR, kernel="jit", population=4, total_steps=100), make_rng(0))
    result = ga.train(ga.Config(**CAR, population=4, total_steps=300, eval_episodes=1, final_eval_episodes=1),
                      make_rng(0))
    assert result.metrics["kernel"] == "numpy" and "total_steps below" in result.metrics["kernel_note"]
    assert result.metrics["config"]["kernel"] == "auto"
