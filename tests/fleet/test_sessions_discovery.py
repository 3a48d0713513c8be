"""Every tmux session gets a bot; a killed one's bot leaves; a renamed one follows.

Real ircd, real tmux server on a private socket, the real breakroom in a thread; a raw IRC
client watches the channel like a human's irssi would.
"""

import re

import libtmux

from breakroom.fleet import inbox


def start(tmux_socket, *names):
    tmux = libtmux.Server(socket_name=tmux_socket)
    for name in names:
        tmux.new_session(session_name=name, window_command="cat", x=100, y=30)
    return tmux


def test_bots_follow_sessions(ircd, irc_client, running_app, tmux_socket):
    tmux = start(tmux_socket, "alpha", "my proj", "skipme")
    human = irc_client(ircd, "human")
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3,
                                  "exclude": ["skip*"]})
    sessions = app.app.sessions
    assert sessions.nick_for("alpha") == "alpha"
    assert sessions.nick_for("my proj") == "my_proj"
    assert sessions.session_for("MY_PROJ") == "my proj"
    assert sessions.nick_for("skipme") is None
    human.wait_for(r":alpha!\S+ JOIN", since_start=True)
    human.wait_for(r":my_proj!\S+ JOIN", since_start=True)

    tmux.new_session(session_name="beta", window_command="cat")
    human.wait_for(r":beta!\S+ JOIN", timeout=5)

    tmux.sessions.get(session_name="beta").kill()
    human.wait_for(r":beta!\S+ QUIT :.*tmux session beta was closed", timeout=5)

    tmux.sessions.get(session_name="alpha").rename_session("gamma")
    human.wait_for(r":alpha!\S+ QUIT :.*renamed to gamma", timeout=5)
    human.wait_for(r":gamma!\S+ JOIN", timeout=5)
    assert sessions.nick_for("alpha") is None and sessions.nick_for("gamma") == "gamma"
    assert sorted(s.session for s in sessions.status()) == ["gamma", "my proj"]


def test_queued_messages_follow_a_rename(ircd, irc_client, running_app, tmux_socket):
    # a plain `cat` is never an idle agent, so the message stays queued
    tmux = start(tmux_socket, "worker")
    human = irc_client(ircd, "human")
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3})
    human.wait_for(r":worker!\S+ JOIN", since_start=True)
    human.say(ircd.channel, "worker: please look at the build")
    human.wait_for(r"NOTICE human :#1 queued", timeout=5)
    tmux.sessions.get(session_name="worker").rename_session("worker2")
    human.wait_for(r":worker2!\S+ JOIN", timeout=5)
    assert [m.text for m in inbox.queued(app.app.db, "worker2")] == ["please look at the build"]


def test_a_nick_taken_on_the_server_is_reported_as_the_bot_really_has_it(
        ircd, irc_client, running_app, tmux_socket):
    start(tmux_socket, "alpha")
    squatter = irc_client(ircd, "alpha")  # a human already uses the session's nick
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3})
    sessions = app.app.sessions
    nick = app.wait_until(lambda: sessions.nick_for("alpha") != "alpha" and sessions.nick_for("alpha"),
                          10, "the bot's fallback nick")
    assert sessions.session_for(nick) == "alpha" and sessions.status()[0].nick == nick
    squatter.say(ircd.channel, f"{nick}: are you the alpha session?")
    squatter.wait_for(rf":{re.escape(nick)}!\S+ NOTICE alpha :#1 queued", timeout=5)
