"""The sweep's walk on real tmux panes showing real agent screens (no IRC here)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from breakroom.config import Config, from_dict
from breakroom.knowledge import engine as knowledge
from breakroom.record.db import open_db
from breakroom.sweep.walk import (
    MAX_LINES_PER_WALK,
    Problem,
    Sweeper,
    answer_text,
    clean_question,
    compose_lines,
    history_lines,
    peek,
    summary_line,
)
from breakroom.work import queue as workqueue
from support.screens import screen


def make_config(tmp_path: Path, socket: str, **sweep) -> Config:
    return from_dict({"data_dir": str(tmp_path / "data"), "tmux": {"socket_name": socket},
                      "sessions": {"shop": {"agent": "claude-code", "project": "shop"}},
                      "sweep": sweep, "ops": ["alice"]})


@pytest.fixture
def db(tmp_path):
    return open_db(tmp_path / "data" / "breakroom.db")


def test_two_walks_without_change_say_nothing_then_a_change_says_one_line(fleet, tmp_path, db):
    fleet.show("shop", screen("working/spinner-pondering-bypass-footer.txt"),
               screen("waiting-question/pricing.txt"))
    fleet.show("blog", screen("idle/fresh-start.txt"))
    sweeper = Sweeper(db, make_config(tmp_path, fleet.socket))

    first = sweeper.walk()
    assert first.lines == ["fleet: 2 sessions — 1 working, 1 idle"]
    second = sweeper.walk()
    assert second.lines == [] and not second.changed

    fleet.advance("shop", "per seat or per cohort?")
    third = sweeper.walk()
    assert third.lines == ["fleet: 2 sessions — 1 idle, 1 waiting:question (shop)"]
    assert [q.session for q in third.questions] == ["shop"]


def test_question_is_extracted_once_and_never_asked_twice(fleet, tmp_path, db):
    fleet.show("shop", screen("waiting-question/pricing.txt"))
    sweeper = Sweeper(db, make_config(tmp_path, fleet.socket))
    result = sweeper.walk()
    [question] = result.questions
    assert question.question == "Should the workshop be priced per seat or per cohort?"
    assert question.context == ("I read posts/pricing.md and the voice guide. Before I write the "
                                "copy: the notes disagree on one thing.")
    assert question.qid.startswith("q")
    assert sweeper.walk().questions == []
    sweeper.resolve_question(question.qid, "escalated", 0.2)
    assert Sweeper(db, make_config(tmp_path, fleet.socket)).walk().questions == []  # survives a restart


def test_answered_session_that_asks_again_is_flagged(fleet, tmp_path, db):
    pricing = screen("waiting-question/pricing.txt")
    fleet.show("shop", pricing, screen("working/tool-running.txt"))
    sweeper = Sweeper(db, make_config(tmp_path, fleet.socket))
    [question] = sweeper.walk(now=1000).questions
    sweeper.resolve_question(question.qid, "answered", 0.9, "per cohort", now=1001)
    assert sweeper.walk(now=1002).problems == []  # still showing it, not moved on yet
    fleet.advance("shop", "Bash(npm test)")
    assert sweeper.walk(now=1100).observations["shop"].state == "working"
    # the agent comes back with the very same question
    fleet.server.kill_session("shop")
    fleet.show("shop", pricing)
    result = sweeper.walk(now=1200)
    assert result.questions == []
    assert [p.kind for p in result.new_problems] == ["asked-again"]
    assert result.lines[-1].startswith("alice: shop asks again what the sweep answered")


def answered(pricing: str, *turn: str) -> str:
    """The pricing screen after the sweep typed its answer, with the agent's ``turn`` below."""
    box = pricing.rindex("\n─", 0, pricing.rindex("\n❯")) + 1
    typed = answer_text(0.81, "Per cohort: companies book a whole cohort. — sources: "
                              "posts/pricing.md#Workshops", 90)
    return pricing[:box] + "\n".join([f"❯ {typed}", "", *turn, "", ""]) + pricing[box:]


@pytest.mark.parametrize("turn, wrong", [
    (["⏺ That answer is outdated: the pricing page changed last week. I'll ask alice."], True),
    (["⏺ Thanks, per cohort it is. Writing the copy now."], False),
])
def test_the_agents_reply_to_a_typed_answer_is_read_once_and_a_rejection_recorded(
        fleet, tmp_path, db, turn, wrong):
    pricing = screen("waiting-question/pricing.txt")
    fleet.show("shop", pricing, answered(pricing, *turn, "", "✻ Baked for 3s"))
    sweeper = Sweeper(db, make_config(tmp_path, fleet.socket))
    [question] = sweeper.walk(now=100).questions
    answer = knowledge.record(db, knowledge.Answer(question.question, "Per cohort.", 0.81,
                                                   ["posts/pricing.md#Workshops"], "offline"))
    sweeper.resolve_question(question.qid, "answered", 0.81, "Per cohort.", now=101,
                             answer_id=answer.id)
    assert sweeper.walk(now=102).problems == []  # no reply yet: the question is still shown
    fleet.advance("shop", "Baked for 3s")
    result = sweeper.walk(now=110)
    verdicts = db.execute("SELECT answer_id, judge, right FROM knowledge_feedback").fetchall()
    reply = db.execute("SELECT reply FROM sweep_questions").fetchone()[0]
    assert reply.startswith(turn[0][2:40])
    if wrong:
        assert verdicts == [(answer.id, "shop (agent)", 0)]
        assert [p.kind for p in result.new_problems] == ["answer-rejected"]
        assert result.lines[-1].startswith(f"alice: shop rejected the sweep's answer "
                                           f"[{question.qid}] (k{answer.id}, recorded as wrong)")
    else:
        assert verdicts == [] and result.problems == []
    sweeper.walk(now=120)  # read once: a later walk records nothing more
    assert len(db.execute("SELECT * FROM knowledge_feedback").fetchall()) == len(verdicts)


def test_flags_exited_error_stalled_and_long_permission(fleet, tmp_path, db):
    fleet.show("gone", screen("exited/resume-hint-no-command.txt"))
    fleet.show("broke", screen("error-usage-limit/usage-limit-reached.txt"))
    fleet.show("busy", screen("working/spinner-with-todos.txt"))
    fleet.show("asks", screen("waiting-permission/bash-command.txt"))
    cfg = make_config(tmp_path, fleet.socket, stall_minutes=10, permission_flag_minutes=5)
    sweeper = Sweeper(db, cfg)
    first = sweeper.walk(now=10_000)
    assert {(p.session, p.kind) for p in first.new_problems} == {("gone", "exited"),
                                                                   ("broke", "error:usage-limit")}
    assert len(first.lines) == 3  # summary + the two problems
    later = sweeper.walk(now=10_000 + 11 * 60)
    assert {(p.session, p.kind) for p in later.new_problems} == {("busy", "stalled"),
                                                                   ("asks", "permission")}
    assert any("asks has waited 11m on a permission prompt (Bash command)" in line
               for line in later.lines)
    assert not later.changed and len(later.lines) == 2  # no summary: the picture is the same
    assert sweeper.walk(now=10_000 + 12 * 60).lines == []  # known problems are not repeated


def test_idle_with_queued_work_is_flagged(fleet, tmp_path, db):
    fleet.show("shop", screen("idle/after-turn-bypass-footer.txt"))
    sweeper = Sweeper(db, make_config(tmp_path, fleet.socket, idle_with_work_minutes=20))
    assert sweeper.walk(now=5000).problems == []
    issue = workqueue.add_issue(db, "Refund endpoint", who="alice", project="shop",
                                state="ready-for-dev")
    result = sweeper.walk(now=5000 + 21 * 60)
    assert [p.kind for p in result.new_problems] == ["idle-with-work"]
    assert f"#{issue.id}" in result.new_problems[0].text


def test_identical_captures_stored_once_and_history(fleet, tmp_path, db):
    fleet.show("shop", screen("working/tool-running.txt"), screen("idle/fresh-start.txt"))
    sweeper = Sweeper(db, make_config(tmp_path, fleet.socket))
    for ts in (100, 200, 300):
        sweeper.walk(now=ts)
    fleet.advance("shop", "Welcome")
    sweeper.walk(now=400)
    rows = db.execute("SELECT state, seen, ts, last_seen FROM sweep_captures WHERE session = 'shop' "
                      "ORDER BY id").fetchall()
    assert rows == [("working", 3, 100, 300), ("idle", 1, 400, 400)]
    history = history_lines(db, "shop")
    assert len(history) == 2 and "working" in history[0] and "×3" in history[0]
    assert history_lines(db, "nobody") == []


def test_retention_drops_old_captures(fleet, tmp_path, db):
    fleet.show("shop", screen("working/tool-running.txt"), screen("idle/fresh-start.txt"))
    sweeper = Sweeper(db, make_config(tmp_path, fleet.socket, keep_days=1))
    sweeper.walk(now=0)
    fleet.advance("shop", "Welcome")
    sweeper.walk(now=2 * 86400)
    states = [r[0] for r in db.execute("SELECT state FROM sweep_captures").fetchall()]
    assert states == ["idle"]


def test_hook_state_wins_but_pane_refines_idle_into_question(fleet, tmp_path, db):
    fleet.show("shop", screen("waiting-question/pricing.txt"))
    fleet.show("blog", screen("idle/fresh-start.txt"))
    sweeper = Sweeper(db, make_config(tmp_path, fleet.socket))
    result = sweeper.walk(hooks={"shop": "idle", "blog": "working"})
    assert result.observations["shop"].state == "waiting:question"
    assert result.observations["shop"].source == "pane"
    assert result.observations["blog"].state == "working"
    assert result.observations["blog"].source == "hook"


def test_a_fleet_of_30_is_walked_with_few_tmux_processes(fleet, tmp_path, db, monkeypatch):
    idle = screen("idle/fresh-start.txt")
    for i in range(30):
        fleet.show(f"agent{i:02d}", idle)
    real = shutil.which("tmux")
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "bin" / "tmux"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{wrapper.parent}:{Path(real).parent}")
    sweeper = Sweeper(db, from_dict({"data_dir": str(tmp_path / "data"),
                                     "tmux": {"socket_name": fleet.socket}}))
    first = sweeper.walk()
    first_calls = len(log.read_text().splitlines())
    second = sweeper.walk()
    second_calls = len(log.read_text().splitlines()) - first_calls
    assert first.summary == second.summary == "fleet: 30 sessions — 30 idle"
    # first walk: list + capture, then list + capture again to confirm the idle screens
    assert first_calls == 4
    assert second_calls == 2  # screens unchanged since the last walk: idle is confirmed


def test_peek_scrubs_secrets(fleet, tmp_path):
    fleet.show("shop", "export ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnop\nline two\n")
    cfg = make_config(tmp_path, fleet.socket)
    lines = peek(cfg, "shop", 5)
    assert lines[-1] == "line two"
    assert "sk-ant" not in "\n".join(lines) and "[redacted]" in lines[0]
    assert peek(cfg, "nobody", 5) is None
    private = from_dict({"tmux": {"socket_name": fleet.socket, "exclude": ["sh*"]}})
    assert peek(private, "shop", 5) is None  # excluded from the breakroom: not peekable


def test_summary_and_line_cap():
    from breakroom.sweep.walk import Observation
    obs = {n: Observation(n, "claude-code", s, "", None, "", "pane") for n, s in
           [("a", "working"), ("b", "idle"), ("c", "error:auth"), ("d", "waiting:question"),
            ("e", "waiting:question"), ("f", "waiting:question"), ("g", "waiting:question")]}
    assert summary_line(obs) == ("fleet: 7 sessions — 1 working, 1 idle, 4 waiting:question "
                                 "(d, e, f +1), 1 error:auth (c)")
    assert summary_line({}) == "fleet: no sessions"
    problems = [Problem(str(i), "exited", f"{i} exited") for i in range(6)]
    lines = compose_lines("fleet: …", problems, "ops:")
    assert len(lines) == MAX_LINES_PER_WALK
    assert lines[-1] == "ops: … and 4 more new problems — !fleet for the whole picture"
    assert compose_lines(None, problems[:2], "ops:") == ["ops: 0 exited", "ops: 1 exited"]


def test_clean_question_keeps_the_asking_end():
    long = "Context. " * 60 + "So which branch should I push to?"
    cleaned = clean_question(long)
    assert cleaned.endswith("which branch should I push to?") and len(cleaned) <= 300
    assert clean_question("a\x1b[31m red\nquestion?") == "a red question?"


def test_answer_text_fits_the_delivery_limit():
    reply = "Nicks are at most 31 characters. " * 3 + "— sources: reference/ircd.md#Settings"
    short = answer_text(0.96, "Nicks are at most 31 characters. — sources: reference/ircd.md", 400)
    assert short == ("[sweep via knowledge, confidence 0.96] Nicks are at most 31 characters. "
                     "— sources: reference/ircd.md")
    without_sources = answer_text(0.9, reply, 140)
    assert without_sources.endswith("31 characters.") and "sources" not in without_sources
    cut = answer_text(0.9, "word " * 200, 100)
    assert len(cut) <= 100 and cut.endswith("word…")


def test_a_restarted_sweeper_keeps_the_stall_clock(fleet, tmp_path, db):
    fleet.show("busy", screen("working/spinner-with-todos.txt"))
    cfg = make_config(tmp_path, fleet.socket, stall_minutes=10)
    Sweeper(db, cfg).walk(now=1000)
    restarted = Sweeper(db, cfg)
    assert [p.kind for p in restarted.walk(now=1000 + 11 * 60).new_problems] == ["stalled"]
