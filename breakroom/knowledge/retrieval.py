"""Hybrid retrieval over the corpus: FTS5 bm25 and dense vectors, fused.

bm25 alone finds the right passage for a paraphrased question only a fraction of the time;
dense vectors catch paraphrases but miss rare exact terms (a config key, a command name).
Fusing both ranks better than either, and the scores they produce are also the evidence the
confidence model reads (see :class:`Evidence`).
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from breakroom.knowledge import corpus
from breakroom.knowledge.embedding import Embedder, from_blob
from breakroom.record.fts import content_tokens, match_query

if TYPE_CHECKING:
    import sqlite_utils

# Column weights for bm25(title, heading, text): a word in a heading says more than in a body.
BM25_WEIGHTS = (1.0, 2.0, 1.0)
# Fusion: fused = DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * bm25 / (bm25 + BM25_HALF).
# Saturating bm25 (instead of dividing by the query's best score) keeps an absolute scale, so
# a question that matches one common word does not look like a perfect lexical hit.  Chosen
# on five corpora (the default one and four foreign FAQ sets, bench/knowledge_corpora.py) for
# the best mean hit@1: 0.56 at 0.9 against 0.52 at 0.8 and 0.50 at 0.6; the column weights
# and BM25_HALF (2.5, 5, 10) move it by at most 0.02 (see docs/knowledge.md).
DENSE_WEIGHT = 0.9
BM25_HALF = 5.0  # the bm25 score that counts as half a lexical match
CANDIDATES = 50

Scores = npt.NDArray[np.float32]  # one score per passage, in the index's passage order
Positions = npt.NDArray[np.intp]  # passage positions in the index, best first


@dataclass
class Hit:
    chunk_id: int
    path: str
    anchor: str
    title: str
    heading: str
    text: str
    score: float  # fused
    bm25: float  # saturated bm25 in [0, 1) (0: no lexical match)
    dense: float  # cosine similarity (0 when dense retrieval is off)


@dataclass
class Evidence:
    """What retrieval knows about how good its best answer is; input to the confidence model.

    Every feature means the same on any corpus: scores are normalised (bm25 by what the
    question's terms could score at most, cosine against the corpus's own spread) rather than
    raw, so a model fitted on some corpora transfers to another.  ``known`` is the
    out-of-domain signal: a question about planets asked of a web framework's docs is full of
    words the corpus has never seen.
    """

    top_score: float = 0.0  # fused score of the best passage
    margin: float = 0.0  # best fused score minus the best passage from another document
    top_dense: float = 0.0  # cosine of the best passage (0 in bm25-only mode)
    dense_z: float = 0.0  # how far the best cosine stands above the corpus's cosines (/10)
    dense_margin: float = 0.0  # best cosine minus the best cosine of another document
    bm25_norm: float = 0.0  # best raw bm25 / the sum of the question terms' idf
    bm25_margin: float = 0.0  # best saturated bm25 minus the best of another document
    agreement: float = 0.0  # 1 when bm25 and dense put the same document first
    coverage: float = 0.0  # share of the question's content words in the best passage
    sentence_coverage: float = 0.0  # …in the best single sentence of it (what gets quoted)
    known: float = 0.0  # idf-weighted share of the question's words the corpus contains

    def vector(self, names: list[str] | None = None) -> list[float]:
        return [float(getattr(self, n)) for n in (names or FEATURES)]


FEATURES = ["top_score", "margin", "top_dense", "dense_z", "dense_margin", "bm25_norm",
            "bm25_margin", "agreement", "coverage", "sentence_coverage", "known"]
DENSE_FEATURES = {"top_dense", "dense_z", "dense_margin", "agreement"}


@dataclass
class SearchResult:
    hits: list[Hit]
    evidence: Evidence
    dense: bool  # whether dense vectors took part (an embedder, and vectors to search)


_WORD = re.compile(r"[^\W_]+")
# A cross-reference names another entry after "see": "Answer: See MySQL is throwing deadlock
# errors, what can I do?.", "see also: …".  The pointer word stands at most POINTER_REACH
# words before the question it quotes, and a stub holds at most POINTER_EXTRA words besides.
POINTER_WORDS = frozenset({"see", "cf"})
POINTER_REACH = 12
POINTER_EXTRA = 30


def points_at(question: str, text: str) -> bool:
    """Whether ``text`` only points at ``question`` elsewhere: it quotes the whole question
    after "see", in a few words.  Such a stub matches the question word for word on every
    score retrieval has (Celery's FAQ answered three of its questions with their own
    cross-references at 0.80-0.98) and answers nothing, so it is never an answer."""
    q = [w.lower() for w in _WORD.findall(question)]
    t = [w.lower() for w in _WORD.findall(text)]
    if len(q) < 3 or len(t) > len(q) + POINTER_EXTRA:
        return False
    return any(t[i:i + len(q)] == q and not POINTER_WORDS.isdisjoint(
        t[max(0, i - POINTER_REACH):i]) for i in range(len(t) - len(q) + 1))


def stem(word: str) -> str:
    """A crude stem so 'pricing' meets 'priced' when measuring coverage."""
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def coverage(question: str, passage: str) -> float:
    terms = {stem(t) for t in content_tokens(question)}
    if not terms:
        return 0.0
    words = {stem(t) for t in re.findall(r"[^\W_]+", passage.lower())}
    return sum(1 for t in terms if t in words) / len(terms)


_SENTENCE = re.compile(r"(?<=[.!?:])\s+")


def best_sentence_coverage(question: str, passage: str) -> float:
    return max((coverage(question, s) for s in _SENTENCE.split(passage)), default=0.0)


class Index:
    """Searches the corpus in one database; reloads its vector matrix when the corpus changes.

    Searches are serialised on a lock: a SQLite connection is one conversation.
    """

    def __init__(self, db: sqlite_utils.Database, embedder: Embedder | None,
                 dense_weight: float = DENSE_WEIGHT):
        self.db = db
        self.embedder = embedder
        self.dense_weight = dense_weight if embedder is not None else 0.0
        self._generation: tuple[int, int] | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._doc_ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, 384), dtype=np.float32)
        self._position: dict[int, int] = {}
        self._df_cache: dict[str, int] = {}  # passages holding each question term, this generation
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        gen = corpus.generation(self.db)
        if gen == self._generation:
            return
        model = self.embedder.model_id if self.embedder else ""
        rows = self.db.execute(
            "SELECT c.id, c.doc_id, v.vector FROM corpus_chunks c LEFT JOIN corpus_vectors v "
            "ON v.hash = c.hash AND v.model = ? ORDER BY c.id", [model]).fetchall()
        self._ids = np.array([r[0] for r in rows], dtype=np.int64)
        self._doc_ids = np.array([r[1] for r in rows], dtype=np.int64)
        matrix = np.zeros((len(rows), 384), dtype=np.float32)
        for i, row in enumerate(rows):
            if row[2] is not None:
                matrix[i] = from_blob(row[2])
        self._matrix = matrix
        self._position = {int(cid): i for i, cid in enumerate(self._ids)}
        self._df_cache = {}
        self._generation = gen

    def _df(self, terms: list[str]) -> dict[str, int]:
        """How many passages hold each term (FTS5 counts, so the index's own stemming applies)."""
        for term in terms:
            if term not in self._df_cache:
                self._df_cache[term] = self.db.execute(
                    "SELECT count(*) FROM corpus_chunks_fts WHERE corpus_chunks_fts MATCH ?",
                    [f'"{term}"']).fetchone()[0]
        return {term: self._df_cache[term] for term in terms}

    def _bm25(self, query: str) -> dict[int, float]:
        fts = match_query(query)
        if fts is None:
            return {}
        rows = self.db.execute(
            "SELECT rowid, bm25(corpus_chunks_fts, ?, ?, ?) FROM corpus_chunks_fts "
            "WHERE corpus_chunks_fts MATCH ? ORDER BY 2 LIMIT ?",
            [*BM25_WEIGHTS, fts, CANDIDATES]).fetchall()
        return {rowid: -score for rowid, score in rows}  # FTS5 bm25 is "lower is better"

    def search(self, query: str, k: int = 5) -> SearchResult:
        """The ``k`` best passages for ``query`` and the evidence about the best one."""
        with self._lock:
            self._refresh()
            query = (query or "")[:2000]
            lexical = self._bm25(query)
            raw_top = max(lexical.values(), default=0.0)
            n = len(self._ids)
            position = self._position
            bm25 = np.zeros(n, dtype=np.float32)
            for cid, score in lexical.items():
                if cid in position and score > 0:
                    bm25[position[cid]] = score / (score + BM25_HALF)
            dense = np.zeros(n, dtype=np.float32)
            if self.embedder is not None and n and query.strip():
                dense = self._matrix @ self.embedder.embed_one(query)
            fused = self.dense_weight * dense + (1 - self.dense_weight) * bm25
            if n == 0 or not fused.any():
                return SearchResult([], Evidence(), self.embedder is not None)
            order = np.argsort(-fused)
            hits = self._hits(order[: max(k, 1)], fused, bm25, dense)
            stubs = [h.chunk_id for h in hits if points_at(query, h.text)]
            if stubs:  # a cross-reference scores nothing: the answers below it move up
                gone = [position[c] for c in stubs]
                bm25[gone] = dense[gone] = 0.0
                raw_top = max((v for c, v in lexical.items() if c not in stubs), default=0.0)
                fused = self.dense_weight * dense + (1 - self.dense_weight) * bm25
                order = np.argsort(-fused)
                hits = self._hits(order[: max(k, 1)], fused, bm25, dense)
            if not hits:  # the passages were replaced by an ingest since the last refresh
                return SearchResult([], Evidence(), self.embedder is not None)
            evidence = self._evidence(query, order, fused, bm25, dense, hits[0], raw_top)
            return SearchResult(hits[:k], evidence, bool(dense.any()))

    def _hits(self, rows: Positions, fused: Scores, bm25: Scores, dense: Scores) -> list[Hit]:
        ids = [int(self._ids[i]) for i in rows]
        marks = ",".join("?" * len(ids))
        found = {r[0]: r for r in self.db.execute(
            "SELECT id, path, anchor, title, heading, text FROM corpus_chunks "
            f"WHERE id IN ({marks})", ids).fetchall()}
        return [Hit(cid, found[cid][1], found[cid][2], found[cid][3] or "", found[cid][4] or "",
                    found[cid][5], float(fused[i]), float(bm25[i]), float(dense[i]))
                for cid, i in zip(ids, rows, strict=True) if cid in found]

    def _runner_up(self, scores: Scores, top: int) -> float:
        """The best score of a passage from another document than passage ``top``'s."""
        other = self._doc_ids != self._doc_ids[top]
        return float(scores[other].max()) if other.any() else 0.0

    def _evidence(self, query: str, order: Positions, fused: Scores, bm25: Scores, dense: Scores,
                  best: Hit, raw_top: float) -> Evidence:
        top = int(order[0])
        evidence = Evidence(top_score=float(fused[top]),
                            margin=float(fused[top]) - self._runner_up(fused, top))
        if dense.any():
            dense_top = int(np.argmax(dense))
            spread = float(dense.std()) or 1.0
            evidence.top_dense = float(dense[top])
            evidence.dense_z = (float(dense[dense_top]) - float(dense.mean())) / spread / 10
            evidence.dense_margin = float(dense[dense_top]) - self._runner_up(dense, dense_top)
        if bm25.any():
            lexical_top = int(np.argmax(bm25))
            evidence.bm25_margin = float(bm25[lexical_top]) - self._runner_up(bm25, lexical_top)
            if dense.any():
                evidence.agreement = float(
                    self._doc_ids[lexical_top] == self._doc_ids[int(np.argmax(dense))])
        n = len(self._ids)
        df = self._df(content_tokens(query)[:32])
        # bm25_norm divides by what the terms could score, in FTS5's own idf (which is 0 for a
        # word in half the passages); `known` weighs words by a smoothed idf that stays
        # positive, so on a small corpus its common words still count as known.
        fts_idf = sum(max(math.log((n - d + 0.5) / (d + 0.5)), 1e-6) for d in df.values())
        if fts_idf:
            evidence.bm25_norm = raw_top / fts_idf
        smooth = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        if sum(smooth.values()):
            evidence.known = sum(w for t, w in smooth.items() if df[t]) / sum(smooth.values())
        text = f"{best.title} {best.heading} {best.text}"
        evidence.coverage = coverage(query, text)
        evidence.sentence_coverage = best_sentence_coverage(query, best.text)
        return evidence
