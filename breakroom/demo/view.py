"""The demo's live view of the channel: one line per event, timestamps, coloured nicks."""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from breakroom.record import events as record
from breakroom.record.db import Row

if TYPE_CHECKING:
    import sqlite_utils

COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan",
           "bright_magenta", "bright_green", "bright_blue")
QUIET_KINDS = {"MODE"}


def nick_colour(nick: str) -> str:
    """Stable per nick, like an IRC client's nick colours."""
    return COLOURS[zlib.crc32(nick.encode()) % len(COLOURS)]


def render(event: Row) -> Text | None:
    kind, nick, text = event["kind"], event["nick"], event["text"] or ""
    if kind in QUIET_KINDS:
        return None
    line = Text(event["ts"][11:19] + " ", style="dim")
    if kind in ("PRIVMSG", "NOTICE") and event["channel"]:
        line.append(f"{nick:>10} ", style=f"bold {nick_colour(nick)}")
        line.append(text, style="italic" if kind == "NOTICE" else "")
    elif kind in ("PRIVMSG", "NOTICE"):
        line.append(f"{nick:>10} ", style=f"dim {nick_colour(nick)}")
        line.append(f"→ {event['target']}: {text}", style="dim")
    elif kind == "ACTION":
        line.append(f"{'*':>10} {nick} {text}", style=nick_colour(nick))
    else:
        line.append(f"{'-!-':>10} ", style="dim")
        line.append(record.format_text(event).split("-!- ", 1)[-1], style="dim")
    return line


def render_typed(message: Row) -> Text:
    """A message typed into a session's pane: what the channel does not show."""
    stamp = datetime.fromtimestamp(message["delivered_at"], UTC).strftime("%H:%M:%S")
    line = Text(stamp + " ", style="dim")
    line.append(f"{'⌨':>10} ", style="bold")
    line.append(f"{message['session']} ", style=f"bold {nick_colour(message['session'])}")
    line.append(f"← {message['sender']}: ", style=nick_colour(message["sender"]))
    text = message["text"]
    line.append(text if len(text) <= 160 else text[:159] + "…", style="dim")
    return line


class ChannelPrinter:
    """Follows the record, and the messages typed into panes, and prints what is new."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(highlight=False)
        self.last_id = 0
        self.typed: set[int] = set()

    def drain(self, db: sqlite_utils.Database) -> None:
        lines: list[tuple[str, Text]] = []
        for event in record.query(db, after_id=self.last_id):
            self.last_id = event["id"]
            line = render(event)
            if line is not None:
                lines.append((event["ts"][11:23], line))
        try:
            delivered = list(db.query("SELECT * FROM inbox WHERE state = 'delivered' ORDER BY delivered_at"))
        except sqlite3.OperationalError:  # no inbox yet
            delivered = []
        for message in delivered:
            if message["id"] not in self.typed:
                self.typed.add(message["id"])
                when = datetime.fromtimestamp(message["delivered_at"], UTC).strftime("%H:%M:%S.%f")
                lines.append((when[:12], render_typed(message)))
        for _, line in sorted(lines, key=lambda pair: pair[0]):
            self.console.print(line, soft_wrap=True)

    async def follow(self, db: sqlite_utils.Database, every: float = 0.2) -> None:
        while True:
            self.drain(db)
            await asyncio.sleep(every)
