"""A local stub of the Messages API as the real Claude Code CLI calls it, scripted by the prompt.

Claude Code sends ``POST /v1/messages?beta=true`` with ``stream: true`` and expects SSE
(FIELD-NOTES "Claude Code 2.1.197"); it also calls ``count_tokens``.  What the stub answers
is decided by the newest prompt (the first text block of the last user message that is not
a ``<system-reminder>``), so a test scripts a turn by what it types:

- ``bash: CMD``       -> a ``tool_use`` of Bash with CMD; after its result, ``done: CMD``
- ``bash-ask: CMD``   -> the same, then the question below after the result
- ``mcp TOOL: JSON``  -> a ``tool_use`` of ``mcp__breakroom__TOOL`` with that input
- ``ask``             -> ``Which database should I use, sqlite or postgres?``
- ``fail 529|500|401|credit`` -> that error on every request of the turn (Claude retries 5xx/401)
- ``slow N ...``      -> the reply streams over N seconds
- anything else       -> ``echo: <prompt>``

Every request body is kept in ``requests`` (tests look for delivered text there).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ASK_TEXT = "Which database should I use, sqlite or postgres?"
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


class ClaudeStub:
    """The stub server; ``requests`` holds every /v1/messages body, in order."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                if "count_tokens" in self.path:
                    self._json(200, {"input_tokens": 100})
                    return
                if not self.path.startswith("/v1/messages"):
                    self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                               "message": self.path}})
                    return
                with stub.lock:
                    stub.requests.append(body)
                stub.answer(self, body)

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ scripting

    def answer(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        prompt = user_prompt(body)
        duration = 0.0
        slow = re.match(r"slow (\d+(?:\.\d+)?)\s*(.*)", prompt, re.S)
        if slow:
            duration, prompt = float(slow.group(1)), slow.group(2)
        fail = re.match(r"fail (\w+)", prompt)
        if fail and fail.group(1) in _ERRORS:
            status, kind, message = _ERRORS[fail.group(1)]
            error = {"type": "error", "error": {"type": kind, "message": message}}
            handler._json(status, error)  # type: ignore[attr-defined]
            return
        blocks: list[dict]
        bash = re.match(r"bash(-ask)?: (.+)", prompt, re.S)
        mcp = re.match(r"mcp (\w+): (\{.*\})", prompt, re.S)
        if (bash or mcp) and not _after_tool_result(body):
            if bash:
                blocks = [{"type": "tool_use", "name": "Bash",
                           "input": {"command": bash.group(2).strip(), "description": "run it"}}]
            else:
                assert mcp is not None
                blocks = [{"type": "tool_use", "name": f"mcp__breakroom__{mcp.group(1)}",
                           "input": json.loads(mcp.group(2))}]
        elif bash and bash.group(1):
            blocks = [{"type": "text", "text": ASK_TEXT}]
        elif bash or mcp:
            done = bash.group(2) if bash else mcp.group(1)  # type: ignore[union-attr]
            blocks = [{"type": "text", "text": f"done: {done.strip()[:60]}"}]
        elif prompt == "ask":
            blocks = [{"type": "text", "text": ASK_TEXT}]
        else:
            blocks = [{"type": "text", "text": f"echo: {prompt[:200]}"}]
        self._stream(handler, body, blocks, duration)

    def _stream(self, handler: BaseHTTPRequestHandler, body: dict, blocks: list[dict],
                duration: float) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True

        def event(name: str, data: dict) -> None:
            handler.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            handler.wfile.flush()

        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        event("message_start", {"type": "message_start", "message": {
            "id": f"msg_stub_{len(self.requests)}", "type": "message", "role": "assistant",
            "model": body.get("model", "claude-stub"), "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": {"input_tokens": 100, "output_tokens": 1}}})
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                event("content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "text", "text": ""}})
                words = block["text"].split(" ")
                for n, word in enumerate(words):
                    if duration:
                        time.sleep(duration / len(words))
                    text = word + (" " if n < len(words) - 1 else "")
                    event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "text_delta", "text": text}})
            else:
                if duration:
                    time.sleep(duration)
                tool_use = {"type": "tool_use", "id": f"toolu_stub_{len(self.requests)}",
                            "name": block["name"], "input": {}}
                event("content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": tool_use})
                event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "input_json_delta",
                                                        "partial_json": json.dumps(block["input"])}})
            event("content_block_stop", {"type": "content_block_stop", "index": index})
        event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason,
                                                                    "stop_sequence": None},
                                "usage": {"output_tokens": 20}})
        event("message_stop", {"type": "message_stop"})

    # ------------------------------------------------------------ looking

    def bodies_text(self) -> list[str]:
        """Each request body as JSON text (to look for delivered messages)."""
        with self.lock:
            return [json.dumps(b, ensure_ascii=False) for b in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
