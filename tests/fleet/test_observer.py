"""The fleet observer: one capture per poll, one picture for every consumer.

Real tmux on a private socket; tmux processes are counted by a logging wrapper put first on
PATH (``tmux_calls``), so every invocation of the real tmux is seen.
"""

from __future__ import annotations

import pytest

from bots.dispatcher import Dispatcher
from bots.sweep import SweepBot
from breakroom.config import from_dict
from breakroom.fleet.observer import FleetObserver
from breakroom.fleet.tmux import Tmux
from breakroom.record.db import open_db
from breakroom.sweep.walk import Sweeper
from support.screens import screen
from support.wait import wait_until

IDLE_SCREEN = screen("idle/fresh-start.txt")


def _wait_for_text(observer: FleetObserver, names: list[str]) -> None:
    """Poll the observer itself until every pane of ``names`` shows text."""
    def all_shown() -> bool:
        views = observer.poll().sessions
        return all(name in views and views[name].text for name in names)
    wait_until(all_shown, 10, f"text in every pane of {names}")


def _config(tmp_path, socket: str):
    return from_dict({"data_dir": str(tmp_path / "data"), "tmux": {"socket_name": socket},
                      "sessions": {"agent": {"agent": "claude-code"}}})


def test_one_poll_is_one_capture_however_many_read_it(tmux_socket, tmux_calls, fleet, tmp_path):
    tmux = Tmux(tmux_socket)
    names = [f"s{i}" for i in range(6)]
    for name in names:
        fleet.show(name, f"output of {name}\n")
    config = _config(tmp_path, tmux_socket)
    observer = FleetObserver(config, tmux)
    _wait_for_text(observer, names)

    before = tmux_calls()
    snapshot = observer.poll()
    assert tmux_calls() - before == 2  # one list-panes + one invocation with every capture
    assert sorted(snapshot.sessions) == names

    # the sweep, `!fleet` and the dispatcher all read that one snapshot: no tmux at all
    sweeper = Sweeper(open_db(tmp_path / "data" / "breakroom.db"), config)
    result = sweeper.record(sweeper.observations(observer.snapshot))
    states = {name: view.state for name, view in observer.snapshot.sessions.items()}
    assert {name: obs.state for name, obs in result.observations.items()} == states
    assert len(sweeper.fleet_lines()) == len(names)
    assert tmux_calls() - before == 2


def test_a_partial_poll_keeps_the_other_sessions(tmux_socket, fleet, tmp_path):
    tmux = Tmux(tmux_socket)
    for name in ("a", "b"):
        fleet.show(name, f"pane {name}\n")
    observer = FleetObserver(_config(tmp_path, tmux_socket), tmux)
    _wait_for_text(observer, ["a", "b"])
    first = observer.snapshot
    partial = observer.poll(["a"])
    assert set(partial.sessions) == {"a", "b"}
    assert partial.sessions["b"] is first.sessions["b"]
    tmux.server.kill_session("b")
    assert set(observer.poll().sessions) == {"a"}


def test_idle_needs_two_identical_captures_and_hooks_win_while_fresh(tmux_socket, fleet, tmp_path):
    tmux = Tmux(tmux_socket)
    fleet.show("agent", IDLE_SCREEN)
    observer = FleetObserver(_config(tmp_path, tmux_socket), tmux)
    _wait_for_text(observer, ["agent"])
    observer.touched("agent")  # forget what the waiting polls proved
    first = observer.poll().sessions["agent"]
    assert first.settling and first.state == "working"
    settled = observer.settle().sessions["agent"]
    assert not settled.settling and settled.state == "idle" and settled.source == "pane"

    reported = observer.report_hook("agent", "working")
    assert reported is not None and reported.state == "working" and reported.source == "hook"
    assert observer.poll().sessions["agent"].source == "hook"  # fresh: the screen has not changed
    observer.touched("agent")  # our keys went in: the hook report is stale
    assert observer.settle().sessions["agent"].source == "pane"
    with pytest.raises(ValueError):
        observer.report_hook("agent", "dancing")


@pytest.mark.timeout(60)
def test_the_running_breakroom_captures_once_per_poll_for_every_reader(
        ircd, running_app, tmux_socket, tmux_calls, fleet):
    for name in ("a", "b", "c"):
        fleet.show(name, IDLE_SCREEN)
    thread = running_app(ircd, services=("scribe", "sweep", "dispatcher"),
                         tmux={"socket_name": tmux_socket, "poll_interval": 3600},
                         sweep={"interval": 3600},
                         sessions={n: {"agent": "claude-code"} for n in ("a", "b", "c")})
    manager = thread.app.sessions
    thread.wait_until(lambda: [s.state for s in manager.status()] == ["idle"] * 3, 10, "idle")
    sweep = thread.app.bots["sweep"].get_plugin(SweepBot)
    thread.wait_until(lambda: sweep.sweeper.last, 10, "the sweep's first walk")

    before = tmux_calls()
    walk = thread.call(sweep.walk())  # the sweep's walk is one shared poll
    assert tmux_calls() - before == 2  # one list-panes + one invocation with every capture
    # everyone else reads the picture that poll published
    thread.call(thread.app.bots["dispatcher"].get_plugin(Dispatcher).cycle())
    fleet = thread.call(thread.app.session_ops.fleet({}))
    assert tmux_calls() - before == 2
    assert {s["session"]: s["state"] for s in fleet["sessions"]} == \
        {name: obs.state for name, obs in walk.observations.items()}
