"""The car environment's settings: every physical constant named, with its unit and its range.

Checked once, from one table, on entry; a bad value raises ``ValueError`` naming the field,
the rule and the value received.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from annrl.errors import InputError

# field -> (low, high, low_inclusive); None means unbounded.
_RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    "dt": (0.0, 1.0, False),
    "max_speed": (0.0, None, False),
    "accel": (0.0, None, False),
    "brake": (0.0, None, False),
    "drag": (0.0, None, True),
    "max_steer_deg": (0.0, 80.0, False),
    "wheelbase": (0.0, None, False),
    "grip": (0.0, None, False),
    "car_radius": (0.0, None, False),
    "n_rays": (1, 64, True),
    "ray_spread_deg": (0.0, 360.0, True),
    "max_range": (0.0, None, False),
    "laps": (1, None, True),
    "max_episode_steps": (1, None, True),
    "lap_reward": (None, None, True),
    "crash_penalty": (None, None, True),
    "start_jitter": (0.0, None, True),
    "start_heading_jitter_deg": (0.0, 90.0, True),
    "n_checkpoints": (1, None, True),
    "stall_time": (0.0, None, False),
    "sensor_dropout": (0.0, 1.0, True),
    "sensor_noise": (0.0, None, True),
    "steer_bias": (-1.0, 1.0, True),
}
_INTEGERS = {"n_rays", "laps", "max_episode_steps", "n_checkpoints"}
_SWITCHES = {"observe_turn_rate"}  # True or False, nothing else


@dataclass(frozen=True)
class CarSettings:
    """Physical and episode settings of the car-on-track environment.

    Parameters
    ----------
    dt : float, default=0.05
        Seconds of simulated time per step.
    max_speed : float, default=20.0
        Top speed in m/s. ``max_speed * dt`` may not exceed ``car_radius``, so that a car can
        never jump over a wall between two steps without touching it.
    accel, brake : float, default=6.0, 12.0
        Acceleration at full throttle and deceleration at full brake, in m/s^2.
    drag : float, default=0.05
        Speed lost per second per m/s of speed (1/s): a coasting car slows down.
    max_steer_deg : float, default=30.0
        Front-wheel angle at full lock, in degrees.
    wheelbase : float, default=2.5
        Distance between the axles in metres; with ``max_steer_deg`` it sets the tightest
        turn, ``wheelbase / tan(max_steer)`` (4.3 m by default).
    grip : float, default=9.0
        Largest sideways acceleration the tyres hold, in m/s^2; a car at speed ``v`` turns no
        tighter than ``v**2 / grip`` metres, so it must brake for hairpins.
    car_radius : float, default=1.0
        The car collides as a disc of this radius (metres).
    n_rays : int, default=5
        Distance sensors, spread evenly over ``ray_spread_deg`` and symmetric about the heading.
    ray_spread_deg : float, default=180.0
        Angle between the outermost rays, in degrees (0 to 360).
    max_range : float, default=30.0
        Sensor range in metres; observed distances are divided by it.
    observe_turn_rate : bool, default=False
        Append the turn (yaw) rate to the observation, after the speed: the heading change of
        the last step per second, divided by the largest the tyres allow,
        ``sqrt(grip * steer_gain)`` (1.44 rad/s by default), so it reads -1 (full right) to
        1 (full left); 0 after a reset. Off by default: policies trained without it keep
        their ``n_rays + 1`` inputs.
    laps : int, default=3
        Laps to complete for success.
    max_episode_steps : int, default=3000
        Steps before an episode is truncated (150 s of simulated time by default).
    lap_reward : float, default=100.0
        Reward for one full lap of progress along the centre line (paid pro rata each step).
    crash_penalty : float, default=10.0
        Subtracted from the reward of the step that ends in a crash.
    start_jitter : float, default=0.5
        Largest random offset of the start position, along and across the track, in metres.
    start_heading_jitter_deg : float, default=3.0
        Largest random offset of the start heading, in degrees.
    n_checkpoints : int, default=20
        Checkpoints per lap, evenly spaced along the centre line (reported in ``info``).
    stall_time : float or None, default=None
        End the episode (terminated) when a car reaches no new checkpoint for this many
        seconds; None never does.
    sensor_dropout : float, default=0.0
        Probability that a ray reads 0 (a dead sensor) in a step, drawn afresh for every ray
        of every car and every step. One of the disturbances of :mod:`annrl.envs.nonstationary`.
    sensor_noise : float, default=0.0
        Standard deviation of Gaussian noise added to every ray reading (in units of
        ``max_range``); readings stay clipped to [0, 1].
    steer_bias : float, default=0.0
        Added to every steering command before it is clipped to [-1, 1] (a misaligned wheel):
        with 0.1 the "straight" action drifts left.
    """

    dt: float = 0.05
    max_speed: float = 20.0
    accel: float = 6.0
    brake: float = 12.0
    drag: float = 0.05
    max_steer_deg: float = 30.0
    wheelbase: float = 2.5
    grip: float = 9.0
    car_radius: float = 1.0
    n_rays: int = 5
    ray_spread_deg: float = 180.0
    max_range: float = 30.0
    observe_turn_rate: bool = False
    laps: int = 3
    max_episode_steps: int = 3000
    lap_reward: float = 100.0
    crash_penalty: float = 10.0
    start_jitter: float = 0.5
    start_heading_jitter_deg: float = 3.0
    n_checkpoints: int = 20
    stall_time: float | None = None
    sensor_dropout: float = 0.0
    sensor_noise: float = 0.0
    steer_bias: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            _check(f.name, value)
            if isinstance(value, (np.integer, np.floating, np.bool_)):  # NumPy scalars stored as Python numbers
                object.__setattr__(self, f.name, value.item())
        if self.max_speed * self.dt > self.car_radius + 1e-12:
            raise InputError(
                f"max_speed * dt must not exceed car_radius ({self.car_radius:g} m) or a car could jump a "
                f"wall, got {self.max_speed:g} m/s * {self.dt:g} s = {self.max_speed * self.dt:g} m"
            )

    @property
    def n_obs(self) -> int:
        """Observation length: ``n_rays`` distances, the speed, and the turn rate when observed."""
        return self.n_rays + 1 + int(self.observe_turn_rate)

    def observation_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest observation, float32 ``(n_obs,)`` each: 0 to 1, the turn rate -1 to 1."""
        low = np.zeros(self.n_obs, dtype=np.float32)
        if self.observe_turn_rate:
            low[-1] = -1.0
        return low, np.ones(self.n_obs, dtype=np.float32)

    @property
    def max_turn_rate(self) -> float:
        """Fastest turn the tyres allow at any speed, rad/s: ``min(v * steer_gain, grip / v)`` peaks at
        ``sqrt(grip * steer_gain)``."""
        return math.sqrt(self.grip * self.steer_gain)

    @property
    def steer_gain(self) -> float:
        """Path curvature at full steering, 1/m."""
        return math.tan(math.radians(self.max_steer_deg)) / self.wheelbase

    def ray_angles(self) -> list[float]:
        """Sensor directions relative to the heading, in radians, right to left."""
        if self.n_rays == 1:
            return [0.0]
        half = math.radians(self.ray_spread_deg) / 2
        return [-half + 2 * half * k / (self.n_rays - 1) for k in range(self.n_rays)]

    def updated(self, **changes: Any) -> CarSettings:
        """A copy with some fields changed (and checked); unknown names raise ``ValueError``."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise InputError(f"unknown car setting(s) {unknown}; known: {sorted(f.name for f in fields(self))}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting by name, JSON-ready, as ``CarSettings(**d)`` reads it back."""
        return asdict(self)

    @property
    def disturbed_sensors(self) -> bool:
        """Whether observations get dropout or noise (both off by default, at no cost)."""
        return self.sensor_dropout > 0.0 or self.sensor_noise > 0.0


def _check(name: str, value: Any) -> None:
    if name in _SWITCHES:
        if not isinstance(value, (bool, np.bool_)):
            raise InputError(f"{name} must be True or False, got {value!r}")
        return
    low, high, low_inclusive = _RANGES[name]
    if value is None and name == "stall_time":
        return
    integer = name in _INTEGERS
    kind_ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.integer,
                                                                                     np.floating))
    if isinstance(value, bool) or not kind_ok or not math.isfinite(value):
        kind = "an integer" if integer else "a finite number"
        raise InputError(f"{name} must be {kind}, got {value!r}")
    too_low = low is not None and (value < low or (value == low and not low_inclusive))
    if too_low or (high is not None and value > high):
        sign = ">=" if low_inclusive else ">"
        rule = f"{sign} {low}" + (f" and <= {high}" if high is not None else "") if low is not None else f"<= {high}"
        raise InputError(f"{name} must be {rule}, got {value!r}")
