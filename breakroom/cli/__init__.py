"""Entry point of the ``breakroom`` console script.

Errors a user can act on are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import click

from breakroom.cli.base import cli
from breakroom.errors import BreakroomError


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="breakroom", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("breakroom: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BreakroomError as exc:
        click.echo(f"breakroom: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
