"""``breakroom report``: the fleet's day as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from breakroom.cli.base import State, cli, pass_state
from breakroom.errors import BreakroomError
from breakroom.private import private_dir
from breakroom.report.page import build_page, default_path, write_page
from breakroom.report.summary import morning_line
from breakroom.report.window import Window


@cli.command()
@click.option("--since", default="24h", show_default=True, help="From this time (10m, 2h, 1d, or ISO).")
@click.option("--until", help="Up to this time (default: now).")
@click.option("--out", metavar="FILE.html",
              help="Where to write the page ('-': standard output; default: report.html in the data dir).")
@pass_state
def report(state: State, since: str, until: str | None, out: str | None) -> None:
    """Write the fleet's page for a window: timelines, messages, questions, nudges, issues."""
    window = Window.parse(since, until)
    summary, html = build_page(state.db, state.config, window)
    if out == "-":
        click.echo(html, nl=False)
        return
    if out is None:
        path = default_path(state.config)
        private_dir(path.parent)
    else:
        path = Path(out).expanduser()
        if not path.parent.is_dir():
            raise BreakroomError(f"--out: no such directory: {path.parent}")
    write_page(path, html)
    click.echo(morning_line(summary, str(path.resolve())))
