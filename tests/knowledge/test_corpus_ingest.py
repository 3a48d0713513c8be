"""Corpus ingest, chunking, incremental re-ingest, bad files, and hostile search queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from breakroom.knowledge import corpus
from breakroom.knowledge.embedding import load_embedder
from breakroom.knowledge.retrieval import Index
from breakroom.record.db import open_db

EMBED = load_embedder()

TOPICS = ["pricing", "cohorts", "workshops", "deploys", "rollbacks", "invoices", "backups",
          "onboarding", "security reviews", "release notes", "incident drills", "hiring"]


def write_docs(root: Path) -> None:
    """Twelve small markdown documents (bm25 needs enough documents for IDF to mean anything)."""
    for i, topic in enumerate(TOPICS):
        (root / f"doc{i:02d}.md").write_text(
            f"---\ntitle: All about {topic}\ntags: [t{i}, shared]\ndate: 2026-01-{i + 1:02d}\n---\n\n"
            f"# {topic.title()}\n\nIntro paragraph about {topic} number {i}.\n\n"
            f"## Details\n\nThe {topic} policy was decided on day {i}. It applies to everyone.\n\n"
            f"### Exceptions\n\nNo exceptions for {topic} unless the lead agrees.\n",
            encoding="utf-8")


@pytest.fixture
def db(tmp_path):
    return open_db(tmp_path / "k.db")


def anchors(db) -> set[str]:
    return {a for (a,) in db.execute("SELECT anchor FROM corpus_chunks")}


def test_markdown_is_chunked_by_heading_path_with_front_matter(tmp_path, db):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    report = corpus.ingest(db, [root], EMBED.embedder)
    assert len(report.added) == 12 and not report.skipped
    assert "doc00.md#Details" in anchors(db)
    assert "doc00.md#Details > Exceptions" in anchors(db)
    title, tags, date = db.execute(
        "SELECT title, tags, date FROM corpus_docs WHERE path = 'doc03.md'").fetchone()
    assert (title, tags, date) == ("All about deploys", "t3,shared", "2026-01-04")
    stats = corpus.stats(db)
    assert stats.documents == 12 and stats.chunks == 36
    assert stats.vectors == (36 if EMBED.embedder else 0)


def test_rst_html_and_text_are_read(tmp_path, db):
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "guide.rst").write_text("Guide\n=====\n\nIntro.\n\nInstall\n-------\n\nRun the installer.\n")
    (root / "page.html").write_text(
        "<html><head><title>Page</title><script>var x = 'hidden';</script></head><body>"
        "<h1>Page</h1><p>Top text.</p><h2>Usage &amp; tips</h2><p>Use it <b>daily</b>.</p>"
        "</body></html>")
    (root / "notes.txt").write_text("Plain notes without headings.")
    corpus.ingest(db, [root], EMBED.embedder)
    found = anchors(db)
    assert {"guide.rst#Install", "page.html#Usage & tips", "notes.txt"} <= found
    texts = " ".join(t for (t,) in db.execute("SELECT text FROM corpus_chunks"))
    assert "Use it daily." in texts and "hidden" not in texts
    assert db.execute("SELECT title FROM corpus_docs WHERE path='page.html'").fetchone()[0] == "Page"


def test_long_sections_are_split_with_overlap():
    words = [f"w{i}" for i in range(500)]
    doc = corpus.Document("T", None, [], [(["Long"], " ".join(words))])
    chunks = corpus.chunk_document(doc, words=100, overlap=20)
    assert len(chunks) >= 5
    assert all(len(c.text.split()) <= 100 for c in chunks)
    first, second = chunks[0].text.split(), chunks[1].text.split()
    assert first[-20:] == second[:20]  # the overlap
    assert {w for c in chunks for w in c.text.split()} == set(words)  # nothing lost


def test_reingest_skips_unchanged_updates_changed_and_removes_deleted(tmp_path, db):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    corpus.ingest(db, [root], EMBED.embedder)
    again = corpus.ingest(db, [root], EMBED.embedder)
    assert again.unchanged == 12 and again.chunks == 0 and again.embedded == 0

    doc = root / "doc01.md"
    doc.write_text(doc.read_text().replace("No exceptions", "Two exceptions"))
    (root / "doc02.md").unlink()
    third = corpus.ingest(db, [root], EMBED.embedder)
    assert third.updated == ["doc01.md"] and third.removed == ["doc02.md"]
    assert third.unchanged == 10
    if EMBED.embedder:
        assert third.embedded == 1  # only the edited passage needed a new vector
    assert not any(a.startswith("doc02.md") for a in anchors(db))
    hits = Index(db, EMBED.embedder).search("workshops policy exceptions", 5).hits
    assert hits and all(h.path != "doc02.md" for h in hits)  # gone from FTS and vectors too
    texts = [t for (t,) in db.execute("SELECT text FROM corpus_chunks WHERE path='doc01.md'")]
    assert any("Two exceptions" in t for t in texts)
    orphans = db.execute("SELECT count(*) FROM corpus_vectors WHERE hash NOT IN "
                         "(SELECT hash FROM corpus_chunks)").fetchone()[0]
    assert orphans == 0


def test_bad_files_are_skipped_by_name_and_the_rest_ingested(tmp_path, db, monkeypatch):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    (root / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00garbage")
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    monkeypatch.setattr(corpus, "MAX_FILE_BYTES", 5000)
    (root / "huge.md").write_text("# Huge\n\n" + "word " * 2000)
    warnings: list[str] = []
    report = corpus.ingest(db, [root, tmp_path / "missing"], EMBED.embedder, warn=warnings.append)
    assert len(report.added) == 12
    joined = "\n".join(warnings)
    for name in ("binary.md", "latin1.txt", "huge.md", "missing"):
        assert name in joined
    assert "binary" in joined and "UTF-8" in joined and "too large" in joined
    assert not {p for (p,) in db.execute("SELECT path FROM corpus_docs")} & {
        "binary.md", "latin1.txt", "huge.md"}


def test_a_file_given_directly_is_keyed_by_its_name(tmp_path, db):
    path = tmp_path / "single.md"
    path.write_text("# Single\n\n## Part\n\nBody text.\n")
    corpus.ingest(db, [path], EMBED.embedder)
    assert anchors(db) == {"single.md#Part"}


@pytest.mark.parametrize("query", ['"', "?", "NEAR(", "*", "", "   ", "-", "AND OR NOT",
                                   "pricing\" OR \"x", "x" * 5000, "wörd ünïcode 日本語 ?!"])
def test_hostile_queries_never_raise(tmp_path, db, query):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    corpus.ingest(db, [root], EMBED.embedder)
    result = Index(db, EMBED.embedder).search(query, 3)
    assert len(result.hits) <= 3
    if not query.strip() or not any(ch.isalnum() for ch in query):
        assert result.hits == [] or not result.evidence.coverage


def test_bm25_alone_still_finds_passages(tmp_path, db):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    corpus.ingest(db, [root], None)
    assert corpus.stats(db).vectors == 0
    result = Index(db, None).search("what is the rollbacks policy?", 3)
    assert result.dense is False
    assert result.hits[0].path == "doc04.md"
    assert result.hits[0].dense == 0.0 and result.hits[0].bm25 > 0


@pytest.mark.skipif(EMBED.embedder is None, reason=EMBED.reason)
def test_vectors_added_when_the_embedder_becomes_available(tmp_path, db):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    corpus.ingest(db, [root], None)
    report = corpus.ingest(db, [root], EMBED.embedder)
    assert report.embedded == 36 and corpus.stats(db).vectors == 36


def test_cli_ingest_stats_search_and_knowledge_stats(tmp_path, cli):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    (root / "bad.md").write_bytes(b"\x00\x01\x02")
    (tmp_path / "breakroom.yaml").write_text(f"data_dir: {tmp_path / 'data'}\n")
    ingest = cli("corpus", "ingest", str(root))
    assert ingest.returncode == 0, ingest.stderr
    assert "added 12" in ingest.stdout and "skipped 1" in ingest.stdout
    assert "bad.md" in ingest.stderr and "Traceback" not in ingest.stderr
    stats = cli("corpus", "stats")
    assert "documents    12" in stats.stdout and "chunks       36" in stats.stdout
    assert ("hybrid" if EMBED.embedder else "bm25 only") in stats.stdout
    search = cli("corpus", "search", 'NEAR( "rollbacks" policy?* -')
    assert search.returncode == 0, search.stderr
    assert "doc04.md#" in search.stdout.splitlines()[1]
    empty = cli("knowledge", "stats")
    assert empty.returncode == 0 and "questions    0" in empty.stdout
    missing = cli("knowledge", "show", "k1")
    assert missing.returncode != 0 and "no knowledge answer k1" in missing.stderr


def test_cli_ingest_defaults_to_the_configured_corpus(tmp_path, cli):
    root = tmp_path / "kb"
    root.mkdir()
    write_docs(root)
    (tmp_path / "breakroom.yaml").write_text(
        f"data_dir: {tmp_path / 'data'}\nknowledge:\n  corpus: [kb]\n")
    result = cli("corpus", "ingest")
    assert result.returncode == 0 and "added 12" in result.stdout


def test_cli_without_onnxruntime_falls_back_to_bm25_and_says_so(tmp_path, cli):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "onnxruntime.py").write_text(
        "raise ImportError('blocked for this test', name='onnxruntime')\n")
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    (tmp_path / "breakroom.yaml").write_text(f"data_dir: {tmp_path / 'data'}\n")
    env = {"PYTHONPATH": str(blocker)}
    ingest = cli("corpus", "ingest", str(root), env=env)
    assert ingest.returncode == 0, ingest.stderr
    assert "retrieval: bm25 only: onnxruntime is not installed" in ingest.stdout
    stats = cli("corpus", "stats", env=env)
    assert "vectors      0" in stats.stdout and "bm25 only: onnxruntime" in stats.stdout
    search = cli("corpus", "search", "rollbacks policy", env=env)
    assert "(bm25 only)" in search.stdout and "doc04.md#" in search.stdout


def test_a_failure_mid_file_leaves_the_previous_version_intact(tmp_path, db, monkeypatch):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    corpus.ingest(db, [root], EMBED.embedder)
    before = db.execute("SELECT id, text FROM corpus_chunks WHERE path = 'doc01.md' "
                        "ORDER BY id").fetchall()
    doc = root / "doc01.md"
    doc.write_text(doc.read_text().replace("No exceptions", "Two exceptions"))
    calls = []

    def failing_anchor(path: str, heading: str) -> str:
        calls.append(heading)
        if len(calls) == 2:  # after the document row and the first passage were written
            raise RuntimeError("disk on fire")
        return f"{path}#{heading}"
    monkeypatch.setattr(corpus, "anchor", failing_anchor)
    with pytest.raises(RuntimeError):
        corpus.ingest(db, [root], EMBED.embedder)
    after = db.execute("SELECT id, text FROM corpus_chunks WHERE path = 'doc01.md' "
                       "ORDER BY id").fetchall()
    assert after == before
    assert db.execute("SELECT count(*) FROM corpus_docs WHERE path = 'doc01.md'").fetchone()[0] == 1


class _Killed(Exception):
    pass


def test_an_ingest_killed_half_way_continues_where_it_stopped(tmp_path, db, monkeypatch):
    root = tmp_path / "docs"
    root.mkdir()
    write_docs(root)
    monkeypatch.setattr(corpus, "EMBED_BATCH", 4)  # a batch: every two documents (3 passages each)
    seen: list[tuple[int, int, int]] = []

    def kill_half_way(done: int, total: int, passages: int) -> None:
        seen.append((done, total, passages))
        if done >= total // 2:
            raise _Killed

    with pytest.raises(_Killed):
        corpus.ingest(db, [root], EMBED.embedder, progress=kill_half_way)
    finished = {p for (p,) in db.execute("SELECT path FROM corpus_docs")}
    assert 0 < len(finished) < len(TOPICS)
    assert seen[-1][1] == len(TOPICS) and seen[-1][2] == 3 * len(finished)
    # every finished document is whole: its passages (and vectors) are all there
    for (path,) in db.execute("SELECT path FROM corpus_docs"):
        assert db.execute("SELECT count(*) FROM corpus_chunks WHERE path = ?", [path]
                          ).fetchone()[0] == 3
    again = corpus.ingest(db, [root], EMBED.embedder)
    assert again.unchanged == len(finished)
    assert sorted(again.added) == sorted(p.name for p in root.iterdir() if p.name not in finished)
    assert corpus.stats(db).chunks == 3 * len(TOPICS)
    if EMBED.embedder is not None:
        assert corpus.stats(db).vectors == 3 * len(TOPICS)
