"""`breakroom mcp`: a stdio MCP server whose tools are the breakroom CLI an agent already uses.

Each tool runs the matching ``breakroom`` command as a child process of this server, which is
itself a child of the agent in its tmux pane: so a tool call acts as the calling session
exactly the way the agent's own ``breakroom say`` would, identified by the control socket
(whatever that decides, it decides it the same for both).  No second identity scheme, no
session argument a caller could forge.  A command that fails comes back as a tool error
carrying its one-line message.
"""

from __future__ import annotations

import subprocess
from typing import Any

from breakroom.fleet.hooks import breakroom_argv

TOOL_TIMEOUT = 120.0  # ask waits up to its own timeout (≤ 600 s, capped below) for a reply
MAX_ASK_TIMEOUT = 110


class Cli:
    """Runs ``breakroom [--config FILE] ARGS…`` and returns its output; a failure raises
    ``error`` (the SDK's ToolError: the agent sees the one-line message)."""

    def __init__(self, config: str | None, error: type[Exception]):
        self.base = breakroom_argv() + (["--config", config] if config else [])
        self.error = error

    def __call__(self, *args: str) -> str:
        try:
            done = subprocess.run(self.base + list(args), capture_output=True, text=True,
                                  timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise self.error(f"breakroom {args[0]} did not finish within {TOOL_TIMEOUT:g}s") from None
        if done.returncode != 0:
            message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
            raise self.error(message.removeprefix("breakroom: "))
        return done.stdout.strip()


def build_server(config: str | None) -> Any:
    """The MCP server with breakroom's tools (the ``mcp`` SDK is imported only here)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    run = Cli(config, ToolError)
    server = MCPServer("breakroom", log_level="WARNING", instructions=(
        "The breakroom: an IRC channel shared with other agent sessions and humans. "
        "Messages for you arrive as '[breakroom #N] nick: …'; answer with say. Where these "
        "tools are listed by name only (deferred), load one with ToolSearch first, e.g. "
        "'select:mcp__breakroom__say'; every tool is also a command: breakroom say NICK TEXT."))

    @server.tool()
    def say(target: str, text: str) -> str:
        """Say TEXT in the breakroom as this session: TARGET is a nick (another session, a
        human, 'knowledge') or the channel."""
        return run("say", target, text)

    @server.tool()
    def ask(question: str, to: str = "knowledge", timeout: float = 60) -> str:
        """Ask a question and wait for the reply (the knowledge proxy answers with a
        confidence and its sources)."""
        return run("ask", "--to", to, "--timeout", str(min(max(timeout, 1), MAX_ASK_TIMEOUT)), question)

    @server.tool()
    def inbox(limit: int = 20) -> str:
        """This session's messages, unread first."""
        return run("inbox", "--limit", str(limit))

    @server.tool()
    def read(message: str) -> str:
        """One message in full (the N of '[breakroom #N]')."""
        return run("read", message)

    @server.tool()
    def sent(limit: int = 20) -> str:
        """What this session sent to other sessions, and how far each got: queued,
        delivered, read."""
        return run("sent", "--limit", str(limit))

    @server.tool()
    def digest(peek: bool = False) -> str:
        """What happened in the breakroom since this session last checked in."""
        return run("digest", *(["--peek"] if peek else []))

    @server.tool()
    def fleet() -> str:
        """Every session: its agent, state and for how long."""
        return run("fleet")

    @server.tool()
    def issue_list(project: str | None = None, state: str | None = None) -> str:
        """The work queue's open issues."""
        return run("issue", "list", *(["--project", project] if project else []),
                   *(["--state", state] if state else []))

    @server.tool()
    def issue_show(issue: int) -> str:
        """One issue with its history."""
        return run("issue", "show", str(issue))

    @server.tool()
    def issue_move(issue: int, state: str, note: str | None = None) -> str:
        """Move an issue to another state, with a note saying why."""
        return run("issue", "move", str(issue), state, *(["--note", note] if note else []))

    @server.tool()
    def skills_show(name: str) -> str:
        """A skill's instructions (e.g. 'checkin', 'ask')."""
        return run("skills", "show", name)

    return server


def serve(config: str | None) -> None:
    build_server(config).run("stdio")
