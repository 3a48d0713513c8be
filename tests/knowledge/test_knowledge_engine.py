"""The knowledge engine over the shipped corpus: answers, I-don't-know, records, IRC formatting."""

from __future__ import annotations

import pytest

from bots.replies import format_reply
from breakroom.config import KnowledgeConfig
from breakroom.irc.split import budget
from breakroom.knowledge import corpus
from breakroom.knowledge import engine as knowledge
from breakroom.knowledge.engine import Answer, KnowledgeEngine, get_answer
from breakroom.knowledge.retrieval import Evidence
from breakroom.record.db import open_db


@pytest.fixture
def engine(shipped_db):
    return KnowledgeEngine(shipped_db, KnowledgeConfig(backend="offline"))


def test_the_shipped_corpus_has_at_least_twenty_documents(shipped_db):
    assert corpus.stats(shipped_db).documents >= 20


def test_answerable_question_gets_answer_confidence_and_sources(engine):
    answer = engine.ask("[q7f3] how many connections per IP does ngircd allow by default?", "alice")
    assert not answer.idk
    assert answer.confidence >= engine.config.min_confidence
    assert answer.request_id == "q7f3" and answer.asker == "alice"
    assert answer.question.startswith("how many")
    assert "5" in answer.text and "MaxConnectionsIP" in answer.text
    assert any(s.startswith("reference/ircd.md#") for s in answer.sources)
    assert answer.backend == "offline" and answer.id is not None


def test_unanswerable_question_says_i_dont_know_with_nearest_sources(engine):
    answer = engine.ask("What is the recipe for sourdough bread?", "bob")
    assert answer.idk and answer.text == knowledge.IDK
    assert answer.confidence < engine.config.min_confidence
    assert answer.sources  # the nearest passages are still named


def test_empty_question_is_i_dont_know(engine):
    assert engine.ask("[abcd]   ", "bob").idk


def test_answers_are_recorded_and_readable_by_id(engine, shipped_db):
    answer = engine.ask("Is an Anthropic API key required?", "carol")
    for ref in (answer.id, f"k{answer.id}", str(answer.id)):
        stored = get_answer(shipped_db, ref)
        assert stored is not None
        assert (stored.text, stored.sources, stored.asker) == (answer.text, answer.sources, "carol")
        assert stored.confidence == pytest.approx(answer.confidence)
    assert get_answer(shipped_db, "nope") is None
    assert get_answer(shipped_db, 10**9) is None


def test_stats_count_latency_and_idk(tmp_path):
    db = open_db(tmp_path / "s.db")
    for i, (conf, idk) in enumerate([(0.9, False), (0.1, True), (0.5, False), (0.95, False)]):
        knowledge.record(db, Answer(f"q{i}", "a", conf, ["x.md"], "offline", idk=idk,
                                    asker=f"n{i % 2}", latency_ms=10.0 * (i + 1)))
    s = knowledge.stats(db)
    assert s.questions == 4 and s.idk == 1 and s.idk_rate == 0.25 and s.askers == 2
    assert s.latency_ms["p50"] == pytest.approx(25.0)
    assert dict(s.buckets) == {"0.0-0.2": 1, "0.2-0.4": 0, "0.4-0.6": 1, "0.6-0.8": 0, "0.8-1.0": 2}


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("section", ["confidence", "coverage"])
def test_confidence_and_coverage_grow_with_evidence(dense, section):
    model = knowledge.ModeModels.load(section)
    weak = model(Evidence(top_score=0.1, top_dense=0.1, dense_z=0.2, bm25_norm=0.05,
                          coverage=0.2, sentence_coverage=0.1, known=0.3), dense)
    strong = model(Evidence(top_score=0.8, margin=0.2, top_dense=0.75, dense_z=0.7,
                            dense_margin=0.2, bm25_norm=0.7, bm25_margin=0.3, agreement=1.0,
                            coverage=1.0, sentence_coverage=1.0, known=1.0), dense)
    assert 0 <= weak < 0.35 < 0.7 < strong <= 1


def test_split_request_id():
    assert knowledge.split_request_id("[q7f3] how?") == ("q7f3", "how?")
    assert knowledge.split_request_id("how [q7f3]?") == (None, "how [q7f3]?")
    assert knowledge.split_request_id("[not an id!] x") == (None, "[not an id!] x")


def _answer(text: str, **kw) -> Answer:
    base = {"question": "q", "text": text, "confidence": 0.82, "sources": ["posts/pricing.md#Cohorts"],
            "backend": "offline", "request_id": "q7f3", "id": 42}
    return Answer(**{**base, **kw})


def test_reply_format_carries_id_confidence_and_sources():
    (line,) = format_reply(_answer("We price by cohort."), "alice", "#breakroom")
    assert line == ("alice: [q7f3] (confidence 0.82) We price by cohort. "
                    "— sources: posts/pricing.md#Cohorts")


def test_idk_reply_names_nearest_sources():
    (line,) = format_reply(_answer(knowledge.IDK, idk=True, confidence=0.12, request_id=None),
                           "bob", "#breakroom")
    assert line.startswith("bob: (confidence 0.12) I don't know.")
    assert "nearest sources: posts/pricing.md#Cohorts" in line


@pytest.mark.parametrize("max_lines", [1, 2, 3])
def test_long_answer_fits_lines_on_utf8_boundaries_and_points_to_full_text(max_lines):
    text = "Prix par cohorte — été, hiver, 日本語のテキスト, ünïcödé. " * 60
    lines = format_reply(_answer(text), "alice", "#breakroom", max_lines=max_lines)
    assert 1 <= len(lines) <= max_lines
    for line in lines:
        assert len(line.encode("utf-8")) <= budget("#breakroom")
        line.encode("utf-8").decode("utf-8")  # whole characters only
    joined = " ".join(lines)
    assert "breakroom read k42" in joined and "sources: posts/pricing.md#Cohorts" in joined
    assert joined.startswith("alice: [q7f3] (confidence 0.82) Prix")


def test_extractive_answer_is_deduplicated_and_short(engine):
    result = engine.retrieve("why do we send Enter separately when delivering?").result
    text, sources = knowledge.extractive_answer("why Enter separately?", result.hits,
                                                engine.index.embedder)
    assert 0 < len(text) <= knowledge.ANSWER_CHARS + 2
    sentences = knowledge.sentences(text)
    assert len(sentences) == len(set(sentences))
    assert sources and set(sources) <= {h.anchor for h in result.hits}


def test_voice_guidelines_come_from_the_corpus(engine):
    assert "one to three lines" in engine.voice_guidelines()


def test_cli_knowledge_stats_and_show(tmp_path, cli):
    db = open_db(tmp_path / "data" / "breakroom.db")
    (tmp_path / "breakroom.yaml").write_text(f"data_dir: {tmp_path / 'data'}\n")
    knowledge.record(db, Answer("how do we price?", "By cohort.", 0.82, ["posts/pricing.md#Cohorts"],
                                "claude", asker="alice", request_id="q7f3", latency_ms=120.0))
    knowledge.record(db, Answer("sourdough?", knowledge.IDK, 0.05, ["faq.md"], "offline", idk=True,
                                asker="bob", latency_ms=20.0, coverage=0.12))
    stats = cli("knowledge", "stats")
    assert stats.returncode == 0, stats.stderr
    assert "questions    2 from 2 askers" in stats.stdout
    assert "I don't know 1 (50%)" in stats.stdout and "p50 70 ms" in stats.stdout
    show = cli("knowledge", "show", "k1")
    assert show.returncode == 0, show.stderr
    assert "answer:     By cohort." in show.stdout and "[q7f3]" in show.stdout
    assert "sources:    posts/pricing.md#Cohorts" in show.stdout
    assert "coverage:" not in show.stdout  # recorded without one (as v0.1 answers were)
    idk = cli("knowledge", "show", "k2")
    assert "confidence: 0.05  (I don't know)" in idk.stdout
    assert "coverage:   0.12  (the chance the corpus covers the question)" in idk.stdout


def test_cli_knowledge_stats_prints_the_verdicts_and_the_correction(tmp_path, cli):
    db = open_db(tmp_path / "data" / "breakroom.db")
    (tmp_path / "breakroom.yaml").write_text(f"data_dir: {tmp_path / 'data'}\n")
    answers = [knowledge.record(db, Answer(f"q{i}?", "a", 0.5, ["x.md"], "offline",
                                           model_confidence=0.5)) for i in range(30)]
    for answer in answers:
        knowledge.judge(db, answer.id, True, "alice")  # right far more often than 0.5 says
    knowledge.judge(db, answers[0].id, False, "shop (agent)")
    stats = cli("knowledge", "stats")
    assert stats.returncode == 0, stats.stderr
    assert ("calibration  from 30 answers judged (operators' !right / !wrong, 1 rejected by "
            "the agent they were typed into)") in stats.stdout
    assert "correction   +" in stats.stdout and "from 30 operators' verdicts" in stats.stdout


def test_every_answer_records_its_coverage(engine):
    """An "I don't know" says which floor it fell under: coverage or confidence."""
    question = "What is the recipe for sourdough bread?"
    found = engine.retrieve(question)
    answer = engine.ask(question)
    recorded = knowledge.get_answer(engine.db, answer.ref)
    assert recorded is not None and recorded.idk
    assert recorded.coverage == pytest.approx(found.covered) and recorded.coverage < 0.7
