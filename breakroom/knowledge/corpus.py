"""The knowledge corpus: read documents, chunk them by heading, store passages in SQLite.

A passage keeps its heading path (``posts/pricing.md#Workshops > Cohorts``) so an answer can
name exactly where it came from.  Ingest is incremental: a file whose bytes are unchanged is
skipped by hash, a file that vanished from an ingested directory is removed, and each file is
replaced inside its own transaction, so a crash or a bad file never leaves a half-built index.
Vectors are cached by passage hash: re-chunking an edited file re-embeds only what changed.
"""

from __future__ import annotations

import hashlib
import html.parser
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from breakroom.config import Config
from breakroom.knowledge.embedding import Embedder, Vector, Vectors, to_blob
from breakroom.knowledge.markup import markdown_to_text, rst_to_text
from breakroom.paths import CORPUS_DIR
from breakroom.record.db import atomic

if TYPE_CHECKING:
    import sqlite_utils

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".rst": "rst",
            ".html": "html", ".htm": "html"}
MAX_FILE_BYTES = 2_000_000  # larger files are skipped with a warning: not prose, or not ours
CHUNK_WORDS = 180  # a passage: a few hundred tokens, well inside the model's 256-token window
OVERLAP_WORDS = 40
FTS_COLUMNS = ["title", "heading", "text"]

Warn = Callable[[str], None]
Section = tuple[list[str], str]  # (heading path, body text)
Line = tuple[int, str] | str  # a heading as (level, text), or any other line


# ---------------------------------------------------------------- schema

def generation(db: sqlite_utils.Database) -> tuple[int, int]:
    """Changes whenever passages change, so an in-memory index knows to reload."""
    row = db.execute("SELECT count(*), coalesce(max(id), 0) FROM corpus_chunks").fetchone()
    last = db.execute("SELECT coalesce(max(id), 0) FROM corpus_ingests").fetchone()[0]
    return (row[0] * 1_000_003 + row[1], last)


# ---------------------------------------------------------------- reading

@dataclass
class Document:
    title: str | None
    date: str | None
    tags: list[str]
    sections: list[Section]


class BadFile(Exception):
    """A file that cannot be ingested (binary, undecodable, huge); the message says why."""


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*(?:\n|\Z)", re.S)


def read_document(path: Path) -> Document:
    """Parse a markdown / text / reStructuredText / HTML file into heading-scoped sections."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise BadFile(f"too large ({len(data)} bytes > {MAX_FILE_BYTES})")
    if b"\x00" in data[:8192]:
        raise BadFile("binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta: dict[str, Any] = {}  # front matter is whatever YAML the author wrote
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
            meta = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError:
            meta = {}
        text = text[match.end():]
    kind = SUFFIXES.get(path.suffix.lower(), "text")
    if kind == "html":
        title, sections = _html_sections(text)
    elif kind == "rst":
        title, sections = _clean(_heading_sections(_rst_lines(text.split("\n"))), rst_to_text)
    elif kind == "markdown":
        title, sections = _clean(_heading_sections(_markdown_lines(text.split("\n"))),
                                 markdown_to_text)
    else:
        title, sections = None, [([], text)]
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    return Document(
        title=str(meta.get("title") or title or path.stem.replace("-", " ").replace("_", " ")),
        date=str(meta["date"]) if meta.get("date") else None,
        tags=[str(t) for t in tags],
        sections=[(h, b.strip()) for h, b in sections if b.strip()],
    )


def _clean(parsed: tuple[str | None, list[Section]], to_text: Callable[[str], str]
           ) -> tuple[str | None, list[Section]]:
    """Title, headings and bodies with their markup removed (see :mod:`.markup`)."""
    title, sections = parsed
    return ((to_text(title).strip() if title else title),
            [([to_text(h).strip() for h in path], to_text(body)) for path, body in sections])


def _markdown_lines(lines: list[str]) -> list[Line]:
    """Headings as (level, text) and every other line as a string; fenced code is body."""
    out: list[Line] = []
    fenced = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            out.append(line)
            continue
        m = None if fenced else re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        out.append((len(m.group(1)), m.group(2)) if m else line)
    return out


_RST_ADORN = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")


def _rst_lines(lines: list[str]) -> list[Line]:
    """reStructuredText titles: a line underlined by ``===``/``---``…; levels by first use."""
    levels: dict[str, int] = {}
    out: list[Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and not _RST_ADORN.match(line) and _RST_ADORN.match(nxt) \
                and len(nxt.strip()) >= len(line.strip()):
            level = levels.setdefault(nxt.strip()[0], len(levels) + 1)
            out.append((level, line.strip()))
            i += 2
            continue
        if _RST_ADORN.match(line) and i + 2 < len(lines) and _RST_ADORN.match(lines[i + 2]):
            level = levels.setdefault("over" + line.strip()[0], len(levels) + 1)
            out.append((level, lines[i + 1].strip()))  # overlined title
            i += 3
            continue
        out.append(line)
        i += 1
    return out


def _heading_sections(items: list[Line]) -> tuple[str | None, list[Section]]:
    """Group lines under their heading path; a single top-level heading becomes the title."""
    title = None
    path: list[tuple[int, str]] = []
    sections: list[Section] = []
    body: list[str] = []
    top = [h for h in items if isinstance(h, tuple)]
    title_level = min((lvl for lvl, _ in top), default=0)
    if sum(1 for lvl, _ in top if lvl == title_level) != 1:
        title_level = 0  # no single title heading: every heading is a section

    def flush() -> None:
        if body:
            sections.append(([h for _, h in path], "\n".join(body)))
            body.clear()

    for item in items:
        if isinstance(item, tuple):
            flush()
            level, text = item
            if level == title_level and title is None:
                title = text
                continue
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text))
        else:
            body.append(item)
    flush()
    return title, sections


class _HtmlText(html.parser.HTMLParser):
    """Visible text of an HTML page, split at <h1>-<h6>; scripts and styles dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[Line] = []
        self.title: str | None = None
        self._heading: int | None = None
        self._buffer: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in ("p", "br", "li", "div", "tr", "pre", "section", "article"):
            self._buffer.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif self._heading is not None and re.fullmatch(r"h[1-6]", tag):
            self.items.append((self._heading, " ".join("".join(self._buffer).split())))
            self._buffer.clear()
            self._heading = None
        elif tag in ("p", "li", "div", "pre"):
            self._buffer.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data.strip()
        elif not self._skip:
            self._buffer.append(data)

    def _flush(self) -> None:
        self.items.extend(line for line in "".join(self._buffer).split("\n"))
        self._buffer.clear()

    def close(self) -> None:
        super().close()
        self._flush()


def _html_sections(text: str) -> tuple[str | None, list[Section]]:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    title, sections = _heading_sections(parser.items)
    return parser.title or title, sections


# ---------------------------------------------------------------- chunking

@dataclass
class Chunk:
    heading: str  # "Workshops > Cohorts" ("" for text before the first heading)
    text: str
    ordinal: int
    title: str = ""

    @property
    def hash(self) -> str:
        """Identity of what gets embedded: title, heading path and text."""
        return hashlib.sha256(f"{self.title}\n{self.heading}\n{self.text}".encode()).hexdigest()

    @property
    def embed_text(self) -> str:
        """What the model sees: the heading path gives a short passage its topic."""
        head = " > ".join(x for x in (self.title, self.heading) if x)
        return f"{head}. {self.text}" if head else self.text


def chunk_document(doc: Document, words: int = CHUNK_WORDS,
                   overlap: int = OVERLAP_WORDS) -> list[Chunk]:
    """Passages of at most ``words`` words per heading section, overlapping by ``overlap``.

    Paragraphs are kept whole when they fit, so a passage rarely starts mid-thought.
    """
    chunks: list[Chunk] = []
    title = doc.title or ""
    for heading_path, body in doc.sections:
        heading = " > ".join(heading_path)
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]
        current: list[str] = []
        for para in paragraphs:
            para_words = para.split()
            while len(para_words) > words:  # a huge paragraph: window it
                if current:
                    chunks.append(Chunk(heading, " ".join(current), len(chunks), title))
                    current = []
                chunks.append(Chunk(heading, " ".join(para_words[:words]), len(chunks), title))
                para_words = para_words[words - overlap:]
            if len(current) + len(para_words) > words and current:
                chunks.append(Chunk(heading, " ".join(current), len(chunks), title))
                current = current[-overlap:] if overlap else []
            current.extend(para_words)
        if current:
            chunks.append(Chunk(heading, " ".join(current), len(chunks), title))
    return chunks


def anchor(path: str, heading: str) -> str:
    """How a passage is cited: ``posts/pricing.md#Workshops > Cohorts``."""
    return f"{path}#{heading}" if heading else path


# ---------------------------------------------------------------- ingest

@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: reason"
    chunks: int = 0  # passages written in this run
    embedded: int = 0  # passages that needed a new vector
    seconds: float = 0.0
    dense: str = ""


def _candidate_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


# Progress of an ingest: (files looked at, files in all, passages written so far).
Progress = Callable[[int, int, int], None]
EMBED_BATCH = 128  # passages embedded together: long enough to bucket by length across files
EMBED_RUN = 8  # passages per model run: 50 passages/s on 2 cores, against 46 at 32 (cache)


@dataclass
class _Pending:
    """A file read and chunked, waiting for its vectors and its transaction."""

    root: str
    rel: str
    digest: str
    size: int
    existing: int | None
    doc: Document
    chunks: list[Chunk]


def ingest(db: sqlite_utils.Database, paths: Sequence[str | Path], embedder: Embedder | None = None,
           *, dense_reason: str = "", warn: Warn = lambda msg: None,
           progress: Progress = lambda done, total, passages: None) -> IngestReport:
    """Bring the index up to date with ``paths`` (files or directories).

    A document is keyed by its path relative to the directory it was ingested from (a file
    given directly is keyed by its name).  Bad files are skipped and named through ``warn``.
    Files are embedded in batches of about :data:`EMBED_BATCH` passages (sorted by length, so
    little padding) and each file is then written in its own transaction: an ingest killed
    half-way keeps every file it finished, and the next run skips them by hash.
    """
    report = IngestReport(dense=dense_reason)
    started = time.time()
    roots: list[tuple[Path, list[Path]]] = []
    for raw in paths:
        root = Path(raw).expanduser().resolve()
        if not root.exists():
            warn(f"{raw}: no such file or directory, skipped")
            report.skipped.append(f"{raw}: no such file or directory")
            continue
        roots.append((root, _candidate_files(root)))
    total = sum(len(files) for _, files in roots)
    with ThreadPoolExecutor(1, thread_name_prefix="embed") as embedding:
        writer = _Writer(db, embedder, embedding, report, total, progress)
        for root, files in roots:
            base = root.parent if root.is_file() else root
            seen: set[str] = set()
            for file in files:
                rel = file.relative_to(base).as_posix()
                seen.add(rel)
                try:
                    pending = _prepare(db, str(root), rel, file, embedder)
                    report.unchanged += pending is None
                except (BadFile, OSError) as exc:
                    warn(f"{file}: skipped: {exc}")
                    report.skipped.append(f"{rel}: {exc}")
                    pending = None
                writer.add(pending)
            writer.finish()
            if root.is_dir():
                for doc_id, rel in db.execute(
                        "SELECT id, path FROM corpus_docs WHERE root = ?", [str(root)]).fetchall():
                    if rel not in seen:
                        with atomic(db):
                            _delete_doc(db, doc_id)
                        report.removed.append(rel)
    _prune_vectors(db)
    report.seconds = time.time() - started
    db.execute(
        "INSERT INTO corpus_ingests (started, finished, roots, added, updated, unchanged, "
        "removed, skipped, chunks, embedded, dense) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [started, time.time(), "\n".join(str(r) for r, _ in roots), len(report.added),
         len(report.updated), report.unchanged, len(report.removed), len(report.skipped),
         report.chunks, report.embedded, dense_reason])
    return report


def _prepare(db: sqlite_utils.Database, root: str, rel: str, file: Path,
             embedder: Embedder | None) -> _Pending | None:
    """The file read and chunked, or None when it is unchanged since the last ingest."""
    data = file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    existing = db.execute("SELECT id, sha256 FROM corpus_docs WHERE root = ? AND path = ?",
                          [root, rel]).fetchone()
    if existing and existing[1] == digest and not _missing_vectors(db, existing[0], embedder):
        return None
    doc = read_document(file)
    return _Pending(root, rel, digest, len(data), existing[0] if existing else None, doc,
                    chunk_document(doc))


class _Writer:
    """Batches prepared files, embeds each batch on a worker thread and writes its files.

    The model runs outside the GIL, so while one batch is embedded this thread reads and
    chunks the next files and writes the previous batch: on 2 cores that hides parsing and
    SQLite writes behind the embedding.  All database work stays on the calling thread.
    """

    def __init__(self, db: sqlite_utils.Database, embedder: Embedder | None,
                 pool: ThreadPoolExecutor, report: IngestReport, total: int,
                 progress: Progress):
        self.db, self.embedder, self.pool = db, embedder, pool
        self.report, self.total, self.progress = report, total, progress
        self.done = 0
        self.batch: list[_Pending] = []
        self.embedding: tuple[list[_Pending], list[Chunk], Future[Vectors]] | None = None

    def add(self, pending: _Pending | None) -> None:
        if pending is None:  # unchanged or skipped: counted, nothing to write
            self.done += 1
            self.progress(self.done, self.total, self.report.chunks)
            return
        self.batch.append(pending)
        if sum(len(p.chunks) for p in self.batch) >= EMBED_BATCH:
            self._submit()

    def finish(self) -> None:
        self._submit()
        self._settle()

    def _submit(self) -> None:
        """Start embedding the batch's new passages, then write the batch before it."""
        if not self.batch:
            return
        todo = _unembedded(self.db, [c for p in self.batch for c in p.chunks], self.embedder)
        embedder = self.embedder
        future: Future[Vectors] = self.pool.submit(
            lambda: embedder.embed([c.embed_text for c in todo], batch_size=EMBED_RUN)
            if embedder is not None and todo else np.zeros((0, 0), dtype=np.float32))
        self._settle()
        self.embedding, self.batch = (self.batch, todo, future), []

    def _settle(self) -> None:
        if self.embedding is None:
            return
        files, todo, future = self.embedding
        vectors = dict(zip((c.hash for c in todo), future.result(), strict=True))
        self.report.embedded += len(todo)
        for pending in files:
            _write(self.db, pending, vectors, self.embedder)
            self.report.chunks += len(pending.chunks)
            (self.report.updated if pending.existing else self.report.added).append(pending.rel)
        self.done += len(files)
        self.progress(self.done, self.total, self.report.chunks)
        self.embedding = None


def _write(db: sqlite_utils.Database, p: _Pending, vectors: dict[str, Vector],
           embedder: Embedder | None) -> None:
    with atomic(db):  # one transaction per file: the index is never half-updated
        if p.existing:
            _delete_doc(db, p.existing)
        cur = db.execute(
            "INSERT INTO corpus_docs (root, path, title, date, tags, sha256, bytes, chunks, "
            "ingested_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [p.root, p.rel, p.doc.title, p.doc.date, ",".join(p.doc.tags), p.digest, p.size,
             len(p.chunks), time.time()])
        doc_id = cur.lastrowid
        db.conn.executemany(
            "INSERT INTO corpus_chunks (doc_id, path, title, heading, anchor, ordinal, text, hash)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [(doc_id, p.rel, p.doc.title, c.heading, anchor(p.rel, c.heading), c.ordinal, c.text,
              c.hash) for c in p.chunks])
        if embedder is not None:
            db.conn.executemany(
                "INSERT OR IGNORE INTO corpus_vectors (hash, model, vector) VALUES (?,?,?)",
                [(c.hash, embedder.model_id, to_blob(vectors[c.hash])) for c in p.chunks
                 if c.hash in vectors])


def _unembedded(db: sqlite_utils.Database, chunks: list[Chunk],
                embedder: Embedder | None) -> list[Chunk]:
    """The passages (one per distinct text) whose vectors are not stored yet."""
    if embedder is None or not chunks:
        return []
    hashes = list(dict.fromkeys(c.hash for c in chunks))
    cached: set[str] = set()
    for start in range(0, len(hashes), 500):  # SQLite's variable limit
        part = hashes[start:start + 500]
        cached.update(h for (h,) in db.execute(
            f"SELECT hash FROM corpus_vectors WHERE model = ? AND hash IN ({','.join('?' * len(part))})",
            [embedder.model_id, *part]).fetchall())
    return list({c.hash: c for c in chunks if c.hash not in cached}.values())


def _missing_vectors(db: sqlite_utils.Database, doc_id: int, embedder: Embedder | None) -> bool:
    """An unchanged file still needs work if it was ingested before the embedder was available."""
    if embedder is None:
        return False
    row = db.execute(
        "SELECT count(*) FROM corpus_chunks c LEFT JOIN corpus_vectors v "
        "ON v.hash = c.hash AND v.model = ? WHERE c.doc_id = ? AND v.hash IS NULL",
        [embedder.model_id, doc_id]).fetchone()
    return bool(row[0] > 0)


def _delete_doc(db: sqlite_utils.Database, doc_id: int) -> None:
    db.execute("DELETE FROM corpus_chunks WHERE doc_id = ?", [doc_id])
    db.execute("DELETE FROM corpus_docs WHERE id = ?", [doc_id])


def _prune_vectors(db: sqlite_utils.Database) -> None:
    db.execute("DELETE FROM corpus_vectors WHERE hash NOT IN (SELECT hash FROM corpus_chunks)")


def configured_paths(config: Config) -> list[Path]:
    """The ``knowledge.corpus`` paths, resolved.

    A relative path is relative to the config file's directory (like ``data_dir``), else to
    the working directory; the default ``corpus`` falls back to the corpus shipped with
    Breakroom, so the proxy has something to answer from out of the box.
    """
    base = Path(config.source).parent if config.source else Path.cwd()
    paths = []
    for entry in config.knowledge.corpus:
        path = Path(entry).expanduser()
        if not path.is_absolute():
            path = base / path
        if not path.exists() and entry.rstrip("/") == "corpus":
            path = CORPUS_DIR
        paths.append(path)
    return paths


# ---------------------------------------------------------------- stats

@dataclass
class CorpusStats:
    documents: int
    chunks: int
    vectors: int
    last_ingest: float | None
    roots: list[str]


def stats(db: sqlite_utils.Database) -> CorpusStats:
    docs = db.execute("SELECT count(*) FROM corpus_docs").fetchone()[0]
    chunks = db.execute("SELECT count(*) FROM corpus_chunks").fetchone()[0]
    vectors = db.execute(
        "SELECT count(*) FROM corpus_chunks c JOIN corpus_vectors v ON v.hash = c.hash"
    ).fetchone()[0]
    last = db.execute("SELECT max(finished) FROM corpus_ingests").fetchone()[0]
    roots = [r for (r,) in db.execute("SELECT DISTINCT root FROM corpus_docs ORDER BY root")]
    return CorpusStats(docs, chunks, vectors, last, roots)
