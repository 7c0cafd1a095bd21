"""What every agent shares: seeding, schedules, environments, evaluation, checkpoints, saved policies.

* :func:`make_rng` is the one seeding function; every other function takes ``rng`` as an argument.
* :func:`make_env` / :func:`make_vector_env` build any Gymnasium environment with a Box observation
  space, ``annrl/CarTrack-v0`` included (``track=`` and ``continuous=`` go to the car only).
* :func:`run_episodes` plays one episode in every sub-environment of a vector environment, so a
  whole population (``P`` networks x ``E`` episodes) is scored in one loop of batched forwards.
* :class:`EnvPool` is the handful of environments an on-line learner (DQN, PPO) steps. Its state
  is *(reset seed, actions since the reset)* per environment, so a checkpoint restores it exactly by
  replaying the actions (every supported environment is deterministic given its seed and actions).
* :class:`Checkpoints` runs ``--out`` / ``--checkpoint-every`` / ``--resume`` for a training loop.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from annrl.config import setting
from annrl.errors import InputError, Stopped
from annrl.io import intermediate

CAR_ENV_ID = "annrl/CarTrack-v0"
#: mean evaluation return that counts as solved, where Gymnasium's spec gives none
DEFAULT_THRESHOLDS = {CAR_ENV_ID: 295.0}  # 3 laps of 100 each, with no crash
SEED_BOUND = 2**31 - 1


def make_rng(seed: int) -> np.random.Generator:
    """The one seeding function: the generator every random draw of a run comes from."""
    return np.random.default_rng(int(seed))


def linear_schedule(start: float, end: float, duration: float, t: float) -> float:
    """``start`` moving linearly to ``end`` over ``duration`` steps, then ``end``.

    >>> linear_schedule(1.0, 0.05, 100, 50)
    0.525
    """
    if duration <= 0:
        return end
    return start + (end - start) * min(max(t / duration, 0.0), 1.0)


def draw_seed(rng: np.random.Generator) -> int:
    """A reset seed for an environment, drawn from ``rng``."""
    return int(rng.integers(0, SEED_BOUND))


# -- environments ---------------------------------------------------------------------------------
def is_car(env_id: str) -> bool:
    return env_id == CAR_ENV_ID


def _env_kwargs(env_id: str, track: str, continuous: bool) -> dict[str, Any]:
    if is_car(env_id):
        import annrl.envs  # noqa: F401 - registers the car

        return {"track": track, "continuous": continuous}
    return {}


def make_env(env_id: str, *, track: str = "s_bends", continuous: bool = False) -> gym.Env:
    """One environment; refuses observation spaces other than a flat Box."""
    try:
        env = gym.make(env_id, **_env_kwargs(env_id, track, continuous))
    except gym.error.Error as err:
        raise InputError(f"--env {env_id!r} cannot be made: {err}", field="--env") from None
    if not isinstance(env.observation_space, gym.spaces.Box) or len(env.observation_space.shape) != 1:
        raise InputError(f"--env {env_id!r} must have a flat Box observation space, got {env.observation_space}")
    return env


@dataclass(frozen=True)
class EnvShape:
    """What a network needs to know about an environment.

    ``n_outputs`` is the number of discrete actions, or the action dimension for a Box.
    """

    obs_dim: int
    discrete: bool
    n_outputs: int
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    threshold: float | None = None

    @classmethod
    def probe(cls, config: Any) -> EnvShape:
        """The shape of ``config.env`` (with its ``track`` and ``continuous``): one env made, read, closed."""
        env = make_env(config.env, track=config.track, continuous=config.continuous)
        try:
            return cls.of(env, config.env)
        finally:
            env.close()

    @classmethod
    def of(cls, env: gym.Env, env_id: str) -> EnvShape:
        space = env.action_space
        threshold = env.spec.reward_threshold if env.spec is not None else None
        threshold = DEFAULT_THRESHOLDS.get(env_id, threshold)
        obs_dim = int(env.observation_space.shape[0])
        if isinstance(space, gym.spaces.Discrete):
            return cls(obs_dim, True, int(space.n), threshold=threshold)
        if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            return cls(obs_dim, False, int(space.shape[0]), tuple(map(float, space.low)),
                       tuple(map(float, space.high)), threshold)
        raise InputError(f"the action space of {env_id!r} must be Discrete or a flat Box, got {space}")


def make_vector_env(env_id: str, num_envs: int, *, track: str = "s_bends",
                    continuous: bool = False) -> gym.vector.VectorEnv:
    """``num_envs`` copies stepped together: the car's own vector env, Gymnasium's native one
    (CartPole) where it exists, else a synchronous one."""
    kwargs = _env_kwargs(env_id, track, continuous)
    if is_car(env_id):
        from annrl.envs import CarTrackVecEnv

        return CarTrackVecEnv(num_envs, autoreset_mode="Disabled", **kwargs)
    spec = gym.spec(env_id)
    mode = "vector_entry_point" if spec.vector_entry_point is not None else "sync"
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **kwargs)


def to_actions(outputs: np.ndarray, shape: EnvShape, mode: str) -> np.ndarray:
    """Actions from network outputs ``(..., n_outputs)``.

    ``mode`` is ``"argmax"`` (discrete), ``"scale"`` (outputs in [-1, 1] mapped onto the Box) or
    ``"clip"`` (outputs clipped to the Box).
    """
    if mode == "argmax":
        return np.argmax(outputs, axis=-1)
    low, high = np.asarray(shape.low), np.asarray(shape.high)
    if mode == "scale":
        return (low + (np.clip(outputs, -1.0, 1.0) + 1.0) * 0.5 * (high - low)).astype(np.float32)
    return np.clip(outputs, low, high).astype(np.float32)


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
             track: str = "s_bends", continuous: bool = False) -> Episodes:
    """``episodes`` episodes played at once with a deterministic policy ``act`` (obs ``(n, d)`` -> actions)."""
    env = make_vector_env(env_id, episodes, track=track, continuous=continuous)
    try:
        return run_episodes(env, act, seed)
    finally:
        env.close()


# -- the environments of an on-line learner -------------------------------------------------------
class EnvPool:
    """``num_envs`` single environments in lockstep, restarted within the step that ends an episode.

    Every reset draws its seed from the ``rng`` given to :meth:`step` / :meth:`reset`, and every
    action since is logged, so :meth:`state` / :meth:`restore` reproduce the environments exactly.

    Parameters
    ----------
    env_id : str
    num_envs : int
    track, continuous
        For the car.
    """

    def __init__(self, env_id: str, num_envs: int, *, track: str = "s_bends", continuous: bool = False):
        self.envs = [make_env(env_id, track=track, continuous=continuous) for _ in range(num_envs)]
        self.shape = EnvShape.of(self.envs[0], env_id)
        self.num_envs = num_envs
        self.seeds = np.zeros(num_envs, dtype=np.int64)
        self.logs: list[list[Any]] = [[] for _ in range(num_envs)]
        self.returns = np.zeros(num_envs)
        self.obs = np.zeros((num_envs, self.shape.obs_dim))

    def _reset_one(self, k: int, rng: np.random.Generator) -> np.ndarray:
        self.seeds[k] = draw_seed(rng)
        self.logs[k] = []
        self.returns[k] = 0.0
        return np.asarray(self.envs[k].reset(seed=int(self.seeds[k]))[0], dtype=np.float64)

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        """Reset every environment; returns observations ``(num_envs, obs_dim)``."""
        self.obs = np.stack([self._reset_one(k, rng) for k in range(self.num_envs)])
        return self.obs.copy()

    def step(self, actions: np.ndarray, rng: np.random.Generator):
        """One step of every environment.

        Returns
        -------
        obs : (num_envs, obs_dim), the next observations (fresh ones where an episode ended)
        reward : (num_envs,)
        terminated, truncated : (num_envs,) bool
        final_obs : (num_envs, obs_dim), the last observation of each environment before any restart
        finished : list of float, the returns of the episodes that ended in this step
        """
        n = self.num_envs
        reward, terminated, truncated = np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        final_obs = np.empty_like(self.obs)
        finished = []
        for k, env in enumerate(self.envs):
            action = actions[k]
            self.logs[k].append(action)
            obs, r, term, trunc, _ = env.step(action.item() if self.shape.discrete else action)
            final_obs[k] = obs
            reward[k], terminated[k], truncated[k] = r, term, trunc
            self.returns[k] += r
            if term or trunc:
                finished.append(float(self.returns[k]))
                obs = self._reset_one(k, rng)
            self.obs[k] = obs
        return self.obs.copy(), reward, terminated, truncated, final_obs, finished

    def state(self) -> dict[str, np.ndarray]:
        """The environments as arrays: reset seeds, returns so far, and padded action logs."""
        longest = max(len(log) for log in self.logs)
        width = () if self.shape.discrete else (self.shape.n_outputs,)
        dtype = np.int64 if self.shape.discrete else np.float32
        actions = np.zeros((self.num_envs, longest, *width), dtype=dtype)
        for k, log in enumerate(self.logs):
            if log:
                actions[k, : len(log)] = np.asarray(log, dtype=dtype)
        return {"pool.seeds": self.seeds.copy(), "pool.returns": self.returns.copy(), "pool.actions": actions,
                "pool.lengths": np.array([len(log) for log in self.logs], dtype=np.int64)}

    def restore(self, tensors: dict[str, np.ndarray]) -> np.ndarray:
        """Put every environment back in the saved state by resetting it and replaying its actions."""
        for k, env in enumerate(self.envs):
            self.seeds[k] = tensors["pool.seeds"][k]
            obs = np.asarray(env.reset(seed=int(self.seeds[k]))[0], dtype=np.float64)
            log = tensors["pool.actions"][k, : int(tensors["pool.lengths"][k])]
            for action in log:
                obs = np.asarray(env.step(action.item() if self.shape.discrete else action)[0], dtype=np.float64)
            self.logs[k] = list(log)
            self.obs[k] = obs
        self.returns[:] = tensors["pool.returns"]
        return self.obs.copy()

    def close(self) -> None:
        for env in self.envs:
            env.close()


# -- checkpoints ----------------------------------------------------------------------------------
class Checkpoints:
    """``--out``, ``--checkpoint-every`` and ``--resume`` for one training loop.

    Parameters
    ----------
    out : str or Path or None
        Run folder; None saves nothing.
    algo : str
    config : dict
        The run's settings; a resume with different settings is refused.
    every : str or int or None
        As ``--checkpoint-every`` (None: every 300 s).
    resume : bool
    stop : object with ``requested``, ``message(path)`` and ``exit_code``, optional
        From :func:`annrl.io.graceful_stop`.
    """

    def __init__(self, out: str | Path | None, algo: str, config: dict[str, Any], *, every: Any = None,
                 resume: bool = False, stop: Any = None):
        from annrl.io import CheckpointSchedule, RunDir

        self.run = RunDir(out) if out is not None else None
        self.schedule = CheckpointSchedule.parse(every) if out is not None else None
        self.algo, self.config = algo, json.loads(json.dumps(config))
        self.resume, self.stop = resume, stop
        self.last_path: Path | None = None

    def restore(self) -> tuple[int, dict[str, np.ndarray], dict[str, Any]] | None:
        """``(step, tensors, state)`` of the newest valid checkpoint when resuming, else None."""
        if not self.resume or self.run is None:
            return None
        checkpoint, skipped = self.run.latest()
        for err in skipped:
            print(f"annrl: warning: skipped damaged checkpoint {err}", file=sys.stderr)
        if checkpoint is None:
            return None
        meta = checkpoint.metadata
        if meta.get("algo") != self.algo or meta.get("config") != self.config:
            changed = sorted(k for k in self.config if meta.get("config", {}).get(k) != self.config[k])
            raise InputError(f"cannot --resume {checkpoint.path}: it was saved by {meta.get('algo')!r} with other "
                             f"settings (differing: {', '.join(changed) or 'algo'})")
        return int(checkpoint.step), checkpoint.tensors, meta["state"]

    def after(self, step: int, state: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]], *,
              final: bool = False) -> None:
        """Save when due (or ``final``, or on a stop request); raise ``Stopped`` after a stop request."""
        requested = self.stop is not None and self.stop.requested
        if self.run is not None and (final or requested or self.schedule.due(step)):
            tensors, meta = state()
            self.last_path = self.run.save(step, tensors, {"algo": self.algo, "config": self.config, "state": meta})
            self.schedule.mark_saved()
        if requested and not final:
            raise Stopped(self.stop.message(self.last_path), self.stop.exit_code)


def rng_tensors(prefix: str, rng: np.random.Generator) -> dict[str, Any]:
    """``{prefix: rng state}`` for checkpoint metadata."""
    from annrl.io import rng_state

    return {prefix: rng_state(rng)}


# -- saved policies -------------------------------------------------------------------------------
AGENT_FILE = "agent.safetensors"


def save_policy(path: str | Path, net: Any, *, algo: str, env_id: str, shape: EnvShape, mode: str,
                track: str = "s_bends", continuous: bool = False, extra: dict[str, Any] | None = None) -> Path:
    """Write the policy network of one agent (population of 1) with what it takes to act."""
    from annrl.io.network_file import save_network

    meta = {"algo": algo, "env": env_id, "track": track, "continuous": continuous, "action_mode": mode,
            "env_shape": {"obs_dim": shape.obs_dim, "discrete": shape.discrete, "n_outputs": shape.n_outputs,
                          "low": list(shape.low), "high": list(shape.high), "threshold": shape.threshold},
            **(extra or {})}
    return save_network(path, net, meta)


@dataclass
class Policy:
    """A saved agent: ``policy(obs (n, d)) -> actions``, with its metadata."""

    net: Any
    shape: EnvShape
    mode: str
    metadata: dict[str, Any]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return to_actions(self.net.predict(np.asarray(obs, dtype=np.float64))[0], self.shape, self.mode)


def load_policy(path: str | Path) -> Policy:
    """The agent saved by :func:`save_policy` at ``path`` (a run folder means its ``agent.safetensors``)."""
    from annrl.io.network_file import load_network

    path = Path(path)
    if path.is_dir():
        path = path / AGENT_FILE
    if not path.exists():
        raise InputError(f"no agent file at {path}")
    net, meta = load_network(path)
    if "action_mode" not in meta:
        raise InputError(f"{path} is a network file but not an annrl agent (no action_mode)")
    s = meta["env_shape"]
    shape = EnvShape(s["obs_dim"], s["discrete"], s["n_outputs"], tuple(s["low"]), tuple(s["high"]), s["threshold"])
    return Policy(net, shape, meta["action_mode"], meta)


# -- progress -------------------------------------------------------------------------------------
class ProgressBar:
    """A rich progress bar showing the latest return; does nothing when ``enabled`` is False."""

    def __init__(self, total: int, label: str, enabled: bool):
        self.enabled = enabled
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total}"),
                                TextColumn("return {task.fields[ret]}"), TimeElapsedColumn(), transient=True)
            self.task = self.bar.add_task(label, total=total, ret="-")
            self.bar.start()

    def update(self, completed: int, ret: float | None) -> None:
        if self.enabled:
            self.bar.update(self.task, completed=completed, ret="-" if ret is None else f"{ret:.1f}")

    def close(self) -> None:
        if self.enabled:
            self.bar.stop()


# -- settings every agent has ---------------------------------------------------------------------
@dataclass
class BaseConfig:
    """Settings shared by every agent (each agent's ``Config`` adds its hyper-parameters)."""

    env: str = setting("CartPole-v1", "Gymnasium environment id (Box observations), or annrl/CarTrack-v0.")
    track: str = setting("s_bends", "car track (annrl/CarTrack-v0 only): shipped name, JSON file or random:SEED.")
    continuous: bool = setting(False, "car only: (steer, throttle) actions instead of Discrete(5).")
    total_steps: int = setting(100_000, "environment steps to train for.")
    seed: int = setting(0, "seed of everything random in the run.")
    eval_every: int = setting(10_000, "environment steps between evaluations (the learning curve).")
    eval_episodes: int = setting(10, "episodes per evaluation during training.")
    final_eval_episodes: int = setting(20, "episodes of the final evaluation.")
    stop_at_threshold: bool = setting(False, "stop as soon as an evaluation reaches the solved threshold.")


def base_table() -> dict[str, list[Any]]:
    from annrl.validate import NON_NEGATIVE_INT, POSITIVE_INT

    return {"total_steps": POSITIVE_INT, "eval_every": POSITIVE_INT, "eval_episodes": POSITIVE_INT,
            "final_eval_episodes": POSITIVE_INT, "seed": NON_NEGATIVE_INT}


def parse_sizes(text: str | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """``"64,64"`` -> ``(64, 64)``; ``""`` -> ``()`` (no hidden layer)."""
    if isinstance(text, (tuple, list)):
        return tuple(int(v) for v in text)
    parts = [p for p in str(text).replace(" ", "").split(",") if p]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise InputError(f"--hidden must be comma-separated layer widths such as 64,64, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise InputError(f"--hidden widths must be >= 1, got {text!r}")
    return sizes


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

    def add_eval(self, step: int, mean_return: float) -> bool:
        """Record an evaluation (and report it: annrl.io.intermediate); True when it is the first to
        reach the threshold."""
        self.points.append([int(step), float(mean_return)])
        intermediate.report(step, eval_return=mean_return)
        if self.threshold is not None and self.steps_to_threshold is None and mean_return >= self.threshold:
            self.steps_to_threshold = int(step)
            return True
        return False

    def add_loss(self, name: str, step: int, value: float) -> None:
        self.losses.setdefault(name, []).append([int(step), float(value)])

    @property
    def solved(self) -> bool:
        return self.steps_to_threshold is not None

    def state(self) -> dict[str, Any]:
        return {"points": self.points, "episodes": self.episodes, "losses": self.losses,
                "steps_to_threshold": self.steps_to_threshold}

    def restore(self, state: dict[str, Any]) -> None:
        self.points, self.episodes = state["points"], state["episodes"]
        self.losses, self.steps_to_threshold = state["losses"], state["steps_to_threshold"]


def eval_seed(config: BaseConfig, index: int) -> int:
    """Evaluation seeds are fixed by the run's seed, apart from the training generator, so that
    evaluating never changes what is trained."""
    return 1_000_003 * (config.seed + 1) + 10_007 * index


def final_metrics(algo: str, config: BaseConfig, curve: Curve, env_steps: int, final: Episodes) -> dict[str, Any]:
    """``metrics.json`` of a run (wall-clock figures are added under "timing" by the caller)."""
    from dataclasses import asdict

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


@dataclass
class Result:
    """What ``train`` returns: the policy network (population 1), its metrics and the run folder."""

    policy: Any
    metrics: dict[str, Any]
    shape: EnvShape
    action_mode: str
    extra: dict[str, Any] | None = None

    def act(self, obs: np.ndarray) -> np.ndarray:
        return to_actions(self.policy.predict(np.asarray(obs, dtype=np.float64))[0], self.shape, self.action_mode)
