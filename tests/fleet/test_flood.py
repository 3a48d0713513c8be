"""Fair under floods, and only messages reach panes.

One nick floods the channel and addresses knowledge and a session hundreds of times: other
askers are still answered quickly, the session's own `say` is not stuck behind notices,
the flooder gets one refusal notice a minute, and the record keeps every channel line.
A service bot's listing that starts with a session's nick (`!fleet`) is not typed in.
Real ngircd, real tmux, the real breakroom in a thread.
"""

from __future__ import annotations

import time

import pytest

from breakroom.fleet import inbox
from breakroom.record import events as record
from support.sims import QUIET_SCRIPT, pane_text, sim_config

TOPICS = ["backups", "deploys", "invoices", "hiring", "support", "meetings", "releases",
          "security", "onboarding", "rollbacks"]


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "kb"
    root.mkdir()
    for i, topic in enumerate(TOPICS):
        (root / f"{topic}.md").write_text(
            f"# {topic.title()}\n\n## Rule\n\nThe {topic} rule number {i} is written down "
            f"here so that anyone can look up how {topic} work.\n", encoding="utf-8")
    return root


@pytest.mark.timing
@pytest.mark.timeout(180)
def test_a_flood_from_one_nick_does_not_starve_anyone(ircd, irc_client, running_app, sims,
                                                      tmux_socket, corpus, cli):
    sims("b", QUIET_SCRIPT)
    app = running_app(ircd, services=("scribe", "knowledge"), **sim_config(tmux_socket),
                      knowledge={"backend": "offline", "corpus": [str(corpus)]})
    flooder = irc_client(ircd, "flooder")
    alice = irc_client(ircd, "alice")
    chan = ircd.channel
    alice.say(chan, "knowledge: [q0aa] how are backups done?")  # engine warmed up first
    alice.wait_for(r":knowledge!\S+ PRIVMSG #\S+ :alice: \[q0aa\]", timeout=60)

    burst = b"".join([f"PRIVMSG {chan} :noise {i}\r\n".encode() for i in range(1000)]
                     + [f"PRIVMSG {chan} :knowledge: [q{i:03x}] how do deploys work?\r\n".encode()
                        for i in range(300)]
                     + [f"PRIVMSG {chan} :b: flood {i}\r\n".encode() for i in range(300)])
    flooder.sock.sendall(burst)
    flooder.wait_for(r"NOTICE flooder :.*(at most \d+ questions|rate limit)", timeout=30)

    latencies = []
    for i, topic in enumerate(("invoices", "hiring", "support")):
        start = time.monotonic()
        alice.say(chan, f"knowledge: [qa{i}0] how does {topic} work?")
        alice.wait_for(rf":knowledge!\S+ PRIVMSG #\S+ :alice: \[qa{i}0\]", timeout=30)
        latencies.append(time.monotonic() - start)
    start = time.monotonic()
    assert cli("say", "--as", "b", chan, "b is still heard").returncode == 0
    alice.wait_for(r":b!\S+ PRIVMSG #\S+ :b is still heard", timeout=30)
    latencies.append(time.monotonic() - start)
    print(f"flood latencies (s): {[round(x, 2) for x in latencies]}")
    assert max(latencies) < 2.0, latencies

    db = app.app.db
    app.wait_until(lambda: len([e for e in record.query(db, nick="flooder")
                                if e["text"].startswith("noise ")]) == 1000, 30,
                   "all 1000 channel lines in the record")
    refusals = flooder.seen(r"NOTICE flooder :.*(at most \d+ questions|rate limit)")
    assert len(refusals) == 1, refusals  # one a minute, whoever refused
    waiting = inbox.count_queued(db, "b", "flooder")
    assert waiting <= app.app.config.delivery.max_queued_per_sender


def test_a_service_bots_listing_is_not_typed_into_the_session(ircd, irc_client, running_app,
                                                              sims, tmux_socket):
    sims("b", QUIET_SCRIPT)
    app = running_app(ircd, services=("scribe", "sweep"), **sim_config(tmux_socket))
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 10, "idle")
    human = irc_client(ircd, "human")
    human.say(ircd.channel, "!fleet")
    human.wait_for(r":sweep!\S+ PRIVMSG #\S+ :b: \S+ for \d+m", timeout=30)  # "b: idle for 0m (sim)"
    human.say(ircd.channel, "b: a real message")
    human.wait_for(r"NOTICE human :delivered #1 to b", timeout=20)
    assert [m.text for m in inbox.for_session(app.app.db, "b")] == ["a real message"]
    assert "] sweep: " not in pane_text(tmux_socket, "b")
