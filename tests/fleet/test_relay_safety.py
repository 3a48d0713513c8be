"""Untrusted IRC input, rate limits, hop limits, and a CLI that fails clearly."""

import re

from breakroom.fleet import inbox
from breakroom.sanitize import sanitize
from support.cli import BREAKROOM
from support.sims import QUIET_SCRIPT, pane_text, sim_config

HOSTILE = [
    b"\x1b[31mred alert\x1b[0m",
    b"ctrl-c \x03 inside",
    b"paste end \x1b[201~ then keys",
    b"$(rm -rf ~)",
    b"bad \xff\xfe utf8",
    "🙂".encode() * 100,
]


def test_hostile_input_is_defused_and_long_text_becomes_a_pointer(ircd, irc_client, running_app,
                                                                  sims, tmux_socket, cli):
    sims("b", QUIET_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    for raw in HOSTILE:
        human.send(b"PRIVMSG #breakroom :b: " + raw)
    human.send(b"PRIVMSG #breakroom :b: " + b"word " * 90)  # over delivery.max_chars
    human.wait_for(r"NOTICE human :delivered #7 to b", timeout=20)
    # 10 KB, as the sweep or dispatcher might hand over (no IRC line carries that much)
    ten_kb = "\x1b[2J" + "lorem ipsum " * 860
    delivery = app.call(app.app.deliveries.deliver("b", "sweep", sanitize(ten_kb)))
    assert delivery.id == 8
    app.wait_until(lambda: inbox.get(app.app.db, 8).state == "delivered", 10, "#8 delivered")

    messages = {m.id: m for m in inbox.for_session(app.app.db, "b")}
    assert all(m.state == "delivered" for m in messages.values())
    for m in messages.values():
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", m.text)
        assert "[201~" not in m.text
    assert [messages[i].text for i in range(1, 6)] == [
        "red alert", "ctrl-c  inside", "paste end  then keys", "$(rm -rf ~)", "bad  utf8"]
    assert messages[6].text == "🙂" * 100
    text = pane_text(tmux_socket, "b")
    assert text.count("[breakroom #4] human: $(rm -rf ~)") == 1
    assert "> [breakroom #7] human sent a long message: breakroom read 7" in text
    assert "> [breakroom #8] sweep sent a long message: breakroom read 8" in text
    assert "word word" not in text and "lorem" not in text
    full = cli("read", "7", "--as", "b")
    assert full.returncode == 0 and full.stdout.count("word") == 90
    full = cli("read", "8", "--as", "b")
    assert full.stdout.count("lorem ipsum") == 860 and "\x1b" not in full.stdout


def test_rate_limit_per_sender(ircd, irc_client, running_app, sims, tmux_socket):
    sims("b", QUIET_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket, rate_limit_per_minute=2))
    for i in range(3):
        human.say(ircd.channel, f"b: message {i}")
    human.wait_for(r"NOTICE human :rate limit: too many messages to b; try again in \d+s")
    assert len(inbox.for_session(app.app.db, "b")) == 2


def test_hop_limit_stops_two_agents_ping_ponging(ircd, irc_client, running_app, sims,
                                                 tmux_socket, cli):
    echo = {"reactions": [{"on": r"^\[breakroom #\d+\] (?P<sender>[^:]+): ",
                           "do": [{"run": BREAKROOM + " say {sender} and back to you"}]}]}
    sims("a", echo)
    sims("b", echo)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket, hop_limit=2))
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 10, "idle")
    assert cli("say", "--as", "a", "b", "start the loop").returncode == 0
    # hops 0 (a->b), 1 (b->a), 2 (a->b) are typed in; hop 3 (b->a) is held back
    held = app.wait_until(lambda: [m for m in inbox.for_session(app.app.db, "a") if m.state == "failed"],
                          30, "a held message")
    assert held[0].hops == 3 and "hop limit" in held[0].reason
    all_messages = inbox.for_session(app.app.db, "a") + inbox.for_session(app.app.db, "b")
    assert sorted(m.hops for m in all_messages) == [0, 1, 2, 3]
    human.wait_for(r":b!\S+ PRIVMSG #breakroom :a: and back to you", since_start=True)


def test_cli_outside_tmux_and_without_a_breakroom(cli):
    outside = cli("say", "b", "hi")
    assert outside.returncode != 0 and "not inside a tmux session" in outside.stderr
    assert len(outside.stderr.strip().splitlines()) == 1
    for args in (["say", "--as", "a", "b", "hi"], ["fleet"], ["ask", "--as", "a", "q?"]):
        done = cli(*args)
        assert done.returncode != 0, args
        assert "not running" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert cli("inbox", "--as", "a").stdout.strip() == "no messages for a"
    assert cli("read", "1", "--as", "a").returncode != 0


def test_secrets_are_scrubbed_both_ways(ircd, irc_client, running_app, sims, tmux_socket, cli):
    sims("a", QUIET_SCRIPT)
    sims("b", QUIET_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    token = "ghp_" + "A1b2C3d4" * 5
    said = cli("say", "--as", "a", "#breakroom", f"my token is {token} and password=hunter22")
    assert said.returncode == 0 and token not in said.stdout
    human.wait_for(r":a!\S+ PRIVMSG #breakroom :my token is \[redacted\] and password=\[redacted\]")
    human.say(ircd.channel, f"b: use Bearer {token}")
    human.wait_for(r"NOTICE human :(delivered|#1 queued)")
    assert inbox.get(app.app.db, 1).text == "use Bearer [redacted]"
    app.wait_until(lambda: "use Bearer [redacted]" in pane_text(tmux_socket, "b"), 10, "delivered")
    assert token not in pane_text(tmux_socket, "b")


def test_sessions_reach_each_other_while_the_ircd_is_down(ircd, running_app, sims, tmux_socket,
                                                          cli):
    sims("a", QUIET_SCRIPT)
    sims("b", QUIET_SCRIPT)
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 10, "idle")
    ircd.server.stop()
    said = cli("say", "--as", "a", "b", "the server is down but I still reach you")
    assert said.returncode == 0, said.stderr
    assert said.stdout.splitlines()[-1] == "delivered #1"
    assert "> [breakroom #1] a: the server is down" in pane_text(tmux_socket, "b")
