"""The Claude backend: the real anthropic SDK against a local HTTP stub of the Messages API."""

from __future__ import annotations

import json

import pytest

from breakroom.config import KnowledgeConfig
from breakroom.knowledge.engine import IDK, KnowledgeEngine
from support.knowledge_stub import Stub

QUESTION = "How many connections per IP does ngircd allow by default?"


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
    retrieval = engine.retrieve(QUESTION).confidence
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
    answer = engine.ask(QUESTION, "alice")
    assert answer.backend == "offline" and not answer.idk
    assert answer.note == f"claude unavailable ({reason}); offline answer"
    assert "MaxConnectionsIP" in answer.text
    assert len(stub.requests) == 1  # the API really was called, once: no retries stacked on the timeout


def test_low_retrieval_confidence_never_calls_claude(engine, stub):
    answer = engine.ask("What is the recipe for sourdough bread?")
    assert answer.idk and stub.requests == []


def test_claude_without_a_key_falls_back_to_offline(shipped_db, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    engine = KnowledgeEngine(shipped_db, KnowledgeConfig(backend="claude"))
    answer = engine.ask(QUESTION)
    assert answer.backend == "offline" and answer.note.startswith("claude unavailable (")
    assert "MaxConnectionsIP" in answer.text
