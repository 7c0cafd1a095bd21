"""Shared by the agent tests: a stop request that trips after a number of checks; the rl and car CLI."""

import argparse

from annrl.agents.cli import register
from annrl.envs.cli import register as register_car


def run(argv: list[str]) -> int:
    """``annrl rl ...`` or ``annrl car ...`` in this process: the handler's exit status."""
    parser = argparse.ArgumentParser(prog="annrl")
    subparsers = parser.add_subparsers(dest="command")
    register(subparsers)
    register_car(subparsers)
    args = parser.parse_args(argv)
    return args.handler(args)


class StopAfter:
    """Looks like :class:`annrl.io.StopRequest`; ``requested`` turns True on its ``n``-th read."""

    def __init__(self, n: int):
        self.n, self.reads = n, 0

    @property
    def requested(self) -> bool:
        self.reads += 1
        return self.reads >= self.n

    exit_code = 143

    def message(self, path=None) -> str:
        return f"stopped; saved {path}"
