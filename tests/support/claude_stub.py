"""A local stub of the Messages API as the real Claude Code CLI calls it, scripted by the prompt
(the script is :mod:`support.sse_stub`'s: ``bash: CMD``, ``bash-ask: CMD``, ``mcp TOOL: JSON``,
``ask``, ``fail KIND [N]``, ``slow N ...``, else an echo).

Claude Code sends ``POST /v1/messages?beta=true`` with ``stream: true`` and expects SSE
(FIELD-NOTES "Claude Code 2.1.197"); it also calls ``count_tokens``.  The newest prompt is
the first text block of the last user message that is not a ``<system-reminder>``.  A shell
call is a ``tool_use`` of Bash, an MCP call one of ``mcp__breakroom__TOOL``.  Errors
(``fail KIND``): ``529``, ``500``, ``401`` and ``credit`` (Claude retries 5xx/401).

Every request body is kept in ``requests`` (tests look for delivered text there).
"""

from __future__ import annotations

import json
from typing import Any

from support.sse_stub import ASK_TEXT, Reply, Request, StubServer, Turn, plan, words

__all__ = ["ASK_TEXT", "ClaudeStub", "user_prompt"]

_ERRORS = {
    "529": (529, "overloaded_error", "Overloaded"),
    "500": (500, "api_error", "Internal server error"),
    "401": (401, "authentication_error", "invalid x-api-key"),
    "credit": (400, "invalid_request_error",
               "Your credit balance is too low to access the Anthropic API."),
}


def _texts(message: dict) -> list[str]:
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]


def user_prompt(body: dict) -> str:
    """The newest thing the user typed: the last user message whose text is not a reminder."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        typed = [t for t in _texts(message) if t.strip() and not t.lstrip().startswith("<system-reminder>")]
        if typed:
            return typed[-1].strip()
    return ""


def _after_tool_result(body: dict) -> bool:
    last = (body.get("messages") or [{}])[-1]
    content = last.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


class ClaudeStub(StubServer):
    """The stub server; ``requests`` holds every /v1/messages body, in order."""

    def __init__(self) -> None:
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
        prompt = user_prompt(request.body)
        turn = plan(prompt, _after_tool_result(request.body))
        if turn.fail in _ERRORS and self.failing(prompt, turn):
            status, kind, message = _ERRORS[turn.fail]  # type: ignore[index]
            reply.json(status, {"type": "error", "error": {"type": kind, "message": message}})
            return
        self._stream(reply, request.body, turn)

    def _stream(self, reply: Reply, body: dict, turn: Turn) -> None:
        def event(name: str, data: dict[str, Any], pause: float = 0.0) -> None:
            reply.event(data, name=name, pause=pause)

        reply.start_events()
        event("message_start", {"type": "message_start", "message": {
            "id": f"msg_stub_{len(self.requests)}", "type": "message", "role": "assistant",
            "model": body.get("model", "claude-stub"), "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": {"input_tokens": 100, "output_tokens": 1}}})
        if turn.tool is None:
            event("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}})
            for pause, word in words(turn.text, turn.duration):
                event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": word}}, pause)
        else:
            if turn.tool == "bash":
                name, arguments = "Bash", {"command": turn.command, "description": "run it"}
            else:
                name, arguments = f"mcp__breakroom__{turn.command}", turn.arguments or {}
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
                                "usage": {"output_tokens": 20}})
        event("message_stop", {"type": "message_stop"})

    def bodies_text(self) -> list[str]:
        """Each request body as JSON text (to look for delivered messages)."""
        with self.lock:
            return [json.dumps(b, ensure_ascii=False) for b in self.requests]
