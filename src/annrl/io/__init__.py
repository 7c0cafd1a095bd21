"""Checkpoints, run folders and graceful interruption: nothing a run computes is lost.

- :func:`save_checkpoint` / :func:`load_checkpoint`: named arrays + JSON metadata in the
  safetensors layout, written atomically, checked completely on reading, never pickled.
- :func:`rng_state` / :func:`rng_from_state`: a Generator's exact state, as JSON.
- :class:`RunDir`: the ``--out`` folder: numbered checkpoints, fallback on resume, metrics.
- :class:`CheckpointSchedule`: when to save (steps or seconds).
- :func:`graceful_stop`: SIGINT/SIGTERM become a flag the training loop checks.
- :class:`~annrl.io.resume.Checkpointer`: ``--out`` / ``--checkpoint-every`` / ``--resume`` of one
  run, for labs and agents alike: restores, then saves when its training loop says a step is done.

Intermediate reports (what a run has reached, for a Tune scheduler) live in :mod:`annrl.progress`.
"""

from annrl.errors import CheckpointError
from annrl.io.atomic import atomic_write
from annrl.io.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    checkpoint_bytes,
    decode_checkpoint,
    load_checkpoint,
    read_checkpoint,
    rng_from_state,
    rng_state,
    save_checkpoint,
)
from annrl.io.rundir import CheckpointSchedule, RunDir, metrics_equal
from annrl.io.signals import StopRequest, graceful_stop

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "CheckpointSchedule",
    "RunDir",
    "StopRequest",
    "atomic_write",
    "checkpoint_bytes",
    "decode_checkpoint",
    "graceful_stop",
    "load_checkpoint",
    "metrics_equal",
    "read_checkpoint",
    "rng_from_state",
    "rng_state",
    "save_checkpoint",
]
