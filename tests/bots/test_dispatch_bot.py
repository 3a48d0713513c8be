"""The dispatcher bot on a real ircd with sim-agent sessions on a private tmux server."""

from __future__ import annotations

import os
import subprocess
import time
from itertools import pairwise
from pathlib import Path

import pytest

from breakroom.control import client as control
from breakroom.fleet.holds import FLEET
from breakroom.record import events as record
from breakroom.record.db import db_path, open_db
from breakroom.work import digest, dispatch
from breakroom.work import queue as workqueue
from support.app import next_poll
from support.cli import BREAKROOM
from support.irc import HAVE_NGIRCD
from support.wait import wait_value

WORKER = Path(__file__).parents[1] / "fixtures" / "dispatch" / "worker.yaml"
QUIET = {"interval": 3600, "cooldown": 0, "checkin_interval": 10**6, "scout_interval": 10**6}


def start_sim(tmux_socket: str, session: str, cwd: Path) -> None:
    path = f"{Path(BREAKROOM).parent}:{os.environ['PATH']}"  # the agent runs `breakroom …` itself
    agent = f"env PATH={path} {BREAKROOM} sim-agent --script {WORKER} --name {session}"
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                    "-c", str(cwd), agent], check=True)


def start(running_app, srv, tmux_socket, sessions, dispatcher=QUIET):
    return running_app(srv, services=("scribe", "dispatcher"),
                       tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                       sessions={name: {"agent": "sim", **opts} for name, opts in sessions.items()},
                       dispatcher=dispatcher)


def pane(tmux_socket: str, session: str) -> str:
    return subprocess.run(["tmux", "-L", tmux_socket, "capture-pane", "-p", "-J", "-t", session, "-S", "-80"],
                          capture_output=True, text=True).stdout


def wait_idle(thread, *sessions, timeout=20.0):
    def ready():
        states = {s.session: s.state for s in thread.app.sessions.status()}
        return all(states.get(name) == "idle" for name in sessions)
    thread.wait_until(ready, timeout, f"{sessions} idle")


def dispatch_now(thread, **request) -> dict:
    return control.request(thread.config.data_path, {"op": "dispatch_now", **request}, timeout=20)


def oper(client, srv) -> None:
    client.send(f"OPER {srv.config.ircd.oper_name} {srv.config.ircd.oper_password}")
    client.wait_for(r" 381 ")


@pytest.mark.timeout(120)
def test_a_sim_fleet_works_through_the_queue_driven_only_by_nudges(ircd, running_app, irc_client,
                                                                     tmux_socket, tmp_path):
    """prep → dev → qa → review → done: one nudge per cycle, every move made by the agent itself."""
    start_sim(tmux_socket, "shop", tmp_path)
    start_sim(tmux_socket, "writer", tmp_path)
    thread = start(running_app, ircd, tmux_socket,
                   {"shop": {"project": "shop"}, "writer": {"role": "writer"}})
    human = irc_client(ircd, "human")
    db = thread.app.db
    issue = thread.call(_add(db, "Stripe webhook ignores DB failures", project="shop"))
    wait_idle(thread, "shop", "writer")

    reasons = []

    def one_cycle() -> str:
        """The issue's state; unless done, after one dispatcher cycle and what it led to."""
        state = thread.call(_state(db, issue))
        if state == "done":
            return state
        wait_idle(thread, "shop")
        result = dispatch_now(thread)
        reasons.append(result["reason"])
        if result["acted"]:
            assert result["session"] == "shop", result  # nothing is routed to the writer
            thread.wait_until(lambda: thread.call(_state(db, issue)) != state, 20,
                              f"shop moving #{issue} on from {state}")
        else:
            next_poll(thread)  # nothing to do yet: look again at a fresh picture
        return state

    wait_value(one_cycle, lambda state: state == "done", 25,
               lambda: f"the issue reaching done; reasons: {reasons[-5:]}\n{pane(tmux_socket, 'shop')}",
               poll=0)

    steps = [(t.from_state, t.to_state, t.who, t.note) for t in thread.call(_history(db, issue))]
    assert steps == [(None, "ready-for-prep", "tester", "created"),
                     ("ready-for-prep", "ready-for-dev", "shop", "did prep"),
                     ("ready-for-dev", "qa", "shop", "did build"),
                     ("qa", "review", "shop", "did qa"),
                     ("review", "done", "shop", "did review")]
    acted = [r for r in thread.call(_audit(db)) if r.acted]
    assert [r.text.split(" — ")[0] for r in acted] == [
        f'[dispatcher] next: {skill} #{issue} "Stripe webhook ignores DB failures"'
        for skill in ("prep", "build", "qa", "review")]
    assert all(r.delivery == "delivered" for r in acted)
    # a session busy with its agent's work was never nudged: every nudge found shop idle
    assert all(r.session == "shop" for r in acted)
    # each move was announced in the channel, by the dispatcher
    human.wait_for(rf':dispatcher!\S+ PRIVMSG #breakroom :\[queue\] shop moved #{issue} ".*" review → done')
    assert len(human.seen(r"PRIVMSG #breakroom :\[queue\] shop moved")) == 4


@pytest.mark.timeout(90)
def test_busy_sessions_are_never_nudged_and_idle_ones_once_per_cycle(ircd, running_app, tmux_socket,
                                                                      tmp_path):
    for name in ("a", "b"):
        start_sim(tmux_socket, name, tmp_path)
    thread = start(running_app, ircd, tmux_socket, {"a": {"project": "pa"}, "b": {"project": "pb"}},
                   dispatcher={**QUIET, "cooldown": 900})
    db = thread.app.db
    thread.call(_add(db, "Job A", project="pa", state="review"))
    thread.call(_add(db, "Job B", project="pb", state="review"))
    wait_idle(thread, "a", "b")
    subprocess.run(["tmux", "-L", tmux_socket, "send-keys", "-t", "b", "-l", "work"], check=True)
    subprocess.run(["tmux", "-L", tmux_socket, "send-keys", "-t", "b", "Enter"], check=True)
    thread.wait_until(
        lambda: {s.session: s.state for s in thread.app.sessions.status()}.get("b") == "working",
        10, "b is working")
    first = dispatch_now(thread)
    assert (first["acted"], first["session"]) == (True, "a")
    second = dispatch_now(thread)
    assert not second["acted"]  # b is busy; a is busy with its nudge, or cooling down once done
    assert second["reason"] in ("nothing to do: 2 sessions busy",
                                "nothing to do: 1 session busy, 1 cooling down")
    rows = thread.call(_audit(db))
    assert [r.acted for r in rows] == [True, False]
    assert thread.call(_state_of_b_issue(db)) is None  # b's issue was never handed out


@pytest.mark.timeout(90)
def test_checkin_nudge_reaches_an_idle_session_and_its_digest_puts_its_own_lines_first(
        ircd, running_app, irc_client, tmux_socket, tmp_path):
    start_sim(tmux_socket, "shop", tmp_path)
    thread = start(running_app, ircd, tmux_socket, {"shop": {"role": "writer"}},
                   dispatcher={**QUIET, "checkin_interval": 1})
    human = irc_client(ircd, "human")
    human.say(ircd.channel, "fixed: the payments sandbox needs TLS 1.2")
    human.say(ircd.channel, "shop: please check the webhook logs")
    thread.wait_until(lambda: len(record.search(thread.app.db, "webhook logs")) == 1, 10, "recorded")
    wait_idle(thread, "shop")
    assert dispatch_now(thread)["reason"] == "nothing to do: 1 session idle with nothing actionable"
    thread.wait_until(lambda: time.time() - thread.call(_first_seen(thread.app.db, "shop")) >= 1, 5,
                      "the check-in interval (1 s) passed since the dispatcher first saw shop")
    # the relay typed the addressed line into shop's pane; its agent answers, then idles again
    thread.wait_until(lambda: "please check the webhook logs" in pane(tmux_socket, "shop"), 10, "relayed")
    wait_idle(thread, "shop")
    result = dispatch_now(thread)
    assert result["acted"], result
    assert result["text"].startswith("[dispatcher] check-in:")
    # the sim agent reacts by running `breakroom digest` in its pane, which advances its mark
    thread.wait_until(lambda: "Shared (decisions" in pane(tmux_socket, "shop"), 20, "shop read its digest")
    shown = pane(tmux_socket, "shop")
    assert shown.index("For you:") < shown.index("<human> shop: please check the webhook logs") < \
        shown.index("Shared (decisions") < shown.index("<human> fixed: the payments sandbox")
    assert thread.call(_mark(thread.app.db))
    fresh = open_db(db_path(thread.config.data_path))
    again = digest.for_session(fresh, "shop", "shop", peek=True)
    fresh.conn.close()
    assert again.addressed == [] and again.shared == []  # what it has read is not shown again


@pytest.mark.timing
@pytest.mark.timeout(60)
def test_the_cycle_runs_on_its_own_every_interval(ircd, running_app, tmux_socket):
    thread = start(running_app, ircd, tmux_socket, {}, dispatcher={**QUIET, "interval": 0.3})
    thread.wait_until(lambda: len(thread.call(_audit(thread.app.db))) >= 3, 10, "three timed cycles")
    rows = thread.call(_audit(thread.app.db))
    assert {r.reason for r in rows} == {"nothing to do: no sessions"}
    assert all(b.ts - a.ts >= 0.25 for a, b in pairwise(rows))


@pytest.mark.skipif(not HAVE_NGIRCD, reason="operators need ngircd")
@pytest.mark.timeout(90)
def test_human_commands(ircd, running_app, irc_client, tmux_socket, tmp_path):
    start_sim(tmux_socket, "shop", tmp_path)
    thread = start(running_app, ircd, tmux_socket, {"shop": {"project": "shop"}})
    db = thread.app.db
    first = thread.call(_add(db, "Stripe webhook ignores DB failures", project="shop", state="ready-for-dev",
                             priority=1))
    thread.call(_add(db, "Tidy the README", project="shop"))
    human = irc_client(ircd, "human")
    ch = ircd.channel

    human.say(ch, "!queue shop")
    human.wait_for(rf"PRIVMSG {ch} :#{first} P1 ready-for-dev \(project shop\) Stripe webhook")
    human.wait_for(rf"PRIVMSG {ch} :#{first + 1} P3 ready-for-prep \(project shop\) Tidy the README")
    human.say(ch, "!queue nowhere")
    human.wait_for(rf"PRIVMSG {ch} :queue for nowhere: empty")
    human.say(ch, f"!issue {first}")
    human.wait_for(rf'PRIVMSG {ch} :#{first} "Stripe webhook ignores DB failures" — ready-for-dev, P1, '
                   r"project shop, held by nobody; last: filed by tester")
    human.say(ch, "!issue 99")
    human.wait_for(rf"PRIVMSG {ch} :no issue #99")

    # operator-only commands refuse a nick that is not a server-verified operator
    human.say(ch, "!pause")
    human.wait_for(rf"PRIVMSG {ch} :human: !pause needs an IRC operator")
    human.say(ch, "!nudge shop")
    human.wait_for(rf"PRIVMSG {ch} :human: !nudge needs an IRC operator")
    assert FLEET not in thread.app.holds.pauses

    oper(human, ircd)
    human.say(ch, "!pause")
    human.wait_for(rf"PRIVMSG {ch} :the fleet paused by human: messages wait in the inbox, no nudges, "
                   r"no sweep answers — !resume to go on")
    assert FLEET in thread.app.holds.pauses
    assert dispatch_now(thread)["reason"] == "nothing to do: paused"
    human.say(ch, "!dnd shop 30")
    human.wait_for(rf"PRIVMSG {ch} :shop: do not disturb until \d\d:\d\d UTC \(set by human\)")
    human.say(ch, "!dnd ghost")
    human.wait_for(rf"PRIVMSG {ch} :no session 'ghost'")
    human.say(ch, "!resume")
    human.wait_for(rf"PRIVMSG {ch} :the fleet resumed by human — 0 waiting messages delivered")
    wait_idle(thread, "shop")
    human.say(ch, "!dispatch")
    human.wait_for(rf"PRIVMSG {ch} :nothing to do: 1 session DND")
    human.say(ch, "!dnd shop 0")
    human.wait_for(rf"PRIVMSG {ch} :shop: do-not-disturb cleared")
    human.say(ch, "!nudge shop")
    human.wait_for(rf"PRIVMSG {ch} :nudged shop: build #{first} \(P1, project shop\)")
    human.say(ch, "!audit 3")
    human.wait_for(rf"PRIVMSG {ch} :\S+ \S+ #\d+ nothing to do: paused")
    human.wait_for(rf"PRIVMSG {ch} :\S+ \S+ #\d+ nothing to do: 1 session DND")
    human.wait_for(rf"PRIVMSG {ch} :\S+ \S+ #\d+ nudged shop: build #{first}")


# Database work runs on the app's loop (the app's connection belongs to it).

async def _add(db, title, **kw):
    return workqueue.add_issue(db, title, who="tester", **kw).id


async def _state(db, issue_id):
    return workqueue.get_issue(db, issue_id).state


async def _history(db, issue_id):
    return workqueue.history(db, issue_id)


async def _audit(db):
    return dispatch.audit(db, 100)


async def _state_of_b_issue(db):
    return workqueue.list_issues(db, project="pb")[0].assignee


async def _first_seen(db, session):
    return db.execute("SELECT first_seen FROM dispatch_seen WHERE session = ?", [session]).fetchone()[0]


async def _mark(db):
    return digest.last_mark(db, "shop")
