"""What every agent's config shares: :class:`BaseConfig` (declared with :func:`annrl.config.setting`)
and its check table, the one seeding function and small schedules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.config import setting
from annrl.envs.settings import CarSettings
from annrl.errors import InputError

_CAR = CarSettings()  # the sensor flags' defaults are the car's own


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


@dataclass
class BaseConfig:
    """Settings shared by every agent (each agent's ``Config`` adds its hyper-parameters)."""

    env: str = setting("CartPole-v1", "Gymnasium environment id (Box observations), or annrl/CarTrack-v0.")
    track: str = setting("s_bends", "car track (annrl/CarTrack-v0 only): shipped name, JSON file or random:SEED.")
    tracks: str = setting("", "car only: train over many tracks instead of --track: family:NAME (e.g. family:hard), "
                              "a comma list of tracks, or a curriculum family:easy,family:medium,family:hard.")
    track_pool: int = setting(64, "car only, with --tracks family:NAME: the family's training seeds drawn from "
                                  "(0 .. pool-1; each track's tables are built once).")
    curriculum_level: float = setting(0.8, "car only, with a --tracks curriculum: the share of evaluation episodes "
                                           "driven 3 clean laps that moves it to the next family.")
    continuous: bool = setting(False, "car only: (steer, throttle) actions instead of Discrete(5).")
    n_rays: int = setting(_CAR.n_rays, "car only: distance sensors (1 to 64), spread evenly over --ray-spread-deg.")
    ray_spread_deg: float = setting(_CAR.ray_spread_deg, "car only: angle between the outermost rays, degrees "
                                                         "(0 to 360).")
    max_range: float = setting(_CAR.max_range, "car only: sensor range in metres (readings are divided by it).")
    observe_turn_rate: bool = setting(_CAR.observe_turn_rate, "car only: the turn (yaw) rate in the observation, "
                                                              "after the speed.")
    total_steps: int = setting(100_000, "environment steps to train for.")
    seed: int = setting(0, "seed of everything random in the run.")
    eval_every: int = setting(10_000, "environment steps between evaluations (the learning curve).")
    eval_episodes: int = setting(10, "episodes per evaluation during training.")
    final_eval_episodes: int = setting(20, "episodes of the final evaluation.")
    stop_at_threshold: bool = setting(False, "stop as soon as an evaluation reaches the solved threshold.")


def base_table() -> dict[str, list[Any]]:
    """The checks every agent's ``Config`` shares: step budget, evaluation cadence and episodes, seed, tracks,
    the car's sensors."""
    from annrl.validate import NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Interval

    return {"total_steps": POSITIVE_INT, "eval_every": POSITIVE_INT, "eval_episodes": POSITIVE_INT,
            "final_eval_episodes": POSITIVE_INT, "seed": NON_NEGATIVE_INT, "track_pool": POSITIVE_INT,
            "curriculum_level": [Interval(float, 0.0, 1.0, closed="both")],
            "n_rays": [Interval(int, 1, 64, closed="both")],
            "ray_spread_deg": [Interval(float, 0.0, 360.0, closed="both")], "max_range": POSITIVE}


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


def network_bytes(hidden: str | tuple[int, ...], *, population: int = 1, batch: int = 1, copies: int = 4) -> int:
    """A lower bound on the bytes of ``population`` networks of widths ``hidden``, for the size check.

    ``copies`` of the parameters (weights, gradients, optimizer moments, a target network) of a
    ``[1, *hidden, 1]`` network (the smallest input and output), and the activations of ``batch``
    samples; every agent calls :func:`annrl.validate.check_sizes` with it before allocating.
    """
    from annrl.validate import dense_parameters

    widths = parse_sizes(hidden)
    return 8 * int(population) * (copies * dense_parameters([1, *widths, 1]) + 2 * int(batch) * sum(widths))


#: a lower bound on the bytes one environment of a vector environment keeps (state, buffers)
ENV_BYTES = 256
