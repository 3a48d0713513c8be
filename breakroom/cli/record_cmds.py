"""``breakroom log``, ``search`` and ``replay``: reading the record back."""

from __future__ import annotations

import time

import click

from breakroom.cli.base import State, cli, pass_state
from breakroom.record import events as record
from breakroom.secrets import fill_secrets

_FORMATS = {"text": record.format_text, "jsonl": record.format_jsonl}


def _filters(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    return (record.parse_when(since, option="--since") if since else None,
            record.parse_when(until, option="--until") if until else None)


@cli.command()
@click.option("--channel", help="Only this channel.")
@click.option("--nick", help="Only lines from this nick.")
@click.option("--since", help="From this time (10m, 2h, 1d, or ISO).")
@click.option("--until", help="Up to this time.")
@click.option("--limit", "-n", default=50, show_default=True, help="Last N events (0: all).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they arrive.")
@click.option("--format", "fmt", type=click.Choice(list(_FORMATS)), default="text", show_default=True)
@pass_state
def log(state: State, channel: str | None, nick: str | None, since: str | None, until: str | None,
        limit: int, follow: bool, fmt: str) -> None:
    """Tail the record, filtered by channel, nick and time."""
    since_ts, until_ts = _filters(since, until)
    show = _FORMATS[fmt]
    rows = record.query(state.db, channel=channel, nick=nick, since=since_ts, until=until_ts,
                        limit=limit or None, newest=True)
    last = rows[-1]["id"] if rows else record.latest_id(state.db)
    for row in rows:
        click.echo(show(row))
    while follow:
        time.sleep(0.5)
        for row in record.query(state.db, channel=channel, nick=nick, after_id=last):
            click.echo(show(row))
            last = row["id"]


@cli.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", "-n", default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(list(_FORMATS)), default="text", show_default=True)
@pass_state
def search(state: State, query: tuple[str, ...], limit: int, fmt: str) -> None:
    """Full-text search of the record; any words work (quotes, ?, - are fine)."""
    rows = record.search(state.db, " ".join(query), limit=limit)
    if not rows:
        raise click.ClickException(f"no events match {' '.join(query)!r}")
    for row in rows:
        click.echo(_FORMATS[fmt](row))


@cli.command()
@click.option("--channel", help="Only this channel.")
@click.option("--nick", help="Only lines from this nick.")
@click.option("--since", help="From this time (10m, 2h, 1d, or ISO).")
@click.option("--until", help="Up to this time.")
@click.option("--speed", default=1.0, show_default=True, help="Pace: original gaps divided by N.")
@click.option("--instant", is_flag=True, help="No pauses at all.")
@click.option("--format", "fmt", type=click.Choice(list(_FORMATS)), default="text", show_default=True)
@click.option("--to", "to_channel", metavar="CHANNEL",
              help="Re-emit into this live channel from a `replay` bot instead of printing.")
@pass_state
def replay(state: State, channel: str | None, nick: str | None, since: str | None, until: str | None,
           speed: float, instant: bool, fmt: str, to_channel: str | None) -> None:
    """Replay the record in order, with its original pacing (scaled by --speed)."""
    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--speed")
    since_ts, until_ts = _filters(since, until)
    rows = [r for r in record.query(state.db, channel=channel, nick=nick, since=since_ts,
                                    until=until_ts) if not r["replay"]]
    paced = record.paced(rows, speed=speed, instant=instant)
    if to_channel:
        from bots.replay import replay_into_channel  # IRC (irc3, the app) only for --to

        sent = replay_into_channel(fill_secrets(state.config), to_channel, paced)
        click.echo(f"replayed {sent} events into {to_channel}")
        return
    for delay, row in paced:
        if delay:
            time.sleep(delay)
        click.echo(_FORMATS[fmt](row), nl=True)
