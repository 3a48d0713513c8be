"""The real Claude Code with breakroom's hooks (as `breakroom hooks install` writes them) and a
running breakroom: the hooks fire and report state, and a message sent while Claude works
reaches the model through PostToolUse in the same turn, exactly once, and is never typed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from breakroom.fleet import hooks, inbox
from claude_code import capture, keys, missing_reason, start_claude, wait_screen, write_home
from claude_stub import ClaudeStub, user_prompt

_missing = missing_reason()
if _missing and os.environ.get("BREAKROOM_REQUIRE_CLAUDE_CODE"):
    raise RuntimeError(f"BREAKROOM_REQUIRE_CLAUDE_CODE is set but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture
def stub():
    running = ClaudeStub()
    yield running
    running.close()


def test_hooks_fire_and_a_busy_claude_gets_its_message_mid_turn(ircd, running_app, tmux_socket,
                                                                tmp_path: Path, stub: ClaudeStub) -> None:
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={"cc": {"agent": "claude-code"}}, delivery={"enter_delay": 0.2})
    work, home = tmp_path / "work", tmp_path / "claude-home"
    write_home(home, work)
    work.mkdir()
    hooks.install(work, config=str(tmp_path / "breakroom.yaml"))
    start_claude(tmux_socket, "cc", work, home, stub.url)
    def status():
        found = app.app.sessions.status()
        assert found, "the breakroom has not found the cc session yet"
        return found[0]

    app.wait_until(lambda: app.app.sessions.status(), 20, "the session found")
    app.wait_until(lambda: status().state == "idle" and status().hook_fresh, 40,
                   "idle, reported by the SessionStart hook")

    keys(tmux_socket, "cc", "slow 1 bash: sleep 3; echo tool-done", literal=True)
    wait_screen(tmux_socket, "cc", lambda s: "tool-done" in s)
    keys(tmux_socket, "cc", "Enter")
    app.wait_until(lambda: "Running…" in capture(tmux_socket, "cc"), 20, "the tool running")
    assert status().state == "working"
    sent = time.monotonic()
    queued = app.call(app.app.sessions.deliver("cc", "alice", "mid-turn note for claude"))
    assert queued.status == "queued"

    app.wait_until(lambda: inbox.get(app.app.db, queued.id).state == "delivered", 20, "handed over")
    assert inbox.get(app.app.db, queued.id).reason == "PostToolUse hook"

    def carrying_the_result() -> list[dict]:
        return [b for b in list(stub.requests) if isinstance(b["messages"][-1]["content"], list)
                and any(isinstance(c, dict) and c.get("type") == "tool_result"
                        for c in b["messages"][-1]["content"])]

    with_result = app.wait_until(carrying_the_result, 20, "the request with the tool result")[0]
    latency = time.monotonic() - sent
    assert "[breakroom #1] alice: mid-turn note for claude" in json.dumps(with_result["messages"][-1])
    wait_screen(tmux_socket, "cc", lambda s: "done: sleep 3" in s, 20)
    app.wait_until(lambda: status().state == "idle", 20, "idle after the turn")
    time.sleep(1.0)  # a typed copy would show within a poll or two: there must be none
    assert "mid-turn note" not in capture(tmux_socket, "cc")
    assert not any("mid-turn note" in user_prompt(b) for b in stub.requests)
    assert latency < 15
