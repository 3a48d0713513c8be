"""What the demo's scenario must show, checked against what the breakroom recorded.

Each beat is a SQL question about the record, the inboxes, the sweep's questions, the
dispatcher's audit and the work queue — the demo passes only on what really happened.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class Beat:
    name: str
    sql: str


BEATS = (
    Beat("an agent asked knowledge and got an answer with confidence and sources",
         "SELECT 1 FROM events WHERE nick = 'knowledge' AND text LIKE 'shop: [%] (confidence %' "
         "AND text LIKE '%sources:%'"),
    Beat("an agent messaged another directly; it was queued while the other was busy",
         "SELECT 1 FROM inbox WHERE session = 'blog' AND sender = 'shop' AND state = 'delivered' "
         "AND delivered_at - created > 1.0"),
    Beat("the other agent replied directly",
         "SELECT 1 FROM inbox WHERE session = 'shop' AND sender = 'blog' AND state = 'delivered'"),
    Beat("the sweep got a stuck agent answered through knowledge",
         "SELECT 1 FROM sweep_questions q JOIN inbox i ON i.session = q.session AND i.sender = 'sweep' "
         "WHERE q.session = 'stuck' AND q.status = 'answered' AND i.state = 'delivered'"),
    Beat("a question the corpus cannot answer was escalated, not guessed",
         "SELECT 1 FROM sweep_questions WHERE session = 'stuck' AND status = 'escalated'"),
    Beat("the dispatcher nudged an idle session with its next issue",
         "SELECT 1 FROM dispatch_audit WHERE acted = 1 AND kind = 'work'"),
    Beat("the dispatcher left a busy session alone",
         "SELECT 1 FROM dispatch_audit WHERE reason LIKE '%busy%'"),
    Beat("an agent moved its issue on from inside its session",
         "SELECT 1 FROM issue_transitions WHERE who IN ('shop', 'blog', 'writer') "
         "AND from_state IS NOT NULL"),
    Beat("a finished issue handed off the next one to the writer role",
         "SELECT 1 FROM issues WHERE skill = 'synthesize' AND role = 'writer'"),
)

COUNTS = {
    "messages": "SELECT count(*) FROM events WHERE kind = 'PRIVMSG' AND channel IS NOT NULL",
    "answers": "SELECT count(*) FROM knowledge_answers",
    "deliveries": "SELECT count(*) FROM inbox WHERE state = 'delivered'",
    "nudges": "SELECT count(*) FROM dispatch_audit WHERE acted = 1",
}


class Story:
    """Which beats have happened so far."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.seen: set[str] = set()

    def _ask(self, sql: str) -> bool:
        try:
            return self.db.execute(sql).fetchone() is not None
        except sqlite3.OperationalError:  # a table its bot has not created yet
            return False

    def check(self) -> None:
        for beat in BEATS:
            if beat.name not in self.seen and self._ask(beat.sql):
                self.seen.add(beat.name)

    @property
    def complete(self) -> bool:
        return len(self.seen) == len(BEATS)

    def seen_in_order(self) -> list[str]:
        return [b.name for b in BEATS if b.name in self.seen]

    @property
    def missing(self) -> list[str]:
        return [b.name for b in BEATS if b.name not in self.seen]

    def counts(self) -> dict[str, int]:
        out = {}
        for name, sql in COUNTS.items():
            try:
                out[name] = self.db.execute(sql).fetchone()[0]
            except sqlite3.OperationalError:
                out[name] = 0
        return out
