"""``breakroom info`` and ``breakroom config show``: how to join the breakroom, and the
effective configuration (secrets redacted).  Neither starts anything."""

from __future__ import annotations

import click
import yaml

from breakroom import config as config_mod
from breakroom.cli.base import State, cli, pass_state
from breakroom.config import Config
from breakroom.control.client import request
from breakroom.errors import BreakroomError
from breakroom.irc.connect import connection_lines, page_line
from breakroom.secrets import fill_secrets


@cli.group("config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command("show")
@pass_state
def config_show(state: State) -> None:
    """Print the effective config (defaults filled in, secrets redacted)."""
    cfg = state.config
    click.echo(f"# source: {cfg.source or 'built-in defaults (no breakroom.yaml found)'}")
    click.echo(yaml.safe_dump(config_mod.to_dict(cfg), sort_keys=False, allow_unicode=True), nl=False)


@cli.command()
@pass_state
def info(state: State) -> None:
    """How to connect: host, port, password, channel, key and an irssi command line."""
    cfg = fill_secrets(state.config)
    for line in connection_lines(cfg):
        click.echo(line)
    click.echo(page_line(_served_page(cfg)))


def _served_page(cfg: Config) -> str | None:
    """The running breakroom's page address (its control socket knows), or None."""
    try:
        url = request(cfg.data_path, {"op": "web"}, timeout=2.0).get("url")
    except BreakroomError:
        return None
    return str(url) if url else None
