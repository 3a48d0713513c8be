"""The knowledge evaluation itself, on a tiny built-in FAQ corpus (the full sets are in the bench:
``bench/knowledge_corpora.py setup`` downloads them, which no test may do)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from breakroom.config import KnowledgeConfig
from breakroom.knowledge.embedding import load_embedder
from breakroom.knowledge.engine import KnowledgeEngine

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import knowledge_corpora  # noqa: E402
import knowledge_eval  # noqa: E402

FAQ_DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "faqcorpus" / "docs"
QUESTIONS = ["How do I make the lighthouse lamp rotate faster?",
             "Why does the foghorn sound twice at dawn?",
             "Which oil does the lens mount need?",
             "Can I run two lamps from one generator?",
             "What about the backup battery?",
             "The lamp won't light after a storm"]  # a problem stated: a question too


@pytest.fixture
def corpora(tmp_path, monkeypatch):
    monkeypatch.setattr(knowledge_corpora, "ROOT", tmp_path / "corpora")
    knowledge_corpora.add("lighthouse", FAQ_DOCS, ["docs/faq.rst"], cap=100)
    return tmp_path / "corpora"


def test_faq_titles_become_questions_and_nested_ones_stand_alone():
    rest, faqs = knowledge_corpora.split_faq((FAQ_DOCS / "faq.rst").read_text(encoding="utf-8"))
    assert [q for q, _ in faqs] == QUESTIONS
    answers = dict(faqs)
    assert "backup battery" not in answers["Can I run two lamps from one generator?"]
    assert answers["What about the backup battery?"].startswith("The backup battery")
    assert "Glossary" in rest and "Troubleshooting" in rest  # not questions: kept as docs
    assert not any(q in rest for q in QUESTIONS)


def test_a_held_out_corpus_hides_each_answer_in_a_document_of_its_own(corpora):
    data = yaml.safe_load((corpora / "lighthouse" / "questions.yaml").read_text())
    assert data["held_out"] is True
    assert [a["q"] for a in data["answerable"]] == QUESTIONS
    assert len(data["unanswerable"]) == len(knowledge_corpora.OFF_TOPIC)
    gold = corpora / "lighthouse" / "docs" / data["answerable"][0]["source"]
    assert "turns per minute" in gold.read_text() and "rotate faster" not in gold.read_text()
    assert knowledge_corpora.held_out() == ["lighthouse"]
    assert knowledge_corpora.available() == []  # built-in sets are not built in tests


def test_each_off_topic_question_belongs_to_one_built_in_corpus():
    names = ["breakroom", *knowledge_corpora.SOURCES]
    shares = [knowledge_corpora.off_topic(n) for n in names]
    assert sum(len(s) for s in shares) == len(knowledge_corpora.OFF_TOPIC)
    assert len({q for s in shares for q in s}) == len(knowledge_corpora.OFF_TOPIC)


def test_the_bench_scores_like_the_engine_and_fits_leave_one_corpus_out(corpora, shipped_db):
    config = KnowledgeConfig(backend="offline")
    status = load_embedder()
    db, report = knowledge_corpora.index_db("lighthouse", status.embedder, status.reason)
    assert report.chunks > 0
    _, answerable, off_topic = knowledge_corpora.load("lighthouse")
    engine = KnowledgeEngine(db, config)
    rows = knowledge_eval.run("lighthouse", engine, answerable, off_topic[:20])
    for row in rows:  # the bench's "I don't know" is the engine's
        assert knowledge_eval.idk(row, config) == (not engine.knows(engine.retrieve(row.question)))
    figures = knowledge_eval.figures(rows, config)
    assert figures["hit@1"] >= (4 / 6 if status.embedder else 2 / 6)  # 6 questions, 13 documents
    assert figures["IDK on off-topic"] >= 0.9
    breakroom_questions, _ = knowledge_eval.load_questions()
    rows += knowledge_eval.run("breakroom", KnowledgeEngine(shipped_db, config),
                               breakroom_questions[:10], [])
    shipped = [r.confidence for r in rows]
    knowledge_eval.leave_one_corpus_out(rows, "hybrid" if engine.index.embedder else "bm25")
    assert all(0 <= r.confidence <= 1 and 0 <= r.covered <= 1 for r in rows)
    assert [r.confidence for r in rows] != shipped  # refitted on the other corpus alone


def test_markdown_faq_titles_become_questions_and_code_comments_do_not():
    text = ("# FAQ\n\nIntro.\n\n## Why spaces? I prefer tabs\n\nSpaces are the default.\n\n"
            "## Is it safe to use?\n\nYes, it checks the result.\n\n```sh\n# is this a title?\n"
            "run --check\n```\n\n## Which versions are supported?\n\nThe last five.\n")
    rest, faqs = knowledge_corpora.split_faq(text)
    assert [q for q, _ in faqs] == ["Is it safe to use?", "Which versions are supported?"]
    assert "# is this a title?" in dict(faqs)["Is it safe to use?"]
    assert "Why spaces? I prefer tabs" in rest and "The last five" not in rest


def test_sphinx_sources_and_markdown_keep_a_readable_suffix():
    assert knowledge_corpora._target("src/faq/design.rst.txt", "src") == Path("faq/design.rst")
    assert knowledge_corpora._target("docs/faq/general.txt", "docs") == Path("faq/general.rst")
    assert knowledge_corpora._target("docs/guide/usage.md", "docs") == Path("guide/usage.md")


POINTER_FAQ = """FAQ
===

How do I clean the lens?
------------------------

This is covered in the section :ref:`lens-care`.

Why is the tower white?
-----------------------

The tower is painted white so that ships can see it by day from twelve miles out. The
paint is renewed every spring by the keepers, who also read the :ref:`lens-care` notes and
the log book, and record the work with the date, the weather and the names of everyone who
helped, as the harbour board asks.

Where is the oil kept?
----------------------

In the store, as [the store guide](guide/store.md#oil-and-wicks) says.

Why is the lamp dim?
--------------------

Answer: See `How do I clean the lens?`_.
"""
CARE = "Care\n====\n\nIntro.\n\n.. _lens-care:\n\nLens care\n---------\n\nWipe it dry.\n"
STORE = "# Store\n\nIntro.\n\n## Oil and wicks\n\nOil is kept in the cold store.\n"


def test_an_answer_that_only_points_makes_the_section_it_names_right(tmp_path, monkeypatch):
    monkeypatch.setattr(knowledge_corpora, "ROOT", tmp_path / "corpora")
    monkeypatch.setattr(knowledge_corpora, "JUDGED", tmp_path / "judgments")
    docs = tmp_path / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "faq.rst").write_text(POINTER_FAQ)
    (docs / "guide" / "care.rst").write_text(CARE)
    (docs / "guide" / "store.md").write_text(STORE)
    knowledge_corpora.add("tower", docs, ["docs/faq.rst"], cap=100)
    _, (clean, white, oil, dim), _ = knowledge_corpora.load("tower")
    assert clean["also"] == [{"path": "guide/care.rst", "section": "Lens care"}]
    assert "also" not in white  # a long answer holds its answer; its link is further reading
    assert oil["also"] == [{"path": "guide/store.md", "section": "oil-and-wicks"}]
    right = knowledge_corpora.gold(clean)
    assert right(clean["source"]) and right("guide/care.rst#Care > Lens care")
    assert not right("guide/care.rst#Care")  # the page, not the section named
    assert not knowledge_corpora.gold(clean, strict=True)("guide/care.rst#Care > Lens care")
    assert knowledge_corpora.gold(oil)("guide/store.md#Store > Oil and wicks")
    assert dim["also"] == [{"path": clean["source"]}]  # another entry, named by its title

    (tmp_path / "judgments").mkdir()
    (tmp_path / "judgments" / "tower.yaml").write_text(yaml.safe_dump([
        {"q": white["q"], "source": "guide/care.rst#Care", "right": True, "why": "says it"},
        {"q": white["q"], "source": "guide/store.md#Store", "right": False, "why": "no"}]))
    judged = knowledge_corpora.judgments("tower")
    assert knowledge_corpora.gold(white, judged=judged)("guide/care.rst#Care")
    assert not knowledge_corpora.gold(white, judged=judged)("guide/store.md#Store")
    assert not knowledge_corpora.gold(clean, judged=judged)("guide/care.rst#Care")  # per question
    assert not knowledge_corpora.gold(white, strict=True, judged=judged)("guide/care.rst#Care")


def test_first_sources_neither_gold_nor_judged_are_listed_to_judge(corpora):
    status = load_embedder()
    db, _ = knowledge_corpora.index_db("lighthouse", status.embedder, status.reason)
    _, answerable, _ = knowledge_corpora.load("lighthouse")
    unjudged: list[dict] = []
    rows = knowledge_eval.run("lighthouse", KnowledgeEngine(db, KnowledgeConfig(
        backend="offline")), answerable, [], unjudged=unjudged)
    assert len(unjudged) == sum(1 for r in rows if not r.hit1)
    assert all(u["passage"] and u["source"] != u["gold"] for u in unjudged)


def test_the_ece_floor_is_what_a_calibrated_model_shows_and_it_shrinks_with_questions():
    rng = np.random.default_rng(1)
    few, many = rng.random(50), rng.random(5000)
    assert knowledge_eval.ece_floor(few, repeats=200) > 0.05 > knowledge_eval.ece_floor(
        many, repeats=20)
    overconfident = (rng.random(5000) < many / 2).astype(float)  # right half as often as said
    assert knowledge_eval.ece(many, overconfident) > 0.2 > knowledge_eval.ece_floor(many, 20)


def test_a_corpus_of_your_own_is_asked_your_questions_with_its_documents_whole(tmp_path,
                                                                               monkeypatch):
    monkeypatch.setattr(knowledge_corpora, "ROOT", tmp_path / "corpora")
    asked = tmp_path / "asked.yaml"
    asked.write_text(yaml.safe_dump({
        "answerable": [{"q": "How fast should the lamp turn?", "source": "faq.rst"}],
        "unanswerable": [{"q": "What colour is the keeper's boat?"}]}))
    knowledge_corpora.add("mine", FAQ_DOCS, [], cap=100, questions=asked)
    docs, answerable, unanswerable = knowledge_corpora.load("mine")
    assert (docs / "faq.rst").read_text() == (FAQ_DOCS / "faq.rst").read_text()  # not split
    assert answerable == [{"q": "How fast should the lamp turn?", "source": "faq.rst"}]
    assert unanswerable[0] == {"q": "What colour is the keeper's boat?"}
    assert len(unanswerable) == 1 + len(knowledge_corpora.OFF_TOPIC)
    assert knowledge_corpora.held_out() == ["mine"]
