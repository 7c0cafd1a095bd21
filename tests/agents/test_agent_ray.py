"""GA and ES with --ray: the population evaluated in shards on Ray workers, the same run as in-process."""

import numpy as np
import pytest

from annrl.agents import get_algorithm, make_rng
from annrl.agents.envs import make_vector_env
from annrl.agents.ray_shards import ShardEnv, check_shardable
from annrl.errors import InputError
from annrl.io import metrics_equal


@pytest.mark.parametrize("env_id", ["CartPole-v1", "annrl/CarTrack-v0"])
def test_a_shard_starts_its_environments_as_the_whole_population_does(env_id):
    whole = make_vector_env(env_id, 12)
    expected, _ = whole.reset(seed=77)
    for offset, size in [(0, 5), (5, 7)]:
        shard = ShardEnv(make_vector_env(env_id, size), offset, 12)
        found, _ = shard.reset(seed=77)
        np.testing.assert_array_equal(found, expected[offset : offset + size])
        shard.close()
    whole.close()


def test_environments_whose_starts_cannot_be_sharded_are_refused():
    check_shardable("Acrobot-v1")  # synchronous vector env: environment k is seeded with seed + k
    with pytest.raises(InputError, match="cannot shard"):
        check_shardable("phys2d/Pendulum-v0")  # a native vector env with one generator for all starts


@pytest.mark.slow  # a local Ray takes 10-20 s to start on two busy cores
@pytest.mark.parametrize(("algo", "changes"), [
    ("ga", {"population": 10, "total_steps": 2500, "elite": 2}),
    ("es", {"population": 10, "total_steps": 2500, "sigma": 0.2}),
])
def test_sharded_evolution_on_ray_equals_the_in_process_run(local_ray, algo, changes):
    module = get_algorithm(algo)
    config = module.Config(env="CartPole-v1", hidden="4", eval_every=1000, eval_episodes=2, final_eval_episodes=3,
                           **changes)
    here = module.train(config, make_rng(5)).metrics
    sharded = module.train(config, make_rng(5), ray="local").metrics
    assert here["generations"] >= 3
    assert metrics_equal(here, sharded)  # every generation's fitness, the curve, the final evaluation
    assert sharded["learning_curve"] == here["learning_curve"]
