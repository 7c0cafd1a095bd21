"""``annrl completion bash|zsh``: a shell completion script for every command and option, through shtab."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion", help="print a shell completion script (bash or zsh; needs shtab)",
        description="Print a completion script for SHELL on stdout, e.g. `annrl completion bash > "
        "~/.local/share/bash-completion/completions/annrl` or, for zsh, into a folder of your $fpath as _annrl.")
    parser.add_argument("shell", choices=["bash", "zsh"], help="the shell to complete in")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import shtab

    from annrl.cli import full_parser

    print(shtab.complete(full_parser(), shell=args.shell))
    return 0
