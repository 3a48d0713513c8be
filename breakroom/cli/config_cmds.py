"""``breakroom config show``: the effective configuration, secrets redacted."""

from __future__ import annotations

import click
import yaml

from breakroom import config as config_mod
from breakroom.cli.base import State, cli, pass_state


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
