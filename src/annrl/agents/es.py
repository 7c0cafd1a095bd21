"""Evolution strategies in the OpenAI-ES style (Salimans et al., 2017): antithetic noise, fitness
shaping by centred ranks, Adam on the mean.

The search distribution is ``N(mean, sigma^2 I)`` over the ``D`` parameters of a policy network.
Each generation asks ``P/2`` noise vectors ``eps`` and evaluates ``mean + sigma eps`` and
``mean - sigma eps``; the gradient of the expected fitness is estimated by

    g = sum_i (F(mean + sigma eps_i) - F(mean - sigma eps_i)) eps_i / (P sigma)

and Adam climbs it. ``P`` networks are evaluated at once as one population-axis network.

On the car the defaults shape the *training* episodes (evaluation plays the car's own settings):
a car that reaches no new checkpoint for ``stall_time`` = 7 s is ended, and fitness is progress,
the return without the crash penalty. With the plain return, standing still (0) beat every young
network that moved and crashed (-10 plus a few metres), the mean drifted to a car that does not
move, and each such car played all 3,000 steps of its episode.
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
from annrl.errors import InputError
from annrl.nn import Adam
from annrl.validate import NON_NEGATIVE, POSITIVE, check

NAME = "es"


@dataclass
class Config(CarTrainingSettings, EvolutionConfig):
    """OpenAI-ES hyper-parameters (see the module docstring)."""

    sigma: float = setting(0.2, "standard deviation of the parameter noise.")
    lr: float = setting(0.05, "Adam step size on the mean.")
    weight_decay: float = setting(0.005, "L2 penalty on the mean, added to the gradient.")
    fitness_shaping: bool = setting(True, "replace returns by their centred ranks in [-0.5, 0.5].")


TABLE = {**evolution_table(), **car_training_table(), "sigma": POSITIVE,
         "lr": POSITIVE, "weight_decay": NON_NEGATIVE}


def centered_ranks(fitness: np.ndarray) -> np.ndarray:
    """Ranks of ``fitness`` ``(P,)`` mapped linearly onto [-0.5, 0.5]; tied values share their mean rank.

    Ties must share a rank: an antithetic pair that scores the same (two cars that both stand still)
    carries no information, and ranks broken by position would turn it into a push along its noise.

    >>> centered_ranks(np.array([10.0, -3.0, 7.0]))
    array([ 0.5, -0.5,  0. ])
    >>> centered_ranks(np.array([0.0, 0.0, 5.0]))
    array([-0.25, -0.25,  0.5 ])
    """
    fitness = np.asarray(fitness, dtype=np.float64)
    ranks = np.empty(len(fitness))
    ranks[np.argsort(fitness, kind="stable")] = np.arange(len(fitness))
    _, tie_group = np.unique(fitness, return_inverse=True)
    ranks = (np.bincount(tie_group, weights=ranks) / np.bincount(tie_group))[tie_group]
    return ranks / max(len(fitness) - 1, 1) - 0.5


def es_gradient(noise: np.ndarray, fitness_plus: np.ndarray, fitness_minus: np.ndarray, sigma: float) -> np.ndarray:
    """Antithetic estimate of the gradient of ``E[F(mean + sigma eps)]`` with respect to the mean.

    Parameters
    ----------
    noise : array, shape (H, D)
        The ``H = P/2`` noise vectors.
    fitness_plus, fitness_minus : array, shape (H,)
        Fitness of ``mean + sigma noise`` and ``mean - sigma noise``.
    sigma : float

    Returns
    -------
    array, shape (D,)
    """
    return (fitness_plus - fitness_minus) @ noise / (2.0 * len(noise) * sigma)


class OpenES:
    """Ask/tell OpenAI-ES over a ``(P, D)`` population; built like :class:`~annrl.agents.ga.GeneticAlgorithm`.

    Parameters
    ----------
    initial : array, shape (D,) or (1, D)
        The first mean (a freshly initialised network).
    config : Config
        Uses ``population`` (``P``, even), ``sigma``, ``lr``, ``weight_decay`` and ``fitness_shaping``
        (any object with those attributes, e.g. the Hebbian agent's config).
    """

    def __init__(self, initial: np.ndarray, config: Any):
        if config.population % 2:
            raise InputError.invalid("population", "even for antithetic sampling", config.population)
        self.population, self.sigma, self.fitness_shaping = config.population, config.sigma, config.fitness_shaping
        self.mean_ = np.array(initial, dtype=np.float64).reshape(1, -1)
        self.optimizer = Adam(lr=config.lr, weight_decay=config.weight_decay)
        self.optimizer.reset(self.mean_)
        self.noise_: np.ndarray | None = None

    def ask(self, rng: np.random.Generator) -> np.ndarray:
        """``(P, D)``: the mean plus, then minus, ``sigma`` times ``P/2`` fresh noise vectors."""
        self.noise_ = rng.standard_normal((self.population // 2, self.mean_.shape[1]))
        return np.concatenate([self.mean_ + self.sigma * self.noise_, self.mean_ - self.sigma * self.noise_])

    def tell(self, fitness: np.ndarray) -> None:
        """One Adam step of the mean up the estimated gradient of ``fitness`` ``(P,)``."""
        shaped = centered_ranks(fitness) if self.fitness_shaping else np.asarray(fitness, dtype=np.float64)
        half = self.population // 2
        gradient = es_gradient(self.noise_, shaped[:half], shaped[half:], self.sigma)
        self.optimizer.step(self.mean_, -gradient[None, :])  # Adam descends; we climb

    def solution(self) -> np.ndarray:
        """``(1, D)``: the mean."""
        return self.mean_.copy()

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(tensors, meta)`` for a checkpoint: the mean ``es.mean`` ``(1, D)`` and Adam's moments; no meta."""
        tensors = {"es.mean": self.mean_.copy()}
        tensors.update(self.optimizer.state_arrays("es.adam."))
        return tensors, {}

    def restore(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Put back the mean ``(1, D)`` and Adam's moments saved by :meth:`state`."""
        self.mean_[...] = tensors["es.mean"]
        self.optimizer.load_state_arrays(tensors, "es.adam.")


def train(config: Config, rng: np.random.Generator, **options: Any) -> Result:
    """Train a policy with OpenAI-ES; ``options`` are ``ray`` and those of :class:`annrl.agents.run.Run`
    (see :func:`annrl.agents.neuroevolution.train_population`)."""
    check(TABLE, {k: getattr(config, k) for k in TABLE})

    def factory(initial: np.ndarray, rng: np.random.Generator) -> OpenES:
        return OpenES(initial[0], config)

    return train_population(NAME, config, factory, rng, **options)
