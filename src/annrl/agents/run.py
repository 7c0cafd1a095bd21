"""One agent run's plumbing, written once, so that each agent's file reads as its algorithm.

Every agent module has ``Config`` and ``train(config, rng, **options) -> Result``; ``options`` are
those of :class:`Run` (``out``, ``resume``, ``checkpoint_every``, ``stop``, ``progress``,
``on_eval``), the same for every agent. A ``train`` reads, top to bottom::

    run = Run(NAME, config, rng, total=config.total_steps, threshold=shape.threshold, **options)
    restored = run.restore()            # None, or (step, tensors, state): put the agent's part back
    rng = run.rng                       # the training generator (restored on resume)
    with run.closing(envs):             # timer and progress bar; closes envs at the end
        while ...:
            ...                         # the algorithm
            run.evaluated(step, mean, length)  # learning curve, on_eval, progress bar, Tune report
            run.after(step, snapshot)   # checkpoint when due; on SIGINT/SIGTERM save and stop
    final = ...                         # the final evaluation
    run.after(step, snapshot, final=True)
    metrics = run.metrics(env_steps, final)
    metrics["timing"] = run.timing(env_steps=env_steps)

``snapshot()`` returns the agent's own ``(tensors, state)``; the run adds the generator and the
learning curve to ``state``, and the checkpoint is written by :class:`annrl.io.resume.Checkpointer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annrl.agents.envs import EnvShape, to_actions
from annrl.agents.evaluation import Curve, Episodes, final_metrics
from annrl.agents.settings import BaseConfig
from annrl.htmlrepr import MetricsHTML
from annrl.io.checkpoint import rng_from_state, rng_state
from annrl.io.resume import Checkpointer
from annrl.progress import ProgressBar

Snapshot = Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]]


@dataclass
class Result(MetricsHTML):
    """What ``train`` returns: the policy network (population 1), its metrics and extras."""

    policy: Any
    metrics: dict[str, Any]
    shape: EnvShape
    action_mode: str
    extra: dict[str, Any] | None = None

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions of the policy for observations ``(N, obs_dim)``: ``(N,)`` indices or ``(N, n_outputs)`` controls."""
        return to_actions(self.policy.predict(np.asarray(obs, dtype=np.float64))[0], self.shape, self.action_mode)


class Run:
    """Checkpoints, learning curve, progress bar and timing of one agent's training.

    Parameters
    ----------
    algo : str
        The agent's name (in checkpoints, metrics and the progress bar).
    config : BaseConfig
    rng : numpy.random.Generator
        The training generator; :attr:`rng` is the one to use (the restored one on resume).
    total : int
        Environment steps of the progress bar.
    threshold : float or None
        Mean evaluation return that counts as solved.
    out : str or Path, optional
        Run folder of the checkpoints; None saves nothing.
    resume : bool, default=False
    checkpoint_every : str, optional
        As ``--checkpoint-every`` (default every 300 s).
    stop : StopRequest, optional
        From :func:`annrl.io.graceful_stop`.
    progress : bool, default=False
        Show a progress bar.
    on_eval : callable, optional
        ``on_eval(env_steps, mean_return)`` hears every evaluation of the learning curve as it is made.
    """

    def __init__(self, algo: str, config: BaseConfig, rng: np.random.Generator, *, total: int,
                 threshold: float | None, out: str | Path | None = None, resume: bool = False,
                 checkpoint_every: Any = None, stop: Any = None, progress: bool = False,
                 on_eval: Callable[[int, float], None] | None = None):
        self.algo, self.config, self.rng, self.on_eval = algo, config, rng, on_eval
        self.curve = Curve(threshold)
        self.checkpointer = Checkpointer(out, asdict(config), every=checkpoint_every, resume=resume, stop=stop,
                                         identity={"algo": algo})
        self.total, self.bar = total, ProgressBar(total, f"{algo} {config.env}", progress)
        self.wall = 0.0
        self._closing: tuple[Any, ...] = ()

    def restore(self) -> tuple[int, dict[str, np.ndarray], dict[str, Any]] | None:
        """``(step, tensors, state)`` of the checkpoint resumed from, or None; the generator and the
        learning curve are put back here, the agent puts back its own part."""
        restored = self.checkpointer.restore()
        if restored is not None:
            state = restored[2]
            self.rng = rng_from_state(state["rng"])
            self.curve.restore(state["curve"])
        return restored

    def closing(self, *things: Any) -> Run:
        """Use as ``with run.closing(envs):``: times the block, then closes the progress bar and ``things``."""
        self._closing = things
        return self

    def __enter__(self) -> Run:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.checkpointer.close(quiet=True)  # the run folder's lock is released; a signal now ends the command
        self.bar.close()
        for thing in self._closing:
            thing.close()
        self.wall = time.perf_counter() - self._start

    def evaluated(self, step: int, mean_return: float, episode_length: float | None = None) -> bool:
        """Record an evaluation of the learning curve (its mean return and, when known, mean episode
        length); True when it is the first to reach the threshold."""
        first = self.curve.add_eval(step, mean_return, episode_length)
        if self.on_eval is not None:
            self.on_eval(step, mean_return)
        self.bar.update(min(step, self.total), mean_return)
        return first

    @property
    def solved(self) -> bool:
        """Whether ``stop_at_threshold`` ends the run now."""
        return self.config.stop_at_threshold and self.curve.solved

    def after(self, step: int, snapshot: Snapshot, *, final: bool = False) -> None:
        """The loop has done ``step``: checkpoint when due (or ``final``), stop on a stop request."""
        self.checkpointer.after(step, lambda: self._state(snapshot), final=final)

    def _state(self, snapshot: Snapshot) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        tensors, state = snapshot()
        return tensors, {**state, "rng": rng_state(self.rng), "curve": self.curve.state()}

    def metrics(self, env_steps: int, final: Episodes) -> dict[str, Any]:
        """``metrics.json`` of the run (the agent adds its own entries, then :meth:`timing`)."""
        return final_metrics(self.algo, self.config, self.curve, env_steps, final)

    def timing(self, **counts: float) -> dict[str, float]:
        """``{"wall_s": ..., "<count>_per_s": ...}`` of the timed block."""
        return {"wall_s": self.wall, **{f"{name}_per_s": n / max(self.wall, 1e-9) for name, n in counts.items()}}
