"""The ``annrl`` command line: one sub-command per lab, agent and tool.

Bad input ends with one line, ``annrl: error: <what is wrong>``, and exit code 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from annrl import __version__
from annrl.backend import keep_freed_memory
from annrl.clikit import Parser
from annrl.errors import run_cli

#: command -> the module whose ``register(subparsers)`` adds it; only the module of the command
#: being run is imported (a lab's imports take a second or two), all of them for ``annrl --help``
COMMANDS = {
    "demo": "annrl.demo",
    "xor": "annrl.labs.xor.cli",
    "logic": "annrl.labs.logic.cli",
    "approx": "annrl.labs.approx.cli",
    "dynamics": "annrl.labs.dynamics.cli",
    "memory": "annrl.labs.memory.cli",
    "adapt": "annrl.labs.adapt.cli",
    "extract": "annrl.symbolic.cli",
    "car": "annrl.envs.cli",
    "rl": "annrl.agents.cli",
    "sweep": "annrl.sweep.cli",
    "zoo": "annrl.zoo.cli",
    "playground": "annrl.playground.cli",
    "report": "annrl.report_cli",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or, when ``argv`` names one, of that command alone."""
    parser = Parser(prog="annrl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"annrl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from importlib import import_module

    named = next((a for a in argv or [] if not a.startswith("-")), None)
    for module in [COMMANDS[named]] if named in COMMANDS else dict.fromkeys(COMMANDS.values()):
        import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    # once per process, here and not in a library call: the engine's temporaries are reused
    # instead of page-faulted afresh (see keep_freed_memory)
    keep_freed_memory()
    try:
        return run_cli(args.handler, args, debug=args.debug)
    except BrokenPipeError:
        # the reader of our output went away (`annrl ... --json | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
