"""Hand-made drivers for the car environment: random, a wall-following heuristic, the keyboard.

A policy maps a batch of observations ``(n, n_rays + 1)`` to a batch of actions: ``(n,)`` ints
for the discrete action space, ``(n, 2)`` floats (steer, throttle) for the continuous one.
"""

from __future__ import annotations

import select
import sys
from typing import Any

import numpy as np

from annrl.envs.settings import CarSettings
from annrl.errors import InputError

LEFT, RIGHT, STRAIGHT, FASTER, SLOWER = range(5)


class RandomPolicy:
    """Uniformly random actions from ``rng``."""

    def __init__(self, rng: np.random.Generator, *, continuous: bool = False):
        self.rng, self.continuous = rng, continuous

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        n = obs.shape[0]
        if self.continuous:
            return self.rng.uniform(-1.0, 1.0, size=(n, 2))
        return self.rng.integers(0, 5, size=n)


class HeuristicDriver:
    """Steer towards open space and brake for what lies ahead: a baseline with no learning.

    Steering is proportional to the space on the left minus the space on the right (each ray
    weighted by the sine of its angle). The target speed is the one from which the car could
    still stop before the wall straight ahead, capped by what the tyres allow on the curve the
    side rays suggest; throttle closes the gap to it. The discrete version picks, in order:
    brake when too fast, turn when the steering signal is strong, accelerate when too slow.

    Parameters
    ----------
    settings : CarSettings
    continuous : bool, default=False
    steer_gain : float, default=4.0
        Steering per unit of (normalised) left-minus-right space.
    caution : float, default=0.5
        Fraction of the braking distance the car allows itself (lower is braver).
    """

    def __init__(self, settings: CarSettings, *, continuous: bool = False, steer_gain: float = 4.0,
                 caution: float = 0.5):
        self.settings, self.continuous = settings, continuous
        self.steer_gain, self.caution = steer_gain, caution
        angles = np.array(settings.ray_angles())
        self.side = np.sin(angles) / max(np.abs(np.sin(angles)).sum(), 1e-9)
        self.ahead = int(np.argmin(np.abs(angles)))

    def controls(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steer and throttle in [-1, 1], each ``(n,)``."""
        s = self.settings
        rays, speed = obs[:, :-1].astype(np.float64), obs[:, -1] * s.max_speed
        steer = np.clip(self.steer_gain * (rays @ self.side), -1.0, 1.0)
        room = np.maximum(rays[:, self.ahead] * s.max_range - 2.0 * s.car_radius, 0.0)
        target = np.minimum(np.sqrt(2.0 * s.brake * self.caution * room), s.max_speed)
        throttle = np.clip((target - speed) / 2.0, -1.0, 1.0)
        return steer, throttle

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        steer, throttle = self.controls(obs)
        if self.continuous:
            return np.column_stack([steer, throttle])
        action = np.where(throttle > 0.25, FASTER, STRAIGHT)
        action = np.where(steer > 0.3, LEFT, np.where(steer < -0.3, RIGHT, action))
        return np.where(throttle < -0.25, SLOWER, action)


class KeyboardPolicy:
    """Drive one car from the terminal: arrow keys or W/A/S/D; Q quits (raises KeyboardInterrupt).

    Keys are read without echo from a terminal in cbreak mode; with no key pressed during a
    step the car goes straight on.
    """

    KEYS = {"w": FASTER, "s": SLOWER, "a": LEFT, "d": RIGHT, "\x1b[A": FASTER, "\x1b[B": SLOWER,
            "\x1b[D": LEFT, "\x1b[C": RIGHT}

    def __init__(self, *, step_seconds: float = 0.05, stream: Any = None):
        self.stream = stream or sys.stdin
        if not hasattr(self.stream, "isatty") or not self.stream.isatty():
            raise InputError("--policy keyboard needs an interactive terminal, but stdin is not a TTY")
        import termios
        import tty

        self.step_seconds = step_seconds
        self._fd = self.stream.fileno()
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self._termios = termios

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if obs.shape[0] != 1:
            raise InputError(f"the keyboard drives exactly one car, got a batch of {obs.shape[0]}")
        key = self._read_key()
        if key in ("q", "Q"):
            raise KeyboardInterrupt("quit from the keyboard")
        return np.array([self.KEYS.get(key.lower() if len(key) == 1 else key, STRAIGHT)])

    def _read_key(self) -> str:
        ready, _, _ = select.select([self.stream], [], [], self.step_seconds)
        if not ready:
            return ""
        key = self.stream.read(1)
        if key == "\x1b":  # arrow keys arrive as escape sequences
            key += self.stream.read(2)
        return key

    def close(self) -> None:
        self._termios.tcsetattr(self._fd, self._termios.TCSADRAIN, self._saved)

