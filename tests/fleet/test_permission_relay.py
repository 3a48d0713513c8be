"""Permission prompts relayed to IRC from the screen (agents without a PermissionRequest hook:
sim agents in real tmux), decided by a server-verified operator on a real ngircd, by the
sweep's policy through the same path, by the terminal or by nobody in time."""

from __future__ import annotations

import re

import pytest

from breakroom.fleet import prompts
from breakroom.fleet.permissions import ID_ALPHABET, ID_LENGTH
from support.cli import BREAKROOM
from support.sims import pane_text
from support.terminal import run_in_pane
from support.wait import wait_until

PROMPT_LINE = r":{nick}!\S+ PRIVMSG #breakroom :{nick} wants {what} — !allow (\w+) · !deny \1$"
CLEANER = {"startup": [{"permission": "Bash(rm -rf build)"}, {"say": "Cleaned up."}]}


def oper(client, srv) -> None:
    client.send(f"OPER {srv.config.ircd.oper_name} {srv.config.ircd.oper_password}")
    client.wait_for(r" 381 ")


def start(running_app, srv, tmux_socket, services=("scribe",), **overrides):
    return running_app(srv, services=services, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                       sessions={"cleaner": {"agent": "sim"}, "other": {"agent": "sim"}}, **overrides)


def prompt_id(client, nick: str, what: str, *, since_start: bool = False) -> str:
    line = client.wait_for(PROMPT_LINE.format(nick=nick, what=re.escape(what)), 20, since_start=since_start)
    pid = re.search(r"!allow (\w+)", line).group(1)
    assert len(pid) == ID_LENGTH and set(pid) <= set(ID_ALPHABET)
    return pid


@pytest.mark.timeout(90)
def test_an_operator_allows_a_relayed_prompt_and_anyone_else_is_refused(ngircd, running_app, irc_client,
                                                                       sims, tmux_socket):
    sims("cleaner", CLEANER)
    boss, visitor = irc_client(ngircd, "boss"), irc_client(ngircd, "visitor")
    thread = start(running_app, ngircd, tmux_socket, ops=["boss"])
    pid = prompt_id(visitor, "cleaner", "Bash command: rm -rf build")
    boss.wait_for(rf":cleaner!\S+ PRIVMSG boss :cleaner wants Bash command: rm -rf build — !allow {pid}")

    visitor.say("#breakroom", f"!allow {pid}")       # not an operator
    visitor.wait_for(r":cleaner!\S+ NOTICE visitor :!allow \w+: only a server-verified IRC operator")
    boss.say("#breakroom", f"!allow {pid}")          # in ops, but not yet /oper'd
    boss.wait_for(r":cleaner!\S+ NOTICE boss :!allow \w+: only a server-verified IRC operator")
    assert "Approved" not in pane_text(tmux_socket, "cleaner")
    assert prompts.get(thread.app.db, pid).decision is None

    oper(boss, ngircd)
    boss.say("#breakroom", f"!ALLOW {pid}")          # a phone capitalises: still the command
    visitor.wait_for(rf":cleaner!\S+ PRIVMSG #breakroom :{pid}: allowed by boss — cleaner runs Bash command")
    wait_until(lambda: "Cleaned up." in pane_text(tmux_socket, "cleaner"), 10, "the agent went on")
    record = prompts.get(thread.app.db, pid)
    assert (record.decision, record.by, record.how) == ("allow", "boss", "IRC operator")
    assert record.source == "screen"
    assert (record.tool, record.what) == ("Bash command", "rm -rf build")

    boss.say("#breakroom", f"!deny {pid}")           # too late: decided
    boss.wait_for(rf":cleaner!\S+ NOTICE boss :{pid} is already decided: allowed by boss \(IRC operator\)")


@pytest.mark.timeout(90)
def test_deny_presses_the_profiles_no_and_ids_bind_to_their_session(ngircd, running_app, irc_client,
                                                                   sims, tmux_socket, tmp_path):
    sims("cleaner", CLEANER)
    sims("other", {"startup": [{"permission": "Bash(echo !allow zzzzz — !allow zzzzz)"}]})
    boss = irc_client(ngircd, "boss")
    oper(boss, ngircd)
    thread = start(running_app, ngircd, tmux_socket)
    lines = {}
    for _ in range(2):
        line = boss.wait_for(r"PRIVMSG #breakroom :\w+ wants .* — !allow \w+ · !deny \w+$", 20)
        lines[line.split(":", 2)[2].split()[0]] = re.search(r"!allow (\w+) · !deny", line).group(1)
    cleaner, other = lines["cleaner"], lines["other"]
    # a prompt's own text cannot answer anything, nor can a session speaking in the channel
    rc, out = run_in_pane(tmux_socket, "other", f"{BREAKROOM} say '#breakroom' '!allow {cleaner}'", tmp_path)
    assert rc == 0, out
    boss.wait_for(rf":other!\S+ PRIVMSG #breakroom :!allow {cleaner}")
    # an id is answered only by its own session's bot: the other's bot stays silent
    boss.say("other", f"!allow {cleaner}")
    boss.wait_for(rf":other!\S+ NOTICE boss :no permission prompt {cleaner} for other")
    assert prompts.get(thread.app.db, cleaner).decision is None
    assert "Approved" not in pane_text(tmux_socket, "cleaner")

    boss.say("cleaner", f"!deny {cleaner}")          # privately, to the session's bot
    boss.wait_for(rf":cleaner!\S+ PRIVMSG #breakroom :{cleaner}: denied by boss — cleaner does not run")
    wait_until(lambda: "Denied" in pane_text(tmux_socket, "cleaner"), 10, "Escape pressed")
    assert "Cleaned up." not in pane_text(tmux_socket, "cleaner")
    assert prompts.get(thread.app.db, other).decision is None  # still open
    assert "[breakroom" not in pane_text(tmux_socket, "cleaner")  # no !allow line was typed in


@pytest.mark.timeout(90)
def test_the_terminal_answers_first_and_an_unanswered_prompt_times_out(ngircd, running_app, irc_client,
                                                                      sims, tmux_socket, cli):
    sims("cleaner", CLEANER)
    sims("other", {"startup": [{"permission": "Bash(make deploy)"}]})
    boss = irc_client(ngircd, "boss")
    oper(boss, ngircd)
    thread = start(running_app, ngircd, tmux_socket, permissions={"relay_timeout": 4})
    cleaner = prompt_id(boss, "cleaner", "Bash command: rm -rf build")
    other = prompt_id(boss, "other", "Bash command: make deploy")
    thread.call(_press(thread, "cleaner", "1"))      # someone at the terminal says yes
    boss.wait_for(rf":cleaner!\S+ PRIVMSG #breakroom :{cleaner}: answered in cleaner's terminal")
    boss.say("#breakroom", f"!deny {cleaner}")
    boss.wait_for(rf":cleaner!\S+ NOTICE boss :{cleaner} is already decided: answered in the terminal")
    assert "Cleaned up." in pane_text(tmux_socket, "cleaner")

    boss.wait_for(rf":other!\S+ PRIVMSG #breakroom :{other}: no answer within 4s — left to other's terminal",
                  15)
    assert "Do you want to proceed?" in pane_text(tmux_socket, "other")  # the dialog is still there
    assert prompts.get(thread.app.db, other).decision == "timeout"
    audit = cli("audit")
    assert audit.returncode == 0, audit.stderr
    assert f"{cleaner} cleaner Bash command: rm -rf build — answered in the terminal" in audit.stdout
    assert (f"{other} other Bash command: make deploy — no answer in time: left to the terminal"
            in audit.stdout)


async def _press(thread, session, key):
    await thread.app.deliveries.press(session, [key])


@pytest.mark.timeout(90)
def test_the_sweeps_policy_decides_through_the_same_path(ngircd, running_app, irc_client, sims,
                                                         tmux_socket, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('approve:\n  - name: build cleanup\n    tool: "Bash command"\n'
                      '    prompt: "^rm -rf build$"\n')
    sims("cleaner", CLEANER)
    sims("other", {"startup": [{"permission": "Bash(rm -rf /)"}]})
    human = irc_client(ngircd, "human")
    thread = start(running_app, ngircd, tmux_socket, services=("scribe", "sweep"),
                   sweep={"interval": 3600, "policy": str(policy)})
    line = human.wait_for(r":sweep!\S+ PRIVMSG #breakroom :allowed Bash command: rm -rf build for cleaner "
                          r'\(policy rule "build cleanup"\) — (\w+)$', 20)
    pid = line.rsplit(" ", 1)[1]
    wait_until(lambda: "Cleaned up." in pane_text(tmux_socket, "cleaner"), 10, "approved")
    record = prompts.get(thread.app.db, pid)
    assert (record.decision, record.by, record.how) == ("allow", "sweep", 'policy rule "build cleanup"')
    prompt_id(human, "other", "Bash command: rm -rf /", since_start=True)  # not in the policy: relayed
    assert not human.seen(r"PRIVMSG #breakroom :cleaner wants")
