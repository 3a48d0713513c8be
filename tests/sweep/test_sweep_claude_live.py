"""As a new user meets it: the real Claude Code CLI (against the Messages-API stub) asks a
question behind a lead-in; the sweep asks knowledge the question, its answer clears the bar,
and when Claude's next turn rejects the typed answer that is recorded as a verdict against
it.  Skips (with the reason) when Claude Code is not installed; CI sets
BREAKROOM_REQUIRE_CLAUDE_CODE=1 so a missing install fails instead."""

from __future__ import annotations

import os
import uuid

import pytest

from breakroom.config import KnowledgeConfig, from_dict
from breakroom.fleet.pane import type_into_pane
from breakroom.fleet.panestate import detect, typing_patterns
from breakroom.fleet.tmux import Tmux
from breakroom.knowledge.engine import KnowledgeEngine
from breakroom.sweep.walk import ANSWER_HEAD, Sweeper, answer_text
from support.claude_code import capture, missing_reason, pane_command, start_claude, wait_screen, write_home
from support.claude_stub import ClaudeStub

_missing = missing_reason()
if _missing and os.environ.get("BREAKROOM_REQUIRE_CLAUDE_CODE"):
    raise RuntimeError(f"BREAKROOM_REQUIRE_CLAUDE_CODE is set but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

SESSION = "writer"
QUESTION = "How often does the sweep walk the fleet?"
REJECTION = "That answer is outdated: the interval is set per host now. I'll ask alice instead."


def test_real_claude_asking_behind_a_lead_in_is_answered_and_its_rejection_recorded(
        tmp_path, shipped_db):
    stub = ClaudeStub()
    stub.scripted[ANSWER_HEAD] = REJECTION
    socket = f"brsw-{uuid.uuid4().hex[:8]}"
    write_home(tmp_path / "home", tmp_path / "work")
    start_claude(socket, SESSION, tmp_path / "work", tmp_path / "home", stub.url)
    tmux = Tmux(socket)

    def state(screen: str) -> str:
        return detect(screen, "claude-code", pane_command(socket, SESSION)).state

    try:
        wait_screen(socket, SESSION, lambda s: state(s) == "idle", 40)
        typed = type_into_pane(tmux, SESSION, f"say: I looked into it. Before I go on: {QUESTION}",
                               patterns=typing_patterns("claude-code"))
        assert typed.status == "delivered"
        wait_screen(socket, SESSION, lambda s: state(s) == "waiting:question", 30)
        config = from_dict({"data_dir": str(tmp_path / "data"), "tmux": {"socket_name": socket},
                            "sessions": {SESSION: {"agent": "claude-code"}}})
        sweeper = Sweeper(shipped_db, config)
        [stuck] = sweeper.walk().questions
        assert (stuck.question, stuck.context) == (QUESTION, "I looked into it. Before I go on:")

        engine = KnowledgeEngine(shipped_db, KnowledgeConfig(backend="offline"))
        answer = engine.ask(f"[{stuck.qid}] {stuck.question}", "sweep", context=stuck.context)
        assert answer.confidence >= config.sweep.answer_min_confidence  # the sweep types it
        assert answer.confidence == pytest.approx(engine.retrieve(QUESTION).confidence)
        whole = engine.retrieve(f"I looked into it. Before I go on: {QUESTION}")
        assert whole.confidence < config.sweep.answer_min_confidence  # what it scored before

        sweeper.resolve_question(stuck.qid, "answered", answer.confidence, answer.text,
                                 answer_id=answer.id)
        line = answer_text(answer.confidence, answer.text, config.delivery.max_chars)
        assert type_into_pane(tmux, SESSION, line,
                              patterns=typing_patterns("claude-code")).status == "delivered"
        wait_screen(socket, SESSION, lambda s: "interval is set per host" in s
                    and state(s) == "idle", 30)
        walked = sweeper.walk()
        if not any(p.kind == "answer-rejected" for p in walked.problems):
            walked = sweeper.walk()  # an idle screen is trusted once two captures agree
        assert [p.kind for p in walked.problems] == ["answer-rejected"], capture(socket, SESSION)
        verdicts = shipped_db.execute(
            "SELECT answer_id, judge, right FROM knowledge_feedback WHERE answer_id = ?",
            [answer.id]).fetchall()
        assert verdicts == [(answer.id, f"{SESSION} (agent)", 0)]
    finally:
        tmux.kill_server()
        stub.close()
        shipped_db.execute("DELETE FROM knowledge_feedback")
