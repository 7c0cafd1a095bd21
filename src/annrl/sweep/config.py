"""The sweep file: which command, which options to vary, how many seeds; checked on entry.

A sweep file is YAML, read with ``yaml.safe_load`` (no Python objects, no code)::

    command: xor                  # any annrl command with --out (it writes metrics.json)
    grid: {lr: [0.02, 0.1, 0.5], hidden: [2, 3, 4], loss: [mse, bce]}
    seeds: 100                    # folded into --seeds where the command trains a population

Every key is checked here, once: an unknown key, a value of the wrong type or an option the
command does not have ends with one error naming the key and what it allows.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from annrl.errors import InputError

#: keys a sweep file may hold, with what each means (the error for an unknown key lists them)
KEYS = {
    "command": "the annrl command to run, e.g. xor or 'rl train'",
    "grid": "options to vary: {option: [value, ...]}, every combination is run",
    "random": "options to sample: {option: {uniform|log_uniform|int_uniform: [low, high]} or {choice: [...]}}",
    "samples": "settings drawn from 'random' (required with it)",
    "sample_seed": "seed of the random draws (default 0)",
    "options": "fixed options of every run: {option: value}",
    "seeds": "seeds per setting (default 1): --seed 0..N-1, or --seeds N where the command trains a population",
    "fold_seeds": "fold the seeds into the command's --seeds population when it has one (default true)",
    "retries": "extra attempts of a failed run before it is listed as failed (default 1)",
    "metric": "metrics.json key (dotted) that ranks the settings, e.g. success_rate",
    "mode": "max or min: which end of 'metric' is best",
    "figures": "let every run write its figures (default false: --no-figures where the command has it)",
    "chunk": "runs per Ray task or Tune trial (default: about four per CPU)",
    "tune": "run through Ray Tune: {scheduler: none|asha, metric, mode, max_t, grace_period, reduction_factor, "
            "max_concurrent}",
}
#: keys of the ``tune`` section, with what each means
TUNE_KEYS = {
    "scheduler": "none (default: runs grouped into trials) or asha (one run per trial, poor runs stopped early)",
    "metric": "the reported value ASHA compares: eval_return (RL agents) or loss (the engine's Trainer)",
    "mode": "max or min: which end of the metric is better (default max)",
    "max_t": "the last step at which ASHA compares runs (the command's own unit: env steps or epochs)",
    "grace_period": "the first step at which ASHA compares runs",
    "reduction_factor": "ASHA keeps the best 1/reduction_factor at every rung (default 3)",
    "max_concurrent": "trials at a time (default: as many as Ray has CPUs)",
}
DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")
#: options the sweep sets itself for every run
RESERVED = {"out", "json", "resume", "help"}
#: runs one sweep file may ask for; checked before any setting is built
MAX_RUNS = 100_000
#: the figure's metric when the file names none
DEFAULT_METRICS = {"xor": ("success_rate", "max"), "logic": ("success_rate", "max"),
                   "rl train": ("final_eval_return", "max")}
Scalar = (bool, int, float, str)


@dataclass
class TuneSettings:
    """The checked ``tune`` section (see :data:`TUNE_KEYS`)."""

    scheduler: str = "none"
    metric: str | None = None
    mode: str = "max"
    max_t: int | None = None
    grace_period: int = 1
    reduction_factor: int = 3
    max_concurrent: int | None = None


@dataclass
class SweepConfig:
    """A checked sweep file (see the module docstring for the meaning of each field)."""

    command: str
    grid: dict[str, list[Any]] = field(default_factory=dict)
    random: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    samples: int = 0
    sample_seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    seeds: int = 1
    fold_seeds: bool = True
    retries: int = 1
    metric: str | None = None
    mode: str = "max"
    figures: bool = False
    chunk: int | None = None
    tune: TuneSettings | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Run:
    """One invocation of the command: its folder name, the varied values and the argv."""

    id: str
    params: dict[str, Any]
    seed: int | None
    argv: list[str]


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and check a sweep file; every problem is an :class:`~annrl.errors.InputError`."""
    from annrl.userfiles import load_yaml

    return parse_sweep(load_yaml(path, "sweep file"))


def parse_sweep(data: Any) -> SweepConfig:
    """A :class:`SweepConfig` from the parsed YAML mapping, every key checked."""
    if not isinstance(data, dict):
        raise InputError(f"a sweep file must be a mapping of keys ({', '.join(KEYS)}), got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - set(KEYS))
    if unknown:
        raise InputError(f"unknown key {unknown[0]!r} in the sweep file; known keys: {', '.join(KEYS)}",
                         field=unknown[0])
    if "command" not in data:
        raise InputError("the sweep file needs a 'command' (e.g. command: xor)", field="command")
    config = SweepConfig(
        command=_text(data, "command"),
        grid=_grid(data.get("grid", {})),
        random=_random(data.get("random", {})),
        samples=_integer(data, "samples", 0, low=0),
        sample_seed=_integer(data, "sample_seed", 0, low=0),
        options=_options(data.get("options", {})),
        seeds=_integer(data, "seeds", 1, low=1),
        fold_seeds=_flag(data, "fold_seeds", True),
        retries=_integer(data, "retries", 1, low=0),
        metric=_text(data, "metric") if data.get("metric") is not None else None,
        mode=_text(data, "mode") if "mode" in data else "max",
        figures=_flag(data, "figures", False),
        chunk=_integer(data, "chunk", None, low=1),
        tune=_tune(data["tune"]) if "tune" in data else None,
    )
    if config.mode not in ("max", "min"):
        raise InputError(f"mode must be max or min, got {config.mode!r}", field="mode")
    if config.tune is not None and config.tune.scheduler == "asha" and config.chunk not in (None, 1):
        raise InputError("chunk must be 1 or left out with tune.scheduler asha: ASHA stops runs one by one, "
                         "so each run is its own trial", field="chunk")
    if config.random and config.samples < 1:
        raise InputError("samples must be >= 1 when 'random' is given (settings to draw)", field="samples")
    if config.samples and not config.random:
        raise InputError("samples needs a 'random' mapping of options to draw", field="samples")
    runs = math.prod(len(values) for values in config.grid.values()) * max(config.samples, 1) * config.seeds
    if runs > MAX_RUNS:
        raise InputError(f"the sweep asks for {runs:,} runs (grid points x samples x seeds); the limit is "
                         f"{MAX_RUNS:,}", field="samples" if config.samples > MAX_RUNS else "grid")
    clash = sorted((set(config.grid) & set(config.random)) | ((set(config.grid) | set(config.random))
                                                               & set(config.options)))
    if clash:
        raise InputError(f"option {clash[0]!r} is given twice (grid, random and options must not overlap)",
                         field=clash[0])
    return config


# -- the pieces, each naming its key in errors ---------------------------------------------------
def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text(data: dict, key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{key} must be a non-empty string, got {_kind(value)} {value!r}", field=key)
    return " ".join(value.split())


def _integer(data: dict, key: str, default: int | None, *, low: int) -> int | None:
    value = data.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{key} must be an integer >= {low}, got {_kind(value)} {value!r}", field=key)
    return value


def _flag(data: dict, key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false, got {_kind(value)} {value!r}", field=key)
    return value


def _scalar(key: str, value: Any) -> Any:
    if not isinstance(value, Scalar) or (isinstance(value, float) and not math.isfinite(value)):
        raise InputError(f"{key} must be a number, string or true/false, got {_kind(value)} {value!r}", field=key)
    return value


def _mapping(value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{key} must be a mapping of option names, got {_kind(value)} {value!r}", field=key)
    return {str(k): v for k, v in value.items()}


def _grid(value: Any) -> dict[str, list[Any]]:
    grid = {}
    for name, values in _mapping(value, "grid").items():
        if not isinstance(values, list) or not values:
            raise InputError(f"grid.{name} must be a non-empty list of values, got {_kind(values)} {values!r}",
                             field=f"grid.{name}")
        grid[name] = [_scalar(f"grid.{name}[{i}]", v) for i, v in enumerate(values)]
    return grid


def _options(value: Any) -> dict[str, Any]:
    return {name: _scalar(f"options.{name}", v) for name, v in _mapping(value, "options").items()}


def _random(value: Any) -> dict[str, dict[str, list[Any]]]:
    spaces = {}
    for name, spec in _mapping(value, "random").items():
        key = f"random.{name}"
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
            raise InputError(f"{key} must be one of {{{' | '.join(DISTRIBUTIONS)}: [...]}}, got {spec!r}", field=key)
        kind, args = next(iter(spec.items()))
        if not isinstance(args, list) or not args:
            raise InputError(f"{key}.{kind} must be a non-empty list, got {_kind(args)} {args!r}", field=key)
        args = [_scalar(f"{key}.{kind}[{i}]", v) for i, v in enumerate(args)]
        if kind != "choice":
            numbers = len(args) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in args)
            if not numbers or not args[0] < args[1] or (kind == "log_uniform" and args[0] <= 0):
                rule = "0 < low < high" if kind == "log_uniform" else "low < high"
                raise InputError(f"{key}.{kind} must be [low, high] numbers with {rule}, got {args!r}", field=key)
        spaces[name] = {kind: args}
    return spaces


def _tune(value: Any) -> TuneSettings:
    section = {} if value is None else value
    if not isinstance(section, dict):
        raise InputError(f"tune must be a mapping ({', '.join(TUNE_KEYS)}), got {_kind(value)} {value!r}",
                         field="tune")
    section = {str(k): v for k, v in section.items()}
    unknown = sorted(set(section) - set(TUNE_KEYS))
    if unknown:
        raise InputError(f"unknown key tune.{unknown[0]} in the sweep file; known: {', '.join(TUNE_KEYS)}",
                         field=f"tune.{unknown[0]}")
    scoped = {f"tune.{k}": v for k, v in section.items()}
    settings = TuneSettings(
        scheduler=_text(scoped, "tune.scheduler") if "scheduler" in section else "none",
        metric=_text(scoped, "tune.metric") if "metric" in section else None,
        mode=_text(scoped, "tune.mode") if "mode" in section else "max",
        max_t=_integer(scoped, "tune.max_t", None, low=1),
        grace_period=_integer(scoped, "tune.grace_period", 1, low=1),
        reduction_factor=_integer(scoped, "tune.reduction_factor", 3, low=2),
        max_concurrent=_integer(scoped, "tune.max_concurrent", None, low=1),
    )
    if settings.scheduler not in ("none", "asha"):
        raise InputError(f"tune.scheduler must be none or asha, got {settings.scheduler!r}", field="tune.scheduler")
    if settings.mode not in ("max", "min"):
        raise InputError(f"tune.mode must be max or min, got {settings.mode!r}", field="tune.mode")
    if settings.scheduler == "asha":
        for key in ("metric", "max_t"):
            if getattr(settings, key) is None:
                raise InputError(f"tune.scheduler asha needs tune.{key} ({TUNE_KEYS[key]})", field=f"tune.{key}")
        if settings.grace_period >= settings.max_t:
            raise InputError(f"tune.grace_period ({settings.grace_period}) must be below tune.max_t "
                             f"({settings.max_t})", field="tune.grace_period")
    return settings


# -- from a checked file to runs -----------------------------------------------------------------
def settings(config: SweepConfig) -> list[dict[str, Any]]:
    """Every setting of the varied options: the grid's product, times ``samples`` random draws."""
    names = list(config.grid)
    points = [dict(zip(names, values, strict=True)) for values in itertools.product(*config.grid.values())]
    if not config.random:
        return points
    rng = np.random.default_rng(config.sample_seed)
    draws = [{name: _draw(spec, rng) for name, spec in config.random.items()} for _ in range(config.samples)]
    return [{**point, **draw} for point in points for draw in draws]


def _draw(spec: dict[str, list[Any]], rng: np.random.Generator) -> Any:
    kind, args = next(iter(spec.items()))
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    if kind == "int_uniform":
        return int(rng.integers(int(args[0]), int(args[1]) + 1))
    if kind == "log_uniform":
        return float(np.exp(rng.uniform(np.log(args[0]), np.log(args[1]))))
    return float(rng.uniform(args[0], args[1]))
