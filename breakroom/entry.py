"""The ``breakroom`` console script.

``breakroom hook EVENT`` runs inside an agent's turn and has one second: it goes straight
to :mod:`breakroom.fleet.hooks` without loading the rest of the CLI (which takes half of that).
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["hook"] and "--help" not in args and "-h" not in args:
        from breakroom.fleet.hooks import main as hook_main
        sys.exit(hook_main(args[1:]))
    from breakroom.cli import main as cli_main
    cli_main()
