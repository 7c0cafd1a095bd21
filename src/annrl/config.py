"""Configs declare each option once: its default, its help sentence and how its flag reads it.

A config is a dataclass whose fields are declared with :func:`setting`; :func:`add_flags` turns
those fields into ``--flags`` (name, default, help, and the argparse ``type``, ``choices`` or
``metavar`` the field asks for), and :func:`from_args` builds the config back from the parsed
arguments. Ranges and choices are checked by the config's one constraint table
(:mod:`annrl.validate`), once, on entry: :func:`check_config` names the field (``lr must be > 0``),
:func:`annrl.validate.check_cli` the flag (``--lr must be > 0``)::

    @dataclass
    class Config:
        lr: float = setting(0.02, "learning rate")
        loss: str = setting("mse", "mse, or bce on a logit output", choices=["mse", "bce"])

    add_flags(parser, Config)          # --lr LR, --loss {mse,bce}
    config = from_args(Config, args)
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, Field, asdict, field, fields
from typing import Any

from annrl.validate import check

#: what a setting may pass on to ``parser.add_argument`` besides its default and help
FLAG_KEYS = ("type", "choices", "metavar", "action", "nargs", "flags")


def setting(default: Any, help: str, **flag: Any) -> Any:  # noqa: A002 - reads like argparse
    """A config field with the help sentence its CLI flag shows.

    Parameters
    ----------
    default : Any
        The field's default (a list or dict is copied for every config).
    help : str
        The flag's help sentence.
    **flag
        Passed on to ``add_argument`` (:data:`FLAG_KEYS`: ``type``, ``choices``, ``metavar``...;
        ``flags`` replaces the ``--name`` spelling, e.g. ``flags=("-k", "--frequency")``, or
        ``("name",)`` for a positional argument).
    """
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default, metadata={"help": help, **flag})
    return field(default=default, metadata={"help": help, **flag})


def declared(config: type) -> list[Field]:
    """The fields of dataclass ``config`` declared with :func:`setting`, in order."""
    return [f for f in fields(config) if "help" in f.metadata]


def add_flags(parser: argparse.ArgumentParser, config: type, names: list[str] | None = None,
              defaults: Any = None, *, unset: bool = False, show: bool = True,
              spellings: dict[str, tuple[str, ...]] | None = None) -> None:
    """Add one ``--flag`` per declared field of ``config`` (or of ``names``, in that order).

    A flag's default is the field's (or that of the ``defaults`` instance), its type the
    default's type unless the setting names one; a ``False`` boolean becomes a switch.

    Parameters
    ----------
    unset : bool, default=False
        Every flag defaults to None, so that the command can tell a flag left out (and keep the
        config's own default) from one given; the help says that default,
        ``(default X)``, and a boolean takes an optional value (``--flag``, ``--flag false``).
        For a command whose config is chosen after parsing (``annrl rl train ALGO``).
    show : bool, default=True
        False: the flags are accepted but ``--help`` does not list them.
    spellings : dict, optional
        The command's own spelling of some fields' flags, e.g. ``{"total_steps": ("--steps",
        "--total-steps")}``, where a setting does not name them (``flags=``).
    """
    by_name = {f.name: f for f in declared(config)}
    for name in names if names is not None else by_name:
        f = by_name[name]
        kwargs = {k: v for k, v in f.metadata.items() if k in FLAG_KEYS}
        flags = kwargs.pop("flags", (spellings or {}).get(name, (f"--{name.replace('_', '-')}",)))
        default = getattr(defaults, name) if defaults is not None else _default(f)
        help_text = f.metadata["help"]
        if "nargs" in kwargs and isinstance(default, tuple):
            default = list(default)  # what argparse gives when the flag is used
        if isinstance(default, bool) and unset and "action" not in kwargs:
            kwargs.update(nargs="?", const=True, type=parse_bool, metavar="BOOL")
        elif default is False and "action" not in kwargs:
            kwargs["action"] = "store_true"
        elif "type" not in kwargs and "choices" not in kwargs and isinstance(default, (int, float)):
            kwargs["type"] = type(default)
        if unset:
            help_text, default = f"{help_text} (default {default})".replace("%", "%%"), None
        if flags[0].startswith("-"):
            kwargs["dest"] = name
        parser.add_argument(*flags, default=default, help=help_text if show else argparse.SUPPRESS, **kwargs)


def from_args(config: type, args: argparse.Namespace, **values: Any) -> Any:
    """``config`` built from the parsed flags of its declared fields (``values`` take precedence)."""
    given = {f.name: getattr(args, f.name) for f in declared(config) if hasattr(args, f.name)}
    return config(**{**given, **values})


def parse_bool(text: str) -> bool:
    """An option's true/false text (1/0, true/false, yes/no, on/off, any case) as a bool; argparse's ``type``."""
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"must be true or false, got {text!r}")


def check_config(table: dict[str, list[Any]], config: Any) -> None:
    """Check dataclass ``config`` against its constraint table; an error names the field and the value.

    Fields the table has no rule for are free (a dataclass field cannot be a typo).
    """
    check(table, asdict(config), allow_unknown=True)


def _default(f: Field) -> Any:
    return f.default_factory() if f.default is MISSING else f.default
