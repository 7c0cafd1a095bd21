"""Initialisers: how the first weights of every network in a population are drawn.

Each scheme is a small object with ``sample(rng, spec, population) -> ndarray (P, *spec.shape)``
drawing from the ``np.random.Generator`` it is given (randomness is always an argument).
Parameters are drawn in layer order, weight before bias, each as one ``(P, ...)`` block, so a
``(seed, P)`` pair fixes every network.
"""

from __future__ import annotations

import math

import numpy as np

from annrl.errors import InputError
from annrl.nn.params import ParamSpec


class Init:
    """Base class of the initialisers: draws a layer parameter for every network of a population.

    ``name`` is what :func:`get_init` and the CLI accept.
    """

    name = "init"

    def sample(self, rng: np.random.Generator, spec: ParamSpec, population: int) -> np.ndarray:
        """Draw one parameter for ``population`` networks.

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of every random number.
        spec : ParamSpec
            The parameter's shape without the population axis, its fan-in and fan-out, and its kind
            (``"weight"`` or ``"bias"``), which the fan-based rules read.
        population : int
            Number of networks ``P``.

        Returns
        -------
        ndarray of shape (P, *spec.shape)
            The initial values, e.g. ``(P, in, out)`` for a dense weight.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class Normal(Init):
    """Weights and biases from N(mean, std^2): ``Normal()`` is the classic tutorial's N(0, 1)."""

    name = "normal"

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        if not std >= 0:
            raise InputError(f"init std must be >= 0, got {std}")
        self.mean, self.std = float(mean), float(std)

    def sample(self, rng, spec, population):
        return rng.normal(self.mean, self.std, size=(population, *spec.shape))

    def __repr__(self):
        return f"normal({self.mean}, {self.std})"


class Uniform(Init):
    """Weights and biases from U(low, high)."""

    name = "uniform"

    def __init__(self, low: float = -1.0, high: float = 1.0):
        if not high > low:
            raise InputError(f"init high must be > low, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    def sample(self, rng, spec, population):
        return rng.uniform(self.low, self.high, size=(population, *spec.shape))

    def __repr__(self):
        return f"uniform({self.low}, {self.high})"


class Xavier(Init):
    """Glorot & Bengio (2010): weights U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); zero biases."""

    name = "xavier"

    def sample(self, rng, spec, population):
        if spec.role == "bias":
            return np.zeros((population, *spec.shape))
        bound = math.sqrt(6.0 / (spec.fan_in + spec.fan_out))
        return rng.uniform(-bound, bound, size=(population, *spec.shape))


class He(Init):
    """He et al. (2015), for ReLU nets: weights N(0, 2 / fan_in); zero biases."""

    name = "he"

    def sample(self, rng, spec, population):
        if spec.role == "bias":
            return np.zeros((population, *spec.shape))
        return rng.normal(0.0, math.sqrt(2.0 / spec.fan_in), size=(population, *spec.shape))


class TorchDefault(Init):
    """PyTorch's ``nn.Linear`` default: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    (Kaiming-uniform with a = sqrt(5) reduces to this bound for the weights.)
    """

    name = "torch"

    def sample(self, rng, spec, population):
        bound = 1.0 / math.sqrt(spec.fan_in) if spec.fan_in > 0 else 0.0
        return rng.uniform(-bound, bound, size=(population, *spec.shape))


INITS: dict[str, type[Init]] = {cls.name: cls for cls in (Normal, Uniform, Xavier, He, TorchDefault)}


def get_init(spec: str | Init) -> Init:
    """An initialiser from its name (``normal``, ``uniform``, ``xavier``, ``he``, ``torch``) or instance."""
    if isinstance(spec, Init):
        return spec
    if spec not in INITS:
        raise InputError(f"init must be one of {sorted(INITS)}, got {spec!r}")
    return INITS[spec]()
