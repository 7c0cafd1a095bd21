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
    """Aim at the open space the rays see, keep off the walls, slow down for what lies ahead.

    No learning and no map, only the rays (in metres, ``d_i`` at angle ``a_i``):

    * **aim**: pure pursuit of the point where the rays reach furthest, the average of the ray
      ends weighted by ``d_i**4`` (the longest ray dominates, its neighbours pull the point
      towards the middle of the gap): curvature ``2 y / (x**2 + y**2)``, the circle through it;
    * **keep off the walls**: add curvature ``centring`` towards the side with more room, times
      the mean imbalance ``(left - right) / (left + right)`` of the mirrored ray pairs, which
      does not shrink on a narrow track;
    * **speed**: a wall ``d`` metres ahead needs a turn of radius about ``d``, which the tyres
      hold up to ``sqrt(grip * d)``; the car aims at ``cornering`` times that share of the grip
      (``d`` less the car's diameter), never above ``max_speed``.

    The discrete version picks, in order: a turn when the steering is strong (braking cannot
    steer), brake when too fast, a turn when the steering is mild, accelerate when too slow.

    Parameters
    ----------
    settings : CarSettings
    continuous : bool, default=False
    centring : float, default=0.3
        Curvature (1/m) added per unit of left-right imbalance.
    cornering : float, optional
        Share of the grip the speed target uses: 1.0 for continuous steering, 0.6 for the
        discrete actions, whose full-lock-or-nothing steering needs the margin.
    """

    def __init__(self, settings: CarSettings, *, continuous: bool = False, centring: float = 0.3,
                 cornering: float | None = None):
        self.settings, self.continuous = settings, continuous
        self.centring = centring
        self.cornering = cornering if cornering is not None else (1.0 if continuous else 0.6)
        angles = np.array(settings.ray_angles())
        self.cos, self.sin = np.cos(angles), np.sin(angles)
        self.ahead = int(np.argmin(np.abs(angles)))
        # Mirrored pairs (ray k on the right, ray n - 1 - k on the left), sideways rays only.
        k = np.arange(len(angles) // 2)
        self.right, self.left = k[np.abs(angles[k]) > 1e-6], (len(angles) - 1 - k)[np.abs(angles[k]) > 1e-6]

    def controls(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steer and throttle in [-1, 1], each ``(n,)``."""
        s = self.settings
        rays, speed = obs[:, : s.n_rays].astype(np.float64) * s.max_range, obs[:, s.n_rays] * s.max_speed
        w = np.maximum(rays, 1e-3) ** 4
        x, y = (w * rays * self.cos).sum(1) / w.sum(1), (w * rays * self.sin).sum(1) / w.sum(1)
        aim = 2.0 * y / np.maximum(x * x + y * y, 1e-6)
        left, right = rays[:, self.left], rays[:, self.right]
        balance = ((left - right) / np.maximum(left + right, 1e-6)).mean(1) if len(self.left) else 0.0
        steer = np.clip((aim + self.centring * balance) / s.steer_gain, -1.0, 1.0)
        room = np.maximum(rays[:, self.ahead] - 2.0 * s.car_radius, 0.0)
        target = np.minimum(np.sqrt(self.cornering * s.grip * room), s.max_speed)
        throttle = np.clip((target - speed) / 2.0, -1.0, 1.0)
        return steer, throttle

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        steer, throttle = self.controls(obs)
        if self.continuous:
            return np.column_stack([steer, throttle])
        turn = np.where(steer > 0, LEFT, RIGHT)
        action = np.where(throttle > 0.25, FASTER, STRAIGHT)
        action = np.where(np.abs(steer) > 0.2, turn, action)
        action = np.where(throttle < -0.25, SLOWER, action)
        return np.where(np.abs(steer) > 0.5, turn, action)  # a sharp turn first: braking cannot steer


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
        """Give the terminal its saved settings back (echo and line mode)."""
        self._termios.tcsetattr(self._fd, self._termios.TCSADRAIN, self._saved)

