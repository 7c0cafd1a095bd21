"""The cars tab: a live genetic-algorithm run on a car track, every car and its sensor rays on screen.

A population of tanh policy networks (one population-axis MLP, as :mod:`annrl.agents.neuroevolution`
uses) drives one :class:`~annrl.envs.CarSimulator` car each; a generation ends when every car has
crashed or finished, or after ``max_steps``; the fraction of the course each car drove is its
fitness, and :class:`annrl.agents.ga.GeneticAlgorithm` breeds the next generation. Frames carry
the cars' poses and the rays of the ``RAY_CARS`` cars that drove furthest so far.

Messages from the page: ``{"type": "start", "track": ..., "population": ..., "hidden": [...],
"seed": ..., "max_steps": ...}``, ``{"type": "stop"}`` and ``{"type": "ack"}``; answers: ``track``
(the walls), ``frame`` and ``generation`` (its best and mean fitness).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.validate import Interval, ListOf, Options, check

RAY_CARS = 6
STEPS_PER_FRAME = 2


def start_table() -> dict[str, list[Any]]:
    from annrl.envs import list_tracks

    return {"track": [Options(list_tracks())], "population": [Interval(int, 2, 64)],
            "hidden": [ListOf(Interval(int, 1, 16), 0, 2)], "seed": [Interval(int, 0, 2**31 - 1)],
            "max_steps": [Interval(int, 50, 3000)]}


class CarsRun:
    """One GA run stepped frame by frame (see the module docstring)."""

    def __init__(self, track: str = "oval", population: int = 24, hidden: tuple[int, ...] = (8,), seed: int = 0,
                 max_steps: int = 600):
        from gymnasium.vector import AutoresetMode

        from annrl.agents.ga import Config, GeneticAlgorithm
        from annrl.envs import CarSimulator
        from annrl.nn import MLP

        self.sim = CarSimulator(track, population, autoreset_mode=AutoresetMode.DISABLED)
        self.rng = np.random.default_rng(seed)
        sizes = [self.sim.n_obs, *hidden, 5]
        self.net = MLP(sizes, hidden="tanh", output="identity", population=population, init="xavier", rng=self.rng)
        self.ga = GeneticAlgorithm(np.array(self.net.flat_), Config(population=population, elite=2))
        self.max_steps, self.generation, self.history = max_steps, 0, []
        self._new_generation()

    def _new_generation(self) -> None:
        self.net.set_flat(self.ga.ask(self.rng))
        seed = int(self.rng.integers(2**31))
        self.obs, self.info = self.sim.reset([np.random.default_rng(seed + k) for k in range(self.sim.n)])
        self.steps = 0

    def track_message(self) -> dict[str, Any]:
        return track_message(self.sim)

    def frame(self) -> list[dict[str, Any]]:
        """Step every car ``STEPS_PER_FRAME`` times; the messages to send (a frame, maybe a generation)."""
        messages = []
        for _ in range(STEPS_PER_FRAME):
            actions = np.argmax(np.asarray(self.net.predict(self.obs[:, None, :]))[:, 0, :], axis=1)
            self.obs, _, _, _, self.info = self.sim.step(actions)
            self.steps += 1
        done = bool(np.all(self.sim.parked)) or self.steps >= self.max_steps
        messages.append(self._frame_message())
        if done:
            fitness = np.asarray(self.info["progress"], dtype=float)
            self.ga.tell(fitness)
            self.generation += 1
            self.history.append([round(float(fitness.max()), 4), round(float(fitness.mean()), 4)])
            messages.append({"type": "generation", "generation": self.generation, "best": self.history[-1][0],
                             "mean": self.history[-1][1], "laps_best": int(np.max(self.info["laps"]))})
            self._new_generation()
        return messages

    def _frame_message(self) -> dict[str, Any]:
        return {**frame_message(self.sim, self.info), "generation": self.generation, "step": self.steps}


def frame_message(sim: Any, info: dict[str, Any]) -> dict[str, Any]:
    """Every car's pose, which are parked, and the sensor rays of the ``RAY_CARS`` cars that lead.

    ``rays[k]`` holds the end points of car ``leaders[k]``'s rays: where each one meets a wall, or
    its range.
    """
    state = sim.state
    progress = np.asarray(info["progress"], dtype=float)
    leaders = np.argsort(-progress, kind="stable")[:RAY_CARS]
    xy = np.column_stack([state.x[leaders], state.y[leaders]])
    angles = np.asarray(state.heading)[leaders, None] + sim.sensors.angles[leaders]
    reach = np.asarray(sim.sense())[leaders]
    ends = xy[:, None, :] + reach[..., None] * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    return {"type": "frame", "cars": np.round(np.column_stack([state.x, state.y, state.heading]), 2).tolist(),
            "parked": np.asarray(sim.parked).tolist(), "leaders": leaders.tolist(),
            "rays": np.round(ends, 2).tolist(), "best_progress": round(float(progress.max()), 4)}


def track_message(sim: Any) -> dict[str, Any]:
    """The walls of the simulator's track and where the cars start."""
    t = sim.track
    return {"type": "track", "inner": np.round(t.inner, 2).tolist(), "outer": np.round(t.outer, 2).tolist(),
            "start": list(t.start), "population": sim.n}


def parse_start(message: dict[str, Any]) -> dict[str, Any]:
    """The ``start`` message's settings, checked (unknown fields and out-of-range values refused)."""
    settings = {k: v for k, v in message.items() if k != "type"}
    check(start_table(), settings, prefix="cars.")
    if "hidden" in settings:
        settings["hidden"] = tuple(settings["hidden"])
    return settings

