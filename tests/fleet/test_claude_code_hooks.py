"""The real Claude Code with breakroom's hooks and MCP server, as `breakroom hooks install`
writes them, and a running breakroom — every pinned release in both permission modes, one
session each driven through the lot: the hooks fire and report state (`breakroom fleet`
says so), `breakroom doctor` finds nothing wrong and names the release, a message sent
while Claude works reaches the model through PostToolUse in the same turn, once, and is
never typed, and the model's `mcp__breakroom__say` reaches another session — on releases
that defer MCP tools behind ToolSearch (2.1.332), after the model loads it with ToolSearch."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from breakroom import config as config_mod
from breakroom.cli.doctor import check, render
from breakroom.fleet import hooks, inbox, mcp_register
from breakroom.sanitize import sanitize
from support.app import next_poll
from support.claude_code import MODES, RELEASES, ClaudeSession, capture, releases_and_modes, required
from support.claude_stub import MCP_PREFIX, ClaudeStub, offered_tools, user_prompt
from support.sims import QUIET_SCRIPT, pane_text

BREAKROOM_TOOLS = {MCP_PREFIX + name for name in ("say", "ask", "inbox", "read", "digest", "fleet",
                                                  "issue_list", "issue_show", "issue_move", "skills_show")}


@pytest.fixture
def stub():
    running = ClaudeStub()
    yield running
    running.close()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("release, mode", releases_and_modes())
def test_hooks_mcp_and_doctor_with_the_real_claude(release: str, mode: str, ircd, running_app, tmux_socket,
                                                   tmp_path: Path, stub: ClaudeStub, sims, cli) -> None:
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={"cc": {"agent": "claude-code"}, "b": {"agent": "sim"}},
                      delivery={"enter_delay": 0.2})
    sims("b", QUIET_SCRIPT)
    config = str(tmp_path / "breakroom.yaml")
    root = tmp_path / "claude"
    work, home = root / "work", root / "home"
    work.mkdir(parents=True)
    home.mkdir()
    # as a user runs it: their HOME, the config by path; hooks and the MCP server, absolute paths
    installed = cli("--config", config, "hooks", "install", "--project", str(work), env={"HOME": str(home)})
    assert installed.returncode == 0, installed.stderr
    assert "hook entries in" in installed.stdout and "registered the breakroom MCP server" in installed.stdout
    settings = json.loads((work / ".claude" / "settings.json").read_text())
    commands = [hook["command"] for entries in settings["hooks"].values() for entry in entries
                for hook in entry["hooks"]]
    assert {"SessionStart", "UserPromptSubmit", "Stop"} <= set(settings["hooks"])
    assert all(c.startswith("/") and f"--config {config}" in c for c in commands), commands
    settings["permissions"] = {"allow": ["mcp__breakroom"]}  # no dialog for the model's tool call
    (work / ".claude" / "settings.json").write_text(json.dumps(settings))
    mcp = json.loads((home / ".claude.json").read_text())["projects"][str(work)]["mcpServers"]
    claude = ClaudeSession(tmux_socket, "cc", root, stub.url, release=release, mode=mode, mcp=mcp)

    def status(name: str = "cc"):
        return next(s for s in app.app.sessions.status() if s.session == name)

    def fleet_state() -> str:
        shown = cli("fleet")
        assert shown.returncode == 0, shown.stderr
        row = next(line.split() for line in shown.stdout.splitlines() if line.split()[:1] == ["cc"])
        return " ".join(row[3:5])

    app.wait_until(lambda: len(app.app.sessions.status()) == 2, 20, "both sessions found")
    # the SessionStart hook reached the breakroom (on a loaded machine it may come before the
    # session is found, and its report is then fresh for a moment only), and the pane is idle
    app.wait_until(lambda: status().state == "idle" and status().hook_at is not None, 40,
                   "idle, with the SessionStart hook's report in")
    app.wait_until(lambda: status().version == release, 10, "the release, asked of its binary")
    assert status().drift == ""  # a tested release
    doctor = cli("doctor", env={"HOME": str(home)})  # the user's: MCP is registered in their HOME
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert re.search(rf"ok +session cc: claude-code {re.escape(release)}, \S+, hooks installed, last fired",
                     doctor.stdout), doctor.stdout

    # a message to a busy Claude: into its context through PostToolUse, in the same turn, once
    started = status().hook_at
    assert claude.deliver("slow 1 bash: sleep 6; echo tool-done") == "delivered"
    app.wait_until(lambda: "Running" in capture(tmux_socket, "cc"), 20, "the tool running")
    sent = time.monotonic()
    queued = app.call(app.app.deliveries.deliver("cc", "alice", sanitize("mid-turn note for claude")))
    assert queued.status == "queued"
    assert status().state == "working" and status().hook_at > started  # UserPromptSubmit fired
    prompted = status().hook_at
    app.wait_until(lambda: inbox.get(app.app.db, queued.id).state == "delivered", 20, "handed over")
    assert inbox.get(app.app.db, queued.id).reason == "PostToolUse hook"
    with_result = app.wait_until(lambda: stub.tool_calls("Bash"), 20, "the request with the tool result")[0]
    # with the tool's result: in its message (2.1.197) or a system message right after (2.1.332)
    messages = with_result["messages"]
    at = max(i for i, m in enumerate(messages) if isinstance(m.get("content"), list)
             and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in m["content"]))
    assert "[breakroom #1] alice: mid-turn note for claude" in json.dumps(messages[at:])
    assert time.monotonic() - sent < 15
    claude.wait(lambda s: "done: sleep 6" in s, 20)
    app.wait_until(lambda: status().state == "idle" and status().hook_fresh and status().hook_at > prompted,
                   20, "idle again, reported by the Stop hook")
    assert fleet_state().startswith("idle")  # `(hook)` too while fresh: the pane redraws after Stop
    assert inbox.queued(app.app.db, "cc") == []  # nothing left to type: the hook took it
    next_poll(app)
    assert "mid-turn note" not in capture(tmux_socket, "cc")
    assert not any("mid-turn note" in user_prompt(b) for b in stub.requests)

    # the model calls breakroom's say tool: loaded through ToolSearch where the tools are deferred
    app.wait_until(lambda: status("b").state == "idle", 30, "b idle")
    nick_b = status("b").nick
    say = MCP_PREFIX + "say"
    # the MCP server connects in the background: prompt until a request names its tools
    while not any(say in json.dumps(b) for b in stub.requests[-2:]):
        asked = len(stub.requests)
        assert claude.deliver("ping") == "delivered"
        app.wait_until(lambda asked=asked: len(stub.requests) > asked, 20, "a request")
        app.wait_until(lambda: status().state == "idle", 20, "idle after the ping")
    deferred = not any(say in offered_tools(b) for b in stub.requests[-2:])
    assert claude.deliver(f'mcp say: {{"target": "{nick_b}", "text": "hello from claude via mcp"}}') \
        == "delivered"
    app.wait_until(lambda: "hello from claude via mcp" in pane_text(tmux_socket, "b"), 40,
                   "the message typed into b's pane")
    assert f"{status().nick}: hello from claude via mcp" in pane_text(tmux_socket, "b")
    assert bool(stub.tool_calls("ToolSearch")) == deferred
    # every tool is offered: in `tools`, or by name in the deferred-tools note
    offered = {t for b in stub.requests for t in offered_tools(b)}
    named = {t for t in BREAKROOM_TOOLS if any(t in text for text in stub.bodies_text())}
    assert offered | named >= BREAKROOM_TOOLS, sorted(offered | named)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("release", [pytest.param(RELEASES[-1], marks=required(RELEASES[-1]))])
def test_doctor_names_what_to_install(release: str, ircd, running_app, tmux_socket, tmp_path: Path,
                                      stub: ClaudeStub, sims) -> None:
    """Before `hooks install`, doctor names the command that wires hooks and MCP (the newest
    release: what doctor checks is the project's files, not the CLI's screens)."""
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={"cc": {"agent": "claude-code"}, "b": {"agent": "sim"}})
    sims("b", QUIET_SCRIPT)
    root = tmp_path / "claude"
    config = str(tmp_path / "breakroom.yaml")
    claude = ClaudeSession(tmux_socket, "cc", root, stub.url, release=release, mode=MODES[0])
    app.wait_until(lambda: len(app.app.sessions.status()) == 2, 20, "both sessions")
    cfg = config_mod.load(config)
    lines = [render(f) for f in check(cfg)]
    assert lines[0].startswith("ok       ircd reachable")
    assert lines[1].startswith("ok       breakroom running")
    problems = [line for line in lines if line.startswith("PROBLEM")]
    fix = f"fix: breakroom hooks install --project {claude.work}"
    assert len(problems) == 2 and all(p.endswith(fix) for p in problems), lines  # hooks, MCP
    hooks.install(claude.work, config=config)
    mcp_register.register_claude(claude.work, mcp_register.server_entry(config))
    lines = [render(f) for f in check(cfg)]
    assert not [line for line in lines if line.startswith("PROBLEM")], lines
    assert any("session cc: claude-code" in line and "hooks installed" in line for line in lines)
