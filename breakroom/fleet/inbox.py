"""Each session's inbox in SQLite: every message addressed to it, and what became of it.

A message is stored *before* anything is typed, so nothing is lost when the agent is busy,
the breakroom restarts, or delivery fails.  States:

- ``queued``    waiting for the agent to be idle (and nobody typing in its input line);
- ``delivered`` typed into the pane and the submission verified (``delivered_at`` set), or
  handed to the agent by one of its hooks (``reason`` says which);
- ``failed``    given up, with ``reason`` (e.g. Enter not accepted, session gone, hop limit).

``attempts`` counts typing attempts (one per message: the text is never typed twice; only
Enter is retried within an attempt).  It is counted before typing starts, and ``entered``
is set before the first Enter, so a queued message with an attempt was interrupted (the
breakroom stopped) and the next start knows how far it got: see
:mod:`breakroom.fleet.recovery`.

Receipts: ``read`` (with ``read_at`` and ``read_via``, how) is set when the session's agent
has read it — ran ``breakroom inbox`` / ``breakroom read`` (or the MCP tools, which run
them), took it as a turn, or got it in its context from a hook.  A sender that asked for
NOTICEs hears of that too (``read_told``: still to tell).  ``from_session`` names the
session that sent it, so ``breakroom sent`` and ``breakroom read`` can show it the status of
what it sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from breakroom.errors import BreakroomError

if TYPE_CHECKING:
    import sqlite_utils

TABLE = "inbox"
QUEUED, DELIVERED, FAILED = "queued", "delivered", "failed"


@dataclass
class Message:
    id: int
    session: str
    sender: str
    text: str
    created: float
    state: str
    attempts: int
    delivered_at: float | None
    reason: str | None
    read: bool
    hops: int
    notify: bool
    entered: float | None = None   # when Enter was first pressed for it
    read_at: float | None = None
    read_via: str | None = None    # how it was read: "breakroom read", "a turn", …
    from_session: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Message:
        return cls(id=row["id"], session=row["session"], sender=row["sender"], text=row["text"],
                   created=row["created"], state=row["state"], attempts=row["attempts"],
                   delivered_at=row["delivered_at"], reason=row["reason"],
                   read=bool(row["read"]), hops=row["hops"], notify=bool(row["notify"]),
                   entered=row.get("entered"), read_at=row.get("read_at"), read_via=row.get("read_via"),
                   from_session=row.get("from_session"))

    def receipt(self) -> str:
        """``delivered 12:03:05 (PostToolUse hook) · read 12:03:09 (breakroom read)``."""
        parts = [self.state if self.delivered_at is None or self.state != DELIVERED
                 else f"delivered {_clock(self.delivered_at)} ({self.reason or 'typed'})"]
        if self.state == FAILED and self.reason:
            parts[0] += f" ({self.reason})"
        if self.read:
            parts.append(f"read {_clock(self.read_at)} ({self.read_via or 'breakroom inbox'})")
        return " · ".join(parts)


def add(db: sqlite_utils.Database, session: str, sender: str, text: str, *, hops: int = 0,
        state: str = QUEUED, reason: str | None = None, notify: bool = False,
        now: float | None = None, from_session: str | None = None) -> int:
    """Store a (sanitized) message for ``session``; returns its id.  ``notify``: the
    sender is an IRC nick that wants NOTICEs about the outcome; ``now``: when it arrived
    (a generated record's past day; default the clock); ``from_session``: the session of
    this breakroom that sent it."""
    cursor = db.execute(
        f"INSERT INTO {TABLE} (session, sender, text, created, state, reason, hops, notify, from_session)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [session, sender, text, time.time() if now is None else now, state, reason, hops,
         int(notify), from_session])
    assert cursor.lastrowid is not None  # sqlite3 sets it after every INSERT
    return cursor.lastrowid


def get(db: sqlite_utils.Database, message_id: int) -> Message | None:
    rows = list(db.query(f"SELECT * FROM {TABLE} WHERE id = ?", [message_id]))
    return Message.from_row(rows[0]) if rows else None


def stored(db: sqlite_utils.Database, message_id: int) -> Message:
    """A message known to be stored (:func:`add` returned its id; rows are never deleted)."""
    message = get(db, message_id)
    if message is None:
        raise BreakroomError(f"message #{message_id} is not in the inbox")
    return message


def queued(db: sqlite_utils.Database, session: str) -> list[Message]:
    """The session's messages still waiting, oldest first (delivery order)."""
    return [Message.from_row(r) for r in db.query(
        f"SELECT * FROM {TABLE} WHERE session = ? AND state = 'queued' ORDER BY id", [session])]


def count_queued(db: sqlite_utils.Database, session: str, sender: str | None = None) -> int:
    """How many messages wait for ``session`` (from ``sender`` only, when given)."""
    sql = f"SELECT count(*) AS n FROM {TABLE} WHERE session = ? AND state = 'queued'"
    args = [session]
    if sender is not None:
        sql += " AND lower(sender) = lower(?)"
        args.append(sender)
    return int(next(db.query(sql, args))["n"])


def sessions_with_queued(db: sqlite_utils.Database) -> list[str]:
    return [r["session"] for r in db.query(
        f"SELECT DISTINCT session FROM {TABLE} WHERE state = 'queued'")]


def begin_attempt(db: sqlite_utils.Database, message_id: int) -> None:
    """Count a typing attempt *before* typing, so a crash mid-typing leaves a trace."""
    db.execute(f"UPDATE {TABLE} SET attempts = attempts + 1 WHERE id = ?", [message_id])


def cancel_attempt(db: sqlite_utils.Database, message_id: int) -> None:
    """Nothing was typed after all (someone was typing): the attempt does not count."""
    db.execute(f"UPDATE {TABLE} SET attempts = attempts - 1 WHERE id = ? AND attempts > 0",
               [message_id])


def interrupted(db: sqlite_utils.Database) -> list[Message]:
    """Queued messages whose typing began but never finished: the breakroom stopped in
    between (oldest first)."""
    return [Message.from_row(r) for r in db.query(
        f"SELECT * FROM {TABLE} WHERE state = 'queued' AND attempts > 0 ORDER BY id")]


def mark_entered(db: sqlite_utils.Database, message_id: int) -> None:
    """Enter is about to be pressed: from now on the agent may have the message."""
    db.execute(f"UPDATE {TABLE} SET entered = ? WHERE id = ? AND entered IS NULL",
               [time.time(), message_id])


def requeue(db: sqlite_utils.Database, message_id: int) -> None:
    """An interrupted message found not in the agent's hands: typed again from scratch."""
    db.execute(f"UPDATE {TABLE} SET attempts = 0, entered = NULL WHERE id = ?", [message_id])


def mark_delivered(db: sqlite_utils.Database, message_id: int, *, via: str | None = None,
                   now: float | None = None) -> None:
    """``via``: how, when not typed (``"PostToolUse hook"``), kept in ``reason``."""
    db.execute(f"UPDATE {TABLE} SET state = 'delivered', delivered_at = ?, reason = ?"
               " WHERE id = ?", [time.time() if now is None else now, via, message_id])


def return_to_queue(db: sqlite_utils.Database, message_ids: list[int]) -> None:
    """Messages a hook was given but never confirmed: queued again, as if never handed."""
    if message_ids:
        marks = ",".join("?" * len(message_ids))
        db.execute(f"UPDATE {TABLE} SET state = 'queued', delivered_at = NULL, reason = NULL "
                   f"WHERE id IN ({marks}) AND state = 'delivered'", message_ids)


def mark_failed(db: sqlite_utils.Database, message_id: int, reason: str) -> None:
    db.execute(f"UPDATE {TABLE} SET state = 'failed', reason = ? WHERE id = ?",
               [reason, message_id])


def rename_session(db: sqlite_utils.Database, old: str, new: str) -> None:
    """A renamed tmux session keeps its waiting messages."""
    db.execute(f"UPDATE {TABLE} SET session = ? WHERE session = ? AND state = 'queued'", [new, old])


def for_session(db: sqlite_utils.Database, session: str, limit: int = 50) -> list[Message]:
    """The session's messages, unread first, newest first within each group."""
    return [Message.from_row(r) for r in db.query(
        f"SELECT * FROM {TABLE} WHERE session = ? ORDER BY read ASC, id DESC LIMIT ?",
        [session, limit])]


def mark_read(db: sqlite_utils.Database, message_ids: list[int], via: str) -> None:
    """The session's agent has read these (``via``: how); their senders are to be told."""
    if message_ids:
        marks = ",".join("?" * len(message_ids))
        db.execute(f"UPDATE {TABLE} SET read = 1, read_at = ?, read_via = ?, read_told = 1 - notify "
                   f"WHERE id IN ({marks}) AND read = 0", [time.time(), via, *message_ids])


def reads_to_tell(db: sqlite_utils.Database) -> list[Message]:
    """Messages read whose senders have not been told yet (oldest first)."""
    return [Message.from_row(r) for r in db.query(
        f"SELECT * FROM {TABLE} WHERE read_told = 0 ORDER BY id LIMIT 100")]


def told(db: sqlite_utils.Database, message_id: int) -> None:
    db.execute(f"UPDATE {TABLE} SET read_told = 1 WHERE id = ?", [message_id])


def sent_by(db: sqlite_utils.Database, session: str, limit: int = 20) -> list[Message]:
    """What ``session`` sent to other sessions here, newest first."""
    return [Message.from_row(r) for r in db.query(
        f"SELECT * FROM {TABLE} WHERE from_session = ? ORDER BY id DESC LIMIT ?", [session, limit])]


def _clock(epoch: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch)) if epoch else "-"
