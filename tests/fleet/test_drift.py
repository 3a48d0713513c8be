"""Drift is loud: a screen no pattern reads for too long, or an agent release newer than any
tested, is told to ops once (through the FleetHost), shows in `breakroom doctor` with the
command that saves the screen, and nothing is typed into such a pane meanwhile.

The engine is driven without IRC (the KeptHost of test_manager_host); one test runs the
whole breakroom to see the NOTICE arrive.  The agents are a program named ``claude`` that
answers ``--version`` and shows a screen (support.fake_agent), in real tmux."""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from breakroom.cli.doctor import _session, render
from breakroom.config import from_dict
from breakroom.fleet import inbox, panestate, screens
from breakroom.fleet.agentversion import VersionProbe, banner_release
from breakroom.fleet.delivery import Deliveries
from breakroom.fleet.drift import UNKNOWN_SCREEN, UNTESTED_RELEASE, DriftWatch
from breakroom.fleet.holds import Holds
from breakroom.fleet.manager import SessionManager
from breakroom.fleet.observer import PaneView
from breakroom.fleet.states import PaneState
from breakroom.fleet.tmux import Tmux
from breakroom.paths import SCREEN_CORPUS
from breakroom.record.db import open_db
from breakroom.sanitize import sanitize
from support.app import next_poll, write_config
from support.fake_agent import RULE, fake_claude
from support.kept_host import KeptHost
from support.wait import wait_until, wait_until_async

IDLE = (f"● Done.\n\n✻ Baked for 2s · done 9:01 PM\n\n{RULE}\n❯\n{RULE}\n"
        "  ⏵⏵ auto mode on (shift+tab to cycle)\n")
NO_FOOTER = f"● Working on it.\n\n{RULE}\n❯\n{RULE}\n"  # the box alone: nothing says idle or busy
NEWEST = panestate.load_profile("claude-code").tested[-1]


def view(state: str, since: float, version: str | None = None, agent: str = "claude-code") -> PaneView:
    return PaneView(session="cc", agent=agent, state=PaneState(state), since=since, reason="", question=None,
                    source="pane", settling=False, pane_id="%1", current_command="claude", text="",
                    version=version)


def test_one_notice_per_spell_of_unknown_and_per_untested_release() -> None:
    watch, now = DriftWatch(unknown_after=60), 1000.0
    assert watch.check({"cc": view("unknown", now - 59)}, now) == []  # not long enough yet
    [drift] = watch.check({"cc": view("unknown", now - 61, NEWEST)}, now)
    assert drift.kind == UNKNOWN_SCREEN and f"claude-code {NEWEST}" in drift.problem
    assert "breakroom screens save cc --state STATE" in drift.text and "nothing is typed" in drift.text
    assert watch.check({"cc": view("unknown", now - 300, NEWEST)}, now) == []  # told once
    assert watch.current["cc"].kind == UNKNOWN_SCREEN  # …and still on the status for doctor
    assert watch.check({"cc": view("idle", now)}, now) == [] and watch.current == {}
    assert len(watch.check({"cc": view("unknown", now - 61)}, now)) == 1  # a new spell is news

    [drift] = watch.check({"cc": view("idle", now, "9.9.9")}, now)
    assert drift.kind == UNTESTED_RELEASE
    assert drift.problem == (f"claude-code 9.9.9 is newer than any release Breakroom was tested with "
                             f"({', '.join(panestate.load_profile('claude-code').tested)})")
    assert watch.check({"cc": view("unknown", now - 600, "9.9.9")}, now) == []  # the release explains it
    assert len(watch.check({"cc": view("idle", now, "9.9.10")}, now)) == 1  # another release: news
    # a program no profile claims is doctor's business (name its agent), not drift
    assert watch.check({"x": view("unknown", now - 600, agent="unknown")}, now) == []
    assert watch.check({"cc": view("idle", now, NEWEST)}, now) == [] and watch.current == {}


def _start(socket: str, name: str, command: str) -> None:
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", name, "-x", "100", "-y", "20", command],
                   check=True)


def _pane(socket: str, name: str) -> str:
    return subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", f"={name}:"],
                          capture_output=True, text=True).stdout


@pytest.mark.timeout(60)
def test_the_fleet_tells_ops_once_and_types_nothing(tmp_path: Path, tmux_socket: str) -> None:
    new = fake_claude(tmp_path / "new", "9.9.9", IDLE)
    lost = fake_claude(tmp_path / "lost", NEWEST, NO_FOOTER)
    _start(tmux_socket, "new", f"exec {new}")
    # the agent below a wrapper process (not a shell: its pane would read exited) is found too
    wrapper = f"import subprocess; subprocess.run([{str(lost)!r}])"
    _start(tmux_socket, "lost", shlex.join([sys.executable, "-c", wrapper]))
    for name, shown in (("new", "auto mode on"), ("lost", "Working on it")):  # not a blank pane
        wait_until(lambda name=name, shown=shown: shown in _pane(tmux_socket, name), 15, f"{name} shown")
    config = from_dict({"data_dir": str(tmp_path / "data"),
                        "tmux": {"socket_name": tmux_socket, "poll_interval": 0.2},
                        "sessions": {"new": {"agent": "claude-code"}, "lost": {"agent": "claude-code"}},
                        "agents": {"unknown_after": 1}, "delivery": {"enter_delay": 0.1}})
    write_config(tmp_path / "breakroom.yaml", config)
    host = KeptHost(config, open_db(tmp_path / "data" / "breakroom.db"))

    async def scenario() -> None:
        tmux = Tmux(tmux_socket)
        manager = SessionManager(host, tmux)
        deliveries = Deliveries(host, manager, tmux, Holds(host.db))
        await manager.start()
        try:
            def status(name: str):
                return next((s for s in manager.status() if s.session == name), None)

            await wait_until_async(lambda: status("new") and status("new").drift
                                   and status("new").state is PaneState.IDLE
                                   and status("lost") and status("lost").drift, 20, "both drifts")
            new_status, lost_status = status("new"), status("lost")
            assert (new_status.version, new_status.state) == ("9.9.9", PaneState.IDLE)
            assert (lost_status.version, lost_status.state) == (NEWEST, PaneState.UNKNOWN)
            queued = await deliveries.deliver("lost", "alice", sanitize("a message for the lost pane"),
                                              hops=0)
            assert queued.status == "queued"
            for _ in range(5):
                await manager.poll()
            told = sorted(host.told)
            assert len(told) == 2, told  # one NOTICE each, however many polls
            assert told[0].startswith("lost: no pattern of claude-code " + NEWEST + " has read its screen")
            assert told[1].startswith("new: claude-code 9.9.9 is newer than any release")
            assert all("breakroom screens save" in t for t in told)
            assert inbox.get(host.db, queued.id).state == inbox.QUEUED  # never typed into it
            assert "a message for the lost pane" not in _pane(tmux_socket, "lost")
            lines = [render(f) for name in ("new", "lost") for f in _session(config, {
                "session": name, "agent": "claude-code", "state": status(name).state,
                "version": status(name).version, "drift": status(name).drift})]
            assert lines[0].startswith("PROBLEM  session new: claude-code 9.9.9, idle: claude-code 9.9.9 "
                                       "is newer than any release")
            assert lines[1].startswith(f"PROBLEM  session lost: claude-code {NEWEST}, unknown: no pattern")
            assert all("fix: breakroom screens save" in line for line in lines)
        finally:
            await manager.stop()
            await deliveries.stop()

    asyncio.run(scenario())


def test_the_release_is_asked_once_per_process(tmp_path: Path, tmux_socket: str) -> None:
    program = fake_claude(tmp_path / "bin", "9.9.9", IDLE)
    calls = tmp_path / "bin" / "calls"
    log = f"open({str(calls)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
    program.write_text(program.read_text().replace("import sys, time\n", "import sys, time\n" + log))
    _start(tmux_socket, "cc", f"exec {program}")
    pid = int(subprocess.run(["tmux", "-L", tmux_socket, "display-message", "-p", "-t", "=cc:",
                              "#{pane_pid}"], capture_output=True, text=True).stdout)
    profile, probe = panestate.load_profile("claude-code"), VersionProbe()
    wait_until(lambda: calls.exists() and "\n" in calls.read_text(), 10, "the agent itself started")
    answers = [probe.ask(pid, profile) for _ in range(3)]
    assert answers[0] is not None and all(a is answers[0] for a in answers)  # asked once
    assert answers[0].result(timeout=10) == probe.release(pid) == "9.9.9"
    assert calls.read_text().splitlines() == ["", "--version"]  # started once, asked once
    assert VersionProbe().release(pid) is None  # nothing known before asking


@pytest.mark.timeout(60)
def test_ops_get_one_notice_through_irc(ircd, running_app, irc_client, tmux_socket, tmp_path: Path) -> None:
    human = irc_client(ircd, "human")
    app = running_app(ircd, services=("scribe", "sweep"), ops=["human"],
                      tmux={"socket_name": tmux_socket, "poll_interval": 0.2},
                      sessions={"cc": {"agent": "claude-code"}})
    _start(tmux_socket, "cc", f"exec {fake_claude(tmp_path / 'bin', '9.9.9', IDLE)}")
    line = human.wait_for(r":sweep!\S+ NOTICE human :cc: claude-code 9\.9\.9 is newer than any release", 20)
    assert "breakroom screens save cc --state STATE" in line
    for _ in range(3):
        next_poll(app)
    assert len(human.seen(r"NOTICE human :cc: claude-code 9\.9\.9")) == 1
    assert not human.seen(r"PRIVMSG #\S+ :cc: claude-code")  # ops are set: not in the channel


def test_every_banner_in_the_corpus_names_the_release_it_was_captured_from() -> None:
    """Each agent profile reads its release off the real screens' banners (the way drift is
    found when the process cannot be asked): the release in the capture's front matter."""
    read = {}
    for screen in screens.corpus(SCREEN_CORPUS):
        profile = panestate.load_profile(screen.agent)
        if screen.version is None or profile.version is None:
            continue
        found = banner_release(screen.text, profile)
        if found is not None:
            read[screen.path.name] = (found, screen.version)
    assert {p.split("-")[0] for p in read} >= {"2.1.197", "2.1.332", "0.171.0", "0.61.0", "0.86.2"}
    assert all(found == captured for found, captured in read.values()), read
