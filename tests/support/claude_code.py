"""Running the real Claude Code CLI in a private tmux server against :mod:`tests.claude_stub`.

The CLI comes from npm (``make venv`` / ``.ci/run`` install ``@anthropic-ai/claude-code``
into ``.claude-code/``); tests that need it skip with a clear reason when it is missing.
Each run gets its own HOME whose ``~/.claude.json`` skips onboarding, the API-key question
and the trust dialog (FIELD-NOTES), so the first screen is the input box.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from support.tmux_pane import capture, keys, pane_command, start_in_tmux, wait_screen

__all__ = ["API_KEY", "capture", "claude_binary", "claude_env", "keys", "missing_reason", "pane_command",
           "start_claude", "wait_screen", "write_home"]

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
    start_in_tmux(socket, session, workdir, [binary], claude_env(home, stub_url, extra_env),
                  path=[str(Path(binary).parent), str(ROOT / ".venv" / "bin")], width=width, height=height)
