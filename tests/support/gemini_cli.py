"""Running the real Gemini CLI in a private tmux server against :mod:`support.gemini_stub`.

The CLI comes from npm (``make venv`` / ``.ci/run`` install ``@google/gemini-cli``, pinned by
the ``tested`` list of ``breakroom/fleet/profiles/gemini.yaml``, into ``.agents/gemini/``);
tests that need it skip with a clear reason when it is missing.  Each run gets its own HOME
whose ``~/.gemini/settings.json`` picks API-key auth and turns off update checks, usage
statistics, telemetry and the IDE companion, so nothing leaves the machine; the workspace
is trusted through ``~/.gemini/trustedFolders.json`` unless a test wants the trust dialog.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from breakroom.fleet.panestate import newest_tested
from support.tmux_pane import start_in_tmux

ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / ".agents" / "gemini"
API_KEY = "AIzaSy-breakroom-tests-" + "x" * 16
MODEL = "gemini-2.5-flash"
VERSION = newest_tested("gemini") or ""


def gemini_binary() -> str | None:
    """The project-local ``gemini`` of the pinned version, or None."""
    binary = PREFIX / "node_modules" / ".bin" / "gemini"
    package = PREFIX / "node_modules" / "@google" / "gemini-cli" / "package.json"
    try:
        installed = json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(binary) if installed == VERSION and os.access(binary, os.X_OK) else None


def missing_reason() -> str | None:
    """Why the real-Gemini-CLI tests cannot run here, or None when they can."""
    if gemini_binary() is None:
        if shutil.which("npm") is None:
            return "npm is not installed, so Gemini CLI is not (run `make venv` after installing npm)"
        return (f"Gemini CLI {VERSION} is not installed (run `make gemini-cli`: npm installs it "
                "into .agents/gemini/)")
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    return None


def write_home(home: Path, workdir: Path, *, trusted: bool = True,
               settings: dict[str, Any] | None = None) -> None:
    """``~/.gemini/`` for an offline run: API-key auth, no update check, no telemetry."""
    gemini = home / ".gemini"
    gemini.mkdir(parents=True, exist_ok=True)
    base: dict[str, Any] = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "ide": {"enabled": False},
        "model": {"name": MODEL},
    }
    (gemini / "settings.json").write_text(json.dumps({**base, **(settings or {})}, indent=2))
    if trusted:
        (gemini / "trustedFolders.json").write_text(json.dumps({str(workdir): "TRUST_FOLDER"}))


def gemini_env(home: Path, stub_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "GEMINI_API_KEY": API_KEY,
        "GOOGLE_GEMINI_BASE_URL": stub_url,
        "GEMINI_CLI_NO_RELAUNCH": "true",     # one node process, not a child it relaunches
        "GEMINI_TELEMETRY_ENABLED": "false",
        "NO_BROWSER": "true",
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
    }
    env.update(extra or {})
    return env


def start_gemini(socket: str, session: str, workdir: Path, home: Path, stub_url: str, *,
                 extra_env: dict[str, str] | None = None, width: int = 120, height: int = 40,
                 via_shell: bool = False) -> None:
    """Start ``gemini`` as the pane's command (``exec``), or typed into a shell there
    (``via_shell``), in a detached tmux session."""
    binary = gemini_binary()
    assert binary is not None, missing_reason()
    start_in_tmux(socket, session, workdir, ["gemini"], gemini_env(home, stub_url, extra_env),
                  path=[str(Path(binary).parent), str(ROOT / ".venv" / "bin")], width=width, height=height,
                  via_shell=via_shell)
