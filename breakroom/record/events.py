"""The record: every channel event and every private message to or from the breakroom's
bots, in SQLite with full-text search, and the ways to read it back (log, search, replay).

Writers go through :class:`RecordWriter`, which batches inserts so a busy channel does
not stall the event loop, and flushes everything on a clean shutdown.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from breakroom.errors import BreakroomError
from breakroom.record import fts
from breakroom.record.db import Row, atomic, insert_rows

if TYPE_CHECKING:
    import sqlite_utils

TABLE = "events"
COLUMNS = ("ts", "channel", "nick", "kind", "text", "target", "replay")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Event:
    nick: str
    kind: str
    text: str = ""
    channel: str | None = None  # None for a private message
    target: str | None = None  # the recipient of a private message, the kicked nick, …
    ts: str = ""
    replay: bool = False

    def values(self, scrub: Callable[[str], str] = str) -> tuple[Any, ...]:
        """The event as a row of :data:`COLUMNS` (``text`` passed through ``scrub``)."""
        return (self.ts or now_iso(), self.channel, self.nick, self.kind, scrub(self.text),
                self.target, int(self.replay))


class RecordWriter:
    """Batches events into the record from the event loop."""

    def __init__(self, db: sqlite_utils.Database, *, scrub: Callable[[str], str] = str,
                 flush_every: float = 0.25, batch: int = 500):
        self.db = db
        self.scrub = scrub
        self.flush_every = flush_every
        self.batch = batch
        self._pending: list[tuple[Any, ...]] = []
        self._task: asyncio.Task[None] | None = None
        # flushes are serialised (the loop's timer, a full batch, a caller in another thread
        # such as a test or shutdown): rows go in in the order they came, ids follow it
        self._flushing = threading.Lock()

    def add(self, event: Event) -> None:
        row = event.values(self.scrub)
        with self._flushing:
            self._pending.append(row)
            full = len(self._pending) >= self.batch
        if full:
            self.flush()

    def flush(self) -> None:
        with self._flushing:
            if not self._pending:
                return
            rows, self._pending = self._pending, []
            try:
                append(self.db, rows)
            except sqlite3.OperationalError:  # locked by a long reader: keep the rows, retry later
                self._pending[:0] = rows

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every)
            self.flush()

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            self._task = None
        self.flush()


def append(db: sqlite_utils.Database, rows: list[tuple[Any, ...]]) -> None:
    """Rows of :data:`COLUMNS` into the record and its full-text index, all or nothing.  The
    index takes the whole batch in one statement, about four times faster than a trigger
    per row (``bench/scribe_ingest.py``); every write to the record comes through here."""
    with atomic(db, "record"):
        # read inside the transaction: if another writer commits before our insert, SQLite
        # refuses the insert (a stale snapshot) rather than let the index miss its rows
        last = db.execute(f"SELECT coalesce(max(rowid), 0) FROM {TABLE}").fetchone()[0]
        insert_rows(db, TABLE, COLUMNS, rows)
        db.execute(f"INSERT INTO {TABLE}_fts (rowid, text) SELECT rowid, text FROM {TABLE} "
                   "WHERE rowid > ?", [last])


# ------------------------------------------------------------------ reading it back

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*(?:ago)?\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, option: str = "--since") -> str:
    """``10m``, ``2h``, ``1d`` ago, or an ISO date/time (UTC unless it says otherwise)."""
    m = _RELATIVE.match(text)
    if m:
        moment = datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise BreakroomError(f"{option}: expected a time like 10m, 2h, 1d or "
                                 f"2026-11-23T10:00, got {text!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def query(db: sqlite_utils.Database, *, channel: str | None = None, nick: str | None = None,
          since: str | None = None, until: str | None = None, after_id: int = 0,
          limit: int | None = None, newest: bool = False) -> list[Row]:
    """Events in time order; ``newest`` keeps the last ``limit`` rather than the first."""
    filters = (("id > ?", after_id), ("lower(channel) = lower(?)", channel),
               ("lower(nick) = lower(?)", nick), ("ts >= ?", since), ("ts <= ?", until))
    where = [clause for clause, value in filters if value or clause == "id > ?"]
    args = [value for clause, value in filters if value or clause == "id > ?"]
    order = "DESC" if newest else "ASC"
    sql = f"SELECT * FROM {TABLE} WHERE {' AND '.join(where)} ORDER BY id {order}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = list(db.query(sql, args))
    return rows[::-1] if newest else rows


def latest_id(db: sqlite_utils.Database) -> int:
    row = next(db.query(f"SELECT max(id) AS id FROM {TABLE}"))
    return row["id"] or 0


def search(db: sqlite_utils.Database, text: str, *, limit: int = 50) -> list[Row]:
    """Full-text search with a user's raw words: best matches first, never an FTS5 error.

    Events holding every word rank first; when none does, any word is enough."""
    for builder in (fts.all_terms_query, fts.match_query):
        q = builder(text)
        if q is None:
            return []
        rows = list(db.query(
            f"SELECT e.* FROM {TABLE}_fts JOIN {TABLE} e ON e.rowid = {TABLE}_fts.rowid "
            f"WHERE {TABLE}_fts MATCH ? ORDER BY {TABLE}_fts.rank LIMIT ?", [q, limit]))
        if rows:
            return rows
    return []


# How each kind reads in a classic IRC log; {reason} is " (text)" when there is text.
_LINES = {
    "ACTION": "* {nick} {text}",
    "JOIN": "-!- {nick} has joined {where}",
    "PART": "-!- {nick} has left {where}{reason}",
    "QUIT": "-!- {nick} has quit{reason}",
    "NICK": "-!- {nick} is now known as {text}",
    "TOPIC": "-!- {nick} changed the topic of {where} to: {text}",
    "KICK": "-!- {target} was kicked from {where} by {nick}{reason}",
    "MODE": "-!- mode/{where} [{text}] by {nick}",
    "GAP": "-!- gap in the record: {text}",
    "SERVER": "-!- server: {text}",
}


def format_text(event: Row) -> str:
    """A classic IRC log line: ``[2026-11-23 10:01:02] <alice> text``."""
    stamp = event["ts"][:19].replace("T", " ")
    nick, kind, text = event["nick"], event["kind"], event["text"] or ""
    where, target = event["channel"] or "", event["target"]
    mark = "[replay] " if event.get("replay") else ""
    if kind in ("PRIVMSG", "NOTICE"):
        left, right = ("<", ">") if kind == "PRIVMSG" else ("-", "-")
        who = nick if where else f"{nick} → {target}"  # a private line names its recipient
        body = f"{left}{who}{right} {text}"
    else:
        body = _LINES.get(kind, "{kind} {nick} {text}").format(
            nick=nick, kind=kind, text=text, where=where, target=target,
            reason=f" ({text})" if text else "")
    return f"[{stamp}] {mark}{body}"


def format_jsonl(event: Row) -> str:
    return json.dumps({k: event[k] for k in ("id", "ts", "channel", "nick", "kind", "text", "target")},
                      ensure_ascii=False)


def _seconds(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def paced(events: Iterable[Row], *, speed: float = 1.0, instant: bool = False,
          max_gap: float = 5.0) -> Iterator[tuple[float, Row]]:
    """Pair each event with the pause before it: the original gap divided by ``speed``.

    Gaps are capped at ``max_gap`` seconds (after scaling) so a quiet night replays in
    seconds, not hours."""
    previous: float | None = None
    for event in events:
        t = _seconds(event["ts"])
        delay = 0.0 if instant or previous is None else min(max(t - previous, 0.0) / speed, max_gap)
        previous = t
        yield delay, event
