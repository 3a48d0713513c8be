"""Running the real Claude Code CLI in a private tmux server against :mod:`tests.claude_stub`.

The CLI comes from npm (``make venv`` / ``.ci/run`` install ``@anthropic-ai/claude-code``
into ``.claude-code/``); tests that need it skip with a clear reason when it is missing.
Each run gets its own HOME whose ``~/.claude.json`` skips onboarding, the API-key question
and the trust dialog (FIELD-NOTES), so the first screen is the input box.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-ant-api03-breakroomtests-" + "x" * 40 + "-AA"


def claude_binary() -> str | None:
    """The installed ``claude`` (project-local first), or None."""
    local = ROOT / ".claude-code" / "node_modules" / ".bin" / "claude"
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("claude")


def missing_reason() -> str | None:
    """Why the real-Claude tests cannot run here, or None when they can."""
    if claude_binary() is None:
        if shutil.which("npm") is None:
            return "npm is not installed, so Claude Code is not (run `make venv` after installing npm)"
        return "Claude Code is not installed (run `make venv`, which npm-installs it into .claude-code/)"
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    return None


def write_home(home: Path, workdir: Path, *, trusted: bool = True, mcp: dict | None = None) -> None:
    """``~/.claude.json`` that skips onboarding, the key question and (optionally) trust."""
    home.mkdir(parents=True, exist_ok=True)
    project: dict = {"hasTrustDialogAccepted": trusted, "allowedTools": []}
    if mcp:
        project["mcpServers"] = mcp
    state = {
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": "2.1.197",
        "theme": "dark",
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
        "projects": {str(workdir): project},
    }
    (home / ".claude.json").write_text(json.dumps(state, indent=2))


def claude_env(home: Path, stub_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": stub_url,
        "ANTHROPIC_API_KEY": API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "3",
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    env.update(extra or {})
    return env


def start_claude(socket: str, session: str, workdir: Path, home: Path, stub_url: str, *,
                 extra_env: dict[str, str] | None = None, width: int = 120, height: int = 40) -> None:
    """Start ``claude`` as the pane's command (``exec``) in a detached tmux session."""
    binary = claude_binary()
    assert binary is not None, missing_reason()
    workdir.mkdir(parents=True, exist_ok=True)
    env = claude_env(home, stub_url, extra_env)
    path = os.pathsep.join([str(Path(binary).parent), str(ROOT / ".venv" / "bin"),
                            os.environ.get("PATH", "")])
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in {**env, "PATH": path}.items())
    command = f"cd {shlex.quote(str(workdir))} && exec env {exports} {shlex.quote(binary)}"
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", session, "-x", str(width),
                    "-y", str(height), command], check=True)


def capture(socket: str, session: str) -> str:
    return subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", f"={session}:"],
                          capture_output=True, text=True, check=True).stdout


def pane_command(socket: str, session: str) -> str:
    return subprocess.run(["tmux", "-L", socket, "display-message", "-p", "-t", f"={session}:",
                           "#{pane_current_command}"], capture_output=True, text=True).stdout.strip()


def wait_screen(socket: str, session: str, ok: Callable[[str], bool], timeout: float = 20.0) -> str:
    """Poll the pane until ``ok(screen)``; fails with the last screen."""
    deadline = time.monotonic() + timeout
    screen = capture(socket, session)
    while not ok(screen):
        if time.monotonic() > deadline:
            raise AssertionError(f"pane never showed what was expected; last screen:\n{screen}")
        time.sleep(0.1)
        screen = capture(socket, session)
    return screen


def keys(socket: str, session: str, *keys: str, literal: bool = False) -> None:
    args = ["tmux", "-L", socket, "send-keys", "-t", f"={session}:", *(["-l"] if literal else []), *keys]
    subprocess.run(args, check=True)
