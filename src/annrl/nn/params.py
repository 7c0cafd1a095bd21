"""Parameters as one flat, named set: every network's parameters are a row of one ``(P, D)`` array.

Each named parameter (``"0.weight"`` of shape ``(P, in, out)``, ``"0.bias"`` of shape ``(P, 1, out)``)
is a *view* into that flat array, so an optimizer updates all parameters of all ``P`` networks
in three array operations, a genetic algorithm sees the population as a ``(P, D)`` matrix without
copying, and a checkpoint is the named set plus JSON metadata.

Memory layout. For large populations of small networks (thousands of XOR nets) the flat array is
stored population-innermost, ``(D, P)`` in memory and viewed as ``(P, D)``: elementwise work and
the small sums over inputs then run along contiguous rows of ``P`` numbers. Otherwise it is stored
``(P, D)`` so that large layers hand contiguous matrices to BLAS. The layout never changes a
result's meaning, only its speed; :func:`population_inner` decides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

#: contractions over at most this many inputs run as broadcast sums along the population axis
SMALL_FAN_IN = 16
#: ... when the population has at least this many networks
LARGE_POPULATION = 64


def population_inner(population: int, fan_ins: list[int]) -> bool:
    """Whether a population of networks with these layer fan-ins is stored population-innermost."""
    return population >= LARGE_POPULATION and all(f <= SMALL_FAN_IN for f in fan_ins)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a layer, without the population axis.

    Parameters
    ----------
    shape : tuple of int
        Shape of one network's parameter, e.g. ``(in, out)`` for a dense weight.
    fan_in, fan_out : int
        The sizes initialisers scale by (Glorot, He, PyTorch's default).
    role : {"weight", "bias"}
        Initialisers treat weights and biases differently (e.g. Xavier zeroes biases).
    """

    shape: tuple[int, ...]
    fan_in: int
    fan_out: int
    role: str = "weight"

    @property
    def size(self) -> int:
        return prod(self.shape)


class ParameterLayout:
    """Where each named parameter lives in the flat ``(P, D)`` array.

    Parameters
    ----------
    specs : dict of str to ParamSpec
        Names in order, e.g. ``{"0.weight": ParamSpec((2, 2), 2, 2), "0.bias": ...}``.
    """

    def __init__(self, specs: dict[str, ParamSpec]):
        self.specs = dict(specs)
        self.slices: dict[str, slice] = {}
        offset = 0
        for name, spec in self.specs.items():
            self.slices[name] = slice(offset, offset + spec.size)
            offset += spec.size
        self.size = offset

    def views(self, flat: Any, xp: Any) -> dict[str, Any]:
        """Named views ``(P, *shape)`` into ``flat`` of shape ``(P, D)``; writing one writes ``flat``."""
        population = flat.shape[0]
        return {
            name: xp.reshape(flat[:, self.slices[name]], (population, *spec.shape))
            for name, spec in self.specs.items()
        }

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}: {s.shape}" for n, s in self.specs.items())
        return f"ParameterLayout(D={self.size}; {parts})"


def new_flat(xp: Any, population: int, size: int, *, dtype: Any, device: Any, inner: bool) -> Any:
    """A zeroed ``(P, D)`` array, stored population-innermost when ``inner``."""
    if inner:
        return xp.permute_dims(xp.zeros((size, population), dtype=dtype, device=device), (1, 0))
    return xp.zeros((population, size), dtype=dtype, device=device)
