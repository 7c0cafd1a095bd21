"""The environments an agent plays: any Gymnasium environment with a Box observation space,
``annrl/CarTrack-v0`` included (``track=``, ``continuous=`` and ``sensors=`` go to the car only).

* :func:`make_env` / :func:`make_vector_env` build one environment, or ``n`` stepped together.
* :class:`EnvShape` is what a network needs to know about an environment; :func:`to_actions` turns
  network outputs into its actions.
* :class:`EnvPool` is the handful of environments an on-line learner (DQN, PPO) steps. Its state
  is *(reset seed, actions since the reset)* per environment, so a checkpoint restores it exactly by
  replaying the actions (every supported environment is deterministic given its seed and actions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from annrl.errors import InputError

CAR_ENV_ID = "annrl/CarTrack-v0"
#: mean evaluation return that counts as solved, where Gymnasium's spec gives none
DEFAULT_THRESHOLDS = {CAR_ENV_ID: 295.0}  # 3 laps of 100 each, with no crash
SEED_BOUND = 2**31 - 1
#: the car's sensor settings an agent's config sets (``--n-rays`` ...), each a CarSettings field of that name
SENSOR_FIELDS = ("n_rays", "ray_spread_deg", "max_range", "observe_turn_rate")
#: the sensors of every car policy saved before its file kept them (the pretrained driver's among them)
EARLIEST_SENSORS = {"n_rays": 5, "ray_spread_deg": 180.0, "max_range": 30.0, "observe_turn_rate": False}


def draw_seed(rng: np.random.Generator) -> int:
    """A reset seed for an environment, drawn from ``rng``."""
    return int(rng.integers(0, SEED_BOUND))


def is_car(env_id: str) -> bool:
    """Whether ``env_id`` names annrl's car-on-track environment."""
    return env_id == CAR_ENV_ID


def saved_sensors(env_id: str, sensors: dict[str, Any] | None) -> dict[str, Any] | None:
    """The sensors a saved policy was trained with: ``sensors`` as its file keeps them, or, for a car policy
    saved before files kept them, :data:`EARLIEST_SENSORS` (not today's defaults, which may change)."""
    if sensors is None and is_car(env_id):
        return dict(EARLIEST_SENSORS)
    return sensors


def car_sensors(config: Any) -> dict[str, Any]:
    """The car sensor settings of an agent's ``config`` (its :data:`SENSOR_FIELDS`), as CarSettings overrides."""
    return {name: getattr(config, name) for name in SENSOR_FIELDS if hasattr(config, name)}


def _env_kwargs(env_id: str, track: str, continuous: bool, sensors: dict[str, Any] | None) -> dict[str, Any]:
    if is_car(env_id):
        import annrl.envs  # noqa: F401 - registers the car

        return {"track": track, "continuous": continuous, **(sensors or {})}
    refuse_sensors(sensors, f"({CAR_ENV_ID} only)", f"with --env {env_id}")
    return {}


def refuse_sensors(sensors: dict[str, Any] | None, only: str, where: str) -> None:
    """One line naming the first of ``sensors`` (car sensor settings) that is not the car's default:
    for an environment, or an agent, that builds its cars without them."""
    from annrl.envs.settings import CarSettings

    default = CarSettings()
    changed = {k: v for k, v in (sensors or {}).items() if getattr(default, k) != v}
    if changed:
        name, value = next(iter(changed.items()))
        flag = f"--{name.replace('_', '-')}"
        raise InputError(f"{flag} sets the car's sensors {only}, got {value!r} {where}", field=flag)


def make_env(env_id: str, *, track: str = "s_bends", continuous: bool = False,
             sensors: dict[str, Any] | None = None) -> gym.Env:
    """One environment; refuses observation spaces other than a flat Box.

    ``sensors`` are CarSettings fields (``n_rays``, ``ray_spread_deg``, ``max_range``,
    ``observe_turn_rate``: see :func:`car_sensors`) for the car; another environment refuses them
    unless they are the car's defaults.
    """
    try:
        env = gym.make(env_id, **_env_kwargs(env_id, track, continuous, sensors))
    except gym.error.Error as err:
        raise InputError(f"--env {env_id!r} cannot be made: {err}", field="--env") from None
    if not isinstance(env.observation_space, gym.spaces.Box) or len(env.observation_space.shape) != 1:
        raise InputError(f"--env {env_id!r} must have a flat Box observation space, got {env.observation_space}")
    return env


@dataclass(frozen=True)
class EnvShape:
    """What a network needs to know about an environment.

    ``n_outputs`` is the number of discrete actions, or the action dimension for a Box. ``sensors``
    are the car's sensor settings (:data:`SENSOR_FIELDS`), so that a saved policy replays with the
    sensors it was trained with; None for other environments (and policies saved before they were kept).
    """

    obs_dim: int
    discrete: bool
    n_outputs: int
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    threshold: float | None = None
    sensors: dict[str, Any] | None = field(default=None, hash=False)  # a dict: left out of the hash

    @classmethod
    def probe(cls, config: Any) -> EnvShape:
        """The shape of ``config.env`` (with its ``track``, ``continuous`` and sensors): one env made, read, closed."""
        env = make_env(config.env, track=config.track, continuous=config.continuous, sensors=car_sensors(config))
        try:
            return cls.of(env, config.env)
        finally:
            env.close()

    @classmethod
    def of(cls, env: gym.Env, env_id: str) -> EnvShape:
        """The shape of ``env``'s spaces; raises ``InputError`` unless its actions are Discrete or a flat Box.

        The return threshold is annrl's default for ``env_id`` where it has one, else the Gymnasium spec's.
        """
        space = env.action_space
        threshold = env.spec.reward_threshold if env.spec is not None else None
        threshold = DEFAULT_THRESHOLDS.get(env_id, threshold)
        obs_dim = int(env.observation_space.shape[0])
        sensors = None
        if is_car(env_id):
            settings = env.unwrapped.settings
            sensors = {name: getattr(settings, name) for name in SENSOR_FIELDS}
        if isinstance(space, gym.spaces.Discrete):
            return cls(obs_dim, True, int(space.n), threshold=threshold, sensors=sensors)
        if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            return cls(obs_dim, False, int(space.shape[0]), tuple(map(float, space.low)),
                       tuple(map(float, space.high)), threshold, sensors)
        raise InputError(f"the action space of {env_id!r} must be Discrete or a flat Box, got {space}")


def make_vector_env(env_id: str, num_envs: int, *, track: str = "s_bends", continuous: bool = False,
                    sensors: dict[str, Any] | None = None) -> gym.vector.VectorEnv:
    """``num_envs`` copies stepped together: the car's own vector env, Gymnasium's native one
    (CartPole) where it exists, else a synchronous one (``sensors``: as for :func:`make_env`)."""
    kwargs = _env_kwargs(env_id, track, continuous, sensors)
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


# -- the environments of an on-line learner -------------------------------------------------------
class EnvPool:
    """``num_envs`` single environments in lockstep, restarted within the step that ends an episode.

    Every reset draws its seed from the ``rng`` given to :meth:`step` / :meth:`reset`, and every
    action since is logged, so :meth:`state` / :meth:`restore` reproduce the environments exactly.

    Parameters
    ----------
    env_id : str
    num_envs : int
    track, continuous, sensors
        For the car (see :func:`make_env`).
    plan : annrl.agents.track_plan.TrackPlan, optional
        With ``--tracks``: every episode drives a track drawn (from its reset seed) from the plan.
    """

    def __init__(self, env_id: str, num_envs: int, *, track: str = "s_bends", continuous: bool = False,
                 sensors: dict[str, Any] | None = None, plan: Any = None):
        self.plan = plan
        self.envs = [make_env(env_id, track=track, continuous=continuous, sensors=sensors) for _ in range(num_envs)]
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
        return self._reset_env(k)

    def _reset_env(self, k: int) -> np.ndarray:
        seed = int(self.seeds[k])
        options = None if self.plan is None else {"track": self.plan.draw(seed, 1)[0]}
        return np.asarray(self.envs[k].reset(seed=seed, options=options)[0], dtype=np.float64)

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
        """Put every environment back in the saved state by resetting it and replaying its actions.

        Parameters
        ----------
        tensors : dict of str to ndarray
            The arrays of :meth:`state`: ``pool.seeds`` ``(num_envs,)``, ``pool.returns`` ``(num_envs,)``,
            ``pool.lengths`` ``(num_envs,)`` and ``pool.actions`` ``(num_envs, longest)`` (discrete) or
            ``(num_envs, longest, n_outputs)``.

        Returns
        -------
        ndarray of shape (num_envs, obs_dim)
            The observations after the replay.
        """
        for k, env in enumerate(self.envs):
            self.seeds[k] = tensors["pool.seeds"][k]
            obs = self._reset_env(k)
            log = tensors["pool.actions"][k, : int(tensors["pool.lengths"][k])]
            for action in log:
                obs = np.asarray(env.step(action.item() if self.shape.discrete else action)[0], dtype=np.float64)
            self.logs[k] = list(log)
            self.obs[k] = obs
        self.returns[:] = tensors["pool.returns"]
        return self.obs.copy()

    def close(self) -> None:
        """Close every environment."""
        for env in self.envs:
            env.close()
