"""Registering `breakroom mcp` with the agents: Claude Code here, Codex in
:mod:`breakroom.fleet.codex_wiring`, Gemini CLI in :mod:`breakroom.fleet.gemini_settings`.

Claude Code asks before starting a project's ``.mcp.json`` servers ("New MCP server found
in this project", FIELD-NOTES) — a dialog that would stop an agent's start-up — but starts
the servers registered for the project in ``~/.claude.json`` → ``projects[DIR].mcpServers``
without asking; that is where this writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from breakroom.errors import BreakroomError
from breakroom.fleet.hooks import breakroom_argv

SERVER_NAME = "breakroom"


def server_entry(config: str | None) -> dict[str, Any]:
    """``{"type": "stdio", "command": "/abs/breakroom", "args": ["--config", …, "mcp"]}``."""
    argv = breakroom_argv() + (["--config", config] if config else []) + ["mcp"]
    return {"type": "stdio", "command": argv[0], "args": argv[1:], "env": {}}


def claude_state_path(home: Path | None = None) -> Path:
    return (home or Path.home()) / ".claude.json"


def registered(project: Path, home: Path | None = None) -> dict[str, Any] | None:
    """The breakroom server registered for ``project`` in ``~/.claude.json``, if any."""
    path = claude_state_path(home)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        found = state["projects"][str(project.resolve())]["mcpServers"][SERVER_NAME]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if isinstance(found, dict) else None


def register_claude(project: Path, entry: dict[str, Any], home: Path | None = None) -> bool:
    """Put ``entry`` under ``projects[project].mcpServers.breakroom`` in ``~/.claude.json``,
    keeping everything else; False when it was there already."""
    path = claude_state_path(home)
    state: dict[str, Any] = {}
    if path.exists():
        try:
            state = json.loads(path.read_text(encoding="utf-8") or "{}")
        except ValueError as exc:
            raise BreakroomError(f"{path}: cannot read it as JSON ({exc}); fix it by hand first") from None
        if not isinstance(state, dict):
            raise BreakroomError(f"{path}: expected a JSON object")
    projects = state.setdefault("projects", {})
    config = projects.setdefault(str(project.resolve()), {}) if isinstance(projects, dict) else None
    if not isinstance(config, dict) or not isinstance(config.setdefault("mcpServers", {}), dict):
        raise BreakroomError(f"{path}: projects[{str(project.resolve())!r}] is not an object; "
                             "fix it by hand first")
    if config["mcpServers"].get(SERVER_NAME) == entry:
        return False
    config["mcpServers"][SERVER_NAME] = entry
    tmp = path.with_name(path.name + ".breakroom-tmp")
    tmp.write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return True


def other_agents_text() -> str:
    """How the other agents get the same server: each by its own install."""
    return ("# Codex: `breakroom hooks install --agent codex` (hooks, notify and this server in "
            "$CODEX_HOME/config.toml)\n\n"
            "# Gemini CLI: `breakroom hooks install --agent gemini` (hooks and this server in "
            ".gemini/settings.json)")
