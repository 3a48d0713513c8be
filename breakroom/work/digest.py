"""The check-in digest: what was said in the breakroom since a session last checked in.

This is the water cooler that lets a fix found in one project reach the others: lines
addressed to the session come first (``nick: …`` in the channel, or a private message),
then the decisions, fixes and warnings others shared — found by plain keywords, kept
compact — and nothing the session has already seen.  Each session's mark (the last record
event it was shown) is kept in SQLite; reading the digest advances it unless peeking.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from breakroom.irc.nicks import SERVICE_NICKS, irc_lower
from breakroom.record import events as record
from breakroom.record.db import Row

if TYPE_CHECKING:
    import sqlite_utils

DEFAULT_WINDOW = "24h"  # how far back a session that never checked in looks
MAX_LINE = 180
SPOKEN = ("PRIVMSG", "NOTICE", "ACTION")

# Words that mark a line others should not miss.
_NOTEWORTHY = re.compile(
    r"\b(decided|decision|decide|fix|fixed|fixes|fixing|warning|warn|broke|broken|breaks|"
    r"don'?t|do not|never|careful|beware|heads[- ]up|gotcha|trap|regression|workaround|"
    r"root cause|revert(?:ed)?|deprecated|must)\b", re.IGNORECASE)


@dataclass
class Digest:
    nick: str | None
    since: str  # in words: "your last check-in (…)" or "2026-11-23 10:00"
    addressed: list[Row] = field(default_factory=list)
    shared: list[Row] = field(default_factory=list)
    last_event_id: int = 0  # the newest event considered; the next digest starts after it
    more_addressed: int = 0
    more_shared: int = 0

    def lines(self) -> list[str]:
        """The digest as compact text lines for a terminal or a pane."""
        if not self.addressed and not self.shared:
            return [f"Nothing new since {self.since}."]
        out = [f"Since {self.since}: {len(self.addressed) + self.more_addressed} for you, "
               f"{len(self.shared) + self.more_shared} shared."]
        for title, events, more in (("For you:", self.addressed, self.more_addressed),
                                    ("Shared (decisions, fixes, warnings):", self.shared, self.more_shared)):
            if events:
                out.append(title)
                out.extend("  " + _compact(e) for e in events)
                if more:
                    out.append(f"  (+{more} older; breakroom log shows everything)")
        return out


def _compact(event: Row) -> str:
    text = " ".join((event["text"] or "").split())
    if len(text) > MAX_LINE:
        text = text[: MAX_LINE - 1] + "…"
    where = "" if event["channel"] else " (private)"
    return f"[{event['ts'][11:16]}] <{event['nick']}>{where} {text}"


def checkin_times(db: sqlite_utils.Database) -> dict[str, float]:
    """When each session last read its digest (epoch seconds)."""
    return dict(db.execute("SELECT session, checked_at FROM digest_checkins").fetchall())


def last_mark(db: sqlite_utils.Database, session: str) -> tuple[int, float] | None:
    row = db.execute("SELECT last_event_id, checked_at FROM digest_checkins WHERE session = ?",
                     [session]).fetchone()
    return (row[0], row[1]) if row else None


def mark(db: sqlite_utils.Database, session: str, event_id: int, *, now: float | None = None) -> None:
    """Record that ``session`` has seen everything up to ``event_id``."""
    db.execute("INSERT INTO digest_checkins (session, last_event_id, checked_at) VALUES (?, ?, ?) "
               "ON CONFLICT(session) DO UPDATE SET "
               "last_event_id = max(last_event_id, excluded.last_event_id), checked_at = excluded.checked_at",
               [session, event_id, time.time() if now is None else now])


def is_addressed(event: Row, nick: str) -> bool:
    """``nick: …`` / ``nick, …`` in a channel, or a private message to ``nick``."""
    me = irc_lower(nick)
    if event["channel"] is None:
        return irc_lower(event["target"] or "") == me
    m = re.match(r"\s*([^\s:,]+)\s*[:,]", event["text"] or "")
    return m is not None and irc_lower(m.group(1)) == me


def is_noteworthy(event: Row) -> bool:
    return event["channel"] is not None and bool(_NOTEWORTHY.search(event["text"] or ""))


def build(db: sqlite_utils.Database, nick: str | None, *, after_id: int = 0, since: str | None = None,
          since_words: str = "", max_addressed: int = 10, max_shared: int = 10) -> Digest:
    """The digest for ``nick`` of events after ``after_id`` (and at or after ISO ``since``).

    Its own lines, service-bot chatter, joins and replayed history are left out; the
    newest lines of each section are kept when there are more than the maximum.
    """
    events = record.query(db, after_id=after_id, since=since)
    result = Digest(nick=nick, since=since_words or since or "the beginning",
                    last_event_id=max((e["id"] for e in events), default=after_id))
    me = irc_lower(nick) if nick else None
    seen_texts: set[tuple[str, str]] = set()
    for event in events:
        if event["kind"] not in SPOKEN or event.get("replay") or irc_lower(event["nick"]) == me:
            continue
        key = (event["nick"], " ".join((event["text"] or "").split()))
        if key in seen_texts:
            continue
        if nick and is_addressed(event, nick):
            result.addressed.append(event)
        elif event["nick"] not in SERVICE_NICKS and is_noteworthy(event):
            result.shared.append(event)
        else:
            continue
        seen_texts.add(key)
    result.more_addressed = max(0, len(result.addressed) - max_addressed)
    result.more_shared = max(0, len(result.shared) - max_shared)
    result.addressed = result.addressed[len(result.addressed) - min(len(result.addressed), max_addressed):]
    result.shared = result.shared[len(result.shared) - min(len(result.shared), max_shared):]
    return result


def for_session(db: sqlite_utils.Database, session: str | None, nick: str | None, *,
                since: str | None = None, peek: bool = False) -> Digest:
    """The digest since the session's last check-in (or ``since``, e.g. ``2h``); advances its mark.

    Without a session (a human outside tmux) there is no mark: the window is ``since`` or
    the last 24 hours, and nothing is addressed-first.
    """
    prior = last_mark(db, session) if session else None
    if since:
        iso = record.parse_when(since)
        digest = build(db, nick, since=iso, since_words=iso[:16].replace("T", " "))
    elif prior:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(prior[1]))
        digest = build(db, nick, after_id=prior[0], since_words=f"your last check-in ({stamp} UTC)")
    else:
        iso = record.parse_when(DEFAULT_WINDOW)
        first = " (first check-in)" if session else ""
        digest = build(db, nick, since=iso, since_words=f"{DEFAULT_WINDOW} ago{first}")
    if session and not peek:
        mark(db, session, digest.last_event_id)
    return digest
