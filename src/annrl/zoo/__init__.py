"""The zoo: the classic architectures on one engine, each drawn in the Neural Network Zoo's notation,
each with a demo that shows in under a minute what it is for.

Every architecture is one module (listed in :data:`annrl.zoo.registry.REGISTRY`) with ``NAME``,
``SUMMARY``, ``build(seed)`` (the model the diagram is drawn from) and ``demo(out, seed, quick)``
(trains, writes figures, returns metrics); see :mod:`annrl.zoo.registry` for the exact contract.

>>> from annrl.zoo import load
>>> load("perceptron").SUMMARY[:28]
"Rosenblatt's perceptron: a l"
"""

from annrl.zoo.diagram import ZooLayer, draw_diagram, zoo_layers
from annrl.zoo.registry import REGISTRY, load, modules, names

__all__ = ["REGISTRY", "ZooLayer", "draw_diagram", "load", "modules", "names", "zoo_layers"]
