"""The ``breakroom`` command group and what every subcommand shares.

Each area of the CLI is its own module in this package; it imports ``cli`` (and
``State``) from here and adds its commands.  ``breakroom.cli`` imports every module.
"""

from __future__ import annotations

from functools import cached_property

import click
import sqlite_utils

from .. import config as config_mod
from ..store import db_path, open_db


class State:
    """Lazily loaded config and database for one CLI invocation."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def config(self) -> config_mod.Config:
        return config_mod.load(self.config_path)

    @cached_property
    def db(self) -> sqlite_utils.Database:
        return open_db(db_path(self.config.data_path))


pass_state = click.make_pass_decorator(State)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", metavar="FILE", envvar="BREAKROOM_CONFIG",
              help="breakroom.yaml to use (default: $BREAKROOM_CONFIG, then ./breakroom.yaml).")
@click.version_option(package_name="breakroom")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Breakroom: an IRC breakroom for a fleet of AI agent sessions in tmux."""
    ctx.obj = State(config_path)
