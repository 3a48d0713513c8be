"""A small, exactly known record for the report's tests, written with the engine's writers:
four hours of three sessions (``a``, ``b``, ``writer``), their messages, questions, nudges
and issue moves.  What each part of the page must show follows from it (tests/report/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from breakroom.config import Config, from_dict
from breakroom.fleet import inbox
from breakroom.knowledge.engine import Answer
from breakroom.knowledge.engine import record as record_answer
from breakroom.paths import SKILLS_DIR
from breakroom.record.events import Event, RecordWriter
from breakroom.report.window import Window
from breakroom.sweep.walk import Observation, Sweeper
from breakroom.work import dispatch
from breakroom.work import queue as workqueue
from breakroom.work.dispatch import Action, Decision
from breakroom.work.skills import load_skills

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp()
MIN = 60.0
WALKS = 48  # every 5 minutes for four hours
SCRIPT_NICK = "<b>bold</b>"
HOSTILE = "<script>document.title='pwned'</script> key sk-ant-api03-abcdefghijklmnopqrstuvwx"


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_s(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


@dataclass
class SmallDay:
    db: object
    config: Config
    window: Window


def _observation(session: str, k: int) -> Observation:
    """What the walk at minute 5k saw of ``session``."""
    if session == "a":  # works, then works on a frozen screen (stalled 50m), then idles
        state, text = ("working", f"working on step {'i' * k}") if k < 12 else \
            ("working", "frozen spinner") if k < 22 else ("idle", "❯ ")
    elif session == "b":  # idle all along, while an issue of its project waits
        state, text = "idle", "❯ "
    else:  # writer: a question for 25 minutes, then work, then gone at 3h
        state, text = ("working", f"drafting {'i' * k}") if k < 4 or 9 <= k < 36 else \
            ("waiting:question", "which port does staging use?") if k < 9 else ("exited", "$ ")
    question = "which port does staging use?" if state == "waiting:question" else None
    return Observation(session, "claude-code", state, "test", question, text, "pane")


def write_small_day(db, tmp_path) -> SmallDay:
    config = from_dict({"data_dir": str(tmp_path),  # where the `db` fixture is
                        "sessions": {"a": {"project": "p"}, "b": {"project": "q"},
                                     "writer": {"role": "writer"}}})
    skills = load_skills(SKILLS_DIR)
    # the queue: q's issue waits all day; p's is filed at 0:10 and moved at 0:50
    workqueue.add_issue(db, "q's old issue", who="alice", project="q", state="ready-for-dev",
                        at=iso_s(T0 - 3600))
    p_issue = workqueue.add_issue(db, f"p's new issue {HOSTILE}", who="alice", project="p",
                                  at=iso_s(T0 + 10 * MIN))
    workqueue.move(db, p_issue.id, "ready-for-dev", who="a", skills=skills, at=iso_s(T0 + 50 * MIN))

    sweeper = Sweeper(db, config)
    for k in range(WALKS):
        result = sweeper.record({s: _observation(s, k) for s in ("a", "b", "writer")}, now=T0 + k * 5 * MIN)
        for q in result.questions:
            sweeper.resolve_question(q.qid, "escalated", 0.4, "not sure", now=T0 + k * 5 * MIN + 5)

    writer = RecordWriter(db)
    lines = [("a", "b: hello"), ("a", "b: are you there?"), ("a", "b, ping"), ("b", "a: hi"),
             ("alice", "writer: status?"), ("alice", "writer: and now?"),
             ("a", "everyone hear this"), ("a", "nobody: x"), ("a", f"b: {HOSTILE}")]
    for i, (nick, text) in enumerate(lines):
        writer.add(Event(nick=nick, kind="PRIVMSG", text=text, channel="#breakroom",
                         ts=iso(T0 + (i + 1) * MIN)))
    writer.add(Event(nick="knowledge", kind="PRIVMSG", text="private", target="alice", ts=iso(T0 + 20 * MIN)))
    writer.add(Event(nick="a", kind="NOTICE", text="b: a notice", channel="#breakroom",
                     ts=iso(T0 + 21 * MIN)))
    writer.add(Event(nick="a", kind="PRIVMSG", text="b: replayed", channel="#breakroom",
                     ts=iso(T0 + 22 * MIN), replay=True))
    writer.add(Event(nick="a", kind="PRIVMSG", text="b: yesterday", channel="#breakroom",
                     ts=iso(T0 - 60 * MIN)))
    writer.add(Event(nick=SCRIPT_NICK, kind="PRIVMSG", text="a: hi from a hostile nick",
                     channel="#breakroom", ts=iso(T0 + 23 * MIN)))
    writer.flush()
    for at in (T0 + 30 * MIN, T0 + 130 * MIN):
        inbox.add(db, "a", "dispatcher", "[dispatcher] next: …", now=at)
        dispatch.record(db, at, Decision(Action("work", "a", "build", "[dispatcher] next: …",
                                                issue_id=p_issue.id, project="p"), "nudged a"))
    dispatch.record(db, T0 + 40 * MIN, Decision(None, "nothing to do: 3 sessions busy"))
    inbox.add(db, "writer", "sweep", "[sweep via knowledge] …", now=T0 + 25 * MIN)
    inbox.add(db, "b", "a", "hello", now=T0 + MIN)  # a session's message: its channel line counts

    record_answer(db, Answer("how do we price the workshop?", "By cohort.", 0.9, ["posts/pricing.md"],
                             "offline", asker="a", created=T0 + 60 * MIN))
    record_answer(db, Answer(f"what is {HOSTILE}?", "I don't know.", 0.2, [], "offline", idk=True,
                             asker="alice", created=T0 + 61 * MIN))
    record_answer(db, Answer("before the window", "x", 0.5, [], "offline", asker="a", created=T0 - 60))
    return SmallDay(db, config, Window(T0, T0 + 4 * 3600))
