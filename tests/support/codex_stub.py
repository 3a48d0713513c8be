"""A local stub of the OpenAI Responses API as the real Codex CLI calls it, scripted by the prompt.

Codex (``@openai/codex``, a Rust TUI) sends ``POST /v1/responses`` with ``stream: true`` and
reads SSE events: ``response.created``, ``response.output_item.added``,
``response.output_text.delta``, ``response.output_item.done`` (an assistant ``message`` or a
``function_call``) and ``response.completed``; a stream that ends without ``completed`` is an
error it retries.  Besides the turn it sends a side request for the thread's title (its
``text.format`` asks for ``{"title": …}``): the stub answers those with a title and keeps them
apart, in ``side_requests``.  Any other path gets a 404 and is noted in ``paths``.

What the stub answers is decided by the newest prompt (the last user message that is not
Codex's own ``<environment_context>`` and the like), so a test scripts a turn by what it types:

- ``bash: CMD``        -> an ``exec_command`` call of CMD in the sandbox; after its output, ``done: CMD``
- ``bash-ask: CMD``    -> the same, then the question below after the output
- ``approve: CMD``     -> ``exec_command`` asking to leave the sandbox (``require_escalated``):
                          Codex shows its approval dialog
- ``mcp TOOL: JSON``   -> a call of the MCP tool ``TOOL`` of the ``breakroom`` server
- ``ask``              -> ``Which database should I use, sqlite or postgres?``
- ``fail 401|429|quota|usage|500`` -> that HTTP error on every request of the turn
- ``slow N ...``       -> the reply streams over N seconds
- anything else        -> ``echo: <prompt>``

Every turn's request body is kept in ``requests`` (tests look for delivered text there).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ASK_TEXT = "Which database should I use, sqlite or postgres?"
MCP_SERVER = "breakroom"
# (status, error body) per ``fail KIND``.  ``usage`` is what the ChatGPT backend answers when a
# plan's limit is spent; ``quota`` what the platform API answers when the credit is.
_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "401": (401, {"message": "Incorrect API key provided: sk-stub***. You can find your API key "
                             "at https://platform.openai.com/account/api-keys.",
                  "type": "invalid_request_error", "code": "invalid_api_key", "param": None}),
    "429": (429, {"message": "Rate limit reached for stub-model on tokens per min (TPM). "
                             "Please try again in 20s.",
                  "type": "requests", "code": "rate_limit_exceeded", "param": None}),
    "quota": (429, {"message": "You exceeded your current quota, please check your plan and "
                               "billing details.",
                    "type": "insufficient_quota", "code": "insufficient_quota", "param": None}),
    "usage": (429, {"message": "The usage limit has been reached", "type": "usage_limit_reached",
                    "plan_type": "plus", "resets_in_seconds": 3600}),
    "500": (500, {"message": "The server had an error while processing your request.",
                  "type": "server_error", "code": None, "param": None}),
}
# Codex's own context, sent as user messages before the prompt.
_HARNESS_TEXT = re.compile(r"^\s*<(environment_context|user_instructions|turn_aborted|skills_instructions)")


def _texts(item: dict[str, Any]) -> list[str]:
    content = item.get("content")
    if isinstance(content, str):
        return [content]
    return [c.get("text", "") for c in content or [] if isinstance(c, dict)
            and c.get("type") in ("input_text", "output_text")]


def user_prompts(body: dict[str, Any]) -> list[str]:
    """Every user turn in a request's ``input``, oldest first (Codex's own context left out)."""
    prompts = []
    for item in body.get("input") or []:
        if item.get("type") == "message" and item.get("role") == "user":
            typed = [t for t in _texts(item) if t.strip() and not _HARNESS_TEXT.match(t)]
            if typed:
                prompts.append("\n".join(typed).strip())
    return prompts


def user_prompt(body: dict[str, Any]) -> str:
    """The newest thing the user typed."""
    prompts = user_prompts(body)
    return prompts[-1] if prompts else ""


def _after_tool_output(body: dict[str, Any]) -> bool:
    last = (body.get("input") or [{}])[-1]
    return last.get("type") in ("function_call_output", "custom_tool_call_output")


def tool_names(body: dict[str, Any]) -> list[str]:
    """The tools a request offers, MCP tools as ``namespace/name`` (Codex groups each MCP
    server's tools under a ``namespace`` tool named ``mcp__SERVER``)."""
    names = []
    for tool in body.get("tools") or []:
        if tool.get("type") == "namespace":
            names += [f"{tool.get('name')}/{t.get('name')}" for t in tool.get("tools") or []]
        else:
            names.append(str(tool.get("name") or tool.get("type")))
    return names


class CodexStub:
    """The stub server; ``requests`` holds every turn's /v1/responses body, in order."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.side_requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self._ids = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return {}
                return body if isinstance(body, dict) else {}

            def do_GET(self) -> None:
                with stub.lock:
                    stub.paths.append(f"GET {self.path}")
                self.json(404, {"error": {"message": f"no {self.path} here", "type": "not_found"}})

            def do_POST(self) -> None:
                body = self._body()
                with stub.lock:
                    stub.paths.append(f"POST {self.path}")
                if not self.path.split("?")[0].endswith("/responses"):
                    self.json(404, {"error": {"message": f"no {self.path} here", "type": "not_found"}})
                    return
                if (body.get("text") or {}).get("format", {}).get("type") == "json_schema":
                    with stub.lock:
                        stub.side_requests.append(body)
                    stub.stream(self, [{"type": "message", "text": json.dumps({"title": "Stub task"})}])
                    return
                with stub.lock:
                    stub.requests.append(body)
                stub.answer(self, body)

            def json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ scripting

    def answer(self, handler: Any, body: dict[str, Any]) -> None:
        prompt = user_prompt(body)
        duration = 0.0
        slow = re.match(r"slow (\d+(?:\.\d+)?)\s*(.*)", prompt, re.S)
        if slow:
            duration, prompt = float(slow.group(1)), slow.group(2)
        fail = re.match(r"fail (\w+)", prompt)
        if fail and fail.group(1) in _ERRORS:
            status, error = _ERRORS[fail.group(1)]
            handler.json(status, {"error": error})
            return
        tool = re.match(r"(bash|bash-ask|approve): (.+)", prompt, re.S)
        mcp = re.match(r"mcp (\w+): (\{.*\})", prompt, re.S)
        items: list[dict[str, Any]]
        if (tool or mcp) and not _after_tool_output(body):
            if tool:
                arguments: dict[str, Any] = {"cmd": tool.group(2).strip(), "yield_time_ms": 30000}
                if tool.group(1) == "approve":
                    arguments.update(sandbox_permissions="require_escalated",
                                     justification="Do you want to let the stub run this outside "
                                                   "the sandbox?")
                items = [{"type": "function_call", "name": "exec_command", "arguments": arguments}]
            else:
                assert mcp is not None
                items = [{"type": "function_call", "name": mcp.group(1), "namespace": f"mcp__{MCP_SERVER}",
                          "arguments": json.loads(mcp.group(2))}]
        elif tool and tool.group(1) == "bash-ask":
            items = [{"type": "message", "text": ASK_TEXT}]
        elif tool or mcp:
            done = tool.group(2) if tool else mcp.group(1)  # type: ignore[union-attr]
            items = [{"type": "message", "text": f"done: {done.strip()[:60]}"}]
        elif prompt == "ask":
            items = [{"type": "message", "text": ASK_TEXT}]
        else:
            items = [{"type": "message", "text": f"echo: {prompt[:200]}"}]
        self.stream(handler, items, duration)

    def _next_id(self, prefix: str) -> str:
        with self.lock:
            self._ids += 1
            return f"{prefix}_stub_{self._ids}"

    def stream(self, handler: Any, items: list[dict[str, Any]], duration: float = 0.0) -> None:
        """Send ``items`` as one streamed response, text word by word over ``duration`` s."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True

        def event(data: dict[str, Any]) -> None:
            handler.wfile.write(f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode())
            handler.wfile.flush()

        response_id = self._next_id("resp")
        event({"type": "response.created", "response": {"id": response_id, "status": "in_progress"}})
        for index, spec in enumerate(items):
            if spec["type"] == "message":
                item_id = self._next_id("msg")
                item: dict[str, Any] = {"type": "message", "id": item_id, "role": "assistant",
                                        "status": "in_progress", "content": []}
                event({"type": "response.output_item.added", "output_index": index, "item": item})
                words = spec["text"].split(" ")
                for n, word in enumerate(words):
                    if duration:
                        time.sleep(duration / len(words))
                    event({"type": "response.output_text.delta", "item_id": item_id, "output_index": index,
                           "content_index": 0, "delta": word + (" " if n < len(words) - 1 else "")})
                done = {**item, "status": "completed",
                        "content": [{"type": "output_text", "text": spec["text"], "annotations": []}]}
            else:
                if duration:
                    time.sleep(duration)
                done = {"type": "function_call", "id": self._next_id("fc"), "call_id": self._next_id("call"),
                        "name": spec["name"], "arguments": json.dumps(spec["arguments"]),
                        "status": "completed"}
                if spec.get("namespace"):
                    done["namespace"] = spec["namespace"]
                event({"type": "response.output_item.added", "output_index": index,
                       "item": {**done, "arguments": "", "status": "in_progress"}})
            event({"type": "response.output_item.done", "output_index": index, "item": done})
        event({"type": "response.completed", "response": {
            "id": response_id, "status": "completed",
            "usage": {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": 1220}}})

    # ------------------------------------------------------------ looking

    def turns_with(self, text: str) -> list[dict[str, Any]]:
        """The turn requests whose newest prompt contains ``text``."""
        with self.lock:
            return [b for b in self.requests if text in user_prompt(b)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
