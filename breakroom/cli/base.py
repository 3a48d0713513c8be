"""The ``breakroom`` command group and what every subcommand shares.

Each area of the CLI is its own module in this package; it imports ``cli`` (and
``State``) from here and adds its commands.  Modules are imported only when one of their
commands runs: agents call ``breakroom say`` all day, and loading every subsystem (tmux,
IRC, SQLite, numpy) for each call would double its latency.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from breakroom import __version__

if TYPE_CHECKING:
    import sqlite_utils

    from breakroom.config import Config

# command -> the module of this package that defines it (tests/test_cli.py keeps it true)
COMMAND_MODULES = {
    "up": "server_cmds", "ircd": "server_cmds", "info": "config_cmds",
    "config": "config_cmds", "demo": "demo_cmds",
    "log": "record_cmds", "search": "record_cmds", "replay": "record_cmds",
    "say": "session_cmds", "ask": "session_cmds", "inbox": "session_cmds",
    "read": "session_cmds", "sent": "session_cmds", "fleet": "session_cmds",
    "hook": "agent_tools", "hooks": "agent_tools", "sim-agent": "agent_tools", "mcp": "agent_tools",
    "doctor": "agent_tools",
    "corpus": "knowledge_cmds", "knowledge": "knowledge_cmds",
    "issue": "work_cmds", "skills": "work_cmds", "digest": "work_cmds", "audit": "work_cmds",
    "cost": "work_cmds",
    "sweep": "sweep_cmds", "report": "report_cmds", "screens": "screens_cmds",
}


class LazyGroup(click.Group):
    """A group that imports a command's module the first time the command is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            importlib.import_module(f"{__package__}.{COMMAND_MODULES[name]}")
        return super().get_command(ctx, name)


class State:
    """Lazily loaded config and database for one CLI invocation."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        from breakroom.config import load  # validating the config is work: only when needed
        return load(self.config_path)

    @cached_property
    def db(self) -> sqlite_utils.Database:
        from breakroom.record.db import db_path, open_db
        return open_db(db_path(self.config.data_path))


pass_state = click.make_pass_decorator(State)


def log_level_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--log-level`` for the long-running commands (see breakroom.logs)."""
    return click.option("--log-level", default=default, show_default=True,
                        type=click.Choice(["debug", "info", "warning", "error"]),
                        help="Least severe log records shown; the log file in the data dir keeps "
                             "info and up either way.")


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", metavar="FILE", envvar="BREAKROOM_CONFIG",
              help="breakroom.yaml to use (default: $BREAKROOM_CONFIG, then ./breakroom.yaml).")
@click.version_option(version=__version__, prog_name="breakroom")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Breakroom: an IRC breakroom for a fleet of AI agent sessions in tmux."""
    ctx.obj = State(config_path)
