"""The real Claude Code with breakroom's hooks (as `breakroom hooks install` writes them) and a
running breakroom: the hooks fire and report state, and a message sent while Claude works
reaches the model through PostToolUse in the same turn, exactly once, and is never typed."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from breakroom.fleet import hooks, inbox, mcp_register
from support.app import next_poll
from support.claude_code import capture, keys, missing_reason, start_claude, wait_screen, write_home
from support.claude_stub import ClaudeStub, user_prompt
from support.sims import QUIET_SCRIPT, pane_text

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
    queued = app.call(app.app.deliveries.deliver("cc", "alice", "mid-turn note for claude"))
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
    # nothing is left to type (the hook took it), and the breakroom has looked at the idle pane since
    assert inbox.queued(app.app.db, "cc") == []
    next_poll(app)
    assert "mid-turn note" not in capture(tmux_socket, "cc")
    assert not any("mid-turn note" in user_prompt(b) for b in stub.requests)
    assert latency < 15
    from breakroom import config as config_mod
    from breakroom.cli.doctor import check, render
    assert any("session cc: claude-code" in line and "last fired" in line
               for line in map(render, check(config_mod.load(str(tmp_path / "breakroom.yaml")))))


def test_claude_lists_breakroom_mcp_tools_and_says_to_another_session(
        ircd, running_app, tmux_socket, tmp_path: Path, stub: ClaudeStub, sims) -> None:
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={"cc": {"agent": "claude-code"}, "b": {"agent": "sim"}},
                      delivery={"enter_delay": 0.2})
    sims("b", QUIET_SCRIPT)
    work, home = tmp_path / "work", tmp_path / "claude-home"
    write_home(home, work)
    work.mkdir()
    config = str(tmp_path / "breakroom.yaml")
    hooks.install(work, config=config)
    assert mcp_register.register_claude(work, mcp_register.server_entry(config), home)
    settings = json.loads((work / ".claude" / "settings.json").read_text())
    settings["permissions"] = {"allow": ["mcp__breakroom"]}  # no dialog for the test's tool call
    (work / ".claude" / "settings.json").write_text(json.dumps(settings))
    start_claude(tmux_socket, "cc", work, home, stub.url)
    app.wait_until(lambda: {s.session: s.state for s in app.app.sessions.status()}.get("b") == "idle",
                   30, "b idle")
    nick_b = next(s.nick for s in app.app.sessions.status() if s.session == "b")
    wait_screen(tmux_socket, "cc", lambda s: "for shortcuts" in s, 40)
    # the MCP server connects in the background: ask until a request offers its tools
    deadline = time.monotonic() + 30
    while not any(t.get("name") == "mcp__breakroom__say" for t in stub.requests[-1].get("tools") or []) \
            if stub.requests else True:
        assert time.monotonic() < deadline, "Claude Code never offered breakroom's MCP tools"
        asked = len(stub.requests)
        keys(tmux_socket, "cc", "ping", literal=True)
        wait_screen(tmux_socket, "cc", lambda s: re.search(r"^❯\s+ping", s, re.M) is not None)
        keys(tmux_socket, "cc", "Enter")
        app.wait_until(lambda asked=asked: len(stub.requests) > asked, 20, "a request")
        wait_screen(tmux_socket, "cc", lambda s: "for shortcuts" in s, 20)
    prompt = f'mcp say: {{"target": "{nick_b}", "text": "hello from claude via mcp"}}'
    keys(tmux_socket, "cc", prompt, literal=True)
    wait_screen(tmux_socket, "cc", lambda s: "via mcp" in s)
    keys(tmux_socket, "cc", "Enter")
    app.wait_until(lambda: "hello from claude via mcp" in pane_text(tmux_socket, "b"), 30,
                   "the message typed into b's pane")
    names = {t.get("name") for b in stub.requests for t in b.get("tools") or []}
    assert {"mcp__breakroom__say", "mcp__breakroom__ask", "mcp__breakroom__inbox", "mcp__breakroom__read",
            "mcp__breakroom__digest", "mcp__breakroom__fleet", "mcp__breakroom__issue_list",
            "mcp__breakroom__issue_show", "mcp__breakroom__issue_move",
            "mcp__breakroom__skills_show"} <= names, sorted(n for n in names if n and "mcp" in n)
    cc_nick = next(s.nick for s in app.app.sessions.status() if s.session == "cc")
    assert f"{cc_nick}: hello from claude via mcp" in pane_text(tmux_socket, "b")


def test_doctor_checks_the_running_fleet(ircd, running_app, tmux_socket, tmp_path: Path,
                                         stub: ClaudeStub, sims) -> None:
    from breakroom import config as config_mod
    from breakroom.cli.doctor import check, render

    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={"cc": {"agent": "claude-code"}, "b": {"agent": "sim"}})
    sims("b", QUIET_SCRIPT)
    work, home = tmp_path / "work", tmp_path / "claude-home"
    write_home(home, work)
    work.mkdir()
    config = str(tmp_path / "breakroom.yaml")
    start_claude(tmux_socket, "cc", work, home, stub.url)
    app.wait_until(lambda: len(app.app.sessions.status()) == 2, 20, "both sessions")
    cfg = config_mod.load(config)
    lines = [render(f) for f in check(cfg)]
    assert lines[0].startswith("ok       ircd reachable")
    assert lines[1].startswith("ok       breakroom running")
    problems = [line for line in lines if line.startswith("PROBLEM")]
    fix = f"fix: breakroom hooks install --project {work}"
    assert len(problems) == 2 and all(p.endswith(fix) for p in problems), lines  # hooks, MCP
    hooks.install(work, config=config)
    mcp_register.register_claude(work, mcp_register.server_entry(config))
    lines = [render(f) for f in check(cfg)]
    assert not [line for line in lines if line.startswith("PROBLEM")], lines
    assert any("session cc: claude-code" in line and "hooks installed" in line for line in lines)


def test_hooks_installed_by_the_cli_fire_and_report_state(ircd, running_app, tmux_socket, tmp_path: Path,
                                                          stub: ClaudeStub, cli) -> None:
    """`breakroom hooks install` as a user runs it (their HOME, the config by path): Claude Code
    runs the hooks it wrote, and the session's state comes from them, in `breakroom fleet` too."""
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={"cc": {"agent": "claude-code"}})
    work, home = tmp_path / "work", tmp_path / "claude-home"
    write_home(home, work)
    work.mkdir()
    config = str(tmp_path / "breakroom.yaml")
    installed = cli("--config", config, "hooks", "install", "--project", str(work), env={"HOME": str(home)})
    assert installed.returncode == 0, installed.stderr
    assert "hook entries in" in installed.stdout and "registered the breakroom MCP server" in installed.stdout
    wired = json.loads((work / ".claude" / "settings.json").read_text())["hooks"]
    commands = [hook["command"] for entries in wired.values() for entry in entries for hook in entry["hooks"]]
    assert {"SessionStart", "UserPromptSubmit", "Stop"} <= set(wired)
    assert all(c.startswith("/") and f"--config {config}" in c for c in commands), commands
    start_claude(tmux_socket, "cc", work, home, stub.url)

    def status():
        found = app.app.sessions.status()
        assert found, "the breakroom has not found the cc session yet"
        return found[0]

    def fleet_state() -> str:
        shown = cli("fleet")
        assert shown.returncode == 0, shown.stderr
        row = next(line.split() for line in shown.stdout.splitlines() if line.split()[:1] == ["cc"])
        return " ".join(row[3:5])

    app.wait_until(lambda: app.app.sessions.status(), 20, "the session found")
    app.wait_until(lambda: status().state == "idle" and status().hook_fresh, 40,
                   "idle, reported by the SessionStart hook")
    assert fleet_state() == "idle (hook)"
    started = status().hook_at
    keys(tmux_socket, "cc", "slow 4 a turn the hooks report", literal=True)
    wait_screen(tmux_socket, "cc", lambda s: "hooks report" in s)
    keys(tmux_socket, "cc", "Enter")
    app.wait_until(lambda: status().state == "working" and status().hook_fresh, 20,
                   "working, reported by the UserPromptSubmit hook")
    wait_screen(tmux_socket, "cc", lambda s: "echo: a turn the hooks report" in s, 30)
    app.wait_until(lambda: status().state == "idle" and status().hook_fresh and status().hook_at > started,
                   20, "idle again, reported by the Stop hook")
    assert fleet_state() == "idle (hook)"
