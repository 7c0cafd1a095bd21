"""Distributions of tasks for meta-reinforcement learning (RL^2): ``N`` lifetimes side by side.

A task batch draws ``N`` tasks from its distribution at :meth:`reset` and steps one lifetime in each.
Within a lifetime an episode ("trial") that ends is restarted at once *on the same task*, and
``done`` says so; the learner's memory is not reset, which is what lets it improve from trial to
trial. Every batch has the same small interface:

- ``obs_dim``, ``n_actions``: sizes (Discrete actions only);
- ``reset(rng) -> obs (N, obs_dim)``: new tasks, first observations;
- ``step(actions (N,), rng) -> (obs (N, obs_dim), reward (N,), done (N,) bool)``.

Kinds:

* :class:`BanditTasks`: ``k``-armed Bernoulli bandits, each arm paying 1 with probability
  ``U(0, 1)``; no observation; a trial is one pull.
* :class:`CartPoleTasks`: Gymnasium's CartPole with the pole's half-length drawn from
  ``U(low, high)`` per task (the default pole is 0.5 m).
* :class:`CarGripTasks`: the car on a track with tyre grip drawn from ``U(low, high)`` m/s^2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.agents.envs import draw_seed
from annrl.errors import InputError

TASK_KINDS = ("bandit", "cartpole", "car")


class BanditTasks:
    """``n`` independent ``arms``-armed Bernoulli bandits.

    Attributes
    ----------
    probabilities_ : array, shape (n, arms)
        Each arm's chance of paying 1, drawn at :meth:`reset`.
    """

    obs_dim = 0

    def __init__(self, n: int, arms: int = 10):
        if arms < 2:
            raise InputError(f"a bandit needs at least 2 arms, got {arms}")
        self.n, self.n_actions = n, arms
        self.probabilities_ = np.zeros((n, arms))

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        """Draw every task's arm probabilities ``(n, n_actions)``; returns the empty observations ``(n, 0)``."""
        self.probabilities_ = rng.random((self.n, self.n_actions))
        return np.zeros((self.n, 0))

    def step(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pull arm ``actions`` ``(n,)`` in every task.

        Returns
        -------
        obs : ndarray of shape (n, 0)
        reward : ndarray of shape (n,)
            1.0 where the arm paid, else 0.0.
        done : ndarray of shape (n,)
            All true: every pull is an episode.
        """
        paid = rng.random(self.n) < self.probabilities_[np.arange(self.n), actions]
        return np.zeros((self.n, 0)), paid.astype(np.float64), np.ones(self.n, dtype=bool)

    def regret(self, actions: np.ndarray) -> np.ndarray:
        """Expected regret of each pull, ``max_a p_a - p_action``: ``(n,)`` for ``actions`` ``(n,)``."""
        p = self.probabilities_
        return p.max(axis=1) - p[np.arange(self.n), actions]

    def close(self) -> None:
        """Nothing to release (no environment behind the bandits)."""
        pass


class _GymTasks:
    """``n`` single Gymnasium environments, one task each, restarted on the same task when an episode ends."""

    def __init__(self, envs: list[Any]):
        self.envs, self.n = envs, len(envs)
        self.obs_dim = int(envs[0].observation_space.shape[0])
        self.n_actions = int(envs[0].action_space.n)

    def _set_task(self, env: Any, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        obs = []
        for env in self.envs:
            self._set_task(env, rng)
            obs.append(env.reset(seed=draw_seed(rng))[0])
        return np.asarray(obs, dtype=np.float64)

    def step(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        obs, reward, done = np.zeros((self.n, self.obs_dim)), np.zeros(self.n), np.zeros(self.n, dtype=bool)
        for k, env in enumerate(self.envs):
            o, reward[k], terminated, truncated, _ = env.step(int(actions[k]))
            done[k] = terminated or truncated
            obs[k] = env.reset(seed=draw_seed(rng))[0] if done[k] else o
        return obs, reward, done

    def close(self) -> None:
        for env in self.envs:
            env.close()


class CartPoleTasks(_GymTasks):
    """CartPole with a pole half-length ``U(low, high)`` metres per task (``lengths_``, ``(n,)``)."""

    def __init__(self, n: int, low: float = 0.25, high: float = 1.0, max_episode_steps: int = 200):
        from gymnasium.envs.classic_control import CartPoleEnv
        from gymnasium.wrappers import TimeLimit

        super().__init__([TimeLimit(CartPoleEnv(), max_episode_steps) for _ in range(n)])
        self.low, self.high = low, high
        self.lengths_ = np.zeros(n)

    def _set_task(self, env: Any, rng: np.random.Generator) -> None:
        pole = env.unwrapped
        pole.length = float(rng.uniform(self.low, self.high))
        pole.polemass_length = pole.masspole * pole.length  # derived in CartPoleEnv.__init__ only
        self.lengths_[self.envs.index(env)] = pole.length


class CarGripTasks(_GymTasks):
    """The car (Discrete actions) with tyre grip ``U(low, high)`` m/s^2 per task (``grips_``, ``(n,)``)."""

    def __init__(self, n: int, low: float = 4.0, high: float = 12.0, track: str = "oval",
                 max_episode_steps: int = 400):
        from annrl.envs.car_env import CarTrackEnv

        super().__init__([CarTrackEnv(track, max_episode_steps=max_episode_steps) for _ in range(n)])
        self.low, self.high = low, high
        self.grips_ = np.zeros(n)

    def _set_task(self, env: Any, rng: np.random.Generator) -> None:
        grip = float(rng.uniform(self.low, self.high))
        self.grips_[self.envs.index(env)] = grip
        set_grip(env, grip)


def set_grip(env: Any, grip: float) -> None:
    """Change a car environment's tyre grip in place (the car's ``set_settings``)."""
    env.unwrapped.set_settings(grip=grip)


def make_tasks(kind: str, n: int, **options: Any) -> Any:
    """A task batch of ``kind`` ("bandit", "cartpole" or "car") with ``n`` lifetimes."""
    builders = {"bandit": BanditTasks, "cartpole": CartPoleTasks, "car": CarGripTasks}
    if kind not in builders:
        raise InputError(f"task kind must be one of {list(TASK_KINDS)}, got {kind!r}")
    return builders[kind](n, **options)
