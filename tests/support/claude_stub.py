"""A local stub of the Messages API as the real Claude Code CLI calls it, scripted by the prompt
(the script is :mod:`support.sse_stub`'s: ``bash: CMD``, ``bash-ask: CMD``, ``mcp TOOL: JSON``,
``ask``, ``say: TEXT``, ``fail KIND [N]``, ``slow N ...``, else an echo; and ``scripted``).

Claude Code sends ``POST /v1/messages?beta=true`` with ``stream: true`` and expects SSE
(FIELD-NOTES "Claude Code 2.1.197"); it also calls ``count_tokens``.  The stub plays the model:

- the newest prompt is the last text the user typed: the last user message with a text that
  is neither a ``<system-reminder>`` nor a note Claude Code adds itself (``Tool loaded.``
  after a ToolSearch; a new prompt may share its message with a rejected tool's result);
- the turn's progress is the tool calls the stub already made after that prompt: a shell
  call is a ``tool_use`` of Bash, an MCP call one of ``mcp__breakroom__TOOL`` — and when the
  request does not offer that tool (2.1.332 defers MCP tools behind ``ToolSearch``), the stub
  first calls ``ToolSearch`` with ``select:mcp__breakroom__TOOL``, as a model does;
- errors (``fail KIND [N]``): ``529`` overloaded, ``429`` rate limit, ``500``, ``401`` and
  ``credit`` (Claude Code retries 5xx, 429 and 401).

Every request body is kept in ``requests`` (tests look for delivered text there).  Each
answer reports ``usage`` (what Claude Code writes into its transcript): :data:`USAGE`, or
the stub's own.
"""

from __future__ import annotations

import json
import re
from typing import Any

from support.sse_stub import ASK_TEXT, Reply, Request, StubServer, Turn, words

__all__ = ["ASK_TEXT", "MCP_PREFIX", "ClaudeStub", "offered_tools", "user_prompt"]

MCP_PREFIX = "mcp__breakroom__"
USAGE = {"input_tokens": 100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
         "output_tokens": 20}
_ERRORS = {
    "529": (529, "overloaded_error", "Overloaded"),
    "429": (429, "rate_limit_error",
            "This request would exceed your organization's rate limit of 50 requests per minute."),
    "500": (500, "api_error", "Internal server error"),
    "401": (401, "authentication_error", "invalid x-api-key"),
    "credit": (400, "invalid_request_error",
               "Your credit balance is too low to access the Anthropic API."),
}
# Texts Claude Code itself adds to a user message: after a ToolSearch result (2.1.332), and
# next to a rejected tool's result.
_HARNESS_TEXT = re.compile(r"\s*(Tool loaded\.|\[Request interrupted by user[^\]]*\])\s*")


def _texts(message: dict) -> list[str]:
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]


def _typed(message: dict) -> list[str]:
    """What the user typed in a message: its texts that are not reminders or the CLI's notes."""
    if message.get("role") != "user":
        return []
    return [t for t in _texts(message) if t.strip() and not t.lstrip().startswith("<system-reminder>")
            and not _HARNESS_TEXT.fullmatch(t)]


def _prompt_at(body: dict) -> int:
    """Index of the message holding the newest prompt (-1 when there is none)."""
    messages = body.get("messages") or []
    return next((i for i in range(len(messages) - 1, -1, -1) if _typed(messages[i])), -1)


def user_prompt(body: dict) -> str:
    """The newest thing the user typed."""
    at = _prompt_at(body)
    return _typed(body["messages"][at])[-1].strip() if at >= 0 else ""


def _called(body: dict) -> set[str]:
    """The tools the stub called in the current turn (after its prompt)."""
    return {b.get("name", "") for m in (body.get("messages") or [])[_prompt_at(body) + 1:]
            if m.get("role") == "assistant" and isinstance(m.get("content"), list)
            for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_use"}


def offered_tools(body: dict) -> set[str]:
    """The tools a request offers the model in full (not the deferred ones, named only)."""
    return {t.get("name", "") for t in body.get("tools") or [] if isinstance(t, dict)}


class ClaudeStub(StubServer):
    """The stub server; ``requests`` holds every /v1/messages body, in order."""

    def __init__(self, usage: dict[str, int] | None = None) -> None:
        self.usage = {**USAGE, **(usage or {})}
        self.requests: list[dict] = []
        super().__init__()

    def handle(self, request: Request, reply: Reply) -> None:
        if "count_tokens" in request.path:
            reply.json(200, {"input_tokens": 100})
            return
        if not request.path.startswith("/v1/messages"):
            reply.json(404, {"type": "error", "error": {"type": "not_found_error", "message": request.path}})
            return
        with self.lock:
            self.requests.append(request.body)
        prompt, called = user_prompt(request.body), _called(request.body)
        turn = self.plan(prompt, after_tool_result=bool(called - {"ToolSearch"}))
        if turn.fail in _ERRORS and self.failing(prompt, turn):
            status, kind, message = _ERRORS[turn.fail]  # type: ignore[index]
            reply.json(status, {"type": "error", "error": {"type": kind, "message": message}})
            return
        if (turn.tool == "mcp" and "ToolSearch" not in called
                and MCP_PREFIX + turn.command not in offered_tools(request.body)):
            turn = Turn(tool="search", command=MCP_PREFIX + turn.command, duration=turn.duration)
        self._stream(reply, request.body, turn)

    def _stream(self, reply: Reply, body: dict, turn: Turn) -> None:
        def event(name: str, data: dict[str, Any], pause: float = 0.0) -> None:
            reply.event(data, name=name, pause=pause)

        reply.start_events()
        event("message_start", {"type": "message_start", "message": {
            "id": f"msg_stub_{len(self.requests)}", "type": "message", "role": "assistant",
            "model": body.get("model", "claude-stub"), "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": {**self.usage, "output_tokens": 1}}})
        if turn.tool is None:
            event("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}})
            for pause, word in words(turn.text, turn.duration):
                event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": word}}, pause)
        else:
            if turn.tool == "bash":
                name, arguments = "Bash", {"command": turn.command, "description": "run it"}
            elif turn.tool == "search":
                name, arguments = "ToolSearch", {"query": f"select:{turn.command}", "max_results": 1}
            else:
                name, arguments = MCP_PREFIX + turn.command, turn.arguments or {}
            tool_use = {"type": "tool_use", "id": f"toolu_stub_{len(self.requests)}", "name": name,
                        "input": {}}
            event("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": tool_use}, turn.duration)
            event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "input_json_delta",
                                                    "partial_json": json.dumps(arguments)}})
        event("content_block_stop", {"type": "content_block_stop", "index": 0})
        stop_reason = "end_turn" if turn.tool is None else "tool_use"
        event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason,
                                                                  "stop_sequence": None},
                                "usage": {"output_tokens": self.usage["output_tokens"]}})
        event("message_stop", {"type": "message_stop"})

    def bodies_text(self) -> list[str]:
        """Each request body as JSON text (to look for delivered messages)."""
        with self.lock:
            return [json.dumps(b, ensure_ascii=False) for b in self.requests]

    def tool_calls(self, name: str) -> list[dict]:
        """Requests that carry the result of a ``name`` call of the stub's (the tool ran)."""
        with self.lock:
            bodies = list(self.requests)
        found = []
        for body in bodies:
            messages = body.get("messages") or []
            ids = {b.get("id") for m in messages if m.get("role") == "assistant"
                   and isinstance(m.get("content"), list)
                   for b in m["content"] if isinstance(b, dict) and b.get("name") == name}
            if any(isinstance(b, dict) and b.get("type") == "tool_result" and b.get("tool_use_id") in ids
                   for m in messages if isinstance(m.get("content"), list) for b in m["content"]):
                found.append(body)
        return found
