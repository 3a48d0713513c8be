"""``breakroom demo``: see the whole breakroom work in under a minute."""

from __future__ import annotations

import click

from breakroom.cli.base import cli, log_level_option
from breakroom.demo.run import DemoOptions, run_demo


@cli.command()
@click.option("--duration", default=75.0, show_default=True, metavar="S",
              help="Give up on the scenario after S seconds.")
@click.option("--keep", is_flag=True, help="Keep running after the scenario, until Ctrl-C "
              "(to explore with an IRC client and tmux attach).")
@click.option("--keep-data", is_flag=True, help="Leave the data dir behind for replay and search.")
@click.option("--speed", default=1.0, show_default=True, help="Run the agents and timers N times faster.")
@log_level_option("warning")
def demo(duration: float, keep: bool, keep_data: bool, speed: float, log_level: str) -> None:
    """The whole breakroom on embedded defaults: its own ircd, a private tmux server with four
    simulated agents, every bot, and a short scripted scenario printed live."""
    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--speed")
    story = run_demo(DemoOptions(duration=duration, keep=keep, keep_data=keep_data, speed=speed,
                                 log_level=log_level),
                     say=lambda line: click.secho(line, fg="bright_black"))
    counts = story.counts()
    click.echo("")
    click.secho("what happened:", bold=True)
    for beat in story.seen_in_order():
        click.echo(f"  ✓ {beat}")
    for beat in story.missing:
        click.echo(f"  ✗ {beat}")
    click.echo("  " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    if not keep_data:
        click.echo("  (run `breakroom demo --keep-data` to keep the record and replay it)")
    if not story.complete:
        raise click.ClickException("the scenario did not complete: " + "; ".join(story.missing))
