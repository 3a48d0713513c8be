"""`breakroom up` survives `kill -9` of its ircd with nothing lost and nothing doubled, and
gives up with one clear line when the server cannot come back.

Real ngircd started by `up` itself, real tmux on a private socket with two sim agents, the
real `breakroom` console script; nobody restarts anything by hand.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import libtmux
import pytest
import yaml

from breakroom.config import from_dict
from breakroom.irc.ircd import free_port, port_in_use, wait_for_port
from breakroom.record.db import db_path, open_db
from support.cli import BREAKROOM
from support.irc import HAVE_NGIRCD, IrcServer, RawClient
from support.wait import wait_until

pytestmark = pytest.mark.skipif(not HAVE_NGIRCD, reason="the outage is staged with ngircd")

QUIET = {"default": [{"say": "Noted."}]}



def _ngircd_pid(data_dir: Path) -> int:
    """The ngircd under the child guard whose pid `up` keeps in the pid file."""
    guard = int((data_dir / "ircd" / "ircd.pid").read_text())
    out = subprocess.run(["pgrep", "-P", str(guard)], capture_output=True, text=True).stdout
    return int(out.split()[0])


def _pane(tmux_socket: str, session: str) -> str:
    return subprocess.run(["tmux", "-L", tmux_socket, "capture-pane", "-p", "-J", "-S", "-2000",
                           "-t", f"={session}:"], capture_output=True, text=True).stdout


def _start_up(tmp_path: Path, tmux_socket: str, port: int, **extra: object) -> subprocess.Popen:
    raw = {"ircd": {"port": port, **extra.pop("ircd", {})},  # type: ignore[dict-item]
           "tmux": {"socket_name": tmux_socket, "poll_interval": 0.3},
           "sessions": {"a": {"agent": "sim"}, "b": {"agent": "sim"}},
           # the test plays both agents, alternating: no hop limit for this back and forth
           "delivery": {"enter_delay": 0.1, "rate_limit_per_minute": 600, "hop_limit": 1000},
           **extra}
    (tmp_path / "breakroom.yaml").write_text(yaml.safe_dump(raw))
    up = subprocess.Popen([BREAKROOM, "up", "--only", "scribe"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "breakroom is up" in (up.stdout.readline() if up.stdout else ""), up.stderr
    return up


def _stop(up: subprocess.Popen) -> tuple[str, str]:
    if up.poll() is None:
        up.send_signal(signal.SIGINT)
    return up.communicate(timeout=30)


def _try_human(tmp_path: Path, port: int,
               cli: Callable[..., subprocess.CompletedProcess]) -> RawClient | None:
    try:
        return _human(tmp_path, port, cli)
    except (OSError, AssertionError):  # the server is still starting up
        return None


def _human(tmp_path: Path, port: int, cli: Callable[..., subprocess.CompletedProcess]) -> RawClient:
    info = cli("info").stdout
    password = re.search(r"irssi -c 127\.0\.0\.1 -p \d+ -w (\S+)", info).group(1)  # type: ignore[union-attr]
    key = re.search(r"/join #breakroom (\S+)", info).group(1)  # type: ignore[union-attr]
    cfg = from_dict({"ircd": {"port": port, "password": password}, "channel_key": key})
    return RawClient(IrcServer(cfg, server=None), "human")


@pytest.mark.timeout(240)
def test_kill_9_of_the_ircd_loses_and_doubles_nothing(tmp_path: Path, tmux_socket: str, cli) -> None:
    tmux = libtmux.Server(socket_name=tmux_socket)
    for name in ("a", "b"):
        script = tmp_path / f"{name}.yaml"
        script.write_text(yaml.safe_dump(QUIET))
        tmux.new_session(session_name=name, x=160, y=40, start_directory=str(tmp_path),
                         window_command=f"{BREAKROOM} sim-agent --script {script}")
    port = free_port()
    up = _start_up(tmp_path, tmux_socket, port)
    data = tmp_path / ".breakroom"
    try:
        # 60 messages: a -> b, b -> a and a's lines in the channel; the ircd dies at the 20th
        sent: dict[str, list[str]] = {"a": [], "b": [], "#breakroom": []}
        killed = threading.Event()
        failures: list[str] = []

        def send_all() -> None:
            for i in range(60):
                sender, target = [("a", "b"), ("b", "a"), ("a", "#breakroom")][i % 3]
                text = f"m{i:02d} from {sender}"
                done = cli("say", "--as", sender, target, text)
                if done.returncode != 0:
                    failures.append(done.stderr)
                sent[target].append(text)
                if i == 20:
                    os.kill(_ngircd_pid(data), signal.SIGKILL)
                    killed.set()
        sender_thread = threading.Thread(target=send_all)
        sender_thread.start()
        assert killed.wait(60)
        wait_until(lambda: not port_in_use("127.0.0.1", port), 5, "the server gone")
        wait_for_port("127.0.0.1", port, 30)
        returned = time.monotonic()
        human = wait_until(lambda: _try_human(tmp_path, port, cli), 10, "a human to connect")

        def everyone_back() -> bool:
            human.send("NAMES #breakroom")
            names = human.wait_for(r" 353 human ")
            return all(re.search(rf"[ :@+]{nick}\b", names) for nick in ("a", "b", "scribe"))
        wait_until(everyone_back, 10, "a, b and scribe back in the channel")
        print(f"outage: every bot back in the channel {time.monotonic() - returned:.1f}s after "
              "the server accepted connections again")
        sender_thread.join(120)
        assert not failures, failures
        db = open_db(db_path(data))

        for session, sender in (("b", "a"), ("a", "b")):
            for text in sent[session]:
                wait_until(lambda text=text, session=session: text in _pane(tmux_socket, session), 60,
                      f"{text!r} in {session}'s pane; inbox: "
                      f"{list(db.query('SELECT id, sender, state, reason, text FROM inbox'))}")
            pane = _pane(tmux_socket, session)
            for text in sent[session]:
                assert pane.count(f"] {sender}: {text} (reply") == 1, (text, pane[-2000:])

        def recorded() -> list[str]:
            return [r["text"] for r in db.query(
                "SELECT text FROM events WHERE nick IN ('a', 'b') AND kind = 'PRIVMSG' ORDER BY id")]
        expected = ([f"b: {t}" for t in sent["b"]] + [f"a: {t}" for t in sent["a"]]
                    + sent["#breakroom"])
        wait_until(lambda: set(expected) <= set(recorded()), 10, "every line in the record")
        lines = recorded()
        assert sorted(lines) == sorted(expected)  # each exactly once, nothing else
        human.close()
    finally:
        _, err = _stop(up)
    assert up.returncode == 0, err
    assert "Traceback" not in err
    assert "died (killed by SIGKILL)" in err and "is back" in err
    assert not port_in_use("127.0.0.1", port)


@pytest.mark.timeout(60)
def test_up_gives_up_with_one_line_when_the_ircd_cannot_return(tmp_path: Path, tmux_socket: str) -> None:
    port = free_port()
    up = _start_up(tmp_path, tmux_socket, port, ircd={"max_restarts": 2})
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        os.kill(_ngircd_pid(tmp_path / ".breakroom"), signal.SIGKILL)
        wait_until(lambda: not port_in_use("127.0.0.1", port), 5, "the port to be free")
        squatter.bind(("127.0.0.1", port))  # someone else takes the port before the restart
        squatter.listen()
        up.wait(30)
        _, err = _stop(up)
    finally:
        squatter.close()
        if up.poll() is None:
            _stop(up)
    assert up.returncode != 0
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "could not be restarted (2 attempts" in last and f"port {port} is already in use" in last
