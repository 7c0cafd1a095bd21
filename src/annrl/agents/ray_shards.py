"""The population of a GA or ES split into shards, each evaluated by a Ray worker.

Network ``p`` of the population plays environments ``p E .. p E + E - 1`` of the whole
population's vector environment, whichever worker runs it: a shard that holds networks
``a .. b-1`` starts its environments exactly as environments ``a E .. b E - 1`` of the
in-process run start. So a sharded run gives the same fitness, generation after generation,
as the in-process run with the same seed.

How each environment's start is reproduced:

- the car (``annrl/CarTrack-v0``) and Gymnasium's synchronous vector envs seed environment
  ``k`` with ``seed + k``: a shard resets with ``seed + a E``;
- CartPole's native vector env draws all starts from one generator, as one ``(4, n)`` array: a
  shard draws the whole array from the same seed and keeps its columns. Only the first episode
  of each environment counts, so the later automatic resets do not matter.

Ray is imported here only, when ``--ray`` is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.agents.envs import EnvShape
from annrl.agents.neuroevolution import EvolutionConfig, PopulationEvaluator, policy_network
from annrl.errors import InputError


class ShardEnv:
    """A vector env of ``n`` environments that starts like environments ``offset .. offset+n-1`` of ``total``."""

    def __init__(self, env: Any, offset: int, total: int):
        self.env, self.offset, self.total = env, offset, total
        self.num_envs = env.num_envs

    def reset(self, *, seed: int) -> tuple[np.ndarray, dict]:
        """Reset with ``seed`` as environments ``offset .. offset + n - 1`` of ``total`` would start.

        Returns the observations ``(n, obs_dim)`` and the info.
        """
        from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
        from gymnasium.utils import seeding

        inner = self.env.unwrapped
        if isinstance(inner, CartPoleVectorEnv):
            obs, info = self.env.reset(seed=seed)
            starts = seeding.np_random(seed)[0].uniform(inner.low, inner.high, size=(4, self.total))
            inner.state = starts[:, self.offset : self.offset + self.num_envs]
            return inner.state.T.astype(np.float32), info
        return self.env.reset(seed=seed + self.offset)

    def step(self, actions: np.ndarray):
        """Step the inner vector env with ``actions`` ``(n,)`` or ``(n, action_dim)``."""
        return self.env.step(actions)

    def close(self) -> None:
        """Close the inner vector env."""
        self.env.close()


def check_shardable(env_id: str) -> None:
    """Refuse environments whose vector env starts cannot be reproduced shard by shard."""
    import gymnasium as gym

    from annrl.agents.envs import is_car

    if is_car(env_id) or env_id.startswith("CartPole"):
        return
    if gym.spec(env_id).vector_entry_point is not None:
        raise InputError(f"--ray cannot shard --env {env_id}: its native vector env draws every start from one "
                         "generator; run it without --ray", field="--ray")


class ShardWorker:
    """Evaluates networks ``offset .. offset + size - 1`` of the population (a Ray actor)."""

    def __init__(self, config: EvolutionConfig, shape: EnvShape, offset: int, size: int):
        net = policy_network(config, shape, size, np.random.default_rng(0))  # weights are set per call
        self.evaluator = PopulationEvaluator(config, net, shape)
        E = config.episodes_per_member
        self.evaluator.env = ShardEnv(self.evaluator.env, offset * E, config.population * E)

    def fitness(self, thetas: np.ndarray, seed: int):
        """Score this shard's networks ``thetas`` ``(size, D)``, as :meth:`PopulationEvaluator.fitness`."""
        return self.evaluator.fitness(thetas, seed)

    def close(self) -> None:
        """Close the shard's environments."""
        self.evaluator.close()


class RayEvaluator:
    """:class:`~annrl.agents.neuroevolution.PopulationEvaluator`'s interface, over Ray actors.

    Parameters
    ----------
    config : EvolutionConfig
    shape : EnvShape
    address : str
        ``"local"`` starts Ray on this machine; else the address of a cluster.
    shards : int, optional
        Default: one per CPU of the Ray cluster (at most one network per shard).
    """

    def __init__(self, config: EvolutionConfig, shape: EnvShape, address: str, shards: int | None = None):
        from annrl.backend import connect_ray

        check_shardable(config.env)
        self.started = connect_ray(address)
        import ray

        self.mode = "argmax" if shape.discrete else "scale"
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        bounds = np.linspace(0, config.population, min(shards or cpus, config.population) + 1).round().astype(int)
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        actor = ray.remote(num_cpus=1)(ShardWorker)
        self.workers = [actor.remote(config, shape, s.start, s.stop - s.start) for s in self.slices]

    def fitness(self, thetas: np.ndarray, seed: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """As :meth:`PopulationEvaluator.fitness`: every shard plays its part at once.

        ``thetas`` ``(P, D)`` is split by rows between the workers; fitness and laps come back ``(P,)``.
        """
        import ray

        parts = ray.get([w.fitness.remote(thetas[s], seed) for w, s in zip(self.workers, self.slices, strict=True)])
        returns = np.concatenate([p[0] for p in parts])
        laps = None if parts[0][2] is None else np.concatenate([p[2] for p in parts])
        return returns, sum(p[1] for p in parts), laps

    def close(self) -> None:
        """Stop the workers, and Ray itself where this evaluator started it."""
        import ray

        for worker in self.workers:
            ray.kill(worker)
        if self.started:
            ray.shutdown()
