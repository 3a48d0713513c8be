"""Running the real Claude Code CLI in a private tmux server against :mod:`support.claude_stub`.

The releases are the claude-code profile's ``tested`` pins (``breakroom/fleet/profiles/
claude-code.yaml``, oldest first); ``make claude-code`` installs each into
``.claude-code/<release>/``.  A test takes a release and a permission mode:

- ``auto``: ``permissions.defaultMode: "auto"`` (2.1.332's default; 2.1.197 has the mode too);
- ``manual``: ``permissions.defaultMode: "default"`` — tools ask first.  2.1.332 then shows
  a one-time "Make auto mode your default permission mode?" dialog at start-up, which
  ``hasSeenAutoDefaultNudge`` in ``~/.claude.json`` skips (``nudge_seen=False`` shows it).

Each run gets its own HOME whose ``~/.claude.json`` skips onboarding, the API-key question
and (``trusted``) the trust dialog (FIELD-NOTES), so the first screen is the input box.
Tests that need a release skip with the reason when it is not installed, unless
``BREAKROOM_REQUIRE_CLAUDE_CODE`` is set (CI), where a missing release is an error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from breakroom.fleet.pane import type_into_pane
from breakroom.fleet.panestate import Detection, detect, load_profile, typing_patterns
from breakroom.fleet.tmux import Tmux
from support.tmux_pane import capture, keys, pane_command, start_in_tmux, wait_screen
from support.wait import wait_until

__all__ = ["API_KEY", "MODES", "RELEASES", "ClaudeSession", "capture", "claude_binary", "claude_env",
           "footer", "keys", "kill_server", "looks_idle", "missing_reason", "pane_command",
           "releases", "releases_and_modes", "required", "start_claude", "wait_screen", "write_home"]

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-ant-api03-breakroomtests-" + "x" * 40 + "-AA"
RELEASES: tuple[str, ...] = load_profile("claude-code").tested  # oldest first
MODES = ("auto", "manual")
DEFAULT_MODE = {"auto": "auto", "manual": "default"}  # permissions.defaultMode


def claude_binary(release: str) -> str | None:
    """The project-local ``claude`` of ``release``, or None."""
    local = ROOT / ".claude-code" / release / "node_modules" / ".bin" / "claude"
    return str(local) if local.exists() and os.access(local, os.X_OK) else None


def missing_reason(release: str) -> str | None:
    """Why ``release`` cannot run here, or None when it can."""
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    if claude_binary(release) is None:
        if shutil.which("npm") is None:
            return "npm is not installed, so Claude Code is not (run `make venv` after installing npm)"
        return (f"Claude Code {release} is not installed (run `make claude-code`, which npm-installs "
                f"every pinned release into .claude-code/<release>/)")
    return None


def required(release: str) -> pytest.MarkDecorator:
    """A skip mark for a release that is not installed; an error instead under CI."""
    reason = missing_reason(release)
    if reason and os.environ.get("BREAKROOM_REQUIRE_CLAUDE_CODE"):
        raise RuntimeError(f"BREAKROOM_REQUIRE_CLAUDE_CODE is set but {reason}")
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def releases() -> list:
    """Every pinned release, as pytest params (skipped when not installed)."""
    return [pytest.param(r, id=r, marks=required(r)) for r in RELEASES]


def releases_and_modes() -> list:
    """Every pinned release in every permission mode, as pytest params."""
    return [pytest.param(r, m, id=f"{r}-{m}", marks=required(r)) for r in RELEASES for m in MODES]


def write_home(home: Path, workdir: Path, *, release: str, mode: str = "manual", trusted: bool = True,
               mcp: dict | None = None, nudge_seen: bool = True) -> None:
    """``~/.claude.json`` that skips onboarding, the key question and (optionally) trust, and
    ``~/.claude/settings.json`` with the permission mode."""
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    project: dict = {"hasTrustDialogAccepted": trusted, "allowedTools": []}
    if mcp:
        project["mcpServers"] = mcp
    state = {
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": release,
        "hasSeenAutoDefaultNudge": nudge_seen,
        "theme": "dark",
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
        "projects": {str(workdir): project},
    }
    (home / ".claude.json").write_text(json.dumps(state, indent=2))
    settings = {"permissions": {"defaultMode": DEFAULT_MODE[mode]}}
    (home / ".claude" / "settings.json").write_text(json.dumps(settings, indent=2))


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


def start_claude(socket: str, session: str, workdir: Path, home: Path, stub_url: str, *, release: str,
                 extra_env: dict[str, str] | None = None, width: int = 120, height: int = 40) -> None:
    """Start ``claude`` as the pane's command (``exec``) in a detached tmux session."""
    binary = claude_binary(release)
    assert binary is not None, missing_reason(release)
    start_in_tmux(socket, session, workdir, [binary], claude_env(home, stub_url, extra_env),
                  path=[str(Path(binary).parent), str(ROOT / ".venv" / "bin")], width=width, height=height)




# ---------------------------------------------------------------- screens, release-independent

def footer(screen: str) -> str:
    """The lines under the input box (where Claude Code says busy, idle or exit-pending)."""
    lines = screen.rstrip().split("\n")
    rules = [i for i, line in enumerate(lines) if re.match(r"^\s*─{20,}", line)]
    return "\n".join(lines[rules[-1] + 1:]) if len(rules) >= 2 else ""


def looks_idle(screen: str) -> bool:
    """The idle footer of either mode (`? for shortcuts`, `⏵⏵ auto mode on`), nothing busy."""
    below = footer(screen)
    return bool(re.search(r"\? for shortcuts|shift\+tab to cycle", below)) and "to interrupt" not in below


class ClaudeSession:
    """One running Claude Code of a release and mode, driven through its states."""

    def __init__(self, socket: str, name: str, root: Path, stub_url: str, *, release: str, mode: str,
                 trusted: bool = True, nudge_seen: bool = True, mcp: dict | None = None,
                 extra_env: dict[str, str] | None = None, remain: bool = False) -> None:
        self.socket, self.name, self.release, self.mode = socket, name, release, mode
        self.home, self.work = root / "home", root / "work"
        write_home(self.home, self.work, release=release, mode=mode, trusted=trusted, mcp=mcp,
                   nudge_seen=nudge_seen)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "README.md").write_text("a file the @-completion menu offers\n")
        start_claude(socket, name, self.work, self.home, stub_url, release=release, extra_env=extra_env)
        if remain:  # keep the pane (and its last screen) after Claude Code exits
            subprocess.run(["tmux", "-L", socket, "set-option", "-t", f"={name}:", "remain-on-exit", "on"],
                           check=True)

    def screen(self) -> str:
        return capture(self.socket, self.name)

    def command(self) -> str:
        return pane_command(self.socket, self.name)

    def read(self, screen: str | None = None) -> Detection:
        """The state Breakroom reads off the pane (the claude-code profile)."""
        return detect(self.screen() if screen is None else screen, "claude-code", self.command())

    def wait(self, ok: Callable[[str], bool], timeout: float = 20.0) -> str:
        return wait_screen(self.socket, self.name, ok, timeout)

    def settle(self) -> str:
        """The screen once two captures 0.3 s apart agree (what the fleet's IdleStability asks)."""
        screens = [""]

        def unchanged() -> str | None:
            screens.append(self.screen())
            return screens[-1] if screens[-1] == screens[-2] else None
        return wait_until(unchanged, 15, "two captures 0.3 s apart agreeing", poll=0.3)

    def deliver(self, text: str) -> str:
        """Type ``text`` as the breakroom does (:func:`type_into_pane`); its status."""
        return type_into_pane(Tmux(self.socket), self.name, text,
                              patterns=typing_patterns("claude-code")).status

    def keys(self, *names: str) -> None:
        keys(self.socket, self.name, *names)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-session", "-t", f"={self.name}"],
                       capture_output=True)


def kill_server(socket: str) -> None:
    Tmux(socket).kill_server()
