"""Queued messages reach a busy agent through its hooks (`breakroom hook`, a real process,
through the real control socket of a running breakroom): exactly once, attributed, and a
Stop hook can keep the agent going only a few times in a row."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

from breakroom.control.client import socket_path
from breakroom.fleet import inbox
from breakroom.fleet.delivery import STOP_BLOCK_CAP
from breakroom.sanitize import sanitize
from support.sims import pane_text, sim_config
from support.terminal import run_in_pane

HOOK = f"{shlex.quote(sys.executable)} -m breakroom.fleet.hooks"


def hook(tmux_socket, tmp_path, event: str, payload: dict | None = None) -> dict | None:
    """Run the hook as Claude Code would: inside b's pane (hooks come from nowhere else)."""
    rc, out = run_in_pane(tmux_socket, "b", f"BREAKROOM_CONFIG={tmp_path / 'breakroom.yaml'} {HOOK} {event}",
                          tmp_path, stdin=json.dumps(payload or {}).encode())
    assert rc == 0
    return json.loads(out) if out.strip() else None


def busy_app(ircd, running_app, sims, tmux_socket):
    sims("b", {"startup": [{"work": 60}]})
    app = running_app(ircd, **sim_config(tmux_socket))
    app.wait_until(lambda: app.app.sessions.status()[0].state == "working", 10, "working")
    return app


def test_a_busy_agent_gets_its_message_mid_turn_exactly_once(ircd, running_app, sims, tmux_socket,
                                                            tmp_path):
    app = busy_app(ircd, running_app, sims, tmux_socket)
    queued = app.call(app.app.deliveries.deliver("b", "alice", sanitize("the build is green \x1b[31mnow")))
    assert queued.status == "queued"
    out = hook(tmux_socket, tmp_path, "PostToolUse", {"hook_event_name": "PostToolUse", "tool_name": "Bash"})
    assert out == {"hookSpecificOutput": {
        "hookEventName": "PostToolUse",
        "additionalContext": f'[breakroom #{queued.id}] alice: the build is green now '
                             f'(reply: breakroom say alice "…")'}}
    message = inbox.get(app.app.db, queued.id)
    assert (message.state, message.reason) == ("delivered", "PostToolUse hook")
    assert message.read and message.read_via == "in its context (PostToolUse hook)"  # the receipt
    assert hook(tmux_socket, tmp_path, "PostToolUse") is None            # handed over once
    assert hook(tmux_socket, tmp_path, "UserPromptSubmit") is None
    assert "the build is green" not in pane_text(tmux_socket, "b")  # and never typed


def test_long_messages_go_as_a_pointer_and_secrets_are_scrubbed(ircd, running_app, sims, tmux_socket,
                                                               tmp_path):
    app = busy_app(ircd, running_app, sims, tmux_socket)
    long = app.call(app.app.deliveries.deliver("b", "alice", "x" * 1000))
    secret = app.call(app.app.deliveries.deliver("b", "alice", sanitize("key sk-ant-api03-" + "a" * 40)))
    context = hook(tmux_socket, tmp_path, "UserPromptSubmit")["hookSpecificOutput"]["additionalContext"]
    lines = context.splitlines()
    assert lines[0] == f"[breakroom #{long.id}] alice sent a long message: breakroom read {long.id}"
    assert lines[1].startswith(f"[breakroom #{secret.id}] alice: key ") and "a" * 40 not in context


def test_stop_hook_blocks_only_a_few_times_in_a_row(ircd, running_app, sims, tmux_socket, tmp_path):
    app = busy_app(ircd, running_app, sims, tmux_socket)
    for n in range(STOP_BLOCK_CAP):
        sent = app.call(app.app.deliveries.deliver("b", "alice", f"message {n}"))
        out = hook(tmux_socket, tmp_path, "Stop", {"stop_hook_active": n > 0})
        assert out == {"decision": "block", "reason": f'[breakroom #{sent.id}] alice: message {n} '
                                                       f'(reply: breakroom say alice "…")'}
    last = app.call(app.app.deliveries.deliver("b", "alice", "one too many"))
    assert hook(tmux_socket, tmp_path, "Stop", {"stop_hook_active": True}) is None  # the agent may stop
    # the Stop said idle: the message is typed, not handed over by a hook
    app.wait_until(lambda: inbox.get(app.app.db, last.id).state != "queued", 10, "typed")
    assert inbox.get(app.app.db, last.id).reason is None
    assert pane_text(tmux_socket, "b").count("one too many") == 1
    hook(tmux_socket, tmp_path, "PostToolUse")                                    # a new turn resets the cap
    again = app.call(app.app.deliveries.deliver("b", "alice", "after the reset"))
    assert again.status == "queued"
    assert hook(tmux_socket, tmp_path, "Stop", {"stop_hook_active": True}) is not None


# A hook that gave up: it asks for its session's messages and goes before confirming it has
# them, as `breakroom hook` does when its second runs out on a loaded machine (or it dies).
GAVE_UP = """
import json, os, select, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
sock.sendall(json.dumps({"op": "hook", "state": "working", "event": "PostToolUse", "collect": True,
                         "session": "", "pane": os.environ.get("TMUX_PANE", "")}).encode() + b"\\n")
select.select([sock], [], [], 10)   # the answer is there
if sys.argv[2] == "reads":
    answer = b""
    while not answer.endswith(b"\\n"):
        answer += sock.recv(65536)
    print(json.loads(answer)["context"])
sock.close()
"""


@pytest.mark.parametrize("hook_does", ["never reads its answer", "reads it"])
def test_messages_a_hook_never_confirms_wait_for_the_next_one(ircd, running_app, sims, tmux_socket,
                                                             tmp_path, hook_does):
    """Handed-over messages count only once the hook sends its receipt: a hook that left
    without one gives them back, and the next hook (or typing) delivers them — once."""
    app = busy_app(ircd, running_app, sims, tmux_socket)
    queued = app.call(app.app.deliveries.deliver("b", "alice", "the deploy is done"))
    script = tmp_path / "gave_up.py"
    script.write_text(GAVE_UP)
    control = socket_path(app.app.config.data_path)
    rc, out = run_in_pane(tmux_socket, "b", f"{shlex.quote(sys.executable)} {script} {control} "
                                            f"{hook_does.split()[0]}", tmp_path)
    assert rc == 0, out
    if hook_does == "reads it":
        assert "the deploy is done" in out   # it had the messages, and never said so
    app.wait_until(lambda: inbox.get(app.app.db, queued.id).state == "queued", 10, "queued again")
    message = inbox.get(app.app.db, queued.id)
    assert (message.reason, message.delivered_at, message.read) == (None, None, False)
    out = hook(tmux_socket, tmp_path, "PostToolUse")
    assert out is not None and "the deploy is done" in out["hookSpecificOutput"]["additionalContext"]
    message = inbox.get(app.app.db, queued.id)
    assert (message.state, message.reason, message.read) == ("delivered", "PostToolUse hook", True)
    assert hook(tmux_socket, tmp_path, "PostToolUse") is None     # once
