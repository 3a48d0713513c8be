"""`breakroom hook` / `hooks install` and finding the current tmux session, with real
files, a real tmux server on a private socket and a real control socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import libtmux
import pytest
from click.testing import CliRunner

from breakroom import config as config_mod
from breakroom.cli.base import cli
from breakroom.config import Config
from breakroom.control.client import Caller
from breakroom.control.server import ControlServer
from breakroom.errors import BreakroomError
from breakroom.fleet import gemini_settings, mcp_register
from breakroom.fleet.hooks import (
    FORWARD_MAX,
    HOOK_COMMAND,
    HOOK_TIMEOUT,
    INSTALL,
    WAIT_MARGIN,
    forwarded,
    hook_command,
    hook_output,
    hook_prefix,
    install,
    state_for,
)
from breakroom.fleet.identity import panes
from breakroom.fleet.session_env import current_session
from breakroom.fleet.tmux import Tmux
from support.cli import BREAKROOM
from support.control import serving

# What `breakroom hook` runs once the CLI's entry point takes its fast path (see
# breakroom.fleet.hooks.main); the timing tests use it so they measure the hook, not the import
# of every CLI module.
FAST_HOOK = [sys.executable, "-m", "breakroom.fleet.hooks"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("TMUX_PANE", raising=False)
    config = tmp_path / "breakroom.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    monkeypatch.setenv("BREAKROOM_CONFIG", str(config))
    return tmp_path


@pytest.fixture
def tmux_env(home: Path) -> Iterator[dict[str, str]]:
    """$TMUX/$TMUX_PANE as a process inside session "alice" of a private server sees them."""
    name = f"br-hook-{uuid.uuid4().hex[:8]}"
    with (home / "breakroom.yaml").open("a") as config:  # the fleet is that server
        config.write(f"tmux: {{socket_name: {name}}}\n")
    tmux = libtmux.Server(socket_name=name)
    session = tmux.new_session(session_name="alice", window_command="sleep 60")
    pane = session.active_window.active_pane
    socket_path = pane.display_message("#{socket_path}", get_text=True)[0]
    yield {"TMUX": f"{socket_path},{os.getpid()},0", "TMUX_PANE": pane.pane_id}
    Tmux(name).kill_server()


def run_hook(event: str, stdin: bytes, env: dict[str, str] | None = None,
             command: tuple[str, ...] = (BREAKROOM, "hook"),
             *options: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([*command, event, *options], input=stdin, capture_output=True,
                          env={**os.environ, **(env or {})}, timeout=10)
    return done, time.monotonic() - started


# ---------------------------------------------------------------- event -> state


@pytest.mark.parametrize("event,payload,state", [
    ("UserPromptSubmit", {"prompt": "hi"}, "working"),
    ("PreToolUse", {"tool_name": "Bash"}, "working"),
    ("PostToolUse", {}, "working"),
    ("Stop", {}, "idle"),
    ("SessionStart", {"source": "startup"}, "idle"),
    ("SessionEnd", {"reason": "exit"}, "exited"),
    ("Notification", {"notification_type": "permission_prompt"}, "waiting:permission"),
    ("Notification", {"notification_type": "idle_prompt"}, "idle"),
    ("Notification", {"message": "Claude needs your permission to use Bash"}, "waiting:permission"),
    ("Notification", {"message": "Claude is waiting for your input"}, "idle"),
    ("Notification", {"message": "something else"}, None),
    ("agent-turn-complete", {}, "idle"),  # Codex's notify program
    ("NoSuchEvent", {}, None),
    # Gemini CLI's events
    ("BeforeAgent", {"prompt": "hi"}, "working"),
    ("AfterTool", {"tool_name": "run_shell_command"}, "working"),
    ("AfterAgent", {"prompt_response": "done"}, "idle"),
    ("Notification", {"notification_type": "ToolPermission", "message": "Allow?"}, "waiting:permission"),
])
def test_state_for(event: str, payload: dict, state: str | None) -> None:
    assert state_for(event, payload) == state


# ---------------------------------------------------------------- the hook command


@pytest.mark.timing
@pytest.mark.parametrize("stdin", [b"", b"\xff\xfe garbage {", b"[1, 2]", b'{"hook_event_name": "Stop"}'])
def test_hook_is_silent_and_quick_with_nothing_around(home: Path, stdin: bytes) -> None:
    done, elapsed = run_hook("Stop", stdin, command=tuple(FAST_HOOK))
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""
    assert elapsed < 1.0
    done, _ = run_hook("Stop", stdin)   # the full CLI: same silence (its import time is the CLI's)
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""


@pytest.mark.timing
def test_hook_inside_tmux_with_breakroom_down(tmux_env: dict[str, str]) -> None:
    done, elapsed = run_hook("Notification", b'{"notification_type": "permission_prompt"}', tmux_env,
                             command=tuple(FAST_HOOK))
    assert done.returncode == 0 and done.stdout == b""
    assert elapsed < 1.0


@pytest.mark.timing
def test_hook_does_not_wait_for_an_open_stdin(home: Path) -> None:
    started = time.monotonic()
    proc = subprocess.Popen([*FAST_HOOK, "Stop"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.wait(timeout=5) == 0            # stdin is never closed
        assert time.monotonic() - started < 1.0
        assert proc.stdout.read() == b""
    finally:
        proc.stdin.close()
        proc.stdout.close()


def _control_server(cfg: Config) -> ControlServer:
    """A control server that takes every caller at its word (its ``--as``, else the session of
    the pane its ``$TMUX_PANE`` names), as if it ran in that pane: these tests are about what
    the hook sends and prints (who may send it: tests/fleet/test_identity.py)."""
    def identify(pid: int, claimed: str, pane: str, op: str) -> Caller:
        sessions = {p.pane_id: p.session for p in panes(cfg.tmux.socket_name)}
        return Caller(claimed or sessions.get(pane), in_pane=True)
    return ControlServer(cfg, identify)


@pytest.mark.parametrize("event,expected", [
    ("PostToolUse", {"hookSpecificOutput": {"hookEventName": "PostToolUse",
                                            "additionalContext": "[breakroom #1] bob: hi"}}),
    ("UserPromptSubmit", {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
                                                 "additionalContext": "[breakroom #1] bob: hi"}}),
    ("Stop", {"decision": "block", "reason": "[breakroom #1] bob: hi"}),
    ("SessionStart", None),
    ("AfterTool", {"hookSpecificOutput": {"hookEventName": "AfterTool",
                                          "additionalContext": "[breakroom #1] bob: hi"}}),
    ("BeforeAgent", {"hookSpecificOutput": {"hookEventName": "BeforeAgent",
                                            "additionalContext": "[breakroom #1] bob: hi"}}),
    ("AfterAgent", {"decision": "block", "reason": "[breakroom #1] bob: hi"}),
])
def test_hook_prints_what_the_breakroom_hands_over(tmux_env: dict[str, str], event: str,
                                                   expected: dict | None) -> None:
    """The hook prints the agent's JSON (Claude Code's, Gemini CLI's) for the messages the
    breakroom hands over, and nothing when there are none (or for an event whose output the
    agent ignores)."""
    server = _control_server(config_mod.load())

    @server.handle("hook")
    async def on_hook(request: dict) -> dict:
        return {"ok": True, "context": "[breakroom #1] bob: hi" if request.get("collect") else ""}

    with serving(server):
        done, _ = run_hook(event, b"{}", tmux_env, command=tuple(FAST_HOOK))
    assert done.returncode == 0
    assert (json.loads(done.stdout) if done.stdout.strip() else None) == expected


def test_hook_reports_to_the_running_breakroom(tmux_env: dict[str, str]) -> None:
    received: list[dict] = []
    server = _control_server(config_mod.load())

    @server.handle("hook")
    async def on_hook(request: dict) -> dict:
        received.append(request)
        return {"ok": True}

    with serving(server):
        done, _ = run_hook("Notification", json.dumps(
            {"hook_event_name": "Notification", "notification_type": "permission_prompt",
             "message": "Claude needs your permission to use Bash"}).encode(), tmux_env)
        assert done.returncode == 0 and done.stdout == b""
        assert received == [{"op": "hook", "session": "alice", "state": "waiting:permission",
                             "event": "Notification"}]
        run_hook("Stop", b"{}", tmux_env, command=tuple(FAST_HOOK))
        assert received[-1] == {"op": "hook", "session": "alice", "state": "idle", "event": "Stop",
                                "collect": True}
        run_hook("SessionEnd", b"{}", {"TMUX": ""}, tuple(FAST_HOOK), "--as", "bob")
        assert received[-1] == {"op": "hook", "session": "bob", "state": "exited", "event": "SessionEnd"}


# ---------------------------------------------------------------- current_session


def test_current_session(tmux_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert current_session("explicit") == "explicit"
    with pytest.raises(BreakroomError, match="not inside a tmux session"):
        current_session()
    monkeypatch.setenv("TMUX", tmux_env["TMUX"])
    monkeypatch.setenv("TMUX_PANE", tmux_env["TMUX_PANE"])
    assert current_session() == "alice"
    monkeypatch.setenv("TMUX", "/nonexistent/socket,1,0")
    with pytest.raises(BreakroomError, match="not inside a tmux session"):
        current_session()


# ---------------------------------------------------------------- hooks install


def test_install_merges_and_is_idempotent(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"type": "command", "command": "notify-send done"}
    settings.write_text(json.dumps({"permissions": {"allow": ["Bash(npm test)"]},
                                    "hooks": {"Stop": [{"hooks": [mine]}]}}))
    old = {"type": "command", "command": HOOK_COMMAND.format(event="Stop")}  # an older install's
    settings.write_text(json.dumps({"permissions": {"allow": ["Bash(npm test)"]},
                                    "hooks": {"Stop": [{"hooks": [mine]}, {"hooks": [old]}]}}))
    config = str(tmp_path / "breakroom.yaml")
    path, merged, added = install(tmp_path, config=config)
    assert path == settings and added == len(INSTALL)
    on_disk = json.loads(settings.read_text())
    assert on_disk == merged
    assert on_disk["permissions"] == {"allow": ["Bash(npm test)"]}
    stop = hook_command("Stop", hook_prefix(), config)
    assert on_disk["hooks"]["Stop"] == [{"hooks": [mine]},  # the older entry is replaced
                                        {"hooks": [{"type": "command", "command": stop, "timeout": 10}]}]
    assert stop.startswith(f"{BREAKROOM} hook Stop --config /")  # absolute paths only
    matchers = [e.get("matcher") for e in on_disk["hooks"]["Notification"]]
    assert matchers == ["permission_prompt", "idle_prompt"]
    assert all(e["hooks"][0]["command"] == hook_command("Notification", hook_prefix(), config)
               for e in on_disk["hooks"]["Notification"])
    before = settings.read_text()
    assert install(tmp_path, config=config)[2] == 0
    assert settings.read_text() == before


def test_install_cli_print_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "breakroom.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    args = ["--config", str(config), "hooks", "install", "--project", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, "--print"])
    assert result.exit_code == 0
    sections = result.output.split("\n\n# ")
    assert sections[0].startswith(f"# Claude Code: {tmp_path}/.claude/settings.json\n")
    settings = json.loads(sections[0].split("\n", 1)[1])
    command = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    assert command == f"{BREAKROOM} hook UserPromptSubmit --config {config}"
    mcp = json.loads(sections[1].split("\n", 1)[1])["projects"][str(tmp_path.resolve())]["mcpServers"]
    assert mcp["breakroom"]["args"] == ["--config", str(config), "mcp"]
    assert sections[2].startswith("Codex: `breakroom hooks install --agent codex`")
    assert sections[3].startswith("Gemini CLI:")
    assert not (tmp_path / ".claude").exists() and not (Path.home() / ".claude.json").exists()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and f"added or updated {len(INSTALL)} hook entries" in result.output
    result = CliRunner().invoke(cli, args)
    assert "already has breakroom's hooks" in result.output


def test_install_refuses_a_broken_settings_file(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{not json")
    done = subprocess.run([BREAKROOM, "hooks", "install", "--project", str(tmp_path)],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode != 0
    assert done.stderr.startswith("breakroom: ") and "settings.json" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert settings.read_text() == "{not json"


def test_gemini_install_merges_and_keeps_the_users_keys(tmp_path: Path) -> None:
    settings = tmp_path / ".gemini" / "settings.json"
    settings.parent.mkdir()
    mine = {"matcher": "write_file", "hooks": [{"type": "command", "command": "./lint.sh"}]}
    theirs = {"command": "npx", "args": ["-y", "some-mcp"]}
    settings.write_text(json.dumps({"general": {"vimMode": True}, "hooks": {"AfterTool": [mine]},
                                    "hooksConfig": {"notifications": False},
                                    "mcpServers": {"other": theirs}}))
    config = str(tmp_path / "breakroom.yaml")
    server = mcp_register.server_entry(config)
    path, merged, changed = gemini_settings.install(tmp_path, server, config=config)
    assert path == settings and changed == len(gemini_settings.INSTALL) + 1
    on_disk = json.loads(settings.read_text())
    assert on_disk == merged
    assert on_disk["general"] == {"vimMode": True} and on_disk["hooksConfig"] == {"notifications": False}
    assert on_disk["mcpServers"] == {"other": theirs, "breakroom": {"command": BREAKROOM,
                                                                    "args": ["--config", config, "mcp"]}}
    command = hook_command("AfterTool", hook_prefix(), config)
    assert on_disk["hooks"]["AfterTool"] == [mine, {"hooks": [{"name": "breakroom", "type": "command",
                                                               "command": command, "timeout": 10000}]}]
    assert set(on_disk["hooks"]) == {"AfterTool", "SessionStart", "BeforeAgent", "Notification",
                                     "AfterAgent", "SessionEnd"}
    assert all(state_for(event, {"notification_type": "ToolPermission"}) for event in on_disk["hooks"])
    assert gemini_settings.installed(tmp_path, server, config)
    on_disk["mcpServers"]["breakroom"]["trust"] = True   # the user's own key
    settings.write_text(json.dumps(on_disk))
    before = settings.read_text()
    assert gemini_settings.install(tmp_path, server, config=config)[2] == 0
    assert settings.read_text() == before
    assert not gemini_settings.installed(tmp_path, mcp_register.server_entry(None), None)
    gemini_settings.install(tmp_path, mcp_register.server_entry(None))   # another config: updated
    updated = json.loads(settings.read_text())["mcpServers"]["breakroom"]
    assert updated == {"command": BREAKROOM, "args": ["mcp"], "trust": True}


def test_install_cli_for_gemini_and_aider(tmp_path: Path) -> None:
    config = tmp_path / "breakroom.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    args = ["--config", str(config), "hooks", "install", "--project", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, "--agent", "gemini", "--print"])
    assert result.exit_code == 0
    assert result.output.startswith(f"# Gemini CLI: {tmp_path}/.gemini/settings.json\n")
    printed = json.loads(result.output.split("\n", 1)[1])
    assert printed["mcpServers"]["breakroom"]["args"] == ["--config", str(config), "mcp"]
    assert not (tmp_path / ".gemini").exists()
    result = CliRunner().invoke(cli, [*args, "--agent", "gemini"])
    assert result.exit_code == 0 and "added or updated 7 entries" in result.output
    assert json.loads((tmp_path / ".gemini" / "settings.json").read_text()) == printed
    assert "already has" in CliRunner().invoke(cli, [*args, "--agent", "gemini"]).output
    result = CliRunner().invoke(cli, [*args, "--agent", "aider"])
    assert result.exit_code == 0 and "aider has no hooks and no MCP client" in result.output
    assert "Nothing written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gemini", "breakroom.yaml", "home"]
    assert not (Path.home() / ".claude.json").exists()


def test_the_permission_request_hook_waits_as_long_as_the_relay(tmp_path: Path) -> None:
    config = str(tmp_path / "breakroom.yaml")
    _, settings, _ = install(tmp_path, config=config, relay_timeout=120)
    timeouts = {event: entries[0]["hooks"][0]["timeout"] for event, entries in settings["hooks"].items()}
    assert timeouts.pop("PermissionRequest") == 120 + WAIT_MARGIN
    assert set(timeouts.values()) == {HOOK_TIMEOUT}
    assert install(tmp_path, config=config, relay_timeout=120)[2] == 0
    assert install(tmp_path, config=config, relay_timeout=600)[2] == 1  # only that hook's time changes


def test_what_a_permission_request_hook_prints_and_forwards() -> None:
    assert hook_output("PermissionRequest", {"decision": "allow"}) == {
        "hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}
    denied = hook_output("PermissionRequest", {"decision": "deny", "message": "not now"})
    assert denied["hookSpecificOutput"]["decision"] == {"behavior": "deny", "message": "not now"}
    assert hook_output("PermissionRequest", {}) is None            # no answer: the terminal decides
    assert hook_output("PostToolUse", {"decision": "allow"}) is None
    payload = {"transcript_path": "/t.jsonl", "tool_name": "Write", "cwd": "/x",
               "tool_input": {"file_path": "/a", "content": "x" * 20000}}
    sent = forwarded("PermissionRequest", payload)
    assert set(sent) == {"transcript_path", "tool_name", "tool_input"}   # what the relay needs
    assert isinstance(sent["tool_input"], str) and len(sent["tool_input"]) == FORWARD_MAX  # cut
    assert forwarded("Stop", payload) == {"transcript_path": "/t.jsonl"}
