"""A car whose grip changes while a gradient agent (DQN or PPO) learns: the flags and helpers, once.

``--grip-every N --grips 12,2.5,...`` moves the training cars' grip to the next value every ``N``
environment steps (the cars are wrapped in :class:`~annrl.envs.nonstationary.NonStationary`), and
every evaluation drives on the grip in force. A resumed run seeks each car's world back to where its
episode began before the checkpoint's actions are replayed, so resumption stays bit for bit. After the run,
:func:`recovery` reads from the learning curve how soon each change was made good.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.agents.envs import EnvPool, car_sensors, is_car, make_vector_env
from annrl.agents.evaluation import evaluate, run_episodes
from annrl.config import setting
from annrl.envs.nonstationary import Cycle, NonStationary, Schedule
from annrl.errors import InputError
from annrl.validate import NON_NEGATIVE_INT


@dataclass
class GripScheduleSettings:
    """The grip-schedule fields of an agent's ``Config`` (a base class of it)."""

    grip_every: int = setting(0, "car only: move the training cars' grip to the next of --grips every this many "
                                 "environment steps (0: never); evaluations drive on the grip in force.")
    grips: str = setting("9,4,12,5,9,3.5,12,4.5,9,6,12", "car only: the grips (m/s^2) --grip-every cycles through.")


#: the rules of those fields, for the agent's config table
TABLE = {"grip_every": NON_NEGATIVE_INT}


def grip_schedule(config: Any, num_envs: int) -> Schedule | None:
    """``--grips`` cycled every ``--grip-every`` environment steps, counted in pool steps (one step of every car)."""
    if not config.grip_every:
        return None
    if not is_car(config.env):
        raise InputError(f"--grip-every needs --env annrl/CarTrack-v0, got {config.env!r}", field="--grip-every")
    if config.grip_every % num_envs:
        raise InputError(f"--grip-every must be a multiple of --num-envs ({num_envs}), got {config.grip_every}",
                         field="--grip-every")
    try:
        grips = tuple(float(g) for g in str(config.grips).split(","))
        return Schedule(cycles=(Cycle("grip", grips, config.grip_every // num_envs),))
    except ValueError as err:
        raise InputError(f"--grips must be comma-separated grips > 0 such as 9,4,12: {err}", field="--grips") from None


def follow(envs: EnvPool, schedule: Schedule | None) -> None:
    """Wrap every car of the pool in the schedule (nothing to do without one)."""
    if schedule is not None:
        envs.envs = [NonStationary(env, schedule) for env in envs.envs]


def seek(envs: EnvPool, schedule: Schedule | None, pool_steps: int, tensors: dict[str, np.ndarray]) -> None:
    """Before a checkpoint's actions are replayed: each car's world as it was when its episode began.

    ``tensors["pool.lengths"]`` ``(num_envs,)`` holds each car's steps since its episode began; ``pool_steps``
    the steps the pool had taken.
    """
    if schedule is not None:
        for env, length in zip(envs.envs, tensors["pool.lengths"], strict=True):
            env.seek(pool_steps - int(length))


def grip_in_force(envs: EnvPool, schedule: Schedule | None) -> float | None:
    """The training cars' grip now (None without a schedule: evaluations drive the environment as made)."""
    return None if schedule is None else envs.envs[0].unwrapped.settings.grip


def evaluate_on_grip(act, config: Any, episodes: int, seed: int, grip: float | None, plan: Any = None):
    """``evaluate`` on the grip the training cars have now (None: the environment as it is made), on
    ``config.track`` or, with a ``--tracks`` plan, on tracks drawn from it."""
    from annrl.agents.track_plan import tracks_for

    track = tracks_for(config, plan, episodes, seed)
    if grip is None:
        return evaluate(act, config.env, episodes, seed, track=track, continuous=config.continuous,
                        sensors=car_sensors(config))
    env = make_vector_env(config.env, episodes, track=track, continuous=config.continuous, sensors=car_sensors(config))
    try:
        env.set_settings(grip=grip)
        return run_episodes(env, act, seed)
    finally:
        env.close()


def recovery(curve: list, every: int, *, window: int | None = None, before: int = 3, hold: int = 4) -> dict[str, Any]:
    """How soon after each change of the world the greedy return came back, from the evaluations ``curve``.

    ``curve`` is ``[(env_step, return), ...]`` (a run's ``learning_curve``) and the world changed at every
    multiple of ``every`` steps. For each change that has evaluations on both sides:

    * ``pre_change``: the mean of the last ``before`` evaluations of the phase before it;
    * ``steps_to_90pct``: steps from the change to the first evaluation >= 90% of ``pre_change`` in the
      phase after it (None: never), ``met``: that within ``window`` steps (default ``every // 4``);
    * ``steps_to_90pct_held``: to the first of ``hold`` evaluations in a row that all are;
    * ``first_after``: the first evaluation after the change, ``share_at_90pct``: the share of the new
      phase's evaluations at that level (how steadily it is kept).

    Returns ``{"changes": [...], "all_met": bool, "average_eval_return": float, "window": int}``.
    """
    window = every // 4 if window is None else int(window)
    steps = np.array([point[0] for point in curve], dtype=float)
    returns = np.array([point[1] for point in curve], dtype=float)
    rows = []
    for change in range(every, int(steps.max(initial=0)) + 1, every):
        previous = returns[(steps >= change - every) & (steps < change)][-before:]
        inside = (steps >= change) & (steps < change + every)
        if not previous.size or not inside.any():
            continue
        level = float(previous.mean())
        good = returns[inside] >= 0.9 * level
        held = [i for i in range(len(good) - hold + 1) if good[i : i + hold].all()]
        first = int(steps[inside][np.argmax(good)] - change) if good.any() else None
        rows.append({"change": change // every, "pre_change": level, "first_after": float(returns[inside][0]),
                     "steps_to_90pct": first, "met": first is not None and first <= window,
                     "steps_to_90pct_held": int(steps[inside][held[0]] - change) if held else None,
                     "share_at_90pct": float(good.mean())})
    return {"changes": rows, "all_met": all(row["met"] for row in rows), "window": window,
            "average_eval_return": float(returns.mean()) if returns.size else float("nan")}
