"""`breakroom mcp` over real stdio with the official MCP client (its registration in Claude
Code's ~/.claude.json: tests/fleet/test_mcp_register.py; the live test with Claude Code:
tests/fleet/test_claude_code_hooks.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.cli import BREAKROOM

TOOLS = {"say", "ask", "inbox", "read", "sent", "digest", "fleet", "issue_list", "issue_show", "issue_move",
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
