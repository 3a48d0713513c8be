"""``!help`` from a plain IRC client, and the client lines ``breakroom info`` prints."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from bots.base import command
from breakroom.config import from_dict
from breakroom.irc.connect import connection_lines
from support.app import write_config
from support.wait import wait_until


@pytest.mark.timeout(60)
def test_help_lists_the_commands_and_explains_one(ngircd, running_app, irc_client, tmux_socket):
    running_app(ngircd, services=("scribe", "dispatcher", "sweep"), tmux={"socket_name": tmux_socket})
    human = irc_client(ngircd)
    human.say(ngircd.channel, "!help")
    dispatcher = human.wait_for(r":dispatcher!\S+ PRIVMSG #\S+ :!audit")
    sweep = human.wait_for(r":sweep!\S+ PRIVMSG #\S+ :!allow", since_start=True)  # any may come first
    scribe = human.wait_for(r":scribe!\S+ PRIVMSG #\S+ :!report", since_start=True)
    assert re.search(r":!audit \[N\] · !cost \[SESSION\] · !dispatch · !dnd SESSION \[MINUTES\] · !issue N · "
                     r"!nudge SESSION · !pause \[SESSION\] · !queue \[PROJECT\] · !resume \[SESSION\] — "
                     r"!help CMD for one$", dispatcher)
    assert sweep.endswith(":!allow ID · !deny ID · !fleet · !peek SESSION [N] · !sweep — !help CMD for one")
    assert scribe.endswith(":!report — !help CMD for one")
    human.say(ngircd.channel, "!help allow")  # answered by the sweep: session bots stay quiet
    assert human.wait_for(r"PRIVMSG #\S+ :!allow ID").startswith(":sweep!")
    human.say(ngircd.channel, "!help !peek")
    assert human.wait_for(r"PRIVMSG #\S+ :!peek").endswith(
        ":!peek SESSION [N] — the pane's last N lines, by private message (operators only).")
    human.say("dispatcher", "!help dnd")  # in private, answered in private
    assert human.wait_for(r":dispatcher!\S+ PRIVMSG human :").endswith(
        ":!dnd SESSION [MINUTES] — no nudges for a session for a while (0 clears).")
    human.say(ngircd.channel, "!help nosuch")
    human.say(ngircd.channel, "!help queue")
    human.wait_for(r"PRIVMSG #\S+ :!queue \[PROJECT\] — ")
    assert not human.seen("nosuch") and len(human.seen(r":scribe!\S+ PRIVMSG")) == 1


def test_a_command_without_help_is_refused_at_import():
    with pytest.raises(TypeError, match="docstring must start '!thing ARGS — what it does'"):
        @command("thing")
        def thing(self, mask, target, args):
            pass


WEECHAT = shutil.which("weechat-headless")
IRSSI = shutil.which("irssi")


def _weechat_commands(info: str) -> list[str]:
    """The WeeChat commands ``breakroom info`` prints: ``/server add …`` and the ``/set`` after it."""
    lines = info.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("weechat:"))
    return [line.split(":", 1)[1].strip() for line in lines[at:at + 2]]


def _info(ngircd, cli, tmp_path):
    """What `breakroom info` prints for a breakroom on this ircd (the lines clients paste)."""
    cfg = from_dict({"ircd": {"mode": "external", "host": ngircd.host, "port": ngircd.port,
                              "password": ngircd.password},
                     "channel": ngircd.channel, "channel_key": ngircd.key})
    write_config(tmp_path / "breakroom.yaml", cfg)
    info = cli("info")
    assert info.returncode == 0, info.stderr
    return info


@pytest.mark.skipif(WEECHAT is None, reason="weechat-headless is not installed "
                                            "(apt-get install weechat-headless; .ci/run does)")
@pytest.mark.timeout(60)
def test_the_weechat_lines_join_the_keyed_channel(ngircd, irc_client, cli, tmp_path):
    """A real WeeChat fed the lines ``breakroom info`` prints joins the keyed channel."""
    info = _info(ngircd, cli, tmp_path)
    commands = _weechat_commands(info.stdout)
    assert commands[0].startswith(f"/server add breakroom {ngircd.host}/{ngircd.port} "
                                  f"-password={ngircd.password}")
    assert commands[1] == f'/set irc.server.breakroom.autojoin "{ngircd.channel} {ngircd.key}"'
    human = irc_client(ngircd, "human")
    keyless = irc_client(ngircd, "nokey", join=False)
    keyless.send(f"JOIN {ngircd.channel}")
    keyless.wait_for(r" 475 ")  # the channel is keyed: without it nobody gets in
    # the printed lines as typed, then what any user does: pick a nick, connect
    run = ";".join([*commands, "/set irc.server.breakroom.nicks wcuser", "/connect breakroom"])
    weechat = subprocess.Popen([WEECHAT, "--dir", str(tmp_path / "weechat"), "--no-script",
                                "--run-command", run], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        human.wait_for(rf"^:wcuser!\S+ JOIN :?{re.escape(ngircd.channel)}$", timeout=20)
    finally:
        weechat.terminate()
        weechat.wait(10)


@pytest.mark.skipif(IRSSI is None, reason="irssi is not installed (apt-get install irssi; .ci/run does)")
@pytest.mark.timeout(60)
def test_the_irssi_lines_join_the_keyed_channel(ngircd, irc_client, cli, tmp_path, tmux_socket):
    """A real irssi (in a tmux pane: it wants a terminal) started with the printed command
    line joins the keyed channel with the printed ``/join``."""
    info = _info(ngircd, cli, tmp_path)
    lines = info.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("irssi:"))
    command, join = (line.split(":", 1)[1].strip() for line in lines[at:at + 2])
    assert command == f"irssi -c {ngircd.host} -p {ngircd.port} -w {ngircd.password}"
    assert join == f"/join {ngircd.channel} {ngircd.key}"
    human = irc_client(ngircd, "human")
    tmux = ["tmux", "-L", tmux_socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", "irssi", "-x", "120", "-y", "30",
                    f"{command} -n ircuser --home={tmp_path / 'irssi'}"], check=True)

    def screen() -> str:
        return subprocess.run([*tmux, "capture-pane", "-p", "-t", "irssi"], capture_output=True,
                              text=True).stdout
    wait_until(lambda: "End of MOTD" in screen(), 20, "irssi connected and registered")
    subprocess.run([*tmux, "send-keys", "-t", "irssi", "-l", join], check=True)
    subprocess.run([*tmux, "send-keys", "-t", "irssi", "Enter"], check=True)
    human.wait_for(rf"^:ircuser!\S+ JOIN :?{re.escape(ngircd.channel)}$", timeout=20)


def test_the_weechat_line_names_tls_for_weechat_3_and_4():
    """WeeChat 4 connects with TLS unless told not to; WeeChat 3 knows the flag as ``ssl``."""
    def weechat_line(tls: bool) -> str:
        cfg = from_dict({"ircd": {"mode": "external", "port": 6697, "password": "pw", "tls": tls}})
        return next(line for line in connection_lines(cfg) if line.startswith("weechat:"))
    assert weechat_line(False).endswith("/server add breakroom 127.0.0.1/6697 -password=pw -notls")
    assert weechat_line(True).endswith("/server add breakroom 127.0.0.1/6697 -password=pw -tls -ssl")
