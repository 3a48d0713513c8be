"""The hosts' fleet reports: one line each, decoded only from well-formed reports that
describe their sender; anything else is ignored (it arrives over IRC, untrusted)."""

from __future__ import annotations

import time

from breakroom.fleet.observer import PANE, PaneView
from breakroom.fleet.remote import PREFIX, RemoteFleet, Reporter, decode, encode


def _view(state: str = "waiting:question", question: str | None = "Which port?") -> PaneView:
    return PaneView(session="worker", agent="sim", state=state, since=time.time() - 42,
                    reason="", question=question, source=PANE, settling=False, pane_id="%1",
                    current_command="breakroom", text="screen with a secret sk-ant-xyz")


def test_a_report_round_trips_as_an_age_and_stays_one_line() -> None:
    line = encode("hostb", _view(question="why?\n" + "x" * 2000), "alpha", None)
    assert line.startswith(PREFIX) and "\n" not in line and len(line.encode()) < 400
    assert "sk-ant" not in line  # the screen never crosses the wire
    report = decode("worker-hostb", line)
    assert report is not None
    assert (report.host, report.session, report.state, report.project) == \
        ("hostb", "worker", "waiting:question", "alpha")
    assert abs(time.time() - report.since - 42) < 2
    assert report.view().session == "worker-hostb" and report.view().question.startswith("why? x")


def test_malformed_or_foreign_reports_are_ignored() -> None:
    good = encode("hostb", _view(), None, None)
    assert decode("worker-hosta", good) is None           # a nick that is not hostb's
    assert decode("worker-hostb", "hello there") is None   # not a report
    for body in ("{not json", "[1, 2]", '{"h": "hostb", "st": "dancing", "age": 1}',
                 '{"h": "hostb", "st": "idle", "age": -5}', '{"h": "hostb", "st": "idle"}',
                 '{"h": 7, "st": "idle", "age": 1}'):
        assert decode("worker-hostb", PREFIX + body) is None, body
    fleet = RemoteFleet()
    assert not fleet.take("worker-hostb", PREFIX + "{not json")
    assert fleet.take("worker-hostb", good) and list(fleet.sessions()) == ["worker-hostb"]
    assert fleet.find("WORKER-HOSTB") is not None


def test_a_host_reports_changes_and_not_the_same_state_twice() -> None:
    reporter = Reporter("hostb")
    assert reporter.due(_view("idle", None), None, None) is not None
    assert reporter.due(_view("idle", None), None, None) is None
    assert reporter.due(_view("working", None), None, None) is not None
