"""Two ngircd servers linked from ``ircd.links``: one channel across both, and a link that
heals after one side is killed with SIGKILL and started again."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from breakroom.config import Config, from_dict
from breakroom.errors import BreakroomError, ConfigError
from breakroom.irc.ircd import Ircd, free_port, render_ngircd_conf, start_ircd
from breakroom.secrets import fill_secrets
from support.app import AppThread, app_config
from support.irc import HAVE_NGIRCD, IrcServer, RawClient
from support.wait import wait_until

pytestmark = pytest.mark.skipif(not HAVE_NGIRCD, reason="ngircd is not installed")


def _pair(tmp_path: Path) -> tuple[Config, Config]:
    """Two servers sharing password and channel key; ``b`` dials ``a``."""
    port_a, port_b = free_port(), free_port()
    shared = {"password": "linkedPW1", "oper_password": "operPW1"}
    link = "ln4secret"
    a = from_dict({"data_dir": str(tmp_path / "a"), "channel_key": "chanKEY1",
                   "ircd": {"mode": "ngircd", "port": port_a, "server_name": "a.breakroom",
                            **shared, "links": [{"name": "b.breakroom", "password": link}]}})
    b = from_dict({"data_dir": str(tmp_path / "b"), "channel_key": "chanKEY1",
                   "ircd": {"mode": "ngircd", "port": port_b, "server_name": "b.breakroom",
                            **shared, "links": [{"name": "a.breakroom", "port": port_a,
                                                 "password": link, "dial": True}]}})
    return fill_secrets(a), fill_secrets(b)


def _kill_ngircd(server: Ircd) -> None:
    """SIGKILL the ngircd itself (not its guard), as a crash would."""
    assert server.proc is not None
    child = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, check=False,
                           text=True).stdout.split()
    assert child, "ngircd runs under its guard"
    os.kill(int(child[0]), signal.SIGKILL)
    server.proc.wait(10)


def _await_on(client: RawClient, nick: str, server: str, timeout: float = 30) -> None:
    """Ask WHOIS until ``nick`` shows up on ``server`` (the link carries it), or fail."""
    def seen_there() -> bool:
        start = len(client.lines)
        client.send(f"WHOIS {nick}")
        client.wait_for(rf" 318 {client.nick} {nick} ")
        return any(f" 312 {client.nick} {nick} {server} " in line for line in client.lines[start:])
    wait_until(seen_there, timeout, f"{nick} on {server} for {client.nick}", poll=0.2)


def test_links_render_as_server_blocks(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    text_b = render_ngircd_conf(b, tmp_path / "rendered-b").read_text()
    assert "Name = b.breakroom" in text_b
    block = text_b.split("[Server]", 1)[1]
    assert "Name = a.breakroom" in block and f"Port = {a.ircd.port}" in block
    assert "MyPassword = ln4secret" in block and "PeerPassword = ln4secret" in block
    passive = render_ngircd_conf(a, tmp_path / "rendered-a").read_text().split("[Server]", 1)[1]
    assert "Port =" not in passive  # the side that does not dial waits


def test_bad_links_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ircd\.links\[0\]\.port: expected an integer 1-65535"):
        from_dict({"ircd": {"links": [{"name": "x.y", "password": "p", "port": 0}]}})
    with pytest.raises(ConfigError, match=r"ircd\.links\[0\]\.name: expected a server name"):
        from_dict({"ircd": {"links": [{"name": "nodot", "password": "p"}]}})
    with pytest.raises(ConfigError, match=r"ircd\.links\[0\]\.password: required"):
        from_dict({"ircd": {"links": [{"name": "x.y"}]}})
    mini = from_dict({"data_dir": str(tmp_path / "m"),
                      "ircd": {"mode": "miniircd", "port": free_port(),
                               "links": [{"name": "x.y", "password": "p"}]}})
    with pytest.raises(BreakroomError, match=r"ircd\.links needs ngircd"):
        start_ircd(fill_secrets(mini))


@pytest.mark.timeout(120)
def test_linked_servers_carry_one_channel_and_heal(tmp_path: Path, irc_client) -> None:
    cfg_a, cfg_b = _pair(tmp_path)
    srv_a = IrcServer(cfg_a, start_ircd(cfg_a))
    srv_b = IrcServer(cfg_b, start_ircd(cfg_b))
    bots_a = AppThread(app_config(srv_a, tmp_path / "app-a"), ("scribe",))
    bots_b = AppThread(app_config(srv_b, tmp_path / "app-b"), ("dispatcher",))
    try:
        bots_a.start()
        bots_b.start()
        alice = irc_client(srv_a, "alice")   # a human on each side
        bob = irc_client(srv_b, "bob")
        # the link is up once a client on one side sees the other's bot in the channel
        _await_on(alice, "dispatcher", "b.breakroom")
        alice.say(srv_a.channel, "hello from a")
        bob.wait_for(r":alice!\S+ PRIVMSG #breakroom :hello from a")
        bob.say("alice", "privately, from b")
        alice.wait_for(r":bob!\S+ PRIVMSG alice :privately, from b")
        # the scribe (on a) hears b's side of the channel
        bots_a.wait_until(lambda: any(e["text"] == "hello from a" for e in
                                      bots_a.app.db.query("select text from events")),
                          10, "the scribe recorded the line")

        _kill_ngircd(srv_b.server)
        alice.wait_for(r":dispatcher!\S+ QUIT :a\.breakroom b\.breakroom", 20)  # a netsplit
        srv_b.server = start_ircd(cfg_b)     # the same config, as a supervisor would
        # b's bot reconnects to b, b redials a, and a's side sees it rejoin
        _await_on(alice, "dispatcher", "b.breakroom", 60)
        carol = irc_client(srv_b, "carol")
        carol.say(srv_b.channel, "back on b")
        alice.wait_for(r":carol!\S+ PRIVMSG #breakroom :back on b", 20)
        alice.say("carol", "welcome back")
        carol.wait_for(r":alice!\S+ PRIVMSG carol :welcome back")
        carol.send("NAMES #breakroom")
        assert "scribe" in carol.wait_for(r" 353 carol ")
    finally:
        bots_b.stop()
        bots_a.stop()
        srv_b.server.stop()
        srv_a.server.stop()
