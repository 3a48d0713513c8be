"""Identity from the kernel: a process inside session a's pane cannot speak, ask, read b's
inbox or report hooks as b by any means (env, raw request, ``--as``).  Real ngircd, tmux,
control socket and CLI.  (Another uid: tests/control/test_server.py.)"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from breakroom.errors import BreakroomError
from breakroom.fleet import inbox
from breakroom.fleet.identity import acting_session, ancestry, pane_session
from support.cli import BREAKROOM
from support.sims import QUIET_SCRIPT, sim_config

RAW_REQUEST = """
import json, socket, sys
from breakroom import config
from breakroom.control import client as control
sock = socket.socket(socket.AF_UNIX)
sock.connect(str(control.socket_path(config.load().data_path)))
sock.sendall(json.dumps(json.loads(sys.argv[1])).encode() + b"\\n")
print(sock.makefile().readline())
"""


def in_pane(app, tmux_socket: str, tmp_path: Path, session: str, command: str) -> tuple[int, str]:
    """Run ``command`` in a new window of ``session`` (a process inside its pane tree)."""
    tag = uuid.uuid4().hex[:8]
    out, rc = tmp_path / f"{tag}.out", tmp_path / f"{tag}.rc"
    script = tmp_path / f"{tag}.sh"
    script.write_text(f"{command} >{out} 2>&1; echo $? >{rc}.tmp; mv {rc}.tmp {rc}\n")
    subprocess.run(["tmux", "-L", tmux_socket, "new-window", "-d", "-t", f"={session}:",
                    f"sh {script}"], check=True)
    app.wait_until(rc.exists, 20, f"{command!r} finished in {session}'s pane")
    return int(rc.read_text()), out.read_text()


def pane_of(tmux_socket: str, session: str) -> str:
    return subprocess.run(["tmux", "-L", tmux_socket, "display-message", "-p", "-t",
                           f"={session}:", "#{pane_id}"],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_a_pane_acts_only_as_its_own_session(ircd, irc_client, running_app, sims, tmux_socket,
                                             tmp_path, cli):
    sims("a", QUIET_SCRIPT)
    sims("b", QUIET_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 15, "idle")
    secret_for_b = app.call(app.app.deliveries.deliver("b", "human", "for b's eyes only")).id
    b_pane = pane_of(tmux_socket, "b")

    def run(command: str) -> tuple[int, str]:
        return in_pane(app, tmux_socket, tmp_path, "a", command)

    # speaking: env, --as, a raw request -- all refused, nothing said as b
    for attempt in (f"TMUX_PANE={b_pane} {BREAKROOM} say human as-b-by-env",
                    f"{BREAKROOM} say --as b human as-b-by-flag",
                    f"{BREAKROOM} ask --as b --to human --timeout 1 as-b-asking",
                    f"{sys.executable} -c {shlex.quote(RAW_REQUEST)} " + shlex.quote(json.dumps(
                        {"op": "say", "session": "b", "target": "human", "text": "as-b-raw"}))):
        rc, out = run(attempt)
        assert "refused: this process runs in session 'a'" in out, (attempt, out)
        assert "Traceback" not in out
    # the same process without a claim acts as a: the check is not a blanket refusal
    rc, out = run(f"{BREAKROOM} say human from-a")
    assert rc == 0 and "a -> human: from-a" in out, out
    human.wait_for(r":a!\S+ PRIVMSG #breakroom :human: from-a")
    assert not human.seen(r"as-b"), "nothing may go out as b"

    # reading b's inbox: --as refused; a forged env reads a's own inbox, not b's
    rc, out = run(f"{BREAKROOM} inbox --as b")
    assert rc != 0 and "refused" in out and "eyes only" not in out
    rc, out = run(f"TMUX_PANE={b_pane} {BREAKROOM} inbox")
    assert rc == 0 and "no messages for a" in out, out
    rc, out = run(f"TMUX_PANE={b_pane} {BREAKROOM} read {secret_for_b}")
    assert rc != 0 and "eyes only" not in out
    assert not inbox.get(app.app.db, secret_for_b).read

    # reporting hooks as b: silently refused, b's state untouched; a's own report counts
    for attempt in (f"echo {{}} | {BREAKROOM} hook UserPromptSubmit --as b",
                    f"echo {{}} | TMUX_PANE={b_pane} {BREAKROOM} hook UserPromptSubmit"):
        rc, out = run(attempt)
        assert rc == 0 and out == ""
    status = {s.session: s for s in app.app.sessions.status()}
    assert status["b"].state == "idle" and not status["b"].hook_fresh
    run(f"echo {{}} | {BREAKROOM} hook UserPromptSubmit")
    app.wait_until(lambda: {s.session: s for s in app.app.sessions.status()}["a"].hook_fresh,
                   5, "a's own hook applied")

    # outside every pane (this test process), --as is an operator's right
    done = cli("say", "--as", "b", "human", "operator-as-b")
    assert done.returncode == 0, done.stderr
    done = cli("say", "human", "nobody")
    assert done.returncode != 0 and "--as SESSION" in done.stderr


def test_pane_session_follows_ancestry_not_environment(tmux_socket, tmp_path) -> None:
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "x", "sleep 60"], check=True)
    pid = int(subprocess.run(["tmux", "-L", tmux_socket, "display-message", "-p", "-t", "=x:",
                              "#{pane_pid}"], check=True, capture_output=True, text=True).stdout)
    assert pane_session(pid, tmux_socket) == "x"
    assert pane_session(os.getpid(), tmux_socket) is None
    assert ancestry(os.getpid())[:2] == [os.getpid(), os.getppid()]
    assert acting_session(None, "b") == "b" and acting_session("x", None) == "x"
    with pytest.raises(BreakroomError, match="can act only as 'x'"):
        acting_session("x", "b")
