"""SessionManager.deliver: what the sweep and dispatcher rely on to put text into panes."""

import subprocess

from breakroom.fleet import inbox
from breakroom.sanitize import sanitize
from support.app import next_poll
from support.sims import QUIET_SCRIPT, pane_text, sim_config


def test_an_agent_waiting_on_a_question_gets_the_answer(ircd, running_app, sims, tmux_socket):
    sims("b", {"startup": [{"ask": "Which port should I use?"}]})
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: app.app.sessions.status()[0].state == "waiting:question", 10, "question")
    delivery = app.call(app.app.deliveries.deliver("b", "sweep", "use 6697"))
    assert (delivery.status, delivery.reason) == ("delivered", "")
    assert "Thanks — got it: [breakroom #1] sweep: use 6697" in pane_text(tmux_socket, "b")


def test_permission_dialog_is_never_typed_into(ircd, running_app, sims, tmux_socket):
    sims("b", {"startup": [{"permission": "Bash(rm -rf build)"}, {"say": "Approved, going on."}]})
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: app.app.sessions.status()[0].state == "waiting:permission", 10, "dialog")
    delivery = app.call(app.app.deliveries.deliver("b", "dispatcher", "next issue please"))
    assert delivery.status == "queued" and "waiting:permission" in delivery.reason
    assert "next issue" not in pane_text(tmux_socket, "b")
    app.call(app.app.deliveries.press("b", ["1"]))  # an approved prompt: keys, not text
    app.wait_until(lambda: inbox.get(app.app.db, delivery.id).state == "delivered", 10, "delivered")
    text = pane_text(tmux_socket, "b")
    assert "Approved, going on." in text and text.count("next issue please") == 1


def test_a_humans_draft_holds_the_queue_until_it_is_gone(ircd, irc_client, running_app, sims,
                                                         tmux_socket):
    sims("b", QUIET_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: app.app.sessions.status()[0].state == "idle", 10, "idle")
    subprocess.run(["tmux", "-L", tmux_socket, "send-keys", "-t", "=b:", "-l", "my own draft"])
    app.wait_until(lambda: "my own draft" in pane_text(tmux_socket, "b"), 5, "draft shown")
    # the screen has settled (polls after the draft): the agent looks idle, but its input line is not empty
    app.wait_until(lambda: "my own draft" in next_poll(app).sessions["b"].text
                   and app.app.sessions.status()[0].state == "idle", 5, "idle with a draft")
    human.say(ircd.channel, "b: interrupting")
    human.wait_for(r"NOTICE human :#1 queued: someone is typing in the input line in b's pane")
    assert "interrupting" not in pane_text(tmux_socket, "b")
    # the human submits their draft; the queued message follows once the agent is idle again
    subprocess.run(["tmux", "-L", tmux_socket, "send-keys", "-t", "=b:", "Enter"])
    human.wait_for(r"NOTICE human :delivered #1 to b", timeout=10)
    text = pane_text(tmux_socket, "b")
    assert text.index("> my own draft") < text.index("> [breakroom #1] human: interrupting")


def test_unknown_session_and_empty_text_fail_without_typing(ircd, running_app, sims, tmux_socket):
    sims("b", QUIET_SCRIPT)
    app = running_app(ircd, **sim_config(tmux_socket))
    assert app.call(app.app.deliveries.deliver("nosuch", "sweep", "hi")).status == "failed"
    empty = app.call(app.app.deliveries.deliver("b", "sweep", sanitize("\x1b[31m\x03")))
    assert empty.status == "failed" and "control characters" in empty.reason
