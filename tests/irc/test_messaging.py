"""Bots in one loop talk through a real ircd (ngircd and miniircd); a plain client sees it;
a bot survives the ircd restarting."""

from __future__ import annotations

import irc3
import pytest

from breakroom.record import events as record

HEARD: list[tuple[str, str, str, str]] = []


@irc3.event(irc3.rfc.PRIVMSG)
def _heard(bot, mask, event, target, data, **_):
    """Test plugin: remembers what each bot receives."""
    HEARD.append((bot.nick, mask.nick, target, data))


@pytest.fixture(autouse=True)
def _clear_heard():
    HEARD.clear()


def test_two_bots_exchange_channel_and_private_messages(any_ircd, running_app, irc_client) -> None:
    thread = running_app(any_ircd, services=("scribe",))
    app = thread.app
    human = irc_client(any_ircd, "human")
    for nick in ("alpha", "beta"):
        thread.loop.call_soon_threadsafe(app.spawn_bot, nick, [__name__])
    thread.wait_until(lambda: all(app.bots.get(n) and app.bots[n].in_channel for n in ("alpha", "beta")),
                      15, "alpha and beta joined")

    thread.loop.call_soon_threadsafe(app.send, app.bots["alpha"], app.channel, "beta: the -v flag? \"works\"")
    thread.loop.call_soon_threadsafe(app.send, app.bots["beta"], "alpha", "psst, private")
    thread.wait_until(lambda: ("beta", "alpha", any_ircd.channel, 'beta: the -v flag? "works"') in HEARD,
                      10, "beta hears alpha in the channel")
    thread.wait_until(lambda: ("alpha", "beta", "alpha", "psst, private") in HEARD, 10, "alpha gets the PM")
    human.wait_for(r":alpha!\S+ PRIVMSG #breakroom :beta: the -v flag\? \"works\"")
    assert not human.seen("psst"), "a private message must not reach the channel"

    human.say("beta", "hello beta, privately")
    thread.wait_until(lambda: ("beta", "human", "beta", "hello beta, privately") in HEARD, 10, "PM to beta")

    def recorded():
        return [(e["nick"], e["kind"], e["channel"], e["target"], e["text"])
                for e in record.query(app.db)]
    thread.wait_until(lambda: ("human", "PRIVMSG", None, "beta", "hello beta, privately") in recorded(),
                      5, "the PM to a breakroom bot is in the record")
    rows = recorded()
    assert ("alpha", "PRIVMSG", "#breakroom", None, 'beta: the -v flag? "works"') in rows
    assert rows.count(("beta", "PRIVMSG", None, "alpha", "psst, private")) == 1
    assert ("human", "JOIN", "#breakroom", None, "") in rows


def test_long_text_splits_on_utf8_boundaries(ircd, running_app, irc_client) -> None:
    thread = running_app(ircd)
    human = irc_client(ircd, "human")
    text = "héllo wörld 😀 " * 80
    thread.loop.call_soon_threadsafe(thread.app.send, thread.app.bots["scribe"], "human", text)
    first = human.wait_for(r"PRIVMSG human :")
    assert len(first.encode()) <= 512
    human.wait_for(r"PRIVMSG human :.*😀\s*$", 10)
    got = " ".join(line.split("PRIVMSG human :", 1)[1] for line in human.seen(r"PRIVMSG human :"))
    assert got.split() == text.split()
    assert "\ufffd" not in got


def test_bot_reconnects_and_rejoins_after_ircd_restart(ircd, running_app, irc_client) -> None:
    thread = running_app(ircd)
    scribe = thread.app.bots["scribe"]
    ircd.restart(pause=1.0)
    thread.wait_until(lambda: not scribe.in_channel, 10, "the bot noticed the lost connection")
    thread.wait_until(lambda: scribe.in_channel, 20, "the bot rejoined")
    human = irc_client(ircd, "human")
    human.send(f"NAMES {ircd.channel}")
    human.wait_for(r" 353 .*\bscribe\b")
    human.say(ircd.channel, "after the restart")
    thread.wait_until(lambda: record.search(thread.app.db, "after the restart"), 5, "recorded again")
