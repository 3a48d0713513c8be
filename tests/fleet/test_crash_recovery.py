"""``kill -9`` of ``breakroom up`` while it types a message (its Enter still to come) with
more messages queued behind it; on restart the leftover is cleared from the agent's input
line first, and every message reaches the pane exactly once.  Real `breakroom up` (with its
own ngircd), real tmux, the simulated agent."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import libtmux
import pytest
import yaml

from breakroom.config import from_dict
from breakroom.fleet import inbox
from breakroom.fleet.pane import look, resolve_pane
from breakroom.fleet.tmux import Tmux
from breakroom.irc.ircd import free_port
from breakroom.record.db import db_path, open_db
from support.cli import BREAKROOM
from support.irc import IrcServer, RawClient
from support.sims import QUIET_SCRIPT, pane_text
from support.wait import wait_until


def write_config(tmp_path: Path, port: int, tmux_socket: str, enter_delay: float) -> None:
    (tmp_path / "breakroom.yaml").write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"), "ircd": {"port": port},
        "tmux": {"socket_name": tmux_socket, "poll_interval": 0.3},
        "sessions": {"b": {"agent": "sim"}}, "delivery": {"enter_delay": enter_delay}}))


@pytest.fixture
def start_up(tmp_path: Path):
    """start_up() -> a running `breakroom up`; any still running at the end is killed."""
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        up = subprocess.Popen([BREAKROOM, "up", "--only", "scribe"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(up)
        assert "breakroom is up" in up.stdout.readline()
        return up

    yield start
    for up in started:
        if up.poll() is None:
            up.kill()
            up.communicate(timeout=10)


def ircds_of(tmp_path: Path) -> list[str]:
    """Running ircd processes started for this test's data dir."""
    found = subprocess.run(["pgrep", "-a", "-f", f"ircd.*{tmp_path}"], check=False,
                           capture_output=True, text=True)
    return found.stdout.splitlines()


@pytest.mark.timeout(120)
def test_a_crash_mid_typing_leaves_nothing_behind(tmp_path, tmux_socket, cli, start_up):
    port = free_port()
    write_config(tmp_path, port, tmux_socket, enter_delay=30)  # Enter comes long after the text
    script = tmp_path / "b.yaml"
    script.write_text(yaml.safe_dump(QUIET_SCRIPT))
    libtmux.Server(socket_name=tmux_socket).new_session(
        session_name="b", x=160, y=40, start_directory=str(tmp_path),
        environment={"BREAKROOM_CONFIG": str(tmp_path / "breakroom.yaml")},
        window_command=f"{BREAKROOM} sim-agent --script {script}")
    up = start_up()
    info = cli("info").stdout
    password = re.search(r" -w (\S+)", info).group(1)
    key = re.search(r"/join #breakroom (\S+)", info).group(1)
    human = RawClient(IrcServer(from_dict({"ircd": {"port": port, "password": password},
                                           "channel_key": key}), server=None), "human")
    try:
        human.wait_for(r":b!\S+ JOIN| 353 human = #breakroom :.*\bb\b", since_start=True)
        texts = ["first message", "second message", "third message"]
        for text in texts:
            human.say("#breakroom", f"b: {text}")
        # all three stored, the first in the input line with its Enter 30 s away: kill -9 now
        db = open_db(db_path(tmp_path / "data"))
        wait_until(lambda: "❯ [breakroom #1] human: first message" in pane_text(tmux_socket, "b")
                   and len(inbox.for_session(db, "b")) == 3, 10,
                   "the first message typed, all three stored")
        assert ircds_of(tmp_path), "the test must see the ircd it expects to go"
        up.send_signal(signal.SIGKILL)
        up.communicate(timeout=10)
        # the ircd goes with it (childguard): no orphan
        wait_until(lambda: not ircds_of(tmp_path), 5,
                   lambda: f"no orphans after kill -9: {ircds_of(tmp_path)}")
        assert "[breakroom #1]" in look(Tmux(tmux_socket), resolve_pane(Tmux(tmux_socket), "b")).draft()
    finally:
        human.close()

    write_config(tmp_path, port, tmux_socket, enter_delay=0.1)
    up = start_up()
    try:
        wait_until(lambda: {m.state for m in inbox.for_session(db, "b")} == {"delivered"}, 15,
                   lambda: f"every message delivered: {inbox.for_session(db, 'b')}")
        messages = sorted(inbox.for_session(db, "b"), key=lambda m: m.id)
        assert [(m.text, m.state) for m in messages] == [(t, "delivered") for t in texts]
        screen = pane_text(tmux_socket, "b")
        for number, text in enumerate(texts, 1):
            assert screen.count(f"> [breakroom #{number}] human: {text}") == 1, screen
        assert look(Tmux(tmux_socket), resolve_pane(Tmux(tmux_socket), "b")).draft() == ""
    finally:
        up.send_signal(signal.SIGINT)
        _, err = up.communicate(timeout=30)
    assert up.returncode == 0 and "Traceback" not in err, err
    assert ircds_of(tmp_path) == []
