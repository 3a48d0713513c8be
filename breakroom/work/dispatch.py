"""The dispatcher's cycle: exactly one action (or a reason for none), and its audit trail.

``decide`` is a pure function of what the dispatcher knows at one moment — session states,
the queue, the skills, what it did recently, DND and pause — so every rule is testable
without tmux or IRC.  ``run_cycle`` wraps it with the database: it loads that memory,
decides, writes the audit row (acted or not, and why) and assigns the nudged issue.
Delivering the text into the pane is the bot's job (``app.sessions.deliver``).

Rules, in order: nothing while the fleet is paused; only sessions that the detector calls
``idle``, that are not held (paused, waiting for a limit to reset, over their daily budget —
the caller says which, and why), not DND and were not nudged within ``dispatcher.cooldown``;
of those, the one idle longest acts: a check-in when its last one is ``checkin_interval`` old, else its most
urgent actionable issue, else (project sessions) a ``scout`` when the project was not
scouted within ``scout_interval``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from breakroom.config import DispatcherConfig
from breakroom.errors import BreakroomError
from breakroom.record.db import atomic, inserted_id
from breakroom.work import digest
from breakroom.work import queue as workqueue
from breakroom.work.queue import FORWARD, Issue
from breakroom.work.skills import SkillSet

if TYPE_CHECKING:
    import sqlite_utils

DEFAULT_DND_MINUTES = 60


class SessionLike(Protocol):
    """What the cycle reads of a session's status (``breakroom.fleet.manager.SessionStatus``);
    read-only, so frozen views of a status fit too."""

    @property
    def session(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def since(self) -> float: ...
    @property
    def project(self) -> str | None: ...
    @property
    def role(self) -> str | None: ...


@dataclass(frozen=True)
class Action:
    kind: str  # work | checkin | scout
    session: str
    skill: str
    text: str
    issue_id: int | None = None
    project: str | None = None


@dataclass(frozen=True)
class Decision:
    action: Action | None
    reason: str


@dataclass
class Memory:
    """What the dispatcher remembers between cycles (loaded from the database)."""

    last_nudge: dict[str, float]  # session -> when it was last nudged (any kind)
    last_checkin: dict[str, float]  # session -> last check-in, check-in nudge, or first seen
    last_scout: dict[str, float]  # project -> when a session of it was last sent scouting
    dnd_until: dict[str, float]  # session -> DND expiry
    paused: bool = False  # the fleet is paused
    held: Mapping[str, str] = field(default_factory=dict)  # session -> why it gets no nudge


# ---------------------------------------------------------------- the pure decision

def next_state(issue: Issue) -> str:
    """Where the nudged session should move the issue when its step is done."""
    return "done" if issue.skill else FORWARD[issue.state]


def routed_to(issue: Issue, s: SessionLike) -> bool:
    """A role session takes its role's issues from every project; a project session its own."""
    if s.role and issue.role == s.role:
        return True
    return bool(s.project) and issue.project == s.project and not issue.role


def actionable(issues: list[Issue], s: SessionLike, skills: SkillSet, present: set[str]) -> list[Issue]:
    """The issues this session could act on now, in the order it should take them.

    An issue assigned to another session that is still in the fleet is that session's.
    Its own assignments come first, then priority, then age.
    """
    mine = []
    for issue in issues:
        if not issue.active or not routed_to(issue, s):
            continue
        if issue.assignee and issue.assignee != s.session and issue.assignee in present:
            continue
        if workqueue.skill_name_for(issue, issue.state, skills) is None:
            continue
        mine.append(issue)
    return sorted(mine, key=lambda i: (i.assignee != s.session, i.priority, i.id))


def work_text(issue: Issue, skills: SkillSet) -> tuple[str, str]:
    """(skill name, nudge line) for an issue."""
    name = workqueue.skill_name_for(issue, issue.state, skills)
    if name is None:
        raise BreakroomError(f"no skill serves #{issue.id} in state {issue.state}")
    skill = skills.require(name)
    title = issue.title if len(issue.title) <= 80 else issue.title[:79] + "…"
    return skill.name, (f'[dispatcher] next: {skill.name} #{issue.id} "{title}" — brief: {skill.pointer()} '
                        f"— when done: breakroom issue move {issue.id} {next_state(issue)}")


def checkin_text(skills: SkillSet) -> str:
    return ("[dispatcher] check-in: read `breakroom digest`, then post one line with "
            "breakroom say '#breakroom' \"what you are on; anything others should know\" "
            f"— brief: {skills.require('checkin').pointer()}")


def scout_text(project: str, skills: SkillSet) -> str:
    return (f"[dispatcher] next: scout {project} — nothing is actionable in the queue — brief: "
            f"{skills.require('scout').pointer()} — file findings: breakroom issue add \"…\" "
            f"--project {project}")


def _session_action(now: float, s: SessionLike, issues: list[Issue], skills: SkillSet,
                    cfg: DispatcherConfig, memory: Memory, present: set[str]) -> Action | None:
    if skills.get("checkin") and now - memory.last_checkin.get(s.session, now) >= cfg.checkin_interval:
        return Action("checkin", s.session, "checkin", checkin_text(skills), project=s.project)
    work = actionable(issues, s, skills, present)
    if work:
        skill, text = work_text(work[0], skills)
        return Action("work", s.session, skill, text, issue_id=work[0].id, project=work[0].project)
    if s.project and skills.get("scout") and \
            now - memory.last_scout.get(s.project, float("-inf")) >= cfg.scout_interval:
        return Action("scout", s.session, "scout", scout_text(s.project, skills), project=s.project)
    return None


_LABELS = (("busy", "busy"), ("waiting", "waiting on a prompt"), ("error", "in error"),
           ("gone", "not running"), ("held", "held"), ("dnd", "DND"), ("cooldown", "cooling down"),
           ("nothing", "idle with nothing actionable"))


def _why_not(counts: Counter[str]) -> str:
    parts: list[str] = []
    for key, label in _LABELS:
        n = counts.get(key, 0)
        if n:
            noun = "" if parts else (" sessions" if n != 1 else " session")
            parts.append(f"{n}{noun} {label}")
    return "nothing to do: " + (", ".join(parts) if parts else "no sessions")


def _describe(action: Action, issues: list[Issue]) -> str:
    if action.kind == "work":
        issue = next(i for i in issues if i.id == action.issue_id)
        return f"nudged {action.session}: {action.skill} #{issue.id} (P{issue.priority}, {issue.where()})"
    if action.kind == "scout":
        return f"nudged {action.session}: scout project {action.project}"
    return f"nudged {action.session}: check-in"


def decide(now: float, sessions: Sequence[SessionLike], issues: list[Issue], skills: SkillSet,
           cfg: DispatcherConfig, memory: Memory, *, only: str | None = None,
           force: bool = False) -> Decision:
    """Exactly one action for this cycle, or why there is none.

    ``only`` restricts the cycle to one session (a human's ``!nudge``); ``force`` ignores the
    fleet's pause and the cooldown — never the session's state, its hold or its DND.
    """
    present = {s.session for s in sessions}
    if only is not None:
        sessions = [s for s in sessions if s.session == only]
        if not sessions:
            return Decision(None, f"nothing to do: no session {only!r}")
    if memory.paused and not force:
        return Decision(None, "nothing to do: paused")
    counts: Counter[str] = Counter()
    candidates = []
    for s in sessions:
        if s.state == "idle":
            if s.session in memory.held:
                counts["held"] += 1
            elif memory.dnd_until.get(s.session, 0) > now:
                counts["dnd"] += 1
            elif not force and now - memory.last_nudge.get(s.session, float("-inf")) < cfg.cooldown:
                counts["cooldown"] += 1
            else:
                candidates.append(s)
        elif s.state == "working":
            counts["busy"] += 1
        elif s.state.startswith("waiting"):
            counts["waiting"] += 1
        elif s.state.startswith("error"):
            counts["error"] += 1
        else:
            counts["gone"] += 1
    for s in sorted(candidates, key=lambda s: (s.since, s.session)):
        action = _session_action(now, s, issues, skills, cfg, memory, present)
        if action:
            return Decision(action, _describe(action, issues))
        counts["nothing"] += 1
    return Decision(None, _why_not(counts))


# ---------------------------------------------------------------- the database side

def set_dnd(db: sqlite_utils.Database, session: str, minutes: float, *,
            now: float | None = None) -> float | None:
    """Do-not-disturb for ``minutes`` (0 clears it); returns the expiry, or None when cleared."""
    if minutes <= 0:
        db.execute("DELETE FROM dispatch_dnd WHERE session = ?", [session])
        return None
    until = (time.time() if now is None else now) + minutes * 60
    db.execute("INSERT INTO dispatch_dnd (session, until) VALUES (?, ?) "
               "ON CONFLICT(session) DO UPDATE SET until = excluded.until", [session, until])
    return until


def dnd_map(db: sqlite_utils.Database, now: float) -> dict[str, float]:
    return dict(db.execute("SELECT session, until FROM dispatch_dnd WHERE until > ?", [now]).fetchall())


def load_memory(db: sqlite_utils.Database, now: float, sessions: Sequence[SessionLike]) -> Memory:
    """Recent nudges, check-ins, scouts and DND, from the audit trail and digest marks.

    A session the dispatcher has never seen counts as checked in when first seen, so a new
    session gets work before it is asked to chat.
    """
    for s in sessions:
        db.execute("INSERT OR IGNORE INTO dispatch_seen (session, first_seen) VALUES (?, ?)",
                   [s.session, now])
    last_checkin = dict(db.execute("SELECT session, first_seen FROM dispatch_seen").fetchall())

    def later(session: str, ts: float) -> None:
        last_checkin[session] = max(last_checkin.get(session, ts), ts)

    for session, ts in db.execute("SELECT session, max(ts) FROM dispatch_audit WHERE kind = 'checkin' "
                                  "GROUP BY session").fetchall():
        later(session, ts)
    for session, ts in digest.checkin_times(db).items():
        later(session, ts)
    last_nudge = dict(db.execute("SELECT session, max(ts) FROM dispatch_audit WHERE acted = 1 "
                                 "GROUP BY session").fetchall())
    last_scout = dict(db.execute("SELECT project, max(ts) FROM dispatch_audit WHERE kind = 'scout' "
                                 "GROUP BY project").fetchall())
    return Memory(last_nudge=last_nudge, last_checkin=last_checkin, last_scout=last_scout,
                  dnd_until=dnd_map(db, now))


def record(db: sqlite_utils.Database, now: float, decision: Decision) -> int:
    """Write the cycle's audit row; a work nudge also assigns the issue to the session."""
    a = decision.action
    with atomic(db):
        cur = db.execute(
            "INSERT INTO dispatch_audit (ts, acted, kind, session, project, issue_id, skill, reason, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [now, int(a is not None), a and a.kind, a and a.session, a and a.project,
             a and a.issue_id, a and a.skill, decision.reason, a and a.text])
        if a and a.issue_id is not None:
            workqueue.assign(db, a.issue_id, a.session)
    return inserted_id(cur)


def record_delivery(db: sqlite_utils.Database, audit_id: int, outcome: str) -> None:
    """What became of the nudge (``delivered``, ``queued``, ``failed: reason``)."""
    db.execute("UPDATE dispatch_audit SET delivery = ? WHERE id = ?", [outcome, audit_id])


def run_cycle(db: sqlite_utils.Database, cfg: DispatcherConfig, sessions: Sequence[SessionLike],
              skills: SkillSet, *, now: float | None = None, only: str | None = None,
              force: bool = False, paused: bool = False,
              held: Mapping[str, str] | None = None) -> tuple[Decision, int]:
    """One dispatcher cycle against the database: (decision, audit row id).  ``paused``: the
    fleet is paused; ``held``: sessions that get no nudge, and why."""
    now = time.time() if now is None else now
    memory = replace(load_memory(db, now, sessions), paused=paused, held=dict(held or {}))
    issues = workqueue.list_issues(db)
    decision = decide(now, sessions, issues, skills, cfg, memory, only=only, force=force)
    return decision, record(db, now, decision)


@dataclass(frozen=True)
class AuditRow:
    id: int
    ts: float
    acted: bool
    kind: str | None
    session: str | None
    issue_id: int | None
    reason: str
    text: str | None
    delivery: str | None

    def line(self) -> str:
        stamp = datetime.fromtimestamp(self.ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        tail = f" [{self.delivery}]" if self.delivery else ""
        return f"{stamp} #{self.id} {self.reason}{tail}"


def audit(db: sqlite_utils.Database, limit: int = 20) -> list[AuditRow]:
    """The last ``limit`` cycles, oldest first."""
    rows = db.execute("SELECT id, ts, acted, kind, session, issue_id, reason, text, delivery "
                      "FROM dispatch_audit ORDER BY id DESC LIMIT ?", [int(limit)]).fetchall()
    return [AuditRow(r[0], r[1], bool(r[2]), *r[3:]) for r in reversed(rows)]
