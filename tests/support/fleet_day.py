"""A generated day of a fleet, written through the engine's own writers.

The sweep's walks (``Sweeper.record``), the dispatcher's cycles (``dispatch.run_cycle``), the
work queue (``queue.add_issue`` / ``move``), the inboxes (``inbox.add``), knowledge's answers
(``engine.record``), the digest's check-ins and the record's events (``RecordWriter``) — each
at the simulated moment, so the record looks like one a breakroom wrote over the day.

Each session runs a small state machine stepped at every sweep walk: it works for a while
(sometimes on a frozen screen: stalled), waits on a permission prompt or a question, hits
an error, goes idle until the dispatcher nudges it or somebody writes; working sessions
talk to each other, to the channel and to knowledge.  A seeded RNG makes it repeatable.

Used by the report's tests, ``bench/report_build.py`` and the screenshot in docs/.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from breakroom.config import Config, from_dict
from breakroom.fleet import inbox
from breakroom.knowledge.engine import Answer
from breakroom.knowledge.engine import record as record_answer
from breakroom.paths import SKILLS_DIR
from breakroom.record.events import Event, RecordWriter, latest_id
from breakroom.sweep.walk import Observation, Sweeper, answer_text
from breakroom.work import digest, dispatch
from breakroom.work import queue as workqueue
from breakroom.work.queue import FORWARD
from breakroom.work.skills import SkillSet, load_skills

CHANNEL = "#breakroom"
SESSIONS = ["authexis", "shop", "eclectis", "writer", "infra", "billing", "mobile", "search",
            "docs", "api", "webhooks", "analytics", "design", "reviewer", "ops-tools",
            "pricing", "onboarding", "ledger", "mailer", "edge"]
ROLES = {"writer": "writer", "reviewer": "reviewer"}
HUMANS = ["alice", "bob"]
TOPICS = ["the webhook retries", "the flaky build on main", "staging deploys", "the pricing page",
          "the migration that failed", "rate limits on the API", "the release notes",
          "the billing export", "the search index", "the onboarding emails", "the cache keys",
          "the nightly backup", "the feature flag for cohorts", "the tmux socket path"]
QUESTIONS = ["how do we price the workshop?", "which port does staging use?",
             "who owns the billing export?", "what is our retry policy for webhooks?",
             "where do release notes live?", "how long do we keep backups?",
             "what is the style rule for headings?", "which node version do we pin?",
             "how do cohorts get their discount?", "what does the sweep do when it is unsure?"]


@dataclass
class _Session:
    name: str
    state: str = "idle"
    since: float = 0.0
    until: float = 0.0  # when the current state ends on its own
    screen: int = 0  # bumps whenever the pane's text changes
    frozen: bool = False  # working on a frozen screen (a stalled spell)
    issue: int | None = None  # the issue it was nudged with
    question: str | None = None


@dataclass(frozen=True)
class _Status:
    """What the dispatcher reads of a session (``dispatch.SessionLike``)."""

    session: str
    state: str
    since: float
    project: str | None
    role: str | None


@dataclass
class FleetDay:
    """What was written, for tests to compare the page with."""

    config: Config
    start: float
    end: float
    sessions: list[str]
    events: int = 0
    inbox: int = 0
    questions: int = 0
    walks: int = 0
    cycles: int = 0
    nudges: Counter[str] = field(default_factory=Counter)
    moves: int = 0


def fleet_config(data_dir: Path, sessions: list[str], **overrides: object) -> Config:
    """The config of the generated fleet: every session routed to its project or role."""
    raw: dict[str, object] = {
        "data_dir": str(data_dir),
        "sessions": {s: {"role": ROLES[s]} if s in ROLES else {"project": s} for s in sessions},
        "dispatcher": {"checkin_interval": 4 * 3600},  # a check-in every four hours, not every 30 min
        **overrides}
    return from_dict(raw)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def generate(db: sqlite_utils.Database, config: Config, *, sessions: int = 15, hours: float = 24,
             end: float, seed: int = 7, chatter: float = 0.45) -> FleetDay:
    """Write ``hours`` of a fleet of ``sessions`` ending at ``end`` into ``db``."""
    rng = random.Random(seed)
    names = SESSIONS[:sessions]
    walk, cycle_every = config.sweep.interval, config.dispatcher.interval
    start = end - hours * 3600
    day = FleetDay(config, start, end, names)
    skills = load_skills(SKILLS_DIR)
    sweeper = Sweeper(db, config)
    writer = RecordWriter(db)
    fleet = {n: _Session(n, since=start, until=start + rng.uniform(0, 3600)) for n in names}
    exits = rng.choice(names[1:]) if sessions > 1 else None  # one session is closed late in the day

    def say(at: float, nick: str, text: str, target: str | None = None) -> None:
        writer.add(Event(nick=nick, kind="PRIVMSG", text=text, channel=None if target else CHANNEL,
                         target=target, ts=datetime.fromtimestamp(at, UTC).isoformat(
                             timespec="milliseconds").replace("+00:00", "Z")))
        day.events += 1

    def deliver(at: float, session: str, sender: str, text: str) -> None:
        message = inbox.add(db, session, sender, text, now=at)
        inbox.mark_delivered(db, message, now=at + rng.uniform(1, 20))
        day.inbox += 1

    def ask(at: float, asker: str, question: str) -> Answer:
        rid = f"q{rng.randrange(16 ** 4):04x}"
        confidence = round(min(0.97, max(0.03, rng.betavariate(3, 2))), 2)
        idk = confidence < 0.3
        text = "I don't know." if idk else f"From the docs: {question.rstrip('?')} — see the notes."
        answer = record_answer(db, Answer(question, text, confidence, ["docs/notes.md#faq"],
                                          "offline", idk=idk, request_id=rid, asker=asker,
                                          created=at + 1))
        say(at, asker, f"knowledge: [{rid}] {question}")
        say(at + 1, "knowledge", f"{asker}: [{rid}] (confidence {confidence:.2f}) {text}")
        day.questions += 1
        return answer

    # the backlog the day starts with, filed the evening before
    for i in range(max(6, sessions * 2)):
        owner = rng.choice(names)
        route = {"role": ROLES[owner]} if owner in ROLES else {"project": owner}
        workqueue.add_issue(db, f"{rng.choice(TOPICS).capitalize()} ({owner}, part {i + 1})",
                            who=rng.choice(HUMANS), priority=rng.randint(1, 5),
                            state=rng.choice(["ready-for-prep", "ready-for-dev"]),
                            at=_iso(start - rng.uniform(3600, 7200)), **route)

    t = start
    step = 0
    while t < end:
        # ---- the sessions change state
        for s in fleet.values():
            if s.state == "exited":
                continue
            if s.name == exits and t > end - 3 * 3600:
                s.state, s.since = "exited", t
                continue
            if t < s.until:
                if s.state == "working" and not s.frozen:
                    s.screen += 1
                continue
            if s.state == "working":
                if s.issue is not None:
                    _finish(db, s, skills, t, day, rng)
                roll = rng.random()
                if roll < 0.1:
                    s.state, s.until = "waiting:permission", t + rng.uniform(5, 45) * 60
                elif roll < 0.2:
                    s.state, s.until = "waiting:question", t + rng.uniform(5, 30) * 60
                    s.question = rng.choice(QUESTIONS)
                elif roll < 0.24:
                    s.state, s.until = "error:usage-limit", t + rng.uniform(15, 80) * 60
                else:
                    s.state, s.until = "idle", t + rng.uniform(10, 100) * 60
            elif s.state == "idle":
                s.state, s.until, s.frozen = "working", t + rng.uniform(10, 90) * 60, rng.random() < 0.06
            else:  # a wait or an error ends: back to work
                s.state, s.until, s.question = "working", t + rng.uniform(10, 60) * 60, None
            s.since = t
            s.screen += 1

        # ---- the sweep walks
        observations = {s.name: _observe(s) for s in fleet.values()}
        result = sweeper.record(observations, now=t)
        day.walks += 1
        for line in result.lines:
            say(t, "sweep", line)
        for q in result.questions:
            answer = ask(t + 2, "sweep", q.question)
            if not answer.idk and answer.confidence >= config.sweep.answer_min_confidence:
                deliver(t + 4, q.session, "sweep", answer_text(answer.confidence, answer.text, 400))
                sweeper.resolve_question(q.qid, "answered", answer.confidence, answer.text, now=t + 4)
                fleet[q.session].until = t  # unstuck: it works again at the next walk
            else:
                sweeper.resolve_question(q.qid, "escalated", answer.confidence, answer.text, now=t + 4)
                say(t + 4, "sweep", f"ops: {q.session} is stuck on a question [{q.qid}]: {q.question}")

        # ---- the dispatcher's cycle
        if step % max(1, round(cycle_every / walk)) == 0:
            statuses = [_Status(s.name, s.state, s.since, config.session(s.name).project,
                                config.session(s.name).role) for s in fleet.values()]
            decision, audit_id = dispatch.run_cycle(db, config.dispatcher, statuses, skills, now=t + 5)
            day.cycles += 1
            action = decision.action
            if action is not None:
                deliver(t + 5, action.session, "dispatcher", action.text)
                dispatch.record_delivery(db, audit_id, "delivered")
                day.nudges[action.session] += 1
                s = fleet[action.session]
                s.state, s.since, s.until = "working", t + 5, t + rng.uniform(20, 100) * 60
                s.issue, s.frozen = action.issue_id, False
                if action.kind == "checkin":
                    say(t + 60, s.name, f"on {rng.choice(TOPICS)}; nothing blocking")
                    writer.flush()
                    digest.mark(db, s.name, latest_id(db), now=t + 60)

        # ---- talk: sessions to each other, to the channel, to knowledge; people to sessions
        for s in fleet.values():
            if s.state != "working" or rng.random() > chatter:
                continue
            at = t + rng.uniform(10, walk - 10)
            roll = rng.random()
            if roll < 0.55:
                other = rng.choice([n for n in names if n != s.name])
                text = f"{other}: can you look at {rng.choice(TOPICS)}? I changed {rng.choice(TOPICS)}"
                say(at, s.name, text)
                deliver(at, other, s.name, text.split(": ", 1)[1])
            elif roll < 0.8:
                say(at, s.name, f"FYI {rng.choice(TOPICS)} is fixed on main")
            else:
                ask(at, s.name, rng.choice(QUESTIONS))
        if rng.random() < 0.3:
            human, target = rng.choice(HUMANS), rng.choice(names)
            text = f"{target}: how is {rng.choice(TOPICS)} going?"
            at = t + rng.uniform(0, walk)
            say(at, human, text)
            deliver(at, target, human, text.split(": ", 1)[1])

        writer.flush()
        t += walk
        step += 1
    writer.flush()
    return day


def _observe(s: _Session) -> Observation:
    if s.state == "working":
        text = f"● Working on it\n✻ Pondering… step {'x' * (s.screen % 7)}{s.screen * 7 % 13}"
    elif s.state == "waiting:question":
        text = f"● {s.question}\n❯ "
    elif s.state == "waiting:permission":
        text = "Do you want to proceed?\n❯ 1. Yes\n  2. No"
    elif s.state.startswith("error"):
        text = "⎿  Usage limit reached · resets at 5pm"
    elif s.state == "exited":
        text = "$ "
    else:
        text = f"✻ Brewed for {s.screen}m\n❯ "
    return Observation(s.name, "claude-code", s.state, "generated", s.question if
                       s.state == "waiting:question" else None, f"{text}\n{s.screen}", "pane")


def _finish(db: sqlite_utils.Database, s: _Session, skills: SkillSet, t: float, day: FleetDay,
            rng: random.Random) -> None:
    """The session moves the issue it was nudged with one step on."""
    assert s.issue is not None
    issue = workqueue.get_issue(db, s.issue)
    s.issue = None
    if not issue.active:
        return
    target = "done" if issue.skill else FORWARD[issue.state]
    if rng.random() < 0.1 and issue.state in ("qa", "review"):
        target = "ready-for-dev"  # sent back
    workqueue.move(db, issue.id, target, who=s.name, skills=skills, note="generated day",
                   at=_iso(t))
    day.moves += 1
