"""Pauses and limit holds, run from IRC: `!pause [SESSION]` holds deliveries (nothing lost,
kept across a restart) until `!resume`; a session whose screen shows a limit is held, ops are
told once, and it is resumed with one message when the limit should have reset.  Sim agents
in real tmux, a real ngircd."""

from __future__ import annotations

import time

import pytest

from breakroom.fleet import inbox
from support.sims import QUIET_SCRIPT, pane_text, sim_config
from support.wait import wait_until

CREDIT = "  ⎿  Credit balance too low · Add funds: https://platform.claude.com/settings/billing"


def oper(client, srv) -> None:
    client.send(f"OPER {srv.config.ircd.oper_name} {srv.config.ircd.oper_password}")
    client.wait_for(r" 381 ")


def start(running_app, srv, tmux_socket, **overrides):
    return running_app(srv, services=("scribe", "dispatcher"), dispatcher={"interval": 3600},
                       **sim_config(tmux_socket), **overrides)


@pytest.mark.timeout(90)
def test_a_paused_session_gets_nothing_until_resumed_even_across_a_restart(ngircd, running_app, irc_client,
                                                                           sims, tmux_socket):
    sims("a", QUIET_SCRIPT)
    sims("b", QUIET_SCRIPT)
    boss = irc_client(ngircd, "boss")
    app = start(running_app, ngircd, tmux_socket)
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 15, "idle")
    boss.say("#breakroom", "!pause b")
    boss.wait_for(r"PRIVMSG #breakroom :boss: !pause needs an IRC operator")
    oper(boss, ngircd)
    boss.say("#breakroom", "!pause nosuch")
    boss.wait_for(r"PRIVMSG #breakroom :no session 'nosuch'")
    boss.say("#breakroom", "!pause b")
    boss.wait_for(r":dispatcher!\S+ PRIVMSG #breakroom :b paused by boss: messages wait in the inbox, "
                  r"no nudges, no sweep answers — !resume b to go on")
    boss.say("b", "held for later")
    boss.wait_for(r":b!\S+ NOTICE boss :#\d+ queued: b is paused \(by boss; !resume b\); delivered when "
                  r"that ends")
    boss.say("a", "a is not paused")
    boss.wait_for(r":a!\S+ NOTICE boss :delivered #\d+ to a")

    app.stop()                                   # a restart keeps the pause and the message
    app = start(running_app, ngircd, tmux_socket)
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 15, "idle again")
    assert app.app.holds.why_held("b") == "b is paused (by boss; !resume b)"
    [held] = inbox.queued(app.app.db, "b")
    assert "held for later" not in pane_text(tmux_socket, "b")

    boss.say("#breakroom", "!resume b")
    boss.wait_for(r":dispatcher!\S+ PRIVMSG #breakroom :b resumed by boss — 1 waiting message delivered as "
                  r"the agents are ready")
    app.wait_until(lambda: inbox.get(app.app.db, held.id).state == "delivered", 15, "delivered after it")
    assert "held for later" in pane_text(tmux_socket, "b")
    boss.say("#breakroom", "!resume b")
    boss.wait_for(r":dispatcher!\S+ PRIVMSG #breakroom :b is not paused")


@pytest.mark.timeout(90)
def test_a_limit_on_screen_is_held_told_once_and_resumed_with_one_message(ngircd, running_app, irc_client,
                                                                          sims, tmux_socket):
    again = {"on": "carry on where you left off", "do": [{"print": CREDIT}]}  # fails once more
    sims("b", {"startup": [{"print": CREDIT}], "reactions": [again]})
    boss = irc_client(ngircd, "boss")
    oper(boss, ngircd)
    app = start(running_app, ngircd, tmux_socket, ops=["boss"], limits={"backoff": 1})
    boss.wait_for(r":b!\S+ NOTICE boss :b hit a usage or credit limit \(error:usage-limit: .*Credit balance "
                  r"too low.*\) — holding its messages and nudges, resuming it at \d\d:\d\d \(backing off, "
                  r"attempt 1\)", 20)
    boss.wait_for(r":b!\S+ PRIVMSG #breakroom :b: its limit should have reset after \d+s on "
                  r"error:usage-limit", 20)
    wait_until(lambda: "carry on where you left off" in pane_text(tmux_socket, "b"), 15, "the resuming one")
    # it failed again: held again, backing off longer, and ops were not told twice
    app.wait_until(lambda: "b" in app.app.holds.limits and app.app.holds.limits["b"].attempt == 2, 20,
                   "held again")
    assert len(boss.seen(r"NOTICE boss :b hit")) == 1
    resumed = time.time()
    boss.say("#breakroom", "!resume b")                   # an operator resumes it early
    boss.wait_for(r":b!\S+ PRIVMSG #breakroom :b: resumed by boss after \d+s on error:usage-limit")
    boss.wait_for(r":dispatcher!\S+ PRIVMSG #breakroom :b resumed by boss")
    # the hold of attempt 2 is over; the resuming message makes the sim fail again, and that
    # failure (if it has come by now) is a new hold, of which ops are not told again
    hold = app.app.holds.limits.get("b")
    assert hold is None or (hold.attempt == 3 and hold.since >= resumed), hold
    assert len(boss.seen(r"NOTICE boss :b hit")) == 1
