"""Wiring Gemini CLI to the breakroom: its hooks and the MCP server, in the project's
``.gemini/settings.json`` (``breakroom hooks install --agent gemini``).

Gemini CLI (0.61.0, the release in its profile's ``tested``) has a hooks system modelled on
Claude Code's: ``hooks.<Event>: [{"matcher": …, "hooks": [{"type": "command", "command": …,
"timeout": ms}]}]`` with the events SessionStart, BeforeAgent, BeforeTool, AfterTool,
AfterAgent, Notification (``notification_type: ToolPermission``), PreCompress, SessionEnd,
BeforeModel, AfterModel and BeforeToolSelection.  The ones wired here report state through
``breakroom hook EVENT`` (the table is :data:`breakroom.fleet.hooks.EVENT_STATES`) and hand a
busy agent its messages (AfterTool, BeforeAgent, AfterAgent).  BeforeTool is left out: it
runs before, and holds up, every tool call.  Gemini CLI runs a project's hooks and MCP
servers only in a trusted folder (it asks once, "Do you trust the files in this folder?").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from breakroom.errors import BreakroomError
from breakroom.fleet import hooks
from breakroom.fleet.mcp_register import SERVER_NAME

SETTINGS = Path(".gemini") / "settings.json"
INSTALL: list[tuple[str, str | None]] = [
    ("SessionStart", None), ("BeforeAgent", None), ("AfterTool", None), ("Notification", None),
    ("AfterAgent", None), ("SessionEnd", None)]
HOOK_TIMEOUT_MS = hooks.HOOK_TIMEOUT * 1000
HOOK_NAME = "breakroom"   # how Gemini CLI lists the hook (and the name to disable it by)


def server_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """Gemini CLI's form of the MCP server entry (:func:`mcp_register.server_entry`)."""
    return {"command": entry["command"], "args": entry["args"]}


def merge(settings: dict[str, Any], server: dict[str, Any], prefix: str | None = None,
          config: str | None = None) -> int:
    """Add breakroom's hooks and MCP server to Gemini CLI ``settings`` in place, keeping every
    other key; returns how many entries changed (0: all there already)."""
    changed = hooks.merge_hooks(settings, prefix, config, events=INSTALL, timeout=HOOK_TIMEOUT_MS,
                                name=HOOK_NAME)
    servers = settings.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise BreakroomError("settings.json: \"mcpServers\" is not an object; fix it by hand first")
    wanted = server_entry(server)
    current = servers.get(SERVER_NAME)
    current = current if isinstance(current, dict) else {}
    if {key: current.get(key) for key in wanted} != wanted:
        servers[SERVER_NAME] = {**current, **wanted}   # the user's own keys (trust, timeout …) stay
        changed += 1
    return changed


def install(project: Path, server: dict[str, Any], write: bool = True, *, prefix: str | None = None,
            config: str | None = None) -> tuple[Path, dict[str, Any], int]:
    """Merge the hooks and the MCP server into ``project/.gemini/settings.json``.  Returns
    (path, merged settings, entries changed); ``write=False`` writes nothing (``--print``)."""
    path = project / SETTINGS
    settings = hooks.read_settings(path)
    changed = merge(settings, server, prefix, config)
    if write and changed:
        hooks.write_settings(path, settings)
    return path, settings, changed


def installed(project: Path, server: dict[str, Any], config: str | None) -> bool:
    """Whether ``project``'s settings have breakroom's hooks and MCP server as they are now."""
    try:
        settings = hooks.read_settings(project / SETTINGS)
        return merge(settings, server, None, config) == 0
    except BreakroomError:
        return False
