"""The Claude backend: the real anthropic SDK against a local HTTP stub of the Messages API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from breakroom import corpus
from breakroom.config import KnowledgeConfig
from breakroom.embedding import load_embedder
from breakroom.knowledge import IDK, KnowledgeEngine
from breakroom.paths import CORPUS_DIR
from breakroom.store import open_db

QUESTION = "How many connections per IP does ngircd allow by default?"


class Stub:
    """A Messages API stub: records requests, answers according to ``mode``."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.answer_text = "ngircd allows 5 connections per IP by default; the template sets 0."
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                stub.headers.append(dict(self.headers))
                if self.path != "/v1/messages":
                    return self._send(404, {"type": "error", "error": {"type": "not_found_error",
                                                                      "message": self.path}})
                if stub.mode == "slow":
                    time.sleep(2.0)
                if stub.mode in ("529", "500"):
                    kind = "overloaded_error" if stub.mode == "529" else "api_error"
                    return self._send(int(stub.mode), {"type": "error",
                                                       "error": {"type": kind, "message": kind}})
                first = next(b for b in body["messages"][0]["content"] if b["type"] == "search_result")
                text = IDK if stub.mode == "idk" else stub.answer_text
                citations = [] if stub.mode == "idk" else [{
                    "type": "search_result_location", "source": first["source"],
                    "title": first["title"], "cited_text": first["content"][0]["text"],
                    "search_result_index": 0, "start_block_index": 0, "end_block_index": 1}]
                self._send(200, {
                    "id": "msg_stub", "type": "message", "role": "assistant", "model": body["model"],
                    "content": [{"type": "text", "text": text, "citations": citations},
                                {"type": "text", "text": "\nconfidence: 0.9"}],
                    "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": 100, "output_tokens": 20}})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (the timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def shipped_db(tmp_path_factory):
    db = open_db(tmp_path_factory.mktemp("claude") / "k.db")
    status = load_embedder()
    corpus.ingest(db, [CORPUS_DIR], status.embedder, dense_reason=status.reason)
    return db


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.close()


@pytest.fixture
def engine(shipped_db, stub, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-key")
    cfg = KnowledgeConfig(backend="auto", model="claude-test-model", timeout=0.5)
    return KnowledgeEngine(shipped_db, cfg, base_url=stub.url)


def test_auto_uses_claude_and_citations_become_sources(engine, stub):
    answer = engine.ask(f"[c1] {QUESTION}", "alice")
    assert answer.backend == "claude" and not answer.idk and answer.note == ""
    assert answer.text == stub.answer_text  # the stated-confidence line is stripped
    request = stub.requests[-1]
    cited = request["messages"][0]["content"][0]["source"]
    assert answer.sources == [cited]
    assert stub.headers[-1]["Authorization"] == "Bearer sk-test-key"
    assert request["model"] == "claude-test-model"
    assert request["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "one to three lines" in json.dumps(request["system"])  # voice guidelines from corpus
    results = [b for b in request["messages"][0]["content"] if b["type"] == "search_result"]
    assert results and all(b["citations"] == {"enabled": True} for b in results)
    assert request["messages"][0]["content"][-1] == {"type": "text", "text": QUESTION}
    assert "temperature" not in request


def test_confidence_combines_retrieval_and_stated(engine, stub):
    _, retrieval = engine.retrieve(QUESTION)
    answer = engine.ask(QUESTION)
    assert answer.confidence == pytest.approx(0.6 * retrieval + 0.4 * 0.9)


def test_model_saying_it_does_not_know_is_idk(engine, stub):
    stub.mode = "idk"
    answer = engine.ask(QUESTION)
    assert answer.idk and answer.text == IDK and answer.backend == "claude"


@pytest.mark.parametrize("mode, reason", [("529", "overloaded"), ("500", "error 500"),
                                          ("slow", "timed out")])
def test_api_failures_fall_back_to_offline_saying_so(engine, stub, mode, reason):
    stub.mode = mode
    started = time.monotonic()
    answer = engine.ask(QUESTION, "alice")
    assert answer.backend == "offline" and not answer.idk
    assert answer.note == f"claude unavailable ({reason}); offline answer"
    assert "MaxConnectionsIP" in answer.text
    assert stub.requests  # the API really was called
    assert time.monotonic() - started < 2.0  # no retries stacked on the timeout


def test_low_retrieval_confidence_never_calls_claude(engine, stub):
    answer = engine.ask("What is the recipe for sourdough bread?")
    assert answer.idk and stub.requests == []
