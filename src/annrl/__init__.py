"""annrl: a laboratory for artificial neural networks.

A transparent NumPy engine with a population axis (``annrl.nn``), labs that use it, networks
turned back into symbols, and reinforcement learning done with neural networks only.
"""

__version__ = "0.2.0"
