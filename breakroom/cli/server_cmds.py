"""``breakroom up`` and ``breakroom ircd``: run it."""

from __future__ import annotations

import click

from breakroom.app import runner
from breakroom.app.roles import ROLES
from breakroom.app.runtime import SERVICE_BOTS, Breakroom
from breakroom.cli.base import State, cli, log_level_option, pass_state
from breakroom.irc.connect import connection_lines, page_line
from breakroom.irc.ircd import Ircd


@cli.command()
@click.option("--only", "services", multiple=True, type=click.Choice(list(SERVICE_BOTS)),
              help="Start only these service bots (repeatable; default: all).")
@click.option("--role", type=click.Choice(ROLES), default="all", show_default=True,
              help="all: everything on this machine; hub: ircd + service bots + record; "
                   "host: this machine's session bots, connected to the hub's ircd.")
@log_level_option("info")
@pass_state
def up(state: State, services: tuple[str, ...], role: str, log_level: str) -> None:
    """Run the breakroom in the foreground: ircd, bots, control socket. Ctrl-C stops it."""
    cfg = state.config

    def ready(app: Breakroom) -> None:
        as_role = "" if role == "all" else f" as {role}"
        click.echo(f"breakroom is up{as_role} — {len(app.bots)} bots; data in {cfg.data_path}")
        for line in connection_lines(cfg):
            click.echo(f"  {line}")
        if app.page.url:
            click.echo(f"  {page_line(app.page.url)}")
        click.echo("Ctrl-C to stop.")

    runner.run(cfg, services=services or tuple(SERVICE_BOTS), ready=ready, role=role,
               log_level=log_level)
    click.echo("breakroom stopped.")


@cli.command()
@log_level_option("info")
@pass_state
def ircd(state: State, log_level: str) -> None:
    """Run only the IRC server (ngircd, or the embedded miniircd) in the foreground."""
    cfg = state.config

    def ready(server: Ircd) -> None:
        click.echo(f"{server.mode} listening on {server.host}:{server.port}; Ctrl-C to stop.")
        for line in connection_lines(cfg):
            click.echo(f"  {line}")

    runner.serve_ircd_only(cfg, ready=ready, log_level=log_level)
