"""The sweep bot on a real ircd, over real tmux sessions (screens and sim agents)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bots.sweep import SweepBot
from breakroom.record.db import DB_NAME
from support.app import flush_bot
from support.cli import BREAKROOM
from support.screens import Fleet, screen
from support.sims import pane_text, wait_pane

SWEEP_LINE = r":sweep!\S+ PRIVMSG #\S+ :"
QUIET = {"interval": 3600}


def start_sim(tmux_socket: str, session: str, tmp_path: Path, script: str) -> None:
    path = tmp_path / f"{session}.yaml"
    path.write_text(script)
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", session, "-x", "120",
                    "-y", "40", "-c", str(tmp_path), f"{BREAKROOM} sim-agent --script {path}"],
                   check=True)


def start(running_app, srv, tmux_socket, services=("scribe", "sweep"), **overrides):
    overrides.setdefault("sweep", QUIET)
    return running_app(srv, services=services, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                       **overrides)


def sweep_of(thread) -> SweepBot:
    return thread.app.bots["sweep"].get_plugin(SweepBot)


def sweep_lines(client) -> list[str]:
    return client.seen(SWEEP_LINE)


def settle(thread, client) -> list[str]:
    """The sweep's channel lines once all it has said so far reached ``client``."""
    flush_bot(thread, "sweep", client)
    return sweep_lines(client)


@pytest.mark.timeout(60)
def test_quiet_walks_then_one_summary_line_on_change(ircd, running_app, irc_client, tmux_socket, tmp_path):
    fleet = Fleet(tmux_socket, tmp_path)
    fleet.show("shop", screen("working/spinner-pondering-bypass-footer.txt"), screen("idle/fresh-start.txt"))
    fleet.show("blog", screen("idle/fresh-start.txt"))
    human = irc_client(ircd, "human")
    thread = start(running_app, ircd, tmux_socket, sessions={"shop": {"agent": "claude-code"}})

    human.wait_for(SWEEP_LINE + "fleet: 2 sessions — 1 working, 1 idle$")  # the first look
    before = settle(thread, human)
    result = thread.call(sweep_of(thread).walk())
    assert result.lines == [] and settle(thread, human) == before  # no change: not a word

    fleet.advance("shop", "Welcome")
    thread.call(sweep_of(thread).walk())
    human.wait_for(SWEEP_LINE + "fleet: 2 sessions — 2 idle$")
    assert len(settle(thread, human)) == len(before) + 1


@pytest.mark.timeout(60)
def test_fleet_and_sweep_commands(ircd, running_app, irc_client, tmux_socket, tmp_path):
    fleet = Fleet(tmux_socket, tmp_path)
    fleet.show("shop", screen("error-usage-limit/usage-limit-reached.txt"))
    human = irc_client(ircd, "human")
    thread = start(running_app, ircd, tmux_socket, sessions={"shop": {"agent": "claude-code"}},
                   ops=["human"])
    human.wait_for(SWEEP_LINE + r"human: shop is in error:usage-limit")
    human.say(thread.config.channel, "!fleet")
    human.wait_for(SWEEP_LINE + r"shop: error:usage-limit for 0m \(claude-code\)")
    human.say(thread.config.channel, "!sweep")
    human.wait_for(SWEEP_LINE + r"human: nothing changed — fleet: 1 session — 1 error:usage-limit \(shop\)")


@pytest.mark.timeout(60)
def test_peek_is_for_operators_and_scrubbed(ircd, running_app, irc_client, tmux_socket, tmp_path):
    fleet = Fleet(tmux_socket, tmp_path)
    fleet.show("shop", "export ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz\nbuild ok\n")
    thread = start(running_app, ircd, tmux_socket)
    mallory = irc_client(ircd, "mallory")
    mallory.say("sweep", "!peek shop")
    mallory.wait_for(r":sweep!\S+ PRIVMSG mallory :!peek is for IRC operators")
    assert not mallory.seen("build ok")

    admin = irc_client(ircd, "admin")
    admin.send(f"OPER {ircd.config.ircd.oper_name} {ircd.config.ircd.oper_password}")
    admin.wait_for(r" 381 ")
    admin.say(thread.config.channel, "!peek shop 5")
    admin.wait_for(r":sweep!\S+ PRIVMSG admin :shop, last 5 lines \(secrets scrubbed\):")
    admin.wait_for(r":sweep!\S+ PRIVMSG admin :build ok")
    peeked = admin.seen(r":sweep!\S+ PRIVMSG admin :")
    assert any("ANTHROPIC_API_KEY=[redacted]" in line for line in peeked)
    assert not any("sk-ant" in line for line in peeked)
    assert not [line for line in settle(thread, admin) if "build ok" in line]  # nothing in the channel


@pytest.mark.timeout(120)
def test_stuck_agents_answered_or_escalated_through_knowledge(ircd, running_app, irc_client,
                                                              tmux_socket, tmp_path, shipped_corpus):
    """One agent asks what the default corpus answers, another what it cannot: the first gets
    the answer in its pane, attributed; the second is escalated to ops and nothing is typed."""
    start_sim(tmux_socket, "nicky", tmp_path,
              'name: nicky\nstartup:\n  - ask: "How often does the sweep walk the fleet?"\n')
    start_sim(tmux_socket, "painter", tmp_path,
              'name: painter\nstartup:\n  - ask: "Which colour should the staging banner use?"\n')
    wait_pane(tmux_socket, "nicky", "walk the fleet")
    wait_pane(tmux_socket, "painter", "staging banner")
    (tmp_path / "data").mkdir()
    shutil.copy(shipped_corpus, tmp_path / "data" / DB_NAME)
    human = irc_client(ircd, "human")
    start(running_app, ircd, tmux_socket, services=("scribe", "knowledge", "sweep"),
          sessions={"nicky": {"agent": "sim"}, "painter": {"agent": "sim"}}, ops=["alice", "bob"])

    asked = human.wait_for(SWEEP_LINE + r"knowledge: \[(q[0-9a-f]{4})\] How often does the sweep walk", 20)
    qid = asked.split("[", 1)[1].split("]", 1)[0]
    human.wait_for(rf":knowledge!\S+ PRIVMSG #\S+ :sweep: \[{qid}\] \(confidence 0\.\d+\)", 30)
    text = wait_pane(tmux_socket, "nicky", "[sweep via knowledge, confidence", 20)
    assert "300 seconds" in text

    human.wait_for(SWEEP_LINE + r"alice, bob: painter is stuck on a question \[q[0-9a-f]{4}\] "
                   r"\(knowledge's best answer has confidence 0\.\d\d < 0\.70\): "
                   r"Which colour should the staging banner use\?", 30, since_start=True)
    assert not [line for line in sweep_lines(human) if "nicky is stuck" in line]
    # escalating is instead of delivering (a delivery is typed before anything is said)
    assert "[sweep via knowledge" not in pane_text(tmux_socket, "painter")


@pytest.mark.timeout(60)
def test_cli_walks_now_and_shows_a_sessions_history(ircd, running_app, cli, tmux_socket, tmp_path):
    fleet = Fleet(tmux_socket, tmp_path)
    fleet.show("shop", screen("working/tool-running.txt"), screen("idle/fresh-start.txt"))
    thread = start(running_app, ircd, tmux_socket, sessions={"shop": {"agent": "claude-code"}})
    thread.wait_until(lambda: sweep_of(thread).sweeper.last, 10, "the first walk")
    fleet.advance("shop", "Welcome")
    now = cli("sweep", "now")
    assert now.returncode == 0, now.stderr
    assert now.stdout.splitlines()[0] == "fleet: 1 session — 1 idle"
    history = cli("fleet", "--history", "shop")
    assert history.returncode == 0, history.stderr
    states = [line.split()[2] for line in history.stdout.splitlines()]
    assert states[0] == "working" and states[-1] == "idle"
    assert "no sweep record for 'ghost'" in cli("fleet", "--history", "ghost").stdout


def test_cli_sweep_now_without_a_breakroom_is_one_clear_line(cli, tmp_path):
    result = cli("sweep", "now")
    assert result.returncode != 0
    assert result.stderr.startswith("breakroom: ") and "not running" in result.stderr
    assert "Traceback" not in result.stderr
