"""A local stub of an OpenAI-compatible chat-completions endpoint as aider calls it (through
litellm, with ``OPENAI_API_BASE`` pointing here), scripted by the prompt (the script is
:mod:`support.sse_stub`'s).

aider sends ``POST /chat/completions`` (or ``/v1/chat/completions``) with ``stream: true`` and
reads ``chat.completion.chunk`` events ending in ``data: [DONE]``.  aider has no tool calls:
it runs a shell command the model proposes in a fenced ``bash`` block, after asking "Run
shell command?", and sends the output back in the next user message.  So a ``bash: CMD``
turn is answered with such a block, and the turn after it (the user message carrying the
command's output) with ``done: CMD`` (or the question, for ``bash-ask``).

Errors (``fail KIND``), in OpenAI's shapes:

- ``401``   -> 401 ``invalid_api_key`` (aider gives up at once)
- ``429``   -> 429 ``rate_limit_exceeded`` (aider retries with backoff)
- ``quota`` -> 429 ``insufficient_quota`` (aider retries it too: litellm calls both RateLimitError)
- ``500``   -> 500 ``server_error``

Every chat request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from support.sse_stub import ASK_TEXT, Reply, Request, StubServer, Turn, plan, words

__all__ = ["ASK_TEXT", "ChatCompletionsStub", "user_prompt"]

_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "401": (401, {"message": "Incorrect API key provided: sk-stub***. You can find your API key at "
                             "https://platform.openai.com/account/api-keys.",
                  "type": "invalid_request_error", "code": "invalid_api_key", "param": None}),
    "429": (429, {"message": "Rate limit reached for stub-model on requests per min (RPM). "
                             "Please try again in 1s.",
                  "type": "requests", "code": "rate_limit_exceeded", "param": None}),
    "quota": (429, {"message": "You exceeded your current quota, please check your plan and billing details.",
                    "type": "insufficient_quota", "code": "insufficient_quota", "param": None}),
    "500": (500, {"message": "The server had an error while processing your request.",
                  "type": "server_error", "code": None, "param": None}),
}
# aider's reply to a shell command's output starts the user message with this
_COMMAND_OUTPUT = re.compile(r"^\s*(I ran this command|Output from)", re.I)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(c.get("text", "") for c in content or [] if isinstance(c, dict))


def user_prompts(body: dict[str, Any]) -> list[str]:
    """Every user message that is a typed prompt (not aider's command output), oldest first,
    without the reminder of its edit format that aider appends after a blank line."""
    return [_text(m).strip().split("\n\n")[0] for m in body.get("messages") or []
            if m.get("role") == "user" and _text(m).strip() and not _COMMAND_OUTPUT.match(_text(m))]


def user_prompt(body: dict[str, Any]) -> str:
    """The newest thing the user typed."""
    prompts = user_prompts(body)
    return prompts[-1] if prompts else ""


def after_command_output(body: dict[str, Any]) -> bool:
    last = (body.get("messages") or [{}])[-1]
    return last.get("role") == "user" and bool(_COMMAND_OUTPUT.match(_text(last)))


class ChatCompletionsStub(StubServer):
    """The stub server; ``requests`` holds every chat request's body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    def handle(self, request: Request, reply: Reply) -> None:
        if not request.path.endswith("/chat/completions"):
            reply.json(404, {"error": {"message": f"no {request.path}", "type": "invalid_request_error"}})
            return
        with self.lock:
            self.requests.append(request.body)
        prompt = user_prompt(request.body)
        turn = plan(prompt, after_command_output(request.body))
        if turn.fail in _ERRORS and self.failing(prompt, turn):
            status, error = _ERRORS[turn.fail]
            reply.json(status, {"error": error})
            return
        self.stream(reply, request.body.get("model", "stub-model"), self.text(turn), turn.duration)

    @staticmethod
    def text(turn: Turn) -> str:
        if turn.tool == "bash":
            return f"I will run it.\n\n```bash\n{turn.command}\n```\n"
        return turn.text

    @staticmethod
    def stream(reply: Reply, model: str, text: str, duration: float) -> None:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        reply.start_events()
        reply.event(chunk({"role": "assistant", "content": ""}))
        for pause, word in words(text, duration):
            reply.event(chunk({"content": word}), pause=pause)
        reply.event({**chunk({}, "stop"), "usage": {"prompt_tokens": 100, "completion_tokens": 20,
                                                   "total_tokens": 120}})
        reply.raw("data: [DONE]\n\n")

    def bodies_text(self) -> list[str]:
        with self.lock:
            return [json.dumps(b, ensure_ascii=False) for b in self.requests]
