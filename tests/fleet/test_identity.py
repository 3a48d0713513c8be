"""Identity from the kernel: a process inside session a's pane cannot speak, ask, read b's
inbox or report hooks as b by any means (env, raw request, ``--as``).  Real ngircd, tmux,
control socket and CLI.  (Another uid: tests/control/test_server.py.)"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from breakroom.control import client as control
from breakroom.errors import BreakroomError
from breakroom.fleet import inbox
from breakroom.fleet.identity import acting_session, ancestry, pane_session
from support.app import flush_bot, next_poll
from support.cli import BREAKROOM
from support.sims import QUIET_SCRIPT, pane_text, sim_config
from support.terminal import run_in_pane, run_on_terminal

RAW_REQUEST = """
import json, socket, sys
from breakroom import config
from breakroom.control import client as control
sock = socket.socket(socket.AF_UNIX)
sock.connect(str(control.socket_path(config.load().data_path)))
sock.sendall(json.dumps(json.loads(sys.argv[1])).encode() + b"\\n")
print(sock.makefile().readline())
"""


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
        return run_in_pane(tmux_socket, "a", command, tmp_path)

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
    assert inbox.get(app.app.db, secret_for_b).read_via in (None, "a turn")  # b's own receipt only

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
    assert acting_session(None, "b", terminal=True) == "b"
    assert acting_session("x", None, terminal=False) == "x"
    assert acting_session(None, None, terminal=False) is None
    with pytest.raises(BreakroomError, match="can act only as 'x'"):
        acting_session("x", "b", terminal=True)
    with pytest.raises(BreakroomError, match="needs a person's terminal"):
        acting_session(None, "b", terminal=False)


# A detached grandchild of a process in a's pane: it double-forks and calls setsid (leaving
# the pane's process tree and its terminal), then asks the control socket for things.
DETACHED = """
import json, os, socket, sys, time, traceback
out = sys.argv[1]
if os.fork():
    os._exit(0)
os.setsid()
middle = os.getpid()
if os.fork():
    os._exit(0)
try:
    from breakroom import config
    from breakroom.control import client
    while os.getppid() == middle:   # until the middle child is gone: this one is adopted
        time.sleep(0.01)
    answers = []
    for request in json.loads(sys.argv[2]):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(client.socket_path(config.load().data_path)))
        sock.sendall(json.dumps(request).encode() + b"\\n")
        answers.append(json.loads(sock.makefile().readline()))
    found = {"ppid": os.getppid(), "tty": open("/proc/self/stat").read().rsplit(")", 1)[1].split()[4],
             "answers": answers}
except Exception:
    found = {"error": traceback.format_exc()}
with open(out + ".tmp", "w") as f:
    json.dump(found, f)
os.rename(out + ".tmp", out)
"""


@pytest.mark.timeout(60)
def test_a_detached_grandchild_of_a_pane_cannot_act_as_any_session(ircd, irc_client, running_app, sims,
                                                                   tmux_socket, tmp_path):
    sims("a", QUIET_SCRIPT)
    sims("b", QUIET_SCRIPT)
    human = irc_client(ircd, "human")
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: {s.state for s in app.app.sessions.status()} == {"idle"}, 15, "idle")
    requests = [{"op": "say", "session": "a", "target": "human", "text": "detached-as-a"},
                {"op": "say", "session": "b", "target": "human", "text": "detached-as-b"},
                {"op": "say", "target": "human", "text": "detached-as-nobody"},
                {"op": "hook", "session": "a", "state": "waiting:permission", "event": "Notification"}]
    out = tmp_path / "detached.json"
    rc, _ = run_in_pane(tmux_socket, "a", f"{sys.executable} -c {shlex.quote(DETACHED)} {out} "
                                          f"{shlex.quote(json.dumps(requests))}", tmp_path)
    assert rc == 0
    found = app.wait_until(lambda: out.exists() and json.loads(out.read_text()), 30, "its answers")
    assert "error" not in found, found["error"]
    assert found["tty"] == "0" and found["ppid"] != 0  # no terminal, not a's process tree
    errors = [answer.get("error", "") for answer in found["answers"]]
    assert "needs a person's terminal" in errors[0] and "needs a person's terminal" in errors[1]
    assert "not inside a tmux session's pane" in errors[2]
    assert "hook reports come only from inside one of the fleet's panes" in errors[3]
    assert {s.session: s.hook_fresh for s in app.app.sessions.status()} == {"a": False, "b": False}
    flush_bot(app, "scribe", human)
    assert not human.seen("detached-as")


@pytest.mark.timeout(60)
def test_a_forged_hook_from_outside_every_pane_does_not_get_a_working_agent_typed_into(
        ircd, running_app, sims, tmux_socket, tmp_path):
    sims("b", {"startup": [{"work": 60}]})
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: app.app.sessions.status()[0].state == "working", 15, "b working")
    queued = app.call(app.app.deliveries.deliver("b", "mallory", "typed over a working agent"))
    assert queued.status == "queued"
    forged = {"op": "hook", "session": "b", "state": "idle", "event": "Stop", "collect": True}
    with pytest.raises(BreakroomError, match="hook reports come only from inside"):
        control.request(app.config.data_path, forged)            # this process: outside, no tty
    done = run_on_terminal([sys.executable, "-c", RAW_REQUEST, json.dumps(forged)],
                           capture_output=True, text=True, timeout=20)  # a person's terminal
    assert "hook reports come only from inside" in done.stdout, done.stdout + done.stderr
    next_poll(app)
    assert app.app.sessions.status()[0].state == "working"
    assert inbox.get(app.app.db, queued.id).state == "queued"
    assert "typed over a working agent" not in pane_text(tmux_socket, "b")
