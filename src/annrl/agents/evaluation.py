"""How an agent is scored: episodes played with a policy, the learning curve, ``metrics.json``.

* :func:`run_episodes` plays one episode in every sub-environment of a vector environment, so a
  whole population (``P`` networks x ``E`` episodes) is scored in one loop of batched forwards.
* :func:`evaluate` plays a deterministic policy on fresh environments; :func:`eval_seed` fixes
  their seeds apart from the training generator.
* :class:`Curve` is the learning curve (and training returns, losses) a checkpoint keeps;
  :func:`final_metrics` is the ``metrics.json`` of a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from annrl import progress
from annrl.agents.envs import make_vector_env
from annrl.agents.settings import BaseConfig


@dataclass
class Episodes:
    """One finished episode per sub-environment: ``returns`` and ``lengths`` ``(n,)``; ``laps``
    ``(n,)`` for the car (else None)."""

    returns: np.ndarray
    lengths: np.ndarray
    laps: np.ndarray | None = None


def run_episodes(env: gym.vector.VectorEnv, act: Callable[[np.ndarray], np.ndarray], seed: int,
                 max_steps: int = 100_000) -> Episodes:
    """Play the first episode of every sub-environment of ``env`` (reset with ``seed``).

    Parameters
    ----------
    env : gymnasium.vector.VectorEnv
        Any autoreset mode: steps after a sub-environment's first episode are not counted.
    act : callable
        Observations ``(n, obs_dim)`` to actions ``(n,)`` or ``(n, action_dim)``.
    seed : int
    """
    obs, _ = env.reset(seed=seed)
    n = env.num_envs
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    laps = None
    for _ in range(max_steps):
        obs, reward, terminated, truncated, info = env.step(act(obs))
        returns += np.where(alive, reward, 0.0)
        lengths += alive
        ended = alive & (terminated | truncated)
        if "laps" in info:
            laps = np.where(ended, info["laps"], 0 if laps is None else laps)
        alive &= ~ended
        if not alive.any():
            break
    return Episodes(returns, lengths, laps)


def evaluate(act: Callable[[np.ndarray], np.ndarray], env_id: str, episodes: int, seed: int, *,
             track: str = "s_bends", continuous: bool = False, sensors: dict[str, Any] | None = None) -> Episodes:
    """``episodes`` episodes played at once with a deterministic policy ``act`` (obs ``(n, d)`` -> actions).

    ``sensors`` (the car's, see :func:`~annrl.agents.envs.make_env`) default to those a saved policy
    ``act`` was trained with (its ``shape.sensors``), so that it replays seeing what it learned with.
    """
    if sensors is None:
        sensors = getattr(getattr(act, "shape", None), "sensors", None)
    env = make_vector_env(env_id, episodes, track=track, continuous=continuous, sensors=sensors)
    try:
        return run_episodes(env, act, seed)
    finally:
        env.close()


class Curve:
    """The learning curve and training-episode returns, kept in checkpoints as JSON.

    ``points`` are ``[env_steps, mean eval return]``; ``episodes`` are ``[env_steps, return]`` of
    training episodes (``charts/episodic_return``); ``losses`` are ``[env_steps, value]`` per loss name.
    """

    def __init__(self, threshold: float | None):
        self.threshold = threshold
        self.points: list[list[float]] = []
        self.episodes: list[list[float]] = []
        self.losses: dict[str, list[list[float]]] = {}
        self.steps_to_threshold: int | None = None

    def add_eval(self, step: int, mean_return: float, episode_length: float | None = None) -> bool:
        """Record an evaluation (and report it, with the mean evaluation ``episode_length`` when known:
        annrl.progress); True when it is the first to reach the threshold."""
        self.points.append([int(step), float(mean_return)])
        length = {} if episode_length is None else {"eval_episode_length": episode_length}
        progress.report(step, eval_return=mean_return, **length)
        if progress.recorded():  # the training episodes since the last evaluation, for a training log
            recent = [r for s, r in self.episodes if s > (self.points[-2][0] if len(self.points) > 1 else -1)]
            if recent:
                progress.record(step, train_episode_return=sum(recent) / len(recent), train_episodes=len(recent))
        if self.threshold is not None and self.steps_to_threshold is None and mean_return >= self.threshold:
            self.steps_to_threshold = int(step)
            return True
        return False

    def add_loss(self, name: str, step: int, value: float) -> None:
        """Record loss ``name``'s ``value`` at ``step`` environment steps."""
        self.losses.setdefault(name, []).append([int(step), float(value)])
        progress.record(step, **{name: value})  # a training log (--log) streams it

    @property
    def solved(self) -> bool:
        return self.steps_to_threshold is not None

    def state(self) -> dict[str, Any]:
        """The curve as JSON, for a checkpoint."""
        return {"points": self.points, "episodes": self.episodes, "losses": self.losses,
                "steps_to_threshold": self.steps_to_threshold}

    def restore(self, state: dict[str, Any]) -> None:
        """Put back the curve saved by :meth:`state`."""
        self.points, self.episodes = state["points"], state["episodes"]
        self.losses, self.steps_to_threshold = state["losses"], state["steps_to_threshold"]


def eval_seed(config: BaseConfig, index: int) -> int:
    """Evaluation seeds are fixed by the run's seed, apart from the training generator, so that
    evaluating never changes what is trained."""
    return 1_000_003 * (config.seed + 1) + 10_007 * index


def final_metrics(algo: str, config: BaseConfig, curve: Curve, env_steps: int, final: Episodes) -> dict[str, Any]:
    """``metrics.json`` of a run (wall-clock figures are added under "timing" by the caller)."""
    metrics = {
        "algo": algo, "env": config.env, "env_steps": int(env_steps), "config": asdict(config),
        "final_eval_return": float(final.returns.mean()), "final_eval_std": float(final.returns.std()),
        "final_eval_returns": final.returns.tolist(),
        "steps_to_threshold": curve.steps_to_threshold, "threshold": curve.threshold,
        "learning_curve": curve.points, "charts/episodic_return": curve.episodes,
    }
    metrics.update({f"losses/{name}": values for name, values in curve.losses.items()})
    if final.laps is not None:
        metrics["final_eval_laps"] = float(final.laps.mean())
        metrics["final_eval_success_rate"] = float(np.mean(final.returns >= curve.threshold))
    return metrics
