"""``!help`` from a plain IRC client, and the client lines ``breakroom info`` prints."""

from __future__ import annotations

import re

import pytest

from bots.base import command
from breakroom.config import from_dict
from breakroom.irc.connect import connection_lines


@pytest.mark.timeout(60)
def test_help_lists_the_commands_and_explains_one(ngircd, running_app, irc_client, tmux_socket):
    running_app(ngircd, services=("scribe", "dispatcher", "sweep"), tmux={"socket_name": tmux_socket})
    human = irc_client(ngircd)
    human.say(ngircd.channel, "!help")
    dispatcher = human.wait_for(r":dispatcher!\S+ PRIVMSG #\S+ :!audit")
    sweep = human.wait_for(r":sweep!\S+ PRIVMSG #\S+ :!fleet", since_start=True)  # either may come first
    assert re.search(r":!audit \[N\] · !dispatch · !dnd SESSION \[MINUTES\] · !issue N · !nudge SESSION · "
                     r"!pause · !queue \[PROJECT\] · !resume — !help CMD for one$", dispatcher)
    assert sweep.endswith(":!fleet · !peek SESSION [N] · !sweep — !help CMD for one")
    human.say(ngircd.channel, "!help !peek")
    assert human.wait_for(r"PRIVMSG #\S+ :!peek").endswith(
        ":!peek SESSION [N] — the pane's last N lines, by private message (operators only).")
    human.say("dispatcher", "!help dnd")  # in private, answered in private
    assert human.wait_for(r":dispatcher!\S+ PRIVMSG human :").endswith(
        ":!dnd SESSION [MINUTES] — no nudges for a session for a while (0 clears).")
    human.say(ngircd.channel, "!help nosuch")
    human.say(ngircd.channel, "!help queue")
    human.wait_for(r"PRIVMSG #\S+ :!queue \[PROJECT\] — ")
    assert not human.seen("nosuch") and not human.seen(r":scribe!\S+ PRIVMSG")


def test_a_command_without_help_is_refused_at_import():
    with pytest.raises(TypeError, match="docstring must start '!thing ARGS — what it does'"):
        @command("thing")
        def thing(self, mask, target, args):
            pass


def _weechat_autojoin(lines: list[str]) -> str:
    """What WeeChat would send for the printed ``/set irc.server.….autojoin "CHANNELS KEYS"``."""
    value = next(m.group(1) for line in lines
                 if (m := re.search(r'/set irc\.server\.breakroom\.autojoin "([^"]*)"$', line)))
    channels, _, keys = value.partition(" ")
    return f"JOIN {channels} {keys}".rstrip()


def test_the_weechat_lines_join_the_keyed_channel(ngircd, irc_client):
    cfg = from_dict({"ircd": {"mode": "external", "host": ngircd.host, "port": ngircd.port,
                              "password": ngircd.password},
                     "channel": ngircd.channel, "channel_key": ngircd.key})
    lines = connection_lines(cfg)
    assert any(line.endswith(f"/server add breakroom {ngircd.host}/{ngircd.port} -password={ngircd.password}")
               for line in lines)
    keyless = irc_client(ngircd, "nokey", join=False)
    keyless.send(f"JOIN {ngircd.channel}")
    keyless.wait_for(r" 475 ")  # the channel is keyed: without it nobody gets in
    weechat = irc_client(ngircd, "weechat", join=False)
    weechat.send(_weechat_autojoin(lines))
    weechat.wait_for(r" 366 weechat ")
