"""Everything the page shows, read from the record for one window: plain functions over the
database, no IRC, no HTML.

Where each part comes from:

- sessions and their timelines: ``sweep_captures`` and ``issue_transitions``
  (:mod:`breakroom.report.timeline`), plus every session that got a message or a nudge;
- who messaged whom: the record's ``PRIVMSG`` lines (``nick: text`` in the channel, private
  messages, and unaddressed channel lines as messages to the channel), plus what a service
  bot typed straight into a pane (the dispatcher's nudges, the sweep's answers: ``inbox``
  rows no channel line shows);
- knowledge's questions (``knowledge_answers``) and the sweep's stuck questions, answered or
  escalated (``sweep_questions``);
- the dispatcher's nudges (``dispatch_audit``) and the issues that moved (``issue_transitions``);
- spend: :func:`breakroom.report.spend.session_spend`.

Nicks are shown as session names where a session's bot said it, so one name means one
session on every part of the page.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from breakroom.config import Config
from breakroom.irc.nicks import SERVICE_NICKS, assign_nicks, irc_lower
from breakroom.report import timeline
from breakroom.report.spend import SessionSpend, session_spend
from breakroom.report.timeline import Band, Spell
from breakroom.report.window import Window, epoch
from breakroom.work.spend import PriceTable

if TYPE_CHECKING:
    import sqlite_utils

_ADDRESSED = re.compile(r"^\s*([^\s:,]+)\s*[:,]\s")


@dataclass(frozen=True)
class SessionDay:
    name: str
    bands: list[Band]
    spells: list[Spell]  # stuck spells and idle-while-work-waited, in time order
    seconds: dict[str, float]  # per band kind
    sent: int
    received: int
    nudges: int
    spend: SessionSpend | None

    @property
    def stuck(self) -> list[Spell]:
        return [s for s in self.spells if s.stuck]

    @property
    def idle_with_work(self) -> list[Spell]:
        return [s for s in self.spells if not s.stuck]


@dataclass(frozen=True)
class Messages:
    """Counts of messages from one participant to another (the channel is a participant)."""

    counts: Counter[tuple[str, str]]
    senders: list[str]  # sessions first, then service bots, people (and the channel as a recipient)
    recipients: list[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, sender: str, to: str) -> int:
        return self.counts.get((sender, to), 0)

    def sent_by(self, who: str) -> int:
        return sum(n for (sender, _), n in self.counts.items() if sender == who)

    def received_by(self, who: str) -> int:
        return sum(n for (_, to), n in self.counts.items() if to == who)

    def top(self, n: int = 10) -> list[tuple[str, str, int]]:
        return [(a, b, c) for (a, b), c in self.counts.most_common(n)]


@dataclass(frozen=True)
class Question:
    """A question put to knowledge, and whether it answered."""

    at: float
    ref: str  # k42: `breakroom read k42` shows it in full
    asker: str
    question: str
    confidence: float
    answered: bool  # False: "I don't know"
    backend: str


@dataclass(frozen=True)
class SweepQuestion:
    """A session found stuck on a question, and what the sweep did."""

    at: float
    qid: str
    session: str
    question: str
    status: str  # answered | escalated | asking
    confidence: float | None


@dataclass(frozen=True)
class Nudge:
    at: float
    session: str
    kind: str  # work | checkin | scout
    issue_id: int | None
    delivery: str | None


@dataclass(frozen=True)
class IssueMove:
    at: float
    issue_id: int
    title: str
    from_state: str | None  # None: created
    to_state: str
    who: str


@dataclass(frozen=True)
class DayReport:
    window: Window
    generated: float
    sessions: list[SessionDay]
    messages: Messages
    questions: list[Question]
    sweep_questions: list[SweepQuestion]
    nudges: list[Nudge]
    cycles: int  # dispatcher cycles in the window, acting or not
    moves: list[IssueMove]  # moves between states, creations included (from_state None)
    spend: list[SessionSpend]

    @property
    def answered(self) -> int:
        return sum(q.answered for q in self.questions)

    @property
    def unanswered(self) -> int:
        return len(self.questions) - self.answered

    def sweep_count(self, status: str) -> int:
        return sum(q.status == status for q in self.sweep_questions)

    @property
    def stuck(self) -> list[tuple[str, Spell]]:
        return sorted(((s.name, spell) for s in self.sessions for spell in s.stuck),
                      key=lambda pair: pair[1].start)

    @property
    def idle_with_work(self) -> list[tuple[str, Spell]]:
        return sorted(((s.name, spell) for s in self.sessions for spell in s.idle_with_work),
                      key=lambda pair: pair[1].start)

    @property
    def moved(self) -> list[IssueMove]:
        return [m for m in self.moves if m.from_state is not None]

    @property
    def created(self) -> list[IssueMove]:
        return [m for m in self.moves if m.from_state is None]

    def busiest(self) -> SessionDay | None:
        """The session that worked longest (ties: more messages sent)."""
        if not self.sessions:
            return None
        best = max(self.sessions, key=lambda s: (s.seconds["working"], s.sent))
        return best if best.seconds["working"] or best.sent else None


# ---------------------------------------------------------------- the parts


class _Names:
    """Nick -> the name the page uses: a session's bot shows as its session."""

    def __init__(self, sessions: Iterable[str], host: str | None):
        sessions = sorted(set(sessions))
        self.sessions = set(sessions)
        self._by_nick = {irc_lower(s): s for s in sessions}
        self._by_nick.update({irc_lower(nick): s for s, nick in assign_nicks(sessions, host=host).items()})

    def __call__(self, nick: str) -> str:
        return self._by_nick.get(irc_lower(nick), nick)


def messages(db: sqlite_utils.Database, window: Window, names: _Names) -> Messages:
    start, end = window.iso_bounds()
    rows = db.execute(
        "SELECT nick, channel, target, text FROM events WHERE kind = 'PRIVMSG' AND replay = 0 "
        "AND ts >= ? AND ts < ?", [start, end]).fetchall()
    known = {irc_lower(n) for n in SERVICE_NICKS} | {irc_lower(names(r[0])) for r in rows}
    known |= {irc_lower(s) for s in names.sessions}
    counts: Counter[tuple[str, str]] = Counter()
    for nick, channel, target, text in rows:
        sender = names(nick)
        if channel is None:
            to = names(target or "")
        else:
            m = _ADDRESSED.match(text or "")
            addressee = names(m.group(1)) if m else None
            to = addressee if addressee and irc_lower(addressee) in known else channel
        if to and to != sender:
            counts[(sender, to)] += 1
    services = sorted(SERVICE_NICKS)
    straight = db.execute(  # service bots' deliveries into panes: no channel line says them
        f"SELECT sender, session, count(*) FROM inbox WHERE created >= ? AND created < ? "
        f"AND lower(sender) IN ({','.join('?' * len(services))}) GROUP BY sender, session",
        [window.start, window.end, *services]).fetchall()
    for sender, session, n in straight:
        counts[(names(sender), session)] += n
    return Messages(counts, _order({a for a, _ in counts}, names.sessions),
                    _order({b for _, b in counts}, names.sessions))


def _order(participants: set[str], sessions: set[str]) -> list[str]:
    def rank(p: str) -> tuple[int, str]:
        group = (0 if p in sessions else 1 if p.lower() in SERVICE_NICKS
                 else 3 if p.startswith(("#", "&")) else 2)
        return group, p.lower()
    return sorted(participants, key=rank)


def questions(db: sqlite_utils.Database, window: Window, names: _Names) -> list[Question]:
    rows = db.execute(
        "SELECT id, created, asker, question, confidence, idk, backend FROM knowledge_answers "
        "WHERE created >= ? AND created < ? ORDER BY created, id", [window.start, window.end])
    return [Question(at, f"k{id_}", names(asker or "?"), question, confidence, not idk, backend)
            for id_, at, asker, question, confidence, idk, backend in rows]


def sweep_questions(db: sqlite_utils.Database, window: Window) -> list[SweepQuestion]:
    rows = db.execute(
        "SELECT asked_at, qid, session, question, status, confidence FROM sweep_questions "
        "WHERE asked_at >= ? AND asked_at < ? ORDER BY asked_at, id", [window.start, window.end])
    return [SweepQuestion(*row) for row in rows]


def nudges(db: sqlite_utils.Database, window: Window) -> tuple[list[Nudge], int]:
    """The dispatcher's nudges, and how many cycles it ran, in the window."""
    rows = db.execute(
        "SELECT ts, acted, session, kind, issue_id, delivery FROM dispatch_audit "
        "WHERE ts >= ? AND ts < ? ORDER BY ts, id", [window.start, window.end]).fetchall()
    return ([Nudge(ts, session, kind, issue_id, delivery)
             for ts, acted, session, kind, issue_id, delivery in rows if acted], len(rows))


def moves(db: sqlite_utils.Database, window: Window) -> list[IssueMove]:
    start, end = window.iso_bounds()
    rows = db.execute(
        "SELECT t.ts, t.issue_id, i.title, t.from_state, t.to_state, t.who "
        "FROM issue_transitions t JOIN issues i ON i.id = t.issue_id "
        "WHERE t.ts >= ? AND t.ts < ? ORDER BY t.ts, t.id", [start, end])
    return [IssueMove(epoch(ts), *rest) for ts, *rest in rows]


def build(db: sqlite_utils.Database, config: Config, window: Window,
          now: float | None = None) -> DayReport:
    """The whole page's data for ``window``."""
    segs = timeline.segments(db, window, config.sweep.interval)
    found_nudges, cycles = nudges(db, window)
    spend = session_spend(db, window, PriceTable.for_config(config))
    inbox_sessions = [r[0] for r in db.execute(
        "SELECT DISTINCT session FROM inbox WHERE created >= ? AND created < ?",
        [window.start, window.end])]
    names = _Names([*segs, *inbox_sessions, *(n.session for n in found_nudges),
                    *(s.session for s in spend)], config.host_name)
    said = messages(db, window, names)
    work = timeline.open_work(db, window)
    spend_of = {s.session: s for s in spend}
    nudged = Counter(n.session for n in found_nudges)
    days = []
    for name in sorted(names.sessions, key=str.lower):
        session_bands = timeline.bands(segs.get(name, []))
        spells = timeline.stuck_spells(segs.get(name, []), config) + \
            timeline.idle_with_work(name, session_bands, work, config)
        days.append(SessionDay(name, session_bands, sorted(spells, key=lambda s: s.start),
                               dict(timeline.time_in(session_bands)), said.sent_by(name),
                               said.received_by(name), nudged[name], spend_of.get(name)))
    return DayReport(window, time.time() if now is None else now, days, said,
                     questions(db, window, names), sweep_questions(db, window),
                     found_nudges, cycles, moves(db, window), spend)
