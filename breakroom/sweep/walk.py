"""The sweep's walk over the fleet: capture, classify, record, compare, report quietly.

A walk has two halves so the IRC loop never blocks and the database is only touched from
the loop thread:

* :meth:`Sweeper.observations` turns the fleet observer's snapshot
  (:mod:`breakroom.fleet.observer`: every pane captured once per poll, classified and
  stabilised once, hook reports applied) into what the sweep keeps — secrets scrubbed,
  questions cleaned.  The running breakroom's sweep reads the snapshot everybody reads; a
  walk from the CLI or a benchmark has :meth:`Sweeper.observe` poll an observer of its own
  (blocking: tmux).
* :meth:`Sweeper.record` (fast, loop thread) stores the captures (identical consecutive
  ones once), compares the picture with the previous walk, and returns what to say: one
  summary line only when the picture changed, one line per *new* problem, never more than
  ``MAX_LINES_PER_WALK`` lines; and the new questions to put to ``knowledge``.

Permission prompts are not the walk's: the relay (:mod:`breakroom.fleet.permissions`) opens
one for every prompt as it appears, and the sweep's policy (``Sweeper.policy``, consulted by
the sweep bot) decides the ones it names through that same path.

The "picture" is the summary line itself (counts per state, naming the sessions in
states that need attention): sessions trading places between working and idle do not
make the channel talk.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from breakroom.config import Config
from breakroom.fleet.capture import capture_joined
from breakroom.fleet.dialogs import read_prompt
from breakroom.fleet.observer import FleetObserver, FleetSnapshot, PaneView
from breakroom.fleet.panestate import question_asks, reply_after
from breakroom.fleet.tmux import Tmux
from breakroom.knowledge.calibration import AGENT
from breakroom.knowledge.engine import judge
from breakroom.knowledge.question import split_question
from breakroom.knowledge.verdict import rejects
from breakroom.sanitize import sanitize, scrub_secrets, strip_controls
from breakroom.sweep.policy import Policy, load_policy
from breakroom.work import dispatch
from breakroom.work import queue as workqueue
from breakroom.work.skills import load_skills

if TYPE_CHECKING:
    import sqlite_utils

MAX_LINES_PER_WALK = 4
NAMED_PER_STATE = 3  # sessions named in the summary per attention state
QUESTION_MAX_CHARS = 300
FLEET_LINES_MAX = 10  # above this many sessions, !fleet answers with a compact summary
CALM_STATES = ("working", "idle")
QUESTION = "waiting:question"
PERMISSION = "waiting:permission"


@dataclass(frozen=True)
class Observation:
    """One session as one walk saw it."""

    session: str
    agent: str
    state: str
    reason: str
    question: str | None
    text: str  # secrets scrubbed
    source: str  # "pane" or "hook"


@dataclass(frozen=True)
class Problem:
    session: str
    kind: str  # stalled | exited | error:KIND | permission | idle-with-work | asked-again
    #          | answer-rejected
    text: str


@dataclass(frozen=True)
class StuckQuestion:
    qid: str  # the request id put in brackets when asking knowledge
    session: str
    question: str  # the sentences that ask (what knowledge is asked)
    context: str = ""  # the rest of the agent's message (it may only help the answer)


@dataclass
class WalkResult:
    at: float  # when the walk was recorded (epoch)
    observations: dict[str, Observation]
    summary: str
    changed: bool
    problems: list[Problem]
    new_problems: list[Problem]
    questions: list[StuckQuestion]
    lines: list[str]  # what to post in the channel, already capped


# ---------------------------------------------------------------- schema


# ---------------------------------------------------------------- small pure helpers


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def shape_hash(text: str) -> str:
    """A hash that ignores numbers: a spinner ticking its timer over a frozen screen is
    still a frozen screen."""
    return _digest(re.sub(r"\d+", "0", text))


def clean_question(text: str) -> str:
    """One line, controls gone, capped; the last sentences when the message is long."""
    text = " ".join(strip_controls(text, keep_newlines=False).split())
    if len(text) <= QUESTION_MAX_CHARS:
        return text
    tail = text[-QUESTION_MAX_CHARS:]
    cut = re.search(r"[.!?:]\s+", tail)  # start at a sentence boundary when there is one
    return tail[cut.end():] if cut and cut.end() < len(tail) - 20 else "…" + tail[1:]


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def summary_line(observations: Mapping[str, Observation]) -> str:
    """``fleet: 12 sessions — 7 working, 3 idle, 1 waiting:question (eclectis), …``"""
    if not observations:
        return "fleet: no sessions"
    by_state: dict[str, list[str]] = {}
    for name in sorted(observations):
        by_state.setdefault(observations[name].state, []).append(name)
    order = [s for s in CALM_STATES if s in by_state]
    order += sorted((s for s in by_state if s not in CALM_STATES), key=lambda s: (-len(by_state[s]), s))
    parts = []
    for state in order:
        names = by_state[state]
        part = f"{len(names)} {state}"
        if state not in CALM_STATES:
            shown = ", ".join(names[:NAMED_PER_STATE])
            more = f" +{len(names) - NAMED_PER_STATE}" if len(names) > NAMED_PER_STATE else ""
            part += f" ({shown}{more})"
        parts.append(part)
    count = len(observations)
    return f"fleet: {count} session{'s' if count != 1 else ''} — {', '.join(parts)}"


def compose_lines(summary: str | None, new_problems: list[Problem], ops: str) -> list[str]:
    """The walk's channel output: the summary (if changed), then one line per new problem,
    never more than MAX_LINES_PER_WALK lines in all."""
    lines = [summary] if summary else []
    room = MAX_LINES_PER_WALK - len(lines)
    if len(new_problems) <= room:
        return lines + [f"{ops} {p.text}" for p in new_problems]
    shown = new_problems[:room - 1]
    hidden = len(new_problems) - len(shown)
    return lines + [f"{ops} {p.text}" for p in shown] + \
        [f"{ops} … and {hidden} more new problems — !fleet for the whole picture"]


ANSWER_HEAD = "[sweep via knowledge"  # how a typed answer starts; the agent's reply follows it


def answer_text(confidence: float, reply: str, max_chars: int) -> str:
    """What the sweep types into a stuck session: attributed, and short enough to be typed
    rather than turned into a pointer (sources go first, then the answer is cut at a word)."""
    head = f"{ANSWER_HEAD}, confidence {confidence:.2f}] "
    reply = " ".join(reply.split())
    if len(head) + len(reply) <= max_chars:
        return head + reply
    body = re.split(r" — (?:nearest )?sources: ", reply, maxsplit=1)[0]
    if len(head) + len(body) <= max_chars:
        return head + body
    room = max_chars - len(head) - 1
    cut = body[:room].rsplit(" ", 1)[0] if " " in body[:room] else body[:room]
    return head + cut + "…"


# ---------------------------------------------------------------- the sweeper


@dataclass
class _Track:
    """What the sweeper remembers about one session between walks."""

    row_id: int
    hash: str
    state: str
    state_since: float
    shape: str
    shape_since: float


class Sweeper:
    """One per running sweep bot (or CLI walk): the previous picture and the record."""

    def __init__(self, db: sqlite_utils.Database, config: Config, policy: Policy | None = None):
        # an exchange with knowledge lives only as long as its process: a question still
        # "asking" was interrupted (a restart), and may be asked again
        db.execute("DELETE FROM sweep_questions WHERE status = 'asking'")
        self.db = db
        self.config = config
        self.policy = policy if policy is not None else load_policy(config.sweep.policy)
        self._observer: FleetObserver | None = None  # only for walks outside a breakroom
        self.summary: str | None = None
        self.problem_keys: set[tuple[str, str]] = set()
        self.last: WalkResult | None = None
        self._tracks: dict[str, _Track] = {}

    # ------------------------------------------------------------ the picture

    def observations(self, snapshot: FleetSnapshot) -> dict[str, Observation]:
        """What the sweep keeps of a fleet snapshot (no tmux, no database)."""
        return {name: _observation(view) for name, view in snapshot.sessions.items()}

    def observe(self, hooks: Mapping[str, str] | None = None) -> dict[str, Observation]:
        """Outside a running breakroom: poll an observer of the sweep's own, confirming
        idle-looking screens (blocking: tmux; no database).  ``hooks``: session -> a
        state just reported by a hook."""
        if self._observer is None:
            self._observer = FleetObserver(self.config, Tmux(self.config.tmux.socket_name))
        for session, state in (hooks or {}).items():
            self._observer.report_hook(session, state)
        return self.observations(self._observer.settle())

    # ------------------------------------------------------------ loop side

    def record(self, observations: Mapping[str, Observation], now: float | None = None) -> WalkResult:
        """Store the walk, compare it with the previous one and say what to report."""
        now = time.time() if now is None else now
        for obs in observations.values():
            self._store(obs, now)
        for gone in set(self._tracks) - set(observations):
            del self._tracks[gone]
        self._prune(now)
        questions, asked_again = self._questions(observations, now)
        problems = (self._problems(observations, now) + asked_again
                    + self._rejections(observations, now))
        summary = summary_line(observations)
        changed = summary != self.summary
        new = [p for p in problems if (p.session, p.kind) not in self.problem_keys]
        self.summary = summary
        self.problem_keys = {(p.session, p.kind) for p in problems}
        result = WalkResult(now, dict(observations), summary, changed, problems, new, questions,
                            compose_lines(summary if changed else None, new, self.config.ops_prefix))
        self.last = result
        return result

    def walk(self, hooks: Mapping[str, str] | None = None, now: float | None = None) -> WalkResult:
        """Observe and record in the calling thread (CLI, benchmarks, tests)."""
        return self.record(self.observe(hooks), now)

    def _restore(self, session: str) -> _Track | None:
        """Rebuild a session's track from the record (after a restart)."""
        rows = self.db.execute(
            "SELECT id, ts, state, hash, shape FROM sweep_captures WHERE session = ? "
            "ORDER BY id DESC LIMIT 200", [session]).fetchall()
        if not rows:
            return None
        row_id, newest, state, content, shape = rows[0]

        def since(column: int, value: str) -> float:
            """When the run of rows sharing ``value`` (newest first) began."""
            start = newest
            for row in rows:
                if row[column] != value:
                    break
                start = row[1]
            return float(start)
        return _Track(row_id, content, state, since(2, state), shape, since(4, shape))

    def _store(self, obs: Observation, now: float) -> None:
        track = self._tracks.get(obs.session) or self._restore(obs.session)
        content, shape = _digest(obs.text), shape_hash(obs.text)
        if track and track.hash == content and track.state == obs.state:
            self.db.execute("UPDATE sweep_captures SET last_seen = ?, seen = seen + 1 WHERE id = ?",
                            [now, track.row_id])
        else:
            cursor = self.db.execute(
                "INSERT INTO sweep_captures (session, ts, last_seen, state, reason, source, hash, "
                "shape, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [obs.session, now, now, obs.state, obs.reason, obs.source, content, shape, obs.text])
            row_id = cursor.lastrowid
            assert row_id is not None  # sqlite3 sets it after every INSERT
            if track is None:
                track = _Track(row_id, content, obs.state, now, shape, now)
            track.row_id, track.hash = row_id, content
        if track.state != obs.state:
            track.state, track.state_since = obs.state, now
        if track.shape != shape:
            track.shape, track.shape_since = shape, now
        self._tracks[obs.session] = track

    def _prune(self, now: float) -> None:
        cutoff = now - self.config.sweep.keep_days * 86400
        self.db.execute("DELETE FROM sweep_captures WHERE last_seen < ?", [cutoff])

    # ------------------------------------------------------------ problems

    def _problems(self, observations: Mapping[str, Observation], now: float) -> list[Problem]:
        cfg = self.config.sweep
        problems: list[Problem] = []
        idle_long: list[Observation] = []
        for name in sorted(observations):
            obs, track = observations[name], self._tracks[name]
            in_state = now - track.state_since
            if obs.state == "exited":
                problems.append(Problem(name, "exited", f"{name} exited ({obs.reason})"))
            elif obs.state.startswith("error:"):
                problems.append(Problem(name, obs.state, f"{name} is in {obs.state} ({obs.reason})"))
            elif obs.state == "working" and now - track.shape_since >= cfg.stall_minutes * 60:
                problems.append(Problem(name, "stalled", f"{name} has shown the same working screen "
                                        f"for {_duration(now - track.shape_since)} — possibly hung"))
            elif obs.state == PERMISSION and in_state >= cfg.permission_flag_minutes * 60:
                tool = read_prompt(name, obs.agent, obs.text).tool
                problems.append(Problem(name, "permission", f"{name} has waited {_duration(in_state)} "
                                        f"on a permission prompt ({tool or 'unnamed'})"))
            elif obs.state == "idle" and in_state >= cfg.idle_with_work_minutes * 60:
                idle_long.append(obs)
        return problems + self._idle_with_work(idle_long, observations, now)

    def _idle_with_work(self, idle: list[Observation], observations: Mapping[str, Observation],
                        now: float) -> list[Problem]:
        """Sessions idle for long while the work queue holds issues routed to them."""
        if not idle:
            return []
        issues = workqueue.list_issues(self.db)
        if not issues:
            return []
        skills, present = load_skills(), set(observations)
        problems = []
        for obs in idle:
            conf = self.config.session(obs.session)
            status = _QueueView(obs.session, obs.state, self._tracks[obs.session].state_since,
                                conf.project, conf.role)
            queued = dispatch.actionable(issues, status, skills, present)
            if queued:
                ids = " ".join(f"#{i.id}" for i in queued[:3])
                idle_for = _duration(now - status.since)
                problems.append(Problem(obs.session, "idle-with-work",
                                        f"{obs.session} has been idle {idle_for} with "
                                        f"{len(queued)} queued issue(s) ({ids})"))
        return problems

    # ------------------------------------------------------------ questions

    def _questions(self, observations: Mapping[str, Observation],
                   now: float) -> tuple[list[StuckQuestion], list[Problem]]:
        """New questions to put to knowledge, and sessions asking again what was answered.

        A (session, question) pair is handled once, ever; a session that got the sweep's
        answer, moved on (any other state seen since) and asks the same again is flagged."""
        new: list[StuckQuestion] = []
        asked_again: list[Problem] = []
        for name in sorted(observations):
            obs = observations[name]
            if obs.state != QUESTION or not obs.question:
                continue
            qhash = _digest(obs.question.lower())
            row = self.db.execute(
                "SELECT qid, status, resolved_at, asked_again_at FROM sweep_questions "
                "WHERE session = ? AND qhash = ?", [name, qhash]).fetchone()
            if row is None:
                qid = self._new_qid()
                self.db.execute(
                    "INSERT INTO sweep_questions (qid, session, question, qhash, asked_at, status) "
                    "VALUES (?, ?, ?, ?, ?, 'asking')", [qid, name, obs.question, qhash, now])
                asked = split_question(obs.question, question_asks(obs.agent))
                new.append(StuckQuestion(qid, name, asked.question, asked.context))
                continue
            qid, status, resolved_at, again_at = row
            if status == "answered" and self._moved_on(name, resolved_at):
                if again_at is None:
                    self.db.execute("UPDATE sweep_questions SET asked_again_at = ? WHERE qid = ?",
                                    [now, qid])
                asked_again.append(Problem(name, "asked-again",
                                           f"{name} asks again what the sweep answered [{qid}]: "
                                           f"{obs.question}"))
        return new, asked_again

    def _moved_on(self, session: str, since: float) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM sweep_captures WHERE session = ? AND state != ? AND last_seen > ? LIMIT 1",
            [session, QUESTION, since]).fetchone()
        return row is not None

    def _new_qid(self) -> str:
        while True:
            qid = "q" + secrets.token_hex(2)
            if not self.db.execute("SELECT 1 FROM sweep_questions WHERE qid = ?", [qid]).fetchone():
                return qid

    def forget_question(self, qid: str) -> None:
        """Drop a question whose exchange never finished, so a later walk asks it again."""
        self.db.execute("DELETE FROM sweep_questions WHERE qid = ? AND status = 'asking'", [qid])

    def resolve_question(self, qid: str, status: str, confidence: float | None = None,
                         answer: str | None = None, now: float | None = None,
                         answer_id: int | None = None) -> None:
        """Record how a question ended: ``answered`` or ``escalated``; ``answer_id``: the
        knowledge answer typed into the session (its reply is read on later walks)."""
        self.db.execute(
            "UPDATE sweep_questions SET status = ?, confidence = ?, answer = ?, resolved_at = ?, "
            "answer_id = ? WHERE qid = ?",
            [status, confidence, answer, time.time() if now is None else now, answer_id, qid])

    def _rejections(self, observations: Mapping[str, Observation], now: float) -> list[Problem]:
        """Read the agent's turn after each answer the sweep typed (once, when the turn is
        over); a turn that rejects the answer is recorded as a verdict against it."""
        rows = self.db.execute(
            "SELECT qid, session, answer_id FROM sweep_questions q WHERE status = 'answered' "
            "AND answer_id IS NOT NULL AND reply IS NULL AND resolved_at = (SELECT max("
            "resolved_at) FROM sweep_questions r WHERE r.session = q.session AND "
            "r.status = 'answered')").fetchall()
        problems = []
        for qid, name, answer_id in rows:
            obs = observations.get(name)
            if obs is None or obs.state not in (QUESTION, "idle"):
                continue
            reply = reply_after(obs.text, obs.agent, ANSWER_HEAD)
            if reply is None:
                continue
            self.db.execute("UPDATE sweep_questions SET reply = ? WHERE qid = ?",
                            [reply[:QUESTION_MAX_CHARS], qid])
            if rejects(reply) and judge(self.db, answer_id, False, name + AGENT, now):
                problems.append(Problem(name, "answer-rejected",
                                        f"{name} rejected the sweep's answer [{qid}] (k{answer_id},"
                                        f" recorded as wrong): {clean_question(reply)}"))
        return problems

    # ------------------------------------------------------------ reading the picture

    def fleet_lines(self, now: float | None = None) -> list[str]:
        """``!fleet``: one line per session, or the summary and problems for a big fleet."""
        if self.last is None:
            return ["fleet: no walk yet"]
        now = time.time() if now is None else now
        observations = self.last.observations
        if len(observations) > FLEET_LINES_MAX:
            return [self.last.summary] + [p.text for p in self.last.problems[:MAX_LINES_PER_WALK]]
        lines = []
        for name in sorted(observations):
            obs = observations[name]
            track = self._tracks.get(name)
            since = f" for {_duration(now - track.state_since)}" if track else ""
            lines.append(f"{name}: {obs.state}{since} ({obs.agent})")
        return lines or ["fleet: no sessions"]


def _observation(view: PaneView) -> Observation:
    """A snapshot's view as the sweep records it: secrets scrubbed, the question cleaned,
    the screen's reason (which quotes the pane) stripped of controls."""
    question = clean_question(scrub_secrets(view.question)) if view.question else None
    reason = scrub_secrets(strip_controls(view.reason, keep_newlines=False))
    return Observation(view.session, view.agent, view.state, reason, question,
                       scrub_secrets(view.text), view.source)


@dataclass  # not frozen: dispatch.SessionLike declares plain (settable) attributes
class _QueueView:
    """The fields of a session status the dispatcher's routing reads."""

    session: str
    state: str
    since: float
    project: str | None
    role: str | None


# ---------------------------------------------------------------- history and peek


def history_lines(db: sqlite_utils.Database, session: str, limit: int = 50) -> list[str]:
    """A session's state timeline from the record, oldest first (``breakroom fleet --history``)."""
    rows = db.execute(
        "SELECT ts, last_seen, seen, state, reason, source FROM sweep_captures WHERE session = ? "
        "ORDER BY id DESC LIMIT ?", [session, limit]).fetchall()
    lines = []
    for ts, last_seen, seen, state, reason, source in reversed(rows):
        start = datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
        until = f" → {datetime.fromtimestamp(last_seen).strftime('%H:%M:%S')}" if seen > 1 else ""
        times = f" ×{seen}" if seen > 1 else ""
        lines.append(f"{start}{until}  {state:<20} {source}{times}  {reason or ''}".rstrip())
    return lines


def peek(config: Config, session: str, lines: int) -> list[str] | None:
    """The last ``lines`` lines of a session's pane, wrapped lines joined, controls stripped
    and secrets scrubbed (None when there is no such session in the fleet: excluded sessions
    stay private)."""
    if not config.tmux.watches(session):
        return None
    text = capture_joined(Tmux(config.tmux.socket_name), session, lines)
    if text is None:
        return None
    return sanitize(text).splitlines()
