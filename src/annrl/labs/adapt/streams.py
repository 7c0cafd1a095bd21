"""Synthetic data streams whose concept drifts: sudden, gradual, recurring, and an activity stream.

A stream is a :class:`Stream`: samples in arrival order with the indices where the concept
changes. The hyperplane streams switch between labelling rules ``y = [x . w_k > 0]`` with
orthogonal normals ``w_k`` (so a model of the old concept is right half of the time on the new
one). The activity stream synthesises short windows of a 3-axis accelerometer worn by someone
sitting, standing, walking or running, and turns each into features (mean and spread per axis,
magnitude spread, step frequency); at the drift the device is re-mounted at another angle and worn
by a person with a livelier gait, so the class boundaries in feature space move.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from annrl.errors import InputError

KINDS = ("sudden", "gradual", "recurring", "activity")
ACTIVITIES = ("sitting", "standing", "walking", "running")


@dataclass
class Stream:
    """Samples in arrival order.

    Attributes
    ----------
    X : ndarray (T, features)
    y : ndarray of int (T,)
    drifts : list of int
        Where a new concept starts (the middle of the change for a gradual drift).
    n_classes : int
    name : str
    width : int
        Samples over which a gradual drift spreads (0: sudden).
    class_names : tuple of str
    """

    X: np.ndarray
    y: np.ndarray
    drifts: list[int]
    n_classes: int
    name: str
    width: int = 0
    class_names: tuple[str, ...] = field(default=())


#: samples a stream needs after its warm-up: room for a drift and the recovery after it
MIN_AFTER_WARMUP = 400


def make_stream(kind: str, *, samples: int = 6000, warmup: int = 1000, seed: int | np.random.Generator = 0,
                features: int = 4,
                label_noise: float = 0.02) -> Stream:
    """A stream of ``samples`` samples whose first drift comes after ``warmup`` + stationary samples.

    ``sudden``: one concept change in the middle of what follows the warm-up; ``gradual``: the
    same change spread over 1000 samples (each sample drawn from the new concept with a probability
    rising linearly); ``recurring``: concepts A, B, A, B in four equal segments after the warm-up;
    ``activity``: the accelerometer stream, one sudden re-mounting in the middle.
    """
    if kind not in KINDS:
        raise InputError(f"stream kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if samples < warmup + MIN_AFTER_WARMUP:
        raise InputError.invalid("samples", f"at least warmup + {MIN_AFTER_WARMUP} = {warmup + MIN_AFTER_WARMUP}",
                                 samples)
    rng = np.random.default_rng(seed)
    if kind == "activity":
        return activity_stream(samples, drift=warmup + (samples - warmup) // 2, rng=rng)
    concept = _concept_schedule(kind, samples, warmup, rng)
    normals = _orthogonal_normals(features, int(concept.max()) + 1, rng)
    X = rng.normal(size=(samples, features))
    y = (np.einsum("ti,ti->t", X, normals[concept]) > 0).astype(int)
    flip = rng.random(samples) < label_noise
    y[flip] = 1 - y[flip]
    return Stream(X, y, _drift_points(kind, samples, warmup), 2, kind, 1000 if kind == "gradual" else 0,
                  ("0", "1"))


def _drift_points(kind: str, samples: int, warmup: int) -> list[int]:
    rest = samples - warmup
    if kind == "recurring":
        return [warmup + rest * k // 4 for k in (1, 2, 3)]
    return [warmup + rest // 2]


def _concept_schedule(kind: str, samples: int, warmup: int, rng: np.random.Generator) -> np.ndarray:
    """The concept index ``(T,)`` of every sample."""
    t = np.arange(samples)
    drifts = _drift_points(kind, samples, warmup)
    if kind == "sudden":
        return (t >= drifts[0]).astype(int)
    if kind == "recurring":
        return np.searchsorted(drifts, t, side="right") % 2  # A, B, A, B
    # gradual: the new concept's share rises from 0 to 1 over 1000 samples centred on the drift
    share = np.clip((t - drifts[0]) / 1000.0 + 0.5, 0.0, 1.0)
    return (rng.random(samples) < share).astype(int)


def _orthogonal_normals(features: int, count: int, rng: np.random.Generator) -> np.ndarray:
    if count > features:
        raise InputError(f"{count} orthogonal concepts need at least {count} features, got {features}")
    q, _ = np.linalg.qr(rng.normal(size=(features, features)))
    return q[:, :count].T


# -- the activity stream --------------------------------------------------------------------------
RATE_HZ = 20.0  # accelerometer samples per second
WINDOW = 32  # samples per feature window (1.6 s)
GRAVITY = 1.0  # accelerations in units of g


def activity_stream(samples: int, *, drift: int, rng: np.random.Generator, angle_deg: float = 70.0,
                    gait_scale: float = 1.6) -> Stream:
    """Accelerometer features of four activities; at ``drift`` the device turns by ``angle_deg``
    about its x axis and the wearer's gait gets ``gait_scale`` times stronger and faster."""
    y = rng.integers(0, len(ACTIVITIES), size=samples)
    after = np.arange(samples) >= drift
    windows = _accelerometer_windows(y, after, rng, angle_deg, gait_scale)
    return Stream(accelerometer_features(windows), y, [drift], len(ACTIVITIES), "activity", 0, ACTIVITIES)


def _accelerometer_windows(y: np.ndarray, after: np.ndarray, rng: np.random.Generator, angle_deg: float,
                           gait_scale: float) -> np.ndarray:
    """Raw signals ``(T, WINDOW, 3)`` in the device's axes."""
    T = len(y)
    # posture: the direction of gravity in the body's frame (sitting leans the trunk back)
    lean = np.where(y == 0, np.deg2rad(35.0), np.deg2rad(5.0)) + rng.normal(0, np.deg2rad(6.0), T)
    gravity = GRAVITY * np.stack([np.zeros(T), np.sin(lean), np.cos(lean)], axis=1)  # (T, 3)
    # gait: vertical bounce and a smaller forward sway at the step frequency
    cadence = np.select([y == 2, y == 3], [1.8, 2.7], 0.0) * rng.normal(1.0, 0.08, T)
    amplitude = np.select([y == 2, y == 3], [0.25, 0.8], 0.0) * rng.normal(1.0, 0.15, T)
    scale = np.where(after, gait_scale, 1.0)
    cadence, amplitude = cadence * np.sqrt(scale), amplitude * scale
    time = np.arange(WINDOW) / RATE_HZ
    phase = 2 * np.pi * (cadence[:, None] * time[None, :] + rng.random(T)[:, None])
    bounce = amplitude[:, None] * np.sin(phase)
    signal = np.repeat(gravity[:, None, :], WINDOW, axis=1)
    signal[:, :, 2] += bounce
    signal[:, :, 1] += 0.4 * amplitude[:, None] * np.sin(phase / 2)  # the stride's sway: half the step rate
    signal += rng.normal(0, 0.03, signal.shape)
    # the device's mounting: turned by angle_deg about x after the drift
    angle = np.where(after, np.deg2rad(angle_deg), 0.0)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    rotated = signal.copy()
    rotated[:, :, 1] = c * signal[:, :, 1] - s * signal[:, :, 2]
    rotated[:, :, 2] = s * signal[:, :, 1] + c * signal[:, :, 2]
    return rotated


def accelerometer_features(windows: np.ndarray) -> np.ndarray:
    """Per window ``(T, WINDOW, 3)``: mean and standard deviation of each axis, standard deviation of
    the magnitude and its dominant frequency (Hz): ``(T, 8)``."""
    magnitude = np.linalg.norm(windows, axis=2)
    spectrum = np.abs(np.fft.rfft(magnitude - magnitude.mean(axis=1, keepdims=True), axis=1))
    frequencies = np.fft.rfftfreq(WINDOW, 1.0 / RATE_HZ)
    dominant = frequencies[np.argmax(spectrum[:, 1:], axis=1) + 1]
    return np.column_stack([windows.mean(axis=1), windows.std(axis=1), magnitude.std(axis=1), dominant])
