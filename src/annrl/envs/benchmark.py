"""The held-out benchmark: a fixed suite of tracks no training ever draws, driven 3 laps each.

The ``heldout`` suite is the hard family's held-out seeds
(:data:`~annrl.envs.track_families.HELDOUT_SEEDS`, 50 tracks) and the shipped tracks (4). A
driver succeeds on a track when it completes the laps without touching a wall; the suite's
``success_rate`` is the share of tracks where it did. Each track allows
``laps * length / (MIN_MEAN_SPEED * dt)`` steps, and a car that reaches no new checkpoint for
``STALL_SECONDS`` stops there (not a success, not a crash).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from annrl.envs.track_families import heldout_tracks
from annrl.envs.tracks import list_tracks
from annrl.errors import InputError

if TYPE_CHECKING:  # matplotlib is imported when the figure is drawn, not with the benchmark
    from matplotlib.figure import Figure

SUITES = ("heldout",)
MIN_MEAN_SPEED = 2.0  # m/s: the slowest average speed that still finishes within the step limit
STALL_SECONDS = 30.0  # a car with no new checkpoint for this long is stopped
TRACE_EVERY = 4  # keep one position in this many steps for the figure


def suite_tracks(suite: str = "heldout", limit: int | None = None) -> list[str]:
    """Track names of a suite: generated held-out tracks first, then the shipped ones.

    ``limit`` keeps the first ``limit`` of them (for quick checks).
    """
    if suite not in SUITES:
        raise InputError.invalid("--suite", f"one of {list(SUITES)}", suite)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError.invalid("--limit", "an integer >= 1", limit)
    return (heldout_tracks("hard") + list_tracks())[:limit]


def step_limit(track: Any, laps: int, dt: float) -> int:
    """Steps that ``laps`` laps of ``track`` (a loaded Track) take at MIN_MEAN_SPEED: the time limit of a
    benchmark drive, and of ``annrl car drive`` unless ``--max-steps`` says otherwise."""
    return math.ceil(laps * track.length / (MIN_MEAN_SPEED * dt))


def drive_track(track: str, make_driver: Callable[[Any], Callable], *, continuous: bool, laps: int = 3,
                seed: int = 0, sensors: dict[str, Any] | None = None) -> dict[str, Any]:
    """Drive one car ``laps`` laps of ``track``; returns its record with the trajectory.

    Parameters
    ----------
    make_driver : callable
        ``make_driver(env) -> policy``; the policy maps observations ``(1, n_obs)`` to actions.
    sensors : dict, optional
        CarSettings sensor fields (``n_rays`` ...) the driver was trained with; the defaults if omitted.

    Returns
    -------
    dict
        ``track``, ``laps``, ``crashed``, ``success``, ``progress`` (fraction of the course),
        ``steps``, ``length_m``, ``mean_speed`` (m/s) and ``trace`` (positions ``(k, 2)``).
    """
    from annrl.envs.car_env import CarTrackVecEnv
    from annrl.envs.tracks import load_track

    loaded = load_track(track)
    dt = 0.05
    env = CarTrackVecEnv(1, loaded, continuous=continuous, autoreset_mode="Disabled", laps=laps,
                         max_episode_steps=step_limit(loaded, laps, dt), stall_time=STALL_SECONDS, dt=dt,
                         **(sensors or {}))
    driver = make_driver(env)
    obs, info = env.reset(seed=seed)
    trace, steps, done = [], 0, False
    try:
        while not done:
            if steps % TRACE_EVERY == 0:
                trace.append((float(env.sim.state.x[0]), float(env.sim.state.y[0])))
            obs, _, terminated, truncated, info = env.step(driver(obs))
            steps += 1
            done = bool(terminated[0] or truncated[0])
    finally:
        env.close()
    trace.append((float(env.sim.state.x[0]), float(env.sim.state.y[0])))
    progress = float(info["progress"][0])
    return {"track": track, "laps": int(info["laps"][0]), "crashed": bool(info["crashed"][0]),
            "success": bool(info["success"][0]) and not bool(info["crashed"][0]), "progress": progress,
            "steps": steps, "length_m": round(loaded.length, 1),
            "mean_speed": round(progress * laps * loaded.length / (steps * dt), 2), "trace": np.array(trace)}


def run_suite(make_driver: Callable[[Any], Callable], *, continuous: bool, suite: str = "heldout",
              limit: int | None = None, tracks: list[str] | None = None, laps: int = 3,
              seed: int = 0, sensors: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Drive every track of a suite (or ``tracks``) with the car's ``sensors`` (see :func:`drive_track`);
    returns the metrics and the trajectories (for the figure)."""
    records = [drive_track(name, make_driver, continuous=continuous, laps=laps, seed=seed, sensors=sensors)
               for name in (tracks if tracks is not None else suite_tracks(suite, limit))]
    traces = [r.pop("trace") for r in records]
    metrics = {
        "suite": suite,
        "tracks": len(records),
        "laps_required": laps,
        "continuous": continuous,
        "seed": seed,
        **({"sensors": sensors} if sensors else {}),
        "success_rate": float(np.mean([r["success"] for r in records])),
        "crash_rate": float(np.mean([r["crashed"] for r in records])),
        "mean_progress": float(np.mean([r["progress"] for r in records])),
        "per_track": records,
    }
    return metrics, traces


def plot_suite(records: list[dict[str, Any]], traces: list[np.ndarray], path: str | Path | None = None, *,
               columns: int = 9, fig: Figure | None = None) -> Figure:
    """A grid of the suite's tracks with each car's path: green for success, red x at a crash.

    Parameters
    ----------
    records : list of dict
        One row per track of the suite's metrics (``track``, ``success``, ...), without ``trace``.
    traces : list of ndarray, each of shape (k, 2)
        The car's positions on each track, in metres.
    path : str or Path, optional
        Where the figure is saved; nothing is written when None.
    columns : int, default=9
        Tracks per row of the grid.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw the grid in; a new one when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from annrl.envs.tracks import load_track
    from annrl.viz.style import finish, panels

    columns = max(1, min(columns, len(records)))
    rows = math.ceil(len(records) / columns)
    fig, axes = panels(fig, columns, rows, size=(2.0 * columns, 2.0 * rows))
    axes = np.atleast_1d(axes).ravel()
    for ax, record, trace in zip(axes, records, traces, strict=False):
        track = load_track(record["track"])
        for wall in (track.outer, track.inner):
            closed = np.vstack([wall, wall[:1]])
            ax.plot(closed[:, 0], closed[:, 1], color="0.2", lw=0.6)
        colour = "tab:green" if record["success"] else ("tab:red" if record["crashed"] else "tab:orange")
        ax.plot(trace[:, 0], trace[:, 1], color=colour, lw=0.7)
        if record["crashed"]:
            ax.plot(trace[-1, 0], trace[-1, 1], "x", color="tab:red", ms=8, mew=2)
        ax.set_title(f"{record['track'].removeprefix('family:')}: {record['laps']} laps", fontsize=7)
        ax.set_aspect("equal")
        ax.axis("off")
    for ax in axes[len(records):]:
        ax.axis("off")
    return finish(fig, path)
