"""Figures of dynamical systems: time series, and phase portraits over the vector field.

``draw_*`` functions draw into a given matplotlib Axes (so a lab can put a true and a learned
field side by side); ``plot_trajectory`` draws a whole figure in annrl's style, returns it and writes a
PNG only when given a path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.errors import InputError
from annrl.viz.style import finish, panels

from .base import DynamicalSystem
from .trajectory import Trajectory

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Field = DynamicalSystem | Callable[[np.ndarray], np.ndarray]


def draw_time_series(ax, trajectory: Trajectory) -> None:
    """Each state against time: the clean curve as a line, noisy observations as dots."""
    for i, name in enumerate(trajectory.names):
        line, = ax.plot(trajectory.t, trajectory.x_clean[:, i], lw=1.2, label=name)
        if trajectory.noise > 0:
            ax.plot(trajectory.t, trajectory.x[:, i], ".", ms=2, alpha=0.5, color=line.get_color())
    noise = f", {trajectory.noise:.0%} noise" if trajectory.noise > 0 else ""
    ax.set(xlabel="time t", ylabel="state", title=f"Time series{noise}")
    ax.legend()


def draw_phase_portrait(ax, field: Field, trajectories: Sequence[Trajectory] = (), *,
                        bounds: tuple[float, float, float, float] | None = None,
                        names: Sequence[str] = ("x", "y"), grid: int = 30, title: str = "Phase portrait") -> None:
    """Streamlines of a 2-D vector field, coloured by speed, with trajectories drawn on top.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    field : DynamicalSystem or callable
        A 2-D system, or any vector field ``f(states)`` mapping ``(N, 2)`` to ``(N, 2)``
        (a trained network, for instance).
    trajectories : sequence of Trajectory, default=()
        Orbits to draw over the field (observed states as dots when noisy).
    bounds : (xmin, xmax, ymin, ymax), default=None
        The window; ``None`` fits the trajectories with a 10% margin.
    names : sequence of str, default=("x", "y")
        Axis labels; taken from the system or the first trajectory when they have them.
    grid : int, default=30
        Points per side of the grid on which the field is evaluated.
    title : str, default="Phase portrait"
    """
    vector_field = _as_vector_field(field)
    if bounds is None:
        bounds = _fit_bounds(trajectories)
    names = getattr(field, "names", None) or (trajectories[0].names if trajectories else names)
    xs = np.linspace(bounds[0], bounds[1], grid)
    ys = np.linspace(bounds[2], bounds[3], grid)
    gx, gy = np.meshgrid(xs, ys)
    velocity = vector_field(np.stack([gx.ravel(), gy.ravel()], axis=-1)).reshape(grid, grid, 2)
    speed = np.hypot(velocity[..., 0], velocity[..., 1])
    ax.streamplot(xs, ys, velocity[..., 0], velocity[..., 1], color=np.log1p(speed), cmap="Greys",
                  density=1.0, linewidth=0.7, arrowsize=0.8)
    for trajectory in trajectories:
        line, = ax.plot(trajectory.x_clean[:, 0], trajectory.x_clean[:, 1], lw=1.5)
        if trajectory.noise > 0:
            ax.plot(trajectory.x[:, 0], trajectory.x[:, 1], ".", ms=2, alpha=0.5, color=line.get_color())
        ax.plot(*trajectory.x_clean[0, :2], "o", color=line.get_color(), ms=4)
    ax.set(xlim=bounds[:2], ylim=bounds[2:], xlabel=names[0], ylabel=names[1], title=title)


def plot_trajectory(trajectory: Trajectory, field: Field | None = None, path: str | Path | None = None, *,
                    fig: Figure | None = None) -> Figure:
    """Time series, and the phase portrait over ``field`` for 2-D systems; saved to ``path`` if given.

    Drawn in ``fig`` (an empty figure) when given, else in a new one.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, two with the phase portrait.
    """
    with_portrait = field is not None and trajectory.dim == 2
    fig, axes = panels(fig, ncols=2 if with_portrait else 1)
    axes = np.atleast_1d(axes)
    draw_time_series(axes[0], trajectory)
    if with_portrait:
        draw_phase_portrait(axes[1], field, [trajectory])
    fig.suptitle(trajectory.system, fontsize=9)
    return finish(fig, path)


def _as_vector_field(field: Field) -> Callable[[np.ndarray], np.ndarray]:
    if isinstance(field, DynamicalSystem):
        if field.dim != 2:
            raise InputError(f"field must be a 2-D system for a phase portrait, got {field.dim} variables")
        return lambda states: field.rhs(0.0, states)
    if not callable(field):
        raise InputError(f"field must be a DynamicalSystem or a callable, got {type(field).__name__}")
    return field


def _fit_bounds(trajectories: Sequence[Trajectory]) -> tuple[float, float, float, float]:
    if not trajectories:
        raise InputError("bounds must be given when there are no trajectories, got None")
    states = np.concatenate([tr.x[:, :2] for tr in trajectories] + [tr.x_clean[:, :2] for tr in trajectories])
    low, high = states.min(axis=0), states.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-9)
    low, high = low - margin, high + margin
    return (low[0], high[0], low[1], high[1])
