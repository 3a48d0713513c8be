"""Retrieval: a cross-reference that quotes the question is never its answer."""

from __future__ import annotations

import pytest

from breakroom.knowledge import corpus
from breakroom.knowledge.embedding import load_embedder
from breakroom.knowledge.retrieval import Index, points_at
from breakroom.record.db import open_db

QUESTION = "MySQL is throwing deadlock errors, what can I do?"


@pytest.mark.parametrize(("text", "stub"), [
    ("Answer: See MySQL is throwing deadlock errors, what can I do?. Thanks to @someone.", True),
    ("Answer: See Why won't my Task run?, or MySQL is throwing deadlock errors, what can I do?.",
     True),
    ("see also: mysql is throwing deadlock errors what can i do", True),
    # quoted and then answered: an answer, however it starts
    ("See MySQL is throwing deadlock errors, what can I do? MySQL has its default isolation "
     "level set to REPEATABLE-READ; if you do not need that, set it to READ-COMMITTED in "
     "my.cnf under [mysqld] with transaction-isolation = READ-COMMITTED, then restart the "
     "server and the workers so the new isolation level applies.", False),
    ("Q: MySQL is throwing deadlock errors, what can I do? A: Use READ-COMMITTED.", False),
    ("See the MySQL section for deadlock errors.", False),  # not the question quoted
])
def test_a_stub_that_quotes_the_question_after_see_points_at_it(text, stub):
    assert points_at(QUESTION, text) is stub


def test_a_short_question_is_never_taken_for_a_quote():
    assert not points_at("Why so?", "See why so?")


def test_search_skips_a_cross_reference_for_the_answer_below_it(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "stub.md").write_text(f"# Results\n\nAnswer: See {QUESTION}\n")
    (docs / "mysql.md").write_text(
        "# Databases\n\nMySQL has its default isolation level set to REPEATABLE-READ; when "
        "workers hit deadlocks, set transaction-isolation to READ-COMMITTED in my.cnf.\n")
    for i, topic in enumerate(["queues", "brokers", "routing", "retries", "signals"]):
        (docs / f"d{i}.md").write_text(f"# {topic.title()}\n\nHow {topic} work in the worker.\n")
    db = open_db(tmp_path / "k.db")
    status = load_embedder()
    corpus.ingest(db, [docs], status.embedder)
    index = Index(db, status.embedder)
    found = index.search(QUESTION, 3)
    assert found.hits[0].path == "mysql.md"
    assert "stub.md" not in [h.path for h in found.hits]
    assert found.evidence.coverage < 1.0  # the evidence is the answer's, not the stub's
    assert index.search("Where do I find the results?", 3).hits  # the stub is still indexed
