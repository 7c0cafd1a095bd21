"""Gymnasium environments for cars that learn to drive around a track without touching its walls.

The idea follows the many "cars that learn to drive" demos (e.g. Samuel Arzt's Unity project):
a car senses the walls with a fan of distance rays and must get round a closed track. The
physics live once, in :class:`annrl.envs.core.CarSimulator`; :class:`CarTrackEnv` is its
one-car view and :class:`CarTrackVecEnv` its many-car view.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import logger, spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from annrl.envs.core import ACTION_NAMES, CarSimulator
from annrl.envs.settings import CarSettings
from annrl.envs.tracks import Track
from annrl.errors import InputError

RENDER_FPS = 20  # = 1 / dt with the default settings


def _spaces(settings: CarSettings, continuous: bool, n_extra: int = 0) -> tuple[spaces.Space, spaces.Box]:
    if continuous:
        if n_extra:
            raise InputError("extra_actions are discrete actions; they need continuous=False")
        action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    else:
        action_space = spaces.Discrete(len(ACTION_NAMES) + n_extra)
    observation_space = spaces.Box(*settings.observation_bounds(), dtype=np.float32)
    return action_space, observation_space


def _settings(settings: CarSettings | None, overrides: dict[str, Any]) -> CarSettings:
    return (settings or CarSettings()).updated(**overrides) if overrides else (settings or CarSettings())


RESET_OPTIONS = ("settings", "track", "enable_actions", "disable_actions")


class _MidRunChanges:
    """What both environments can change between steps: settings, track, extra actions.

    Gymnasium's wrappers hide these methods; reach them through ``env.unwrapped`` (or use
    :class:`annrl.envs.nonstationary.NonStationary`, which calls them on a schedule).
    """

    sim: CarSimulator
    settings: CarSettings
    _renderer: Any

    def set_settings(self, **changes: Any) -> CarSettings:
        """Change physical or episode settings now; the next step uses them.

        Every change is checked by the :class:`CarSettings` table (a bad value raises
        ``ValueError`` and changes nothing) and derived constants (steering gain, ray
        directions, checkpoint spacing) are recomputed. The cars keep their positions and
        speeds; a speed above a lowered ``max_speed`` is capped on the next step. ``n_rays``
        cannot change (it fixes the observation space).

        >>> env = CarTrackEnv("oval")
        >>> env.set_settings(grip=4.0, max_speed=15.0).grip
        4.0

        Returns
        -------
        CarSettings
            The settings now in force.
        """
        settings = self.settings.updated(**changes)
        self.sim.set_settings(settings)
        self.settings = settings
        return settings

    def set_track(self, track: str | Track) -> None:
        """Move to another track; a running episode restarts on it (call ``reset`` next)."""
        self.sim.set_track(track)
        self._renderer = None

    def enable_actions(self, names: str | list[str], enabled: bool = True) -> None:
        """Make extra discrete actions (``extra_actions=`` at construction) work, or no-ops again."""
        self.sim.enable_actions(names, enabled)

    @property
    def action_mask(self) -> np.ndarray:
        """Which discrete actions do something now, bool ``(n_actions,)``; extra ones start False."""
        return self.sim.action_mask.copy()

    @property
    def action_names(self) -> tuple[str, ...]:
        return self.sim.action_names

    def _apply_options(self, options: dict[str, Any] | None, allowed: tuple[str, ...] = RESET_OPTIONS) -> None:
        """``reset(options=...)``: settings, track and actions change before the cars restart."""
        if not options:
            return
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise InputError(f"unknown reset option(s) {unknown}; known: {list(allowed)}")
        if "track" in options:
            self.set_track(options["track"])
        if "settings" in options:
            if not isinstance(options["settings"], dict):
                raise InputError(f"options['settings'] must be a dict of CarSettings fields, "
                                 f"got {options['settings']!r}")
            self.set_settings(**options["settings"])
        if "enable_actions" in options:
            self.enable_actions(options["enable_actions"], True)
        if "disable_actions" in options:
            self.enable_actions(options["disable_actions"], False)


class CarTrackEnv(_MidRunChanges, gym.Env[np.ndarray, np.ndarray | int]):
    """
    ## Description

    A car drives on a closed 2D track between an inner and an outer wall. It sees the walls
    through a fan of distance sensors (ray casts) and must drive as far round the track as it
    can, for ``laps`` laps, without touching a wall. The car is a kinematic bicycle whose
    turns are limited by tyre grip, so it has to slow down for tight bends.

    ## Action Space

    With ``continuous=False`` (default) the action is an integer in `{0, ..., 4}`:

    | Action | Meaning  | Steer | Throttle |
    |--------|----------|-------|----------|
    | 0      | left     | +1    | 0        |
    | 1      | right    | -1    | 0        |
    | 2      | straight | 0     | 0        |
    | 3      | faster   | 0     | +1       |
    | 4      | slower   | 0     | -1       |

    With ``continuous=True`` it is a `Box(-1, 1, (2,), float32)`: `(steer, throttle)`, where
    steer > 0 turns left and throttle < 0 brakes.

    ## Observation Space

    A `Box(0, 1, (n_rays + 1,), float32)`; with the default five rays:

    | Index | Observation                                     | Unit        | Min | Max |
    |-------|-------------------------------------------------|-------------|-----|-----|
    | 0     | distance to the wall at -90 deg (right)         | max_range   | 0   | 1   |
    | 1     | distance to the wall at -45 deg                 | max_range   | 0   | 1   |
    | 2     | distance to the wall straight ahead             | max_range   | 0   | 1   |
    | 3     | distance to the wall at +45 deg                 | max_range   | 0   | 1   |
    | 4     | distance to the wall at +90 deg (left)          | max_range   | 0   | 1   |
    | 5     | speed                                           | max_speed   | 0   | 1   |

    Rays are spread evenly over ``ray_spread_deg`` (180 deg by default) about the heading; a
    ray that meets no wall within ``max_range`` (30 m) reads 1. With ``observe_turn_rate=True``
    one more entry, index ``n_rays + 1``, reads the turn (yaw) rate of the last step divided by
    the largest the tyres allow, in [-1, 1] (positive turning left).

    ## Rewards

    Each step pays ``lap_reward * (metres gained along the centre line) / lap length``, i.e.
    100 per lap by default, negative when driving backwards; the step that ends in a crash also
    pays ``-crash_penalty`` (-10).

    ## Starting State

    At the track's start pose, shifted by up to ``start_jitter`` (0.5 m) along and across the
    track and turned by up to ``start_heading_jitter_deg`` (3 deg), uniformly; speed 0.

    ## Episode End

    1. Termination: the car touches a wall (its disc of radius ``car_radius`` meets a wall);
       ``info["crashed"]`` is True.
    2. Termination: the car completes ``laps`` laps; ``info["success"]`` is True.
    3. Termination: with ``stall_time`` set, no new checkpoint for that many seconds.
    4. Truncation: ``max_episode_steps`` steps (3000, i.e. 150 s).

    ``info`` always holds ``laps`` (completed), ``progress`` (fraction of the whole course),
    ``checkpoints`` (furthest checkpoint), ``crashed`` and ``success``.

    ## Arguments

    | Parameter      | Type                  | Default  | Description                                   |
    |----------------|-----------------------|----------|-----------------------------------------------|
    | `track`        | str, Path or Track    | "oval"   | shipped name, JSON file or "random:SEED"      |
    | `continuous`   | bool                  | False    | Box actions instead of Discrete(5)            |
    | `render_mode`  | str or None           | None     | "rgb_array" draws track, car and rays         |
    | `settings`     | CarSettings           | defaults | physics and episode settings                  |
    | `**overrides`  | CarSettings fields    |          | e.g. `max_speed=15.0, n_rays=7`               |

    ```python
    >>> import gymnasium as gym
    >>> import annrl.envs
    >>> env = gym.make("annrl/CarTrack-v0", track="oval")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, sorted(info)
    ((6,), ['checkpoints', 'crashed', 'laps', 'progress', 'success'])
    >>> obs, reward, terminated, truncated, info = env.step(3)  # faster
    >>> bool(terminated), info["laps"]
    (False, 0)

    ```

    ## Vectorised environment

    ```python
    >>> envs = gym.make_vec("annrl/CarTrack-v0", num_envs=3, track="oval")
    >>> envs.reset(seed=0)[0].shape
    (3, 6)

    ```
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": RENDER_FPS}

    def __init__(
        self,
        track: str | Track = "oval",
        *,
        continuous: bool = False,
        render_mode: str | None = None,
        settings: CarSettings | None = None,
        extra_actions: tuple[str, ...] = (),
        kernel: str = "numpy",
        **overrides: Any,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise InputError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.settings = _settings(settings, overrides)
        self.action_space, self.observation_space = _spaces(self.settings, continuous, len(extra_actions))
        self.sim = CarSimulator(track, 1, self.settings, continuous=continuous, autoreset_mode=AutoresetMode.DISABLED,
                                extra_actions=tuple(extra_actions))
        self.continuous = continuous
        self.render_mode = render_mode
        self._ended: bool | None = None  # None until reset; True once the episode is over
        self._renderer = None

    @property
    def track(self) -> Track:
        return self.sim.track

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode; ``options`` may change things first (see :data:`RESET_OPTIONS`):
        ``{"settings": {"grip": 4.0}, "track": "s_bends", "enable_actions": ["hard_brake"]}``."""
        super().reset(seed=seed)
        self._apply_options(options)
        obs, info = self.sim.reset([self.np_random])
        self._ended = False
        return obs[0], _scalar_info(info)

    def step(self, action):
        assert self.action_space.contains(action), f"{action!r} ({type(action)}) invalid"
        assert self._ended is not None, "Call reset before using step method."
        if self._ended:
            logger.warn(
                "You are calling 'step()' even though this environment has already returned terminated = True "
                "or truncated = True. You should always call 'reset()' once you receive it."
            )
        if self.sim.takes_scalar_path():  # Python floats: see annrl.envs.fast_single
            obs, reward, terminated, truncated, info = self.sim.one_car.step_one(action)
            self._ended = terminated or truncated
            return obs, reward, terminated, truncated, info
        actions = np.asarray(action, dtype=np.float64)[None] if self.continuous else np.array([int(action)])
        obs, reward, terminated, truncated, info = self.sim.step(actions)
        self._ended = bool(terminated[0] or truncated[0])
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), _scalar_info(info)

    def render(self):
        if self.render_mode is None:
            logger.warn('Call gym.make("annrl/CarTrack-v0", render_mode="rgb_array") to render.')
            return None
        return self._get_renderer().frame(self.sim)

    def _get_renderer(self):
        if self._renderer is None:
            from annrl.envs.render import TrackRenderer

            self._renderer = TrackRenderer(self.sim.track)
        return self._renderer

    def close(self):
        self.sim.close()


class CarTrackVecEnv(_MidRunChanges, VectorEnv):
    """``num_envs`` cars on one track, stepped together: the vectorised :class:`CarTrackEnv`.

    Observations, rewards and flags are NumPy arrays with a leading ``num_envs`` axis; info
    values are arrays too, each key ``k`` with its Gymnasium mask ``_k``. The autoreset mode is
    declared in ``metadata["autoreset_mode"]``:

    * ``NEXT_STEP`` (default, Gymnasium's own, which its vector wrappers such as ``NormalizeObservation``
      expect): a finished car restarts on the next step, whose action it ignores (reward 0).
    * ``SAME_STEP``: it restarts within the step; that step returns its fresh observation, and
      ``info["final_obs"]`` (``(num_envs, n_obs)``, rows valid where ``info["_final_obs"]``) and
      ``info["final_info"]`` hold the last ones.
    * ``DISABLED``: it stays parked (reward 0, flags kept) until
      ``reset(options={"reset_mask": mask})``, which suits evaluating a population once.

    Car ``k`` of ``reset(seed=s)`` draws from a generator seeded with ``s + k``, exactly like a
    :class:`CarTrackEnv` reset with ``seed=s + k`` (and like Gymnasium's ``SyncVectorEnv``).

    Parameters
    ----------
    num_envs : int, default=1
    track, continuous, settings, **overrides
        As for :class:`CarTrackEnv`.
    autoreset_mode : AutoresetMode or str, default=AutoresetMode.NEXT_STEP
    num_threads : int, default=1
        Threads that share the physics of a large batch (useful from about 512 cars).
    kernel : {"numpy", "compiled", "auto"}, default="numpy"
        ``compiled``: the step runs in Numba (``annrl[fast]``), to the same numbers (see :class:`CarSimulator`).
    render_mode : {"rgb_array", None}
        ``render()`` returns one frame with every car, each on its own track (a grid of panels when the
        cars drive different tracks).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": RENDER_FPS, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        track: str | Track = "oval",
        *,
        continuous: bool = False,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        num_threads: int = 1,
        render_mode: str | None = None,
        settings: CarSettings | None = None,
        max_episode_steps: int | None = None,
        extra_actions: tuple[str, ...] = (),
        kernel: str = "numpy",
        **overrides: Any,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise InputError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            names = [m.value for m in AutoresetMode]
            raise InputError(f"autoreset_mode must be one of {names}, got {autoreset_mode!r}") from None
        if max_episode_steps is not None:  # gymnasium.make_vec passes the registered limit
            overrides["max_episode_steps"] = max_episode_steps
        self.settings = _settings(settings, overrides)
        self.single_action_space, self.single_observation_space = _spaces(self.settings, continuous, len(extra_actions))
        self.sim = CarSimulator(track, num_envs, self.settings, continuous=continuous, autoreset_mode=mode,
                                num_threads=num_threads, extra_actions=tuple(extra_actions), kernel=kernel)
        self.num_envs = self.sim.n
        self.continuous = continuous
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._all = np.ones(self.num_envs, dtype=bool)
        self._renderer = None

    @property
    def track(self) -> Track:
        return self.sim.track

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        """Restart all cars, or those in ``options["reset_mask"]``.

        Parameters
        ----------
        seed : int or list of int, optional
            Car ``k`` gets ``seed + k`` (or ``seed[k]``); None draws fresh entropy.
        options : dict, optional
            ``{"reset_mask": bool array (num_envs,)}`` restarts only those cars; the keys of
            :data:`RESET_OPTIONS` (settings, track, actions) change every car first, as for
            :meth:`CarTrackEnv.reset` (a track switch restarts every car).
        """
        super().reset(seed=seed if isinstance(seed, int) else None)
        self._apply_options({k: v for k, v in (options or {}).items() if k != "reset_mask"})
        mask = _reset_mask(options, self.num_envs)
        if seed is not None or not self.sim.rngs:
            seeds = _car_seeds(seed, self.num_envs)
            rngs = [seeding.np_random(s)[0] for s in seeds]
            if mask is not None and self.sim.rngs:  # only the masked cars take new generators
                rngs = [new if m else old for new, old, m in zip(rngs, self.sim.rngs, mask, strict=True)]
        else:
            rngs = self.sim.rngs
        obs, info = self.sim.reset(rngs, mask)
        return obs, self._with_masks(info)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.sim.step(np.asarray(actions))
        return obs, reward, terminated, truncated, self._with_masks(info)

    def _with_masks(self, info: dict[str, Any]) -> dict[str, Any]:
        for key in [k for k in info if not k.startswith("_")]:
            if key == "final_info":
                info["final_info"] = self._with_masks(info["final_info"])
            elif f"_{key}" not in info:
                info[f"_{key}"] = self._all
        return info

    def render(self):
        if self.render_mode is None:
            logger.warn('Call make_vec("annrl/CarTrack-v0", render_mode="rgb_array") to render.')
            return None
        if self._renderer is None:
            from annrl.envs.render import TrackRenderer

            self._renderer = TrackRenderer(self.sim.track)
        return self._renderer.frame(self.sim)

    def close_extras(self, **kwargs: Any):
        self.sim.close()

    def __repr__(self) -> str:
        return f"CarTrackVecEnv({self.sim.track.name!r}, num_envs={self.num_envs})"


def _scalar_info(info: dict[str, np.ndarray]) -> dict[str, Any]:
    """Car 0's info as Python scalars."""
    return {key: value[0].item() for key, value in info.items() if not key.startswith("_")}


def _car_seeds(seed: int | list[int] | None, n: int) -> list[int | None]:
    if seed is None:
        base = int(np.random.SeedSequence().generate_state(1)[0])
        return [base + k for k in range(n)]
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [int(seed) + k for k in range(n)]
    seeds = list(seed)
    if len(seeds) != n:
        raise InputError(f"seed must be an int or a list of {n} ints, got a list of {len(seeds)}")
    return seeds


def _reset_mask(options: dict[str, Any] | None, n: int) -> np.ndarray | None:
    if not options or "reset_mask" not in options:
        return None
    mask = options["reset_mask"]
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (n,):
        raise InputError(f"options['reset_mask'] must be a bool array of shape ({n},), got {mask!r}")
    return mask
