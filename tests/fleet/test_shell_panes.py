"""Delivery only into agents: zsh, bash and dash sessions at their prompts (watched with the
default ``include: ["*"]``) are sent command-injection tricks from IRC and from another
session; nothing is typed, nothing runs, the messages stay in the inbox and the sender is
told.  A session that opts in (``deliver: any``) is typed into.  Real ngircd and tmux."""

from __future__ import annotations

import subprocess

import pytest

from breakroom.fleet import inbox
from support.sims import pane_text

SHELLS = {"zsh": "zsh -f", "bash": "bash --norc --noprofile", "dash": "dash"}
TRICKS = ["$(touch {f})", "; touch {f}", "`touch {f}`", "x\ntouch {f}\n", "&& touch {f} #",
          "| touch {f}", "\rtouch {f}\r"]


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_a_shell_prompt_is_never_typed_into(shell, ircd, irc_client, running_app, tmux_socket,
                                            tmp_path, cli):
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", shell, "-x", "120",
                    "-y", "30", "-c", str(tmp_path), SHELLS[shell]], check=True)
    human = irc_client(ircd, "human")
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      delivery={"enter_delay": 0.1})
    app.wait_until(lambda: [(s.session, s.state) for s in app.app.sessions.status()]
                   == [(shell, "idle")], 10, f"{shell} idle at its prompt")
    before = pane_text(tmux_socket, shell)
    for i, trick in enumerate(TRICKS):
        human.say(ircd.channel, f"{shell}: " + trick.format(f=f"F{i}").replace("\n", " ").replace("\r", " "))
    human.wait_for(rf"NOTICE human :#{len(TRICKS)} queued in {shell}'s inbox, not typed: its foreground "
                   rf"program is the shell {shell}, not an agent", timeout=10)
    # from another session (an operator acting for it): the same, with the outcome in the answer
    cli_trick = "$(touch FCLI)\ntouch FCLI"
    app.call(app.app.deliveries.deliver(shell, "someone", cli_trick))
    said = cli("say", "--as", shell, shell, "talking to myself $(touch FSELF)")
    assert said.returncode == 0, said.stderr
    app.wait_until(lambda: len(inbox.for_session(app.app.db, shell)) == len(TRICKS) + 1, 5,
                   "every message stored")
    for _ in range(2):  # drains that ran to the end, each after a fresh look at the pane
        app.call(app.app.deliveries._drain(shell))
    assert pane_text(tmux_socket, shell) == before, "nothing typed"
    assert not list(tmp_path.glob("F*")), "nothing ran"
    queued = inbox.for_session(app.app.db, shell)
    assert {m.state for m in queued} == {"queued"} and all(m.attempts == 0 for m in queued)
    listing = cli("inbox", "--as", shell)
    assert listing.returncode == 0 and listing.stdout.count("queued") == len(queued)


def test_a_session_that_opts_in_is_typed_into(ircd, irc_client, running_app, tmux_socket, tmp_path):
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "optin", "-x", "120",
                    "-y", "30", "-c", str(tmp_path), "bash --norc --noprofile"], check=True)
    human = irc_client(ircd, "human")
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={"optin": {"deliver": "any"}}, delivery={"enter_delay": 0.1})
    app.wait_until(lambda: [s.state for s in app.app.sessions.status()] == ["idle"], 10, "idle")
    human.say(ircd.channel, "optin: hello shell")
    human.wait_for(r"NOTICE human :delivered #1 to optin", timeout=10)
    assert "[breakroom #1] human: hello shell" in pane_text(tmux_socket, "optin")
