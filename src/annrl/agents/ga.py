"""A genetic algorithm over network weights, as in the classic "cars that learn to drive" demos.

Each generation keeps the ``elite`` best networks unchanged and breeds the rest: two parents
chosen by tournament (or by rank), a child by uniform or arithmetic crossover (with probability
``crossover_rate``, else a copy of the first parent), then Gaussian mutation of a fraction
``mutation_rate`` of its weights with a standard deviation that decays every generation. The
whole population is one ``(P, D)`` array, evaluated as one population-axis network.

On the car, as for ES, a training episode ends after ``stall_time`` = 7 s without a new checkpoint and
fitness is progress (the return without the crash penalty); evaluation keeps the car's own rules. A
young population is mostly cars that creep or circle, and each played all 3,000 steps before: with the
rule the GA drove 3 clean laps of the S-bends after 0.11-0.22 M environment steps instead of 1.1-1.6 M
(``python benchmarks/rl.py car-ga``).
With ``kernel="compiled"`` (Numba, ``annrl[fast]``) each generation's episodes on the car run in one
compiled kernel, every network driving its own car (:mod:`annrl.agents.car_population`), with the
same fitness per seed as the NumPy path; ``benchmarks/car_env.py --ga`` times both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.agents.neuroevolution import (
    CarTrainingSettings,
    EvolutionConfig,
    car_training_table,
    evolution_table,
    train_population,
)
from annrl.agents.run import Result
from annrl.config import setting
from annrl.validate import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, UNIT, Options, check

NAME = "ga"
SELECTIONS = ("tournament", "rank")
CROSSOVERS = ("uniform", "arithmetic", "none")


@dataclass
class Config(CarTrainingSettings, EvolutionConfig):
    """Genetic-algorithm hyper-parameters (see the module docstring)."""

    elite: int = setting(4, "best networks copied unchanged into the next generation.")
    selection: str = setting("tournament", "parent selection: tournament or rank.")
    tournament_size: int = setting(3, "networks per tournament (the fittest wins).")
    crossover: str = setting("uniform", "uniform (each weight from either parent), arithmetic (a blend) or none.")
    crossover_rate: float = setting(0.5, "probability that a child is bred by crossover, not copied.")
    mutation_rate: float = setting(0.2, "probability that each weight of a child is mutated.")
    mutation_sigma: float = setting(0.4, "standard deviation of the first generation's mutations.")
    sigma_decay: float = setting(0.99, "factor on the mutation std after every generation.")
    sigma_min: float = setting(0.02, "the mutation std never decays below this.")


TABLE = {**evolution_table(), **car_training_table(), "elite": NON_NEGATIVE_INT,
         "selection": [Options(SELECTIONS)], "crossover": [Options(CROSSOVERS)],
         "tournament_size": POSITIVE_INT,
         "crossover_rate": UNIT, "mutation_rate": UNIT,
         "mutation_sigma": NON_NEGATIVE, "sigma_decay": UNIT,
         "sigma_min": NON_NEGATIVE}


# -- pure operators -------------------------------------------------------------------------------
def tournament_select(fitness: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` winners ``(n,)`` of tournaments among ``size`` networks drawn with replacement."""
    entrants = rng.integers(0, len(fitness), size=(n, size))
    return entrants[np.arange(n), np.argmax(fitness[entrants], axis=1)]


def rank_select(fitness: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices ``(n,)`` drawn with probability proportional to rank (worst 1, best P)."""
    ranks = np.empty(len(fitness))
    ranks[np.argsort(fitness, kind="stable")] = np.arange(1, len(fitness) + 1)
    return rng.choice(len(fitness), size=n, p=ranks / ranks.sum())


def uniform_crossover(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Children ``(n, D)`` taking each weight from parent ``a`` or ``b`` ``(n, D)`` with equal chance."""
    return np.where(rng.random(a.shape) < 0.5, a, b)


def arithmetic_crossover(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Children ``w a + (1 - w) b`` with one ``w ~ U(0, 1)`` per child; shapes ``(n, D)``."""
    w = rng.random((a.shape[0], 1))
    return w * a + (1.0 - w) * b


def gaussian_mutation(x: np.ndarray, sigma: float, rate: float, rng: np.random.Generator) -> np.ndarray:
    """``x`` ``(n, D)`` with a fraction ``rate`` of its weights moved by ``N(0, sigma^2)``."""
    mask = rng.random(x.shape) < rate
    return x + mask * (sigma * rng.standard_normal(x.shape))


def mutation_sigma(start: float, decay: float, floor: float, generation: int) -> float:
    """The mutation std of ``generation``: ``max(floor, start decay^generation)``.

    >>> mutation_sigma(0.4, 0.5, 0.02, 3)
    0.05
    """
    return max(floor, start * decay**generation)


class GeneticAlgorithm:
    """Ask/tell genetic algorithm over a ``(P, D)`` population.

    Parameters
    ----------
    initial : array, shape (P, D)
    config : Config
        Uses ``elite``, ``selection``, ``tournament_size``, ``crossover``, ``crossover_rate``,
        ``mutation_rate``, ``mutation_sigma``, ``sigma_decay``, ``sigma_min``.
    """

    def __init__(self, initial: np.ndarray, config: Config):
        self.config = config
        self.population_ = np.array(initial, dtype=np.float64)
        self.fitness_: np.ndarray | None = None
        self.best_ = self.population_[:1].copy()
        self.generation_ = 0

    def ask(self, rng: np.random.Generator) -> np.ndarray:
        """The population to evaluate, ``(P, D)``: the initial one, then the children of the last."""
        if self.fitness_ is not None:
            self.population_ = self.breed(self.population_, self.fitness_, rng)
            self.fitness_ = None
        return self.population_

    def breed(self, population: np.ndarray, fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The next generation ``(P, D)``: elites first, then mutated (crossed) children."""
        c = self.config
        P = len(population)
        elite = min(c.elite, P)
        order = np.argsort(-fitness, kind="stable")
        n = P - elite
        if c.selection == "tournament":
            first, second = tournament_select(fitness, n, c.tournament_size, rng), \
                tournament_select(fitness, n, c.tournament_size, rng)
        else:
            first, second = rank_select(fitness, n, rng), rank_select(fitness, n, rng)
        children = population[first]
        if c.crossover != "none" and c.crossover_rate > 0:
            cross = uniform_crossover if c.crossover == "uniform" else arithmetic_crossover
            mixed = cross(children, population[second], rng)
            children = np.where((rng.random(n) < c.crossover_rate)[:, None], mixed, children)
        sigma = mutation_sigma(c.mutation_sigma, c.sigma_decay, c.sigma_min, self.generation_)
        children = gaussian_mutation(children, sigma, c.mutation_rate, rng)
        return np.concatenate([population[order[:elite]], children])

    def tell(self, fitness: np.ndarray) -> None:
        """Record the fitness ``(P,)`` of the population last asked for."""
        self.fitness_ = np.asarray(fitness, dtype=np.float64)
        self.best_ = self.population_[[int(np.argmax(self.fitness_))]].copy()
        self.generation_ += 1

    def solution(self) -> np.ndarray:
        """``(1, D)``: the fittest network of the last generation evaluated."""
        return self.best_.copy()

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(tensors, meta)`` for a checkpoint.

        Population ``(P, D)``, best ``(1, D)`` and, once told, fitness ``(P,)``; the generation in ``meta``.
        """
        tensors = {"ga.population": self.population_.copy(), "ga.best": self.best_.copy()}
        if self.fitness_ is not None:
            tensors["ga.fitness"] = self.fitness_.copy()
        return tensors, {"generation": self.generation_}

    def restore(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Put back the population ``(P, D)``, best ``(1, D)``, fitness ``(P,)`` and generation of :meth:`state`."""
        self.population_ = np.array(tensors["ga.population"])
        self.best_ = np.array(tensors["ga.best"])
        self.fitness_ = np.array(tensors["ga.fitness"]) if "ga.fitness" in tensors else None
        self.generation_ = int(meta["generation"])


def train(config: Config, rng: np.random.Generator, **options: Any) -> Result:
    """Evolve a policy; ``options`` are ``ray`` and those of :class:`annrl.agents.run.Run`
    (see :func:`annrl.agents.neuroevolution.train_population`)."""
    check(TABLE, {k: getattr(config, k) for k in TABLE})
    return train_population(NAME, config, lambda initial, rng: GeneticAlgorithm(initial, config), rng, **options)
