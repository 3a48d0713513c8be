"""The record of relayed permission prompts (SQLite ``permission_prompts``): each prompt, what
it asked, and who decided it how and when — shown by ``breakroom audit``.

``decision`` is ``allow`` or ``deny`` (an operator on IRC, or the sweep's policy), ``terminal``
(answered in the agent's own dialog first), ``timeout`` (nobody answered within
``permissions.relay_timeout``: left to the terminal) or ``gone`` (the session went away).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class PromptRecord:
    pid: str
    session: str
    tool: str | None
    what: str
    source: str             # hook | screen
    opened: float
    decided: float | None
    decision: str | None
    by: str | None
    how: str | None

    def outcome(self) -> str:
        """``allowed by alice (IRC operator)``, ``answered in the terminal``, ``open``."""
        if self.decision in _VERBS:
            return f"{_VERBS[self.decision]} by {self.by} ({self.how})"
        return _ENDINGS.get(self.decision or "", self.decision or "open")

    def line(self) -> str:
        stamp = datetime.fromtimestamp(self.decided or self.opened, UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp} {self.pid} {self.session} {self.tool or '?'}: {self.what} — {self.outcome()}"


_VERBS = {"allow": "allowed", "deny": "denied"}
_ENDINGS = {"terminal": "answered in the terminal", "timeout": "no answer in time: left to the terminal",
            "gone": "the session went away", "failed": "approved, but pressing the keys failed"}
_COLUMNS = "pid, session, tool, what, source, opened, decided, decision, by, how"


def opened(db: sqlite_utils.Database, pid: str, session: str, agent: str, tool: str | None,
           what: str, source: str, at: float) -> None:
    db.execute("INSERT INTO permission_prompts (pid, session, agent, tool, what, source, opened) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)", [pid, session, agent, tool, what, source, at])


def decided(db: sqlite_utils.Database, pid: str, decision: str, by: str, how: str,
            at: float | None = None) -> None:
    db.execute("UPDATE permission_prompts SET decided = ?, decision = ?, by = ?, how = ? "
               "WHERE pid = ? AND decided IS NULL",
               [time.time() if at is None else at, decision, by, how, pid])


def get(db: sqlite_utils.Database, pid: str) -> PromptRecord | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM permission_prompts WHERE pid = ?", [pid]).fetchone()
    return PromptRecord(*row) if row else None


def recent(db: sqlite_utils.Database, limit: int = 20) -> list[PromptRecord]:
    """The last ``limit`` prompts, oldest first."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM permission_prompts ORDER BY id DESC LIMIT ?",
                      [int(limit)]).fetchall()
    return [PromptRecord(*row) for row in reversed(rows)]
