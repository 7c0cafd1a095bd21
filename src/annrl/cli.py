"""The ``annrl`` command line: one sub-command per lab, agent and tool.

Bad input ends with one line, ``annrl: error: <what is wrong>``, and exit code 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from annrl import __version__
from annrl.errors import run_cli

#: modules with a ``register(subparsers)`` function, one per command (imported on start-up)
COMMANDS = [
    "annrl.demo",
    "annrl.labs.xor_cli",
    "annrl.labs.logic_cli",
    "annrl.labs.approx_cli",
    "annrl.labs.dynamics_cli",
    "annrl.labs.memory_cli",
    "annrl.labs.adapt_cli",
    "annrl.symbolic.cli",
    "annrl.envs.cli",
    "annrl.agents.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="annrl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"annrl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from importlib import import_module

    for module in COMMANDS:
        import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return run_cli(args.handler, args, debug=args.debug)
    except BrokenPipeError:
        # the reader of our output went away (`annrl ... --json | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
