"""A car world that changes while the agent learns: grip, top speed, sensors, steering, track, actions.

A :class:`Schedule` says what changes when, counted in steps of the wrapped environment (one
``step`` call; for a vector environment that is one step of every car), across episodes:

* :class:`Cycle` -- a setting cycling through values every ``every`` steps: the value during step
  ``t`` is ``values[(t // every) % len(values)]`` (``values[0]`` from the start);
* :class:`Change` -- one-off changes at step ``at``: settings (``sensor_dropout``,
  ``sensor_noise``, ``steer_bias``, any :class:`CarSettings` field but ``n_rays``), a track switch,
  extra actions enabled.

A change due at step ``t`` is in force from step ``t`` on (steps count from 0): it is made when
step ``t - 1`` returns (changes at 0 when the wrapper is made). A track switch cannot move a car
mid-episode, so every episode running at that moment ends in step ``t - 1``, **truncated**
(``info["track_switched"]``), and the cars restart on the new track as the environment's
autoreset mode says (same step, next step, or at ``reset``).

Extra actions: the environment is built with ``extra_actions=("hard_brake",)``, so its action
space is ``Discrete(6)`` from the start and never changes size (Gymnasium spaces are fixed, and so
are replay buffers and vector batches); until the action is enabled it is a no-op (it drives like
"straight") and ``env.action_mask`` says it is unavailable. An agent that samples it early loses
nothing but a step of control; a mask-aware agent never picks it.

>>> from annrl.envs.car_env import CarTrackEnv
>>> env = NonStationary(CarTrackEnv("oval"), Schedule(cycles=[Cycle("grip", (9.0, 4.0), every=100)]))
>>> _ = env.reset(seed=0)
>>> for _ in range(100):
...     _ = env.step(3)
>>> env.unwrapped.settings.grip
4.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorWrapper

from annrl.envs.settings import CarSettings
from annrl.errors import InputError


@dataclass(frozen=True)
class Cycle:
    """``setting`` takes ``values[(t // every) % len(values)]`` during step ``t``."""

    setting: str
    values: tuple[float, ...]
    every: int

    def __post_init__(self):
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise InputError(f"Cycle.every must be a positive integer, got {self.every!r}")
        if len(self.values) < 1:
            raise InputError(f"Cycle of {self.setting!r} needs at least one value")
        for value in self.values:  # checked by the settings table now, not at step 200k
            CarSettings().updated(**{self.setting: value})


@dataclass(frozen=True)
class Change:
    """One-off changes in force from step ``at``."""

    at: int
    settings: dict[str, Any] = field(default_factory=dict)
    track: str | None = None
    enable_actions: tuple[str, ...] = ()

    def __post_init__(self):
        if isinstance(self.at, bool) or not isinstance(self.at, int) or self.at < 0:
            raise InputError(f"Change.at must be a step number >= 0, got {self.at!r}")
        if self.settings:
            CarSettings().updated(**self.settings)


@dataclass(frozen=True)
class Schedule:
    """What changes when; see the module docstring."""

    changes: tuple[Change, ...] = ()
    cycles: tuple[Cycle, ...] = ()

    def due(self, t: int) -> tuple[dict[str, Any], str | None, tuple[str, ...]]:
        """Settings to set, track to switch to (or None) and actions to enable before step ``t``."""
        settings: dict[str, Any] = {}
        track, actions = None, ()
        for cycle in self.cycles:
            if t % cycle.every == 0:
                settings[cycle.setting] = cycle.values[(t // cycle.every) % len(cycle.values)]
        for change in self.changes:
            if change.at == t:
                settings.update(change.settings)
                track = change.track or track
                actions += tuple(change.enable_actions)
        return settings, track, actions

    def in_force(self, t: int) -> tuple[dict[str, Any], str | None, tuple[str, ...]]:
        """Everything the schedule has set by step ``t``: what applying :meth:`due` at every step 0..t
        leaves (settings, the last track switched to, actions enabled). Events are applied in their
        order, a change after a cycle at the same step as in ``due``, so a setting that is both cycled
        and changed holds whichever set it last."""
        # each cycle's last firing at or before t; a change only if it is due by then
        events = [(t - t % c.every, 0, {c.setting: c.values[(t // c.every) % len(c.values)]}, None, ())
                  for c in self.cycles]
        events += [(c.at, 1, c.settings, c.track, tuple(c.enable_actions)) for c in self.changes if c.at <= t]
        settings: dict[str, Any] = {}
        track, actions = None, ()
        for _, _, values, switch, enabled in sorted(events, key=lambda event: event[:2]):
            settings.update(values)
            track = switch or track
            actions += enabled
        return settings, track, actions

    def to_dict(self) -> dict[str, Any]:
        """The schedule as JSON, for a run's ``metrics.json`` (:meth:`from_dict` reads it back)."""
        return {"cycles": [{"setting": c.setting, "values": list(c.values), "every": c.every} for c in self.cycles],
                "changes": [{"at": c.at, "settings": dict(c.settings), "track": c.track,
                             "enable_actions": list(c.enable_actions)} for c in self.changes]}

    @classmethod
    def from_dict(cls, data: Any) -> Schedule:
        """A schedule from :meth:`to_dict`'s JSON, checked: ``ValueError`` names what is wrong."""
        if not isinstance(data, dict) or set(data) - {"cycles", "changes"}:
            raise InputError(f"a schedule is an object with 'cycles' and 'changes', got {data!r:.80}")
        cycles, changes = data.get("cycles", []), data.get("changes", [])
        for name, items, keys in (("cycles", cycles, {"setting", "values", "every"}),
                                  ("changes", changes, {"at", "settings", "track", "enable_actions"})):
            if not isinstance(items, list) or not all(isinstance(i, dict) and set(i) <= keys for i in items):
                raise InputError(f"schedule {name} must be a list of objects with keys {sorted(keys)}, "
                                 f"got {items!r:.80}")
        try:
            return cls(cycles=tuple(Cycle(c["setting"], tuple(c["values"]), c["every"]) for c in cycles),
                       changes=tuple(Change(c["at"], dict(c.get("settings", {})), c.get("track"),
                                            tuple(c.get("enable_actions", ()))) for c in changes))
        except (KeyError, TypeError) as err:
            raise InputError(f"schedule entry is incomplete or of the wrong type: {err}") from None


def every(n: int, **values: list[float]) -> Schedule:
    """Cycles of several settings with one period: ``every(1000, grip=[9, 4], max_speed=[20, 14])``."""
    return Schedule(cycles=tuple(Cycle(name, tuple(v), n) for name, v in values.items()))


class _Scheduled:
    """The step counter and the changes, shared by both wrappers."""

    schedule: Schedule
    steps: int

    def _apply(self) -> str | None:
        """Make the changes due from step ``self.steps`` on; returns the track to switch to."""
        settings, track, actions = self.schedule.due(self.steps)
        car = self.env.unwrapped if isinstance(self.env, gym.Env) else self.env
        if settings:
            car.set_settings(**settings)
        if actions:
            car.enable_actions(list(actions))
        return track


class NonStationary(_Scheduled, gym.Wrapper):
    """A single car environment whose world follows ``schedule``.

    ``steps`` counts every ``step`` call since the wrapper was made (not reset by ``reset``).
    """

    def __init__(self, env: gym.Env, schedule: Schedule):
        super().__init__(env)
        self.schedule, self.steps = schedule, 0
        track = self._apply()
        if track is not None:
            self.env.unwrapped.set_track(track)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        track = self._apply()
        if track is not None:
            self.env.unwrapped.set_track(track)
            truncated = truncated or not terminated
            info = {**info, "track_switched": True}
        return obs, reward, terminated, truncated, info

    def seek(self, t: int) -> None:
        """Jump to step ``t``: the world as the schedule has made it by then (call ``reset`` next).

        Used to put an environment back mid-schedule, e.g. before replaying a checkpoint's actions.
        """
        settings, track, actions = self.schedule.in_force(t)
        car = self.env.unwrapped
        if settings:
            car.set_settings(**settings)
        if actions:
            car.enable_actions(list(actions))
        if track is not None and track != car.track.name:
            car.set_track(track)
        self.steps = t


class NonStationaryVec(_Scheduled, VectorWrapper):
    """A :class:`~annrl.envs.car_env.CarTrackVecEnv` whose world follows ``schedule``.

    ``steps`` counts vector steps (each is one step of every car).
    """

    def __init__(self, env, schedule: Schedule):
        super().__init__(env)
        self.schedule, self.steps = schedule, 0
        track = self._apply()
        if track is not None:
            env.set_track(track)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self.steps += 1
        track = self._apply()
        if track is not None:
            obs, truncated, info = self._switch(track, obs, terminated, truncated, info)
        return obs, reward, terminated, truncated, info

    def _switch(self, track, obs, terminated, truncated, info):
        """Every running episode ends, truncated; the cars restart on ``track`` per the autoreset mode."""
        env, sim = self.env, self.env.sim
        mode = env.metadata["autoreset_mode"]
        ended = terminated | truncated
        truncated = truncated | ~ended
        if mode == AutoresetMode.SAME_STEP:
            # Cars that ended in this step already restarted: their last moments are in final_*.
            had = info.get("_final_obs", np.zeros_like(ended))
            final_obs = np.where(had[:, None], info["final_obs"], obs) if "final_obs" in info else obs
            old = info.get("final_info", {})
            final_info = {k: np.where(had, old[k], v) if k in old else v
                          for k, v in info.items() if not k.startswith(("_", "final"))}
            env.set_track(track)
            obs = sim.obs.copy() if not sim.settings.disturbed_sensors else sim._disturb(sim.obs)
            all_cars = np.ones_like(ended)
            info = env._with_masks({**sim.info(sim.state), "final_obs": final_obs, "_final_obs": all_cars,
                                    "final_info": final_info, "_final_info": all_cars})
        else:
            env.set_track(track)
            if mode == AutoresetMode.NEXT_STEP:
                sim.pending[:] = True
            else:  # DISABLED: parked until reset
                sim.parked[:] = True
                sim.last_flags = (terminated, truncated)
        info["track_switched"] = np.ones_like(ended)
        info["_track_switched"] = np.ones_like(ended)
        return obs, truncated, info


def non_stationary(env, schedule: Schedule):
    """Wrap a single or vector car environment in the matching schedule wrapper."""
    if isinstance(env, gym.vector.VectorEnv):
        return NonStationaryVec(env, schedule)
    return NonStationary(env, schedule)
