"""What every local model-API stub shares: a threaded HTTP server on a free loopback port that
hands each JSON request to its subclass, JSON and server-sent-event replies, and the script a
test types to choose a turn.

Each stub (:mod:`claude_stub` for the Messages API, :mod:`support.gemini_stub` for the Gemini
API, :mod:`support.openai_stub` for chat completions) only speaks its own wire format; what a
turn *does* is decided here, from the newest prompt, the same way for every agent:

- ``bash: CMD``        -> a shell tool call of CMD; after its result, ``done: CMD``
- ``bash-ask: CMD``    -> the same, then :data:`ASK_TEXT` after the result
- ``mcp TOOL: JSON``   -> a call of the breakroom MCP server's TOOL with that input
- ``ask``              -> :data:`ASK_TEXT`
- ``say: TEXT``        -> ``TEXT``, as the model's whole message
- ``fail KIND [N]``    -> the stub's error KIND (e.g. 401, 429, quota) on every request of the
                          turn, or on its first N requests only (then the turn goes on as an echo)
- ``slow N ...``       -> the reply streams over N seconds
- anything else        -> ``echo: <prompt>``

A test may also answer any prompt holding a key of a stub's ``scripted`` with that key's
text (:meth:`StubServer.plan`: how an agent replies to what the breakroom typed into it).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ASK_TEXT = "Which database should I use, sqlite or postgres?"


@dataclass(frozen=True)
class Turn:
    """What the model answers to one request: text, one tool call, or an error."""

    text: str = ""
    tool: str | None = None              # "bash" or "mcp" (a stub may add its own: Claude's "search")
    command: str = ""                    # bash: the command line; mcp: the tool's name
    arguments: dict[str, Any] | None = None   # mcp: the tool's input
    fail: str | None = None              # the error kind the stub maps to its own body
    fail_times: int | None = None        # fail only this many requests (None: every one)
    duration: float = 0.0                # seconds the reply takes to stream


def plan(prompt: str, after_tool_result: bool) -> Turn:
    """The turn the script in ``prompt`` asks for; ``after_tool_result`` when the request
    carries the result of the turn's tool call (the model then finishes in text)."""
    duration = 0.0
    slow = re.match(r"slow (\d+(?:\.\d+)?)\s*(.*)", prompt, re.S)
    if slow:
        duration, prompt = float(slow.group(1)), slow.group(2)
    fail = re.match(r"fail (\w+)(?: (\d+))?", prompt)
    if fail:
        times = int(fail.group(2)) if fail.group(2) else None
        return Turn(text=f"echo: {prompt[:200]}", fail=fail.group(1), fail_times=times, duration=duration)
    bash = re.match(r"bash(-ask)?: (.+)", prompt, re.S)
    mcp = re.match(r"mcp (\w+): (\{.*\})", prompt, re.S)
    if bash and not after_tool_result:
        return Turn(tool="bash", command=bash.group(2).strip(), duration=duration)
    if mcp and not after_tool_result:
        return Turn(tool="mcp", command=mcp.group(1), arguments=json.loads(mcp.group(2)), duration=duration)
    if bash and bash.group(1):
        return Turn(text=ASK_TEXT, duration=duration)
    if bash or mcp:
        done = bash.group(2) if bash else mcp.group(1)  # type: ignore[union-attr]
        return Turn(text=f"done: {done.strip()[:60]}", duration=duration)
    if prompt == "ask":
        return Turn(text=ASK_TEXT, duration=duration)
    if prompt.startswith("say: "):
        return Turn(text=prompt[5:], duration=duration)
    return Turn(text=f"echo: {prompt[:200]}", duration=duration)


def words(text: str, duration: float) -> list[tuple[float, str]]:
    """``text`` cut into word chunks, each with the pause before it, so that the whole
    reply takes ``duration`` seconds to stream."""
    parts = text.split(" ")
    pause = duration / len(parts)
    return [(pause, word + (" " if n < len(parts) - 1 else "")) for n, word in enumerate(parts)]


@dataclass
class Request:
    method: str
    path: str                      # without the query
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


class Reply:
    """Writes one HTTP answer: a JSON document, or a stream of server-sent events."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler

    def json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", "application/json")
        self.handler.send_header("Content-Length", str(len(data)))
        self.handler.end_headers()
        self.handler.wfile.write(data)

    def start_events(self) -> None:
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", "text/event-stream")
        self.handler.send_header("Cache-Control", "no-cache")
        self.handler.send_header("Connection", "close")
        self.handler.end_headers()
        self.handler.close_connection = True

    def event(self, data: Any, name: str | None = None, pause: float = 0.0) -> None:
        """One SSE event (``event: NAME`` when named), after ``pause`` seconds."""
        if pause:
            time.sleep(pause)
        head = f"event: {name}\n" if name else ""
        self.handler.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
        self.handler.wfile.flush()

    def raw(self, text: str) -> None:
        self.handler.wfile.write(text.encode())
        self.handler.wfile.flush()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a cancelled turn, a closed keep-alive) is no error here."""


class StubServer:
    """A local HTTP server that gives every request to :meth:`handle`; ``calls`` lists each
    request's method and path (to see what a client calls at start-up)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[str] = []
        self.failed: dict[str, int] = {}
        self.scripted: dict[str, str] = {}  # a prompt holding KEY is answered with VALUE
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                url = urlsplit(self.path)
                request = Request(self.command, url.path, {k: v[-1] for k, v in parse_qs(url.query).items()},
                                  {k.lower(): v for k, v in self.headers.items()},
                                  body if isinstance(body, dict) else {})
                with stub.lock:
                    stub.calls.append(f"{self.command} {url.path}")
                stub.handle(request, Reply(self))

            do_GET = do_POST = _serve

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, request: Request, reply: Reply) -> None:
        raise NotImplementedError

    def plan(self, prompt: str, after_tool_result: bool) -> Turn:
        """The test's own reply to a prompt holding a key of ``scripted``, else the script's."""
        reply = next((text for key, text in self.scripted.items() if key in prompt), None)
        return Turn(text=reply) if reply is not None else plan(prompt, after_tool_result)

    def failing(self, prompt: str, turn: Turn) -> bool:
        """Whether this request of ``turn`` gets its error (``fail KIND N`` fails N requests
        of the same prompt, then lets them through)."""
        if turn.fail is None:
            return False
        if turn.fail_times is None:
            return True
        with self.lock:
            self.failed[prompt] = self.failed.get(prompt, 0) + 1
            return self.failed[prompt] <= turn.fail_times

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
