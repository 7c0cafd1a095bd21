"""The "cars that learn to drive" Unity demo, recreated on annrl's car and genetic algorithm.

The well-known demo (Samuel Arzt's Unity project, and many like it) shows thirty cars, each with
five distance sensors fanned out ahead, driven by a tiny 5-4-3-2 network of sigmoid units whose
two outputs are the engine and the steering. A car dies when it hits a wall or when it reaches
no new checkpoint for a while, so a car that stops or circles is not rewarded for surviving.
A genetic algorithm breeds the next thirty from the cars that got furthest. Here:

* sensors: ``n_rays=5`` over ``ray_spread_deg=90`` (-45, -22.5, 0, 22.5, 45 degrees); the network
  sees only the five distances (the speed entry of the observation is dropped);
* network: ``MLP([5, 4, 3, 2], hidden="sigmoid", output="sigmoid")``; outputs ``o`` in (0, 1)
  become continuous actions ``(steer, throttle) = 2 o - 1``;
* fitness: the fraction of the lap completed, counted in checkpoints (``checkpoints /
  (laps * n_checkpoints)``), in [0, 1];
* death: a wall hit, or ``stall_time=7`` simulated seconds without a new checkpoint;
* evolution: :class:`annrl.agents.ga.GeneticAlgorithm` over the ``(30, 41)`` weight matrix, the
  thirty networks driven as one population-axis network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from annrl.clikit import write_metrics
from annrl.envs.settings import CarSettings
from annrl.errors import InputError
from annrl.progress import track

#: The demo's settings, as CarSettings fields: five rays over 90 degrees, one lap, 7 s stall rule.
UNITY_SETTINGS: dict[str, Any] = {
    "n_rays": 5,
    "ray_spread_deg": 90.0,
    "stall_time": 7.0,
    "laps": 1,
    "n_checkpoints": 40,
    "max_episode_steps": 3000,
}
UNITY_LAYERS = (5, 4, 3, 2)
UNITY_ACTIVATION = "sigmoid"
UNITY_POPULATION = 30


def unity_settings(**overrides: Any) -> CarSettings:
    """The demo's :class:`CarSettings` (``UNITY_SETTINGS``), with optional changes."""
    return CarSettings().updated(**{**UNITY_SETTINGS, **overrides})


@dataclass
class UnityConfig:
    """A run of the demo: where, how many cars, how many generations, and the GA's knobs."""

    track: str = "rounded_rectangle"
    population: int = UNITY_POPULATION
    generations: int = 30
    seed: int = 0
    same_start: bool = True  # every generation starts from the same jittered poses, as in the demo
    elite: int = 3
    mutation_rate: float = 0.2
    mutation_sigma: float = 1.0
    sigma_decay: float = 1.0
    # Sigmoid units only decide (saturate) with weights of order 1; Xavier's are ~0.5, so the
    # first generation's are scaled up. With 1.0 every car of generation 0 dithers at half throttle.
    init_scale: float = 3.0
    settings: dict[str, Any] = field(default_factory=dict)  # changes to UNITY_SETTINGS


@dataclass
class Generation:
    """The outcome of one generation: ``fitness`` ``(P,)`` and its summary."""

    index: int
    fitness: np.ndarray

    @property
    def best(self) -> float:
        return float(self.fitness.max())

    @property
    def mean(self) -> float:
        return float(self.fitness.mean())


def unity_network(population: int, rng: np.random.Generator):
    """The 5-4-3-2 sigmoid network, ``population`` of them side by side."""
    from annrl.nn import MLP

    return MLP(list(UNITY_LAYERS), hidden=UNITY_ACTIVATION, output=UNITY_ACTIVATION, population=population,
               init="xavier", rng=rng)


def to_controls(outputs: np.ndarray) -> np.ndarray:
    """Sigmoid outputs ``(P, 2)`` = (steer, throttle) in (0, 1) to actions in (-1, 1), float32."""
    return (2.0 * np.asarray(outputs) - 1.0).astype(np.float32)


class UnityDemo:
    """The demo's population on one track: evaluate a generation, breed the next, record frames.

    Parameters
    ----------
    config : UnityConfig
    """

    def __init__(self, config: UnityConfig):
        from annrl.agents.ga import Config as GAConfig
        from annrl.agents.ga import GeneticAlgorithm
        from annrl.envs.car_env import CarTrackVecEnv

        if config.population < 2 or config.generations < 1:
            raise InputError(f"population must be >= 2 and generations >= 1, got {config.population} and "
                             f"{config.generations}")
        self.config = config
        self.settings = unity_settings(**config.settings)
        self.rng = np.random.default_rng(config.seed)
        self.net = unity_network(config.population, self.rng)
        ga_config = GAConfig(population=config.population, elite=config.elite, mutation_rate=config.mutation_rate,
                             mutation_sigma=config.mutation_sigma, sigma_decay=config.sigma_decay)
        self.ga = GeneticAlgorithm(config.init_scale * np.array(self.net.flat_), ga_config)
        self.env = CarTrackVecEnv(config.population, config.track, continuous=True, autoreset_mode="Disabled",
                                  settings=self.settings)
        self.history: list[Generation] = []

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions ``(P, 2)`` of the P networks, each seeing its own car's five distances."""
        distances = obs[:, : self.settings.n_rays]
        return to_controls(self.net.predict(distances[:, None, :])[:, 0, :])

    def drive(self, seed: int, frame=None) -> np.ndarray:
        """Drive every car until it dies or finishes; fitness ``(P,)`` in [0, 1].

        ``frame(sim)``, when given, is called before every step (to record an animation).
        """
        # Every car starts from the same pose, so an elite copied unchanged keeps its fitness.
        obs, info = self.env.reset(seed=[seed] * self.env.num_envs)
        done = np.zeros(self.env.num_envs, dtype=bool)
        for _ in range(self.settings.max_episode_steps):
            if frame is not None:
                frame(self.env.sim)
            obs, _, terminated, truncated, info = self.env.step(self.act(obs))
            done |= terminated | truncated
            if done.all():
                break
        if frame is not None:
            frame(self.env.sim)
        return fitness_of(info, self.settings)

    def generation(self, frame=None) -> Generation:
        """Evaluate the current population, tell the GA, and breed the next one."""
        seed = self.config.seed if self.config.same_start else int(self.rng.integers(2**31 - 1))
        self.net.set_flat(self.ga.ask(self.rng))
        fitness = self.drive(seed, frame)
        self.ga.tell(fitness)
        result = Generation(len(self.history), fitness)
        self.history.append(result)
        return result

    def close(self) -> None:
        """Close the simulator."""
        self.env.close()


def fitness_of(info: dict[str, np.ndarray], settings: CarSettings) -> np.ndarray:
    """Fraction of the course completed in checkpoints, ``(P,)`` in [0, 1]."""
    reached = np.asarray(info["checkpoints"], dtype=np.float64)
    return np.clip(reached / (settings.laps * settings.n_checkpoints), 0.0, 1.0)


# -- the demo: evolve, animate, plot ----------------------------------------------------------------
def run_demo(out, config: UnityConfig | None = None, *, animate: int = 4, frame_every: int = 3,
             fps: int = 20) -> dict[str, Any]:
    """Evolve the demo's population and write ``out/``: ``evolution.gif`` (``animate`` generations,
    first to last, every car driving), ``fitness.png`` (best and mean per generation), ``metrics.json``.

    Returns the metrics.
    """
    import time
    from pathlib import Path

    config = config or UnityConfig()
    out = Path(out)
    demo = UnityDemo(config)
    shown = set(np.unique(np.linspace(0, config.generations - 1, max(1, animate)).round().astype(int)).tolist())
    frames: list = []
    start = time.perf_counter()
    try:
        for g in track(range(config.generations), "car demo: generations"):
            clip = _Clip(demo.env.track, frame_every) if animate and g in shown else None
            result = demo.generation(clip)
            if clip is not None:
                frames += clip.captioned(f"generation {g + 1}: best {100 * result.best:.0f}% of the lap")
    finally:
        demo.close()
    wall = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    metrics = _metrics(demo, wall)
    if frames:
        from annrl.envs.render import save_animation

        metrics["animation"] = str(save_animation(frames, out / "evolution.gif", fps=fps))
    plot_fitness(demo.history, out / "fitness.png", track=config.track)
    metrics["figure"] = str(out / "fitness.png")
    write_metrics(out, metrics)
    return metrics


def _metrics(demo: UnityDemo, wall: float) -> dict[str, Any]:
    best = [g.best for g in demo.history]
    solved = next((g.index + 1 for g in demo.history if g.best >= 1.0), None)
    c = demo.config
    return {
        "preset": "unity", "track": c.track, "population": c.population, "generations": len(best),
        "layers": list(UNITY_LAYERS), "activation": UNITY_ACTIVATION, "seed": c.seed,
        "best_fitness": best, "mean_fitness": [g.mean for g in demo.history],
        "final_best_fitness": best[-1], "first_generation_to_finish_lap": solved,
        "settings": demo.settings.to_dict(), "wall_s": wall,
    }


class _Clip:
    """Frames of one generation driving (every car), captioned afterwards."""

    def __init__(self, track, every: int):
        from annrl.envs.render import TrackRenderer

        self.renderer, self.every, self.images, self._calls = TrackRenderer(track, width=480), every, [], 0

    def __call__(self, sim) -> None:
        if self._calls % self.every == 0:
            self.images.append(self.renderer.frame(sim))
        self._calls += 1

    def captioned(self, text: str) -> list:
        from PIL import Image, ImageDraw

        images = []
        for frame in self.images + self.images[-1:] * 10:  # hold the last frame a moment
            img = Image.fromarray(frame)
            ImageDraw.Draw(img).text((8, 6), text, fill=(250, 250, 250))
            images.append(img)
        return images


def plot_fitness(history: list[Generation], path: str | Path | None = None, *, track: str, ax: Any = None) -> Any:
    """Best and mean fitness per generation (fraction of the lap); the Figure, written to ``path`` when given."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(5.0, 3.4))
    x = np.arange(1, len(history) + 1)
    ax.plot(x, [100 * g.best for g in history], marker="o", ms=3, label="best car")
    ax.plot(x, [100 * g.mean for g in history], marker="s", ms=3, label="population mean")
    ax.set_xlabel("generation")
    ax.set_ylabel("lap completed (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"{len(history[0].fitness)} cars (5-4-3-2 sigmoid nets) on {track}")
    ax.legend()
    return finish(fig, path)


def demo_step(out, quick: bool):
    """``annrl demo`` step: the Unity-style demo evolving (GIF and fitness figure); returns (Section, metrics)."""
    from pathlib import Path

    from annrl.viz.report import Section, Table

    folder = Path(out) / "car_demo"
    m = run_demo(folder, UnityConfig(generations=20 if quick else 30), animate=3)
    text = (f"Thirty cars with five rays over 90 degrees, each driven by a 5-4-3-2 sigmoid network, evolve by a "
            f"genetic algorithm on {m['track']}. A car dies at a wall or after 7 s without a new checkpoint; its "
            f"fitness is the fraction of the lap it completed. Best fitness went from "
            f"{100 * m['best_fitness'][0]:.0f}% to {100 * m['final_best_fitness']:.0f}% in {m['generations']} "
            "generations.")
    rows = [("generations", m["generations"]), ("best fitness, first generation", m["best_fitness"][0]),
            ("best fitness, last generation", m["final_best_fitness"]),
            ("first generation to finish the lap", m["first_generation_to_finish_lap"] or "-")]
    section = Section("Cars that learn to drive (the Unity demo)", text, [Table("Evolution", ["", "value"], rows)],
                      ["car_demo/fitness.png", "car_demo/evolution.gif"])
    return section, {"car_demo_best_fitness": m["final_best_fitness"]}
