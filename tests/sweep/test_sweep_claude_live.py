"""As a new user meets it: the real Claude Code CLI (every pinned release, against the
Messages-API stub) asks a question behind a lead-in; the sweep asks knowledge the question,
its answer clears the bar, and when Claude's next turn rejects the typed answer that is
recorded as a verdict against it.  Skips (with the reason) for a release that is not
installed; CI sets BREAKROOM_REQUIRE_CLAUDE_CODE=1 so a missing release fails instead."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from breakroom.config import KnowledgeConfig, from_dict
from breakroom.knowledge.engine import KnowledgeEngine
from breakroom.sweep.walk import ANSWER_HEAD, Sweeper, WalkResult, answer_text
from support.claude_code import ClaudeSession, kill_server, releases
from support.claude_stub import ClaudeStub
from support.wait import wait_value

SESSION = "writer"
QUESTION = "How often does the sweep walk the fleet?"
LEAD_IN = "I looked into it. Before I go on:"
REJECTION = "That answer is outdated: the interval is set per host now. I'll ask alice instead."


def walk_until(sweeper: Sweeper, ok: Callable[[WalkResult], bool], timeout: float = 15.0) -> WalkResult:
    """Walk until ``ok`` (an idle screen is trusted once two captures agree); each walk takes
    its own captures, so the next one starts at once."""
    return wait_value(sweeper.walk, ok, timeout, "a walk that shows it", poll=0)


@pytest.mark.parametrize("release", releases())
def test_real_claude_asking_behind_a_lead_in_is_answered_and_its_rejection_recorded(
        release, tmp_path, shipped_db):
    stub = ClaudeStub()
    stub.scripted[ANSWER_HEAD] = REJECTION
    socket = f"brsw-{uuid.uuid4().hex[:8]}"
    try:
        claude = ClaudeSession(socket, SESSION, tmp_path, stub.url, release=release, mode="auto")
        claude.wait(lambda s: claude.read(s).state == "idle", 40)
        claude.settle()
        assert claude.deliver(f"say: {LEAD_IN} {QUESTION}") == "delivered"
        claude.wait(lambda s: claude.read(s).state == "waiting:question", 30)
        config = from_dict({"data_dir": str(tmp_path / "data"), "tmux": {"socket_name": socket},
                            "sessions": {SESSION: {"agent": "claude-code"}}})
        sweeper = Sweeper(shipped_db, config)
        [stuck] = walk_until(sweeper, lambda w: bool(w.questions)).questions
        assert (stuck.question, stuck.context) == (QUESTION, LEAD_IN)

        engine = KnowledgeEngine(shipped_db, KnowledgeConfig(backend="offline"))
        answer = engine.ask(f"[{stuck.qid}] {stuck.question}", "sweep", context=stuck.context)
        threshold = config.sweep.answer_min_confidence
        assert answer.confidence >= threshold  # the sweep types it
        assert answer.confidence == pytest.approx(engine.retrieve(QUESTION).confidence)
        assert engine.retrieve(f"{LEAD_IN} {QUESTION}").confidence < threshold  # asked whole

        sweeper.resolve_question(stuck.qid, "answered", answer.confidence, answer.text,
                                 answer_id=answer.id)
        line = answer_text(answer.confidence, answer.text, config.delivery.max_chars)
        assert claude.deliver(line) == "delivered"
        claude.wait(lambda s: "interval is set per host" in s and claude.read(s).state == "idle", 30)
        walked = walk_until(sweeper, lambda w: bool(w.problems))
        assert [p.kind for p in walked.problems] == ["answer-rejected"], claude.screen()
        verdicts = shipped_db.execute(
            "SELECT answer_id, judge, right FROM knowledge_feedback WHERE answer_id = ?",
            [answer.id]).fetchall()
        assert verdicts == [(answer.id, f"{SESSION} (agent)", 0)]
    finally:
        kill_server(socket)
        stub.close()
        for table in ("knowledge_feedback", "sweep_questions", "sweep_captures"):  # shared db
            shipped_db.execute(f"DELETE FROM {table}")
