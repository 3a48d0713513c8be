"""The work queue: issues, their routing state, comments and every transition.

The state of an issue says who acts next (a planner for ``ready-for-prep``, a builder for
``ready-for-dev``, an adversary for ``qa``, a reviewer for ``review``); the dispatcher reads
it, agents move issues themselves.  Every move is kept with who made it, when and why, so a
human can read how a piece of work travelled.

Priorities are P1 (most urgent) to P5; the default is P3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from breakroom.errors import BreakroomError
from breakroom.record.db import atomic, inserted_id
from breakroom.work.issue_states import ACTIVE_STATES, ISSUE_STATES
from breakroom.work.skills import SkillSet
from breakroom.yamlfile import FileModel, Text, expect, read_yaml_lines, validate

if TYPE_CHECKING:
    import sqlite_utils

PRIORITIES = range(1, 6)
DEFAULT_PRIORITY = 3

# The pipeline: where an issue goes when the work of its state is done.
FORWARD = {"ready-for-prep": "ready-for-dev", "ready-for-dev": "qa", "qa": "review", "review": "done"}

# Moves allowed besides going forward and being blocked: sending work back.
_BACKWARD = {
    "ready-for-dev": {"ready-for-prep"},  # the spec is not buildable
    "qa": {"ready-for-dev"},  # qa broke it
    "review": {"ready-for-dev"},  # changes requested
}


@dataclass(frozen=True)
class Issue:
    id: int
    title: str
    body: str
    project: str | None
    role: str | None
    skill: str | None  # a task issue names its own brief; pipeline issues take it from their state
    priority: int
    state: str
    assignee: str | None
    created_by: str
    created_at: str
    updated_at: str

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def where(self) -> str:
        """Who the issue is for, in words: ``project authexis`` / ``role writer``."""
        parts = []
        if self.project:
            parts.append(f"project {self.project}")
        if self.role:
            parts.append(f"role {self.role}")
        return ", ".join(parts) or "unrouted"


@dataclass(frozen=True)
class Comment:
    id: int
    issue_id: int
    ts: str
    who: str
    text: str


@dataclass(frozen=True)
class Transition:
    id: int
    issue_id: int
    ts: str
    who: str
    from_state: str | None  # None: the issue was created
    to_state: str
    note: str | None


@dataclass(frozen=True)
class Move:
    """The outcome of ``move``: the issue after the move and any handoff issue it created."""

    issue: Issue
    from_state: str
    to_state: str
    who: str
    note: str | None
    handoff: Issue | None

    def announcement(self) -> str:
        """The one channel line that tells everyone about the move."""
        line = (f'[queue] {self.who} moved #{self.issue.id} "{_short(self.issue.title)}" '
                f"{self.from_state} → {self.to_state}")
        if self.note:
            line += f" ({_short(self.note, 120)})"
        if self.handoff:
            line += (f' — handoff: #{self.handoff.id} "{_short(self.handoff.title)}" '
                     f"for {self.handoff.where()}")
        return line


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- validation

def check_state(state: str) -> str:
    if state not in ISSUE_STATES:
        raise BreakroomError(f"unknown state {state!r}; states are: {', '.join(ISSUE_STATES)}")
    return state


def check_priority(priority: Any) -> int:
    if isinstance(priority, str) and priority.upper().startswith("P"):
        priority = priority[1:]
    try:
        value = int(priority)
    except (TypeError, ValueError):
        value = 0
    if value not in PRIORITIES:
        raise BreakroomError(f"priority must be 1 (most urgent) to 5, got {priority!r}")
    return value


def allowed_moves(issue: Issue, blocked_from: str | None = None) -> list[str]:
    """The states ``issue`` may move to now.

    Forward along the pipeline, back to an earlier step when the work failed, to
    ``blocked`` from any active state and out of ``blocked`` to where it was (or back to
    prep).  A task issue (one with its own skill) is done when its brief is done.  ``done``
    is final: follow-up work is a new issue.
    """
    state = issue.state
    if state == "done":
        return []
    if state == "blocked":
        targets = {"ready-for-prep"}
        if blocked_from:
            targets.add(blocked_from)
        return [s for s in ISSUE_STATES if s in targets]
    targets = {FORWARD[state], "blocked"} | _BACKWARD.get(state, set())
    if issue.skill:
        targets.add("done")
    return [s for s in ISSUE_STATES if s in targets]


# ---------------------------------------------------------------- reading

_COLUMNS = ("id, title, body, project, role, skill, priority, state, assignee, created_by, created_at, "
            "updated_at")


def _issue(row: tuple[Any, ...]) -> Issue:
    return Issue(*row)


def get_issue(db: sqlite_utils.Database, issue_id: int) -> Issue:
    row = db.execute(f"SELECT {_COLUMNS} FROM issues WHERE id = ?", [issue_id]).fetchone()
    if row is None:
        raise BreakroomError(f"no issue #{issue_id}")
    return _issue(row)


def list_issues(db: sqlite_utils.Database, *, project: str | None = None, state: str | None = None,
                role: str | None = None, include_done: bool = False) -> list[Issue]:
    """Issues in dispatch order: most urgent first, then oldest."""
    where, params = [], []
    if project is not None:
        where.append("project = ?")
        params.append(project)
    if role is not None:
        where.append("role = ?")
        params.append(role)
    if state is not None:
        where.append("state = ?")
        params.append(check_state(state))
    elif not include_done:
        where.append("state != 'done'")
    sql = f"SELECT {_COLUMNS} FROM issues"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY priority, id"
    return [_issue(r) for r in db.execute(sql, params).fetchall()]


def comments(db: sqlite_utils.Database, issue_id: int) -> list[Comment]:
    rows = db.execute("SELECT id, issue_id, ts, who, text FROM issue_comments WHERE issue_id = ? "
                      "ORDER BY id", [issue_id]).fetchall()
    return [Comment(*r) for r in rows]


def history(db: sqlite_utils.Database, issue_id: int) -> list[Transition]:
    rows = db.execute("SELECT id, issue_id, ts, who, from_state, to_state, note FROM issue_transitions "
                      "WHERE issue_id = ? ORDER BY id", [issue_id]).fetchall()
    return [Transition(*r) for r in rows]


def blocked_from(db: sqlite_utils.Database, issue_id: int) -> str | None:
    """The state an issue was in when it was last blocked."""
    row = db.execute("SELECT from_state FROM issue_transitions WHERE issue_id = ? AND to_state = 'blocked' "
                     "ORDER BY id DESC LIMIT 1", [issue_id]).fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------- writing

def add_issue(db: sqlite_utils.Database, title: str, *, who: str, body: str = "",
              project: str | None = None, role: str | None = None, skill: str | None = None,
              priority: Any = DEFAULT_PRIORITY, state: str = "ready-for-prep",
              at: str | None = None) -> Issue:
    """``at``: when (ISO, UTC) — a generated record's past day; default now."""
    title = " ".join((title or "").split())
    if not title:
        raise BreakroomError("an issue needs a title")
    check_state(state)
    if state == "done":
        raise BreakroomError("a new issue cannot start in state done")
    priority = check_priority(priority)
    ts = at or now_iso()
    with atomic(db):
        cur = db.execute(
            "INSERT INTO issues (title, body, project, role, skill, priority, state, assignee, "
            "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
            [title, body or "", project, role, skill, priority, state, who, ts, ts])
        issue_id = inserted_id(cur)
        db.execute("INSERT INTO issue_transitions (issue_id, ts, who, from_state, to_state, note) "
                   "VALUES (?, ?, ?, NULL, ?, 'created')", [issue_id, ts, who, state])
    return get_issue(db, issue_id)


def comment(db: sqlite_utils.Database, issue_id: int, text: str, *, who: str) -> Comment:
    get_issue(db, issue_id)
    text = (text or "").strip()
    if not text:
        raise BreakroomError("a comment needs some text")
    ts = now_iso()
    cur = db.execute("INSERT INTO issue_comments (issue_id, ts, who, text) VALUES (?, ?, ?, ?)",
                     [issue_id, ts, who, text])
    return Comment(inserted_id(cur), issue_id, ts, who, text)


def assign(db: sqlite_utils.Database, issue_id: int, session: str | None) -> None:
    """Record which session holds the issue in its current state (the dispatcher's nudge)."""
    get_issue(db, issue_id)
    db.execute("UPDATE issues SET assignee = ? WHERE id = ?", [session, issue_id])


def skill_name_for(issue: Issue, state: str, skills: SkillSet) -> str | None:
    """The brief for ``issue`` in ``state``: its own skill, else the skill serving the state."""
    if issue.skill:
        return issue.skill
    skill = skills.for_state(state)
    return skill.name if skill else None


def move(db: sqlite_utils.Database, issue_id: int, to_state: str, *, who: str,
         skills: SkillSet, note: str | None = None, at: str | None = None) -> Move:
    """Move an issue, record who did it, and create the handoff issue when it reaches done.
    ``at``: when (ISO, UTC), as for :func:`add_issue`.

    The handoff: the skill that did the last step (the issue's own, or the one serving the
    state it left) may declare ``next``; the next issue is a task issue for that skill, for
    the role that owns it (or the same project when the skill has no role).
    """
    check_state(to_state)
    issue = get_issue(db, issue_id)
    if to_state == issue.state:
        raise BreakroomError(f"#{issue_id} is already {to_state}")
    allowed = allowed_moves(issue, blocked_from(db, issue_id))
    if to_state not in allowed:
        hint = f"allowed from {issue.state}: {', '.join(allowed)}" if allowed else \
            "done is final; file a new issue for follow-up work"
        raise BreakroomError(f"cannot move #{issue_id} from {issue.state} to {to_state} ({hint})")
    note = (note or "").strip() or None
    ts = at or now_iso()
    with atomic(db):
        db.execute("UPDATE issues SET state = ?, assignee = NULL, updated_at = ? WHERE id = ?",
                   [to_state, ts, issue_id])
        db.execute("INSERT INTO issue_transitions (issue_id, ts, who, from_state, to_state, note) "
                   "VALUES (?, ?, ?, ?, ?, ?)", [issue_id, ts, who, issue.state, to_state, note])
    handoff = _handoff(db, issue, who, skills, ts) if to_state == "done" else None
    return Move(get_issue(db, issue_id), issue.state, to_state, who, note, handoff)


def _handoff(db: sqlite_utils.Database, issue: Issue, who: str, skills: SkillSet,
             at: str) -> Issue | None:
    finished = skill_name_for(issue, issue.state, skills)
    skill = skills.get(finished) if finished else None
    if skill is None or not skill.next:
        return None
    nxt = skills.get(skill.next)
    if nxt is None:
        return None
    role = nxt.roles[0] if nxt.roles else None
    body = (f"Handoff from #{issue.id} \"{issue.title}\" ({finished} done by {who}).\n"
            f"Brief: {nxt.name} — {nxt.description}")
    return add_issue(db, f"{nxt.name}: {issue.title}", who=who, body=body,
                     project=issue.project, role=role, skill=nxt.name,
                     priority=issue.priority, state="ready-for-dev", at=at)


# ---------------------------------------------------------------- import

def _as_check(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A queue check as a model validator: its complaint becomes the field's error."""
    def run(value: Any) -> Any:
        try:
            return check(value)
        except BreakroomError as exc:
            raise ValueError(str(exc)) from None
    return run


class ImportedIssue(FileModel):
    """One entry of an issue import file."""

    title: Annotated[Text, expect(str, "a title (some text)", lambda v: bool(v.strip()))]
    body: Text = ""
    project: Text | None = None
    role: Text | None = None
    skill: Text | None = None
    priority: Annotated[int, BeforeValidator(_as_check(check_priority))] = DEFAULT_PRIORITY
    state: Annotated[Text, AfterValidator(_as_check(check_state))] = "ready-for-prep"


class ImportFile(FileModel):
    issues: list[ImportedIssue]


def import_issues(db: sqlite_utils.Database, path: str | Path, *, who: str) -> list[Issue]:
    """Add every issue of a YAML file (a list, or a mapping with ``issues:``), all or none.

    Each entry: ``title`` (required), ``body``, ``project``, ``role``, ``skill``,
    ``priority`` (1-5), ``state`` (default ready-for-prep).
    """
    path = Path(path)
    raw, lines = read_yaml_lines(path)
    if isinstance(raw, list):  # the short form: the list itself
        raw, lines = {"issues": raw}, {("issues", *loc): line for loc, line in lines.items()}
    if not isinstance(raw, dict):
        raise BreakroomError(f"{path}: expected a list of issues (or a mapping with 'issues:')")
    entries = [entry.model_dump() for entry in validate(ImportFile, raw, source=path, lines=lines).issues]
    with atomic(db):
        return [add_issue(db, who=who, **entry) for entry in entries]
