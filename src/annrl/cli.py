"""The ``annrl`` command line: one sub-command per lab, agent and tool.

Bad input ends with one line, ``annrl: error: <what is wrong>``, and exit code 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from annrl import __version__
from annrl.clikit import DefaultsHelpFormatter, Parser
from annrl.errors import run_cli

#: command -> (the module whose ``register(subparsers)`` adds it, its one-line help). ``annrl``,
#: ``annrl --help`` and ``annrl --version`` answer from this table alone; only the module of the
#: command being run is imported (a lab's imports, SciPy, SymPy and matplotlib take seconds)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("annrl.demo", "a guided tour of every lab, as an HTML report"),
    "xor": ("annrl.labs.xor.cli", "train many XOR networks at once and explain the seeds that fail"),
    "logic": ("annrl.labs.logic.cli",
              "compile a Boolean function into a threshold network, learn it, explain its neurons"),
    "approx": ("annrl.labs.approx.cli",
               "approximate a function with a network, to a tolerance, and study what makes it hard"),
    "dynamics": ("annrl.labs.dynamics.cli", "learn a system's vector field from one (noisy) trajectory"),
    "memory": ("annrl.labs.memory.cli",
               "store letters in a Hopfield network and recall them; train a recurrent net to hold a bit"),
    "adapt": ("annrl.labs.adapt.cli",
              "networks that keep adapting: Adaline/LMS filters, drifting streams, growing networks"),
    "extract": ("annrl.symbolic.cli",
                "read a saved network back as symbols: a Boolean formula, a closed form, its exact formula"),
    "car": ("annrl.envs.cli", "the car-on-track environment: drive, list and draw tracks"),
    "rl": ("annrl.agents.cli", "reinforcement learning: DQN, PPO, a genetic algorithm, evolution strategies"),
    "sweep": ("annrl.sweep.cli", "grid or random search over any command's options and seeds (in-process or on Ray)"),
    "zoo": ("annrl.zoo.cli", "the classic architectures: list them, run one demo, or all of them"),
    "playground": ("annrl.playground.cli", "a TensorFlow-Playground-like page on annrl's engine, served locally"),
    "report": ("annrl.report_cli", "gather every run under a folder into one HTML page (figures and metrics)"),
    "completion": ("annrl.completion", "print a shell completion script (bash or zsh; needs shtab)"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The top-level parser; the command ``argv`` names (if any) is the only one whose module is imported.

    Without a command in ``argv``, every command is a placeholder built from :data:`COMMANDS`, enough
    for ``--help`` and for argparse to say "invalid choice" about a misspelt one. ``argv=None`` gives
    the parser of every command (importing every lab: ``annrl sweep`` checks options against it).
    """
    if argv is None:
        return full_parser()
    parser, subparsers = _top_parser()
    named = next((a for a in argv or [] if not a.startswith("-")), None)
    if named in COMMANDS:
        from importlib import import_module

        from annrl.extras import exit_if_missing

        try:
            import_module(COMMANDS[named][0]).register(subparsers)
        except ModuleNotFoundError as err:
            exit_if_missing(err)
        _show_defaults(subparsers.choices[named])
    else:
        for name, (_, help_text) in COMMANDS.items():
            subparsers.add_parser(name, help=help_text)
    return parser


def _top_parser() -> tuple[argparse.ArgumentParser, Any]:
    parser = Parser(prog="annrl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"annrl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND")


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every sub-parser below it the formatter that shows each option's default, and
    every command that runs a ``--quiet`` option."""
    parser.formatter_class = DefaultsHelpFormatter.wrapping(parser.formatter_class)
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in subs:
        for sub in dict.fromkeys(action.choices.values()):
            _show_defaults(sub)
    runs = not subs or parser._defaults.get("handler") is not None
    if runs and "--quiet" not in parser._option_string_actions:
        parser.add_argument("--quiet", action="store_true", help="no progress bars or progress lines")


def full_parser() -> argparse.ArgumentParser:
    """The parser of every command at once (imports every lab: for sweeps and shell completion)."""
    parser, subparsers = _top_parser()
    from importlib import import_module

    for module in dict.fromkeys(module for module, _ in COMMANDS.values()):
        try:
            import_module(module).register(subparsers)
        except ModuleNotFoundError:  # a command whose optional extra is missing is left out
            continue
    for sub in subparsers.choices.values():
        _show_defaults(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    from annrl.backend import keep_freed_memory
    from annrl.progress import quietly

    # the command line, and only it, chooses matplotlib's backend (a notebook keeps its own): files, no screen
    os.environ.setdefault("MPLBACKEND", "Agg")
    # once per process, here and not in a library call: the engine's temporaries are reused
    # instead of page-faulted afresh (see keep_freed_memory)
    keep_freed_memory()
    try:
        with quietly(getattr(args, "quiet", False)):
            return run_cli(lambda a: _run(args.handler, a), args, debug=args.debug)
    except BrokenPipeError:
        # the reader of our output went away (`annrl ... --json | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _run(handler, args: argparse.Namespace) -> int | None:
    from annrl.clikit import logging_from_args
    from annrl.extras import explain_missing

    with explain_missing(), logging_from_args(args):  # a missing optional dependency is one line, not a bug
        return handler(args)


if __name__ == "__main__":
    sys.exit(main())
