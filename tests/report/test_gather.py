"""What the page's data says about a small record whose every number is known (conftest)."""

from __future__ import annotations

from datetime import datetime

import pytest

from breakroom.report import gather
from breakroom.report.summary import morning_line, seconds_until
from breakroom.report.window import Window
from support.small_day import MIN, SCRIPT_NICK, T0, write_small_day


@pytest.fixture
def small_day(db, tmp_path):
    return write_small_day(db, tmp_path)


def _rel(spans):
    """(kind or state, start minute, end minute) relative to T0."""
    return [(kind, round((start - T0) / MIN), round((end - T0) / MIN)) for kind, start, end in spans]


def test_timelines_bands_stuck_spells_and_idle_while_work_waited(small_day) -> None:
    report = gather.build(small_day.db, small_day.config, small_day.window)
    days = {s.name: s for s in report.sessions}
    assert list(days) == ["a", "b", "writer"]
    a, b, writer = days["a"], days["b"], days["writer"]
    assert _rel((x.state, x.start, x.end) for x in a.bands) == [("working", 0, 110), ("idle", 110, 240)]
    assert _rel((x.state, x.start, x.end) for x in b.bands) == [("idle", 0, 240)]
    assert _rel((x.state, x.start, x.end) for x in writer.bands) == [
        ("working", 0, 20), ("waiting:question", 20, 45), ("working", 45, 180), ("exited", 180, 240)]
    # a's frozen screen from 1:00 to 1:50 is a stalled spell; idle from 1:50 while #2 (project p) waited
    assert _rel((s.kind, s.start, s.end) for s in a.spells) == [
        ("stalled", 60, 110), ("idle-with-work", 110, 240)]
    assert a.idle_with_work[0].detail == "idle while #2 waited"
    assert _rel((s.kind, s.start, s.end) for s in b.spells) == [("idle-with-work", 0, 240)]
    assert [(s.kind, s.detail) for s in writer.spells] == [("waiting", "waiting on a question")]
    assert writer.seconds["exited"] == 60 * MIN and writer.seconds["waiting"] == 25 * MIN
    assert len(report.stuck) == 2 and len(report.idle_with_work) == 2
    assert report.busiest().name == "writer"  # 2h35m working against a's 1h50m


def test_who_messaged_whom(small_day) -> None:
    messages = gather.build(small_day.db, small_day.config, small_day.window).messages
    assert dict(messages.counts) == {
        ("a", "b"): 4, ("b", "a"): 1, ("alice", "writer"): 2, ("a", "#breakroom"): 2,
        ("knowledge", "alice"): 1, (SCRIPT_NICK, "a"): 1,
        ("dispatcher", "a"): 2, ("sweep", "writer"): 1}  # straight into panes: no channel line
    assert messages.total == 14
    assert messages.senders[:2] == ["a", "b"] and messages.recipients[-1] == "#breakroom"


def test_questions_nudges_and_moves(small_day) -> None:
    report = gather.build(small_day.db, small_day.config, small_day.window)
    assert [(q.asker, q.confidence, q.answered) for q in report.questions] == [
        ("a", 0.9, True), ("alice", 0.2, False)]
    assert [(q.session, q.status, q.confidence) for q in report.sweep_questions] == [
        ("writer", "escalated", 0.4)]
    assert [(n.session, n.kind, n.issue_id) for n in report.nudges] == [("a", "work", 2), ("a", "work", 2)]
    assert report.cycles == 3
    assert [(m.issue_id, m.from_state, m.to_state, m.who) for m in report.moves] == [
        (2, None, "ready-for-prep", "alice"), (2, "ready-for-prep", "ready-for-dev", "a")]
    days = {s.name: s for s in report.sessions}
    assert (days["a"].sent, days["a"].received, days["a"].nudges) == (6, 4, 2)
    assert report.spend == [] and all(s.spend is None for s in report.sessions)


def test_a_window_clips_everything(small_day) -> None:
    """The second hour only: bands cut at its edges, nothing from outside it."""
    window = Window(T0 + 60 * MIN, T0 + 120 * MIN)
    report = gather.build(small_day.db, small_day.config, window)
    a = next(s for s in report.sessions if s.name == "a")
    assert _rel((x.state, x.start, x.end) for x in a.bands) == [("working", 60, 110), ("idle", 110, 120)]
    assert len(report.questions) == 2 and report.nudges == [] and report.messages.total == 0
    assert [m.to_state for m in report.moves] == []


def test_the_morning_line(small_day) -> None:
    report = gather.build(small_day.db, small_day.config, small_day.window)
    assert morning_line(report, "http://127.0.0.1:6680/") == (
        "the last 4h: 3 sessions, busiest writer (2h35m working) · 2 stuck spells (longest a, 50m) · "
        "knowledge 1 answered, 1 didn't know · stuck questions 0 answered, 1 escalated · 2 nudges · "
        "1 issue move — http://127.0.0.1:6680/")


def test_an_empty_record(db, small_day) -> None:
    report = gather.build(db, small_day.config, Window(T0 - 86400 * 30, T0 - 86400 * 29))
    assert report.sessions == [] and report.messages.total == 0 and report.busiest() is None
    assert "0 sessions · no stuck spells" in morning_line(report, "x")


def test_the_morning_line_is_due_at_the_next_daily_at() -> None:
    assert seconds_until("08:00", datetime(2026, 11, 23, 7, 30)) == 30 * 60
    assert seconds_until("08:00", datetime(2026, 11, 23, 8, 0)) == 24 * 3600  # just said: tomorrow
    assert seconds_until("7:05", datetime(2026, 11, 23, 23, 0)) == 8 * 3600 + 5 * 60
