"""The knowledge proxy's engine: answer a question from the corpus with a calibrated confidence.

Retrieval (:mod:`breakroom.knowledge.retrieval`) finds passages; two small logistic models turn
the retrieval evidence into judgements that mean something on corpora nobody here wrote
(fitted and checked leave-one-corpus-out by ``bench/knowledge_eval.py``): the *confidence*
that the answer is right, and the *coverage*, the chance that the corpus answers the question
at all.  A backend writes the answer — extractive sentences offline, or Claude with
citations.  A question the corpus does not cover gets "I don't know" plus the nearest
sources.  Every question is recorded, so latency, the I-don't-know rate and calibration can
be watched.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from breakroom.config import KnowledgeConfig
from breakroom.knowledge.calibration import AGENT, Correction, corrected, fit_shift, operator_verdicts
from breakroom.knowledge.embedding import Embedder, EmbedderStatus, load_embedder
from breakroom.knowledge.retrieval import FEATURES, Evidence, Hit, Index, SearchResult, coverage
from breakroom.record.fts import content_tokens

if TYPE_CHECKING:  # the SDK itself loads only when the Claude backend is used
    import sqlite_utils
    from anthropic.types import SearchResultBlockParam, TextBlockParam

CONFIDENCE_FILE = Path(__file__).resolve().parents[1] / "data" / "knowledge-confidence.json"
IDK = "I don't know."
REQUEST_ID = re.compile(r"^\s*\[([A-Za-z0-9_-]{1,16})\]\s*")
PASSAGES = 5  # passages retrieved per question (and given to Claude)
TOPIC_WORDS = 3  # content words from which a question names its own topic (retrieve_asked)
ANSWER_CHARS = 600  # an extractive answer: about two IRC lines of text
# Extractive answers use passages scoring at least PASSAGE_KEEP of the best one, and
# sentences scoring at least SENTENCE_KEEP of the best sentence, at most MAX_SENTENCES.
# Tuned on bench/questions.yaml: key fact in the answer 0.78 at 0.7, 0.87 at 0.5 (mean
# answer 196 -> 277 characters); lower keeps adding length, not facts.
PASSAGE_KEEP = 0.75
SENTENCE_KEEP = 0.5
MAX_SENTENCES = 3


# ---------------------------------------------------------------- records

@dataclass
class Answer:
    question: str
    text: str
    confidence: float
    sources: list[str]
    backend: str  # what wrote the answer: offline | claude | session:NAME
    idk: bool = False
    note: str = ""  # e.g. "claude unavailable (overloaded); offline answer"
    request_id: str | None = None
    asker: str | None = None
    coverage: float | None = None  # the chance the corpus covers the question (None: not known)
    model_confidence: float | None = None  # the model's, before the per-corpus correction
    latency_ms: float = 0.0
    retrieval_ms: float = 0.0
    id: int | None = None
    created: float = field(default_factory=time.time)

    @property
    def ref(self) -> str:
        """How ``breakroom read`` names this answer."""
        return f"k{self.id}"


def record(db: sqlite_utils.Database, answer: Answer) -> Answer:
    """Store ``answer`` and give it its id."""
    cur = db.execute(
        "INSERT INTO knowledge_answers (created, asker, request_id, question, answer, idk, "
        "confidence, coverage, sources, backend, note, latency_ms, retrieval_ms, "
        "model_confidence) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [answer.created, answer.asker, answer.request_id, answer.question, answer.text,
         int(answer.idk), answer.confidence, answer.coverage, json.dumps(answer.sources),
         answer.backend, answer.note, answer.latency_ms, answer.retrieval_ms,
         answer.model_confidence])
    answer.id = cur.lastrowid
    return answer


def get_answer(db: sqlite_utils.Database, answer_id: int | str) -> Answer | None:
    """A recorded answer in full, by id (``42`` or ``"k42"``), or None."""
    text = str(answer_id).lower().removeprefix("k")
    if not text.isdigit():
        return None
    row = db.execute(
        "SELECT id, created, asker, request_id, question, answer, idk, confidence, sources, "
        "backend, note, latency_ms, retrieval_ms, coverage FROM knowledge_answers WHERE id = ?",
        [int(text)]).fetchone()
    if row is None:
        return None
    return Answer(id=row[0], created=row[1], asker=row[2], request_id=row[3], question=row[4],
                  text=row[5], idk=bool(row[6]), confidence=row[7], sources=json.loads(row[8]),
                  backend=row[9], note=row[10] or "", latency_ms=row[11] or 0.0,
                  retrieval_ms=row[12] or 0.0, coverage=row[13])


def judge(db: sqlite_utils.Database, answer_id: int | str, right: bool, judge_nick: str,
          now: float | None = None) -> Answer | None:
    """Record that ``answer_id`` was right or wrong; the answer, or None if there is none."""
    answer = get_answer(db, answer_id)
    if answer is None or answer.idk:
        return None
    db.execute("INSERT INTO knowledge_feedback (answer_id, created, judge, right) "
               "VALUES (?,?,?,?)", [answer.id, time.time() if now is None else now,
                                    judge_nick, int(right)])
    return answer


def split_request_id(text: str) -> tuple[str | None, str]:
    """``"[q7f3] how do we price?"`` -> ``("q7f3", "how do we price?")``."""
    match = REQUEST_ID.match(text or "")
    if not match:
        return None, (text or "").strip()
    return match.group(1), text[match.end():].strip()


# ---------------------------------------------------------------- confidence

@dataclass(frozen=True)
class Logistic:
    """One logistic regression over named evidence features."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def __call__(self, evidence: Evidence) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, evidence.vector(
            list(self.features)), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class ModeModels:
    """One logistic model per retrieval mode, read from one section of the data file.

    Hybrid and bm25-only retrieval produce different evidence (no cosine without an
    embedder), so each mode has its own model, fitted by ``bench/knowledge_eval.py --fit`` on
    several corpora written by others.  The file holds two sections: ``confidence`` (is the
    answer right?) and ``coverage`` (does the corpus answer this at all?).
    """

    hybrid: Logistic
    bm25: Logistic

    @classmethod
    def load(cls, section: str, path: Path = CONFIDENCE_FILE) -> ModeModels:
        data = json.loads(path.read_text(encoding="utf-8"))
        models = {}
        for mode in ("hybrid", "bm25"):
            spec = data[section][mode]
            where = f"{path}: {section} model for {mode}"
            unknown = set(spec["features"]) - set(FEATURES)
            if unknown:
                raise ValueError(f"{where} uses unknown features {sorted(unknown)}")
            if len(spec["weights"]) != len(spec["features"]):
                raise ValueError(f"{where} has {len(spec['weights'])} weights "
                                 f"for {len(spec['features'])} features")
            models[mode] = Logistic(tuple(spec["features"]),
                                    tuple(float(w) for w in spec["weights"]), float(spec["bias"]))
        return cls(**models)

    def __call__(self, evidence: Evidence, dense: bool = True) -> float:
        return (self.hybrid if dense else self.bm25)(evidence)


class Retrieved(NamedTuple):
    """What retrieval found for a question, and the two calibrated judgements of it."""

    result: SearchResult
    confidence: float  # probability that the answer (its first source) is right
    covered: float  # probability that the corpus answers the question at all
    model_confidence: float = 0.0  # the confidence before the per-corpus correction


# ---------------------------------------------------------------- offline backend

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(\[])")
# A sentence that starts like this is whole; a passage cut by the chunker's overlap window
# starts mid-sentence ("…and the worker retries it."), which an answer must never quote.
_SENTENCE_START = re.compile(r"^(?:[A-Z0-9`\"'(\[]|- )")


def sentences(text: str) -> list[str]:
    """The whole sentences of ``text``: a leading fragment is dropped."""
    parts = [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 2]
    if parts and not _SENTENCE_START.match(parts[0]):
        parts = parts[1:]
    return parts


def _similar(a: str, b: str) -> bool:
    ta, tb = set(content_tokens(a)), set(content_tokens(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) > 0.6


def extractive_answer(question: str, hits: list[Hit], embedder: Embedder | None,
                      max_chars: int = ANSWER_CHARS) -> tuple[str, list[str]]:
    """The best sentences of the top passages, deduplicated, in reading order; and their sources.

    A sentence scores by meaning (cosine to the question), by the question words it contains,
    and by the rank of its passage; passages far below the best one are not used.
    """
    if not hits:
        return "", []
    pool = [(rank, pos, s) for rank, hit in enumerate(hits[:3])
            if hit.score >= PASSAGE_KEEP * hits[0].score
            for pos, s in enumerate(sentences(hit.text))]
    if not pool:
        return hits[0].text[:max_chars], [hits[0].anchor]
    meaning = np.zeros(len(pool), dtype=np.float32)
    if embedder is not None:
        meaning = embedder.embed([s for _, _, s in pool]) @ embedder.embed_one(question)
    scores = [0.5 * float(meaning[i]) + 0.5 * coverage(question, s) + (0.1 if rank == 0 else 0.0)
              - 0.05 * rank for i, (rank, _, s) in enumerate(pool)]
    ranked = sorted(range(len(pool)), key=lambda i: -scores[i])
    chosen: list[int] = []
    used = 0
    for i in ranked:
        text = pool[i][2]
        too_weak = chosen and scores[i] < SENTENCE_KEEP * scores[chosen[0]]
        if too_weak or (chosen and used + len(text) + 1 > max_chars):
            continue
        if any(_similar(text, pool[j][2]) for j in chosen):
            continue
        chosen.append(i)
        used += len(text) + 1
        if len(chosen) == MAX_SENTENCES:
            break
    chosen.sort(key=lambda i: (pool[i][0], pool[i][1]))
    text = " ".join(pool[i][2] for i in chosen)
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + " …"
    sources = list(dict.fromkeys(hits[pool[i][0]].anchor for i in chosen))
    return text, sources


# ---------------------------------------------------------------- Claude backend

class BackendUnavailable(Exception):
    """The backend could not answer (API error, timeout, overload); the caller falls back."""


SYSTEM_PROMPT = """You are `knowledge`, the knowledge proxy of an IRC breakroom where AI agent \
sessions and humans work together. Answer the question only from the search results you are \
given, citing them. Answer in one to three short sentences of plain text (no markdown, no \
lists): it is sent as at most three IRC lines. If the search results do not answer the \
question, reply exactly "I don't know." On the last line write "confidence: N" where N is \
between 0 and 1 and says how well the results support your answer."""

_STATED = re.compile(r"\n?\s*confidence:\s*([01](?:\.\d+)?)\s*$", re.I)


class ClaudeBackend:
    """Writes answers with the Anthropic Messages API, citing retrieved passages."""

    def __init__(self, model: str, timeout: float, voice: str = "",
                 api_key: str | None = None, base_url: str | None = None):
        import anthropic

        self.model = model
        self.voice = voice
        self._errors = anthropic.AnthropicError  # API, connection and timeout errors alike
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url,
                                           timeout=timeout, max_retries=0)
        if not (self._client.api_key or self._client.auth_token):  # backend: claude, no key
            raise BackendUnavailable("no ANTHROPIC_API_KEY")

    def answer(self, question: str, hits: list[Hit]) -> tuple[str, list[str], float | None]:
        """(text, cited sources, the model's stated confidence or None)."""
        system: list[TextBlockParam] = [{"type": "text", "text": SYSTEM_PROMPT}]
        if self.voice:
            system.append({"type": "text", "text": "Voice guidelines for channel messages:\n"
                                                   + self.voice})
        system[-1]["cache_control"] = {"type": "ephemeral"}  # stable prefix: cache it
        content: list[SearchResultBlockParam | TextBlockParam] = [
            {"type": "search_result", "source": hit.anchor, "title": hit.title or hit.path,
             "content": [{"type": "text", "text": hit.text}], "citations": {"enabled": True}}
            for hit in hits]
        content.append({"type": "text", "text": question})
        try:
            response = self._client.messages.create(
                model=self.model, max_tokens=400, system=system,
                messages=[{"role": "user", "content": content}])
        except self._errors as exc:
            raise BackendUnavailable(_describe(exc)) from exc
        parts: list[str] = []
        cited: list[str] = []
        for block in response.content:
            if block.type != "text":
                continue
            parts.append(block.text)
            for citation in getattr(block, "citations", None) or []:
                source = getattr(citation, "source", None)
                if source:
                    cited.append(source)
        text = "".join(parts).strip()
        stated = None
        match = _STATED.search(text)
        if match:
            stated = float(match.group(1))
            text = text[:match.start()].strip()
        if not text:
            raise BackendUnavailable("empty answer")
        return " ".join(text.split()), list(dict.fromkeys(cited)), stated


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if status == 529 or name == "OverloadedError":
        return "overloaded"
    if name == "APITimeoutError":
        return "timed out"
    if status:
        return f"error {status}"
    return name


# ---------------------------------------------------------------- engine

# Writes an answer from the question and its retrieval (text, sources); raises
# BackendUnavailable when it cannot.
Writer = Callable[[str, SearchResult], tuple[str, list[str]]]


def resolve_backend(setting: str) -> str:
    """``auto`` becomes ``claude`` when ANTHROPIC_API_KEY is set, else ``offline``."""
    if setting == "auto":
        return "claude" if os.environ.get("ANTHROPIC_API_KEY") else "offline"
    return setting


class KnowledgeEngine:
    """Answers questions from the corpus in ``db``; safe to call from several threads.

    Database work (retrieval, recording) is serialised on one lock because a SQLite
    connection is one conversation; the slow part — a Claude call — runs outside it, so a
    slow answer never blocks other askers.
    """

    def __init__(self, db: sqlite_utils.Database, config: KnowledgeConfig,
                 embedder: EmbedderStatus | None = None, base_url: str | None = None):
        self.db = db
        self.config = config
        self.embedder_status = embedder or load_embedder()
        self.index = Index(db, self.embedder_status.embedder)
        self.confidence = ModeModels.load("confidence")
        self.coverage = ModeModels.load("coverage")
        self.correction = Correction(db)
        self.backend = resolve_backend(config.backend)
        self._base_url = base_url
        self._claude: ClaudeBackend | None = None
        self._lock = threading.RLock()

    def retrieve(self, question: str) -> Retrieved:
        """Passages and evidence for ``question``, the confidence and the coverage."""
        with self._lock:
            result = self.index.search(question, PASSAGES)
            shift = self.correction.refresh()
        if not result.hits:
            return Retrieved(result, 0.0, 0.0)
        confidence = self.confidence(result.evidence, result.dense)
        return Retrieved(result, corrected(confidence, shift),
                         self.coverage(result.evidence, result.dense), confidence)

    def retrieve_asked(self, question: str, context: str = "") -> Retrieved:
        """Retrieval for a question asked inside a longer message.

        A question that names its topic (``TOPIC_WORDS`` content words or more) is asked
        alone: a lead-in ("I looked into it. Before I go on:") then never lowers its
        confidence, nor lifts it — the bench measured that a lead-in's words, used whenever
        they raised the confidence, lifted wrong answers over the sweep's threshold
        (docs/knowledge.md).  A question that does not ("What is the limit?") is also asked
        after its ``context``, kept when that is more certain."""
        found = self.retrieve(question)
        if not context.strip() or len(set(content_tokens(question))) >= TOPIC_WORDS:
            return found
        with_context = self.retrieve(f"{context} {question}")
        return with_context if with_context.confidence > found.confidence else found

    def knows(self, found: Retrieved) -> bool:
        """Whether to answer at all: "I don't know" is for questions the corpus does not
        cover (``knowledge.min_coverage``), or whose best answer is almost surely wrong
        (``knowledge.min_confidence``).  A covered question answered with low confidence is
        still answered, saying so: the confidence is what a reader (and the sweep) weighs."""
        return (found.covered >= self.config.min_coverage
                and found.confidence >= self.config.min_confidence)

    def judge(self, answer_id: str, right: bool, judge_nick: str) -> Answer | None:
        """Record an operator's verdict on a recorded answer (see :func:`judge`)."""
        with self._lock:
            return judge(self.db, answer_id, right, judge_nick)

    def ask(self, text: str, asker: str | None = None, writer: Writer | None = None,
            context: str = "") -> Answer:
        """Answer ``text`` (which may start with a ``[request-id]``) and record it.

        ``writer`` writes the answer for the ``session:NAME`` backend (the running bot
        relays the question to that session); without one that backend answers offline.
        ``context``: what the asker said around the question (see :meth:`retrieve_asked`).
        """
        started = time.perf_counter()
        request_id, question = split_request_id(text)
        found = self.retrieve_asked(question, context)
        retrieval_ms = (time.perf_counter() - started) * 1000
        answer = self._compose(question, found, writer)
        answer.request_id, answer.asker, answer.coverage = request_id, asker, found.covered
        answer.model_confidence = found.model_confidence
        answer.retrieval_ms = retrieval_ms
        answer.latency_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            return record(self.db, answer)

    def _compose(self, question: str, found: Retrieved, writer: Writer | None) -> Answer:
        result, confidence = found.result, found.confidence
        nearest = list(dict.fromkeys(h.anchor for h in result.hits[:3]))
        if not question.strip() or not self.knows(found):
            return Answer(question, IDK, confidence, nearest, "offline", idk=True)
        note = ""
        if self.backend == "claude":
            try:
                return self._claude_answer(question, found)
            except BackendUnavailable as exc:
                note = f"claude unavailable ({exc}); offline answer"
        elif self.backend.startswith("session:"):
            name = self.backend.split(":", 1)[1]
            try:
                if writer is None:
                    raise BackendUnavailable("needs the running breakroom")
                text, sources = writer(question, result)
                return Answer(question, text, confidence, sources or nearest, self.backend)
            except BackendUnavailable as exc:
                note = f"session {name} unavailable ({exc}); offline answer"
        text, sources = extractive_answer(question, result.hits, self.index.embedder)
        return Answer(question, text, confidence, sources, "offline", note=note)

    def _claude_answer(self, question: str, found: Retrieved) -> Answer:
        result, confidence = found.result, found.confidence
        if self._claude is None:
            self._claude = ClaudeBackend(self.config.model, self.config.timeout,
                                         voice=self.voice_guidelines(), base_url=self._base_url)
        text, cited, stated = self._claude.answer(question, result.hits)
        if stated is not None:  # the model's word counts, but never alone
            confidence = 0.6 * confidence + 0.4 * stated
        if text.lower().startswith("i don't know") or not self.knows(
                found._replace(confidence=confidence)):
            nearest = list(dict.fromkeys(h.anchor for h in result.hits[:3]))
            return Answer(question, IDK, confidence, nearest, "claude", idk=True)
        return Answer(question, text, confidence, cited or [result.hits[0].anchor], "claude")

    def voice_guidelines(self, max_chars: int = 4000) -> str:
        """The corpus's voice guidelines (any document with 'voice' in its path), if present."""
        with self._lock:
            rows = self.db.execute(
                "SELECT text FROM corpus_chunks WHERE path LIKE '%voice%' ORDER BY path, ordinal"
            ).fetchall()
        return "\n\n".join(r[0] for r in rows)[:max_chars]


# ---------------------------------------------------------------- stats

@dataclass
class KnowledgeStats:
    questions: int
    idk: int
    by_backend: dict[str, int]
    fallbacks: int
    latency_ms: dict[str, float]  # p50, p90, p99
    buckets: list[tuple[str, int]]  # ("0.0-0.2", count)…
    askers: int
    # Live calibration from operators' verdicts: (range, judged, mean confidence, right share)
    calibration: list[tuple[str, int, float, float]] = field(default_factory=list)
    judged: int = 0
    agent_rejections: int = 0  # of the judged answers, those an agent's reply rejected
    correction: float = 0.0  # the per-corpus log-odds shift operators' verdicts fit
    corrected_from: int = 0  # …from this many operators' verdicts

    @property
    def idk_rate(self) -> float:
        return self.idk / self.questions if self.questions else 0.0


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def stats(db: sqlite_utils.Database, since: float | None = None) -> KnowledgeStats:
    rows = db.execute(
        "SELECT idk, confidence, backend, note, latency_ms, asker FROM knowledge_answers "
        "WHERE created >= ?", [since or 0]).fetchall()
    latencies = [r[4] or 0.0 for r in rows]
    by_backend: dict[str, int] = {}
    for r in rows:
        by_backend[r[2]] = by_backend.get(r[2], 0) + 1
    edges = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    buckets = [(f"{lo:.1f}-{hi:.1f}",
                sum(1 for r in rows if lo <= r[1] < hi or (hi == 1.0 and r[1] == 1.0)))
               for lo, hi in itertools.pairwise(edges)]
    verdicts = db.execute(
        "SELECT a.confidence, f.right, f.judge FROM knowledge_feedback f "
        "JOIN knowledge_answers a ON a.id = f.answer_id WHERE a.created >= ? AND f.id = "
        "(SELECT max(id) FROM knowledge_feedback g WHERE g.answer_id = f.answer_id)",
        [since or 0]).fetchall()
    operators = operator_verdicts(db)
    calibration = []
    for lo, hi in itertools.pairwise(edges):
        inside = [(c, r) for c, r, _ in verdicts if lo <= c < hi or (hi == 1.0 and c == 1.0)]
        if inside:
            calibration.append((f"{lo:.1f}-{hi:.1f}", len(inside),
                                sum(c for c, _ in inside) / len(inside),
                                sum(r for _, r in inside) / len(inside)))
    return KnowledgeStats(
        questions=len(rows), idk=sum(1 for r in rows if r[0]), by_backend=by_backend,
        fallbacks=sum(1 for r in rows if r[3]),
        latency_ms={f"p{q}": percentile(latencies, q) for q in (50, 90, 99)},
        buckets=buckets, askers=len({r[5] for r in rows if r[5]}),
        calibration=calibration, judged=len(verdicts),
        agent_rejections=sum(1 for *_, judge_nick in verdicts if judge_nick.endswith(AGENT)),
        correction=fit_shift(operators), corrected_from=len(operators))
