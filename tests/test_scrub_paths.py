"""One scrubber on every way out: a message full of secrets said by one session to another
reaches the channel, the record, the inbox and the other agent's pane with every value
hidden; so do a bot's own lines (knowledge answers, peeks), a peek of a key wrapped at the
pane's edge, and the log.  Real ngircd, tmux and SQLite."""

from __future__ import annotations

import logging
import subprocess

from breakroom.fleet import inbox
from breakroom.logs import scrub_log_records
from breakroom.record import events
from breakroom.sweep.walk import peek
from support.sims import QUIET_SCRIPT, pane_text, sim_config
from support.wait import wait_value

VALUES = {
    "aws": "wJalrXUtnFEMI7K7MDENGbPxRfiCYzEXAMPLE",
    "db": "Tr0ub4dor3horse",
    "jwt": "eyJzdWIiOiJhZ2VudCIsImV4cCI6MTl9",
    "url": "pa55w0rdInUrl",
    "gh": "ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6",
}
SECRET_TEXT = (f"AWS_SECRET_ACCESS_KEY={VALUES['aws']} DATABASE_PASSWORD={VALUES['db']} "
               f"jwt eyJhbGciOiJIUzI1NiJ9.{VALUES['jwt']}.c2lnbmF0dXJl "
               f"clone https://deploy:{VALUES['url']}@git.example.com/r.git token {VALUES['gh']}")


def leaks(text: str, own: list[str]) -> list[str]:
    return [v for v in [*VALUES.values(), *own] if v in text]


def test_no_secret_leaves_by_any_way(ircd, irc_client, running_app, sims, tmux_socket, cli):
    sims("a", QUIET_SCRIPT)
    sims("b", QUIET_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 15, "idle")
    own = [app.app.config.ircd.oper_password, app.app.config.channel_key]

    said = cli("say", "--as", "a", "b", f"{SECRET_TEXT} oper {own[0]} key {own[1]}")
    assert said.returncode == 0, said.stderr
    assert not leaks(said.stdout, own)
    human.wait_for(r":a!\S+ PRIVMSG #breakroom :b: AWS_SECRET_ACCESS_KEY=\[redacted\]")
    app.wait_until(lambda: inbox.for_session(app.app.db, "b")
                   and inbox.for_session(app.app.db, "b")[0].state == "delivered", 15, "delivered")
    # a bot's own line (a knowledge answer, a peek) goes through the same scrub
    app.loop.call_soon_threadsafe(app.app.send, app.app.bots["scribe"], "human",
                                  f"answer: use {VALUES['gh']} with DATABASE_PASSWORD={VALUES['db']}")
    human.wait_for(r":scribe!\S+ PRIVMSG human :answer: use \[redacted\]")
    app.wait_until(lambda: events.search(app.app.db, "AWS_SECRET_ACCESS_KEY"), 10, "recorded")

    channel_lines = "\n".join(human.seen(r"PRIVMSG"))
    recorded = "\n".join(e["text"] for e in events.query(app.app.db))
    stored = "\n".join(m.text for m in inbox.for_session(app.app.db, "b"))
    typed = pane_text(tmux_socket, "b")
    assert "[redacted]" in typed and "[redacted]" in stored and "[redacted]" in recorded
    for where, text in {"channel": channel_lines, "record": recorded, "inbox": stored,
                        "pane": typed}.items():
        assert not leaks(text, own), where
    read = cli("read", "1", "--as", "b")
    assert read.returncode == 0 and not leaks(read.stdout, own)


def test_a_peek_joins_wrapped_lines_before_scrubbing(tmux_socket, tmp_path):
    from breakroom.config import from_dict
    line = f"export GITHUB_TOKEN={VALUES['gh']}; echo done"
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "narrow", "-x", "24",
                    "-y", "10", f"printf '%s\\n' '{line}'; sleep 60"], check=True)
    cfg = from_dict({"tmux": {"socket_name": tmux_socket}})
    lines = wait_value(lambda: peek(cfg, "narrow", 10) or [], lambda lines: "done" in "".join(lines), 5,
                       "the pane printed once")
    shown = "\n".join(lines)
    assert "GITHUB_TOKEN=[redacted]" in shown
    # wrapped at 24 columns the token's tail is on a line of its own: none of it may show
    assert not any(VALUES["gh"][i:i + 8] in shown for i in range(len(VALUES["gh"]) - 8))


def test_log_records_are_scrubbed(caplog):
    scrub_log_records()
    with caplog.at_level(logging.INFO, logger="breakroom.test"):
        logging.getLogger("breakroom.test").info("request failed: %s",
                                                 f"DATABASE_PASSWORD={VALUES['db']}")
    assert "DATABASE_PASSWORD=[redacted]" in caplog.text and VALUES["db"] not in caplog.text
