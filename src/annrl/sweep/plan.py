"""From a checked sweep file to the list of runs: the command's own parser names its options.

The command is looked up in ``annrl``'s argument parser, so a sweep can only set options the
command has, and each option's flag is the command's own (``lr`` -> ``--lr``, ``hidden_size`` ->
``--hidden-size``). Seeds become ``--seeds N`` (one population run) where the command trains a
population of seeds, and ``--seed k`` runs otherwise.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from annrl.errors import InputError
from annrl.sweep.config import RESERVED, Run, SweepConfig, settings


@dataclass(frozen=True)
class CommandInfo:
    """What the sweep needs to know about a command: its words and its option flags."""

    words: tuple[str, ...]
    flags: dict[str, argparse.Action]

    def has(self, flag: str) -> bool:
        return flag in self.flags


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps sub-commands only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_info(command: str) -> CommandInfo:
    """The parser of ``command`` (e.g. ``"xor"``, ``"rl train"``); an error lists the commands."""
    from annrl.cli import build_parser

    words = tuple(command.split())
    if words[0] == "sweep":
        raise InputError("command must not be sweep itself", field="command")
    parser = build_parser()
    for depth, word in enumerate(words):
        choices = _subparsers(parser)
        if word not in choices:
            where = " ".join(words[:depth]) or "annrl"
            raise InputError(f"command {command!r}: {where} has no command {word!r}; choose from "
                             f"{', '.join(sorted(choices))}", field="command")
        parser = choices[word]
    flags = {s: a for a in parser._actions for s in a.option_strings if s.startswith("--")}
    if "--out" not in flags:
        raise InputError(f"command {command!r} has no --out folder, so it writes no metrics.json to collect",
                         field="command")
    return CommandInfo(words, flags)


def flag_of(name: str, info: CommandInfo, key: str) -> str:
    """``--name`` as the command spells it; an error names the sweep key and close matches."""
    flag = "--" + name.replace("_", "-")
    if name in RESERVED:
        raise InputError(f"{key}: the sweep sets --{name} itself", field=key)
    if not info.has(flag):
        import difflib

        near = difflib.get_close_matches(flag, list(info.flags), n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise InputError(f"{key}: {' '.join(info.words)} has no option {flag}{hint}", field=key)
    return flag


def option_args(flag: str, value: Any, info: CommandInfo) -> list[str]:
    """The argv words setting ``flag`` to ``value``: a switch for true/false, else ``flag value``."""
    action = info.flags[flag]
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        on = isinstance(action, argparse._StoreTrueAction)
        return [flag] if bool(value) == on else []
    if isinstance(value, bool):
        value = str(value).lower()
    return [flag, repr(value) if isinstance(value, float) else str(value)]


def plan(config: SweepConfig) -> list[Run]:
    """Every run of the sweep, in a fixed order; the runner adds ``--out`` (its folder)."""
    info = command_info(config.command)
    for section in ("grid", "random", "options"):
        for name in getattr(config, section):
            flag_of(name, info, f"{section}.{name}")
    fold = config.fold_seeds and info.has("--seeds")
    if config.seeds > 1 and not fold and not info.has("--seed"):
        raise InputError(f"seeds: {config.command} has no --seed option, so seeds must be 1", field="seeds")
    for name in ("seed", "seeds"):
        if name in config.grid or name in config.random:
            raise InputError(f"{name} is set by 'seeds' (and fold_seeds), not by grid or random", field=name)
    tail = ["--json"]
    if not config.figures and info.has("--no-figures"):
        tail.append("--no-figures")
    if info.has("--no-progress"):
        tail.append("--no-progress")
    runs = []
    seeds = [None] if fold else list(range(config.seeds))
    for point in settings(config):
        for seed in seeds:
            values = {**config.options, **point}
            argv = list(info.words)
            for name, value in values.items():
                argv += option_args(flag_of(name, info, name), value, info)
            if fold:
                argv += ["--seeds", str(config.seeds)]
            elif info.has("--seed"):
                argv += ["--seed", str(seed)] + (["--seeds", "1"] if info.has("--seeds") else [])
            run_id = f"run-{len(runs):05d}"
            runs.append(Run(run_id, point, seed, [*argv, *tail]))
    return runs
