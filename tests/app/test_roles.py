"""A hub and two hosts, as three `breakroom up` processes with three private tmux servers:
the hub runs the ircd and service bots, each host its own sessions' bots; sessions of the
same name on two hosts get host-tagged nicks and talk to each other by nick."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import libtmux
import pytest
import yaml

from breakroom.config import from_dict
from breakroom.fleet.tmux import Tmux
from breakroom.irc.ircd import Ircd, free_port
from breakroom.record.db import DB_NAME
from support.cli import BREAKROOM
from support.irc import HAVE_NGIRCD, IrcServer, RawClient
from support.sims import pane_text, wait_pane
from support.wait import wait_value

PASSWORD, KEY = "hubPW12", "hubKEY12"
QUIET = {"default": [{"say": "Noted."}]}
REPLY = {"reactions": [{"on": r"^\[breakroom #\d+\] (?P<sender>[^:]+): (?P<text>.*?) \(reply:",
                        "do": [{"run": BREAKROOM + " say {sender} got: {text}"}]}]}


def _up(folder: Path, role: str, raw: dict) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "breakroom.yaml").write_text(yaml.safe_dump(raw))
    proc = subprocess.Popen([BREAKROOM, "up", "--role", role], cwd=folder, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline() if proc.stdout else ""
    assert f"breakroom is up as {role}" in line, proc.stderr.read() if proc.stderr else line
    return proc


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    return err


@pytest.fixture
def sockets() -> Iterator[list[str]]:
    names = [f"brtest-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    yield names
    for name in names:
        Tmux(name).kill_server()


def _host_config(tmp_path: Path, name: str, port: int, socket: str) -> dict:
    return {"host_name": name, "channel_key": KEY,
            "ircd": {"mode": "external", "host": "127.0.0.1", "port": port, "password": PASSWORD},
            "tmux": {"socket_name": socket, "poll_interval": 0.3},
            "sessions": {"worker": {"agent": "sim", "project": "alpha" if name == "hosta" else None}},
            "delivery": {"enter_delay": 0.1}}


def _sim(tmp_path: Path, socket: str, host: str, script: dict) -> None:
    folder = tmp_path / host
    path = folder / "script.yaml"
    path.write_text(yaml.safe_dump(script))
    env = {"BREAKROOM_CONFIG": str(folder / "breakroom.yaml"), "HOME": os.environ["HOME"]}
    libtmux.Server(socket_name=socket).new_session(
        session_name="worker", x=160, y=40, start_directory=str(folder), environment=env,
        window_command=f"{BREAKROOM} sim-agent --script {path}")


def _names_until(client: RawClient, *nicks: str, timeout: float = 20) -> str:
    """NAMES of the channel, asked again until every one of ``nicks`` is in it."""
    def names() -> str:
        client.send("NAMES #breakroom")
        return client.wait_for(rf" 353 {client.nick} ")
    return wait_value(names, lambda line: all(re.search(rf"[ :@+]{n}\b", line) for n in nicks), timeout,
                      f"{nicks} in the channel", poll=0.2)


@pytest.mark.skipif(not HAVE_NGIRCD, reason="ngircd is not installed")
@pytest.mark.timeout(120)
def test_hub_and_two_hosts(tmp_path: Path, sockets: list[str], cli, shipped_corpus: Path) -> None:
    """Sessions named alike on two hosts talk by nick; the hub's sweep answers the one stuck
    on a question on host B, and its dispatcher nudges the idle one on host A."""
    port = free_port()
    hub_dir = tmp_path / "hub"
    (hub_dir / "data").mkdir(parents=True)
    shutil.copy(shipped_corpus, hub_dir / "data" / DB_NAME)
    on_hub = {"BREAKROOM_CONFIG": str(hub_dir / "breakroom.yaml")}
    hub_config = {"data_dir": "data", "channel_key": KEY,
                  "ircd": {"mode": "ngircd", "port": port, "password": PASSWORD},
                  "tmux": {"socket_name": sockets[0]}, "knowledge": {"corpus": []},
                  "sweep": {"interval": 1}, "dispatcher": {"interval": 1}}
    (hub_dir / "breakroom.yaml").write_text(yaml.safe_dump(hub_config))
    added = cli("issue", "add", "Fix the flaky build", "--project", "alpha", env=on_hub)
    assert added.returncode == 0, added.stderr
    hub = _up(hub_dir, "hub", hub_config)
    procs = [hub]
    try:
        for host, socket in (("hosta", sockets[1]), ("hostb", sockets[2])):
            (tmp_path / host).mkdir()
            (tmp_path / host / "breakroom.yaml").write_text(
                yaml.safe_dump(_host_config(tmp_path, host, port, socket)))
        _sim(tmp_path, sockets[1], "hosta", QUIET)
        _sim(tmp_path, sockets[2], "hostb",
             {"startup": [{"ask": "How often does the sweep walk the fleet?"}], **REPLY})
        for host, socket in (("hosta", sockets[1]), ("hostb", sockets[2])):
            procs.append(_up(tmp_path / host, "host", _host_config(tmp_path, host, port, socket)))
        cfg = from_dict({"ircd": {"port": port, "password": PASSWORD}, "channel_key": KEY})
        human = RawClient(IrcServer(cfg, Ircd("external", "127.0.0.1", port)), "human")
        names = _names_until(human, "worker-hosta", "worker-hostb")
        for nick in ("scribe", "knowledge", "sweep", "dispatcher", "worker-hosta", "worker-hostb"):
            assert re.search(rf"[ :@+]{nick}\b", names), names

        on_a = {"BREAKROOM_CONFIG": str(tmp_path / "hosta" / "breakroom.yaml")}
        fleet = cli("fleet", env=on_a)
        assert fleet.returncode == 0, fleet.stderr
        assert re.search(r"worker\s+hosta\s+worker-hosta\s+sim", fleet.stdout), fleet.stdout
        assert "hostb" not in fleet.stdout  # a host lists its own sessions

        # the sweep answers the question b's agent is stuck on, through b's session bot
        human.wait_for(r":sweep!\S+ PRIVMSG #breakroom :knowledge: \[q[0-9a-f]{4}\] "
                       r"How often does the sweep walk the fleet", 30, since_start=True)
        wait_pane(sockets[2], "worker", "sweep: [sweep via knowledge, confidence", 30)
        # the dispatcher nudges the idle one on a with the queued issue
        wait_pane(sockets[1], "worker", "dispatcher: ", 30)
        # the hub sees both hosts' sessions, by host-tagged nick
        human.say("#breakroom", "!fleet")
        human.wait_for(r":sweep!\S+ PRIVMSG #breakroom :worker-hosta: \S+ .*\(sim\)", 20)
        human.wait_for(r":sweep!\S+ PRIVMSG #breakroom :worker-hostb: \S+ .*\(sim\)", 5, since_start=True)
        fleet = cli("fleet", env=on_hub)
        assert re.search(r"worker-hosta\s+hosta\s+worker-hosta\s+sim", fleet.stdout), fleet.stdout
        assert re.search(r"worker-hostb\s+hostb\s+worker-hostb\s+sim", fleet.stdout), fleet.stdout
        # then a session on a and one on b talk by nick
        said = cli("say", "--as", "worker", "worker-hostb", "hello from a", env=on_a)
        assert said.returncode == 0, said.stderr
        human.wait_for(r":worker-hosta!\S+ PRIVMSG #breakroom :worker-hostb: hello from a")
        # b's agent answers by nick from inside its pane; the answer crosses back to a's pane
        human.wait_for(r":worker-hostb!\S+ PRIVMSG #breakroom :worker-hosta: got: hello from a", 20)
        wait_pane(sockets[1], "worker", "worker-hostb: got: hello from a", 15)
        assert pane_text(sockets[2], "worker").count("worker-hosta: hello from a") == 1

        human.close()
    finally:
        errors = [_stop(p) for p in reversed(procs)]
    assert all("Traceback" not in e for e in errors), errors
    assert all(p.returncode == 0 for p in procs)


def test_roles_refuse_configs_they_cannot_play() -> None:
    from breakroom.app.roles import role_for
    from breakroom.errors import ConfigError

    host = {"host_name": "laptop", "ircd": {"mode": "external", "host": "127.0.0.1"}}
    assert role_for(from_dict(host), "host").sessions
    assert not role_for(from_dict(host), "host").service_bots
    hub = role_for(from_dict({}), "hub")
    assert hub.service_bots and not hub.sessions
    with pytest.raises(ConfigError, match=r"set ircd\.mode: external"):
        role_for(from_dict({"host_name": "laptop"}), "host")
    with pytest.raises(ConfigError, match="set host_name"):
        role_for(from_dict({"ircd": {"mode": "external"}}), "host")
    remote = {**host, "ircd": {"mode": "external", "host": "10.0.0.5", "tls": True,
                               "tls_verify": False}}
    with pytest.raises(ConfigError, match=r"ircd\.tls: true and ircd\.tls_verify: true"):
        role_for(from_dict(remote), "host")
    with pytest.raises(ConfigError, match="host_name: expected a short name"):
        from_dict({"host_name": "has-dash"})
