"""Sweeps: a grid or random search over any annrl command's options and seeds.

In this process by default, where seeds fold into the command's population axis (``--seeds N``),
or on Ray (``ray="local"`` or a cluster address), in chunks of runs per task. Ray is imported
only when asked for.

>>> from annrl.sweep import parse_sweep
>>> parse_sweep({"command": "xor", "grid": {"lr": [0.1, 0.5]}, "seeds": 10}).grid
{'lr': [0.1, 0.5]}
"""

from annrl.sweep.config import Run, SweepConfig, load_sweep, parse_sweep
from annrl.sweep.plan import plan
from annrl.sweep.sweep import SweepResult, run_sweep

__all__ = ["Run", "SweepConfig", "SweepResult", "load_sweep", "parse_sweep", "plan", "run_sweep"]
