"""A local stub of the Gemini API as the real Gemini CLI calls it, scripted by the prompt
(the script is :mod:`support.sse_stub`'s).

Gemini CLI with ``GEMINI_API_KEY`` and ``GOOGLE_GEMINI_BASE_URL`` (its "gateway" auth) sends
``POST /v1beta/models/MODEL:streamGenerateContent?alt=sse`` for a turn and reads SSE events,
each a ``GenerateContentResponse`` (``candidates[0].content.parts``: ``text`` or
``functionCall``; the last carries ``finishReason``).  Besides the turn it calls
``:countTokens`` and ``:generateContent`` for its own side questions (a JSON answer such as
the next-speaker check, which the stub answers with the user); those are kept apart from
the turns, in ``side_requests``.  Any other path gets a 404 and is noted in ``calls``.

Errors (``fail KIND``), in the API's own shapes:

- ``401``   -> 400 ``API key not valid`` (``API_KEY_INVALID``: what the API answers a bad key)
- ``429``   -> 429 ``RESOURCE_EXHAUSTED`` per minute, with a retry delay (the CLI retries)
- ``quota`` -> 429 ``RESOURCE_EXHAUSTED`` per day (the CLI gives up at once)
- ``500``   -> 500 ``INTERNAL``

Every turn's request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from support.sse_stub import ASK_TEXT, Reply, Request, StubServer, Turn, plan, words

__all__ = ["ASK_TEXT", "GeminiStub", "user_prompt"]

MCP_SERVER = "breakroom"
_QUOTA = "type.googleapis.com/google.rpc.QuotaFailure"
_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "401": (400, {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                  "status": "INVALID_ARGUMENT",
                  "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                               "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}),
    "429": (429, {"code": 429, "status": "RESOURCE_EXHAUSTED",
                  "message": "Resource has been exhausted (e.g. check quota).",
                  "details": [{"@type": _QUOTA, "violations": [
                      {"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                       "quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]},
                      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]}),
    "quota": (429, {"code": 429, "status": "RESOURCE_EXHAUSTED",
                    "message": "You exceeded your current quota, please check your plan and billing details.",
                    "details": [{"@type": _QUOTA, "violations": [
                        {"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                         "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}),
    "500": (500, {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}),
}


def _texts(content: dict[str, Any]) -> list[str]:
    return [p["text"] for p in content.get("parts") or []
            if isinstance(p, dict) and isinstance(p.get("text"), str)]


def user_prompts(body: dict[str, Any]) -> list[str]:
    """Every user turn's typed text in a request's ``contents``, oldest first."""
    prompts = []
    for content in body.get("contents") or []:
        if content.get("role") == "user":
            typed = [t for t in _texts(content) if t.strip()]
            if typed:
                prompts.append(typed[-1].strip())
    return prompts


def user_prompt(body: dict[str, Any]) -> str:
    """The newest thing the user typed."""
    prompts = user_prompts(body)
    return prompts[-1] if prompts else ""


def after_tool_result(body: dict[str, Any]) -> bool:
    last = (body.get("contents") or [{}])[-1]
    return any(isinstance(p, dict) and "functionResponse" in p for p in last.get("parts") or [])


def function_names(body: dict[str, Any]) -> list[str]:
    """The function declarations a request offers the model."""
    return [d.get("name", "") for tool in body.get("tools") or [] if isinstance(tool, dict)
            for d in tool.get("functionDeclarations") or [] if isinstance(d, dict)]


class GeminiStub(StubServer):
    """The stub server; ``requests`` holds every turn's body, ``side_requests`` the rest."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.side_requests: list[dict[str, Any]] = []
        super().__init__()

    def handle(self, request: Request, reply: Reply) -> None:
        method = re.match(r"^/v1(?:beta|alpha)?/models/([^/:]+):(\w+)$", request.path)
        if not method:
            reply.json(404, {"error": {"code": 404, "message": f"no {request.path}", "status": "NOT_FOUND"}})
            return
        model, verb = method.groups()
        if verb == "countTokens":
            reply.json(200, {"totalTokens": 100})
        elif verb == "streamGenerateContent":
            with self.lock:
                self.requests.append(request.body)
            self.turn(request.body, model, reply)
        elif verb == "generateContent":
            with self.lock:
                self.side_requests.append(request.body)
            reply.json(200, self.chunk(model, [{"text": self.side_answer(request.body)}], "STOP"))
        else:
            reply.json(404, {"error": {"code": 404, "message": verb, "status": "NOT_FOUND"}})

    @staticmethod
    def side_answer(body: dict[str, Any]) -> str:
        """The CLI's own questions expect JSON (next speaker: the user, so the turn ends)."""
        config = body.get("generationConfig") or {}
        schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
        answer: dict[str, Any] = {}
        for key in schema.get("properties") or {}:
            answer[key] = "user" if key == "next_speaker" else "stub"
        return json.dumps(answer) if answer else "stub"

    @staticmethod
    def chunk(model: str, parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        usage = {"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 120}
        return {"candidates": [candidate], "modelVersion": model, "usageMetadata": usage}

    def turn(self, body: dict[str, Any], model: str, reply: Reply) -> None:
        prompt = user_prompt(body)
        turn = plan(prompt, after_tool_result(body))
        if turn.fail in _ERRORS and self.failing(prompt, turn):
            status, error = _ERRORS[turn.fail]
            reply.json(status, {"error": error})
            return
        reply.start_events()
        if turn.tool is None:
            for pause, word in words(turn.text, turn.duration):
                reply.event(self.chunk(model, [{"text": word}]), pause=pause)
            reply.event(self.chunk(model, [{"text": ""}], "STOP"))
            return
        call = self.function_call(body, turn)
        reply.event(self.chunk(model, [{"functionCall": call}], "STOP"), pause=turn.duration)

    @staticmethod
    def function_call(body: dict[str, Any], turn: Turn) -> dict[str, Any]:
        if turn.tool == "bash":
            return {"name": "run_shell_command", "args": {"command": turn.command, "description": "run it"}}
        # Gemini CLI 0.61 offers an MCP server's tool TOOL as ``mcp_SERVER_TOOL``
        return {"name": f"mcp_{MCP_SERVER}_{turn.command}", "args": turn.arguments or {}}

    def bodies_text(self) -> list[str]:
        """Each turn's body as JSON text (to look for delivered messages)."""
        with self.lock:
            return [json.dumps(b, ensure_ascii=False) for b in self.requests]
