"""`breakroom mcp` over real stdio with the official MCP client, and its registration in
Claude Code's ~/.claude.json (the live test with Claude Code is test_claude_code_hooks.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from breakroom.errors import BreakroomError
from breakroom.fleet import mcp_register

BREAKROOM = str(Path(sys.executable).parent / "breakroom")
TOOLS = {"say", "ask", "inbox", "read", "digest", "fleet", "issue_list", "issue_show", "issue_move",
         "skills_show"}


def test_tools_are_listed_and_a_failure_is_a_one_line_tool_error(tmp_path: Path) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    config = tmp_path / "breakroom.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")

    async def session() -> tuple[set[str], object, object]:
        params = StdioServerParameters(command=BREAKROOM, args=["--config", str(config), "mcp"])
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            names = {tool.name for tool in (await client.list_tools()).tools}
            return (names, await client.call_tool("fleet", {}),
                    await client.call_tool("skills_show", {"name": "checkin"}))

    names, fleet, skill = asyncio.run(asyncio.wait_for(session(), 30))
    assert names == TOOLS
    assert fleet.is_error and "the breakroom is not running" in fleet.content[0].text
    assert not skill.is_error and "check" in skill.content[0].text.lower()


def test_register_claude_merges_into_claude_json(tmp_path: Path) -> None:
    state = tmp_path / ".claude.json"
    state.write_text(json.dumps({"theme": "dark", "projects": {"/other": {"x": 1}}}))
    entry = mcp_register.server_entry("/abs/breakroom.yaml")
    assert entry["command"].startswith("/")
    assert entry["args"][-3:] == ["--config", "/abs/breakroom.yaml", "mcp"]
    assert mcp_register.register_claude(tmp_path / "proj", entry, tmp_path)
    assert not mcp_register.register_claude(tmp_path / "proj", entry, tmp_path)  # already there
    saved = json.loads(state.read_text())
    assert saved["theme"] == "dark" and saved["projects"]["/other"] == {"x": 1}
    assert mcp_register.registered(tmp_path / "proj", tmp_path) == entry
    state.write_text("{broken")
    with pytest.raises(BreakroomError, match="cannot read it as JSON"):
        mcp_register.register_claude(tmp_path / "proj", entry, tmp_path)
