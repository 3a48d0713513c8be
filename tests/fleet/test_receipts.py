"""Receipts: a message goes queued → delivered → read, in the record and on request
(`breakroom sent`, `breakroom read`), and an IRC sender hears each step.  Sim agents in real
tmux, a real ngircd, the real `breakroom` CLI run inside the panes."""

from __future__ import annotations

import re

import pytest

from breakroom.fleet import inbox
from support.cli import BREAKROOM
from support.sims import QUIET_SCRIPT, sim_config
from support.terminal import run_in_pane

RECEIPT = r"delivered \d\d:\d\d:\d\d \(typed\) · read \d\d:\d\d:\d\d \(a turn\)"


@pytest.mark.timeout(90)
def test_a_sender_sees_its_message_delivered_and_read(ircd, irc_client, running_app, sims, tmux_socket,
                                                      tmp_path):
    sims("a", QUIET_SCRIPT)
    sims("b", {"startup": [{"work": 4}], "default": [{"say": "Noted."}]})
    app = running_app(ircd, **sim_config(tmux_socket, max_chars=60))
    app.wait_until(lambda: {s.session: s.state for s in app.app.sessions.status()}.get("b") == "working",
                   15, "b busy")

    rc, out = run_in_pane(tmux_socket, "a", f"{BREAKROOM} say b 'the build is green'", tmp_path)
    assert rc == 0 and re.search(r"queued #(\d+): queued behind a busy agent", out), out
    sent = int(re.search(r"#(\d+)", out).group(1))
    rc, out = run_in_pane(tmux_socket, "a", f"{BREAKROOM} sent", tmp_path)
    assert re.search(rf"#{sent}\s+\S+ to b\s+queued — the build is green", out), out

    # b finishes its work: the message is typed, b takes it as a turn: read
    app.wait_until(lambda: inbox.get(app.app.db, sent).read, 30, "read by b")
    message = inbox.get(app.app.db, sent)
    assert (message.state, message.read_via, message.from_session) == ("delivered", "a turn", "a")
    rc, out = run_in_pane(tmux_socket, "a", f"{BREAKROOM} sent", tmp_path)
    assert re.search(rf"#{sent}\s+\S+ to b\s+{RECEIPT} — the build is green", out), out
    rc, out = run_in_pane(tmux_socket, "a", f"{BREAKROOM} read {sent}", tmp_path)   # the sender asks
    assert rc == 0 and re.search(rf"^#{sent} from a to b at \S+ — {RECEIPT}$", out, re.M), out
    rc, out = run_in_pane(tmux_socket, "b", f"{BREAKROOM} read {sent + 100}", tmp_path)
    assert rc != 0 and "no message" in out

    # a human's long message is a pointer: delivered when typed, read when b runs breakroom read
    human = irc_client(ircd, "human")
    human.say("b", "x" * 80)
    human.wait_for(r":b!\S+ NOTICE human :delivered #(\d+) to b", 20)
    pointer = max(m.id for m in inbox.for_session(app.app.db, "b"))
    assert not inbox.get(app.app.db, pointer).read
    rc, out = run_in_pane(tmux_socket, "b", f"{BREAKROOM} read {pointer}", tmp_path)
    assert rc == 0 and "x" * 80 in out
    human.wait_for(rf":b!\S+ NOTICE human :#{pointer} was read by b \(breakroom read\)", 10)
    assert len(human.seen(rf"#{pointer} was read")) == 1
