"""Two simulated agents in real tmux sessions talk through the channel with `breakroom say`.

Real ngircd, real tmux on a private socket, the real breakroom in a thread, the real
`breakroom` console script (also inside the panes, run by the sim agents' reactions).
"""

import re
import shlex
import subprocess
import sys
import threading

import pytest

from breakroom.control import client as control
from breakroom.errors import BreakroomError
from breakroom.fleet import inbox
from breakroom.fleet.observer import HOOK_GRACE
from support.app import next_poll
from support.cli import BREAKROOM
from support.sims import QUIET_SCRIPT, REPLY_SCRIPT, pane_text, sim_config
from support.terminal import run_in_pane

RAW_HOOK = ("from breakroom import config\nfrom breakroom.control import client\n"
            "client.request(config.load().data_path, {'op': 'hook', 'session': 'a', 'state': 'dancing'})")


def wait_in_pane(app, tmux_socket, session, pattern, timeout=15):
    return app.wait_until(lambda: re.search(pattern, pane_text(tmux_socket, session)),
                          timeout, f"{pattern!r} in {session}'s pane")


def test_two_agents_converse_and_each_message_arrives_once(ircd, irc_client, running_app, sims,
                                                           tmux_socket, cli):
    sims("a", QUIET_SCRIPT)
    sims("b", REPLY_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 10, "idle")

    done = cli("say", "--as", "a", "b", "hello b, how is the build?")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["a -> b: hello b, how is the build?", "delivered #1"]
    human.wait_for(r":a!\S+ PRIVMSG #breakroom :b: hello b, how is the build\?")
    # b's agent answers with `breakroom say a …` from inside its pane
    human.wait_for(r":b!\S+ PRIVMSG #breakroom :a: got: hello b, how is the build\?", timeout=15)
    wait_in_pane(app, tmux_socket, "a", r"> \[breakroom #2\] b: got: hello b")
    text_b, text_a = pane_text(tmux_socket, "b"), pane_text(tmux_socket, "a")
    assert text_b.count("> [breakroom #1] a: hello b") == 1
    assert text_a.count("> [breakroom #2] b: got: hello b") == 1
    message = inbox.get(app.app.db, 1)
    assert (message.session, message.sender, message.state, message.attempts) == ("b", "a", "delivered", 1)
    assert inbox.get(app.app.db, 2).hops == 1  # b's reply to a is one automated hop deep

    # b's agent took it as a turn: read; its inbox lists it, and a sees how far it got
    app.wait_until(lambda: inbox.get(app.app.db, 1).read_via == "a turn", 10, "read as a turn")
    listing = cli("inbox", "--as", "b")
    assert listing.returncode == 0 and re.search(r"^    #1 .* a +delivered hello b", listing.stdout, re.M)
    full = cli("read", "1", "--as", "b")
    assert full.returncode == 0 and "hello b, how is the build?" in full.stdout
    assert re.search(r"#1 from a to b at \S+ — delivered .* \(typed\) · read .* \(a turn\)", full.stdout)
    sent = cli("read", "2", "--as", "b")  # #2 is b's reply to a: b sees how far it got, and reads nothing
    assert sent.returncode == 0 and re.search(r"#2 from b to a at \S+ — delivered", sent.stdout)
    assert cli("read", "3", "--as", "b").returncode != 0

    fleet = cli("fleet")
    assert fleet.returncode == 0
    assert re.search(r"a\s+a\s+sim\s+\S+.*alpha", fleet.stdout)


def test_busy_agent_gets_the_message_queued_then_delivered(ircd, irc_client, running_app, sims,
                                                          tmux_socket):
    sims("a", QUIET_SCRIPT)
    sims("b", {"startup": [{"work": 4}], **QUIET_SCRIPT})
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: app.app.sessions.status()[1].state == "working", 5, "b working")

    human.say(ircd.channel, "b: are you there?")
    human.wait_for(r":b!\S+ NOTICE human :#1 queued behind a busy agent \(b is working\)")
    assert "are you there" not in pane_text(tmux_socket, "b")
    human.wait_for(r":b!\S+ NOTICE human :delivered #1 to b", timeout=15)
    assert pane_text(tmux_socket, "b").count("> [breakroom #1] human: are you there?") == 1
    # a private message works the same way
    human.say("a", "psst, a")
    human.wait_for(r":a!\S+ NOTICE human :delivered #2 to a", timeout=10)


def test_a_lost_enter_is_retried_and_the_text_appears_once(ircd, irc_client, running_app, sims,
                                                          tmux_socket):
    sims("a", QUIET_SCRIPT)
    sims("b", {"ignore_first_enter": True, **QUIET_SCRIPT})
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: app.app.sessions.status()[1].state == "idle", 10, "b idle")
    human.say(ircd.channel, "b, only once please")
    human.wait_for(r"NOTICE human :delivered #1 to b", timeout=10)
    text = pane_text(tmux_socket, "b")
    assert text.count("only once please") == 1
    assert inbox.get(app.app.db, 1).attempts == 1


def test_ask_waits_for_the_reply_carrying_its_id(ircd, irc_client, running_app, sims,
                                                 tmux_socket, cli):
    sims("a", QUIET_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    result = {}
    thread = threading.Thread(target=lambda: result.update(done=cli(
        "ask", "--as", "a", "--to", "human", "--timeout", "15", "how", "do", "we", "price?")))
    thread.start()
    line = human.wait_for(r":a!\S+ PRIVMSG #breakroom :human: \[q[0-9a-f]{4}\] how do we price\?")
    request_id = re.search(r"\[(q[0-9a-f]{4})\]", line).group(1)
    human.say(ircd.channel, "a: [q0000] an answer to some other question")
    human.say(ircd.channel, f"a: [{request_id}] by cohort, see pricing.md")
    thread.join(20)
    done = result["done"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "human: by cohort, see pricing.md"
    # the answer went to the waiting CLI, not into the pane; the unrelated line was delivered
    assert "by cohort" not in pane_text(tmux_socket, "a")
    delivered = [m.text for m in inbox.for_session(app.app.db, "a")]
    assert delivered == ["[q0000] an answer to some other question"]

    timed_out = cli("ask", "--as", "a", "--to", "nobody", "--timeout", "1", "anyone?")
    assert timed_out.returncode != 0
    assert "no reply" in timed_out.stderr and len(timed_out.stderr.strip().splitlines()) == 1


def test_hook_state_wins_and_shows_in_fleet(ircd, running_app, sims, tmux_socket, tmp_path, cli):
    sims("a", QUIET_SCRIPT)
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: app.app.sessions.status()[0].state == "idle", 10, "idle")
    rc, _ = run_in_pane(tmux_socket, "a", f"{BREAKROOM} hook Notification", tmp_path,
                        stdin=b'{"notification_type": "permission_prompt"}')
    assert rc == 0
    status = app.app.sessions.status()[0]
    assert status.state == "waiting:permission" and status.hook_fresh
    assert "waiting:permission (hook)" in cli("fleet").stdout
    # the pane has not changed since the report, so the hook still wins over scraping, even
    # in a poll after the grace period in which any fresh report wins
    reported = app.app.sessions.status()[0].hook_at
    app.wait_until(lambda: next_poll(app).at > reported + HOOK_GRACE, 10, "a poll after the grace period")
    assert app.app.sessions.status()[0].state == "waiting:permission"
    # once the pane changes and the report is older than the grace period, scraping wins
    subprocess.run(["tmux", "-L", tmux_socket, "send-keys", "-t", "=a:", "-l", "x"])
    app.wait_until(lambda: app.app.sessions.status()[0].state == "idle", 6, "scraped idle")
    assert not app.app.sessions.status()[0].hook_fresh
    with pytest.raises(BreakroomError, match=r"hook reports come only from inside one of the fleet's panes"):
        control.request(app.config.data_path, {"op": "hook", "session": "a", "state": "dancing"})
    rc, out = run_in_pane(tmux_socket, "a", f"{sys.executable} -c {shlex.quote(RAW_HOOK)}", tmp_path)
    assert rc != 0 and re.search(r"expected one of .*got .dancing.", out), out


def test_one_session_asks_another_and_gets_the_answer(ircd, running_app, sims, tmux_socket, cli):
    answerer = {"reactions": [{
        "on": r"^\[breakroom #\d+\] (?P<sender>[^:]+): \[(?P<rid>q[0-9a-f]{4})\] ",
        "do": [{"run": BREAKROOM + " say {sender} [{rid}] forty-two"}],
    }]}
    sims("a", QUIET_SCRIPT)
    sims("b", answerer)
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 10, "idle")
    done = cli("ask", "--as", "a", "--to", "b", "--timeout", "20", "what is the answer?")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "b: forty-two"
    assert "forty-two" not in pane_text(tmux_socket, "a")  # the answer went to the CLI
